"""Models, reload, the audit log, household batch files — and schemathesis on the app's own schema."""

from __future__ import annotations

import io
import re
import time
from types import SimpleNamespace

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from creditscore.rural.workbook import SHEETS
from creditscore.store import Store
from tests.api.conftest import a_household, auth

FULL_ID = re.compile(r"\b[1-9]\d{5}(19|20)\d{2}(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])\d{3}[\dX]\b")


def test_models_for_analysts(client: TestClient, keys: dict[str, str]) -> None:
    r = client.get("/v1/models", headers=auth(keys["analyst"]))
    assert r.status_code == 200
    assert {m["segment"] for m in r.json()} == {"sme", "household"}
    assert all(m["catalogue_hash"] and m["version"] for m in r.json())


def test_reload_is_for_admins(client: TestClient, keys: dict[str, str]) -> None:
    assert client.post("/v1/admin/models/reload", headers=auth(keys["bank"])).status_code == 403
    r = client.post("/v1/admin/models/reload", headers=auth(keys["admin"]))
    assert r.status_code == 200
    assert set(r.json()["loaded"]) == {"sme", "household"}


def test_every_subject_query_is_audited_and_no_full_id_is_stored(client: TestClient, store: Store,
                                                                  keys: dict[str, str]) -> None:
    head = a_household(store)
    client.get(f"/v1/households/{head}/grade", headers=auth(keys["bank"]),
               params={"purpose": "loan_application", "authorization_ref": "AUTH-77"})
    client.get("/v1/enterprises/91350100M000100Y43/grade", params={"purpose": "pre-loan check"},
               headers=auth(keys["bank"]))  # unknown: audited too
    r = client.get("/v1/admin/audit", headers=auth(keys["admin"]))
    assert r.status_code == 200
    log = pd.DataFrame(r.json())
    person = log[log["authorization_ref"] == "AUTH-77"].iloc[0]
    assert person["subject_masked"] == head[:6] + "********" + head[-4:]
    assert person["institution"] == "bank institution"
    assert person["purpose"] == "loan_application"
    assert person["result_grade"] in ["AAA", "AA", "A", "非信用户"]
    assert person["model_version"]
    assert (log["status"] == 404).any()
    with store.engine.connect() as conn:
        dump = " ".join(str(v) for row in conn.execute(text("SELECT * FROM audit_log")).all() for v in row)
    assert not FULL_ID.search(dump)
    csv = client.get("/v1/admin/audit", params={"format": "csv"}, headers=auth(keys["admin"]))
    assert csv.headers["content-type"].startswith("text/csv")
    assert "subject_masked" in csv.content.decode("utf-8-sig")
    assert client.get("/v1/admin/audit", headers=auth(keys["bank"])).status_code == 403


def test_the_audit_log_cannot_be_changed(store: Store) -> None:
    with pytest.raises(Exception, match="append-only"), store.engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET purpose = 'x'"))
    with pytest.raises(Exception, match="append-only"), store.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log"))


def _household_file(store: Store) -> bytes:
    surveys = store.records("households").drop_duplicates("head_id").head(40)
    frame = pd.DataFrame({
        "户主姓名": surveys["head_name"], "身份证号": surveys["head_id"], "县区代码": surveys["county_code"],
        "县区": surveys["county_name"], "乡镇代码": surveys["township_code"], "乡镇": surveys["township_name"],
        "村代码": surveys["village_code"], "村": surveys["village_name"], "家庭人口": surveys["members"],
        "劳动力": surveys["labourers"], "家庭年收入": (surveys["annual_income"] / 100).astype(int),
        "家庭资产": (surveys["assets"] / 100).astype(int), "家庭负债": (surveys["liabilities"] / 100).astype(int),
        "采集日期": "2024-03-15"}).astype(str)
    frame.iloc[5, frame.columns.get_loc("身份证号")] = "410882197503090018"  # wrong check character
    frame.iloc[9, frame.columns.get_loc("家庭人口")] = "many"
    return frame.to_csv(index=False).encode()


def _finished(client: TestClient, job_id: str, key: str, seconds: float = 30) -> dict[str, object]:
    """Poll a job until it is done or failed (or the time is up)."""
    deadline = time.time() + seconds
    while True:
        status = client.get(f"/v1/jobs/{job_id}", headers=auth(key)).json()
        if status["status"] in ("done", "failed") or time.time() > deadline:
            return status
        time.sleep(0.1)


