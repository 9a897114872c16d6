"""End to end: the symetrisk source loading the real sandbox server over HTTP into a real DuckDB
file, compared with what the API itself answers."""

from __future__ import annotations

import threading
import time

import pytest

from pipelines.symetrisk import settings
from pipelines.warehouse.publish import working_path
from tests.warehouse_checks import (
    Api,
    admin,
    assert_snapshots_equal_api,
    count,
    load,
    query,
    sandbox,
)

pytestmark = pytest.mark.e2e

ACCOUNTING = "GET /api/v1/accounting-data/{organization_number}"
BORROWER = "GET /api/v1/borrower/{organization_number}"


# --- tests ------------------------------------------------------------------------------------


def test_full_load_equals_the_api(tmp_path):
    with sandbox() as sb:
        api = Api(sb)
        stats = load(sb, tmp_path)
        relationships = api.relationships()
        approved = api.approved()
        totals = {org: api.get(settings.ACCOUNTING_DATA.format(organization_number=org),
                               limit=1)["metadata"]["totalItems"] for org in approved}  # fmt: skip
        notifications = api.get(settings.NOTIFICATIONS, limit=1)["metadata"]["totalItems"]

        assert count(tmp_path, "company") == 1
        assert count(tmp_path, "relationships", "where _dlt_valid_to is null") == len(relationships)
        assert count(tmp_path, "borrowers") == len(relationships)
        assert count(tmp_path, "accounting_snapshots") == sum(totals.values())
        assert count(tmp_path, "accounting_snapshot_versions") == sum(totals.values())
        assert count(tmp_path, "notifications") == notifications
        assert stats.rows["accounting_snapshots"]["new"] == sum(totals.values())
        assert "skipped debtors, credit_scores: not readable by a bank client" in stats.notes
        assert assert_snapshots_equal_api(api, tmp_path, approved[:5]) > 20

        company = query(tmp_path, "select company__role, client__client_id from "
                                  "symetrisk_raw.company")  # fmt: skip
        assert company == [("bank", "demo-bank")]
        borrower = api.get(settings.BORROWER.format(organization_number=approved[0]))
        stored = query(tmp_path, "select name, relationship_state from symetrisk_raw.borrowers "
                                 f"where organization_number = '{approved[0]}'")  # fmt: skip
        assert stored == [(borrower["name"], borrower["relationship_state"])]


def test_next_month_adds_one_snapshot_per_active_borrower_and_revisions(tmp_path):
    with sandbox() as sb:
        api = Api(sb)
        load(sb, tmp_path)
        before = dict(query(tmp_path, "select organization_number, count(*) from "
                                      "symetrisk_raw.accounting_snapshots group by 1"))  # fmt: skip
        as_of = admin(sb, "/advance-month")["as_of"]
        admin(sb, "/requests/reset")
        stats = load(sb, tmp_path)
        seen = admin(sb, "/requests", "GET")["by_endpoint"]

        approved = api.approved()
        active = [o for o in approved if api.snapshots(o)[0]["snapshot_date"] == as_of]
        assert stats.rows["accounting_snapshots"]["new"] == len(active)
        after = dict(query(tmp_path, "select organization_number, count(*) from "
                                     "symetrisk_raw.accounting_snapshots group by 1"))  # fmt: skip
        for org in approved:
            assert after[org] == before[org] + (1 if org in active else 0), org
        # revised months were picked up: the warehouse equals the API value for value
        assert stats.rows["accounting_snapshots"]["changed"] > 0
        assert assert_snapshots_equal_api(api, tmp_path, approved) > 0
        versions = query(tmp_path, "select count(*) from (select organization_number, "
                                   "snapshot_date from symetrisk_raw.accounting_snapshot_versions "
                                   "group by 1, 2 having count(*) > 1)")  # fmt: skip
        assert versions[0][0] == stats.rows["accounting_snapshots"]["changed"]
        # no more than it must: one accounting-data request per approved borrower, one page of
        # relationships and notifications, no borrower details (nothing changed), one token
        assert seen[ACCOUNTING] == {"200": len(approved)}
        assert seen["GET /api/v1/relationships"] == {"200": 1}
        assert seen["GET /api/v1/notifications"] == {"200": 1}
        assert seen["GET /api/v1/self"] == {"200": 1}
        assert seen["POST /oauth2/token"] == {"200": 1}
        assert BORROWER not in seen
        assert sum(sum(v.values()) for v in seen.values()) == len(approved) + 4
        assert stats.rows["notifications"]["new"] > 0


