"""Early warning: watches, alerts raised once where the data changes, the cursor feed, signed webhooks."""

from __future__ import annotations

import datetime as dt
import http.server
import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import select, update

from creditscore.service import alerts
from creditscore.service.audit import query_audit
from creditscore.service.grading import GradingService
from creditscore.service.keys import Caller, NotPermitted, Role
from creditscore.service.objections import file_objection, resolve_objection
from creditscore.store import ingest_file
from creditscore.store.tables import ALERTS, WATCHES, WEBHOOK_OUTBOX
from tests.helpers import synthetic_service

BANK = Caller(key_prefix="bank1", institution="示范农商银行", role=Role.BANK)
OTHER = Caller(key_prefix="bank2", institution="另一家银行", role=Role.BANK)
TODAY = dt.date.today()


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GradingService]:
    service = synthetic_service(tmp_path_factory.mktemp("alerts"), seed=17, firms=120, households=120)
    yield service
    service.store.dispose()


def _firms(service: GradingService) -> list[str]:
    listed = set(service.store.records("court_listings")["subject_id"].astype(str))
    return [f for f in service.store.records("enterprises")["uscc"].astype(str) if f not in listed]


def _court_file(path: Path, rows: list[tuple[str, str]]) -> Path:
    pd.DataFrame({"主体类型": ["enterprise"] * len(rows), "主体证件号码": [s for s, _ in rows],
                  "案号": [c for _, c in rows], "执行法院": ["某市中级人民法院"] * len(rows),
                  "列入日期": [(TODAY - dt.timedelta(days=3)).isoformat()] * len(rows)}).to_csv(path, index=False)
    return path


def _ingest(service: GradingService, kind: str, path: Path) -> int:
    since = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    ingest_file(service.store, kind, path)
    return alerts.after_ingest(service, kind, since)


def _alerts_of(service: GradingService, watch_id: int) -> list[dict]:
    with service.store.engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(ALERTS).where(ALERTS.c.watch_id == watch_id)
                                              .order_by(ALERTS.c.seq)).mappings()]


def test_an_ingest_raises_exactly_the_expected_alerts_once_and_a_removal_clears(service: GradingService,
                                                                                tmp_path: Path) -> None:
    firm, quiet, unwatched = _firms(service)[:3]
    watched = alerts.add_watch(service, BANK, firm, purpose="loan_monitoring", grade_floor="BB")
    calm = alerts.add_watch(service, BANK, quiet, purpose="loan_monitoring")
    assert (query_audit(service.store, subject=firm)["route"] == "watch_add").any()  # creating a watch is audited
    before = service.grade(firm)
    path = _court_file(tmp_path / "court.csv", [(firm, "(2026)测执1号"), (unwatched, "(2026)测执2号")])
    raised = _ingest(service, "court_listings", path)
    after = service.grade(firm)
    got = _alerts_of(service, watched)
    rules = {a["rule"] for a in got}
    grades = list(service.models.scorer("sme").scale.names)
    expected = {"court_listing"}
    if grades.index(after.final_grade) > grades.index(before.final_grade):
        expected.add("grade_drop")
    if after.pd >= 2 * before.pd:
        expected.add("pd_rise")
    assert rules == expected
    assert raised == len(got)
    assert next(a for a in got if a["rule"] == "court_listing")["severity"] == "red"
    assert _alerts_of(service, calm) == []
    assert all(a["subject_masked"] == firm for a in got)
    # the same file again, and the nightly sweep: nothing new
    assert _ingest(service, "court_listings", path) == 0
    assert alerts.sweep(service) == 0
    # the listing is removed (an objection upheld): a clearing alert, once
    records = service.store.records("court_listings")
    key = str(records[records["case_no"] == "(2026)测执1号"]["record_key"].iloc[0])
    filed = file_objection(service.store, "court_listings", key, filed_by="企业", reason="已履行")
    resolve_objection(service.store, filed.id, upheld=True, resolved_by="平台", remove=True)
    assert alerts.sweep(service) >= 1
    cleared = [a for a in _alerts_of(service, watched) if a["clearing"]]
    assert [a["rule"] for a in cleared if a["rule"] == "court_listing"] == ["court_listing"]
    assert cleared[0]["text_zh"].startswith("已解除")
    assert alerts.sweep(service) == 0


def test_an_expired_or_removed_watch_raises_nothing(service: GradingService, tmp_path: Path) -> None:
    first, second = _firms(service)[10:12]
    expired = alerts.add_watch(service, BANK, first, purpose="loan_monitoring",
                               expires_on=TODAY + dt.timedelta(days=30))
    removed = alerts.add_watch(service, BANK, second, purpose="loan_monitoring")
    with service.store.engine.begin() as conn:  # the loan matured
        conn.execute(update(WATCHES).where(WATCHES.c.id == expired).values(expires_on=TODAY - dt.timedelta(days=1)))
    alerts.remove_watch(service.store, BANK, removed)
    with pytest.raises(Exception, match="no watch"):
        alerts.remove_watch(service.store, OTHER, expired)  # nor may another bank touch it
    _ingest(service, "court_listings", _court_file(tmp_path / "c.csv", [(first, "(2026)测执3号"),
                                                                         (second, "(2026)测执4号")]))
    assert _alerts_of(service, expired) == []
    assert _alerts_of(service, removed) == []


