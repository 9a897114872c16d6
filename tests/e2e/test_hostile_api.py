"""A hostile API cannot exhaust the machine, run forever, or spoil the warehouse: `symetrisk run`
against a real HTTP server that relays the real sandbox and changes its answers (hostile_api.py).

Each fault must end in bounded time (the process is killed past a bound, which fails the test on
its exit code), with peak RSS under 1.5 GB (the process's own VmHWM), one line naming the
limit, no traceback, and either the published file unchanged (the run failed) or a partial run
that skipped the one borrower and kept its old rows and state."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import duckdb
import pytest

from pipelines.cli.run import PARTIAL_EXIT

from .hostile_api import BAD_ORGS, hostile_api, symetrisk

pytestmark = pytest.mark.e2e

PEAK_RSS = 1.5e9
LEAST_RSS = 50e6  # a Python process with dlt loaded: a reading below it was no reading
DATASET = "symetrisk_raw"


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """(sandbox, relay, a work dir holding one good run through the relay)."""
    base = tmp_path_factory.mktemp("baseline")
    with hostile_api() as (sb, relay):
        first = symetrisk(relay, base)
        assert first.returncode == 0, first.stderr
        yield sb, relay, base


@pytest.fixture
def work(world, tmp_path):
    _, relay, base = world
    shutil.copytree(base, tmp_path / "w")
    yield tmp_path / "w"
    relay.fault = relay.victim = None


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def snapshot_rows(work: Path, org: str) -> list[tuple]:
    with duckdb.connect(str(work / "warehouse.duckdb"), read_only=True) as con:
        return con.execute(
            f"select snapshot_date, income_statement__month__operating_revenue, "
            f"balance_sheet__total_equity from {DATASET}.accounting_snapshots "
            "where organization_number = ? order by 1",
            [org],
        ).fetchall()


def snapshot_columns(work: Path) -> list[str]:
    with duckdb.connect(str(work / "warehouse.duckdb"), read_only=True) as con:
        return [
            r[0]
            for r in con.execute(
                "select column_name from information_schema.columns where table_schema = ? "
                "and table_name = 'accounting_snapshots' order by 1",
                [DATASET],
            ).fetchall()
        ]


def borrowers(work: Path) -> list[str]:
    with duckdb.connect(str(work / "warehouse.duckdb"), read_only=True) as con:
        return [
            r[0]
            for r in con.execute(
                f"select distinct organization_number from {DATASET}.accounting_snapshots "
                "order by 1"
            ).fetchall()
        ]


def state_of(work: Path, org: str) -> dict:
    state = json.loads((work / "dlt" / "symetrisk" / "state.json").read_text())
    resources = state["sources"]["symetrisk"]["resources"]
    return resources["accounting_snapshots"]["borrowers"][org]


def assert_clean(done, limit_text: str) -> None:
    assert LEAST_RSS < done.peak_rss < PEAK_RSS, done.peak_rss
    assert "Traceback" not in done.stdout + done.stderr
    # one line on stderr (stdout's closing record repeats the run's error as a log field)
    lines = [line for line in done.stderr.splitlines() if limit_text in line]
    assert len(lines) == 1, (limit_text, done.stdout, done.stderr)


@pytest.mark.parametrize(
    ("fault", "env", "limit_text"),
    [
        ("endless_body", {}, "SOURCES__SYMETRISK__MAX_RESPONSE_BYTES="),
        ("drip", {"SOURCES__SYMETRISK__REQUEST_DEADLINE_S": "3"}, "REQUEST_DEADLINE_S=3"),
        ("new_keys", {}, "SOURCES__SYMETRISK__MAX_NEW_COLUMNS=200"),
        ("deep", {}, "SOURCES__SYMETRISK__MAX_DEPTH=16"),
        ("snapshot_date_in_data", {}, "snapshot_date inside data"),
        ("colliding_keys", {}, "become the same column 'cash_note'"),
    ],
)
def test_one_borrowers_hostile_answer_skips_that_borrower_only(work, world, fault, env, limit_text):
    _, relay, _ = world
    everyone = borrowers(work)
    victim = everyone[len(everyone) // 2]
    rows_before, columns_before = snapshot_rows(work, victim), snapshot_columns(work)
    state_before = state_of(work, victim)
    relay.fault, relay.victim = fault, victim

    done = symetrisk(relay, work, **env)

    assert done.returncode == PARTIAL_EXIT, done.stdout + done.stderr
    assert_clean(done, limit_text)
    assert victim in done.stderr.strip().splitlines()[-1]  # the partial line names it
    # nothing of the victim's answer reached the warehouse; its state is kept
    assert snapshot_rows(work, victim) == rows_before
    assert snapshot_columns(work) == columns_before
    assert state_of(work, victim) == state_before
    assert borrowers(work) == everyone


def test_a_body_that_never_ends_is_cut_off_at_the_cap_not_read_on(work, world):
    """The relay counts what it could write before the loader hung up: the cap, plus what the
    kernel's socket buffers held (a few MB), never the gigabytes an unbounded read takes."""
    _, relay, _ = world
    victim = borrowers(work)[0]
    relay.fault, relay.victim = "endless_body", victim
    relay.bytes_sent = 0
    done = symetrisk(relay, work, SOURCES__SYMETRISK__MAX_RESPONSE_BYTES="1000000")
    assert done.returncode == PARTIAL_EXIT, done.stderr
    assert_clean(done, "MAX_RESPONSE_BYTES=1000000")
    assert relay.bytes_sent < 64e6, relay.bytes_sent