def test_household_batch_upload_poll_download(client: TestClient, store: Store, keys: dict[str, str]) -> None:
    data = _household_file(store)
    r = client.post("/v1/households/batch", headers=auth(keys["assessor"]),
                    files={"file": ("农户.csv", data, "text/csv")},
                    data={"purpose": "credit village assessment", "authorization_ref": "VILLAGE-2024-01",
                          "as_of": "2024-06-30"})
    assert r.status_code == 202, r.text
    job = r.json()
    status = _finished(client, job["job_id"], keys["assessor"])
    assert status["status"] == "done", status
    assert (status["rows"], status["scored"], status["rejected"]) == (40, 38, 2)
    workbook = client.get(f"/v1/jobs/{job['job_id']}/result", headers=auth(keys["assessor"]))
    assert workbook.status_code == 200
    sheets = pd.read_excel(io.BytesIO(workbook.content), sheet_name=None, engine="openpyxl")
    assert set(sheets) == set(SHEETS.values())
    households, errors = sheets[SHEETS["households"]], sheets[SHEETS["errors"]]
    assert len(households) + errors["行号"].nunique() == 40
    assert set(errors["行号"]) == {7, 11}  # file rows (header on line 1)
    assert "身份证号校验位错误：应为" in " ".join(errors["原因"])
    assert len(sheets[SHEETS["villages"]]) == households["村代码"].nunique()
    assert not FULL_ID.search(households.to_csv())
    report = client.get(status["report_url"], headers=auth(keys["assessor"]))
    assert report.headers["content-type"].startswith("text/html")
    assert "信用村评定" in report.text
    assert not FULL_ID.search(report.text)
    other = client.get(f"/v1/jobs/{job['job_id']}", headers=auth(keys["other_bank"]))
    assert other.status_code == 404


def test_batch_upload_limits_and_roles(client: TestClient, keys: dict[str, str]) -> None:
    uploads = client.app.state.jobs.uploads
    before = set(uploads.iterdir())
    big = b"x" * 300_000
    r = client.post("/v1/households/batch", headers=auth(keys["assessor"]), files={"file": ("a.csv", big)},
                    data={"purpose": "x1", "authorization_ref": "AUTH-1"})
    assert r.status_code == 413
    assert "upload limit" in r.json()["detail"]
    assert set(uploads.iterdir()) == before  # what arrived before the limit was counted is gone
    r = client.post("/v1/households/batch", headers=auth(keys["analyst"]), files={"file": ("a.csv", b"a,b\n")},
                    data={"purpose": "x1", "authorization_ref": "AUTH-1"})
    assert r.status_code == 403


def test_an_unreadable_batch_file_fails_with_a_message(client: TestClient, keys: dict[str, str]) -> None:
    r = client.post("/v1/households/batch", headers=auth(keys["assessor"]),
                    files={"file": ("农户.xlsx", b"not a workbook")},
                    data={"purpose": "x1", "authorization_ref": "A-12"})
    job = r.json()["job_id"]
    status = _finished(client, job, keys["assessor"])
    assert status["status"] == "failed"
    assert "Excel" in status["message"]
    assert "“农户.xlsx”无法评级" in status["message"]  # the user's file, in Chinese and English
    assert job not in status["message"]  # never the upload's own name
    assert not list(client.app.state.jobs.uploads.glob(f"{job}*"))  # the upload is gone with the job
    result = client.get(f"/v1/jobs/{job}/result", headers=auth(keys["assessor"]))
    assert result.status_code == 409  # why there is no result, not "unknown"
    assert "failed" in result.json()["detail"]


def test_objections_over_http(client: TestClient, store: Store, keys: dict[str, str]) -> None:
    penalty = store.records("penalties").iloc[0]
    body = {"record_kind": "penalties", "record_key": penalty["record_key"], "filed_by": "法定代表人",
            "reason": "处罚已撤销"}
    filed = client.post("/v1/objections", json=body, headers=auth(keys["bank"]))
    assert filed.status_code == 201, filed.text
    objection = filed.json()
    assert objection["deadline"] == str((pd.Timestamp(objection["filed_on"]) + pd.Timedelta(days=20)).date())
    again = client.post("/v1/objections", json=body, headers=auth(keys["bank"]))
    assert again.status_code == 422
    assert "already has a pending objection" in again.json()["detail"]
    listed = client.get("/v1/objections", headers=auth(keys["admin"])).json()
    assert any(o["id"] == objection["id"] and o["status"] == "pending" for o in listed)
    assert client.post(f"/v1/objections/{objection['id']}/resolution", headers=auth(keys["bank"]),
                       json={"outcome": "rejected", "resolved_by": "x"}).status_code == 403
    answer = client.post(f"/v1/objections/{objection['id']}/resolution", headers=auth(keys["admin"]),
                         json={"outcome": "upheld", "resolved_by": "信用中心", "remove": True})
    assert answer.status_code == 200, answer.text
    assert answer.json()["action"] == "upheld: record removed"
    assert penalty["record_key"] not in set(store.records("penalties")["record_key"])
    unknown = client.post("/v1/objections/999999/resolution", headers=auth(keys["admin"]),
                          json={"outcome": "rejected", "resolved_by": "x"})
    assert unknown.status_code == 404


