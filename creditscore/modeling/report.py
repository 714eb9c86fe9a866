"""The evaluation report: JSON for machines, a self-contained HTML page with plots for the model committee.

Everything is measured on the out-of-time test date. Plots: ROC (each family, and
the oracle when the truth is known), the KS curve, the calibration curve,
grades with their observed default rates, and the score distribution at training
time against the test date (with its PSI).
"""

from __future__ import annotations

import html
import json
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.metrics import roc_curve

from creditscore.charts import png_base64
from creditscore.modeling.train import TrainResult

__all__ = ["global_importance", "report_dict", "report_plots", "write_report"]



def _importance(result: TrainResult, family: str) -> list[dict[str, object]]:
    bundle = result.families[family].bundle
    if bundle.booster is not None:
        gain = bundle.booster.feature_importance("gain")
        total = gain.sum() or 1.0
        pairs = sorted(zip(bundle.feature_names, gain / total, strict=True), key=lambda p: -p[1])
        return [{"indicator": k, "share_of_gain": float(v)} for k, v in pairs[:15]]
    sc = bundle.scorecard
    assert sc is not None
    spread = [float(np.ptp(np.asarray(b["woe"])) * abs(c)) if b["woe"] else 0.0 for b, c in zip(sc.bins_, sc.coef_,
                                                                                                 strict=True)]
    pairs = sorted(zip(bundle.feature_names, spread, strict=True), key=lambda p: -p[1])
    return [{"indicator": k, "log_odds_range": v} for k, v in pairs[:15]]


def global_importance(result: TrainResult, family: str, sample: int = 5_000) -> pd.DataFrame:
    """Mean |contribution| per indicator on the test date (TreeSHAP, or the scorecard's points)."""
    from creditscore.modeling.contributions import explain

    r = result.families[family]
    X = r.test_features.iloc[:sample]  # noqa: N806
    e = explain(r.bundle, X)
    mean_abs = np.abs(e.contributions).mean(axis=0)
    frame = pd.DataFrame({"indicator": e.feature_names, "mean_abs_contribution": mean_abs,
                          "family": [result.catalogue.by_id[f].family.value for f in e.feature_names]})
    return frame.sort_values("mean_abs_contribution", ascending=False, kind="stable").reset_index(drop=True)


def fairness(result: TrainResult) -> dict[str, object]:
    """The champion's treatment of groups on the test date (sex, age band, county; see
    :mod:`creditscore.modeling.fairness`): the table and the thresholds crossed, each with its action."""
    from creditscore.modeling.fairness import fairness_findings, fairness_table, load_fairness_config
    from creditscore.policy import load_policy

    config = load_fairness_config()
    terms = load_policy().loan_terms
    approved = list(getattr(terms, result.segment).eligible_grades) if terms is not None else []
    champ = result.families[result.champion]
    frame = result.test_frame
    table = fairness_table(frame["subject_id"], champ.test_pd, champ.bundle.scale.grade(champ.test_pd),
                           frame["default"].to_numpy(), segment=result.segment, as_of=result.dates["test"][0],
                           approved_grades=approved, config=config)
    findings = fairness_findings(table, overall_auc=champ.test["auc"], config=config)
    return {"family": result.champion, "as_of": result.dates["test"][0], "table": table,
            "findings": [f.model_dump() for f in findings]}


def report_dict(result: TrainResult) -> dict[str, object]:
    fams = {}
    for family, r in result.families.items():
        fams[family] = {"validation": r.validation, "test": r.test, "seconds": round(r.seconds, 2),
                        "grades": r.grades.to_dict(orient="records"), "importance": _importance(result, family),
                        "mean_abs_contribution": global_importance(result, family).to_dict(orient="records"),
                        "bundle_version": r.bundle.version_label}
    return {"segment": result.segment, "catalogue_version": result.catalogue.version,
            "catalogue_hash": result.catalogue.hash, "dates": result.dates, "champion": result.champion,
            "champion_rule": result.rule, "oracle": result.oracle, "families": fams,
            "fairness": _fairness_json(fairness(result))}


