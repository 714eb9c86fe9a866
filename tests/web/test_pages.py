"""The pages' flows through the test client: a bank officer looks firms and households up, an assessor grades a
township's workbook, an administrator reads the audit log — every subject touched is in the audit log."""

from __future__ import annotations

import io
import re
import time
from pathlib import Path

import pandas as pd
from fastapi.testclient import TestClient

from creditscore.records.ids import mask_resident_id
from creditscore.service.audit import query_audit
from creditscore.store import Store
from creditscore.synth.rosters import write_township_workbook
from tests.helpers import full_resident_ids
from tests.web.conftest import csrf_of


def _firm(store: Store) -> tuple[str, str]:
    firms = store.records("enterprises")
    return str(firms["uscc"].iloc[5]), str(firms["name"].iloc[5])


def test_a_bank_officer_finds_a_firm_by_name_and_reads_its_grade_card(as_role, store: Store) -> None:
    uscc, name = _firm(store)
    c = as_role("bank")
    found = c.get("/firms", params={"q": name[2:6]})
    assert found.status_code == 200
    assert uscc in found.text
    card_page = c.get(f"/firms/{uscc}")
    assert "查询用途" in card_page.text
    card = c.post(f"/firms/{uscc}", data={"csrf_token": csrf_of(card_page.text), "purpose": "loan_application",
                                          "as_of": "2024-06-30"})
    assert card.status_code == 200
    html = card.text
    for words in ("评级（政策调整后）", "违约概率", "主要扣分原因", "主要加分因素", "信易贷", "信用记录"):
        assert words in html, words
    grade = re.search(r'<dd class="grade">([^<]+)</dd>', html).group(1)
    lines = query_audit(store, subject=uscc)
    mine = lines[lines["route"] == "web_enterprise_grade"].iloc[0]
    assert re.fullmatch(r"u\d+:bank", mine["key_prefix"])
    assert mine["result_grade"] == grade
    assert mine["purpose"] == "loan_application"


def test_a_firm_query_needs_a_purpose_and_a_valid_code(as_role, store: Store) -> None:
    uscc, _ = _firm(store)
    c = as_role("bank")
    csrf = csrf_of(c.get(f"/firms/{uscc}").text)
    before = len(query_audit(store, subject=uscc))
    r = c.post(f"/firms/{uscc}", data={"csrf_token": csrf, "purpose": "curiosity"})
    assert r.status_code == 422
    assert "请选择查询用途" in r.text
    assert len(query_audit(store, subject=uscc)) == before  # nothing was queried
    bad = c.get("/firms/91350100M000100Y4X")
    assert bad.status_code == 404
    assert "Traceback" not in bad.text
    assert c.post(f"/firms/{uscc}", data={"purpose": "loan_application"}).status_code == 403  # no CSRF token


def test_a_household_needs_its_consent_and_never_shows_the_full_id(as_role, store: Store) -> None:
    heads = store.records("households")["head_id"]
    head = str(heads[heads.str.len() == 18].iloc[2])
    c = as_role("bank")
    csrf = csrf_of(c.get("/households").text)
    refused = c.post("/households", data={"csrf_token": csrf, "resident_id": head, "purpose": "loan_application",
                                          "authorization_ref": ""})
    assert refused.status_code == 422
    assert "授权书" in refused.text
    assert head not in refused.text
    card = c.post("/households", data={"csrf_token": csrf, "resident_id": head, "purpose": "loan_application",
                                       "authorization_ref": "SQ-2024-0001"})
    assert card.status_code == 200
    assert "评级（政策调整后）" in card.text
    assert not full_resident_ids(card.text)
    line = query_audit(store, subject=mask_resident_id(head))
    assert (line["route"] == "web_household_grade").any()
    assert line["authorization_ref"].iloc[0] == "SQ-2024-0001"
    wrong = c.post("/households", data={"csrf_token": csrf, "resident_id": head[:17] + "0", "purpose":
                                        "loan_application", "authorization_ref": "SQ-2024-0001"})
    assert wrong.status_code == 422
    assert "校验" in wrong.text or "check" in wrong.text
    assert head[:17] not in wrong.text


def _wait_done(c: TestClient, job_id: str, seconds: float = 120) -> str:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        fragment = c.get(f"/batches/{job_id}/progress").text
        if "已完成" in fragment or "失败" in fragment:
            return fragment
        time.sleep(0.3)
    raise AssertionError("the job did not finish")


