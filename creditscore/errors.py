"""The library's one error family.

Each subclass also inherits the built-in exception it resembles, so callers that
only know Python's vocabulary (``except ValueError``) still catch it, while the
API can map the family to HTTP statuses in one place.
"""

from __future__ import annotations


class CreditScoreError(Exception):
    """Base of every error the library raises on purpose."""


class InvalidCode(CreditScoreError, ValueError):
    """An identifier (USCC, resident ID, division code) breaks its standard."""


class ChecksumMismatch(InvalidCode):
    """The code is well formed but a check character is wrong.

    Kept separate because a few genuinely issued USCCs are reported to fail the
    check: a caller may choose to downgrade exactly this error to a warning.
    """

    def __init__(self, message: str, *, expected: str, got: str, position: int) -> None:
        super().__init__(message)
        self.expected = expected
        self.got = got
        self.position = position


class InvalidRecord(CreditScoreError, ValueError):
    """A record breaks its contract (missing column, bad value)."""


class UnreadableFile(CreditScoreError, OSError):
    """An input file cannot be read at all (wrong format, corrupt, empty)."""


class UnknownKind(CreditScoreError, KeyError):
    """A record kind that the contracts do not define."""

    def __str__(self) -> str:  # KeyError quotes its argument; we want the message.
        return str(self.args[0]) if self.args else ""


class UnknownSubject(CreditScoreError, LookupError):
    """No enterprise or household with that identifier is in the store."""


class ConfigError(CreditScoreError, ValueError):
    """A declaration file (catalogue, scale, policy) is invalid."""


class ModelMismatch(CreditScoreError, ValueError):
    """A model bundle does not fit what it is asked to run with (another catalogue, other features)."""


class InvalidValue(CreditScoreError, ValueError):
    """An argument a person gave is not one the library accepts (a role, a format, a key prefix too short)."""


class InsufficientData(CreditScoreError, ValueError):
    """The data cannot answer the question asked (no subject on that date, no training dates recorded)."""


class TooLarge(CreditScoreError, ValueError):
    """An upload or a file larger than the configured limit."""


class NotReady(CreditScoreError, LookupError):
    """A result asked for before it exists, or of a job that failed: the message says which and why."""
