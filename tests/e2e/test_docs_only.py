"""The loader against a sandbox that serves only what the public docs define (`--docs-only`): no
role in /self, no updated_at or organization_number on snapshots, relationships with only their
organisation number and state, and no /notifications or /borrower detail. Full load, incremental
load and revisions each end equal, value for value, to what that API answers."""

from __future__ import annotations

import io

import pytest

from pipelines.symetrisk import settings
from tests.warehouse_checks import Api, admin, count, flat, load, normal, query, sandbox

pytestmark = pytest.mark.e2e

SIZE = {"borrowers": 20, "months": 18, "seed": 5}


def stored(tmp_path, orgs: list[str]) -> dict[tuple[str, str], dict]:
    columns = [
        r[0]
        for r in query(
            tmp_path,
            "select column_name from information_schema.columns where table_schema = "
            "'symetrisk_raw' and table_name = 'accounting_snapshots'",
        )
    ]
    rows = query(tmp_path, f"select {', '.join(columns)} from symetrisk_raw.accounting_snapshots")
    named = [dict(zip(columns, map(normal, row), strict=True)) for row in rows]
    return {
        (r["organization_number"], r["snapshot_date"]): r
        for r in named
        if r["organization_number"] in orgs
    }


def assert_equal_to_the_api(api: Api, tmp_path) -> int:
    """Every approved borrower's every snapshot in the warehouse equals the API's answer, and
    nothing else is there."""
    approved = api.approved()
    truth = {(org, i["snapshot_date"]): flat(i) for org in approved for i in api.snapshots(org)}
    got = stored(tmp_path, approved)
    assert got.keys() == truth.keys()
    for key, want in truth.items():
        assert "updated_at" not in want and "organization_number" not in want  # docs-only
        for name, value in want.items():
            assert got[key][name] == value, (key, name)
        assert got[key]["updated_at"] is None
    return len(truth)


def test_docs_only_full_incremental_and_revisions_equal_the_api(tmp_path):
    with sandbox(**SIZE, docs_only=True) as sb:
        api = Api(sb)
        out = io.StringIO()
        stats = load(sb, tmp_path, out=out)
        assert assert_equal_to_the_api(api, tmp_path) == stats.rows["accounting_snapshots"]["new"]
        notes = "\n".join(stats.notes)
        assert f"skipped notifications: the API has no {settings.NOTIFICATIONS} (HTTP 404" in notes
        assert "skipped borrowers: the API has no /borrower/{organization_number}" in notes
        assert "set BORROWER in pipelines/symetrisk/settings.py" in notes
        # the role was inferred from /relationships answering: no credit-scorer calls
        assert "skipped debtors, credit_scores: not readable by a bank client" in notes
        assert not stats.errors and not stats.failed
        assert query(tmp_path, "select client__client_id from symetrisk_raw.company") == [
            ("demo-bank",)
        ]
        rels = query(tmp_path, "select count(*) from symetrisk_raw.relationships")[0][0]
        assert rels == len(api.relationships())

        # incremental: a month passes and recent months are revised; no updated_at anywhere
        admin(sb, "/advance-month")
        stats = load(sb, tmp_path)
        assert stats.rows["accounting_snapshots"]["new"] > 0
        assert stats.rows["accounting_snapshots"]["changed"] > 0, "revisions picked up"
        assert assert_equal_to_the_api(api, tmp_path) > 0
        revised = query(
            tmp_path,
            "select count(*) from (select organization_number, snapshot_date from "
            "symetrisk_raw.accounting_snapshot_versions group by 1, 2 having count(*) > 1)",
        )[0][0]
        assert revised == stats.rows["accounting_snapshots"]["changed"]

        # a run with nothing new reads every recent month again and finds nothing changed
        stats = load(sb, tmp_path)
        assert stats.rows["accounting_snapshots"]["new"] == 0
        assert stats.rows["accounting_snapshots"]["changed"] == 0
        assert stats.rows["accounting_snapshots"]["unchanged"] > 0