def test_snapshot_tables_carry_dlt_row_ids_unique_across_runs(tmp_path):
    """The Arrow tables bring their own `_dlt_id` (dlt is told not to add one): present,
    unique, dlt's shape, over a full and an incremental run."""
    with sandbox() as sb:
        load(sb, tmp_path)
        admin(sb, "/advance-month")
        load(sb, tmp_path)
    for table in ("accounting_snapshots", "accounting_snapshot_versions"):
        rows, ids, distinct, shortest, longest, loads = query(
            tmp_path,
            "select count(*), count(_dlt_id), count(distinct _dlt_id), min(length(_dlt_id)), "
            f"max(length(_dlt_id)), count(distinct _dlt_load_id) from symetrisk_raw.{table}",
        )[0]
        assert rows > 100 and ids == distinct == rows, table
        assert shortest == longest == 22, table
        assert loads == 2, table
        bad = query(
            tmp_path,
            f"select count(*) from symetrisk_raw.{table} "
            "where not regexp_full_match(_dlt_id, '[A-Za-z0-9_-]+')",
        )
        assert bad == [(0,)], table


def test_staging_rows_are_emptied_once_merged(tmp_path):
    """dlt's staging copies are deleted once merged (pipelines/warehouse/destination.py,
    held_open): after a full and an incremental run, the published file holds no second copy."""
    with sandbox() as sb:
        load(sb, tmp_path)
        admin(sb, "/advance-month")
        load(sb, tmp_path)
    tables = "select table_name from duckdb_tables() where schema_name = 'symetrisk_raw_staging'"
    staging = [t for (t,) in query(tmp_path, tables) if not t.startswith("_dlt")]  # data only
    assert {"accounting_snapshots", "accounting_snapshot_versions", "borrowers"} <= set(staging)
    for table in staging:
        rows = query(tmp_path, f'select count(*) from symetrisk_raw_staging."{table}"')
        assert rows == [(0,)], table
    assert count(tmp_path, "accounting_snapshots") > 100


def test_borrower_approved_between_runs_gets_its_whole_history(tmp_path):
    with sandbox() as sb:
        api = Api(sb)
        load(sb, tmp_path)
        waiting = [r["organization_number"] for r in api.relationships()
                   if r["relationship_state"] == settings.REQUESTED]  # fmt: skip
        assert waiting, "the sandbox portfolio should have pending consents"
        org = waiting[0]
        assert count(tmp_path, "accounting_snapshots", f"where organization_number = '{org}'") == 0
        admin(sb, f"/relationships/{org}/approve")
        admin(sb, "/requests/reset")
        stats = load(sb, tmp_path)
        seen = admin(sb, "/requests", "GET")["by_endpoint"]
        history = api.snapshots(org)
        assert len(history) > 0
        assert count(tmp_path, "accounting_snapshots", f"where organization_number = '{org}'") == (
            len(history)
        )
        assert assert_snapshots_equal_api(api, tmp_path, [org]) == len(history)
        assert seen[BORROWER] == {"200": 1}  # only the changed relationship's detail
        assert stats.rows["borrowers"]["changed"] == 1
        sql = (
            "select relationship_state from symetrisk_raw.relationships "
            f"where organization_number = '{org}' order by _dlt_valid_from"
        )
        state = query(tmp_path, sql)
        assert [s[0] for s in state] == [settings.REQUESTED, settings.APPROVED]


def test_revoked_borrower_keeps_its_history(tmp_path):
    with sandbox() as sb:
        api = Api(sb)
        load(sb, tmp_path)
        org = api.approved()[0]
        loaded = count(tmp_path, "accounting_snapshots", f"where organization_number = '{org}'")
        admin(sb, f"/relationships/{org}/revoke")
        load(sb, tmp_path)
        assert count(tmp_path, "accounting_snapshots", f"where organization_number = '{org}'") == (
            loaded
        )
        sql = (
            "select relationship_state from symetrisk_raw.relationships "
            f"where organization_number = '{org}' and _dlt_valid_to is null"
        )
        current = query(tmp_path, sql)
        assert current == [(settings.REVOKED,)]


@pytest.mark.slow
def test_token_expiring_mid_run_still_loads_everything(tmp_path):
    with sandbox(token_ttl=2, latency_ms=40) as sb:
        api = Api(sb)
        done = threading.Event()

        def expire_tokens() -> None:
            while not done.wait(0.3):
                admin(sb, "/tokens/expire")

        admin(sb, "/requests/reset")
        expirer = threading.Thread(target=expire_tokens, daemon=True)
        expirer.start()
        try:
            stats = load(sb, tmp_path, concurrency=4)
        finally:
            done.set()
            expirer.join()
        seen = admin(sb, "/requests", "GET")["by_endpoint"]
        approved = api.approved()
        assert stats.requests_by_status.get(401, 0) >= 1  # renewed after a 401 and went on
        assert seen["POST /oauth2/token"]["200"] > 1
        assert assert_snapshots_equal_api(api, tmp_path, approved) > 0


def test_concurrency_caps_requests_in_flight_across_tables(tmp_path):
    """Borrowers' details and accounting pages are read at the same time, and --concurrency
    caps the requests in flight for all of them together, as the sandbox saw them."""
    with sandbox(borrowers=60, months=12, latency_ms=30) as sb:
        api = Api(sb)
        admin(sb, "/requests/reset")
        load(sb, tmp_path, concurrency=4)
        seen = admin(sb, "/requests", "GET")
        assert seen["peak_in_flight"] == 4
        windows = seen["first_last_s"]
        first_page = windows["GET /api/v1/accounting-data/{organization_number}"][0]
        last_detail = windows["GET /api/v1/borrower/{organization_number}"][1]
        assert first_page < last_detail
        assert assert_snapshots_equal_api(api, tmp_path, api.approved()) > 0


