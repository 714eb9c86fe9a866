"""Commands for the store and the data: db, kinds, ingest, features, demo data, the demo."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, ProgressColumn, Task, TextColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from creditscore.cli.common import (
    _as_of,
    _store,
    app,
    console,
    db_app,
    err_console,
    friendly_errors,
)
from creditscore.records.contracts import KINDS, get_kind
from creditscore.records.subjects import Segment
from creditscore.settings import get_settings
from creditscore.store import IngestReport, Store, ingest_file
from creditscore.store.ingest import expected_rows


@db_app.command("init")
@friendly_errors
def db_init() -> None:
    """Create the store's tables, or upgrade them to the current schema."""
    store = _store()
    store.init()
    console.print(f"store ready: {store.engine.url.render_as_string(hide_password=True)}")


@db_app.command("status")
@friendly_errors
def db_status() -> None:
    """Rows per record kind."""
    store = _store()
    if not store.is_initialised():
        err_console.print("[bold red]error:[/] the store is not initialised; run: creditscore db init")
        raise typer.Exit(2)
    table = Table("kind", "记录类型", "rows", title="credit information store")
    for name, n in store.counts().items():
        table.add_row(name, KINDS[name].zh, f"{n:,}")
    console.print(table)


@app.command("kinds")
def kinds() -> None:
    """The record kinds the store accepts, with their columns (Chinese and English headers)."""
    for kind in KINDS.values():
        table = Table("column", "中文表头", "type", "required", title=f"{kind.name} — {kind.zh}", title_justify="left")
        for f in kind.fields:
            table.add_row(f.name, f.zh, f.type.value, "yes" if f.required else "")
        console.print(table)


def print_reports(reports: list[IngestReport]) -> None:
    table = Table("kind", "file", "read", "inserted", "duplicates", "rejected", "seconds", title="ingest")
    for r in reports:
        table.add_row(r.kind, Path(r.source).name, f"{r.rows_read:,}", f"{r.inserted:,}", f"{r.duplicates:,}",
                      f"[red]{r.rejected:,}[/]" if r.rejected else "0", f"{r.seconds:.1f}")
    console.print(table)
    for r in reports:
        for note in r.notes:
            console.print(f"{r.kind}: {note}", markup=False)
        if r.rejects_path:
            console.print(f"[yellow]{r.rejected:,} rejected row(s) of {r.kind}, with reasons:[/] {r.rejects_path}")


class RowsPerSecond(ProgressColumn):
    """Throughput in rows per second (rich's own speed column counts bytes)."""

    def render(self, task: Task) -> Text:
        return Text(f"{task.speed:>9,.0f} rows/s" if task.speed else "", style="progress.data.speed")


def ingest_with_progress(store: Store, kind: str, file: Path, rejects: Path | None = None,
                         today: dt.date | None = None) -> IngestReport:
    """Ingest one file with a rich progress bar (rows/s and time left when the size is known)."""
    total = expected_rows(file)
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                  RowsPerSecond(), TimeRemainingColumn(),
                  console=console, transient=True) as bar:
        task = bar.add_task(f"{kind} ← {file.name}", total=total)
        return ingest_file(store, kind, file, rejects_path=rejects, today=today,
                           chunk_rows=get_settings().ingest_chunk_rows,
                           progress=lambda n: bar.advance(task, n))


@app.command("ingest")
@friendly_errors
def ingest(
    kind: Annotated[str, typer.Argument(help=f"record kind: {', '.join(KINDS)}")],
    file: Annotated[Path, typer.Argument(help="CSV, XLSX or Parquet file with Chinese or English headers")],
    rejects: Annotated[Path | None, typer.Option(help="where to write rejected rows (default: FILE.rejects.csv)")]
    = None,
) -> None:
    """Validate a departmental file and add its good rows to the store (idempotent, atomic per file)."""
    import datetime as dt_

    get_kind(kind)
    store = _store()
    store.init()
    since = dt_.datetime.now(dt_.UTC) - dt_.timedelta(seconds=1)
    report = ingest_with_progress(store, kind, file, rejects)
    print_reports([report])
    from creditscore.service import alerts

    if report.inserted and alerts.any_watches(store):  # the watched subjects this file touched, and only those
        from creditscore.service.grading import GradingService

        raised = alerts.after_ingest(GradingService(store), kind, since)
        console.print(f"early warning: {raised} new alert(s) for watched subjects")


