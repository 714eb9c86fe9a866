"""Credit reports: sections, statuses and the dates records stop counting, PDF made properly, verification, and
recourse that grading the changed records keeps."""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from pypdf import PdfReader

from creditscore.features import compute_features
from creditscore.records.ids import mask_resident_id
from creditscore.records.subjects import Segment
from creditscore.service.grading import GradingService
from creditscore.service.keys import Caller, Role
from creditscore.service.objections import file_objection, resolve_objection
from creditscore.service.reports import (
    ACTIONS,
    apply_actions,
    build_report,
    issue,
    render_html,
    verify_document,
)
from creditscore.store import ingest_file
from tests.helpers import full_resident_ids, synthetic_service

AS_OF = dt.date(2024, 6, 30)
CALLER = Caller(key_prefix="test", institution="测试银行", role=Role.BANK)
SECTIONS = ["一、报告说明", "二、信用概要", "三、基本信息", "四、公共信用记录", "五、异议", "六、查询记录",
            "七、如何提升信用等级"]


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GradingService]:
    service = synthetic_service(tmp_path_factory.mktemp("reports"), seed=12, firms=300, households=300)
    yield service
    service.store.dispose()


def _issue(service: GradingService, subject: str, fmt: str = "pdf", **kw: object):
    return issue(service, subject, fmt=fmt, caller=CALLER, request_id="t", route="test report",
                 purpose=kw.pop("purpose", "loan_application"), as_of=kw.pop("as_of", AS_OF), **kw)


def _firm_with(service: GradingService, kind: str) -> str:
    return str(service.store.records(kind)["uscc"].iloc[0])


def _pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_a_firms_pdf_has_every_section_the_subject_the_grade_and_each_record(service: GradingService) -> None:
    uscc = _firm_with(service, "wage_arrears")
    issued = _issue(service, uscc)
    assert issued.document[:5] == b"%PDF-"
    text = _pdf_text(issued.document)
    squashed = re.sub(r"\s+", "", text)
    for title in SECTIONS:
        assert title in squashed, title
    content = issued.report.content
    assert uscc in squashed
    assert content["subject_name"]
    assert re.sub(r"\s+", "", content["subject_name"]) in squashed
    assert content["summary"]["final_grade"] in text
    assert issued.report.number in squashed
    for lines in content["records"].values():
        for line in lines:
            assert line["date"] in squashed, line
    reader = PdfReader(io.BytesIO(issued.document))
    assert f"共{len(reader.pages)}页" in squashed  # running footer: page n of m


def test_fonts_are_embedded(service: GradingService) -> None:
    issued = _issue(service, _firm_with(service, "penalties"))
    reader = PdfReader(io.BytesIO(issued.document))
    fonts = {}
    for page in reader.pages:
        for name, ref in (page["/Resources"].get("/Font") or {}).items():
            font = ref.get_object()
            descriptors = [font.get("/FontDescriptor")] + [
                d.get_object().get("/FontDescriptor") for d in font.get("/DescendantFonts", [])]
            fonts[name] = any(d is not None and any(k in d.get_object() for k in ("/FontFile", "/FontFile2",
                                                                                  "/FontFile3"))
                              for d in descriptors)
    assert fonts
    assert all(fonts.values()), fonts


def test_a_household_report_never_holds_the_full_id(service: GradingService) -> None:
    heads = service.store.records("households")["head_id"]
    head = str(heads[heads.str.len() == 18].iloc[0])
    with pytest.raises(Exception, match="authorisation"):
        _issue(service, head)
    issued = _issue(service, head, authorization_ref="SQ-2024-0001")
    html = render_html(issued.report)
    assert not full_resident_ids(html)
    assert not full_resident_ids(_pdf_text(issued.document))
    assert mask_resident_id(head) in html


def test_a_repaired_record_is_shown_repaired_and_not_counted_and_an_objected_one_is_flagged(
        service: GradingService, tmp_path: Path) -> None:
    store = service.store
    uscc = str(store.records("enterprises")["uscc"].iloc[11])
    path = tmp_path / "penalties.csv"
    pd.DataFrame({"统一社会信用代码": [uscc] * 3,
                  "行政处罚决定书文号": ["测罚〔2023〕1号", "测罚〔2023〕2号", "测罚〔2023〕3号"],
                  "处罚决定日期": ["2023-05-10", "2023-09-01", "2023-11-01"], "处罚机关": ["某市市场监督管理局"] * 3,
                  "处罚类别": ["一般"] * 3, "罚款金额": ["20000", "5000", "8000"],
                  "信用修复日期": ["2023-10-20", "", ""]}).to_csv(path, index=False)
    assert ingest_file(store, "penalties", path, today=AS_OF).inserted == 3
    second = store.records("penalties")
    key = str(second[second["decision_no"] == "测罚〔2023〕2号"]["record_key"].iloc[0])
    file_objection(store, "penalties", key, filed_by="企业", reason="处罚已撤销", filed_on=dt.date(2024, 6, 1))
    third = str(second[second["decision_no"] == "测罚〔2023〕3号"]["record_key"].iloc[0])
    answered = file_objection(store, "penalties", third, filed_by="企业", reason="主体错误",
                              filed_on=dt.date(2024, 3, 1))
    resolve_objection(store, answered.id, upheld=True, resolved_by="平台", resolved_on=dt.date(2024, 3, 15),
                      corrections={"severity": "轻微"})
    report = build_report(service, uscc, as_of=AS_OF, purpose="loan_application")
    lines = {line["text"].split("；")[0]: line for line in report.content["records"]["行政处罚"]}
    repaired = next(line for text, line in lines.items() if "1号" in text)
    objected = next(line for text, line in lines.items() if "2号" in text)
    assert repaired["status"] == "repaired"
    assert repaired["stops_counting"] is None
    assert objected["status"] == "under_objection"
    counted = sum(1 for line in report.content["records"]["行政处罚"] if line["status"] == "in_force")
    assert report.content["summary"]["counts"]["行政处罚"] == counted
    statuses = {o["filed_on"]: o["status"] for o in report.content["objections"]}
    assert statuses["2024-06-01"] == "处理中"
    assert statuses["2024-03-01"] == "异议成立，已更正"
    corrected = [line for text, line in lines.items() if "3号" in text]
    assert len(corrected) == 1
    assert corrected[0]["corrected"]  # shown as corrected; it counts as corrected while in force
    assert "已更正" in corrected[0]["status_zh"]
    html = render_html(report)
    assert "已修复，不计入" in html
    assert "异议处理中，不计入" in html