def _fairness_json(found: dict[str, object]) -> dict[str, object]:
    table = found["table"]
    return {**found, "table": json.loads(table.to_json(orient="records")) if len(table) else []}


def report_plots(result: TrainResult) -> dict[str, str]:
    """The out-of-time comparison charts (ROC, KS, calibration, …) as base64 PNGs by name."""
    frame = result.test_frame
    y = frame["default"].to_numpy()
    champ = result.families[result.champion]
    out = {}

    fig, ax = plt.subplots(figsize=(5, 4.2))
    for family in result.families:
        fpr, tpr, _ = roc_curve(y, frame[f"pd_{family}"])
        ax.plot(fpr, tpr, label=f"{family} (AUC {result.families[family].test['auc']:.3f})")
    if "true_pd" in frame and frame["true_pd"].notna().all():
        fpr, tpr, _ = roc_curve(y, frame["true_pd"])
        ax.plot(fpr, tpr, "k--", label=f"oracle (AUC {result.oracle['auc']:.3f})")
    ax.plot([0, 1], [0, 1], color="grey", lw=0.5)
    ax.set(xlabel="误报率 false positive rate", ylabel="命中率 true positive rate",
           title="ROC 曲线（跨期检验 out-of-time）")
    ax.legend(loc="lower right", fontsize=8)
    out["roc"] = png_base64(fig)

    fig, ax = plt.subplots(figsize=(5, 4.2))
    order = np.argsort(-champ.test_pd)
    cum_bad = np.cumsum(y[order]) / max(y.sum(), 1)
    cum_good = np.cumsum(1 - y[order]) / max((1 - y).sum(), 1)
    share = np.arange(1, len(y) + 1) / len(y)
    k = int(np.argmax(cum_bad - cum_good))
    ax.plot(share, cum_bad, label="违约 defaulters")
    ax.plot(share, cum_good, label="未违约 non-defaulters")
    ax.vlines(share[k], cum_good[k], cum_bad[k], colors="k", linestyles=":", label=f"KS {champ.test['ks']:.3f}")
    ax.set(xlabel="样本占比（风险由高到低）share, riskiest first", ylabel="累计占比 cumulative share",
           title=f"KS — {result.champion}")
    ax.legend(fontsize=8)
    out["ks"] = png_base64(fig)

    fig, ax = plt.subplots(figsize=(5, 4.2))
    for family, r in result.families.items():
        bins = pd.qcut(r.test_pd, 10, duplicates="drop")
        g = pd.DataFrame({"pd": r.test_pd, "y": y}).groupby(bins, observed=True).mean()
        ax.plot(g["pd"], g["y"], "o-", label=f"{family} (ECE {r.test['ece'] * 100:.2f} pp)")
    top = max(float(np.quantile(champ.test_pd, 0.99)), 0.05)
    ax.plot([0, top], [0, top], "k:", lw=1)
    ax.set(xlabel="平均预测违约概率（十分位）mean predicted PD", ylabel="实际违约率 observed rate",
           title="校准 calibration")
    ax.legend(fontsize=8)
    out["calibration"] = png_base64(fig)

    fig, ax = plt.subplots(figsize=(6, 4.2))
    g = champ.grades
    labels = list(g["grade"])
    ax.bar(labels, g["count"], color="#9ecae1")
    ax.set(ylabel="主体数 subjects", title=f"信用等级 grades — {result.champion}（跨期 out-of-time）")
    ax2 = ax.twinx()
    ax2.plot(labels, g["default_rate"] * 100, "o-", color="#d62728", label="实际违约率 observed default rate")
    ax2.plot(labels, g["mean_pd"] * 100, "x--", color="#555", label="平均违约概率 mean PD")
    ax2.set_ylabel("%")
    ax2.legend(fontsize=8, loc="upper left")
    out["grades"] = png_base64(fig)

    fig, ax = plt.subplots(figsize=(5, 4.2))
    scale = champ.bundle.scale.score
    ax.hist(scale.score(champ.train_pd), bins=40, alpha=0.5, density=True, label="训练期 training dates")
    ax.hist(scale.score(champ.test_pd), bins=40, alpha=0.5, density=True, label="检验期 test date")
    ax.set(xlabel="评分 score", title=f"评分稳定性 score stability — PSI {champ.test['psi_score_train_vs_test']:.3f}")
    ax.legend(fontsize=8)
    out["psi"] = png_base64(fig)
    return out