@app.command("features")
@friendly_errors
def features(
    segment: Annotated[Segment, typer.Option(help="sme (firms) or household", case_sensitive=False)] = Segment.SME,
    as_of: Annotated[str, typer.Option(help="as-of date (YYYY-MM-DD); default today")] = "",
    subject: Annotated[str | None, typer.Option(help="one USCC or resident ID: show its indicators")] = None,
    out: Annotated[Path | None, typer.Option(help="write every subject's indicators to .csv or .parquet")] = None,
) -> None:
    """Indicators as of a date, point in time: one subject's (a table) or everyone's (a file)."""
    import pandas as pd

    from creditscore.features import load_catalogue
    from creditscore.records.subjects import display_id
    from creditscore.store.features import features_from_store, subject_features

    catalogue = load_catalogue(segment)
    date = (_as_of(as_of) or dt.date.today()).isoformat()
    store = _store()
    store.init()
    if subject:
        row = subject_features(store, catalogue, subject, date).iloc[0]
        table = Table("indicator", "指标", "value", "unit", title=f"{display_id(row.name)} as of {date}")
        for ind in catalogue.indicators:
            value = row[ind.id]
            table.add_row(ind.id, ind.name_zh, "—" if pd.isna(value) else f"{value:,.4g}", ind.unit)
        console.print(table)
        return
    frame = features_from_store(store, catalogue, date)
    if out is None:
        console.print(frame.describe().T.to_string())
        return
    if out.suffix == ".parquet":
        frame.to_parquet(out)
    else:
        frame.to_csv(out)
    console.print(f"{len(frame):,} subjects × {frame.shape[1]} indicators as of {date} → {out}")



@app.command("demo-data")
@friendly_errors
def demo_data(
    firms: Annotated[int, typer.Option(help="number of enterprises")] = 3_000,
    households: Annotated[int, typer.Option(help="number of rural households")] = 4_000,
    seed: Annotated[int, typer.Option(help="random seed: same seed, same files")] = 20240630,
    out: Annotated[Path | None, typer.Option(help="folder for the feed files (default: DATA_DIR/feeds)")] = None,
    fmt: Annotated[str, typer.Option("--format", help="csv, parquet or xlsx")] = "csv",
    english: Annotated[bool, typer.Option("--english", help="English field names instead of Chinese headers")]
    = False,
    load: Annotated[bool, typer.Option(help="ingest the files into the store")] = True,
) -> None:
    """Generate a synthetic population with known ground truth, write its feeds, and ingest them."""
    from creditscore.synth import SynthConfig, generate

    folder = out or get_settings().data_dir / "feeds"
    with console.status(f"generating {firms:,} firms and {households:,} households…"):
        population = generate(SynthConfig(seed=seed, n_firms=firms, n_households=households))
        written = population.write_files(folder, fmt=fmt, chinese_headers=not english)
    n_files = sum(len(v) for v in written.values())
    console.print(f"wrote {n_files} feed files to {folder}")
    if load:
        _load(written)


def _load(written: dict[str, list[Path]]) -> None:
    from creditscore.synth.feeds import load_feeds

    store = _store()
    store.init()
    reports = load_feeds(store, written, ingest=ingest_with_progress)
    print_reports(reports)


@app.command("demo")
@friendly_errors
def demo() -> None:
    """The main job: an embedded store with demo data (generated and ingested on first run)."""
    store = _store()
    store.init()
    console.print(f"store: {store.engine.url.render_as_string(hide_password=True)}")
    if store.counts()["enterprises"] == 0:
        demo_data(firms=3_000, households=4_000, seed=20240630, out=None, fmt="csv", english=False, load=True)
    db_status()
    _demo_grades(store)


def _demo_grades(store: Store) -> None:
    """Grade everyone in the store with the served models: the path store → features → PD → grade."""
    import pandas as pd

    from creditscore.service.models import current_scorers
    from creditscore.store.features import features_from_store

    as_of = pd.Timestamp(store.latest_publication() or dt.date.today())
    scorers = current_scorers(store)
    for segment, title in ((Segment.SME, "企业 SMEs"), (Segment.HOUSEHOLD, "农户 households")):
        scorer = scorers[segment]
        bundle = scorer.bundle
        graded = bundle.predict(features_from_store(store, scorer.catalogue, as_of, policy=scorer.policy))
        counts = graded["grade"].value_counts().reindex(bundle.scale.names, fill_value=0)
        table = Table("grade", "subjects", "share", "mean PD",
                      title=f"{title}: grades as of {as_of.date()} ({bundle.family} bundle {bundle.version_label})")
        for grade, n in counts.items():
            mean_pd = graded.loc[graded["grade"] == grade, "pd"].mean()
            table.add_row(grade, f"{n:,}", f"{n / max(len(graded), 1):.1%}", "—" if n == 0 else f"{mean_pd:.2%}")
        console.print(table)
