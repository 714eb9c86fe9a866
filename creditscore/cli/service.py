"""Commands for the service: API keys and serve."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from creditscore.cli.common import (
    _store,
    app,
    console,
    err_console,
    friendly_errors,
    pd_isna,
)
from creditscore.cli.data import demo_data
from creditscore.service.keys import Role
from creditscore.store import Store

apikey_app = typer.Typer(help="API keys per institution (stored hashed).", no_args_is_help=True)
app.add_typer(apikey_app, name="apikey")


@apikey_app.command("create")
@friendly_errors
def apikey_create(
    institution: Annotated[str, typer.Option(help="the institution the key belongs to")],
    role: Annotated[Role, typer.Option(help="what the key may do", case_sensitive=False)],
) -> None:
    """Create a key. It is printed once and never stored: keep it safe."""
    from creditscore.service.keys import create_key

    store = _store()
    store.init()
    key = create_key(store, institution, role)
    console.print(f"API key for {institution} ({role.value}) — shown once, store it safely:\n{key}")


@apikey_app.command("revoke")
@friendly_errors
def apikey_revoke(prefix: Annotated[str, typer.Argument(help="the key's first characters (see: apikey list)")]
                  ) -> None:
    """Revoke a key at once."""
    from creditscore.service.keys import revoke_key

    store = _store()
    store.init()
    n = revoke_key(store, prefix)
    if n == 0:
        err_console.print(f"[bold red]error:[/] no active key starts with {prefix!r}")
        raise typer.Exit(2)
    console.print(f"revoked {n} key(s) starting with {prefix}")


@apikey_app.command("list")
@friendly_errors
def apikey_list() -> None:
    """Keys (their first characters only), institutions, roles, and whether revoked."""
    from creditscore.service.keys import list_keys

    table = Table("prefix", "institution", "role", "created", "revoked", title="API keys")
    for r in list_keys(_store()).itertuples():
        table.add_row(r.prefix + "…", r.institution, r.role, str(r.created_at)[:19],
                      "" if pd_isna(r.revoked_at) else str(r.revoked_at)[:19])
    console.print(table)


user_app = typer.Typer(help="People who use the web pages: accounts per institution and role.", no_args_is_help=True)
app.add_typer(user_app, name="user")


@user_app.command("create")
@friendly_errors
def user_create(
    username: Annotated[str, typer.Argument(help="login name: lower-case letters, digits, . _ -")],
    role: Annotated[Role, typer.Option(help="what the user may do", case_sensitive=False)],
    institution: Annotated[str, typer.Option(help="the bank, township or platform the user works for")],
    display_name: Annotated[str | None, typer.Option(help="the name shown on the pages")] = None,
    password_stdin: Annotated[bool, typer.Option(help="read the password from standard input (scripts)")] = False,
) -> None:
    """Create a user; the password is asked for (twice), never given on the command line."""
    import sys

    from creditscore.service.accounts import create_user

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("password (at least 10 characters)", hide_input=True, confirmation_prompt=True)
    store = _store()
    store.init()
    user = create_user(store, username, password, role=role, institution=institution, display_name=display_name)
    console.print(f"user {user.username} ({user.role.value}, {user.institution}) created")


@user_app.command("disable")
@friendly_errors
def user_disable(username: Annotated[str, typer.Argument(help="the user's login name")]) -> None:
    """Disable a user and end their sessions at once."""
    from creditscore.service.accounts import disable_user

    store = _store()
    store.init()
    disable_user(store, username)
    console.print(f"user {username} disabled; their sessions are ended")


@user_app.command("list")
@friendly_errors
def user_list() -> None:
    """Users, their institutions and roles, and whether disabled or locked."""
    from creditscore.service.accounts import list_users

    store = _store()
    store.init()
    table = Table("user", "name", "institution", "role", "created", "disabled", "locked until", title="users")
    for r in list_users(store).itertuples():
        table.add_row(r.username, r.display_name, r.institution, r.role, str(r.created_at)[:19],
                      "" if pd_isna(r.disabled_at) else str(r.disabled_at)[:19],
                      "" if pd_isna(r.locked_until) else str(r.locked_until)[:19])
    console.print(table)


watch_app = typer.Typer(help="Early warning (预警): watch borrowers, sweep, deliver alerts.", no_args_is_help=True)
app.add_typer(watch_app, name="watch")


def _bank(institution: str) -> object:
    import getpass

    from creditscore.service.keys import Caller

    return Caller(key_prefix="cli", institution=institution.strip() or f"cli:{getpass.getuser()}", role=Role.BANK)


@watch_app.command("add")
@friendly_errors
def watch_add(
    subject: Annotated[str, typer.Argument(help="a firm's USCC or a household head's resident ID")],
    institution: Annotated[str, typer.Option(help="the bank that watches")],
    purpose: Annotated[str, typer.Option(help="why (audited)")] = "loan_monitoring",
    authorization_ref: Annotated[str, typer.Option(help="a person's written consent (households)")] = "",
    expires_on: Annotated[str, typer.Option(help="YYYY-MM-DD, e.g. the loan's maturity (households: required)")]
    = "",
    grade_floor: Annotated[str, typer.Option(help="alert when the grade falls below this")] = "",
) -> None:
    """Watch a subject: what is on record now is the baseline; anything new raises an alert. Audited."""
    import datetime as dt

    from creditscore.service import alerts
    from creditscore.service.grading import GradingService

    store = _store()
    store.init()
    try:
        expiry = dt.date.fromisoformat(expires_on) if expires_on else None
    except ValueError:
        raise typer.BadParameter(f"{expires_on!r} is not a date: YYYY-MM-DD", param_hint="--expires-on") from None
    watch_id = alerts.add_watch(GradingService(store), _bank(institution), subject, purpose=purpose,
                                authorization_ref=authorization_ref or None, grade_floor=grade_floor or None,
                                expires_on=expiry, request_id="cli")
    console.print(f"watch {watch_id} added for {institution}")


@watch_app.command("import")
@friendly_errors
def watch_import(
    file: Annotated[Path, typer.Argument(help="a CSV of firms' codes (column uscc / 统一社会信用代码, or the first)")],
    institution: Annotated[str, typer.Option(help="the bank that watches")],
    purpose: Annotated[str, typer.Option(help="why (audited)")] = "loan_monitoring",
) -> None:
    """A bank's loan book of firms watched at once (one baseline pass, one audit append)."""
    import pandas as pd

    from creditscore.service import alerts
    from creditscore.service.grading import GradingService

    frame = pd.read_csv(file, dtype=str, keep_default_na=False)
    column = next((c for c in frame.columns if c.strip().lower() in ("uscc", "统一社会信用代码")), frame.columns[0])
    store = _store()
    store.init()
    ids, refused = alerts.add_watches(GradingService(store), _bank(institution), frame[column].str.strip().tolist(),
                                      purpose=purpose)
    console.print(f"{len(ids)} watch(es) added for {institution}; {len(refused)} refused")
    for line in refused[:20]:
        console.print(f"  {line}", markup=False)


