"""Property-based fuzzing of the sandbox API from its own /openapi.json (schemathesis): with
the fault switches off, no generated request (valid or invalid) may produce a 5xx, and every
answer must match the document. The admin endpoints under /sandbox are left out (they change
faults and the clock on purpose)."""

from __future__ import annotations

import pytest
import schemathesis
from conftest import start_sandbox
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)


@pytest.fixture(scope="module")
def fuzz_server():
    with start_sandbox(borrowers=20, months=12) as server:
        yield server


# No 5xx, and every answer matches the document: status code, content type, body schema.
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_server_errors(fuzz_server, mode):
    # schemathesis' pytest plugin (from_fixture) does not run under pytest 9, so each
    # operation's strategy drives a plain hypothesis test.
    headers = fuzz_server.headers("demo-bank")
    api = schemathesis.openapi.from_url(fuzz_server.base_url + "/openapi.json")
    operations = [r.ok() for r in api.exclude(path_regex="^/sandbox").get_all_operations()]
    assert len(operations) >= 13

    for operation in operations:

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=25,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def fuzz(case):
            case.call_and_validate(
                base_url=fuzz_server.base_url,
                headers=headers,
                checks=CHECKS,
                timeout=10,
            )

        fuzz()
