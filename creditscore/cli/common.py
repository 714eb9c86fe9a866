"""The ``creditscore`` command line (Typer): the app, its console and the error policy.

Commands are thin: they parse arguments, call the library and print. Errors of the
library's family are shown as one red line and exit code 2, never a traceback.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console

from creditscore.errors import CreditScoreError
from creditscore.records.ids import mask_ids_in_text
from creditscore.service.logs import mask_ids_in_logs
from creditscore.store import Store, store_unavailable

app = typer.Typer(help="Credit grades for small firms and rural households from public credit records.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
db_app = typer.Typer(help="The credit information store.", no_args_is_help=True)
app.add_typer(db_app, name="db")

@app.callback()
def _every_command() -> None:
    """Credit grades for small firms and rural households from public credit records."""
    mask_ids_in_logs()  # no log line of any command holds a full resident ID


class _MaskedConsole(Console):
    """A console that never prints a full resident ID: what a person typed is echoed back masked."""

    def print(self, *objects: object, **kwargs: object) -> None:  # type: ignore[override]
        super().print(*(mask_ids_in_text(o) if isinstance(o, str) else o for o in objects), **kwargs)


console = _MaskedConsole()
err_console = _MaskedConsole(stderr=True)
F = TypeVar("F", bound=Callable[..., object])


def friendly_errors(fn: F) -> F:
    """Whatever a person can cause — a bad argument, a missing file, a store out of reach, a bad setting — is one
    readable line and exit code 2, never a traceback. Anything else is a bug and keeps its traceback."""

    @functools.wraps(fn)
    def wrapper(*args: object, **kwargs: object) -> object:
        try:
            return fn(*args, **kwargs)
        except CreditScoreError as exc:
            message = str(exc)
        except OSError as exc:  # a file or folder that is missing, unreadable or not writable
            where = f": {Path(exc.filename).name}" if getattr(exc, "filename", None) else ""
            message = f"{exc.strerror or type(exc).__name__}{where}"
        except ValidationError as exc:  # a CREDITSCORE_* setting of the wrong type
            first = exc.errors()[0]
            message = (f"setting CREDITSCORE_{str(first['loc'][0]).upper()}: {first['msg']}" if first.get("loc")
                       else str(exc).splitlines()[0])
        except Exception as exc:
            if not store_unavailable(exc):
                raise
            message = ("the credit information store cannot be reached or is busy: retry shortly, or check "
                       "CREDITSCORE_DATABASE_URL")
        err_console.print(f"[bold red]error:[/] {mask_ids_in_text(message)}", highlight=False)
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
