"""Grades answered together: each subject's answer is its own, every query has its own audit line."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import math
import sqlite3

import pytest
from pydantic import BaseModel
from sqlalchemy import create_engine
from sqlalchemy.exc import OperationalError

from api.batching import GradeBatcher, Pending
from api.schemas import GradeResponse
from creditscore.errors import CreditScoreError, InvalidCode, UnknownSubject
from creditscore.records.ids import mask_resident_id
from creditscore.service.audit import audit_entry, logged_decision, query_audit
from creditscore.service.grading import GradeQuery, GradingService
from creditscore.service.keys import Caller, Role
from creditscore.settings import Settings
from creditscore.store import Store
from creditscore.store.audit_chain import decode_decision
from tests.api.conftest import a_firm, a_household

UNKNOWN_FIRM = "91350100M000100Y43"  # valid, not in the store
CALLER = Caller(key_prefix="cs_batchtest", institution="batch test bank", role=Role.BANK)


@pytest.fixture(scope="module")
def service(api_settings: Settings) -> GradingService:
    return GradingService(Store(api_settings.store_url), settings=api_settings)


def _same(a: object, b: object) -> bool:
    """Equal, floats to 1e-12: a contribution summed in another order may differ in its last bit."""
    if isinstance(a, BaseModel) and isinstance(b, BaseModel):
        return type(a) is type(b) and _same(a.model_dump(), b.model_dump())
    if isinstance(a, dict) and isinstance(b, dict):
        keys = (a.keys() | b.keys()) - {"decided_at"}
        return all(_same(a.get(k), b.get(k)) for k in keys)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12) or (math.isnan(a) and math.isnan(b))
    return a == b


def _queries(store: Store) -> list[GradeQuery]:
    firms = list(store.records("enterprises")["uscc"].iloc[:4])
    return [
        GradeQuery(firms[0], None, "sme"),
        GradeQuery("91350100M000100Y4X", None, "sme"),  # wrong check character
        GradeQuery(firms[1], dt.date(2023, 6, 30), "sme"),  # another as-of date: another group
        GradeQuery(UNKNOWN_FIRM, None, "sme"),
        GradeQuery(a_household(store), dt.date(2024, 6, 30), "household"),
        GradeQuery(firms[0].lower(), None, "sme"),  # the same firm twice, as typed differently
        GradeQuery(a_household(store), None, "sme"),  # a resident ID on the firm route
        GradeQuery(firms[2], dt.date(2023, 6, 30), None),  # segment from the identifier
        GradeQuery(firms[3], None, "sme"),
    ]


def test_grade_many_gives_each_subject_what_it_gets_alone(service: GradingService, store: Store) -> None:
    queries = _queries(store)
    together = service.grade_many(queries)
    assert len(together) == len(queries)
    for query, got in zip(queries, together, strict=True):
        if isinstance(got, CreditScoreError):
            with pytest.raises(type(got)) as alone_error:
                service.grade(query.subject_id, as_of=query.as_of, expected=query.expected)
            assert str(alone_error.value) == str(got), query
            continue
        alone = service.grade(query.subject_id, as_of=query.as_of, expected=query.expected)
        assert _same(got, alone), query
    kinds = ["error" if isinstance(r, InvalidCode) else "unknown" if isinstance(r, UnknownSubject) else r.segment
             for r in together]
    assert kinds == ["sme", "error", "sme", "unknown", "household", "sme", "error", "sme", "sme"]
    assert together[0].subject_id == together[5].subject_id
    assert together[2].as_of == "2023-06-30"
    assert together[0].as_of == dt.date.today().isoformat()


def _pending(queries: list[GradeQuery], tag: str) -> list[Pending]:
    return [Pending(q, CALLER, f"{tag}-{i}", "enterprise_grade" if q.expected != "household" else "household_grade",
                    "batch_test", "AUTH-0001" if q.expected == "household" else None) for i, q in enumerate(queries)]


async def _gather(batcher: GradeBatcher, pending: list[Pending], cancel: int | None = None) -> list[object]:
    tasks = [asyncio.create_task(batcher.grade(p)) for p in pending]
    await asyncio.sleep(0)  # every request is queued…
    if cancel is not None:
        tasks[cancel].cancel()  # …and one client goes away before it is answered
    return await asyncio.gather(*tasks, return_exceptions=True)


@pytest.mark.parametrize("in_thread", [False, True], ids=["on-the-loop", "in-a-thread"])
def test_concurrent_requests_are_graded_in_one_batch_and_each_is_audited(service: GradingService, store: Store,
                                                                        in_thread: bool) -> None:
    queries = _queries(store)
    tag = f"together{int(in_thread)}"
    pending = _pending(queries, tag)
    batcher = GradeBatcher(service, in_thread=in_thread)
    try:
        outcomes = asyncio.run(_gather(batcher, pending, cancel=8))
    finally:
        batcher.close()
    assert (batcher.batches, batcher.graded) == (1, len(queries))
    alone = service.grade_many(queries)
    for p, outcome, expected in zip(pending, outcomes, alone, strict=True):
        if p.request_id == f"{tag}-8":
            assert isinstance(outcome, asyncio.CancelledError)
        elif isinstance(expected, CreditScoreError):
            assert type(outcome) is type(expected)
            assert str(outcome) == str(expected)
        else:
            body = json.loads(outcome.body)
            assert body["request_id"] == p.request_id
            wanted = GradeResponse.from_record(expected, request_id=p.request_id, policy=service.policy)
            assert _same(body, json.loads(wanted.model_dump_json()))
    log = query_audit(store, institution=CALLER.institution)
    mine = log[log["request_id"].str.startswith(f"{tag}-")].set_index("request_id")
    mine.index = mine.index.str.replace(tag, "together")
    assert len(mine) == len(queries)  # the cancelled query was made: it is logged too
    assert mine.loc["together-0", "status"] == 200
    assert mine.loc["together-0", "result_grade"] == alone[0].final_grade
    logged = logged_decision(store, int(mine.loc["together-0", "id"]))
    assert [r["rank"] for r in logged["reasons"]] == [r.rank for r in alone[0].reasons]
    assert all(type(r["rank"]) is int for r in logged["reasons"])  # numbers, not "1"
    assert mine.loc["together-1", "status"] == 422
    assert mine.loc["together-3", "status"] == 404
    assert mine.loc["together-4", "subject_masked"] == mask_resident_id(queries[4].subject_id)
    # a resident ID sent to the firm route is masked in the log all the same
    assert mine.loc["together-6", "subject_masked"] == mask_resident_id(queries[6].subject_id)
    assert not any(str(q.subject_id) in " ".join(map(str, mine["subject_masked"])) for q in queries
                   if q.subject_id.isdigit())


def test_batches_are_bounded(service: GradingService, store: Store) -> None:
    firm = a_firm(store)
    batcher = GradeBatcher(service, batch_max=5)
    try:
        outcomes = asyncio.run(_gather(batcher, _pending([GradeQuery(firm, None, "sme")] * 12, "bounded")))
    finally:
        batcher.close()
    assert (batcher.batches, batcher.graded) == (3, 12)
    assert len({json.loads(o.body)["pd"] for o in outcomes}) == 1


def test_a_failing_store_fails_the_batch_but_still_logs_it(service: GradingService, store: Store,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(queries: list[GradeQuery]) -> list[object]:
        raise OSError("disk I/O error")

    batcher = GradeBatcher(service)
    monkeypatch.setattr(service, "grade_many", broken)
    try:
        outcomes = asyncio.run(_gather(batcher, _pending([GradeQuery(a_firm(store), None, "sme")] * 3, "broken")))
    finally:
        batcher.close()
    assert all(isinstance(o, OSError) for o in outcomes)
    log = query_audit(store, institution=CALLER.institution)
    assert list(log.loc[log["request_id"].str.startswith("broken-"), "status"]) == [500, 500, 500]


def test_errors_keep_their_kind(service: GradingService) -> None:
    [bad, unknown] = service.grade_many([GradeQuery("91350100M000100Y4X", None, "sme"),
                                         GradeQuery(UNKNOWN_FIRM, None, "sme")])
    assert isinstance(bad, InvalidCode)
    assert isinstance(unknown, UnknownSubject)
    assert str(unknown) == "no enterprise with identifier 91350100M000100Y43 in the store"


def test_the_logged_decision_is_strict_json_with_the_subject_masked(service: GradingService, store: Store) -> None:
    head = a_household(store)
    record = service.grade(head, expected="household")
    record = record.model_copy(update={"score": float("nan"),
                                       "reasons": [record.reasons[0].model_copy(update={"value": float("nan")})]})
    entry = audit_entry(caller=CALLER, request_id="strict", route="household_grade", status=200, subject_id=head,
                        subject_type="household", decision=record)

    def refuse(constant: str) -> None:
        raise AssertionError(f"{constant} is not JSON")

    logged = json.loads(decode_decision(entry["decision_z"]), parse_constant=refuse)
    assert logged["score"] is None
    assert logged["reasons"][0]["value"] is None
    assert logged["subject_id"] == entry["subject_masked"] == mask_resident_id(head)
    assert head not in decode_decision(entry["decision_z"])


def test_past_the_queue_bound_a_request_is_refused_at_once(service: GradingService, store: Store) -> None:
    batcher = GradeBatcher(service, queue_max=3)
    pending = _pending([GradeQuery(a_firm(store), None, "sme")] * 5, "shed")
    try:
        outcomes = asyncio.run(_gather(batcher, pending))
    finally:
        batcher.close()
    assert [type(o).__name__ for o in outcomes] == ["Response"] * 3 + ["Overloaded"] * 2
    log = query_audit(store, institution=CALLER.institution)
    assert sorted(log.loc[log["request_id"].str.startswith("shed-"), "request_id"]) == ["shed-0", "shed-1", "shed-2"]


def test_an_overloaded_worker_answers_503_with_retry_after(client, store: Store, keys: dict[str, str],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(client.app.state.grader, "queue_max", 0)
    r = client.get(f"/v1/enterprises/{a_firm(store)}/grade", params={"purpose": "x1"},
                   headers={"X-API-Key": keys["bank"]})
    assert r.status_code == 503
    assert r.headers["Retry-After"] == "1"
    assert r.headers["content-type"] == "application/problem+json"
    assert "retry" in r.json()["detail"]


def test_a_store_out_of_reach_is_503_with_retry_after_not_500(client, keys: dict[str, str], tmp_path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """The database down or unreachable: a caller should retry, not file a bug — even at the key check."""
    service = client.app.state.service
    monkeypatch.setattr(service.store, "engine", create_engine(f"sqlite:///{tmp_path}/no/such/folder/x.db"))
    r = client.get(f"/v1/enterprises/{UNKNOWN_FIRM}/grade", params={"purpose": "x1"},
                   headers={"X-API-Key": keys["bank"]})
    assert r.status_code == 503, r.text
    assert r.headers["Retry-After"] == "5"
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["title"] == "store unavailable"
    assert "sqlite" not in r.text
    assert str(tmp_path) not in r.text


@pytest.mark.parametrize(("driver_says", "status"), [("database is locked", 503), ("no such table: households", 500)])
def test_a_store_failing_mid_batch_is_503_only_when_retrying_can_help(
        client, store: Store, keys: dict[str, str], monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture, driver_says: str, status: int) -> None:
    """A locked store: 503, one masked warning line. SQLite calls a missing table an OperationalError too, but
    "retry shortly" would send the caller round in circles: that one is a 500, logged as the bug it is.
    Either way the query is in the audit log and the resident ID is nowhere in full."""
    head = a_household(store)

    def failing(queries: list[GradeQuery]) -> list[object]:
        raise OperationalError("SELECT * FROM households WHERE head_id = ?", (head,),
                               sqlite3.OperationalError(driver_says))

    monkeypatch.setattr(client.app.state.service, "grade_many", failing)
    reference = f"AUTH-{status}"
    with caplog.at_level(logging.WARNING, logger="creditscore.api"):
        r = client.get(f"/v1/households/{head}/grade", params={"purpose": "x1", "authorization_ref": reference},
                       headers={"X-API-Key": keys["assessor"]})
    assert r.status_code == status, r.text
    if status == 503:
        assert [m.getMessage() for m in caplog.records] == [f"store unavailable (OperationalError): {driver_says}"]
    else:
        assert [m.levelname for m in caplog.records] == ["ERROR"]
        assert driver_says in caplog.text
    assert head not in r.text
    assert head not in caplog.text
    log = query_audit(store, institution="assessor institution")
    assert list(log.loc[log["authorization_ref"] == reference, "status"]) == [status]
