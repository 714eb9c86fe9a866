"""``python -m creditscore``: the command line, for when the ``creditscore`` script is not on the PATH."""

from creditscore.cli import app

if __name__ == "__main__":
    app(prog_name="creditscore")
