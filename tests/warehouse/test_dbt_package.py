"""Our dbt project as a package of a bank's own dbt project: a throwaway project installs it by
local path (packages.yml, as the README shows), names its own raw schema with the vars, builds
our marts and a model of its own on top of them."""

from __future__ import annotations

import datetime as dt
import textwrap

import duckdb
import yaml

from pipelines.symetrisk import contract
from pipelines.warehouse import dbt_build


def test_a_bank_project_builds_our_marts_as_a_local_package(tmp_path):
    database = tmp_path / "bank.duckdb"
    with duckdb.connect(str(database)) as con:
        con.execute("create schema bank_raw")
        for statement in contract.duckdb_statements("bank_raw"):
            con.execute(statement)
        con.execute(
            "insert into bank_raw.accounting_snapshots (organization_number, snapshot_date, "
            "income_statement__month__operating_revenue, balance_sheet__total_assets, "
            "balance_sheet__total_equity) values ('810000007', date '2026-01-31', 100, 50, 20)"
        )
    bank = tmp_path / "bank_project"
    (bank / "models").mkdir(parents=True)
    (bank / "dbt_project.yml").write_text(
        yaml.safe_dump(
            {
                "name": "bank_credit",
                "version": "1.0.0",
                "config-version": 2,
                "profile": "bank",
                "vars": {"symetrisk_credit_trends": {"symetrisk_raw_schema": "bank_raw"}},
            }
        )
    )
    (bank / "packages.yml").write_text(
        yaml.safe_dump({"packages": [{"local": str(dbt_build.PROJECT_DIR)}]})
    )
    (bank / "models" / "bank_watchlist.sql").write_text(
        textwrap.dedent(
            """\
            select organization_number, month_end, equity_ratio
            from {{ ref('symetrisk_credit_trends', 'fct_borrower_month') }}
            where equity_ratio < 0.5
            """
        )
    )
    profiles = {
        "bank": {
            "target": "dev",
            "outputs": {
                "dev": {"type": "duckdb", "path": str(database), "schema": "credit", "threads": 1}
            },
        }
    }
    (tmp_path / "profiles.yml").write_text(yaml.safe_dump(profiles))

    from dbt.cli.main import dbtRunner

    common = [
        "--project-dir",
        str(bank),
        "--profiles-dir",
        str(tmp_path),
        "--log-level",
        "none",
        "--log-level-file",
        "none",
    ]
    try:
        assert dbtRunner().invoke(["deps", *common]).success
        built = dbtRunner().invoke(["build", *common])
    finally:
        dbt_build._release_duckdb()
    results = built.result.results
    failed = [(r.node.name, r.message) for r in results if r.status in ("error", "fail")]
    assert built.success, failed
    with duckdb.connect(str(database), read_only=True) as con:
        assert con.execute("select * from credit.bank_watchlist").fetchall() == [
            ("810000007", dt.date(2026, 1, 31), 0.4)
        ]
        sql = "select table_name from information_schema.tables where table_schema = 'credit'"
        tables = {r[0] for r in con.execute(sql).fetchall()}
    assert {"fct_borrower_month", "fct_early_warnings", "dim_borrower"} <= tables
