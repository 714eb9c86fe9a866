"""Commands that grade and decide: grade, objections, villages, train, promote."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from creditscore.cli.common import (
    _as_of,
    _store,
    app,
    console,
    friendly_errors,
    pd_isna,
)
from creditscore.records.subjects import Segment
from creditscore.settings import get_settings


@app.command("grade")
@friendly_errors
def grade(
    subject: Annotated[str, typer.Argument(help="USCC of a firm or resident ID of a household head")],
    as_of: Annotated[str, typer.Option(help="as-of date (YYYY-MM-DD); default: the store's latest data")] = "",
    as_json: Annotated[bool, typer.Option("--json", help="print the decision record as JSON")] = False,
) -> None:
    """Grade one subject from the store: PD, grade, policy overrides, 信易贷 terms and the reasons why.

    The model is the one the service serves (the store's model generation), else the one the settings name
    (CREDITSCORE_MODEL_SOURCE): the CLI and the API give one subject one answer.
    """
    import pandas as pd

    from creditscore.records.subjects import identify
    from creditscore.service.models import current_scorers
    from creditscore.store.features import subject_features

    subject_id, segment = identify(subject)
    store = _store()
    store.init()
    date = pd.Timestamp(_as_of(as_of) or store.latest_publication() or dt.date.today())
    scorer = current_scorers(store)[segment]
    features = subject_features(store, scorer.catalogue, subject_id, date, policy=scorer.policy)
    record = scorer.decide(features, date)[features.index[0]].masked()
    if as_json:
        console.print_json(record.model_dump_json())
        return
    policy = scorer.policy
    terms = record.loan_terms
    console.print(f"[bold]{record.subject_id}[/] as of {date.date()}: grade [bold]{record.final_grade}[/] "
                  f"(model {record.model_grade}), PD {record.pd:.2%}, score {record.score:.1f}")
    for rule in record.overrides + record.red_list:
        found = next((r for r in [*policy.overrides, *policy.red_list.rules] if r.id == rule), None)
        if found is not None:
            console.print(f"  rule {rule}: {found.reason.zh} / {found.reason.en}")
    if terms.eligible:
        console.print(f"  信易贷: line {terms.credit_line_yuan:,.0f} yuan, "
                      f"rate {terms.rate_adjustment_bp:+d} bp, up to {terms.max_term_months} months — "
                      f"{terms.basis_zh} / {terms.basis_en}")
    else:
        console.print(f"  信易贷: not eligible — {terms.basis_zh} / {terms.basis_en}")
    table = Table("", "reason", "原因", "log-odds", title="why (contributions to the log-odds of default)")
    for r in record.reasons:
        table.add_row("▲" if r.kind == "adverse" else "▼", r.text_en, r.text_zh, f"{r.contribution:+.3f}")
    console.print(table)
    console.print(f"model {record.model_version} · policy {record.policy_version} · "
                  f"catalogue {record.catalogue_version}")


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
    from creditscore.service.objections import file_objection

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
    from creditscore.service.objections import resolve_objection

    malformed = [item for item in (set_ or []) if "=" not in item or not item.split("=", 1)[0].strip()]
    if malformed:
        raise typer.BadParameter(f"write each correction as field=value, e.g. --set amount=5000 (got {malformed[0]!r})",
                                 param_hint="--set")
    corrections = {k.strip(): v for k, v in (item.split("=", 1) for item in (set_ or []))}
    action = resolve_objection(_store(), objection_id, upheld=upheld, resolved_by=by, remove=remove,
                               corrections=corrections or None)
    console.print(f"objection {objection_id}: {action}")


@objection_app.command("list")
@friendly_errors
def objection_list(overdue: Annotated[bool, typer.Option(help="only those past their deadline")] = False) -> None:
    """Objections with their status and deadline."""
    from creditscore.service.objections import list_objections

    frame = list_objections(_store(), overdue_on=dt.date.today() if overdue else None)
    table = Table("id", "kind", "record", "filed", "deadline", "status", "answered", title="objections")
    for r in frame.itertuples():
        table.add_row(str(r.id), r.target_kind, r.target_key, str(r.filed_on.date()), str(r.deadline.date()),
                      r.status, "" if pd_isna(r.resolved_on) else str(r.resolved_on.date()))
    console.print(table)



@app.command("villages")
@friendly_errors
def villages(
    as_of: Annotated[str, typer.Option(help="as-of date (YYYY-MM-DD); default: the store's latest data")] = "",
    out: Annotated[Path | None, typer.Option(help="also write villages and townships to this .xlsx")] = None,
) -> None:
    """信用村 / 信用乡镇: grade every household in the store, then assess villages and townships."""
    import pandas as pd

    from creditscore.rural.villages import assess_villages
    from creditscore.service.models import current_scorers
    from creditscore.store.features import features_from_store

    store = _store()
    store.init()
    date = pd.Timestamp(_as_of(as_of) or store.latest_publication() or dt.date.today())
    scorer = current_scorers(store)[Segment.HOUSEHOLD]
    policy = scorer.policy
    features = features_from_store(store, scorer.catalogue, date, policy=policy)
    graded = scorer.score(features, with_reasons=False).decisions
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
        from creditscore.rural.workbook import write_assessment

        console.print(f"written to {write_assessment(village_table, township_table, out)}")



@app.command("train")
@friendly_errors
def train(
    segment: Annotated[Segment, typer.Option(help="sme (firms) or household", case_sensitive=False)] = Segment.SME,
    source: Annotated[str, typer.Option(help="store (the credit information store) or synthetic (a generated "
                                              "population, with the oracle AUC in the report)")] = "store",
    families: Annotated[str, typer.Option(help="comma-separated: gbm, additive, scorecard, blend (the scorecard's "
                                                "and the additive model's log-odds, weighted), forest (a random "
                                                "forest: for small samples)")]
    = "gbm,additive,scorecard,blend",
    firms: Annotated[int, typer.Option(help="synthetic source: firms")] = 30_000,
    households: Annotated[int, typer.Option(help="synthetic source: households")] = 30_000,
    seed: Annotated[int, typer.Option(help="synthetic source: seed")] = 7,
    register: Annotated[bool, typer.Option(help="log to MLflow and register the bundles")] = True,
    export: Annotated[Path | None, typer.Option(help="also copy the champion bundle here (e.g. models/demo/sme)")]
    = None,
) -> None:
    """Train the model families out of time, report, save bundles, register them and mark the champion."""
    import shutil
    import time

    import pandas as pd

    from creditscore.features import load_catalogue
    from creditscore.modeling.report import write_report
    from creditscore.modeling.train import observation_dates, train_segment
    from creditscore.store.features import store_records

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
    started = time.perf_counter()
    with console.status(f"training {segment} on {len(dates)} observation dates…") as status:

        def progress(step: str) -> None:  # what is being done, and how long it has taken so far
            status.update(f"{segment}: {step} · {time.perf_counter() - started:.0f} s")

        result = train_segment(records, segment, dates, families=families.split(","), catalogue=catalogue,
                               truth=truth, progress=progress)
    console.print(f"trained in {time.perf_counter() - started:.0f} s", markup=False)
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
        from creditscore.modeling.registry import log_training

        with console.status("logging to MLflow…"):
            logged = log_training(result, bundle_dirs, report_json.parent)
        for f, entry in logged.items():
            console.print(f"MLflow: {f} run {entry['run_id']}"
                          + (f", registered version {entry['version']} as @{entry['alias']}" if "version" in entry
                             else ""))


@app.command("promote")
@friendly_errors
def promote(
    segment: Annotated[Segment, typer.Option(help="sme (firms) or household", case_sensitive=False)],
    version: Annotated[int, typer.Option(help="registered model version to promote")],
    alias: Annotated[str, typer.Option(help="registry alias")] = "champion",
) -> None:
    """Point a registry alias (default: champion) at a registered model version."""
    from creditscore.modeling.registry import model_name
    from creditscore.modeling.registry import promote as move_alias
    from creditscore.service.models import promote_champion

    segment = Segment.of(segment).value
    if alias != "champion":
        move_alias(segment, version, alias)
        console.print(f"{model_name(segment)}@{alias} → version {version}")
        return
    store = _store()
    store.init()
    generation = promote_champion(store, segment, version)
    console.print(f"{model_name(segment)}@champion → version {version}")
    if generation is not None:
        console.print(f"served from now on by every worker and door (model generation {generation.number})")
        from creditscore.service import alerts

        if alerts.any_watches(store):  # a new model moves grades: the watched subjects are graded again
            from creditscore.service.grading import GradingService

            raised = alerts.sweep(GradingService(store), cause="model")
            console.print(f"early warning: {raised} new alert(s) after the promotion")
    else:
        console.print("the service serves CREDITSCORE_MODEL_SOURCE, not the registry: nothing served changes")


@app.command("report")
@friendly_errors
def report(
    subject: Annotated[str, typer.Argument(help="USCC of a firm or resident ID of a household head")],
    out: Annotated[Path, typer.Option(help="where to write the report: FILE.pdf or FILE.html")],
    as_of: Annotated[str, typer.Option(help="as-of date (YYYY-MM-DD); default today")] = "",
    purpose: Annotated[str, typer.Option(help="why the report is made (audited)")] = "loan_application",
    authorization_ref: Annotated[str, typer.Option(help="a person's written authorisation (households: "
                                                        "required)")] = "",
) -> None:
    """A credit report (信用报告): every record with its status and the date it stops counting, objections,
    queries, and the smallest set of actions that lifts the grade a notch. Recorded for verification; audited."""
    import getpass

    from creditscore.service.grading import GradingService
    from creditscore.service.keys import Caller, Role
    from creditscore.service.reports import issue, report_path

    path, fmt = report_path(out)
    store = _store()
    store.init()
    caller = Caller(key_prefix="cli", institution=f"cli:{getpass.getuser()}", role=Role.BANK)
    issued = issue(GradingService(store), subject, fmt=fmt, caller=caller, request_id="cli", route="cli report",
                   purpose=purpose, authorization_ref=authorization_ref or None, as_of=_as_of(as_of))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(issued.document)
    content = issued.report.content
    console.print(f"report {issued.report.number}: {content['subject']} as of {content['as_of']}, grade "
                  f"[bold]{content['summary']['final_grade']}[/]", markup=True)
    console.print(f"content hash {issued.report.content_hash}", markup=False)
    console.print(f"written: {path}", markup=False)


@app.command("verify-report")
@friendly_errors
def verify_report(
    file: Annotated[Path, typer.Argument(help="the report as presented: PDF or HTML")],
    number: Annotated[str, typer.Option(help="its number (default: read from the file)")] = "",
) -> None:
    """Whether a presented report was issued here and is unaltered (exit code 1 when it is not)."""
    from creditscore.service.reports import number_in, verify_document

    if not file.is_file():
        raise typer.BadParameter(f"{file}: no such file", param_hint="FILE")
    data = file.read_bytes()
    number = number or number_in(data)
    store = _store()
    store.init()
    result = verify_document(store, number, data)
    console.print(f"{number}: {result.reason}", markup=False)
    if not result.genuine:
        raise typer.Exit(1)


@app.command("grade-all")
@friendly_errors
def grade_all_command(
    segment: Annotated[Segment, typer.Option(help="household or sme", case_sensitive=False)],
    out: Annotated[Path, typer.Option(help="folder for part-NNNNN.parquet (a killed run resumes here)")],
    as_of: Annotated[str, typer.Option(help="as-of date (YYYY-MM-DD); default today")] = "",
    partitions: Annotated[int, typer.Option(help="partitions: one partition's records must fit a worker")] = 16,
    workers: Annotated[int, typer.Option(help="worker processes")] = 2,
    engine: Annotated[str, typer.Option(help="local (this machine's processes) or spark")] = "local",
    master: Annotated[str, typer.Option(help="Spark master for --engine spark (local[2]; on a cluster, "
                                             "spark-submit sets it)")] = "local[2]",
    feeds: Annotated[Path | None, typer.Option(help="read the records from these Parquet feeds (one folder per "
                                                    "record kind) instead of the store")] = None,
    keep_plan: Annotated[bool, typer.Option(help="keep _plan (the subjects' ids / the feeds split by partition) "
                                                 "after the run; removed by default")] = False,
) -> None:
    """Grade everyone as of a date, partition by partition (resumable), with progress and a summary.

    The records are the store's, or a warehouse's Parquet feeds (--feeds); the model is the store's served one.
    """
    import time

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from creditscore.province.local import grade_all

    if engine not in ("local", "spark"):
        raise typer.BadParameter("the engine is local or spark", param_hint="--engine")
    store = _store()
    store.init()
    if feeds is not None and not feeds.is_dir():
        raise typer.BadParameter(f"{feeds}: no such folder", param_hint="--feeds")
    if engine == "spark":
        _grade_all_spark(store, segment, _as_of(as_of) or dt.date.today(), out, partitions=partitions,
                         master=master, feeds=feeds)
        return
    started = time.perf_counter()
    columns = (TextColumn("[bold]partitions"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[rate]}"),
               TimeRemainingColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task("grade", total=partitions, rate="")

        def progress(done: int, total: int, rows: int) -> None:
            seconds = time.perf_counter() - started
            bar.update(task, completed=done, total=total,
                       rate=f"{rows / seconds:,.0f} rows/s" if rows and seconds else "")

        summary = grade_all(store, segment, _as_of(as_of) or dt.date.today(), out, partitions=partitions,
                            workers=workers, progress=progress, feeds=feeds, keep_plan=keep_plan)
    resumed = f" ({summary.done_before} found done: resumed)" if summary.done_before else ""
    console.print(f"{summary.partitions} partitions{resumed}; {summary.rows:,} graded in this run in "
                  f"{summary.seconds:.1f} s ({summary.rows_per_second:,.0f} rows/s)", markup=False)
    table = Table("grade", "subjects", title=f"grades as of {as_of or dt.date.today()}")
    for grade, n in sorted(summary.grades.items()):
        table.add_row(grade, f"{n:,}")
    console.print(table)
    if summary.villages is not None:
        _print_villages(summary.villages, summary.townships)
        console.print(f"written: {out}/villages.parquet, {out}/townships.parquet", markup=False)
    console.print(f"written: {out}/part-*.parquet", markup=False)


def _print_villages(villages: object, townships: object) -> None:
    """The run's 信用村 / 信用乡镇 assessment in a few lines (the tables are written beside the grades)."""
    assessed = int(villages["assessed"].sum())
    console.print(f"villages: {len(villages):,}, assessed {assessed:,}, credit villages (信用村) "
                  f"{int(villages['credit_village'].sum()):,}; townships: {len(townships):,}, credit townships "
                  f"(信用乡镇) {int(townships['credit_township'].sum()):,}", markup=False)


def _grade_all_spark(store: object, segment: Segment, as_of: dt.date, out: Path, *, partitions: int,
                     master: str, feeds: Path | None) -> None:
    """The Spark engine on the feeds, or on the store's records exported to a temporary folder (removed after:
    it holds households' IDs)."""
    import importlib.util
    import os
    import shutil
    import tempfile

    if importlib.util.find_spec("pyspark") is None:
        raise typer.BadParameter("the Spark engine needs pyspark: pip install 'creditscore[spark]' (and Java 17)",
                                 param_hint="--engine")
    from creditscore.province.local import pseudonym_key
    from creditscore.province.partition import village_summary
    from creditscore.province.spark import export_records, grade_all_spark, kinds_for, session, village_sums
    from creditscore.service.models import current_scorers

    scorer = current_scorers(store)[Segment.of(segment)]
    out.mkdir(parents=True, exist_ok=True)
    exported = None
    if feeds is None:
        exported = Path(tempfile.mkdtemp(prefix=".feeds-", dir=out))
        os.chmod(exported, 0o700)
        export_records(store, kinds_for(scorer), exported)
    spark = session(master, "creditscore grade-all")
    try:
        rows = grade_all_spark(spark, scorer, feeds or exported, as_of, out / "grades", partitions=partitions,
                               key=pseudonym_key(get_settings().data_dir))
        graded = spark.read.parquet(str(out / "grades"))
        grades = graded.groupBy("final_grade").count().toPandas()
        sums = village_sums(graded) if segment is Segment.HOUSEHOLD else None
    finally:
        spark.stop()
        if exported is not None:
            shutil.rmtree(exported, ignore_errors=True)
    console.print(f"{rows:,} graded on Spark ({master}), {partitions} partitions", markup=False)
    table = Table("grade", "subjects", title=f"grades as of {as_of}")
    for row in grades.sort_values("final_grade").itertuples():
        table.add_row(str(row.final_grade), f"{row.count:,}")
    console.print(table)
    if sums is not None and len(sums):
        villages, townships = village_summary(sums, scorer.policy)
        villages.to_parquet(out / "villages.parquet", index=False)
        townships.to_parquet(out / "townships.parquet", index=False)
        _print_villages(villages, townships)
    console.print(f"written: {out / 'grades'}", markup=False)
