"""Bad input: organisation numbers refused before any request, an unknown or vanished company
reported and skipped while the rest loads, and snapshots with extra fields, changed types and
null or missing numbers loaded as they are (null stays null, never 0)."""

from __future__ import annotations

import orjson
import pytest

from pipelines.orgnr import from_prefix
from pipelines.sandbox.portfolio import Rendered
from tests.warehouse_checks import (
    Api,
    admin,
    count,
    flat,
    load,
    normal,
    query,
    run_in_process,
    sandbox,
)

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def sb():
    with sandbox(borrowers=12, months=12) as server:
        yield server


@pytest.fixture
def run(monkeypatch, tmp_path, capsys, sb):
    """`symetrisk run` in this process against `sb`; returns (exit code, stdout, stderr)."""

    def run(*args: str, **env: str) -> tuple[int, str, str]:
        admin(sb, "/requests/reset")
        return run_in_process(monkeypatch, capsys, sb, tmp_path, *args, **env)

    return run


def requests_made(sb) -> int:
    return admin(sb, "/requests", "GET")["total"]


@pytest.mark.parametrize(
    ("bad", "why"),
    [
        ("81000000", "must have 9 digits"),
        ("8100000071", "must have 9 digits"),
        ("81000000X", "digits only"),
        ("8100 0007", "digits only"),
        ("810000008", "wrong check digit"),
    ],
)
def test_bad_organisation_number_on_the_command_line(run, sb, bad, why):
    good = Api(sb).approved()[0]
    code, out, err = run("--borrowers", good, bad)
    assert code == 2
    assert f"'{bad}'" in err and why in err and good not in err
    assert "Traceback" not in out + err
    assert requests_made(sb) == 0


def test_bad_organisation_number_in_the_config(run, sb, tmp_path):
    code, out, err = run(BORROWERS='["810000007", "81000000X", "810000008"]')
    assert code == 1
    assert "'81000000X' must contain digits only" in err
    assert "'810000008' has a wrong check digit" in err and "'810000007'" not in err
    assert requests_made(sb) == 0
    code, out, err = run(BORROWERS="810000007")
    assert code == 1
    assert "SOURCES__SYMETRISK__BORROWERS = 810000007 is not a list" in err
    assert requests_made(sb) == 0


def test_unknown_company_is_reported_and_skipped_while_the_rest_loads(run, sb, tmp_path):
    api = Api(sb)
    known = {r["organization_number"] for r in api.relationships()}
    unknown = next(o for o in (from_prefix(p) for p in range(11111111, 11111200)) if o not in known)
    chosen = api.approved()[:2]
    code, out, err = run("--borrowers", unknown, *chosen)
    assert code == 0, err
    assert f"borrowers: skipped 1 borrower(s) (not a borrower of this client): {unknown}" in err
    assert "skipped: 1 (see the lines above)" in out
    loaded = query(tmp_path, "select distinct organization_number from symetrisk_raw.borrowers")
    assert {r[0] for r in loaded} == set(chosen)
    total = sum(len(api.snapshots(o)) for o in chosen)
    assert count(tmp_path, "accounting_snapshots") == total


def test_company_gone_mid_run_404_is_reported_and_skipped(tmp_path):
    """The relationship list names it, but the API answers 404 for its detail and data."""
    with sandbox(borrowers=12, months=12) as server:
        api = Api(server)
        approved = api.approved()
        gone = approved[0]
        server.sandbox.books["demo-bank"].by_org.pop(gone)  # still in /relationships
        stats = load(server, tmp_path)
        assert any(f"(HTTP 404): {gone}" in n for n in stats.notes), stats.notes
        assert len(stats.errors) == 2  # its detail and its snapshots
        stored = query(tmp_path, "select distinct organization_number "
                                 "from symetrisk_raw.accounting_snapshots")  # fmt: skip
        assert {r[0] for r in stored} == set(approved) - {gone}


def test_extra_fields_changed_types_and_null_or_missing_numbers_load_as_they_are(tmp_path):
    with sandbox(borrowers=15, months=24, schema_drift=True) as server:
        api = Api(server)
        org = api.approved()[0]
        tamper_newest(server, org)
        load(server, tmp_path)
        truth = {
            (item["organization_number"], item["snapshot_date"]): flat(item)
            for o in api.approved()
            for item in api.snapshots(o)
        }
    stored = stored_snapshots(tmp_path)
    assert stored.keys() == truth.keys()
    seen = {"extra": 0, "text_year": 0, "null": 0}
    for key, want in truth.items():
        got = stored[key]
        # every column but dlt's and the loader's own content_hash (docs/data-contract.md)
        ours = {c for c in got if not c.startswith("_dlt") and c != "content_hash"}
        for name in set(want) | ours:
            value = want.get(name)  # a key missing in the answer is null in the warehouse
            if name == "year" and isinstance(value, str):
                assert got["year"] is None and got["year__v_text"] == value, key
                seen["text_year"] += 1
            elif name == "year__v_text":
                assert got[name] is None or got[name] == want["year"], key
            else:
                assert got.get(name) == value, (key, name)
                seen["null"] += value is None and name in got
                seen["extra"] += name in ("source_system", "income_statement__month__crypto_gains")
    assert all(seen.values()), seen
    newest = stored[max(k for k in stored if k[0] == org)]
    assert newest["balance_sheet__cash_and_bank"] is None  # missing in the API's answer
    assert newest["income_statement__month__net_result"] is None  # null in the API's answer


def stored_snapshots(tmp_path) -> dict[tuple[str, str], dict]:
    sql = (
        "select column_name from information_schema.columns "
        "where table_name = 'accounting_snapshots'"
    )
    columns = [r[0] for r in query(tmp_path, sql)]
    rows = query(tmp_path, f"select {', '.join(columns)} from symetrisk_raw.accounting_snapshots")
    named = [dict(zip(columns, map(normal, row), strict=True)) for row in rows]
    return {(r["organization_number"], r["snapshot_date"]): r for r in named}


def tamper_newest(server, org: str) -> None:
    """The newest snapshot of `org` loses one number and has another set to null."""
    portfolio = server.sandbox.portfolio
    rendered = portfolio.rendered(org, True)
    newest = orjson.loads(rendered.items[0])
    del newest["data"]["balance_sheet"]["cash_and_bank"]
    newest["data"]["income_statement"]["month"]["net_result"] = None
    items = [orjson.dumps(newest), *rendered.items[1:]]
    key = next(k for k, v in portfolio._rendered.items() if v is rendered)
    portfolio._rendered[key] = Rendered(items=items, latest=rendered.latest)
