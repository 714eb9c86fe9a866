"""The creditscore scoring service (FastAPI): a thin layer over :mod:`creditscore`."""

from api.app import create_app

__all__ = ["create_app"]
