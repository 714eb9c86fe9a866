"""Early warning over HTTP: watches, the feed, acknowledgements — per institution."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
from fastapi.testclient import TestClient

from creditscore.service import alerts
from creditscore.store import Store, ingest_file
from tests.api.conftest import a_firm, a_household, auth


def test_a_bank_watches_a_firm_reads_its_alerts_and_clears_one(client: TestClient, keys: dict[str, str],
                                                               store: Store, tmp_path: Path) -> None:
    firm = str(store.records("enterprises")["uscc"].iloc[40])
    made = client.post("/v1/watches", json={"subject": firm, "purpose": "loan_monitoring", "grade_floor": "BB"},
                       headers=auth(keys["bank"]))
    assert made.status_code == 201, made.text
    watch_id = made.json()["watch_id"]
    assert any(w["id"] == watch_id for w in client.get("/v1/watches", headers=auth(keys["bank"])).json())
    assert all(w["id"] != watch_id for w in client.get("/v1/watches", headers=auth(keys["other_bank"])).json())
    start = client.get("/v1/alerts", headers=auth(keys["bank"])).json()["next"]
    path = tmp_path / "court.csv"
    pd.DataFrame({"主体类型": ["enterprise"], "主体证件号码": [firm], "案号": ["(2026)接口执1号"],
                  "列入日期": [(dt.date.today() - dt.timedelta(days=5)).isoformat()]}).to_csv(path, index=False)
    since = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    ingest_file(store, "court_listings", path)
    alerts.after_ingest(client.app.state.service, "court_listings", since)
    feed = client.get("/v1/alerts", params={"after": start}, headers=auth(keys["bank"])).json()
    rules = [i["rule"] for i in feed["items"]]
    assert "court_listing" in rules
    assert feed["next"] > start
    assert client.get("/v1/alerts", params={"after": feed["next"]}, headers=auth(keys["bank"])).json()["items"] == []
    assert client.get("/v1/alerts", params={"after": start}, headers=auth(keys["other_bank"])).json()["items"] == []
    alert_id = next(i["alert_id"] for i in feed["items"] if i["rule"] == "court_listing")
    done = client.post(f"/v1/alerts/{alert_id}/actions", json={"action": "cleared", "note": "已核实，客户已履行"},
                       headers=auth(keys["bank"]))
    assert done.status_code == 204
    assert client.post(f"/v1/alerts/{alert_id}/actions", json={"action": "cleared"},
                       headers=auth(keys["other_bank"])).status_code == 404
    assert client.delete(f"/v1/watches/{watch_id}", headers=auth(keys["other_bank"])).status_code == 404
    assert client.delete(f"/v1/watches/{watch_id}", headers=auth(keys["bank"])).status_code == 204


def test_a_household_watch_needs_consent_and_an_assessor_cannot_watch(client: TestClient, keys: dict[str, str],
                                                                       store: Store) -> None:
    head = a_household(store)
    refused = client.post("/v1/watches", json={"subject": head, "purpose": "loan_monitoring"},
                          headers=auth(keys["bank"]))
    assert refused.status_code == 403
    assert "authorization_ref" in refused.text
    assert head not in refused.text
    assert client.post("/v1/watches", json={"subject": a_firm(store), "purpose": "loan_monitoring"},
                       headers=auth(keys["assessor"])).status_code == 403
    bad = client.post("/v1/watches", json={"subject": a_firm(store), "purpose": "loan_monitoring",
                                           "grade_floor": "ZZZ"}, headers=auth(keys["bank"]))
    assert bad.status_code == 422
