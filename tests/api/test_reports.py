"""Credit reports over HTTP: who may ask, what is audited, and verification that anyone may run."""

from __future__ import annotations

from fastapi.testclient import TestClient

from creditscore.service.audit import query_audit
from creditscore.store import Store
from tests.api.conftest import a_firm, a_household, auth


def test_a_bank_gets_a_firms_report_as_pdf_and_html_and_it_is_audited(client: TestClient, keys: dict[str, str],
                                                                       store: Store) -> None:
    uscc = a_firm(store)
    r = client.get(f"/v1/enterprises/{uscc}/report", params={"purpose": "loan_application", "as_of": "2024-06-30"},
                   headers=auth(keys["bank"]))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/pdf"
    assert r.content[:5] == b"%PDF-"
    number = r.headers["x-report-number"]
    html = client.get(f"/v1/enterprises/{uscc}/report", params={"purpose": "loan_application", "format": "html",
                                                                 "as_of": "2024-06-30"}, headers=auth(keys["bank"]))
    assert "七、如何提升信用等级" in html.text
    assert html.headers["x-report-content-hash"] == r.headers["x-report-content-hash"]  # same content, same hash
    lines = query_audit(store, subject=uscc)
    assert (lines["route"] == "enterprise_report").sum() >= 2
    # anyone shown the report may verify it, without a key; one changed byte and it is not genuine
    assert client.post(f"/v1/reports/{number}/verify", files={"file": ("r.pdf", r.content)}).json()["genuine"]
    changed = r.content.replace(b"%PDF-1.7", b"%PDF-1.6", 1)
    answer = client.post(f"/v1/reports/{number}/verify", files={"file": ("r.pdf", changed)}).json()
    assert answer["genuine"] is False
    assert "subject" not in answer  # verification never says whom the report is about
    by_hash = client.get(f"/v1/reports/{number}/verify",
                         params={"content_hash": r.headers["x-report-content-hash"]}).json()
    assert by_hash["genuine"]
    assert client.get("/v1/reports/CS20990101E0000000000/verify", params={"content_hash": "0" * 64}).json()[
        "genuine"] is False


def test_a_report_needs_a_purpose_and_a_person_needs_consent(client: TestClient, keys: dict[str, str],
                                                             store: Store) -> None:
    uscc = a_firm(store)
    assert client.get(f"/v1/enterprises/{uscc}/report", headers=auth(keys["bank"])).status_code == 403
    assert client.get(f"/v1/enterprises/{uscc}/report", params={"purpose": "x1"}).status_code == 401
    assert client.get(f"/v1/enterprises/{uscc}/report", params={"purpose": "loan_application"},
                      headers=auth(keys["assessor"])).status_code == 403
    head = a_household(store)
    refused = client.get(f"/v1/households/{head}/report", params={"purpose": "loan_application"},
                         headers=auth(keys["bank"]))
    assert refused.status_code == 403
    assert "authorization_ref" in refused.text
    ok = client.get(f"/v1/households/{head}/report", params={"purpose": "loan_application", "format": "html",
                                                              "authorization_ref": "SQ-2024-0001"},
                    headers=auth(keys["bank"]))
    assert ok.status_code == 200
    assert head not in ok.text
    bad = client.get("/v1/enterprises/91350100M000100Y4X/report", params={"purpose": "loan_application"},
                     headers=auth(keys["bank"]))
    assert bad.status_code == 422
    assert client.get(f"/v1/enterprises/{uscc}/report", params={"purpose": "loan_application", "format": "docx"},
                      headers=auth(keys["bank"])).status_code == 422