def test_an_assessor_grades_a_township_workbook_and_maps_a_column(as_role, store: Store, tmp_path: Path) -> None:
    path = tmp_path / "石门乡.xlsx"
    held = write_township_workbook(store.records("households"), path, villages=3, per_village=20)
    from openpyxl import load_workbook

    wb = load_workbook(path)  # a column no rule knows, which the assessor maps to the committee's evaluation
    for ws in wb.worksheets[1:]:
        for row in ws.iter_rows():
            for cell in row:
                if cell.value == "村委评价":
                    cell.value = "群众评议"
    wb.save(path)
    from creditscore.service.accounts import create_user
    from creditscore.service.keys import Role

    create_user(store, "mapping-assessor", "correct horse battery", role=Role.ASSESSOR, institution="上曹寨镇")
    c = as_role("mapping-assessor")  # an assessor of their own: no mapping saved by another test
    csrf = csrf_of(c.get("/batches").text)
    up = c.post("/batches/upload", data={"csrf_token": csrf},
                files={"file": (path.name, path.read_bytes(), "application/octet-stream")})
    assert up.status_code == 303
    confirm = c.get(up.headers["location"])
    assert confirm.status_code == 200
    assert "负债" in confirm.text
    assert 'name="map:群众评议"' in confirm.text  # not recognised: the assessor is asked
    stage = up.headers["location"]
    start = c.post(stage, data={"csrf_token": csrf_of(confirm.text), "map:群众评议": "village_evaluation",
                                "purpose": "信用村评定", "authorization_ref": "SQ-2024-018", "as_of": "2024-06-30",
                                "save_mapping": "1"})
    assert start.status_code == 303, start.text
    job_url = start.headers["location"]
    job_id = job_url.rsplit("/", 1)[-1]
    assert "已完成" in _wait_done(c, job_id)
    page = c.get(job_url)
    html = page.text
    assert "信用村评定" in html
    assert "<svg" in html  # the criteria charts
    assert not full_resident_ids(html)
    assert "有误的行" in html
    graded = int(re.search(r"已评级 <strong>(\d+)</strong>", html).group(1))
    rejected = int(re.search(r"有误 <strong>(\d+)</strong>", html).group(1))
    assert graded + rejected == held["households"]
    assert rejected == held["wrong"]
    book = c.get(f"{job_url}/workbook")
    assert book.status_code == 200
    sheets = pd.read_excel(io.BytesIO(book.content), sheet_name=None, engine="calamine")
    assert "群众评议 → 村委会评价" in " ".join(sheets["说明"].astype(str).to_numpy().ravel())
    report = c.get(f"{job_url}/report")
    assert report.status_code == 200
    assert "script" not in report.headers["content-security-policy"].replace("script-src", "")
    filtered = c.get(job_url, params={"grade": "非信用户"})
    assert filtered.status_code == 200
    # the mapping was saved: the next file of the layout needs no question
    again = c.post("/batches/upload", data={"csrf_token": csrf},
                   files={"file": (path.name, path.read_bytes(), "application/octet-stream")})
    assert 'name="map:群众评议"' not in c.get(again.headers["location"]).text


def test_another_assessor_cannot_see_the_job(as_role, store: Store, tmp_path: Path) -> None:
    from creditscore.service.accounts import create_user
    from creditscore.service.keys import Role

    path = tmp_path / "one.xlsx"
    write_township_workbook(store.records("households"), path, villages=1, per_village=6)
    c = as_role("assessor")
    csrf = csrf_of(c.get("/batches").text)
    stage = c.post("/batches/upload", data={"csrf_token": csrf}, files={"file": (path.name, path.read_bytes())})
    start = c.post(stage.headers["location"], data={"csrf_token": csrf, "purpose": "信用村评定",
                                                    "authorization_ref": "SQ-2024-019"})
    job_id = start.headers["location"].rsplit("/", 1)[-1]
    _wait_done(c, job_id)
    create_user(store, "other-assessor", "correct horse battery", role=Role.ASSESSOR, institution="别的乡")
    other = as_role("other-assessor")
    assert other.get(f"/batches/{job_id}").status_code == 404
    assert other.get(f"/batches/{job_id}/workbook").status_code == 404
    assert job_id not in other.get("/batches").text
    # nor may anyone else confirm an upload that is not theirs
    stage_two = c.post("/batches/upload", data={"csrf_token": csrf}, files={"file": (path.name, path.read_bytes())})
    assert other.get(stage_two.headers["location"]).status_code == 404