def _table(frame: pd.DataFrame) -> str:
    return frame.to_html(index=False, float_format=lambda v: f"{v:.4f}", border=0, classes="t")


def write_report(result: TrainResult, folder: str | Path) -> tuple[Path, Path]:
    """Write ``report.json`` and ``report.html`` into ``folder``; returns both paths."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    data = report_dict(result)
    json_path = out / "report.json"
    json_path.write_text(json.dumps(data, indent=1, ensure_ascii=False, default=float), encoding="utf-8")
    plots = report_plots(result)
    rows = []
    for family, r in result.families.items():
        rows.append({"family": family, **{k: r.test[k] for k in ("auc", "gini", "ks", "brier", "ece", "mean_pd",
                                                                 "default_rate", "psi_score_train_vs_test")},
                     "validation_auc": r.validation["auc"], "calibration": r.test["calibration"]})
    summary = pd.DataFrame(rows)
    oracle = (f"<p>Oracle (the generator's true PD) on the same test date: AUC {result.oracle['auc']:.4f}, "
              f"ECE {result.oracle['ece'] * 100:.2f} pp. "
              + " ".join(f"{f}: {r.test['auc_vs_oracle']:.1%} of the oracle AUC."
                         for f, r in result.families.items()) + "</p>") if result.oracle else ""
    imgs = "".join(f'<figure><img src="data:image/png;base64,{b}" alt="{k}"></figure>' for k, b in plots.items())
    grade_tables = "".join(f"<h3>{html.escape(f)}</h3>{_table(r.grades)}" for f, r in result.families.items())
    fair = data["fairness"]
    shown = pd.DataFrame(fair["table"]).drop(columns=["grade_mix"], errors="ignore")
    findings = "".join(f"<li><b>{html.escape(f['level'])}</b> {html.escape(f['message'])}<br>"
                       f"<i>{html.escape(f['action'])}</i></li>" for f in fair["findings"])
    fairness_html = (f"<p>{html.escape(fair['family'])} on {html.escape(fair['as_of'])}: sex and age band from the "
                     f"resident ID, county from the ID or USCC — never model inputs (PIPL art. 24). Thresholds: "
                     f"models/monitoring.yaml.</p>"
                     + (f"<ul>{findings}</ul>" if findings else "<p>No threshold crossed.</p>")
                     + (_table(shown) if len(shown) else ""))
    importance = "".join(f"<h3>{html.escape(f)}: mean |contribution| (log-odds), test date</h3>"
                         f"{_table(global_importance(result, f).head(15))}" for f in result.families)
    page = f"""<!doctype html><html lang="en"><meta charset="utf-8">
<title>creditscore — {result.segment} model report</title>
<style>body{{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}}
figure{{display:inline-block;margin:.3em}}img{{max-width:520px}}
table.t{{border-collapse:collapse;font-size:13px}}
table.t td,table.t th{{padding:3px 8px;border-bottom:1px solid #ddd;text-align:right}}
@media print{{figure{{page-break-inside:avoid}}}}</style>
<h1>{result.segment.upper()} model report</h1>
<p>Catalogue {html.escape(result.catalogue.version)} ({result.catalogue.hash[:12]}). Trained on
{", ".join(result.dates["train"])}; early stopping and calibration on {result.dates["validation"][0]};
tested out of time on {result.dates["test"][0]} (12-month default, 90+ days past due).</p>
<p><b>Champion: {html.escape(result.champion)}</b> — {html.escape(result.rule)}.</p>
<h2>Out-of-time performance</h2>{_table(summary)}{oracle}
<h2>Plots</h2>{imgs}
<h2>Grades on the test date</h2>{grade_tables}
<h2>What drives the models</h2>{importance}
<h2>Fairness 公平性</h2>{fairness_html}
</html>"""
    html_path = out / "report.html"
    html_path.write_text(page, encoding="utf-8")
    return json_path, html_path
