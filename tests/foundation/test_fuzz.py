"""Schemathesis fuzzes every operation of each service from its own OpenAPI document.

Positive and negative data, with an admin token: no server errors, and every response
matches its documented status codes, content type and schema. The number of examples is
bounded (FRONTDESK_FUZZ_EXAMPLES, default 25 per operation and mode) so CI stays quick.
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

EXAMPLES = int(os.environ.get("FRONTDESK_FUZZ_EXAMPLES", "25"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
SERVICES = ("booking", "consent", "notify")


def fuzz_operation(operation, mode, headers) -> int:
    """Run bounded hypothesis examples against one operation; return how many ran."""
    ran = []

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case):
        ran.append(1)
        case.call_and_validate(headers=headers, checks=CHECKS)

    try:
        run()
    except Unsatisfiable:
        # Nothing a caller can get wrong (a public route without parameters, a raw image body):
        # no negative case exists. Positive cases must always be made.
        if mode is GenerationMode.POSITIVE:
            raise
    return len(ran)


@pytest.mark.parametrize(
    "mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["positive", "negative"]
)
@pytest.mark.parametrize("service", SERVICES)
def test_fuzz_service_from_its_openapi(apps, make_token, service, mode):
    headers = {"Authorization": f"Bearer {make_token(service, 'admin')}"}
    # With the token: notify's document answers only this host or a token holder.
    schema = schemathesis.openapi.from_wsgi("/openapi.json", apps[service], headers=headers)
    total = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        total += fuzz_operation(operation, mode, headers)
    print(f"{service} {mode.value}: {total} examples")
    assert total > 0
