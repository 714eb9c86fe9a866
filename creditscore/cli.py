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


def _segment_of(subject: str) -> str:
    from creditscore.errors import InvalidCode
    from creditscore.ids import validate_resident_id

    try:
        validate_resident_id(subject)
        return "household"
    except InvalidCode:
        return "sme"


@app.command("grade")
@friendly_errors
def grade(
    subject: Annotated[str, typer.Argument(help="USCC of a firm or resident ID of a household head")],
    as_of: Annotated[str, typer.Option(help="as-of date (YYYY-MM-DD); default: the store's latest data")] = "",
    model: Annotated[Path | None, typer.Option(help="model bundle folder (default: the shipped demo bundle)")]
    = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the decision record as JSON")] = False,
) -> None:
    """Grade one subject from the store: PD, grade, policy overrides, 信易贷 terms and the reasons why."""
    import json

    import pandas as pd

    from creditscore.features import load_catalogue, subject_features
    from creditscore.ids import mask_resident_id
    from creditscore.modeling.bundle import DEMO_BUNDLES, ModelBundle
    from creditscore.policy import load_policy
    from creditscore.scoring import decision_record, score

    segment = _segment_of(subject)
    store = _store()
    date = pd.Timestamp(as_of or store.latest_publication() or dt.date.today())
    catalogue, policy = load_catalogue(segment), load_policy()
    bundle = ModelBundle.load(model or DEMO_BUNDLES / segment, catalogue=catalogue)
    features = subject_features(store, catalogue, subject, date, policy=policy)
    scored = score(bundle, features, catalogue=catalogue, policy=policy)
    record = decision_record(scored, features.index[0], as_of=date, segment=segment)
    shown = record["subject_id"] if segment == "sme" else mask_resident_id(record["subject_id"])
    if as_json:
        console.print_json(json.dumps({**record, "subject_id": shown}, ensure_ascii=False, default=str))
        return
    terms = record["loan_terms"]
    console.print(f"[bold]{shown}[/] as of {date.date()}: grade [bold]{record['final_grade']}[/] "
                  f"(model {record['model_grade']}), PD {record['pd']:.2%}, score {record['score']:.1f}")
    for rule in record["overrides"] + record["red_list"]:
        found = next((r for r in [*policy.overrides, *policy.red_list.rules] if r.id == rule), None)
        if found is not None:
            console.print(f"  rule {rule}: {found.reason.zh} / {found.reason.en}")
    if terms["eligible"]:
        console.print(f"  信易贷: line {terms['credit_line_yuan']:,.0f} yuan, "
                      f"rate {terms['rate_adjustment_bp']:+d} bp, up to {terms['max_term_months']} months — "
                      f"{terms['basis_zh']} / {terms['basis_en']}")
    else:
        console.print(f"  信易贷: not eligible — {terms['basis_zh']} / {terms['basis_en']}")
    table = Table("", "reason", "原因", "log-odds", title="why (contributions to the log-odds of default)")
    for r in record["reasons"]:
        table.add_row("▲" if r["kind"] == "adverse" else "▼", r["text_en"], r["text_zh"], f"{r['contribution']:+.3f}")
    console.print(table)
    console.print(f"model {record['model_version']} · policy {record['policy_version']} · "
                  f"catalogue {record['catalogue_version']}")


objection_app = typer.Typer(help="Objections (异议): file, answer, list.", no_args_is_help=True)
app.add_typer(objection_app, name="objection")


@objection_app.command("file")
@friendly_errors
def objection_file(
    kind: Annotated[str, typer.Argument(help="record kind, e.g. penalties")],
    record_key: Annotated[str, typer.Argument(help="the record's key, e.g. 9141…|郑市监罚〔2024〕1号")],
    by: Annotated[str, typer.Option(help="who objects (the subject, or the bank on its behalf)")],
    reason: Annotated[str, typer.Option(help="why")],
) -> None:
    """Flag a record as objected to: it stops counting at once; the answer is due within 20 days."""
    from creditscore.objections import file_objection

    filed = file_objection(_store(), kind, record_key, filed_by=by, reason=reason)
    console.print(f"objection {filed.id} filed on {filed.filed_on}; answer due by {filed.deadline}")


