"""The ``creditscore`` command line (Typer).

Commands are thin: they parse arguments, call the library and print. Errors of the
library's family are shown as one red line and exit code 2, never a traceback.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, ProgressColumn, Task, TextColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from creditscore.errors import CreditScoreError
from creditscore.schema import KINDS, get_kind
from creditscore.settings import get_settings
from creditscore.store import IngestReport, Store, ingest_file
from creditscore.store.ingest import expected_rows

app = typer.Typer(help="Credit grades for small firms and rural households from public credit records.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
db_app = typer.Typer(help="The credit information store.", no_args_is_help=True)
app.add_typer(db_app, name="db")

console = Console()
err_console = Console(stderr=True)
F = TypeVar("F", bound=Callable[..., object])


def friendly_errors(fn: F) -> F:
    """Turn the library's errors into one readable line and exit code 2."""

    @functools.wraps(fn)
    def wrapper(*args: object, **kwargs: object) -> object:
        try:
            return fn(*args, **kwargs)
        except CreditScoreError as exc:
            err_console.print(f"[bold red]error:[/] {exc}")
            raise typer.Exit(2) from None

    return wrapper  # type: ignore[return-value]


def _store() -> Store:
    return Store.from_settings()


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
    get_kind(kind)
    store = _store()
    store.init()
    report = ingest_with_progress(store, kind, file, rejects)
    print_reports([report])


@app.command("features")
@friendly_errors
def features(
    segment: Annotated[str, typer.Option(help="sme or household")] = "sme",
    as_of: Annotated[str, typer.Option(help="as-of date (YYYY-MM-DD); default today")] = "",
    subject: Annotated[str | None, typer.Option(help="one USCC or resident ID: show its indicators")] = None,
    out: Annotated[Path | None, typer.Option(help="write every subject's indicators to .csv or .parquet")] = None,
) -> None:
    """Indicators as of a date, point in time: one subject's (a table) or everyone's (a file)."""
    import pandas as pd

    from creditscore.features import features_from_store, load_catalogue, subject_features

    catalogue = load_catalogue(segment)
    date = as_of or dt.date.today().isoformat()
    store = _store()
    if subject:
        row = subject_features(store, catalogue, subject, date).iloc[0]
        table = Table("indicator", "指标", "value", "unit", title=f"{row.name} as of {date}")
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


