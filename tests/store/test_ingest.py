"""Ingest into the store: validated, idempotent, atomic per file; and the store's queries."""

from __future__ import annotations

import csv
import datetime as dt
import random
from pathlib import Path

import pandas as pd
import pytest

from creditscore.errors import InvalidRecord, UnknownSubject
from creditscore.records.ids import generate_resident_id, generate_uscc
from creditscore.store import Store, ingest_file
from creditscore.store import ingest as ingest_module

TODAY = dt.date(2026, 6, 30)


def penalties_file(path: Path, n: int, *, bad_every: int = 0, seed: int = 1) -> Path:
    rng = random.Random(seed)
    firms = [generate_uscc(rng, division_code="410102") for _ in range(50)]
    frame = pd.DataFrame({
        "统一社会信用代码": [firms[i % 50] for i in range(n)],
        "行政处罚决定书文号": [f"郑市监罚〔2024〕{i}号" for i in range(n)],
        "处罚决定日期": [f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}" for i in range(n)],
        "处罚机关": ["郑州市市场监督管理局"] * n,
        "处罚类别": [["轻微", "一般", "严重"][i % 3] for i in range(n)],
        "罚款金额": [f"{(i % 50) * 100}" for i in range(n)],
    })
    if bad_every:
        frame.loc[::bad_every, "处罚决定日期"] = "2024-02-31"
    frame.to_csv(path, index=False)
    return path


def test_ingest_stores_good_rows_and_rejects_bad_ones_with_reasons(store: Store, tmp_path: Path) -> None:
    path = penalties_file(tmp_path / "p.csv", 1000, bad_every=100)
    report = ingest_file(store, "penalties", path, today=TODAY)
    assert (report.rows_read, report.inserted, report.rejected, report.duplicates) == (1000, 990, 10, 0)
    with open(report.rejects_path, encoding="utf-8-sig") as fh:
        rejects = list(csv.DictReader(fh))
    assert [int(r["row"]) for r in rejects] == list(range(2, 1002, 100))
    assert all(r["column"] == "处罚决定日期" and r["reason"].startswith("not a date") for r in rejects)
    assert store.counts()["penalties"] == 990


def test_second_ingest_of_the_same_file_adds_nothing(store: Store, tmp_path: Path) -> None:
    path = penalties_file(tmp_path / "p.csv", 500)
    first = ingest_file(store, "penalties", path, today=TODAY)
    second = ingest_file(store, "penalties", path, today=TODAY, chunk_rows=77)
    assert first.inserted == 500
    assert (second.inserted, second.duplicates) == (0, 500)
    assert store.counts()["penalties"] == 500


def test_duplicate_rows_within_a_file_are_counted_once(store: Store, tmp_path: Path) -> None:
    path = penalties_file(tmp_path / "p.csv", 100)
    frame = pd.read_csv(path, dtype=str)
    pd.concat([frame, frame.iloc[:30]]).to_csv(path, index=False)
    report = ingest_file(store, "penalties", path, today=TODAY, chunk_rows=40)
    assert (report.rows_read, report.inserted, report.duplicates) == (130, 100, 30)