@objection_app.command("resolve")
@friendly_errors
def objection_resolve(
    objection_id: Annotated[int, typer.Argument(help="objection id (see: creditscore objection list)")],
    by: Annotated[str, typer.Option(help="who answers")],
    upheld: Annotated[bool, typer.Option("--upheld/--rejected", help="the objection is right (upheld) or not")],
    remove: Annotated[bool, typer.Option(help="upheld: remove the record")] = False,
    set_: Annotated[list[str] | None, typer.Option("--set", help="upheld: correct a field, e.g. --set amount=5000")]
    = None,
) -> None:
    """Answer an objection: upheld (correct or remove the record) or rejected (the record stands)."""
    from creditscore.objections import resolve_objection

    corrections = dict(item.split("=", 1) for item in (set_ or []))
    action = resolve_objection(_store(), objection_id, upheld=upheld, resolved_by=by, remove=remove,
                               corrections=corrections or None)
    console.print(f"objection {objection_id}: {action}")


@objection_app.command("list")
@friendly_errors
def objection_list(overdue: Annotated[bool, typer.Option(help="only those past their deadline")] = False) -> None:
    """Objections with their status and deadline."""
    from creditscore.objections import list_objections

    frame = list_objections(_store(), overdue_on=dt.date.today() if overdue else None)
    table = Table("id", "kind", "record", "filed", "deadline", "status", "answered", title="objections")
    for r in frame.itertuples():
        table.add_row(str(r.id), r.target_kind, r.target_key, str(r.filed_on.date()), str(r.deadline.date()),
                      r.status, "" if pd_isna(r.resolved_on) else str(r.resolved_on.date()))
    console.print(table)


def pd_isna(value: object) -> bool:
    import pandas as pd

    return bool(pd.isna(value))


apikey_app = typer.Typer(help="API keys per institution (stored hashed).", no_args_is_help=True)
app.add_typer(apikey_app, name="apikey")


@apikey_app.command("create")
@friendly_errors
def apikey_create(
    institution: Annotated[str, typer.Option(help="the institution the key belongs to")],
    role: Annotated[str, typer.Option(help="bank, assessor, analyst or admin")],
) -> None:
    """Create a key. It is printed once and never stored: keep it safe."""
    from creditscore.auth import Role, create_key

    store = _store()
    store.init()
    key = create_key(store, institution, Role(role))
    console.print(f"API key for {institution} ({role}) — shown once, store it safely:\n{key}")


@apikey_app.command("revoke")
@friendly_errors
def apikey_revoke(prefix: Annotated[str, typer.Argument(help="the key's first characters (see: apikey list)")]
                  ) -> None:
    """Revoke a key at once."""
    from creditscore.auth import revoke_key

    n = revoke_key(_store(), prefix)
    if n == 0:
        err_console.print(f"[bold red]error:[/] no active key starts with {prefix!r}")
        raise typer.Exit(2)
    console.print(f"revoked {n} key(s) starting with {prefix}")


@apikey_app.command("list")
@friendly_errors
def apikey_list() -> None:
    """Keys (their first characters only), institutions, roles, and whether revoked."""
    from creditscore.auth import list_keys

    table = Table("prefix", "institution", "role", "created", "revoked", title="API keys")
    for r in list_keys(_store()).itertuples():
        table.add_row(r.prefix + "…", r.institution, r.role, str(r.created_at)[:19],
                      "" if pd_isna(r.revoked_at) else str(r.revoked_at)[:19])
    console.print(table)