@app.command("train")
@friendly_errors
def train(
    segment: Annotated[str, typer.Option(help="sme or household")] = "sme",
    source: Annotated[str, typer.Option(help="store (the credit information store) or synthetic (a generated "
                                              "population, with the oracle AUC in the report)")] = "store",
    families: Annotated[str, typer.Option(help="comma-separated: gbm, scorecard, additive")] = "gbm,scorecard",
    firms: Annotated[int, typer.Option(help="synthetic source: firms")] = 30_000,
    households: Annotated[int, typer.Option(help="synthetic source: households")] = 30_000,
    seed: Annotated[int, typer.Option(help="synthetic source: seed")] = 7,
    register: Annotated[bool, typer.Option(help="log to MLflow and register the bundles")] = True,
    export: Annotated[Path | None, typer.Option(help="also copy the champion bundle here (e.g. models/demo/sme)")]
    = None,
) -> None:
    """Train both model families out of time, report, save bundles, register them and mark the champion."""
    import shutil

    import pandas as pd

    from creditscore.features import load_catalogue, store_records
    from creditscore.modeling.report import write_report
    from creditscore.modeling.train import observation_dates, train_segment

    settings = get_settings()
    catalogue = load_catalogue(segment)
    truth = None
    with console.status(f"reading records ({source})…"):
        if source == "synthetic":
            from creditscore.synth import SynthConfig, generate

            population = generate(SynthConfig(seed=seed, n_firms=firms, n_households=households))
            records, dates = population.tables, population.observation_dates()
            truth = population.true_pd
        elif source == "store":
            store = _store()
            records = store_records(store, catalogue)
            dates = observation_dates(records)
        else:
            raise typer.BadParameter("source must be store or synthetic")
    with console.status(f"training {segment} on {len(dates)} observation dates…"):
        result = train_segment(records, segment, dates, families=families.split(","), catalogue=catalogue,
                               truth=truth)
    stamp = pd.Timestamp.now(tz="UTC").strftime("%Y%m%d-%H%M%S")
    root = settings.data_dir / "models" / segment / stamp
    bundle_dirs = {f: r.bundle.save(root / f) for f, r in result.families.items()}
    report_json, report_html = write_report(result, settings.data_dir / "reports" / segment / stamp)
    table = Table("family", "val AUC", "test AUC", "KS", "ECE (pp)", "vs oracle", "seconds",
                  title=f"{segment}: train {', '.join(result.dates['train'])} · validate "
                        f"{result.dates['validation'][0]} · test {result.dates['test'][0]}")
    for f, r in result.families.items():
        ratio = f"{r.test['auc_vs_oracle']:.1%}" if "auc_vs_oracle" in r.test else "—"
        table.add_row(("★ " if f == result.champion else "") + f, f"{r.validation['auc']:.4f}",
                      f"{r.test['auc']:.4f}", f"{r.test['ks']:.3f}", f"{r.test['ece'] * 100:.2f}", ratio,
                      f"{r.seconds:.1f}")
    console.print(table)
    if result.oracle:
        console.print(f"oracle AUC on the test date: {result.oracle['auc']:.4f}")
    console.print(f"champion: [bold]{result.champion}[/] — {result.rule}")
    console.print(f"bundles: {root}\nreport: {report_html}")
    if export is not None:
        if export.exists():
            shutil.rmtree(export)
        shutil.copytree(bundle_dirs[result.champion], export)
        console.print(f"champion bundle copied to {export}")
    if register:
        from creditscore.registry import log_training

        with console.status("logging to MLflow…"):
            logged = log_training(result, bundle_dirs, report_json.parent)
        for f, entry in logged.items():
            console.print(f"MLflow: {f} run {entry['run_id']}"
                          + (f", registered version {entry['version']} as @{entry['alias']}" if "version" in entry
                             else ""))


@app.command("promote")
@friendly_errors
def promote(
    segment: Annotated[str, typer.Option(help="sme or household")],
    version: Annotated[int, typer.Option(help="registered model version to promote")],
    alias: Annotated[str, typer.Option(help="registry alias")] = "champion",
) -> None:
    """Point a registry alias (default: champion) at a registered model version."""
    from creditscore.registry import model_name
    from creditscore.registry import promote as do_promote

    do_promote(segment, version, alias)
    console.print(f"{model_name(segment)}@{alias} → version {version}")


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
    """Grade everyone in the store with the shipped demo bundles: the path store → features → PD → grade."""
    import pandas as pd

    from creditscore.features import features_from_store, load_catalogue
    from creditscore.modeling.bundle import DEMO_BUNDLES, ModelBundle

    as_of = pd.Timestamp(store.latest_publication() or dt.date.today())
    for segment, title in (("sme", "企业 SMEs"), ("household", "农户 households")):
        catalogue = load_catalogue(segment)
        bundle = ModelBundle.load(DEMO_BUNDLES / segment, catalogue=catalogue)
        graded = bundle.predict(features_from_store(store, catalogue, as_of))
        counts = graded["grade"].value_counts().reindex(bundle.scale.names, fill_value=0)
        table = Table("grade", "subjects", "share", "mean PD",
                      title=f"{title}: grades as of {as_of.date()} ({bundle.family} bundle {bundle.version_label})")
        for grade, n in counts.items():
            mean_pd = graded.loc[graded["grade"] == grade, "pd"].mean()
            table.add_row(grade, f"{n:,}", f"{n / max(len(graded), 1):.1%}", "—" if n == 0 else f"{mean_pd:.2%}")
        console.print(table)


if __name__ == "__main__":  # pragma: no cover
    app()