def test_a_household_watch_needs_consent_and_an_expiry(service: GradingService) -> None:
    heads = service.store.records("households")["head_id"]
    head = str(heads[heads.str.len() == 18].iloc[0])
    with pytest.raises(NotPermitted, match="authorization_ref"):
        alerts.add_watch(service, BANK, head, purpose="loan_monitoring")
    with pytest.raises(NotPermitted, match="expiry"):
        alerts.add_watch(service, BANK, head, purpose="loan_monitoring", authorization_ref="SQ-2026-0001")
    watch = alerts.add_watch(service, BANK, head, purpose="loan_monitoring", authorization_ref="SQ-2026-0001",
                             expires_on=TODAY + dt.timedelta(days=365))
    with service.store.engine.connect() as conn:
        row = conn.execute(select(WATCHES).where(WATCHES.c.id == watch)).mappings().first()
    assert head not in json.dumps({k: str(v) for k, v in row.items()})  # the ID stays in the subject table
    assert row["subject_masked"] != head


def test_the_cursor_feed_shows_every_alert_exactly_once_while_alerts_are_appended(service: GradingService) -> None:
    watch = alerts.add_watch(service, OTHER, _firms(service)[20], purpose="loan_monitoring")
    start = alerts.feed(service.store, OTHER.institution, after=0, limit=1000)[1]
    total = 300
    done = threading.Event()

    def writer() -> None:
        for i in range(0, total, 3):  # three at a time, as an ingest commits them
            alerts._append(service.store, [
                {"rule": "wage_arrears", "severity": "orange", "clearing": 0, "text_zh": f"测试{j}",
                 "text_en": f"test {j}", "dedupe_key": f"feed-test:{j}", "watch_id": watch,
                 "institution": OTHER.institution, "subject_masked": "x", "cause": "ingest"} for j in range(i, i + 3)])
        done.set()

    thread = threading.Thread(target=writer)
    thread.start()
    seen: list[int] = []
    cursor = start
    while True:
        finished = done.is_set()
        items, cursor = alerts.feed(service.store, OTHER.institution, after=cursor, limit=7)
        seen += [i["seq"] for i in items]
        if finished and not items:
            break
    thread.join()
    assert len(seen) == total
    assert len(set(seen)) == total
    assert seen == sorted(seen)


