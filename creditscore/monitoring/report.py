"""The monitoring report as files: JSON for schedulers and dashboards, HTML with charts for the committee."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib as mpl

mpl.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from jinja2 import Environment, PackageLoader

from creditscore.charts import style, svg
from creditscore.features.catalogue import load_catalogue
from creditscore.monitoring.checks import MonitoringConfig, MonitoringReport, load_monitoring_config

__all__ = ["write_monitoring_report"]


def _score_chart(report: MonitoringReport) -> str:
    fig, ax = plt.subplots(figsize=(6.5, 3.2))
    ref, cur = report.scores["reference"], report.scores["current"]
    bins = np.histogram_bin_edges(np.concatenate([ref, cur]), bins=40)
    ax.hist(ref, bins=bins, density=True, alpha=0.5, label=f"参照 reference (n={len(ref):,})", color="#5b8def")
    ax.hist(cur, bins=bins, density=True, alpha=0.5, label=f"当期 current (n={len(cur):,})", color="#e57373")
    ax.set_xlabel("评分 score")
    ax.set_title(f"评分分布 score distribution — PSI {report.score_psi:.3f}")
    ax.legend(frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    return svg(fig)


def _csi_chart(report: MonitoringReport, config: MonitoringConfig) -> str:
    top = report.csi.head(15)
    fig, ax = plt.subplots(figsize=(6.5, 0.3 * len(top) + 1))
    colours = ["#c62828" if lv == "alert" else "#f9a825" if lv == "warn" else "#5b8def" for lv in top["level"]]
    names = load_catalogue(report.segment).by_id
    labels = [names[i].name_zh if i in names else i for i in top["indicator"]]
    ax.barh(labels[::-1], top["csi"][::-1], color=colours[::-1])
    for x, line in ((config.stability.csi.warn, ":"), (config.stability.csi.alert, "--")):
        ax.axvline(x, color="#555", linestyle=line, linewidth=1)
    ax.set_xlabel("指标稳定性 CSI（点线：关注 warn，虚线：预警 alert）")
    ax.spines[["top", "right"]].set_visible(False)
    return svg(fig)


def _backtest_chart(report: MonitoringReport) -> str:
    bt = report.backtest[(report.backtest["grade"] != "all") & (report.backtest["count"] > 0)]
    fig, ax = plt.subplots(figsize=(6.5, 3.2))
    x = np.arange(len(bt))
    rate = bt["observed_rate"].to_numpy(dtype=float)
    low = np.clip(rate - bt["ci_low"].to_numpy(dtype=float), 0, None)
    high = np.clip(bt["ci_high"].to_numpy(dtype=float) - rate, 0, None)
    ax.errorbar(x, np.maximum(rate, 1e-4), yerr=[low, high], fmt="o", color="#333", capsize=4,
                label="实际违约率及区间 observed rate and interval")
    ax.scatter(x, bt["mean_pd"], marker="_", s=400, color="#c62828", label="平均预测违约概率 mean predicted PD",
               zorder=3)
    ax.set_yscale("log")
    ax.set_xticks(x, bt["grade"])
    ax.set_ylabel("12个月违约率 12-month default rate")
    ax.legend(frameon=False, fontsize=8)
    ax.spines[["top", "right"]].set_visible(False)
    return svg(fig)


def write_monitoring_report(report: MonitoringReport, folder: str | Path, *,
                            config: MonitoringConfig | None = None) -> tuple[Path, Path]:
    """Write ``monitoring-<segment>-<date>.json`` and ``.html`` into ``folder``; returns both paths."""
    config = config or load_monitoring_config()
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    stem = f"monitoring-{report.segment}-{report.current_date.isoformat()}"
    json_path = out / f"{stem}.json"
    json_path.write_text(json.dumps(report.to_dict(), indent=1, ensure_ascii=False, default=float), encoding="utf-8")
    with style():
        charts = {"score": _score_chart(report), "csi": _csi_chart(report, config)}
        if report.backtest is not None:
            charts["backtest"] = _backtest_chart(report)
    env = Environment(loader=PackageLoader("creditscore", "templates"), autoescape=True)
    page = env.get_template("monitoring_report.html.j2").render(r=report, charts=charts, config=config)
    html_path = out / f"{stem}.html"
    html_path.write_text(page, encoding="utf-8")
    return json_path, html_path
