"""Property-based fuzzing of the sandbox from its own /openapi.json (schemathesis): with the
fault switches off, no generated request (valid or invalid) may produce a 5xx, every answer must
match the document (status, content type, headers, body), schema-valid requests must be accepted
and schema-invalid ones refused. The admin endpoints under /sandbox are fuzzed on a server of
their own (they change faults and the clock on purpose)."""

from __future__ import annotations

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    positive_data_acceptance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import start_sandbox

# No 5xx, and every answer matches the document: status code, content type, headers, body;
# valid requests accepted. (negative_data_rejection is left out: every call here carries the
# bearer token, which undoes its "no Authorization header" mutation, and its "unknown query
# parameter" mutation asks for a refusal HTTP APIs do not owe; invalid values of declared
# parameters and bodies are refused, see test_invalid_values_are_refused.)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    positive_data_acceptance,
]

# What a schema cannot say, allowed where organisation numbers are taken (path or body): a
# 9-digit number with a wrong mod-11 check digit answers 400 (documented).
CONFIG = """
[[operations]]
include-path-regex = "organization_number|request-access|credit-scorer"
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409"]
"""


@pytest.fixture(scope="module")
def fuzz_server():
    with start_sandbox(borrowers=20, months=12) as server:
        yield server


def fuzz(server, path_regex: str, exclude: bool, mode: GenerationMode) -> int:
    """Drive every selected operation's strategy as a plain hypothesis test. (schemathesis'
    pytest plugin, from_fixture, does not run under pytest 9.)"""
    headers = server.headers("demo-bank")
    api = schemathesis.openapi.from_url(
        server.base_url + "/openapi.json", config=SchemathesisConfig.from_str(CONFIG)
    )
    chosen = api.exclude(path_regex=path_regex) if exclude else api.include(path_regex=path_regex)
    operations = [r.ok() for r in chosen.get_all_operations()]

    for operation in operations:

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=25,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def run(case):
            case.call_and_validate(
                base_url=server.base_url, headers=headers, checks=CHECKS, timeout=10
            )

        try:
            run()
        except Unsatisfiable:
            continue  # no request of this mode exists (nothing of it can be made invalid)
    return len(operations)


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_api_conforms_to_its_document(fuzz_server, mode):
    assert fuzz(fuzz_server, "^/sandbox", exclude=True, mode=mode) >= 13


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_admin_endpoints_conform_to_their_document(mode):
    with start_sandbox(borrowers=10, months=6) as server:
        assert fuzz(server, "^/sandbox/(relationships|faults)", exclude=False, mode=mode) >= 4


def test_a_method_not_served_answers_405_with_every_allowed_method(fuzz_server):
    answer = requests.options(fuzz_server.base_url + "/sandbox/faults", timeout=10)
    assert answer.status_code == 405
    assert {m.strip() for m in answer.headers["Allow"].split(",")} == {"GET", "HEAD", "POST"}
    answer = requests.delete(fuzz_server.api_url + "/relationships", timeout=10)
    assert answer.status_code == 405 and "GET" in answer.headers["Allow"]


def test_invalid_values_are_refused(fuzz_server):
    session = requests.Session()
    session.headers.update(fuzz_server.headers("demo-bank"))
    api = fuzz_server.api_url
    for url in (
        f"{api}/accounting-data/12345",
        f"{api}/accounting-data/abcdefghi",
        f"{api}/relationships?limit=-1",
        f"{api}/relationships?skip=x",
    ):
        assert session.get(url, timeout=10).status_code == 400, url
    body = {"borrowers": [{"organization_number": "12"}]}
    assert session.post(f"{api}/request-access", json=body, timeout=10).status_code == 400
    faults = fuzz_server.base_url + "/sandbox/faults"
    for change in ({"error_rate": 2}, {"latency_ms": 1.5}, {"nonsense": 1}):
        assert requests.post(faults, json=change, timeout=10).status_code == 400, change
    assert requests.get(faults, timeout=10).json()["error_rate"] == 0


def test_organisation_number_rule_is_declared(fuzz_server):
    doc = requests.get(fuzz_server.base_url + "/openapi.json", timeout=10).json()
    accounting = doc["paths"]["/api/v1/accounting-data/{organization_number}"]["get"]
    (param,) = [p for p in accounting["parameters"] if p["name"] == "organization_number"]
    assert param["schema"]["pattern"] == "^[0-9]{9}$"
    for path, methods in doc["paths"].items():
        for method, operation in methods.items():
            if operation.get("parameters") or operation.get("requestBody"):
                assert "400" in operation["responses"], (method, path)


def test_docs_only_api_conforms_to_its_document():
    with start_sandbox(borrowers=10, months=6, docs_only=True) as server:
        assert fuzz(server, "^/sandbox", exclude=True, mode=GenerationMode.POSITIVE) >= 11