@pytest.mark.slow
def test_a_list_that_claims_a_trillion_items_stops_at_the_page_limit(work, world):
    _, relay, _ = world
    published = digest(work / "warehouse.duckdb")
    relay.fault = "total_items"
    before = len(relay.paths)
    done = symetrisk(relay, work, SOURCES__SYMETRISK__MAX_PAGES="200")
    asked = [p for p in relay.paths[before:] if p.startswith("/api/v1/relationships")]
    assert done.returncode == 1, done.stdout + done.stderr
    assert_clean(done, "SOURCES__SYMETRISK__MAX_PAGES=200")
    assert done.stderr.strip().splitlines()[-1].startswith("symetrisk run failed: ")
    assert len(asked) <= 200 + 1  # the first page, then at most the limit
    assert digest(work / "warehouse.duckdb") == published


def test_bad_organisation_numbers_from_the_api_are_skipped_and_never_reach_a_path(work, world):
    _, relay, _ = world
    everyone = borrowers(work)
    relay.fault = "bad_orgs"
    before = len(relay.paths)
    done = symetrisk(relay, work)
    asked = relay.paths[before:]
    assert done.returncode == PARTIAL_EXIT, done.stdout + done.stderr
    assert LEAST_RSS < done.peak_rss < PEAK_RSS and "Traceback" not in done.stderr
    skipped = [line for line in done.stderr.splitlines() if line.startswith("relationships: ")]
    for org in BAD_ORGS:
        assert len([line for line in skipped if repr(org) in line]) == 1, (org, done.stderr)
        assert repr(org) in done.stderr.strip().splitlines()[-1]  # the partial line
    # every request stayed on the API's own paths, with one segment per organisation number
    allowed = ("/api/v1/", "/oauth2/token")
    assert all(p.startswith(allowed) for p in asked), asked
    assert not any("etc" in p or "frag" in p or "x=1" in p for p in asked), asked
    assert borrowers(work) == everyone


def test_a_token_said_to_expire_at_once_is_used_for_a_minute(work, world):
    _, relay, _ = world
    relay.fault = "expires_in_0"
    before_tokens, before = relay.token_requests, len(relay.paths)
    done = symetrisk(relay, work)
    api_calls = [p for p in relay.paths[before:] if p.startswith("/api/v1/")]
    assert done.returncode == 0, done.stdout + done.stderr
    assert LEAST_RSS < done.peak_rss < PEAK_RSS and "Traceback" not in done.stderr
    assert len(api_calls) > 10
    # a run of this size takes well under a minute: one token (one more if it ran long)
    assert relay.token_requests - before_tokens <= 2, relay.token_requests - before_tokens


def test_a_token_endpoint_whose_answer_never_ends_fails_the_run_in_one_line(work, world):
    _, relay, _ = world
    published = digest(work / "warehouse.duckdb")
    relay.fault = "endless_token"
    done = symetrisk(relay, work)
    assert done.returncode == 1, done.stdout + done.stderr
    assert_clean(done, "kept sending more than 65,536 bytes")
    assert digest(work / "warehouse.duckdb") == published


def test_ctrl_c_during_a_stalled_request_ends_the_run_writes_the_journal_frees_the_lock(
    work, world
):
    _, relay, _ = world
    victim = borrowers(work)[0]
    relay.fault, relay.victim = "drip", victim
    before = len(relay.paths)

    def stalled() -> bool:
        return any(f"/accounting-data/{victim}" in p for p in relay.paths[before:])

    # the default deadline (120 s) would hold the run far past the bound
    done = symetrisk(relay, work, bound_s=60, interrupt_when=stalled)
    assert done.returncode == 130, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert "interrupted" in done.stderr.strip().splitlines()[-1]
    last = json.loads((work / "dlt" / "runs.jsonl").read_text().splitlines()[-1])
    assert last["outcome"] == "failed" and "interrupted" in last["error"]
    relay.fault = None
    again = symetrisk(relay, work)
    assert again.returncode == 0, again.stderr  # the lock was released
