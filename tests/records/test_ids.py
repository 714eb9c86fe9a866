"""Identifier checks: GB 32100 (USCC) and GB 11643 (resident ID)."""

from __future__ import annotations

import datetime as dt
import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from creditscore.errors import ChecksumMismatch, InvalidCode
from creditscore.records.ids import (
    USCC_ALPHABET,
    generate_resident_id,
    generate_uscc,
    mask_resident_id,
    org_code_check_char,
    parse_resident_id,
    parse_uscc,
    upgrade_legacy_id,
    uscc_check_char,
    validate_resident_id,
    validate_uscc,
)

# Published codes (company registers) used as fixed points.
KNOWN_USCC = ["91350100M000100Y43", "91110000802100433B", "914403001922038216"]
TODAY = dt.date(2026, 6, 30)


@pytest.mark.parametrize("code", KNOWN_USCC)
def test_known_uscc_validates(code: str) -> None:
    assert validate_uscc(code) == code


def test_uscc_is_normalised_from_fullwidth_lowercase_and_spaces() -> None:
    assert validate_uscc(" ９１３５０１００ｍ０００１００ｙ４３ ") == "91350100M000100Y43"


def test_uscc_wrong_check_character_names_expected_one() -> None:
    with pytest.raises(ChecksumMismatch, match=r"position 18\) should be '3', got '4'") as info:
        validate_uscc("91350100M000100Y44")
    assert (info.value.expected, info.value.got, info.value.position) == ("3", "4", 18)


def test_uscc_wrong_org_code_check_is_position_17() -> None:
    body = "91350100M000100Y"
    code = body + "X" + uscc_check_char(body + "X")
    with pytest.raises(ChecksumMismatch, match=r"organisation-code check character \(position 17\) should be '4'"):
        validate_uscc(code)


def test_uscc_checksum_can_be_downgraded() -> None:
    assert validate_uscc("91350100M000100Y44", check_digits=False) == "91350100M000100Y44"


@pytest.mark.parametrize("letter", list("IOSVZ"))
def test_uscc_with_excluded_letter_is_rejected(letter: str) -> None:
    with pytest.raises(InvalidCode, match="never used"):
        validate_uscc("91350100M000100Y4" + letter)


@pytest.mark.parametrize(("code", "message"), [
    ("9135010", "18 characters"),
    ("B1350100M000100Y43", "registration authority"),
    ("94350100M000100Y43", "organisation type of authority 9"),
    ("9135A100M000100Y43", "division code"),
])
def test_uscc_structural_errors(code: str, message: str) -> None:
    with pytest.raises(InvalidCode, match=message):
        validate_uscc(code)


def test_uscc_check_character_31_maps_to_zero() -> None:
    """The remainder case that naive implementations get wrong (c = 31 → '0')."""
    rng = random.Random(7)
    for _ in range(20_000):
        code = generate_uscc(rng, division_code="440300")
        total = sum(USCC_ALPHABET.index(ch) * pow(3, i, 31) for i, ch in enumerate(code[:17]))
        if total % 31 == 0:
            assert code[17] == "0"
            assert validate_uscc(code) == code
            return
    pytest.fail("no code with remainder 0 generated")


def test_parse_uscc_parts() -> None:
    parts = parse_uscc("91350100M000100Y43")
    assert (parts.authority, parts.org_type, parts.division_code, parts.org_code) == ("9", "1", "350100", "M000100Y4")
    assert parts.org_type_name == "企业"
    assert parts.is_market_entity


def test_org_code_check_known_value() -> None:
    # GB 11714 example: organisation code D2143569-X
    assert org_code_check_char("D2143569") == "X"


uscc_codes = st.builds(
    lambda seed, auth_type, div: generate_uscc(random.Random(seed), division_code=div, authority=auth_type[0],
                                               org_type=auth_type[1]),
    st.integers(0, 2**32),
    st.sampled_from([("9", "1"), ("9", "2"), ("9", "3"), ("N", "2"), ("5", "1"), ("1", "2"), ("Y", "1")]),
    st.from_regex(r"\A[1-6][0-9]{5}\Z"),
)


@given(uscc_codes)
def test_every_generated_uscc_validates(code: str) -> None:
    assert validate_uscc(code) == code


@given(uscc_codes, st.integers(0, 17), st.sampled_from(USCC_ALPHABET))
def test_every_single_substitution_of_a_uscc_is_rejected(code: str, pos: int, ch: str) -> None:
    if code[pos] == ch:
        return
    with pytest.raises(InvalidCode):
        validate_uscc(code[:pos] + ch + code[pos + 1 :])


@given(uscc_codes, st.integers(0, 16))
def test_every_adjacent_transposition_of_a_uscc_is_rejected(code: str, pos: int) -> None:
    if code[pos] == code[pos + 1]:
        return
    swapped = code[:pos] + code[pos + 1] + code[pos] + code[pos + 2 :]
    with pytest.raises(InvalidCode):
        validate_uscc(swapped)


def test_org_code_check_alone_misses_substitutions_differing_by_11() -> None:
    """As documented in creditscore.records.ids: values 0 and 11 ('B') are indistinguishable to the mod-11 check."""
    body = "12345678"
    assert org_code_check_char(body) == org_code_check_char("C2345678")  # values 1 and 12
    # …but the USCC's own check character still catches it.
    first17 = "91350100" + body + org_code_check_char(body)
    code = first17 + uscc_check_char(first17)
    assert validate_uscc(code) == code
    forged = code[:8] + "C" + code[9:]
    with pytest.raises(ChecksumMismatch, match="position 18"):
        validate_uscc(forged)


# --- resident ID -----------------------------------------------------------------

