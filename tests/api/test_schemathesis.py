"""Property-based testing of the API against its own OpenAPI schema: no server errors, no schema violations.

Driven through schemathesis' Python API (its pytest plugin does not load under this pytest):
every operation of the schema, generated requests, the default checks.
"""

from __future__ import annotations

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis import checks

from api import create_app
from creditscore.service.keys import Role, create_key
from creditscore.settings import Settings
from creditscore.store import Store

pytestmark = pytest.mark.slow

#: No server errors, and every response as documented (status, content type, headers, body schema).
#: Not "positive data acceptance": an 18-character code can match the schema and still fail its check
#: characters, which the schema cannot express — a 422 is then the right answer.
CHECKS = [checks.not_a_server_error, checks.status_code_conformance, checks.content_type_conformance,
          checks.response_headers_conformance, checks.response_schema_conformance]


@pytest.fixture(scope="module")
def running(api_settings: Settings):
    key = create_key(Store(api_settings.store_url), "schemathesis", Role.ADMIN)
    app = create_app(api_settings)
    with TestClient(app) as client:
        yield schemathesis.openapi.from_asgi("/openapi.json", app), client, key


def _operations() -> list[str]:
    app = create_app(Settings(model_source="demo"))
    return [f"{method.upper()} {path}" for path, methods in app.openapi()["paths"].items() for method in methods]


@pytest.mark.parametrize("operation", _operations())
def test_operation_conforms_to_the_schema(running, operation: str) -> None:
    schema, client, key = running
    method, path = operation.split(" ", 1)
    op = schema[path][method]

    @given(case=op.as_strategy())
    @settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def run(case) -> None:
        case.call_and_validate(session=client, headers={"X-API-Key": key}, checks=CHECKS)

    run()


def test_linked_operations_conform_as_a_sequence(running) -> None:
    """Stateful: upload a batch then poll, fetch the result and the report through the links; file an objection
    then answer it — each response as documented, none a server error."""
    schema, client, key = running
    machine = schema.as_state_machine()

    class Calls(machine):  # type: ignore[misc, valid-type]
        def get_call_kwargs(self, case):
            return {"session": client, "headers": {"X-API-Key": key}}

        def validate_response(self, response, case, **kwargs):
            case.validate_response(response, checks=CHECKS)

    Calls.run(settings=settings(max_examples=25, stateful_step_count=4, deadline=None, database=None,
                                suppress_health_check=list(HealthCheck)))
