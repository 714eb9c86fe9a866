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
from creditscore.errors import CreditScoreError
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
    columns: Annotated[Path | None, typer.Option(
        help="column mapping (YAML: 'columns:' then 'header: field' lines) for a layout no rule recognises; "
             "the summary prints the mapping used in this format")] = None,
    village_code: Annotated[str | None, typer.Option(
        "--village-code", help="12-digit code of the village every row belongs to, when the file gives none")] = None,
    township: Annotated[str | None, typer.Option(
        help="the township the file's villages are in, to find them by name (e.g. 石门乡)")] = None,
    save_columns: Annotated[Path | None, typer.Option(
        "--save-columns", help="write the column mapping used to this file, to reuse with --columns")] = None,
) -> None:
    """Grade every household in FILE; write grades, village and township assessments, errors and a report.

    Every input row comes back: graded in the households sheet, or in the errors sheet with its row
    number, column and the reason in Chinese. Records already in the store for these households
    (court listings, arrears, loans) are used as known on the assessment date.
    """
    from creditscore.records.subjects import Segment
    from creditscore.records.vocabulary import load_mapping
    from creditscore.rural.batch import RosterOptions
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
    if columns is not None and not columns.is_file():
        raise typer.BadParameter(f"no such file: {columns.name}", param_hint="--columns")
    try:
        options = RosterOptions(columns=load_mapping(columns) if columns else None, village_code=village_code,
                                township=township)
    except CreditScoreError as exc:
        raise typer.BadParameter(str(exc), param_hint="--columns" if columns else "--village-code") from None
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
                                      progress=progress, options=options)
    result = outcome.result

    summary = Table(title=f"{mask_ids_in_text(file.name)} — as of {result.as_of}", show_header=False)
    summary.add_row("rows read", f"{result.rows:,}")
    summary.add_row("graded", f"{result.scored_rows:,}")
    summary.add_row("not graded (errors sheet)", f"{result.rejected_rows:,}")
    if result.skipped_lines:
        summary.add_row("not households (totals, notes…)", f"{result.skipped_lines:,}")
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
    for line in result.columns_read:
        console.print(f"[dim]column: {mask_ids_in_text(line)}[/]")
    for note in result.notes:
        console.print(f"[dim]note: {mask_ids_in_text(note)}[/]")
    mappings = list(dict.fromkeys(result.mappings.values()))
    console.print("[bold]column mapping used[/] (save it and pass --columns next time):")
    console.print(mask_ids_in_text(mappings[0]) if len(mappings) == 1 else "\n".join(
        f"# worksheet {sheet}\n{text}" for sheet, text in result.mappings.items()), markup=False, highlight=False)
    if save_columns is not None and mappings:
        save_columns.write_text(mappings[0], encoding="utf-8")
        console.print(f"written: {save_columns}")
    for path in [*outcome.written, outcome.report]:
        console.print(f"written: {mask_ids_in_text(str(path))}")


@households_app.command("sample")
@friendly_errors
def households_sample(
    out: Annotated[Path, typer.Option(help="where to write the sample workbook")]
    = Path("samples/石门乡农户信用评级登记表.xlsx"),
    villages: Annotated[int, typer.Option(min=1, max=50, help="villages (one sheet each)")] = 4,
    per_village: Annotated[int, typer.Option(min=15, max=5_000, help="households per village")] = 40,
) -> None:
    """Write a township's workbook as village committees fill one in, from the store's households.

    One sheet per village with a title line, a filler line, the committee's own headers, blank rows, a few
    rows a committee gets wrong, a totals line and signatures; a sheet of instructions; no village codes.
    Grade it with `creditscore households score` to see every part of a real file handled.
    """
    from creditscore.synth.rosters import write_township_workbook

    store = _store()
    store.init()
    households = store.records("households")
    if households.empty:
        raise typer.BadParameter("the store has no households: load the demo data first (creditscore demo-data)")
    out.parent.mkdir(parents=True, exist_ok=True)
    counts = write_township_workbook(households, out, villages=villages, per_village=per_village)
    console.print(f"written: {out} — {counts['villages']} village sheets, {counts['households']} households "
                  f"({counts['wrong']} with a committee's mistake), {counts['not_households']} totals and "
                  "signature lines, and an instructions sheet")
    console.print(f"grade it: creditscore households score {out} --authorization-ref DEMO-0001")
