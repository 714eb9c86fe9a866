"""The ``creditscore`` command line: ``creditscore --help`` lists the commands."""

from creditscore.cli import analysts, data, decisions, rural, service  # noqa: F401 - registers the commands on the app
from creditscore.cli.common import app

__all__ = ["app"]

if __name__ == "__main__":  # pragma: no cover
    app()