def test_throttled_api_is_obeyed_and_still_loads_everything(tmp_path):
    with sandbox(borrowers=20, throttle_rps=25) as sb:
        api = Api(sb)
        started = time.monotonic()
        stats = load(sb, tmp_path)
        assert stats.requests_by_status.get(429, 0) >= 1
        assert stats.retries >= stats.requests_by_status[429]
        assert time.monotonic() - started >= 1.0  # it waited as told
        assert assert_snapshots_equal_api(api, tmp_path, api.approved()) > 0


def test_relationship_paging_over_100_items(tmp_path):
    with sandbox(borrowers=130, months=3) as sb:
        api = Api(sb)
        relationships = api.relationships()
        assert len(relationships) > 100
        admin(sb, "/requests/reset")
        load(sb, tmp_path)
        seen = admin(sb, "/requests", "GET")["by_endpoint"]
        assert seen["GET /api/v1/relationships"] == {"200": 2}
        assert count(tmp_path, "relationships") == len(relationships)
        assert count(tmp_path, "borrowers") == len(relationships)


def test_only_chosen_borrowers_and_full_refresh(tmp_path):
    with sandbox() as sb:
        api = Api(sb)
        chosen = api.approved()[:2]
        stats = load(sb, tmp_path, borrowers=chosen)
        sql = "select distinct organization_number from symetrisk_raw.accounting_snapshots"
        assert {r[0] for r in query(tmp_path, sql)} == set(chosen)
        assert stats.borrowers_total == 2
        stats = load(sb, tmp_path, borrowers=chosen, full_refresh=True)
        assert stats.rows["accounting_snapshots"]["new"] == 0
        assert stats.rows["accounting_snapshots"]["reloaded"] > 0
        assert assert_snapshots_equal_api(api, tmp_path, chosen) > 0


@pytest.mark.parametrize("lost", ["published", "published and working"])
def test_deleted_warehouse_with_local_state_ends_complete(tmp_path, lost):
    """The warehouse file readers open is deleted (the loader's working file kept, or that too)
    while dlt's local state stays: the next run ends with a complete warehouse. With the working
    file gone as well, everything is loaded again."""
    published = tmp_path / "warehouse.duckdb"
    with sandbox(borrowers=10) as sb:
        api = Api(sb)
        load(sb, tmp_path)
        total = count(tmp_path, "accounting_snapshots")
        published.unlink()
        if lost == "published and working":
            working_path(published).unlink()
        assert (tmp_path / "dlt").exists()
        stats = load(sb, tmp_path)
        reloaded = stats.rows["accounting_snapshots"]["new"]
        assert reloaded == (total if lost == "published and working" else 0)
        assert count(tmp_path, "accounting_snapshots") == total
        assert assert_snapshots_equal_api(api, tmp_path, api.approved()) == total


def test_credit_scorer_loads_debtors_and_scores(tmp_path):
    with sandbox() as sb:
        api = Api(sb, "demo-scorer")
        stats = load(sb, tmp_path, client_id="demo-scorer", client_secret="demo-scorer-secret")
        creditor = api.get(settings.SELF)["company"]["brreg_organization_number"]
        debtors = api.all(settings.LIST_DEBTORS.format(creditor=creditor))
        approved = [d for d in debtors if d["relationship_state"] == settings.APPROVED]
        assert count(tmp_path, "debtors") == len(debtors)
        assert count(tmp_path, "credit_scores") == len(approved)
        assert any("skipped relationships" in n for n in stats.notes)
        sql = (
            "select table_name from information_schema.tables where table_schema = 'symetrisk_raw'"
        )
        tables = {r[0] for r in query(tmp_path, sql)}
        # a scorer reads no snapshots, but the tables the models read exist, empty
        assert {"accounting_snapshots", "relationships", "borrowers"} <= tables
        assert count(tmp_path, "accounting_snapshots") == 0


def test_schema_drift_keeps_new_keys_and_changed_types_without_stopping(tmp_path):
    with sandbox(borrowers=15, schema_drift=True) as sb:
        api = Api(sb)
        load(sb, tmp_path)
        sql = (
            "select column_name from information_schema.columns where table_schema = "
            "'symetrisk_raw' and table_name = 'accounting_snapshots'"
        )
        columns = {r[0] for r in query(tmp_path, sql)}
        assert {"source_system", "income_statement__month__crypto_gains"} <= columns
        total = sum(len(api.snapshots(org)) for org in api.approved())
        assert count(tmp_path, "accounting_snapshots") == total
        if "year__v_text" in columns:  # a year sent as text is kept as text, not lost
            assert count(tmp_path, "accounting_snapshots", "where year__v_text is not null") > 0
