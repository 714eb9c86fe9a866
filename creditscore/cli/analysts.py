"""Commands for risk analysts: ``creditscore monitor``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from creditscore.cli.common import _as_of, _store, app, console, friendly_errors
from creditscore.records.subjects import Segment


@app.command("monitor")
@friendly_errors
def monitor(
    segment: Annotated[Segment, typer.Option(help="sme (firms) or household", case_sensitive=False)] = Segment.SME,
    date: Annotated[str, typer.Option(help="the date to monitor (YYYY-MM-DD); default: a year before the "
                                            "store's latest data, so that outcomes can be back-tested")] = "",
    reference: Annotated[str, typer.Option(help="reference dates, comma-separated; default: the model's "
                                                "training dates")] = "",
    previous: Annotated[str, typer.Option(help="earlier date for the migration matrix; default: a year before")]
    = "",
    model: Annotated[str, typer.Option(help="default: the model being served; or registry (the @champion), demo, "
                                            "or a folder with one bundle per segment (as CREDITSCORE_MODEL_SOURCE)")]
    = "",
    out: Annotated[Path, typer.Option(help="folder for the JSON and HTML reports")] = Path("monitoring"),
    fail_on_alert: Annotated[bool, typer.Option(help="exit with code 1 when an alert fires (for schedulers)")]
    = False,
    thresholds: Annotated[Path | None, typer.Option(help="a thresholds file like models/monitoring.yaml (the "
                                                          "default): a committee's own limits")] = None,
) -> None:
    """PSI of score and grades, CSI per indicator, grade migration, back-testing and alerts; JSON + HTML."""
    import pandas as pd

    from creditscore.decisions.scorer import load_scorer, resolve_ref
    from creditscore.monitoring.checks import load_monitoring_config, monitor_store
    from creditscore.monitoring.report import write_monitoring_report
    from creditscore.service.models import current_scorers

    segment_ = Segment.of(segment)
    config = load_monitoring_config(thresholds)  # before the store: a wrong file is refused at once
    store = _store()
    store.init()
    scorer = load_scorer(segment_, ref=resolve_ref(segment_, model)) if model else current_scorers(store)[segment_]
    console.print(f"[dim]model {scorer.version} ({scorer.ref})[/]")
    if date:
        when = pd.Timestamp(_as_of(date))
    else:
        latest = store.latest_publication()
        if latest is None:
            raise typer.BadParameter("the store is empty: load data first (creditscore demo-data)")
        when = pd.Timestamp(latest.year - 1, 6, 30) if latest.month >= 7 else pd.Timestamp(latest.year - 2, 6, 30)
    with console.status(f"monitoring {segment} on {when.date()}…"):
        report = monitor_store(store, scorer, when,
                               reference_dates=[d for d in reference.split(",") if d] or None,
                               previous_date=previous or None, config=config)
        json_path, html_path = write_monitoring_report(report, out)
    summary = Table(title=f"{segment} model monitoring — {report.current_date}", show_header=False)
    summary.add_row("model", report.model_version)
    summary.add_row("current / reference", f"{report.current_count:,} / {report.reference_count:,}")
    summary.add_row("score PSI / grade PSI", f"{report.score_psi:.3f} / {report.grade_psi:.3f}")
    top = report.csi.iloc[0]
    summary.add_row("largest CSI", f"{top['indicator']} {top['csi']:.3f}")
    if report.discrimination:
        summary.add_row("AUC", f"{report.discrimination['auc']:.3f}")
    if report.backtest is not None:
        verdicts = report.backtest[report.backtest["grade"] != "all"]["verdict"].value_counts()
        summary.add_row("back-test", ", ".join(f"{n} {v}" for v, n in verdicts.items()))
    else:
        summary.add_row("back-test", report.backtest_note)
    console.print(summary)
    for a in report.alerts:  # each with what to do about it: an alert without its action is half a message
        colour = "red" if a.level == "alert" else "yellow"
        console.print(f"[{colour}]{a.level}[/] {a.check}: {escape(a.message)}")
        console.print(f"  [dim]action:[/] {escape(a.action)}")
    if not report.alerts:
        console.print("[green]no threshold crossed[/]")
    console.print(f"written: {json_path}\nwritten: {html_path}")
    if fail_on_alert and any(a.level == "alert" for a in report.alerts):
        raise typer.Exit(1)