def test_no_self_and_no_role_still_loads_the_bank_tables(tmp_path):
    with sandbox(**SIZE, docs_only=True, without=("self",)) as sb:
        api = Api(sb)
        stats = load(sb, tmp_path)
        notes = "\n".join(stats.notes)
        assert "skipped company: the API has no /self (HTTP 404" in notes
        assert "set SELF in pipelines/symetrisk/settings.py" in notes
        assert assert_equal_to_the_api(api, tmp_path) > 0
        tables = {r[0] for r in query(tmp_path, "select table_name from information_schema.tables")}
        assert "company" not in tables


def test_no_role_credit_scorer_is_inferred_from_its_debtor_list(tmp_path):
    with sandbox(**SIZE, docs_only=True) as sb:
        stats = load(sb, tmp_path, client_id="demo-scorer", client_secret="demo-scorer-secret")
        assert count(tmp_path, "debtors") > 0
        assert count(tmp_path, "credit_scores") > 0
        assert any("not readable by a credit_scorer client" in n for n in stats.notes), stats.notes
        assert not any("HTTP 403" in n for n in stats.notes), stats.notes


@pytest.mark.slow
def test_docs_only_models_build_and_find_revisions(monkeypatch, capsys, clean_env):
    """The marts build from a docs-only load (no updated_at anywhere), revisions included."""
    import duckdb

    from pipelines import cli
    from tests.conftest import use_api

    with sandbox(**SIZE, docs_only=True) as sb:
        use_api(monkeypatch, sb.base_url)
        args = ["run", "--quiet", "--destination", "warehouse.duckdb"]
        assert cli.main(args) == 0, capsys.readouterr()
        admin(sb, "/advance-month")
        assert cli.main(args) == 0, capsys.readouterr()
    out = capsys.readouterr().out
    assert "models FAILED" not in out
    with duckdb.connect(str(clean_env / "warehouse.duckdb"), read_only=True) as con:
        revised = con.execute("select count(*) from analytics.fct_snapshot_revisions").fetchone()
        versions = con.execute(
            "select count(*) from (select organization_number, snapshot_date "
            "from symetrisk_raw.accounting_snapshot_versions group by 1, 2 having count(*) > 1)"
        ).fetchone()
        months = con.execute("select count(*) from analytics.fct_borrower_month").fetchone()
        # the newest version is the one the API serves now, found without any updated_at
        wrong_last = con.execute(
            "select count(*) from analytics.fct_snapshot_revisions r "
            "join symetrisk_raw.accounting_snapshots s on s.organization_number = "
            "r.organization_number and s.snapshot_date = r.month_end "
            "where r.operating_revenue_last is distinct from "
            "s.income_statement__month__operating_revenue"
        ).fetchone()
    assert revised[0] == versions[0] > 0
    assert wrong_last[0] == 0
    assert months[0] > 0


def test_credit_score_path_missing_skips_the_table_with_one_note(tmp_path):
    with sandbox(**SIZE, docs_only=True, without=("credit_score",)) as sb:
        stats = load(sb, tmp_path, client_id="demo-scorer", client_secret="demo-scorer-secret")
    assert count(tmp_path, "debtors") > 0
    notes = "\n".join(stats.notes)
    assert "skipped credit_scores: the API has no /get-credit-score/" in notes, notes
    assert "set CREDIT_SCORE in pipelines/symetrisk/settings.py" in notes
    assert not stats.errors and not stats.failed


def test_docs_only_openapi_document_describes_only_what_it_serves():
    import requests

    with sandbox(**SIZE, docs_only=True) as sb:
        doc = requests.get(sb.base_url + "/openapi.json", timeout=10).json()
    paths = doc["paths"]
    assert "/api/v1/notifications" not in paths
    assert "/api/v1/borrower/{organization_number}" not in paths
    schemas = doc["components"]["schemas"]
    assert "updated_at" not in schemas["Snapshot"]["properties"]
    assert "organization_number" not in schemas["Snapshot"]["required"]
    assert "role" not in schemas["Company"]["properties"]
    assert schemas["Relationship"]["required"] == ["organization_number", "relationship_state"]
