"""No full resident ID at rest or in output outside the subject tables: IDs typed into any free-text field of any
route or command — as people type them: full-width, spaced, with a lower-case x — are masked at the edge."""

from __future__ import annotations

import datetime as dt
import io
import logging
import random
import time
import unicodedata

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from typer.testing import CliRunner

from creditscore.records.ids import generate_resident_id
from creditscore.settings import Settings
from creditscore.store import Store
from tests.api.conftest import a_firm, a_household, auth

# the tables that may hold a subject's identifier; every other text column must not
SUBJECT_TABLES = {"enterprises", "households", "alembic_version", "model_generations"}


def _person(seed: int) -> str:
    return generate_resident_id(random.Random(seed), division_code="110105",
                                birth_date=dt.date(1970, 1, 1) + dt.timedelta(days=seed % 15000), sex="MF"[seed % 2])


def _ids() -> st.SearchStrategy[str]:
    return st.builds(_person, st.integers(0, 10**9))


def _typed(person: str, style: int) -> str:
    """The ID as a person might type it into a form."""
    if style == 1:  # full width
        return person.translate(str.maketrans("0123456789X", "０１２３４５６７８９Ｘ"))
    if style == 2:
        return f"{person[:6]} {person[6:14]} {person[14:]}".lower()
    if style == 3:
        return f"{person[:6]}-{person[6:10]}-{person[10:14]}-{person[14:]}"
    return person


def _normalised(value: str) -> str:
    return unicodedata.normalize("NFKC", value).upper().replace(" ", "").replace("-", "")


def _full_ids_at_rest(store: Store, person: str) -> list[str]:
    """Every (table, column) outside the subject tables whose text holds ``person`` in any spelling."""
    found = []
    with store.engine.connect() as conn:
        tables = [r[0] for r in conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'table'"))]
        for table in tables:
            if table in SUBJECT_TABLES or table.startswith("sqlite_"):
                continue
            columns = [r[1] for r in conn.execute(text(f"PRAGMA table_info({table})")) if "CHAR" in r[2].upper()
                       or "TEXT" in r[2].upper()]
            for column in columns:
                for (value,) in conn.execute(text(f"SELECT {column} FROM {table} WHERE {column} IS NOT NULL")):
                    if person in _normalised(str(value)):
                        found.append(f"{table}.{column}")
    return found


words = st.text(alphabet=st.sampled_from(list("贷款用途申请编号授权书 abcXYZ-_:/，。0123456789")), max_size=12)


@pytest.mark.slow
@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(person=_ids(), style=st.integers(0, 3), before=words, after=words)
def test_ids_typed_into_any_field_never_reach_the_log_an_error_or_an_export_in_full(
        client: TestClient, store: Store, keys: dict[str, str], api_settings: Settings,
        caplog: pytest.LogCaptureFixture, person: str, style: int, before: str, after: str) -> None:
    typed = f"{before}{_typed(person, style)}{after}"[:190]
    firm, head = a_firm(store), a_household(store)
    answers = [
        client.get(f"/v1/enterprises/{firm}/grade", params={"purpose": typed}, headers=auth(keys["bank"])),
        client.get(f"/v1/households/{head}/grade", params={"purpose": typed, "authorization_ref": typed},
                   headers=auth(keys["bank"])),
        client.get(f"/v1/enterprises/{typed}/grade", params={"purpose": "loan"}, headers=auth(keys["bank"])),
        client.post("/v1/enterprises/grade", headers=auth(keys["bank"]),
                    json={"purpose": typed, "records": {"enterprises": [{"uscc": typed}]}}),
        client.post("/v1/objections", headers=auth(keys["bank"]),
                    json={"record_kind": "penalties", "record_key": typed, "filed_by": typed, "reason": typed}),
    ]
    penalty = store.records("penalties").iloc[0]["record_key"]
    filed = client.post("/v1/objections", headers=auth(keys["bank"]),
                        json={"record_kind": "penalties", "record_key": penalty, "filed_by": typed, "reason": typed})
    if filed.status_code == 201:
        answers.append(client.post(f"/v1/objections/{filed.json()['id']}/resolution", headers=auth(keys["admin"]),
                                   json={"outcome": "rejected", "resolved_by": typed}))
    roster = io.BytesIO(f"户主姓名,身份证号,村代码\n张三,{typed},410882101201\n".encode())
    answers.append(client.post("/v1/households/batch", headers=auth(keys["assessor"]),
                               data={"purpose": typed, "authorization_ref": typed},
                               files={"file": (f"{typed}.csv", roster, "text/csv")}))
    if answers[-1].status_code == 202:
        job = answers[-1].json()["job_id"]
        deadline = time.time() + 30
        while client.get(f"/v1/jobs/{job}", headers=auth(keys["assessor"])).json()["status"] in ("queued", "running"):
            assert time.time() < deadline
            time.sleep(0.05)
        answers.append(client.get(f"/v1/jobs/{job}", headers=auth(keys["assessor"])))
    answers.append(client.get("/v1/admin/audit", params={"format": "csv", "limit": 200}, headers=auth(keys["admin"])))
    for r in answers:
        assert r.status_code < 500, r.text
        assert person not in _normalised(r.text), (r.request.url, r.text[:300])
    assert _full_ids_at_rest(store, person) == []
    assert person not in _normalised(caplog.text)


@pytest.mark.slow
@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(person=_ids(), style=st.integers(0, 3))
def test_ids_typed_into_command_options_are_masked_at_rest(api_settings: Settings, store: Store, person: str,
                                                          style: int, tmp_path_factory: pytest.TempPathFactory
                                                          ) -> None:
    from creditscore.cli import app

    typed = f"经办{_typed(person, style)}号"
    env = {"CREDITSCORE_DATA_DIR": str(api_settings.data_dir), "CREDITSCORE_MODEL_SOURCE": "demo"}
    runner = CliRunner()
    roster = tmp_path_factory.mktemp("roster") / f"{person}.csv"
    roster.write_text(f"户主姓名,身份证号,村代码\n张三,{a_household(store)},410882101201\n", encoding="utf-8")
    results = [
        runner.invoke(app, ["apikey", "create", "--institution", typed, "--role", "bank"], env=env),
        runner.invoke(app, ["households", "score", str(roster), "--purpose", typed, "--authorization-ref", typed,
                            "--out", str(roster.with_suffix(".xlsx"))], env=env),
        runner.invoke(app, ["objection", "file", "penalties", typed, "--by", typed, "--reason", typed], env=env),
    ]
    for result in results:
        assert person not in _normalised(result.output), result.output
    assert _full_ids_at_rest(store, person) == []


def test_a_log_line_never_holds_a_full_id(caplog: pytest.LogCaptureFixture) -> None:
    from creditscore.service.logs import mask_ids_in_logs

    mask_ids_in_logs()
    log = logging.getLogger("creditscore.test")
    with caplog.at_level(logging.INFO):
        log.info("graded %s for %s", "110105194912310029", {"id": "x"})
        log.warning("bad id 11010519491231002X in the file")
        try:
            raise ValueError("row 3: 110105 19491231 002x is wrong")
        except ValueError:
            log.exception("failed")
    assert "110105194912310029" not in caplog.text
    assert "11010519491231002X" not in caplog.text
    assert "19491231" not in caplog.text
    assert "110105********0029" in caplog.text