KNOWN_ID = "11010519491231002X"  # the GB 11643 standard's own example


def test_known_resident_id_validates_and_parses() -> None:
    assert validate_resident_id(KNOWN_ID) == KNOWN_ID
    parts = parse_resident_id(KNOWN_ID)
    assert parts.birth_date == dt.date(1949, 12, 31)
    assert parts.sex == "F"
    assert parts.division_code == "110105"
    assert not parts.legacy


def test_resident_id_lowercase_x_and_fullwidth_digits_are_accepted() -> None:
    assert validate_resident_id("１１０１０５１９４９１２３１００２x") == KNOWN_ID


def test_resident_id_wrong_check_character_is_masked_in_message() -> None:
    with pytest.raises(ChecksumMismatch, match=r"should be 'X', got '1'") as info:
        validate_resident_id("110105194912310021")
    assert "19491231" not in str(info.value)
    assert "110105********0021" in str(info.value)


@pytest.mark.parametrize(("number", "message"), [
    ("110105194902300027", "not a real date"),
    ("110105209901010027", "in the future"),
    ("1101051949123100", "must have 18"),
    ("11010519491231A02X", "position 15 must be a digit"),
])
def test_resident_id_errors(number: str, message: str) -> None:
    with pytest.raises(InvalidCode, match=message):
        validate_resident_id(number, today=TODAY)


def test_resident_id_stored_as_number_with_lost_leading_digit_is_explained() -> None:
    with pytest.raises(InvalidCode, match="stored as a number"):
        validate_resident_id(10105194912310021)


def test_resident_id_stored_as_float_is_refused() -> None:
    with pytest.raises(InvalidCode, match="floating-point"):
        validate_resident_id(1.10105194912310e17)


def test_legacy_15_digit_id_parses_and_upgrades() -> None:
    legacy = "110105491231002"
    assert validate_resident_id(legacy) == legacy
    parts = parse_resident_id(legacy)
    assert parts.legacy
    assert parts.birth_date == dt.date(1949, 12, 31)
    assert upgrade_legacy_id(legacy) == KNOWN_ID


def test_legacy_id_refused_when_not_allowed() -> None:
    with pytest.raises(InvalidCode, match="must have 18 characters"):
        validate_resident_id("110105491231002", allow_legacy=False)


def test_mask_resident_id() -> None:
    assert mask_resident_id(KNOWN_ID) == "110105********002X"
    assert mask_resident_id("110105491231002") == "110105******002"
    assert mask_resident_id("12345") == "*****"


resident_ids = st.builds(
    lambda seed, born, sex: generate_resident_id(random.Random(seed), division_code="410882", birth_date=born,
                                                 sex=sex),
    st.integers(0, 2**32), st.dates(dt.date(1920, 1, 1), TODAY), st.sampled_from(["M", "F"]),
)


@given(resident_ids)
def test_every_generated_resident_id_validates(number: str) -> None:
    assert validate_resident_id(number, today=TODAY) == number


@given(st.integers(0, 2**32), st.dates(dt.date(1920, 1, 1), TODAY), st.sampled_from(["M", "F"]))
def test_generated_resident_id_encodes_birth_date_and_sex(seed: int, born: dt.date, sex: str) -> None:
    number = generate_resident_id(random.Random(seed), division_code="410882", birth_date=born, sex=sex)
    parts = parse_resident_id(number, today=TODAY)
    assert (parts.birth_date, parts.sex) == (born, sex)


@given(resident_ids, st.integers(0, 17), st.sampled_from("0123456789X"))
def test_every_single_substitution_of_a_resident_id_is_rejected(number: str, pos: int, ch: str) -> None:
    if number[pos] == ch:
        return
    with pytest.raises(InvalidCode):
        validate_resident_id(number[:pos] + ch + number[pos + 1 :], today=TODAY)


@given(resident_ids, st.integers(0, 16))
def test_every_adjacent_transposition_of_a_resident_id_is_rejected(number: str, pos: int) -> None:
    if number[pos] == number[pos + 1]:
        return
    with pytest.raises(InvalidCode):
        validate_resident_id(number[:pos] + number[pos + 1] + number[pos] + number[pos + 2 :], today=TODAY)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(
    st.text(alphabet="0123456789Xx ", min_size=14, max_size=20),
    st.builds(lambda d, y, m, dd, s, c: f"{d}{y:04d}{m:02d}{dd:02d}{s:03d}{c}",
              st.sampled_from(["410882", "110101", "650102"]), st.integers(1850, 2030), st.integers(0, 13),
              st.integers(0, 32), st.integers(0, 999), st.sampled_from(list("0123456789X"))),
), min_size=1, max_size=40))
def test_the_vectorised_resident_id_check_agrees_with_the_validator(values: list[str]) -> None:
    from creditscore.records.parsing import _valid_resident_ids

    today = dt.date(2026, 6, 30)
    fast = _valid_resident_ids(np.array(values, dtype=object).astype(str), today=today)
    for value, ok in zip(values, fast, strict=True):
        if ok:  # only True is authoritative; it must never accept what the validator refuses
            assert validate_resident_id(value, today=today) == value
        elif len(value) == 18 and value.isascii() and value == value.upper() and " " not in value:
            with pytest.raises(InvalidCode):
                validate_resident_id(value, today=today)


def test_ids_in_free_text_are_masked() -> None:
    from creditscore.records.ids import mask_ids_in_text

    text = "GET /v1/households/11010519491231002X/grade?ref=330106850101003 firm 91350100M000100Y43 n=123456"
    assert mask_ids_in_text(text) == ("GET /v1/households/110105********002X/grade?ref=330106******003 "
                                      "firm 91350100M000100Y43 n=123456")
