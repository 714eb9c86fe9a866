"""Request and response schemas, separate from the library's objects, with examples for /docs."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from creditscore.decisions.record import DecisionRecord, LoanTerms, Reason
from creditscore.policy import Policy


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    instance: str | None = None
    request_id: str | None = None
    problems: list[dict[str, Any]] | None = None


def _problem(description: str) -> dict[str, object]:
    return {"description": description, "content": {"application/problem+json": {"schema":
                                                                                  Problem.model_json_schema()}}}


#: The error responses every /v1 route may give, documented so integrators (and schemathesis) know them.
PROBLEMS: dict[int | str, dict[str, object]] = {
    400: _problem("the body is not valid JSON (or not a valid multipart form)"),
    401: _problem("missing, unknown or revoked API key"),
    403: _problem("the key's role may not do this, or the purpose or the person's authorisation is missing"),
    404: _problem("no such subject (or job) in the store"),
    409: _problem("a batch job's result asked for before it is done, or of a job that failed: the detail says why"),
    413: _problem("upload too large"),
    422: _problem("invalid identifier, records or parameters — the detail says which and why"),
    503: _problem("this worker is overloaded or the credit information store is out of reach (retry after the "
                  "Retry-After seconds), or the models cannot be used with the running catalogue"),
}


class Rule(BaseModel):
    id: str
    reason_zh: str
    reason_en: str


class GradeResponse(BaseModel):
    """A grade with everything needed to act on it and to explain it."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "request_id": "5f1c0b1f6a2b4d7f9d3c2a1b0e9f8d7c", "subject_id": "91410882MA44XXXXXX", "segment": "sme",
        "grade": "BBB", "model_grade": "BBB", "pd": 0.0142, "score": 631.4, "tax_grade": "B",
        "flags": {"court_listed_now": False, "wage_blacklisted_now": False}, "overrides": [], "red_list": [],
        "loan_terms": {"eligible": True, "credit_line_yuan": 500000, "rate_adjustment_bp": 0, "max_term_months": 12,
                       "basis": "taxes_multiple", "basis_zh": "额度为纳税信用等级对应倍数×上年实缴税额",
                       "basis_en": "line = the tax grade's multiple × taxes paid last year"},
        "reasons": [{"kind": "adverse", "rank": 1, "reason_code": "si_arrears_months_12m",
                     "indicator": "Months of social-insurance arrears, 12 months", "family":
                         "social_insurance_and_utilities", "contribution": 0.31, "value": 4,
                     "text_zh": "近12个月有4个月欠缴社会保险费",
                     "text_en": "social insurance unpaid for 4 of the last 12 months"}],
        "explanation": {"en": "Contributions are in log-odds of default …", "zh": "贡献值为违约对数几率 …"},
        "model_version": "sme-gbm-20261124103912", "policy_version": "2026.11-1", "catalogue_version": "2026.11-1",
        "data_as_of": "2025-12-31"}]})

    request_id: str
    subject_id: str = Field(description="USCC as given; a resident ID is masked (110105********002X)")
    segment: Literal["sme", "household"]
    grade: str = Field(description="final grade, after policy overrides")
    model_grade: str
    pd: float = Field(description="calibrated 12-month probability of default")
    score: float
    tax_grade: str | None = None
    flags: dict[str, bool]
    overrides: list[Rule]
    red_list: list[Rule]
    loan_terms: LoanTerms
    reasons: list[Reason]
    explanation: dict[str, str] = Field(description="what the contributions mean")
    model_version: str
    policy_version: str
    catalogue_version: str
    data_as_of: dt.date

    @classmethod
    def from_record(cls, record: DecisionRecord, *, request_id: str, policy: Policy) -> GradeResponse:
        """The response for a decision record (:class:`creditscore.decisions.record.DecisionRecord`), subject
        masked; the rules that applied with their reasons in words."""
        rules = {r.id: r for r in [*policy.overrides, *policy.red_list.rules]}

        def rule(rid: str) -> Rule:
            return Rule.model_construct(id=rid, reason_zh=rules[rid].reason.zh, reason_en=rules[rid].reason.en)

        return cls.model_construct(
            request_id=request_id, subject_id=record.segment.display(record.subject_id), segment=record.segment.value,
            grade=record.final_grade, model_grade=record.model_grade, pd=record.pd, score=record.score,
            tax_grade=record.tax_grade, flags=record.flags, overrides=[rule(r) for r in record.overrides],
            red_list=[rule(r) for r in record.red_list], loan_terms=record.loan_terms, reasons=record.reasons,
            explanation=record.meaning, model_version=record.model_version, policy_version=record.policy_version,
            catalogue_version=record.catalogue_version, data_as_of=dt.date.fromisoformat(record.data_as_of))