@app.command("serve")
@friendly_errors
def serve(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port")] = 8000,
    workers: Annotated[int, typer.Option(help="worker processes")] = 1,
    demo: Annotated[bool, typer.Option(help="make sure demo data is loaded and print demo keys first")] = False,
) -> None:
    """Run the scoring service (FastAPI + uvicorn); /docs teaches the API."""
    import uvicorn

    store = _store()
    store.init()
    if demo:
        from creditscore.auth import Role, create_key

        if store.counts()["enterprises"] == 0:
            demo_data(firms=3_000, households=4_000, seed=20240630, out=None, fmt="csv", english=False, load=True)
        keys = {role: create_key(store, f"demo {role.value}", role) for role in Role}
        firm = store.records("enterprises")["uscc"].iloc[0]
        console.print("[bold]demo API keys[/] (new at every start; revoke with `creditscore apikey revoke`):")
        for role, key in keys.items():
            console.print(f"  {role.value:<9}{key}")
        # plain print: a copy-pasteable command must not be wrapped to the terminal width
        print(f"\ntry:  curl -H 'X-API-Key: {keys[Role.BANK]}' "
              f"'http://{host}:{port}/v1/enterprises/{firm}/grade?purpose=loan_application'")
        print(f"docs: http://{host}:{port}/docs\n", flush=True)
    if workers > 1:
        uvicorn.run("api.app:create_app", factory=True, host=host, port=port, workers=workers, log_level="info")
    else:
        from api.app import create_app

        uvicorn.run(create_app(), host=host, port=port, log_level="info")


@app.command("villages")
@friendly_errors
def villages(
    as_of: Annotated[str, typer.Option(help="as-of date (YYYY-MM-DD); default: the store's latest data")] = "",
    out: Annotated[Path | None, typer.Option(help="also write villages and townships to this .xlsx")] = None,
) -> None:
    """信用村 / 信用乡镇: grade every household in the store, then assess villages and townships."""
    import pandas as pd

    from creditscore.features import features_from_store, load_catalogue
    from creditscore.modeling.bundle import DEMO_BUNDLES, ModelBundle
    from creditscore.policy import load_policy
    from creditscore.rural import assess_villages
    from creditscore.scoring import score

    store = _store()
    date = pd.Timestamp(as_of or store.latest_publication() or dt.date.today())
    catalogue, policy = load_catalogue("household"), load_policy()
    bundle = ModelBundle.load(DEMO_BUNDLES / "household", catalogue=catalogue)
    features = features_from_store(store, catalogue, date, policy=policy)
    graded = score(bundle, features, catalogue=catalogue, policy=policy, with_reasons=False).decisions
    village_table, township_table = assess_villages(
        graded["final_grade"], store.records("households", as_of=date.date()), store.records("loans"),
        store.records("delinquencies"), as_of=date, policy=policy)
    table = Table("township", "village", "households", "信用户", "on time", "NPL", "信用村",
                  title=f"credit villages as of {date.date()}")
    for r in village_table.itertuples():
        table.add_row(r.township_name, r.village_name, str(r.households), f"{r.credit_household_share:.0%}",
                      "—" if pd.isna(r.on_time_repayment) else f"{r.on_time_repayment:.0%}",
                      "—" if pd.isna(r.npl_ratio) else f"{r.npl_ratio:.1%}", "✓" if r.credit_village else "")
    console.print(table)
    for r in township_table.itertuples():
        console.print(f"{r.township_name}: {r.credit_villages}/{r.villages} credit villages — "
                      f"{'信用乡镇 ✓' if r.credit_township else 'not a credit township'}")
    if out is not None:
        with pd.ExcelWriter(out) as writer:
            village_table.to_excel(writer, sheet_name="villages", index=False)
            township_table.to_excel(writer, sheet_name="townships", index=False)
        console.print(f"written to {out}")


@app.command("train")
@friendly_errors
def train(
    segment: Annotated[str, typer.Option(help="sme or household")] = "sme",
    source: Annotated[str, typer.Option(help="store (the credit information store) or synthetic (a generated "
                                              "population, with the oracle AUC in the report)")] = "store",
    families: Annotated[str, typer.Option(help="comma-separated: gbm, additive, scorecard")]
    = "gbm,additive,scorecard",
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
