"""Grades over HTTP: every route, role and error case; the same answer as the library and the CLI."""

from __future__ import annotations

import json
import os
import re

import numpy as np
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from creditscore.service.keys import revoke_key
from creditscore.store import Store
from tests.api.conftest import a_firm, a_household, auth

AS_OF = "2024-06-30"


def test_health_and_readiness(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz").json()
    assert ready["status"] == "ready"
    assert set(ready["models"]) == {"sme", "household"}


def test_enterprise_grade(client: TestClient, store: Store, keys: dict[str, str]) -> None:
    firm = a_firm(store)
    r = client.get(f"/v1/enterprises/{firm.lower()}/grade", params={"purpose": "loan_application", "as_of": AS_OF},
                   headers=auth(keys["bank"]))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["subject_id"] == firm
    assert body["grade"] in ["AAA", "AA", "A", "BBB", "BB", "B", "CCC", "CC", "C"]
    assert 0 < body["pd"] < 1
    assert body["data_as_of"] == AS_OF
    assert body["reasons"]
    assert {"text_zh", "text_en", "contribution", "reason_code"} <= set(body["reasons"][0])
    assert body["tax_grade"] in {"A", "B", "M", "C", "D", None}
    assert "log-odds" in body["explanation"]["en"]
    assert r.headers["X-Request-ID"] == body["request_id"]


@pytest.mark.parametrize(("path", "message"), [
    ("91350100M000100Y44", "check character (position 18) should be '3', got '4'"),
    ("91350100M000100Y4S", "never used"),
    ("1234", "must have 18 characters"),
])
def test_invalid_uscc_is_422_with_the_exact_reason(client: TestClient, keys: dict[str, str], path: str,
                                                   message: str) -> None:
    r = client.get(f"/v1/enterprises/{path}/grade", params={"purpose": "x1"}, headers=auth(keys["bank"]))
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    assert message in r.json()["detail"]


def test_unknown_firm_is_404(client: TestClient, keys: dict[str, str]) -> None:
    r = client.get("/v1/enterprises/91350100M000100Y43/grade", params={"purpose": "x1"}, headers=auth(keys["bank"]))
    assert r.status_code == 404
    assert "no enterprise" in r.json()["detail"]


def test_a_resident_id_on_the_firm_route_is_refused(client: TestClient, store: Store, keys: dict[str, str]) -> None:
    r = client.get(f"/v1/enterprises/{a_household(store)}/grade", params={"purpose": "x1"},
                   headers=auth(keys["bank"]))
    assert r.status_code == 422
    assert "resident ID" in r.json()["detail"]


@pytest.mark.parametrize(("headers", "status", "message"), [
    ({}, 401, "missing API key"),
    ({"X-API-Key": "cs_not-a-key"}, 401, "unknown API key"),
])
def test_keys_are_required(client: TestClient, store: Store, headers: dict[str, str], status: int,
                           message: str) -> None:
    r = client.get(f"/v1/enterprises/{a_firm(store)}/grade", params={"purpose": "x1"}, headers=headers)
    assert r.status_code == status
    assert message in r.json()["detail"]


@pytest.mark.parametrize("role", ["assessor", "analyst"])
def test_roles_that_may_not_grade_firms(client: TestClient, store: Store, keys: dict[str, str], role: str) -> None:
    r = client.get(f"/v1/enterprises/{a_firm(store)}/grade", params={"purpose": "x1"}, headers=auth(keys[role]))
    assert r.status_code == 403
    assert f"the {role} role may not do this" in r.json()["detail"]


def test_a_firm_query_needs_a_purpose(client: TestClient, store: Store, keys: dict[str, str]) -> None:
    r = client.get(f"/v1/enterprises/{a_firm(store)}/grade", headers=auth(keys["bank"]))
    assert r.status_code == 403
    assert "purpose" in r.json()["detail"]


def test_household_grade_needs_consent_and_masks_the_id(client: TestClient, store: Store,
                                                         keys: dict[str, str]) -> None:
    head = a_household(store)
    missing = client.get(f"/v1/households/{head}/grade", params={"purpose": "loan_application"},
                         headers=auth(keys["assessor"]))
    assert missing.status_code == 403
    assert "authorization_ref" in missing.json()["detail"]
    assert head not in missing.text  # a problem's "instance" is the path, ID masked
    assert missing.json()["instance"] == f"/v1/households/{head[:6]}********{head[-4:]}/grade"
    r = client.get(f"/v1/households/{head}/grade", headers=auth(keys["assessor"]),
                   params={"purpose": "loan_application", "authorization_ref": "AUTH-2024-1", "as_of": AS_OF})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["subject_id"] == head[:6] + "********" + head[-4:]
    assert head not in r.text
    assert body["grade"] in ["AAA", "AA", "A", "非信用户"]
    assert client.get(f"/v1/households/{head}/grade", headers=auth(keys["analyst"]),
                      params={"purpose": "x1", "authorization_ref": "AUTH-1"}).status_code == 403


def test_revoked_key_is_refused(client: TestClient, store: Store) -> None:
    from creditscore.service.keys import Role, create_key

    key = create_key(store, "short-lived", Role.BANK)
    assert client.get(f"/v1/enterprises/{a_firm(store)}/grade", params={"purpose": "x1"},
                      headers=auth(key)).status_code == 200
    revoke_key(store, key[:10])
    r = client.get(f"/v1/enterprises/{a_firm(store)}/grade", params={"purpose": "x1"}, headers=auth(key))
    assert r.status_code == 401
    assert "revoked" in r.json()["detail"]


def _inline_records(store: Store, firm: str) -> dict[str, list[dict[str, object]]]:
    records = store.subject_records(firm)
    out = {}
    for kind, frame in records.items():
        if frame.empty or kind == "objections":
            continue
        rows = frame.drop(columns=["record_key"]).astype(object).where(frame.notna(), None)
        for col in rows.columns:
            if str(frame[col].dtype).startswith("datetime"):
                rows[col] = frame[col].dt.strftime("%Y-%m-%d").where(frame[col].notna(), None)
            if col in ("amount", "value", "registered_capital"):
                rows[col] = (frame[col] / 100).where(frame[col].notna(), None)  # yuan, as an export has it
        rows = rows.astype(object).where(rows.notna(), None)
        out[kind] = rows.to_dict(orient="records")
    return out


def test_inline_records_give_the_same_grade_as_the_store(client: TestClient, store: Store,
                                                         keys: dict[str, str]) -> None:
    firm = a_firm(store)
    stored = client.get(f"/v1/enterprises/{firm}/grade", params={"purpose": "x1", "as_of": AS_OF},
                        headers=auth(keys["bank"])).json()
    body = {"purpose": "loan_application", "as_of": AS_OF, "records": _inline_records(store, firm)}
    inline = client.post("/v1/enterprises/grade", json=body, headers=auth(keys["bank"]))
    assert inline.status_code == 200, inline.text
    got = inline.json()
    assert (got["grade"], got["pd"]) == (stored["grade"], pytest.approx(stored["pd"], abs=1e-12))
    assert [r["reason_code"] for r in got["reasons"]] == [r["reason_code"] for r in stored["reasons"]]


def test_inline_records_with_errors_list_each_problem(client: TestClient, keys: dict[str, str]) -> None:
    body = {"purpose": "loan_application", "records": {
        "enterprises": [{"uscc": "91350100M000100Y43", "name": "x", "registered_on": "2015-02-30", "industry": "F",
                         "division_code": "350100", "size_class": "small"}],
        "penalties": [{"uscc": "91350100M000100Y43", "decision_no": "a", "decided_on": "2024-01-01",
                       "authority": "b", "severity": "很严重"}]}}
    r = client.post("/v1/enterprises/grade", json=body, headers=auth(keys["bank"]))
    assert r.status_code == 422
    problems = r.json()["problems"]
    assert {(p["kind"], p["column"]) for p in problems} == {("enterprises", "registered_on"),
                                                            ("penalties", "severity")}
    unknown = client.post("/v1/enterprises/grade", headers=auth(keys["bank"]),
                          json={"purpose": "x1", "records": {"fines": [{}]}})
    assert unknown.status_code == 422
    assert "unknown record kinds" in unknown.json()["detail"]


def test_malformed_body_is_400_not_500(client: TestClient, keys: dict[str, str]) -> None:
    r = client.post("/v1/enterprises/grade", content=b"{not json", headers={**auth(keys["bank"]),
                                                                           "content-type": "application/json"})
    assert r.status_code == 400
    r = client.post("/v1/households/grade", json={"records": {"households": "nope"}}, headers=auth(keys["bank"]))
    assert r.status_code == 422


def test_inline_household_needs_consent(client: TestClient, keys: dict[str, str]) -> None:
    r = client.post("/v1/households/grade", json={"purpose": "x1", "records": {"households": [{}]}},
                    headers=auth(keys["bank"]))
    assert r.status_code == 403
    assert "authorisation" in r.json()["detail"]


def test_the_api_the_library_and_the_cli_agree(client: TestClient, store: Store, keys: dict[str, str],
                                               api_settings, monkeypatch: pytest.MonkeyPatch) -> None:
    from creditscore.cli import app
    from creditscore.decisions.scoring import score
    from creditscore.features import load_catalogue
    from creditscore.modeling.bundle import DEMO_BUNDLES, ModelBundle
    from creditscore.policy import load_policy
    from creditscore.store.features import features_from_store

    firm = a_firm(store)
    api = client.get(f"/v1/enterprises/{firm}/grade", params={"purpose": "x1", "as_of": AS_OF},
                     headers=auth(keys["bank"])).json()
    catalogue, policy = load_catalogue("sme"), load_policy()
    batch = features_from_store(store, catalogue, AS_OF, policy=policy)  # the whole batch, as a nightly run
    lib = score(ModelBundle.load(DEMO_BUNDLES / "sme", catalogue=catalogue), batch, catalogue=catalogue,
                policy=policy)
    row = lib.decisions.loc[firm]
    assert (api["grade"], api["pd"]) == (row["final_grade"], pytest.approx(row["pd"], abs=1e-12))
    lib_reasons = lib.reasons[lib.reasons["subject_id"] == firm]
    np.testing.assert_allclose([r["contribution"] for r in api["reasons"]], lib_reasons["contribution"], atol=1e-12)
    monkeypatch.setenv("CREDITSCORE_DATABASE_URL", api_settings.store_url)
    cli = CliRunner().invoke(app, ["grade", firm, "--as-of", AS_OF, "--json"])
    assert cli.exit_code == 0, cli.output
    record = json.loads(cli.output)
    assert (record["final_grade"], record["pd"]) == (api["grade"], pytest.approx(api["pd"], abs=1e-12))


def test_metrics_count_requests(client: TestClient, store: Store, keys: dict[str, str]) -> None:
    client.get("/healthz")
    assert client.get(f"/v1/enterprises/{a_firm(store)}/grade", params={"purpose": "x1"},
                      headers=auth(keys["bank"])).status_code == 200
    text = client.get("/metrics").text
    assert re.search(r'creditscore_requests_total\{method="GET",route="/healthz",status="200"\} \d', text)
    assert "creditscore_model_info" in text
    batches = re.search(r"^creditscore_grading_batch_size_count (\S+)$", text, re.M)
    graded = re.search(r"^creditscore_grading_batch_size_sum (\S+)$", text, re.M)
    assert float(batches.group(1)) >= 1
    assert float(graded.group(1)) >= float(batches.group(1))
    assert re.search(rf'^creditscore_worker\{{pid="{os.getpid()}"\}} 1\.0$', text, re.M)


def test_the_access_log_masks_resident_ids(client: TestClient, store: Store, caplog: pytest.LogCaptureFixture) -> None:
    """uvicorn logs every request's path; a household's grade has the resident ID in it."""
    import logging

    head = a_household(store)
    with caplog.at_level(logging.INFO, logger="uvicorn.access"):
        logging.getLogger("uvicorn.access").info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET",
                                                 f"/v1/households/{head}/grade?purpose=x1", "1.1", 200)
    assert head not in caplog.text
    assert f"/v1/households/{head[:6]}" in caplog.text
    assert head[-4:] + "/grade" in caplog.text