class _Receiver(http.server.BaseHTTPRequestHandler):
    received: list[tuple[dict[str, str], bytes]] = []  # noqa: RUF012 - the test's shared inbox

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["content-length"]))
        type(self).received.append(({k.lower(): v for k, v in self.headers.items()}, body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        return


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_webhooks_are_signed_retried_until_the_receiver_is_back_and_carry_no_personal_data(
        service: GradingService, tmp_path: Path) -> None:
    from standardwebhooks.webhooks import Webhook

    bank = Caller(key_prefix="bank3", institution="推送银行", role=Role.BANK)
    port = _free_port()
    url = f"http://127.0.0.1:{port}/hooks/creditscore"
    old = alerts.set_webhook(service.store, bank.institution, url)
    new = alerts.set_webhook(service.store, bank.institution, url, rotate=True)  # both sign during rotation
    firm = _firms(service)[30]
    alerts.add_watch(service, bank, firm, purpose="loan_monitoring")
    _ingest(service, "court_listings", _court_file(tmp_path / "w.csv", [(firm, "(2026)测执9号")]))
    now = dt.datetime.now(dt.UTC)
    down = alerts.deliver_due(service.store, now=now)  # nobody listening yet
    assert down["delivered"] == 0
    assert down["failed"] >= 1
    assert alerts.deliver_due(service.store, now=now + dt.timedelta(seconds=1))["failed"] == 0  # not due yet
    _Receiver.received = []
    server = http.server.HTTPServer(("127.0.0.1", port), _Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        later = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=6)
        up = alerts.deliver_due(service.store, now=later)
        assert up["delivered"] == down["failed"]
        assert alerts.deliver_due(service.store, now=later + dt.timedelta(hours=1)) == {"delivered": 0, "failed": 0}
    finally:
        server.shutdown()
    assert _Receiver.received
    for headers, body in _Receiver.received:
        assert len(headers["webhook-signature"].split(" ")) == 2  # one signature per live secret
        for secret in (old, new):  # the independent implementation accepts either secret
            payload = Webhook(secret).verify(body, headers)
            assert payload["data"]["alert_id"] == headers["webhook-id"]
        assert json.loads(body)["data"]["subject"] == firm  # a firm's code (public) — a person's would be masked
        assert set(json.loads(body)["data"]) == {"alert_id", "rule", "severity", "clearing", "subject", "link"}
    with service.store.engine.connect() as conn:
        pending = conn.execute(select(WEBHOOK_OUTBOX).where(WEBHOOK_OUTBOX.c.delivered_at.is_(None))).all()
    assert pending == []


def test_the_signature_as_sent_verifies_with_the_standard_library(service: GradingService) -> None:
    from standardwebhooks.webhooks import Webhook

    secret = alerts.new_secret()
    body = b'{"type":"alert.court_listing"}'
    stamp = int(dt.datetime.now(dt.UTC).timestamp())
    headers = {"webhook-id": "a1", "webhook-timestamp": str(stamp),
               "webhook-signature": alerts.sign([secret], "a1", stamp, body)}
    assert Webhook(secret).verify(body, headers) == {"type": "alert.court_listing"}
    with pytest.raises(Exception, match="signature"):
        Webhook(alerts.new_secret()).verify(body, headers)


def test_a_daily_summary_file(service: GradingService, tmp_path: Path) -> None:
    out = alerts.daily_summary(service.store, BANK.institution, dt.datetime.now(dt.UTC).date(), tmp_path / "d.csv")
    frame = pd.read_csv(out)
    assert len(frame) >= 1
    assert {"severity_zh", "text_zh", "subject_masked"} <= set(frame.columns)


def test_the_rules_are_validated_on_load(tmp_path: Path) -> None:
    from creditscore.errors import ConfigError

    bad = tmp_path / "alerts.yaml"
    bad.write_text("version: x\nrules:\n  - id: a\n    kind_of_rule: arrears_months\n    kind: utility_arrears\n"
                   "    severity: red\n    zh: 甲\n    en: a\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="months"):
        alerts.load_rules(bad)
    assert alerts.load_rules().rules


def test_a_portfolio_of_firms_is_watched_at_once(service: GradingService) -> None:
    bank = Caller(key_prefix="bank4", institution="组合银行", role=Role.BANK)
    firms = _firms(service)[40:45]
    heads = service.store.records("households")["head_id"]
    ids, refused = alerts.add_watches(service, bank, [*firms, "not a code", str(heads.iloc[0])],
                                      purpose="loan_monitoring")
    assert len(ids) == 5
    assert len(refused) == 2
    assert not any(str(heads.iloc[0]) in r for r in refused)  # a person's ID is masked even in a refusal
    assert set(alerts.list_watches(service.store, bank.institution)["subject_masked"]) == set(firms)
    audit = query_audit(service.store, institution=bank.institution)
    assert (audit["route"] == "watch_add").sum() == 5
    assert alerts.sweep(service) == 0  # the baseline was taken: nothing to say yet


def test_a_record_published_later_is_the_sweeps_to_find_on_its_day(service: GradingService, tmp_path: Path) -> None:
    firm = _firms(service)[60]
    watch = alerts.add_watch(service, BANK, firm, purpose="loan_monitoring")
    path = tmp_path / "later.csv"
    pd.DataFrame({"主体类型": ["enterprise"], "主体证件号码": [firm], "案号": ["(2026)测执公示1号"],
                  "列入日期": [(TODAY - dt.timedelta(days=1)).isoformat()],
                  "公示日期": [(TODAY + dt.timedelta(days=5)).isoformat()]}).to_csv(path, index=False)
    _ingest(service, "court_listings", path)
    assert [a for a in _alerts_of(service, watch) if a["rule"] == "court_listing"] == []  # not public yet
    alerts.sweep(service, as_of=TODAY + dt.timedelta(days=5))
    assert [a["rule"] for a in _alerts_of(service, watch) if a["rule"] == "court_listing"] == ["court_listing"]


def test_every_kind_of_rule_raises_on_its_change_and_only_then() -> None:
    """Tax grade drop (in the catalogue's order), arrears reaching N months and paid again, a grade below the
    watch's floor, a PD past its factor: each raises once on the change, nothing when the facts stand still."""
    rules = alerts.load_rules()
    grades = ["AAA", "AA", "A", "BBB", "BB", "B", "CCC"]
    watch = alerts.Watch(1, "银行", __import__("creditscore.records.subjects", fromlist=["Segment"]).Segment.SME,
                         "x", "x", "BBB", {})
    base = {"grade": "A", "pd": 0.01, "tax_grade": "B", "open": {}, "months": {"social_insurance_arrears": 1},
            "as_of": "2026-11-01"}
    assert alerts._changes(watch, base, dict(base), rules, grades) == []
    moved = {**base, "grade": "BB", "pd": 0.03, "tax_grade": "C", "months": {"social_insurance_arrears": 3},
             "as_of": "2026-11-02"}
    raised = {a["rule"]: a for a in alerts._changes(watch, base, moved, rules, grades)}
    assert set(raised) == {"grade_drop", "pd_rise", "tax_grade_drop", "social_insurance_arrears"}
    assert "B级降为C级" in raised["tax_grade_drop"]["text_zh"]
    better = {**moved, "tax_grade": "A", "months": {"social_insurance_arrears": 0}, "as_of": "2026-11-03"}
    back = alerts._changes(watch, moved, better, rules, grades)
    assert [(a["rule"], a["clearing"]) for a in back] == [("social_insurance_arrears", 1)]  # a rise is no alert
    assert alerts._changes(watch, {}, moved, rules, grades) == []  # no baseline, nothing to compare