@watch_app.command("remove")
@friendly_errors
def watch_remove(watch_id: Annotated[int, typer.Argument(help="the watch's number (see: watch list)")],
                 institution: Annotated[str, typer.Option(help="the bank that watches")]) -> None:
    """Stop watching."""
    from creditscore.service import alerts

    store = _store()
    store.init()
    alerts.remove_watch(store, _bank(institution), watch_id)
    console.print(f"watch {watch_id} removed")


@watch_app.command("list")
@friendly_errors
def watch_list(institution: Annotated[str, typer.Option(help="only this bank's")] = "") -> None:
    """Watches: subject (masked), purpose, floor, expiry."""
    from creditscore.service import alerts

    store = _store()
    store.init()
    table = Table("id", "institution", "subject", "purpose", "floor", "expires", "removed", title="watches")
    for r in alerts.list_watches(store, institution or None).itertuples():
        table.add_row(str(r.id), r.institution, r.subject_masked, r.purpose, r.grade_floor or "",
                      "" if pd_isna(r.expires_on) else str(r.expires_on), "" if pd_isna(r.removed_at) else "yes")
    console.print(table)


@watch_app.command("sweep")
@friendly_errors
def watch_sweep(as_of: Annotated[str, typer.Option(help="YYYY-MM-DD; default today")] = "") -> None:
    """The nightly sweep: every active watch re-evaluated (a record that starts counting on a date)."""
    import datetime as dt

    from creditscore.service import alerts
    from creditscore.service.grading import GradingService

    store = _store()
    store.init()
    raised = alerts.sweep(GradingService(store), as_of=dt.date.fromisoformat(as_of) if as_of else None)
    console.print(f"{raised} new alert(s)")


@watch_app.command("deliver")
@friendly_errors
def watch_deliver(base_url: Annotated[str, typer.Option(help="the service's address, for the alerts' links")]
                  = "http://127.0.0.1:8000") -> None:
    """Push the alerts that are due to the institutions' webhooks (retried later on failure)."""
    from creditscore.service import alerts

    store = _store()
    store.init()
    done = alerts.deliver_due(store, base_url=base_url)
    console.print(f"{done['delivered']} delivered, {done['failed']} to retry")


@watch_app.command("webhook")
@friendly_errors
def watch_webhook(institution: Annotated[str, typer.Option(help="the bank")],
                  url: Annotated[str, typer.Option(help="where its alerts are pushed (allow-listed here)")],
                  rotate: Annotated[bool, typer.Option(help="add a new signing secret; the old one still signs")]
                  = False) -> None:
    """Allow-list a bank's webhook (an administrator's act); prints the signing secret (whsec_…) once."""
    from creditscore.service import alerts

    store = _store()
    store.init()
    secret = alerts.set_webhook(store, institution, url, rotate=rotate)
    console.print(f"webhook for {institution}: {url}\nsigning secret (give it to the bank, shown once): {secret}",
                  markup=False)