def test_any_worker_reports_on_any_job(client: TestClient, store: Store, keys: dict[str, str], api_settings) -> None:
    """Jobs live in the store: a second service process (here a second app) sees the first one's job."""
    from api import create_app

    r = client.post("/v1/households/batch", headers=auth(keys["assessor"]),
                    files={"file": ("农户.csv", _household_file(store), "text/csv")},
                    data={"purpose": "credit village assessment", "authorization_ref": "VILLAGE-2024-02",
                          "as_of": "2024-06-30"})
    job_id = r.json()["job_id"]
    assert _finished(client, job_id, keys["assessor"])["status"] == "done"
    with TestClient(create_app(api_settings)) as other_worker:
        status = other_worker.get(f"/v1/jobs/{job_id}", headers=auth(keys["assessor"])).json()
        assert (status["status"], status["rows"]) == ("done", 40)
        assert other_worker.get(f"/v1/jobs/{job_id}/result", headers=auth(keys["assessor"])).status_code == 200


def test_housekeeping_fails_stalled_jobs_and_deletes_old_results(store: Store, tmp_path) -> None:
    import datetime as dt

    from sqlalchemy import insert

    from creditscore.service.jobs import Jobs
    from creditscore.service.models import ModelSet
    from creditscore.store.tables import BATCH_JOBS

    jobs = Jobs(store, ModelSet(store, model_source="demo"), tmp_path / "jobs")
    now = dt.datetime.now(dt.UTC)
    rows = {"stalled": ("running", now - dt.timedelta(hours=3)), "busy": ("running", now),
            "silent": ("queued", now - dt.timedelta(minutes=10)),
            "old": ("done", now - dt.timedelta(days=40)), "recent": ("done", now - dt.timedelta(days=2))}
    with store.engine.begin() as conn:
        for name, (status, at) in rows.items():
            conn.execute(insert(BATCH_JOBS).values(job_id=f"hk-{name}", owner="x", filename="f.csv", status=status,
                                                   processed=0, scored=0, rejected=0, created_at=at, updated_at=at))
    for name in ("old", "recent"):
        (tmp_path / "jobs" / f"hk-{name}.xlsx").write_bytes(b"x")
    jobs.housekeeping(30)
    status = {name: jobs.get(f"hk-{name}")["status"] for name in rows}
    assert status == {"stalled": "failed", "busy": "running", "silent": "failed", "old": "expired", "recent": "done"}
    assert "upload it again" in jobs.get("hk-stalled")["message"]
    assert not (tmp_path / "jobs" / "hk-old.xlsx").exists()
    assert (tmp_path / "jobs" / "hk-recent.xlsx").exists()
    jobs.executor.shutdown()


def test_an_upload_the_store_cannot_take_is_503_and_leaves_no_copy(client: TestClient, keys: dict[str, str],
                                                                    tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The job cannot be recorded: the caller is told to retry, and the households' file is not left on disk."""
    uploads = client.app.state.jobs.uploads
    before = set(uploads.iterdir())
    dead = SimpleNamespace(engine=create_engine(f"sqlite:///{tmp_path}/no/such/folder/x.db"))
    monkeypatch.setattr(client.app.state.jobs, "store", dead)
    r = client.post("/v1/households/batch", headers=auth(keys["assessor"]),
                    files={"file": ("农户.csv", "户主身份证号,村代码\n".encode())},
                    data={"purpose": "x1", "authorization_ref": "AUTH-1"})
    assert r.status_code == 503, r.text
    assert r.headers["Retry-After"] == "5"
    assert set(uploads.iterdir()) == before


def _job_row(store: Store, job_id: str, owner: str, status: str, minutes_ago: float) -> None:
    import datetime as dt

    from sqlalchemy import insert

    from creditscore.store.tables import BATCH_JOBS

    at = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=minutes_ago)
    with store.engine.begin() as conn:
        conn.execute(insert(BATCH_JOBS).values(job_id=job_id, owner=owner, filename="f.csv", status=status,
                                               processed=0, scored=0, rejected=0, created_at=at, updated_at=at))