@pytest.mark.parametrize(("method", "path", "body"), [
    ("POST", "/v1/enterprises/grade", b"{not json"),
    ("POST", "/v1/enterprises/grade", b'{"purpose": 1, "records": "x"}'),
    ("POST", "/v1/households/grade", b"\x00\xff"),
    ("POST", "/v1/objections", b"[]"),
    ("POST", "/v1/objections/1/resolution", b"{"),
])
def test_authentication_comes_before_the_body(client: TestClient, keys: dict[str, str], method: str, path: str,
                                              body: bytes) -> None:
    for headers in ({}, {"X-API-Key": "cs_not_a_key"}):
        r = client.request(method, path, content=body, headers={**headers, "Content-Type": "application/json"})
        assert r.status_code == 401, r.text
        assert r.headers["WWW-Authenticate"] == "ApiKey"
    r = client.request(method, path, content=body, headers={**auth(keys["admin"]), "Content-Type": "application/json"})
    assert r.status_code in (400, 422), r.text


def test_a_malformed_body_is_400_and_an_invalid_one_422(client: TestClient, keys: dict[str, str]) -> None:
    malformed = client.post("/v1/enterprises/grade", content=b"{not json", headers={
        **auth(keys["bank"]), "Content-Type": "application/json"})
    assert malformed.status_code == 400
    assert malformed.json()["title"] == "malformed body"
    invalid = client.post("/v1/enterprises/grade", json={"purpose": "x1", "records": "x"}, headers=auth(keys["bank"]))
    assert invalid.status_code == 422


def test_a_wrong_method_is_405_with_allow(client: TestClient, keys: dict[str, str]) -> None:
    r = client.delete("/v1/enterprises/91350100M000100Y43/grade", headers=auth(keys["bank"]))
    assert r.status_code == 405
    assert r.headers["Allow"] == "GET"
    assert r.headers["content-type"] == "application/problem+json"


def test_every_route_documents_an_example_of_what_it_takes_and_gives(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    household = spec["components"]["schemas"]["InlineHouseholdRequest"]["examples"][0]["records"]
    assert "households" in household
    assert "enterprises" not in household  # the household route teaches a household, not a firm
    assert spec["components"]["schemas"]["JobStatus"]["examples"]
    batch = spec["paths"]["/v1/households/batch"]["post"]["responses"]["202"]
    assert set(batch["links"]) == {"status", "result", "report"}
    assert "400" in spec["paths"]["/v1/enterprises/grade"]["post"]["responses"]
