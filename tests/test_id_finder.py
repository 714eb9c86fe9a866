"""The tests' finder of leaked resident IDs must catch every real one and nothing that only looks like one."""

import datetime as dt
import random

from creditscore.records.ids import generate_resident_id
from tests.helpers import full_resident_ids


def test_it_finds_an_id_wherever_it_sits_and_ignores_digests() -> None:
    rid = generate_resident_id(random.Random(1), division_code="410102", birth_date=dt.date(1980, 5, 3), sex="F")
    for text in (rid, f"ID{rid}", f"x{rid}9", f"身份证：{rid}。", f"a,{rid.lower()},b"):
        assert full_resident_ids(text) == [rid], text
    assert full_resident_ids(rid[:-1] + ("0" if rid[-1] != "0" else "1")) == []  # checksum wrong: not an ID
    assert full_resident_ids("410102198013321234") == []  # month 13: not an ID
    rng = random.Random(0)  # digit-heavy keys such as the one that failed CI: 18 digits in a row, not IDs
    keys = ["".join(rng.choice("0123456789" * 3 + "abcdef") for _ in range(32)) for _ in range(2000)]
    assert sum(bool(full_resident_ids(k)) for k in keys) == 0