def test_a_job_whose_worker_died_is_reported_failed_at_the_next_poll(client: TestClient, store: Store,
                                                                      keys: dict[str, str]) -> None:
    """Not "running" for ever: nobody vouched for it for minutes, so the poll says what to do."""
    from creditscore.service.keys import PREFIX_LEN

    _job_row(store, "orphan-1", keys["assessor"][:PREFIX_LEN], "running", minutes_ago=10)
    _job_row(store, "alive-1", keys["assessor"][:PREFIX_LEN], "running", minutes_ago=0.5)
    orphan = client.get("/v1/jobs/orphan-1", headers=auth(keys["assessor"])).json()
    assert orphan["status"] == "failed"
    assert "upload it again" in orphan["message"]
    assert client.get("/v1/jobs/alive-1", headers=auth(keys["assessor"])).json()["status"] == "running"


def test_a_worker_vouches_for_its_own_jobs_only(store: Store, tmp_path) -> None:
    from creditscore.service.jobs import Jobs
    from creditscore.service.models import ModelSet

    models = ModelSet(store, model_source="demo")
    worker, other = Jobs(store, models, tmp_path / "jobs"), Jobs(store, models, tmp_path / "jobs")
    for job_id in ("hb-mine", "hb-lost"):
        _job_row(store, job_id, "x", "queued", minutes_ago=10)  # both silent for longer than Jobs.STALLED
    worker._mine.add("hb-mine")  # as submit() does
    worker.beat()
    assert other.get("hb-mine")["status"] == "queued"
    assert other.get("hb-lost")["status"] == "failed"
    worker.close()
    other.close()


def test_start_up_fails_the_jobs_of_a_dead_worker_at_once_and_deletes_orphan_uploads(store: Store, tmp_path) -> None:
    import datetime as dt
    import socket
    import subprocess
    import sys

    from sqlalchemy import update

    from creditscore.service.jobs import Jobs
    from creditscore.service.models import ModelSet
    from creditscore.store.tables import BATCH_JOBS

    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()  # a process number that no longer runs: the worker that crashed
    _job_row(store, "crashed-1", "cs_someone", "running", minutes_ago=0.2)
    with store.engine.begin() as conn:
        conn.execute(update(BATCH_JOBS).where(BATCH_JOBS.c.job_id == "crashed-1")
                     .values(worker=f"{socket.gethostname()}:{gone.pid}", updated_at=dt.datetime.now(dt.UTC)))
    jobs = Jobs(store, ModelSet(store, model_source="demo"), tmp_path / "jobs")
    (jobs.uploads / "crashed-1.csv").write_text("户主身份证号\n110105194912310029\n")
    (jobs.uploads / "never-recorded.xlsx").write_bytes(b"x")
    jobs.housekeeping(30)
    job = jobs.get("crashed-1")
    assert job["status"] == "failed"  # at once, not after three minutes without a heartbeat
    assert "upload it again" in job["message"]
    assert list(jobs.uploads.iterdir()) == []
    jobs.executor.shutdown()


def test_household_batch_with_a_column_mapping_and_a_village_code(client: TestClient, store: Store,
                                                                  keys: dict[str, str]) -> None:
    """The form fields of the batch: a mapping for headers no rule knows, the village every row belongs to; a
    mapping that is not one, or a code that is not 12 digits, is a 422 that says what a mapping looks like."""
    frame = pd.read_csv(io.BytesIO(_household_file(store)), dtype=str)
    code = frame["村代码"].iloc[0]
    frame = frame[frame["村代码"] == code].drop(columns=["村代码"])
    odd = {c: f"栏{i + 1}" for i, c in enumerate(frame.columns)}
    fields = {"户主姓名": "head_name", "身份证号": "head_id", "村": "village_name", "家庭人口": "members",
              "劳动力": "labourers", "家庭年收入": "annual_income", "家庭资产": "assets", "家庭负债": "liabilities",
              "采集日期": "surveyed_on"}
    mapping = "columns:\n" + "".join(f"  {odd[c]}: {fields.get(c, 'skip')}\n" for c in frame.columns)
    data = frame.rename(columns=odd).to_csv(index=False).encode()
    form = {"purpose": "credit village assessment", "authorization_ref": "VILLAGE-2024-02", "as_of": "2024-06-30"}
    r = client.post("/v1/households/batch", headers=auth(keys["assessor"]), files={"file": ("a.csv", data)},
                    data={**form, "columns": mapping, "village_code": code})
    assert r.status_code == 202, r.text
    status = _finished(client, r.json()["job_id"], keys["assessor"])
    assert status["status"] == "done", status
    assert status["scored"] + status["rejected"] == len(frame)
    for bad, says in ((("columns", "a: [1, 2"), "YAML"), (("columns", "just text"), "header: field"),
                      (("village_code", "4108"), "12 digits")):
        r = client.post("/v1/households/batch", headers=auth(keys["assessor"]), files={"file": ("a.csv", data)},
                        data={**form, bad[0]: bad[1]})
        assert r.status_code == 422, r.text
        assert says in r.text
