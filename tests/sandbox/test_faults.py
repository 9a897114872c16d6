"""The fault switches: each one misbehaves as a real API does, only under /api/v1, the same
way for the same seed, and can be changed at run time."""

from __future__ import annotations

import time

import orjson
import pytest
import requests

from tests.conftest import session_for, start_sandbox


def statuses(session, url, n):
    out = []
    for _ in range(n):
        try:
            out.append(session.get(url, timeout=5).status_code)
        except requests.ConnectionError:
            out.append("dropped")
    return out


def test_throttle_429_with_retry_after():
    with start_sandbox(borrowers=3, throttle_rps=2) as sb, session_for(sb) as bank:
        answers = [bank.get(sb.api_url + "/ping") for _ in range(8)]
        limited = [a for a in answers if a.status_code == 429]
        assert limited and answers[0].status_code == 200
        assert int(limited[0].headers["Retry-After"]) >= 1
        assert limited[0].json()["error"] == "too_many_requests"
        # the token endpoint and the admin endpoints are never throttled
        assert all(sb.token() for _ in range(5))
        assert all(requests.get(sb.base_url + "/sandbox/faults").ok for _ in range(5))


def test_server_errors_and_switching_at_run_time():
    with start_sandbox(borrowers=3, error_rate=1.0) as sb, session_for(sb) as bank:
        seen = statuses(bank, sb.api_url + "/ping", 12)
        assert set(seen) <= {500, 502, 503} and len(set(seen)) > 1
        body = bank.get(sb.api_url + "/ping").json()
        assert body["error"] and "error_rate" in body["message"]
        changed = requests.post(sb.base_url + "/sandbox/faults", json={"error_rate": 0})
        assert changed.json()["error_rate"] == 0
        assert statuses(bank, sb.api_url + "/ping", 5) == [200] * 5


def test_broken_json_is_a_200_that_does_not_parse():
    with start_sandbox(borrowers=3, broken_json_rate=1.0) as sb, session_for(sb) as bank:
        answer = bank.get(sb.api_url + "/relationships")
        assert answer.status_code == 200
        assert int(answer.headers["content-length"]) == len(answer.content)
        with pytest.raises(orjson.JSONDecodeError):
            orjson.loads(answer.content)
        assert bank.get(sb.api_url + "/borrower/123").status_code == 400  # errors stay whole


def test_drop_closes_the_connection_unanswered():
    with start_sandbox(borrowers=3, drop_rate=1.0) as sb, session_for(sb) as bank:
        assert statuses(bank, sb.api_url + "/ping", 3) == ["dropped"] * 3
        counts = requests.get(sb.base_url + "/sandbox/requests").json()["by_endpoint"]
        assert counts["GET /api/v1/ping"] == {"dropped": 3}
        requests.post(sb.base_url + "/sandbox/faults", json={"drop_rate": 0.0})
        assert bank.get(sb.api_url + "/ping").status_code == 200


def test_latency_and_stalls():
    with start_sandbox(borrowers=3, latency_ms=100) as sb, session_for(sb) as bank:
        started = time.perf_counter()
        bank.get(sb.api_url + "/ping")
        assert time.perf_counter() - started >= 0.1
        requests.post(
            sb.base_url + "/sandbox/faults",
            json={"latency_ms": 0, "stall_rate": 1.0, "stall_ms": 2000},
        )
        with pytest.raises(requests.Timeout):
            bank.get(sb.api_url + "/ping", timeout=0.3)


def test_faults_are_deterministic_for_a_seed():
    def run(seed):
        with start_sandbox(borrowers=3, seed=seed, error_rate=0.4) as sb, session_for(sb) as bank:
            return statuses(bank, sb.api_url + "/ping", 30)

    first, second, other = run(1), run(1), run(2)
    assert first == second != other
    assert 200 in first and any(s != 200 for s in first)


def test_schema_drift():
    with start_sandbox(borrowers=10, months=36, schema_drift=True) as sb, session_for(sb) as bank:
        extra = year_as_text = 0
        for rel in bank.get(sb.api_url + "/relationships").json()["items"]:
            if rel["relationship_state"] != "access_approved":
                continue
            url = f"{sb.api_url}/accounting-data/{rel['organization_number']}"
            for item in bank.get(url).json()["items"]:
                extra += "source_system" in item
                extra += "crypto_gains" in item["data"]["income_statement"]["month"]
                year_as_text += isinstance(item["data"]["year"], str)
        assert extra and year_as_text


def test_fault_switches_validate():
    with start_sandbox(borrowers=3) as sb:
        url = sb.base_url + "/sandbox/faults"
        assert requests.get(url).json()["error_rate"] == 0
        for bad in ({"error_rate": 2}, {"nope": 1}, {"latency_ms": -1}, {"schema_drift": "yes"}):
            answer = requests.post(url, json=bad)
            assert answer.status_code == 400 and answer.json()["error"] == "invalid_request"
        assert requests.post(url, data="[").status_code == 400
    with pytest.raises(ValueError, match="error_rate"):
        start_sandbox(error_rate=1.5).__enter__()