def test_a_file_too_large_or_missing_is_refused_with_a_sentence(as_role) -> None:
    c = as_role("assessor")
    csrf = csrf_of(c.get("/batches").text)
    big = c.post("/batches/upload", data={"csrf_token": csrf}, files={"file": ("big.csv", b"x" * 2_100_000)})
    assert big.status_code == 413
    assert "上限" in big.text
    none = c.post("/batches/upload", data={"csrf_token": csrf})
    assert none.status_code == 422
    assert "请选择" in none.text


def test_an_admin_creates_a_user_and_reads_and_exports_the_audit_log(as_role, store: Store) -> None:
    c = as_role("admin")
    csrf = csrf_of(c.get("/admin/users").text)
    made = c.post("/admin/users", data={"csrf_token": csrf, "action": "create_user", "username": "new-officer",
                                        "password": "long enough pass", "role": "bank", "institution": "新银行"})
    assert made.status_code == 200
    assert "new-officer" in made.text
    short = c.post("/admin/users", data={"csrf_token": csrf, "action": "create_user", "username": "x2",
                                         "password": "short", "role": "bank", "institution": "新银行"})
    assert short.status_code == 422
    key = c.post("/admin/users", data={"csrf_token": csrf, "action": "create_key", "institution": "新银行",
                                       "role": "bank"})
    assert key.status_code == 422  # no API key is ever made on, or shown to, a page
    assert not re.search(r"cs_[A-Za-z0-9_-]{30,}", key.text)
    audit = c.get("/admin/audit", params={"route": "web_admin_create_user"})
    assert "web_admin_create_user" in audit.text
    export = c.get("/admin/audit", params={"route": "web_admin_create_user", "format": "csv"})
    assert export.headers["content-type"].startswith("text/csv")
    assert "web_admin_create_user" in export.text
    assert not full_resident_ids(c.get("/admin/audit").text)
    bad = c.get("/admin/audit", params={"since": "yesterday"})
    assert bad.status_code == 422


def test_pages_weigh_under_100_kb_with_their_script_and_style(as_role) -> None:
    """Transferred bytes (gzip, as a browser asks): pages and their static files are compressed, and static files
    are cached by the browser for good (their URLs carry their content's hash)."""
    c = as_role("admin")
    assets = 0
    for name in ("htmx-2.0.11.min.js", "site.js", "site.css"):
        r = c.get(f"/static/{name}", headers={"accept-encoding": "gzip"})
        assets += r.num_bytes_downloaded
        assert "immutable" in r.headers["cache-control"]
    assert assets < 30_000
    for path in ("/firms", "/households", "/batches", "/admin/users", "/admin/audit", "/admin/models"):
        r = c.get(path, headers={"accept-encoding": "gzip"})
        assert r.num_bytes_downloaded + assets < 100_000, (path, r.num_bytes_downloaded)
    api = c.get("/healthz", headers={"accept-encoding": "gzip"})
    assert "content-encoding" not in api.headers  # the API is never compressed


def test_the_english_switch(as_role) -> None:
    c = as_role("bank")
    c.get("/lang/en", headers={"referer": "http://testserver/firms"})
    assert "Find a firm" in c.get("/firms").text
    c.get("/lang/zh")
    assert "查询企业" in c.get("/firms").text


def test_hostile_file_names_are_refused_or_kept_harmless(as_role) -> None:
    """A name is the sender's to choose: a NUL, a path, a script, 500 characters — never a 500, never a file
    written outside the service's folder, never markup on the page."""
    c = as_role("assessor")
    csrf = csrf_of(c.get("/batches").text)
    for name in ("a\x00.csv", "../../etc/passwd", "<script>alert(1)</script>.xlsx", "x" * 500 + ".csv",
                 "名单.CSV;rm -rf", "noext"):
        r = c.post("/batches/upload", data={"csrf_token": csrf}, files={"file": (name, b"a,b\n1,2\n")})
        assert r.status_code in (303, 413, 422), (name, r.status_code)
        if r.status_code == 303:
            page = c.get(r.headers["location"])
            assert page.status_code in (200, 422), (name, page.status_code)
            assert "<script>alert" not in page.text