class InlineGradeRequest(BaseModel):
    """Grade from your own records: one subject, records by kind (Chinese or English column names)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "purpose": "loan_application", "as_of": "2024-06-30",
        "records": {
            "enterprises": [{"统一社会信用代码": "91350100M000100Y43", "企业名称": "福州某某贸易有限公司",
                             "成立日期": "2015-01-01", "行业门类": "F", "行政区划代码": "350100", "企业规模": "小型"}],
            "tax_grades": [{"uscc": "91350100M000100Y43", "year": 2023, "grade": "B"}],
            "penalties": [{"uscc": "91350100M000100Y43", "decision_no": "闽榕市监罚〔2024〕7号",
                           "decided_on": "2024-01-10", "authority": "福州市市场监督管理局", "severity": "一般",
                           "amount": "2万元"}]}}]})

    purpose: str | None = Field(None, max_length=200, description="why you query (agreed purpose) — required",
                                examples=["loan_application"])
    as_of: dt.date | None = Field(None, description="default: today")
    records: dict[str, list[dict[str, Any]]] = Field(description="record kind → rows (see `creditscore kinds`)")


class InlineHouseholdRequest(InlineGradeRequest):
    """Grade a household from your own records: the household's survey, and its other records by kind."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "purpose": "loan_application", "authorization_ref": "AUTH-2024-000123", "as_of": "2024-06-30",
        "records": {
            "households": [{"户主姓名": "王建国", "户主身份证号": "410882197503090017", "县区代码": "410882",
                            "县区": "沁阳市", "乡镇代码": "410882101", "乡镇": "王曲镇", "村代码": "410882101201",
                            "村": "东王村", "家庭人口": 4, "劳动力": 2, "承包地面积": "5.5", "家庭年收入": "6.8万元",
                            "家庭资产": "25万元", "家庭负债": "3万元", "村委会评价": "良好",
                            "采集日期": "2024-03-15"}],
            "utility_arrears": [{"subject_id": "410882197503090017", "utility": "电费", "month": "2024-01",
                                 "amount": "320元"}]}}]})

    authorization_ref: str | None = Field(None, max_length=200, examples=["AUTH-2024-000123"],
                                          description="reference of the person's written authorisation — required")


class ModelInfo(BaseModel):
    segment: str
    version: str
    family: str
    source: str
    catalogue_version: str
    catalogue_hash: str
    explainer: str | None
    metrics: dict[str, Any]
    training_windows: dict[str, Any]


class JobStatus(BaseModel):
    """A household batch: where it is, what it found, where its workbook and report are."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "job_id": "0f5c2e1a9b7d4c3e8a6f1d2b3c4e5f60", "status": "done", "rows": 60, "processed": 60, "scored": 50,
        "rejected": 10, "message": None, "created_at": "2026-12-01T06:00:00Z",
        "result_url": "http://127.0.0.1:8000/v1/jobs/0f5c2e1a9b7d4c3e8a6f1d2b3c4e5f60/result",
        "report_url": "http://127.0.0.1:8000/v1/jobs/0f5c2e1a9b7d4c3e8a6f1d2b3c4e5f60/report"}]})

    job_id: str
    status: Literal["queued", "running", "done", "failed", "expired"]
    rows: int | None = None
    processed: int = 0
    scored: int = 0
    rejected: int = 0
    message: str | None = None
    created_at: dt.datetime
    result_url: str | None = None
    report_url: str | None = Field(None, description="the printable HTML report, once done")
