"""An objection's whole life against the store: file → flagged → excluded → answered → re-scored."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from creditscore.decisions.scoring import score
from creditscore.errors import InvalidRecord
from creditscore.features import load_catalogue
from creditscore.modeling.bundle import DEMO_BUNDLES, ModelBundle
from creditscore.policy import Policy
from creditscore.service.objections import ObjectionError, file_objection, list_objections, resolve_objection
from creditscore.store import Store, ingest_file
from creditscore.store.features import subject_features

FIRM = "91350100M000100Y43"
KEY = f"{FIRM}|闽榕市监罚〔2024〕7号"
AS_OF = dt.date(2024, 6, 30)


@pytest.fixture
def firm_store(store: Store, tmp_path: Path) -> Store:
    pd.DataFrame({"统一社会信用代码": [FIRM], "企业名称": ["福州某某贸易有限公司"], "成立日期": ["2015-01-01"],
                  "行业门类": ["F"], "行政区划代码": ["350100"], "企业规模": ["小型"]}).to_csv(tmp_path / "e.csv",
                                                                                       index=False)
    pd.DataFrame({"统一社会信用代码": [FIRM, FIRM], "评价年度": ["2022", "2023"], "纳税信用等级": ["B", "B"]}
                 ).to_csv(tmp_path / "t.csv", index=False)
    pd.DataFrame({"统一社会信用代码": [FIRM], "行政处罚决定书文号": ["闽榕市监罚〔2024〕7号"],
                  "处罚决定日期": ["2024-01-10"], "处罚机关": ["福州市市场监督管理局"], "处罚类别": ["严重"],
                  "罚款金额": ["20万元"]}
                 ).to_csv(tmp_path / "p.csv", index=False)
    for kind, name in (("enterprises", "e.csv"), ("tax_grades", "t.csv"), ("penalties", "p.csv")):
        ingest_file(store, kind, tmp_path / name, today=dt.date(2026, 6, 30))
    return store


def _grade(store: Store, policy: Policy, as_of: dt.date = AS_OF) -> tuple[float, pd.Series]:
    catalogue = load_catalogue("sme")
    features = subject_features(store, catalogue, FIRM, as_of, policy=policy)
    bundle = ModelBundle.load(DEMO_BUNDLES / "sme", catalogue=catalogue)
    decision = score(bundle, features, catalogue=catalogue, policy=policy).decisions.iloc[0]
    return features.iloc[0]["penalties_serious_36m"], decision


def test_objection_full_life_upheld_and_removed(firm_store: Store, policy: Policy) -> None:
    before, graded_before = _grade(firm_store, policy)
    assert before == 1

    filed = file_objection(firm_store, "penalties", KEY, filed_by="法定代表人", reason="处罚已被撤销",
                           filed_on=dt.date(2024, 6, 1), policy=policy)
    assert filed.deadline == dt.date(2024, 6, 21)
    flagged, graded_flagged = _grade(firm_store, policy)
    assert flagged == 0  # flagged at once: left out while verified
    assert graded_flagged["pd"] < graded_before["pd"]
    assert _grade(firm_store, policy, dt.date(2024, 5, 31))[0] == 1  # the day before it was filed

    assert list(list_objections(firm_store, overdue_on=dt.date(2024, 6, 22), policy=policy)["id"]) == [filed.id]
    assert list_objections(firm_store, overdue_on=dt.date(2024, 6, 21), policy=policy).empty

    action = resolve_objection(firm_store, filed.id, upheld=True, resolved_by="信用中心 李四", remove=True,
                               resolved_on=dt.date(2024, 6, 15))
    assert action == "upheld: record removed"
    after, graded_after = _grade(firm_store, policy)
    assert after == 0
    assert firm_store.records("penalties").empty
    assert graded_after["pd"] == pytest.approx(graded_flagged["pd"])
    answered = list_objections(firm_store, policy=policy).iloc[0]
    assert answered["status"] == "upheld"
    assert answered["resolved_by"].startswith("信用中心 李四")
    assert answered["resolved_on"] == pd.Timestamp("2024-06-15")


def test_rejected_objection_lets_the_record_count_again(firm_store: Store, policy: Policy) -> None:
    filed = file_objection(firm_store, "penalties", KEY, filed_by="x", reason="y", filed_on=dt.date(2024, 6, 1))
    resolve_objection(firm_store, filed.id, upheld=False, resolved_by="审核员", resolved_on=dt.date(2024, 6, 10))
    assert _grade(firm_store, policy)[0] == 1


def test_upheld_objection_can_correct_the_record(firm_store: Store, policy: Policy) -> None:
    filed = file_objection(firm_store, "penalties", KEY, filed_by="x", reason="类别有误", filed_on=dt.date(2024, 6, 1))
    action = resolve_objection(firm_store, filed.id, upheld=True, resolved_by="审核员", resolved_on=dt.date(2024, 6, 5),
                               corrections={"severity": "一般", "amount": "2万元"})
    assert "corrected" in action
    record = firm_store.records("penalties").iloc[0]
    assert (record["severity"], record["amount"]) == ("general", 2_000_000)
    catalogue = load_catalogue("sme")
    row = subject_features(firm_store, catalogue, FIRM, AS_OF, policy=policy).iloc[0]
    assert (row["penalties_serious_36m"], row["penalties_general_24m"]) == (0, 1)


def test_objection_errors_say_what_is_wrong(firm_store: Store) -> None:
    with pytest.raises(ObjectionError, match="no penalties record"):
        file_objection(firm_store, "penalties", f"{FIRM}|nope", filed_by="x", reason="y")
    filed = file_objection(firm_store, "penalties", KEY, filed_by="x", reason="y", filed_on=dt.date(2024, 6, 1))
    with pytest.raises(ObjectionError, match="already has a pending objection"):
        file_objection(firm_store, "penalties", KEY, filed_by="x", reason="y")
    with pytest.raises(ObjectionError, match="either removes the record or corrects it"):
        resolve_objection(firm_store, filed.id, upheld=True, resolved_by="z")
    with pytest.raises(ObjectionError, match="identify the record"):
        resolve_objection(firm_store, filed.id, upheld=True, resolved_by="z", corrections={"decision_no": "x"})
    with pytest.raises(InvalidRecord, match="not one of"):
        resolve_objection(firm_store, filed.id, upheld=True, resolved_by="z", corrections={"severity": "很重"})
    resolve_objection(firm_store, filed.id, upheld=False, resolved_by="z")
    with pytest.raises(ObjectionError, match="already answered"):
        resolve_objection(firm_store, filed.id, upheld=False, resolved_by="z")
    with pytest.raises(ObjectionError, match="not enterprises"):
        file_objection(firm_store, "enterprises", FIRM, filed_by="x", reason="y")


def test_objection_commands(firm_store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    from creditscore.cli import app

    monkeypatch.setenv("CREDITSCORE_DATABASE_URL", firm_store.url)
    runner = CliRunner()
    filed = runner.invoke(app, ["objection", "file", "penalties", KEY, "--by", "本人", "--reason", "不实"])
    assert filed.exit_code == 0, filed.output
    assert "answer due by" in filed.output
    listed = runner.invoke(app, ["objection", "list"])
    assert "pending" in listed.output
    answered = runner.invoke(app, ["objection", "resolve", "1", "--by", "审核员", "--upheld", "--set", "amount=1000"])
    assert answered.exit_code == 0, answered.output
    assert "corrected" in answered.output
    graded = runner.invoke(app, ["grade", FIRM, "--as-of", "2024-06-30"])
    assert graded.exit_code == 0, graded.output
    assert "grade" in graded.output


def test_a_record_can_be_objected_to_again_the_day_its_objection_was_rejected(tmp_path) -> None:
    """Found by the personal-data property test: the second objection of a day collided with the first (a 500)."""
    from creditscore.service.objections import file_objection, resolve_objection
    from creditscore.store import Store
    from creditscore.synth import SynthConfig, generate
    from creditscore.synth.feeds import load_feeds

    store = Store(f"sqlite:///{tmp_path / 'o.db'}")
    store.init()
    load_feeds(store, generate(SynthConfig(seed=3, n_firms=20, n_households=5)).write_files(tmp_path / "feeds"))
    key = store.records("penalties").iloc[0]["record_key"]
    first = file_objection(store, "penalties", key, filed_by="法定代表人", reason="已撤销")
    resolve_objection(store, first.id, upheld=False, resolved_by="信用中心")
    second = file_objection(store, "penalties", key, filed_by="法定代表人", reason="补充材料")
    assert second.id != first.id
    assert second.filed_on == first.filed_on