def test_two_users_whose_names_begin_alike_do_not_share_their_jobs(as_role, store: Store) -> None:
    from creditscore.service.accounts import create_user
    from creditscore.service.keys import Role

    first = create_user(store, "township.assessor.one", "correct horse battery", role=Role.ASSESSOR,
                        institution="甲乡")
    second = create_user(store, "township.assessor.two", "correct horse battery", role=Role.ASSESSOR,
                         institution="乙乡")
    assert first.caller.key_prefix != second.caller.key_prefix


def test_the_grade_card_links_to_the_firms_credit_report(as_role, store: Store) -> None:
    uscc, _ = _firm(store)
    c = as_role("bank")
    page = c.get(f"/firms/{uscc}")
    card = c.post(f"/firms/{uscc}", data={"csrf_token": csrf_of(page.text), "purpose": "loan_application",
                                          "as_of": "2024-06-30"})
    assert f'action="/firms/{uscc}/report"' in card.text
    pdf = c.post(f"/firms/{uscc}/report", data={"csrf_token": csrf_of(card.text), "purpose": "loan_application",
                                                "as_of": "2024-06-30"})
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    html = c.post(f"/firms/{uscc}/report", data={"csrf_token": csrf_of(card.text), "purpose": "loan_application",
                                                 "as_of": "2024-06-30", "format": "html"})
    assert "四、公共信用记录" in html.text
    assert "script-src" not in html.headers["content-security-policy"]
    lines = query_audit(store, subject=uscc)
    assert (lines["route"] == "web_enterprise_report").sum() == 2
    assert c.post(f"/firms/{uscc}/report", data={"purpose": "loan_application"}).status_code == 403


def test_a_households_report_from_the_lookup_form(as_role, store: Store) -> None:
    heads = store.records("households")["head_id"]
    head = str(heads[heads.str.len() == 18].iloc[4])
    c = as_role("bank")
    form = c.get("/households")
    assert 'formaction="/households/report"' in form.text
    csrf = csrf_of(form.text)
    refused = c.post("/households/report", data={"csrf_token": csrf, "resident_id": head,
                                                 "purpose": "loan_application", "authorization_ref": ""})
    assert refused.status_code == 422
    assert head not in refused.text
    pdf = c.post("/households/report", data={"csrf_token": csrf, "resident_id": head, "purpose": "loan_application",
                                             "authorization_ref": "SQ-2024-0002"})
    assert pdf.status_code == 200
    assert pdf.content[:5] == b"%PDF-"
    assert (query_audit(store, subject=mask_resident_id(head))["route"] == "web_household_report").any()


def test_a_bank_officer_watches_a_firm_and_clears_its_alert_on_the_page(as_role, store: Store,
                                                                         tmp_path: Path) -> None:
    import datetime as dt

    from creditscore.service import alerts
    from creditscore.store import ingest_file

    listed = set(store.records("court_listings")["subject_id"].astype(str))
    uscc = next(f for f in store.records("enterprises")["uscc"].astype(str) if f not in listed)
    c = as_role("bank")
    page = c.get("/watches")
    assert page.status_code == 200
    bad = c.post("/watches", data={"csrf_token": csrf_of(page.text), "uscc": "91350100M000100Y4X"})
    assert bad.status_code == 422
    assert "field-error" in bad.text
    added = c.post("/watches", data={"csrf_token": csrf_of(page.text), "uscc": uscc})
    assert added.status_code == 303
    path = tmp_path / "court.csv"
    pd.DataFrame({"主体类型": ["enterprise"], "主体证件号码": [uscc], "案号": ["(2026)页面执1号"],
                  "列入日期": [(dt.date.today() - dt.timedelta(days=5)).isoformat()]}).to_csv(path, index=False)
    since = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    ingest_file(store, "court_listings", path)
    alerts.after_ingest(c.app.state.service, "court_listings", since)
    page = c.get("/watches")
    assert "被人民法院列为失信被执行人" in page.text
    alert_id = re.search(r'action="/alerts/([0-9a-f]{32})"', page.text).group(1)
    done = c.post(f"/alerts/{alert_id}", data={"csrf_token": csrf_of(page.text), "action": "cleared",
                                               "note": "已核实"})
    assert done.status_code == 303
    assert "已解除" in c.get("/watches").text
    assert (query_audit(store, institution="示范农商银行")["route"] == "alert_cleared").any()
    assert as_role("assessor").get("/watches").status_code == 403
