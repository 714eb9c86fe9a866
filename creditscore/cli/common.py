"""The ``creditscore`` command line (Typer): the app, its console and the error policy.

Commands are thin: they parse arguments, call the library and print. Errors of the
library's family are shown as one red line and exit code 2, never a traceback.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from typing import TypeVar

import typer
from rich.console import Console

from creditscore.errors import CreditScoreError
from creditscore.store import Store

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



def pd_isna(value: object) -> bool:
    import pandas as pd

    return bool(pd.isna(value))


def _as_of(text: str) -> dt.date | None:
    """An --as-of option: a date, or a sentence saying what a date looks like."""
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a date: write it as YYYY-MM-DD, e.g. 2024-06-30",
                                 param_hint="--as-of") from None