@watch_app.command("summary")
@friendly_errors
def watch_summary(institution: Annotated[str, typer.Option(help="the bank")],
                  out: Annotated[Path, typer.Option(help="FILE.csv or FILE.xlsx")],
                  day: Annotated[str, typer.Option(help="YYYY-MM-DD (UTC); default today")] = "") -> None:
    """The day's alerts of one bank as a file, for banks that take files."""
    import datetime as dt

    from creditscore.service import alerts

    store = _store()
    store.init()
    path = alerts.daily_summary(store, institution, dt.date.fromisoformat(day) if day else dt.datetime.now(
        dt.UTC).date(), out)
    console.print(f"written: {path}", markup=False)


audit_app = typer.Typer(help="The audit log: verify its hash chain, archive old rows.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")


@audit_app.command("verify")
@friendly_errors
def audit_verify() -> None:
    """Recompute the audit log's hash chain over the archives and the table; name any row changed, removed or
    inserted. Exit code 1 when the chain does not hold (for a scheduler)."""
    from creditscore.settings import get_settings
    from creditscore.store.audit_chain import verify

    store = _store()
    store.init()
    report = verify(store, get_settings().audit_archive_dir)
    if report.ok:
        console.print(f"[green]the audit chain holds[/]: {report.rows:,} rows ({report.archives} archive file(s))")
        return
    for problem in report.problems:
        err_console.print(f"[bold red]broken:[/] {problem}")
    err_console.print(f"{len(report.problems)} problem(s) in {report.rows:,} rows checked")
    raise typer.Exit(1)


@audit_app.command("archive")
@friendly_errors
def audit_archive(
    older_than_days: Annotated[int | None, typer.Option(min=1, help="default: CREDITSCORE_AUDIT_ARCHIVE_DAYS")]
    = None,
) -> None:
    """Move audit rows older than the retention into a compressed file the chain still verifies across."""
    import datetime as dt

    from creditscore.settings import get_settings
    from creditscore.store.audit_chain import archive

    settings = get_settings()
    store = _store()
    store.init()
    days = older_than_days or settings.audit_archive_days
    path = archive(store, settings.audit_archive_dir, older_than=dt.timedelta(days=days))
    console.print(f"archived to {path}" if path else f"no audit row is older than {days} days")


def demo_logins(store: Store) -> dict[Role, tuple[str, str]]:
    """A demo user per role (demo-bank, demo-assessor, …) with a fresh random password each start."""
    import secrets

    from creditscore.errors import InvalidValue
    from creditscore.service.accounts import create_user, set_password

    institutions = {Role.BANK: "示范农商银行", Role.ASSESSOR: "石门乡人民政府", Role.ANALYST: "信用平台分析组",
                    Role.ADMIN: "信用平台"}
    titles = {Role.BANK: "示范信贷员", Role.ASSESSOR: "示范评议员", Role.ANALYST: "示范分析员",
              Role.ADMIN: "示范管理员"}
    out = {}
    for role in Role:
        name, password = f"demo-{role.value}", secrets.token_urlsafe(9)
        try:
            create_user(store, name, password, role=role, institution=institutions[role], display_name=titles[role])
        except InvalidValue:
            set_password(store, name, password)
        out[role] = (name, password)
    return out


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
        from creditscore.service.keys import Role, create_key

        if store.counts()["enterprises"] == 0:
            demo_data(firms=3_000, households=4_000, seed=20240630, out=None, fmt="csv", english=False, load=True)
        keys = {role: create_key(store, f"demo {role.value}", role) for role in Role}
        logins = demo_logins(store)
        firm = store.records("enterprises")["uscc"].iloc[0]
        console.print("[bold]demo API keys[/] (new at every start; revoke with `creditscore apikey revoke`):")
        for role, key in keys.items():
            console.print(f"  {role.value:<9}{key}")
        # plain print: a copy-pasteable command must not be wrapped to the terminal width
        print(f"\ntry:  curl -H 'X-API-Key: {keys[Role.BANK]}' "
              f"'http://{host}:{port}/v1/enterprises/{firm}/grade?purpose=loan_application'")
        print(f"docs: http://{host}:{port}/docs")
        print(f"\nweb pages: http://{host}:{port}/  — demo logins (new passwords at every start):")
        for role, (name, password) in logins.items():
            print(f"  {role.value:<9}{name} / {password}")
        print(flush=True)
    if workers > 1:  # batch jobs live in the store, so any worker answers for any job
        from api.serving import serve as serve_workers

        serve_workers("api.app:create_app", factory=True, host=host, port=port, workers=workers)
    else:
        from api.app import create_app

        uvicorn.run(create_app(), host=host, port=port, log_level="info")