def test_crash_mid_file_leaves_the_store_unchanged(store: Store, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    path = penalties_file(tmp_path / "p.csv", 300)
    real = ingest_module.insert_records
    calls = {"n": 0}

    def failing(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("disk full")
        return real(*args, **kwargs)

    monkeypatch.setattr(ingest_module, "insert_records", failing)
    with pytest.raises(RuntimeError, match="disk full"):
        ingest_file(store, "penalties", path, today=TODAY, chunk_rows=100)
    assert store.counts()["penalties"] == 0
    monkeypatch.setattr(ingest_module, "insert_records", real)
    assert ingest_file(store, "penalties", path, today=TODAY).inserted == 300


def test_file_missing_a_required_column_is_refused_whole(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    pd.DataFrame({"统一社会信用代码": ["91350100M000100Y43"]}).to_csv(path, index=False)
    with pytest.raises(InvalidRecord, match="required column"):
        ingest_file(store, "penalties", path)
    assert store.counts()["penalties"] == 0


def test_xlsx_and_parquet_ingest(store: Store, tmp_path: Path) -> None:
    frame = pd.read_csv(penalties_file(tmp_path / "p.csv", 60), dtype=str)
    frame.iloc[:30].to_excel(tmp_path / "p.xlsx", index=False)
    frame.iloc[30:].to_parquet(tmp_path / "p.parquet")
    assert ingest_file(store, "penalties", tmp_path / "p.xlsx", today=TODAY).inserted == 30
    assert ingest_file(store, "penalties", tmp_path / "p.parquet", today=TODAY).inserted == 30


def test_records_as_of_uses_publication_date(store: Store, tmp_path: Path, uscc: str) -> None:
    path = tmp_path / "t.csv"
    pd.DataFrame({"统一社会信用代码": [uscc, uscc], "评价年度": ["2022", "2023"], "纳税信用等级": ["B", "A"],
                  "发布日期": ["2023-04-20", "2024-04-20"]}).to_csv(path, index=False)
    ingest_file(store, "tax_grades", path, today=TODAY)
    assert list(store.records("tax_grades", as_of=dt.date(2024, 4, 19))["grade"]) == ["B"]
    assert sorted(store.records("tax_grades", as_of=dt.date(2024, 4, 20))["grade"]) == ["A", "B"]
    assert len(store.records("tax_grades")) == 2


def test_subject_records_gathers_every_kind(store: Store, tmp_path: Path, uscc: str, resident_id: str) -> None:
    pd.DataFrame({"统一社会信用代码": [uscc], "企业名称": ["沁阳市某某机械有限公司"], "成立日期": ["2015-06-01"],
                  "行业门类": ["C"], "行政区划代码": ["410882"], "企业规模": ["小型"]}).to_csv(tmp_path / "e.csv",
                                                                                           index=False)
    pd.DataFrame({"证件号码": [uscc, resident_id], "案号": ["(2024)豫0882执1号", "(2024)豫0882执2号"],
                  "列入日期": ["2024-01-02", "2024-01-03"]}).to_csv(tmp_path / "c.csv", index=False)
    pd.DataFrame({"记录类型": ["court_listings"], "记录标识": [f"{uscc}|(2024)豫0882执1号"],
                  "异议提出日期": ["2024-02-01"], "处理状态": ["处理中"]}).to_csv(tmp_path / "o.csv", index=False)
    for kind, name in [("enterprises", "e.csv"), ("court_listings", "c.csv"), ("objections", "o.csv")]:
        assert ingest_file(store, kind, tmp_path / name, today=TODAY).inserted >= 1
    records = store.subject_records(uscc.lower())
    assert records["enterprises"].iloc[0]["size_class"] == "small"
    assert list(records["court_listings"]["case_no"]) == ["(2024)豫0882执1号"]
    assert list(records["objections"]["status"]) == ["pending"]
    assert "households" not in records
    household = store.subject_records(resident_id)
    assert list(household["court_listings"]["subject_type"]) == ["household"]
    with pytest.raises(UnknownSubject, match="no enterprise"):
        store.subject_records(generate_uscc(random.Random(99), division_code="410882"))


def test_ingest_log_records_each_file(store: Store, tmp_path: Path) -> None:
    from sqlalchemy import select

    from creditscore.store.tables import INGEST_LOG

    path = penalties_file(tmp_path / "p.csv", 20)
    ingest_file(store, "penalties", path, today=TODAY)
    ingest_file(store, "penalties", path, today=TODAY)
    with store.engine.connect() as conn:
        rows = conn.execute(select(INGEST_LOG.c.inserted, INGEST_LOG.c.duplicates, INGEST_LOG.c.sha256)).all()
    assert [(r.inserted, r.duplicates) for r in rows] == [(20, 0), (0, 20)]
    assert rows[0].sha256 == rows[1].sha256


@pytest.mark.parametrize(("header", "cell", "yuan"), [
    ("罚款金额", "5000", 5_000), ("罚款金额（元）", "5000", 5_000), ("罚款金额(万元)", "0.5", 5_000),
    ("罚款金额/万元", "0.5", 5_000), ("罚款金额（千元）", "5", 5_000), ("罚款金额（万元）", "5000元", 5_000),
])
def test_a_header_unit_is_applied_by_ingest_as_by_every_door(store: Store, tmp_path: Path, header: str,
                                                              cell: str, yuan: int) -> None:
    """One header vocabulary for every door: 罚款金额(万元) = 0.5 is 5,000 yuan, never 0.5 yuan (the contract's own
    alias once carried the unit and ingest dropped it); a cell that names its unit keeps it."""
    path = penalties_file(tmp_path / "p.csv", 1)
    frame = pd.read_csv(path, dtype=str).rename(columns={"罚款金额": header})
    frame[header] = cell
    frame.to_csv(path, index=False)
    report = ingest_file(store, "penalties", path, today=TODAY)
    assert report.inserted == 1
    assert store.records("penalties")["amount"].iloc[0] == yuan * 100  # the store keeps fen
    scaled = "万" in header or "千" in header
    assert any("as its header says" in n for n in report.notes) == scaled


def test_ingest_reads_a_committee_file_with_a_title_line_and_its_own_headers(store: Store, tmp_path: Path) -> None:
    """`creditscore ingest households` reads headers as the household batch does: a title line above them,
    户主 / 负债(元) / 年收入（万元）, a column nobody asked for listed as not read."""
    rng = random.Random(5)
    ids = [generate_resident_id(rng, birth_date=dt.date(1970 + i, 3, 9), division_code="410102", sex="M")
           for i in range(3)]
    lines = ["石门乡李家沟村2025年农户信息采集表,,,,,,,,,,,,,,",
             "序号,户主,身份证号,人口,劳动力,年收入（万元）,家庭资产(元),负债(元),县区代码,县区,乡镇代码,乡镇,村代码,村,"
             "采集日期,联系电话,养殖规模"]
    for i, head in enumerate(ids):
        lines.append(f"{i + 1},户主{i},{head},4,2,3.5,200000,10000,410102,中原区,410102001,石门乡,410102001001,"
                     f"李家沟村,2025-03-01,13800000000,10头")
    path = tmp_path / "李家沟村.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = ingest_file(store, "households", path, today=TODAY)
    assert (report.rows_read, report.inserted, report.rejected) == (3, 3, 0)
    stored = store.records("households")
    assert (stored["annual_income"] == 35_000 * 100).all()  # 3.5 in a 万元 column; the store keeps fen
    assert (stored["liabilities"] == 10_000 * 100).all()
    assert any("养殖规模" in n for n in report.notes)
