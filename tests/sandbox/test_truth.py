"""The sandbox's truth (`GET /sandbox/truth`): which companies fail and when, over real HTTP.
A failing company stops reporting before its failure month and sends nothing after it; the
truth is an admin endpoint, absent from the API and its OpenAPI paths under /api/v1."""

from __future__ import annotations

from datetime import date

import requests

from tests.conftest import fetch_all, session_for, start_sandbox


def test_truth_names_every_borrower_and_failures_stop_the_snapshots():
    with start_sandbox(borrowers=300, months=60, seed=5) as sb, session_for(sb) as bank:
        truth = requests.get(sb.base_url + "/sandbox/truth", timeout=30).json()
        by_org = {t["organization_number"]: t for t in truth["items"]}
        rels = fetch_all(bank, sb.api_url + "/relationships")
        assert {r["organization_number"] for r in rels} <= set(by_org)
        assert truth["as_of"] == "2026-03-31"
        failed = [t for t in by_org.values() if t["failed_by_as_of"]]
        assert 5 <= len(failed) <= 60  # a few per cent a year over five years
        approved = {
            r["organization_number"] for r in rels if r["relationship_state"] == "access_approved"
        }
        checked = 0
        for t in failed:
            failure = date.fromisoformat(t["failure_month"])
            decline = date.fromisoformat(t["decline_start_month"])
            last = date.fromisoformat(t["last_reported_month"])
            assert decline < last < failure <= date(2026, 3, 31)
            assert t["fails"]
            if t["organization_number"] in approved:
                url = f"{sb.api_url}/accounting-data/{t['organization_number']}"
                dates = [s["snapshot_date"] for s in fetch_all(bank, url)]
                assert max(dates) == t["last_reported_month"]
                checked += 1
        assert checked > 0
        for t in by_org.values():
            if not t["fails"]:
                assert t["failure_month"] is None and not t["failed_by_as_of"]


def test_a_failure_arrives_with_the_clock_and_the_api_never_serves_the_truth():
    with start_sandbox(borrowers=300, months=24, seed=5) as sb:
        before = requests.get(sb.base_url + "/sandbox/truth", timeout=30).json()["items"]
        soon = [t for t in before if t["fails"] and not t["failed_by_as_of"]]
        nearest = min(t["failure_month"] for t in soon)
        while (
            requests.get(sb.base_url + "/sandbox/portfolio", timeout=30).json()["as_of"] < nearest
        ):
            requests.post(sb.base_url + "/sandbox/advance-month", timeout=30).raise_for_status()
        after = {
            t["organization_number"]: t
            for t in requests.get(sb.base_url + "/sandbox/truth", timeout=30).json()["items"]
        }
        arrived = [t for t in soon if t["failure_month"] == nearest]
        assert arrived and all(after[t["organization_number"]]["failed_by_as_of"] for t in arrived)
        paths = requests.get(sb.base_url + "/openapi.json", timeout=30).json()["paths"]
        assert "/sandbox/truth" in paths
        assert not [p for p in paths if "truth" in p and not p.startswith("/sandbox/")]
        with session_for(sb) as bank:
            assert bank.get(sb.api_url + "/truth", timeout=30).status_code == 404
