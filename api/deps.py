"""Dependencies as aliases: the service, the authenticated caller, the request id."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Header, Request, Response
from fastapi.routing import APIRoute

from creditscore.service.grading import GradingService
from creditscore.service.keys import Caller, verify_key

# Both are ``async def`` on purpose: FastAPI runs a plain ``def`` dependency in the thread pool, and with
# one grading thread (settings.grading_threads) every hop queues behind the grades in flight. The key check
# is one indexed lookup (~0.1 ms): cheaper on the event loop than a thread hop.


async def get_service(request: Request) -> GradingService:
    return request.app.state.service


async def authenticate(request: Request, x_api_key: Annotated[str | None, Header(
        description="Your institution's API key (see `creditscore apikey create`)")] = None) -> Caller:
    caller = getattr(request.state, "caller", None)  # checked already by AuthenticatedRoute
    if caller is None:
        caller = verify_key(request.app.state.service.store, x_api_key)
        request.state.caller = caller
    return caller


class AuthenticatedRoute(APIRoute):
    """A /v1 route that checks the API key before FastAPI reads and validates the body: a caller without a valid
    key learns only that (401), never how its body would have been parsed (a 422)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def authenticated(request: Request) -> Response:
            request.state.caller = verify_key(request.app.state.service.store, request.headers.get("x-api-key"))
            return await handler(request)

        return authenticated


ServiceDep = Annotated[GradingService, Depends(get_service)]
CallerDep = Annotated[Caller, Depends(authenticate)]
