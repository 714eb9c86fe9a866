"""Dependencies as aliases: the service, the authenticated caller, the request id."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request

from creditscore.service.grading import GradingService
from creditscore.service.keys import Caller, verify_key

# Both are ``async def`` on purpose: FastAPI runs a plain ``def`` dependency in the thread pool, and with
# one grading thread (settings.grading_threads) every hop queues behind the grades in flight. The key check
# is one indexed lookup (~0.1 ms): cheaper on the event loop than a thread hop.


async def get_service(request: Request) -> GradingService:
    return request.app.state.service


async def authenticate(request: Request, x_api_key: Annotated[str | None, Header(
        description="Your institution's API key (see `creditscore apikey create`)")] = None) -> Caller:
    caller = verify_key(request.app.state.service.store, x_api_key)
    request.state.caller = caller
    return caller


ServiceDep = Annotated[GradingService, Depends(get_service)]
CallerDep = Annotated[Caller, Depends(authenticate)]