def test_a_record_in_force_says_when_it_stops_counting(service: GradingService) -> None:
    uscc = _firm_with(service, "wage_arrears")
    report = build_report(service, uscc, as_of=AS_OF, purpose="loan_application")
    in_force = [line for lines in report.content["records"].values() for line in lines
                if line["status"] == "in_force"]
    assert in_force
    for line in in_force:
        if line["stops_counting"]:
            assert line["stops_counting"] > AS_OF.isoformat()
    expiring = report.content["recourse"]["expiring"]
    assert [e["date"] for e in expiring] == sorted(e["date"] for e in expiring)


def test_the_same_records_date_and_versions_give_the_same_hash(service: GradingService) -> None:
    uscc = _firm_with(service, "penalties")
    a = build_report(service, uscc, as_of=AS_OF, purpose="loan_application")
    b = build_report(service, uscc, as_of=AS_OF, purpose="loan_application")
    assert a.number != b.number
    assert a.content_hash == b.content_hash
    other_day = build_report(service, uscc, as_of=AS_OF - dt.timedelta(days=400), purpose="loan_application")
    assert other_day.content_hash != a.content_hash


def test_verification_accepts_the_report_and_refuses_one_changed_character(service: GradingService) -> None:
    uscc = _firm_with(service, "penalties")
    html = _issue(service, uscc, fmt="html")
    pdf = _issue(service, uscc, fmt="pdf")
    assert verify_document(service.store, html.report.number, html.document).genuine
    assert verify_document(service.store, pdf.report.number, pdf.document).genuine
    text = html.document.decode()
    grade = html.report.content["summary"]["final_grade"]
    at = text.index(f'class="grade">{grade}')
    forged = (text[:at + 14] + ("A" if text[at + 14] != "A" else "B") + text[at + 15:]).encode()
    assert len(forged) == len(html.document)
    assert not verify_document(service.store, html.report.number, forged).genuine
    middle = len(pdf.document) // 2
    flipped = pdf.document[:middle] + bytes([pdf.document[middle] ^ 1]) + pdf.document[middle + 1:]
    assert not verify_document(service.store, pdf.report.number, flipped).genuine
    assert verify_document(service.store, html.report.number, content_hash=html.report.content_hash).genuine
    assert not verify_document(service.store, "CS20240630E0000000000", html.document).genuine


def _grade_of(service: GradingService, records: dict[str, pd.DataFrame], subject: str) -> tuple[str, float]:
    scorer = service.models.scorer(Segment.SME)
    features = compute_features(scorer.catalogue, records, AS_OF, service.policy, subjects=[subject])
    d = scorer.score(features, with_reasons=False).decisions
    return str(d["final_grade"].iloc[0]), float(d["pd"].iloc[0])


def test_recourse_the_suggested_changes_applied_to_the_records_give_the_promised_grade(
        service: GradingService) -> None:
    """For every firm with something to do, the promise is kept by grading the changed records — and only
    actions on the subject's own open records are ever suggested."""
    store = service.store
    grades = list(service.models.scorer(Segment.SME).scale.names)
    candidates = set()
    for kind in ("wage_arrears", "social_insurance_arrears", "market_listings", "court_listings"):
        frame = store.records(kind, as_of=AS_OF)  # firms founded later have no report on the date
        column = "uscc" if "uscc" in frame else "subject_id"
        candidates |= set(frame[column].astype(str))
    promised = 0
    for uscc in sorted(candidates)[:40]:
        if not uscc.startswith(("9", "1", "5", "Y")) or len(uscc) != 18:
            continue
        report = build_report(service, uscc, as_of=AS_OF, purpose="loan_application")
        r = report.content["recourse"]
        if not r["promised"]:
            continue
        promised += 1
        assert grades.index(r["promised"]) < grades.index(r["current"])  # at least one notch better
        chosen = [a for a in ACTIONS if a.id in {x["id"] for x in r["actions"]}]
        assert all(x["records"] > 0 for x in r["actions"])
        records = store.subject_records(uscc)
        grade, _ = _grade_of(service, apply_actions(records, chosen, pd.Timestamp(AS_OF)), uscc)
        assert grades.index(grade) <= grades.index(r["promised"]), (uscc, grade, r)
        before, _ = _grade_of(service, records, uscc)
        assert before == r["current"]
    assert promised >= 2  # the search found something to promise for several firms
