"""A diagnostic for benchmarks/api.py: the service's own grade route with the grading taken out.

The real app (key check, parameter validation, request id and metrics middleware, the problem handlers),
but ``GradeBatcher.grade`` answers every request with the response it computed for the first one: no store
read, indicators, model, policy or audit write. Its throughput is the ceiling any grade over this route can
reach — the HTTP and FastAPI cost a grade pays before the grading starts. Never served outside the
benchmark.
"""

from __future__ import annotations

from fastapi import Response

from api.app import create_app
from api.batching import GradeBatcher, Pending

_real_grade = GradeBatcher.grade
_first: list[bytes] = []


async def _grade_once(self: GradeBatcher, pending: Pending) -> Response:
    if not _first:
        _first.append((await _real_grade(self, pending)).body)
    return Response(_first[0], media_type="application/json")


GradeBatcher.grade = _grade_once  # type: ignore[method-assign]
app = create_app()
