"""Commands for village assessors: ``creditscore households score FILE``."""

from __future__ import annotations

import datetime as dt
import getpass
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn
from rich.table import Table

from creditscore.cli.common import _as_of, _store, app, console, friendly_errors
from creditscore.records.ids import mask_ids_in_text

households_app = typer.Typer(help="Household (农户) files from village assessors.", no_args_is_help=True)
app.add_typer(households_app, name="households")


def _default_out(path: Path) -> Path:
    return path.with_name(f"{path.stem}-评级结果.xlsx")


@households_app.command("score")
@friendly_errors
def households_score(
    file: Annotated[Path, typer.Argument(help="the households: .xlsx, .csv or .parquet; Chinese or English headers")],
    authorization_ref: Annotated[str, typer.Option(
        "--authorization-ref", help="reference of the households' signed authorisations (授权书编号)")],
    purpose: Annotated[str, typer.Option(help="why the households' credit data are queried")]
    = "信用村评定 credit village assessment",
    as_of: Annotated[str, typer.Option(help="assessment date (YYYY-MM-DD); default: today")] = "",
    out: Annotated[Path | None, typer.Option(help="output .xlsx, .csv or .parquet (default: <file>-评级结果.xlsx)")]
    = None,
    report: Annotated[Path | None, typer.Option(help="printable HTML report (default: next to the output)")] = None,
    header_row: Annotated[int | None, typer.Option(help="row of the headers, if not found by itself")] = None,
    sheet: Annotated[list[str] | None, typer.Option(help="worksheet to read (repeat for several); default: every "
                                                         "sheet with household columns")] = None,
    chunk_rows: Annotated[int, typer.Option(help="rows graded at a time (memory follows it)")] = 50_000,
) -> None:
    """Grade every household in FILE; write grades, village and township assessments, errors and a report.

    Every input row comes back: graded in the households sheet, or in the errors sheet with its row
    number, column and the reason in Chinese. Records already in the store for these households
    (court listings, arrears, loans) are used as known on the assessment date.
    """
    from creditscore.records.subjects import Segment
    from creditscore.service.jobs import BatchQuery, run_household_batch
    from creditscore.service.keys import Caller, Role
    from creditscore.service.models import current_scorers

    if len(authorization_ref.strip()) < 4:
        raise typer.BadParameter("give the reference of the households' authorisations",
                                 param_hint="--authorization-ref")
    if len(purpose.strip()) < 2:
        raise typer.BadParameter("say why the households' credit data are queried", param_hint="--purpose")
    if not file.is_file():
        raise typer.BadParameter(f"no such file: {file.name}", param_hint="FILE")
    date = _as_of(as_of) or dt.date.today()
    target = out or _default_out(file)
    store = _store()
    store.init()
    scorer = current_scorers(store)[Segment.HOUSEHOLD]
    caller = Caller(key_prefix="cli", institution=f"cli:{getpass.getuser()}", role=Role.ASSESSOR)
    query = BatchQuery(caller, purpose.strip(), authorization_ref.strip(), "cli households score")
    columns = (TextColumn("[bold]grading"), BarColumn(), MofNCompleteColumn(), TaskProgressColumn(),
               TextColumn("{task.fields[rate]} rows/s"), TextColumn("ETA"), TimeRemainingColumn())
    with Progress(*columns, console=console, transient=False) as bar:
        task = bar.add_task("rows", total=None, rate="—")
        started = dt.datetime.now()

        def progress(done: int, total: int | None) -> None:
            seconds = max((dt.datetime.now() - started).total_seconds(), 1e-6)
            bar.update(task, completed=done, total=total, rate=f"{done / seconds:,.0f}")

        outcome = run_household_batch(store, scorer, file, query, out=target,
                                      report=report or target.with_suffix(".html"), source=file.name, as_of=date,
                                      header_row=header_row, chunk_rows=chunk_rows, sheets=sheet or None,
                                      progress=progress)
    result = outcome.result

    summary = Table(title=f"{mask_ids_in_text(file.name)} — as of {result.as_of}", show_header=False)
    summary.add_row("rows read", f"{result.rows:,}")
    summary.add_row("graded", f"{result.scored_rows:,}")
    summary.add_row("not graded (errors sheet)", f"{result.rejected_rows:,}")
    counts = result.households["grade"].value_counts() if result.scored_rows else {}
    for grade in [g for g in result.grades if g in counts]:  # the scale's order, best first
        summary.add_row(f"  {grade}", f"{counts[grade]:,}")
    if len(result.villages):
        summary.add_row("credit villages (信用村)",
                        f"{int(result.villages['credit_village'].sum())} of {len(result.villages)}")
        summary.add_row("credit townships (信用乡镇)",
                        f"{int(result.townships['credit_township'].sum())} of {len(result.townships)}")
    summary.add_row("time", f"{result.seconds:,.1f} s ({result.rows / max(result.seconds, 1e-9):,.0f} rows/s)")
    summary.add_row("model / policy", f"{result.model_version} / {result.policy_version}")
    console.print(summary)
    for note in result.notes:
        console.print(f"[dim]note: {note}[/]")
    for path in [*outcome.written, outcome.report]:
        console.print(f"written: {mask_ids_in_text(str(path))}")
