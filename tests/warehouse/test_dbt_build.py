"""The in-process dbt runner (pipelines/warehouse/dbt_build.py) and the `symetrisk models`
command: one summary of models built and tests passed, a failure that names the model's file and
the database's error in one place, a profile made from the destination with no password in any
file or line of output, and the DuckDB file released after the build."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from types import SimpleNamespace

import duckdb
import pytest

from pipelines import cli
from pipelines.symetrisk import contract
from pipelines.warehouse import dbt_build


def empty_warehouse(path: Path, raw: str = "symetrisk_raw") -> Path:
    """A DuckDB file with every raw table the loader declares, empty."""
    with duckdb.connect(str(path)) as con:
        con.execute(f'create schema "{raw}"')
        for statement in contract.duckdb_statements(raw):
            con.execute(statement)
    return path


@pytest.fixture
def project(tmp_path) -> Path:
    """A copy of sql/ to break."""
    copy = tmp_path / "sql"
    shutil.copytree(
        dbt_build.PROJECT_DIR, copy, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages")
    )
    return copy


def test_models_command_prints_one_summary_and_releases_the_file(tmp_path, capsys):
    database = empty_warehouse(tmp_path / "w.duckdb")
    assert cli.main(["models", "--destination", str(database)]) == 0
    out = capsys.readouterr().out
    summary = [line for line in out.splitlines() if line.startswith("models: ")]
    assert len(summary) == 1
    assert re.match(r"models: (\d+) of \1 built into analytics, ", summary[0]), summary[0]
    assert " tests passed " in summary[0]
    assert "fct_borrower_month" in out
    # dbt's own log lines stay out of our output, and it left no log file in the project
    assert "Running with dbt" not in out and "Finished running" not in out
    assert not (dbt_build.PROJECT_DIR / "logs").exists()
    # the file is free again: another process could open it for writing
    with duckdb.connect(str(database)) as con:
        assert con.execute("select count(*) from analytics.fct_borrower_month").fetchone() == (0,)


@pytest.mark.slow
def test_formula_unit_tests_pass_and_catch_a_broken_formula(tmp_path, project):
    """The builds of `run` and `models` leave the unit tests out (dbt's advice for production);
    here they run, and a broken formula fails its own."""
    database = empty_warehouse(tmp_path / "w.duckdb")
    target = dbt_build.duckdb_target(database)
    built = dbt_build.build(target, "symetrisk_raw", project_dir=project)
    assert not [t for t in built.tests if t.name.startswith("equity_ratio_is_null")]
    report = dbt_build.build(target, "symetrisk_raw", only_unit_tests=True, project_dir=project)
    assert len(report.tests) >= 4 and {t.status for t in report.tests} == {"pass"}
    model = project / "models" / "marts" / "symetrisk__fct_borrower_month.sql"
    formula = "then total_equity / total_assets end as equity_ratio"
    assert formula in model.read_text()
    model.write_text(model.read_text().replace(formula, "then total_equity end as equity_ratio"))
    with pytest.raises(dbt_build.BuildFailed) as failed:
        dbt_build.build(target, "symetrisk_raw", only_unit_tests=True, project_dir=project)
    assert "equity_ratio_is_null_unless_total_assets_is_above_zero" in str(failed.value)


def test_a_broken_model_names_its_file_and_the_database_error(tmp_path, project):
    database = empty_warehouse(tmp_path / "w.duckdb")
    model = project / "models" / "marts" / "symetrisk__fct_portfolio_month.sql"
    model.write_text(model.read_text().replace("m.revenue_t12m", "m.no_such_column", 1))
    with pytest.raises(dbt_build.BuildFailed) as caught:
        dbt_build.build(dbt_build.duckdb_target(database), "symetrisk_raw", project_dir=project)
    (problem,) = caught.value.problems
    assert problem.startswith("model sql/models/marts/symetrisk__fct_portfolio_month.sql failed: ")
    assert "no_such_column" in problem and "Binder Error" in problem
    assert "\n" not in problem
    built = {m.name: m.status for m in caught.value.report.models}
    assert built["fct_portfolio_month"] == "error" and built["fct_borrower_month"] == "success"


def test_a_failing_test_names_the_rule_and_its_rows(tmp_path, project):
    database = empty_warehouse(tmp_path / "w.duckdb")
    (project / "tests" / "always_fails.sql").write_text("select 1 as broken union all select 2\n")
    with pytest.raises(dbt_build.BuildFailed) as caught:
        dbt_build.build(dbt_build.duckdb_target(database), "symetrisk_raw", project_dir=project)
    assert caught.value.problems == [
        "test always_fails (sql/tests/always_fails.sql): 2 row(s) break the rule"
    ]


def test_a_model_failure_in_the_command_is_one_error_line_and_exit_1(tmp_path, capsys):
    database = tmp_path / "w.duckdb"
    with duckdb.connect(str(database)) as con:
        con.execute("create schema symetrisk_raw")  # no raw tables at all
    assert cli.main(["models", "--destination", str(database)]) == 1
    err = capsys.readouterr().err
    assert "error: model sql/models/staging/symetrisk__stg_" in err
    assert "Catalog Error" in err and "Traceback" not in err


def test_the_model_build_has_a_memory_limit_unless_told_another(monkeypatch, tmp_path):
    monkeypatch.delenv(dbt_build.MEMORY_SETTING, raising=False)
    settings = dbt_build.duckdb_target(tmp_path / "w.duckdb").output["settings"]
    assert settings["memory_limit"] == dbt_build.DEFAULT_MEMORY_LIMIT == "3GB"
    monkeypatch.setenv(dbt_build.MEMORY_SETTING, "12GB")
    assert dbt_build.duckdb_target(tmp_path / "w.duckdb").output["settings"]["memory_limit"] == (
        "12GB"
    )


def test_no_warehouse_is_one_line_and_exit_2(tmp_path, capsys):
    assert cli.main(["models", "--destination", str(tmp_path / "none.duckdb")]) == 2
    assert "no warehouse at" in capsys.readouterr().err


def test_the_postgres_profile_holds_no_password(tmp_path, monkeypatch):
    credentials = SimpleNamespace(
        host="/tmp/pg socket", port=5433, username="credit", password="s3cret-pw", database="wh"
    )
    target = dbt_build.postgres_target(credentials)
    assert "s3cret-pw" not in target.where and "s3cret-pw" not in str(target.output)
    assert target.secret == "s3cret-pw"
    monkeypatch.setenv("SYMETRISK_DBT_DIR", str(tmp_path))
    with dbt_build._profile(target, tmp_path):
        import os

        assert os.environ[dbt_build.SECRET_ENV] == "s3cret-pw"
        assert "s3cret-pw" not in (tmp_path / "profiles.yml").read_text()
    assert dbt_build.SECRET_ENV not in os.environ


def test_a_parsed_project_serves_the_next_build_until_a_file_of_it_changes(
    tmp_path, project, monkeypatch
):
    """The manifest is reused in the process across warehouses of the same name in other
    folders (dbt's own parse cache is not: it hashes the path), and parsed again once a file of
    the project changes: a model added after the first build is built by the next. The build
    runs under SYMETRISK_MODELS_MEMORY_LIMIT."""
    monkeypatch.setenv(dbt_build.MEMORY_SETTING, "1GB")
    (project / "models" / "probe_a.sql").write_text(
        "{{ config(materialized='table') }}\n"  # a view would read the reader's setting
        "select current_setting('memory_limit') as memory_limit\n"
    )
    first, second = tmp_path / "a" / "w.duckdb", tmp_path / "b" / "w.duckdb"
    for database in (first, second):
        database.parent.mkdir()
        empty_warehouse(database)

    def built(database: Path, model: str) -> list[str]:
        target = dbt_build.duckdb_target(database)
        report = dbt_build.build(target, "symetrisk_raw", select=[model], project_dir=project)
        return [m.name for m in report.models if m.status == "success"]

    assert built(first, "probe_a") == ["probe_a"]
    parsed = [m for key, m in dbt_build._MANIFESTS.items() if key[0][0] == str(project.resolve())]
    assert len(parsed) == 1
    assert built(second, "probe_a") == ["probe_a"]
    again = [m for key, m in dbt_build._MANIFESTS.items() if key[0][0] == str(project.resolve())]
    assert len(again) == 1 and again[0] is parsed[0]  # the same object: not parsed again
    with duckdb.connect(config={"memory_limit": "1GB"}) as con:
        one_gb = con.execute("select current_setting('memory_limit')").fetchone()[0]
    with duckdb.connect(str(second), read_only=True) as con:
        assert con.execute("select memory_limit from analytics.probe_a").fetchone() == (one_gb,)

    (project / "models" / "probe_b.sql").write_text("select 2 as y\n")
    assert built(second, "probe_b") == ["probe_b"]
    with duckdb.connect(str(second), read_only=True) as con:
        assert con.execute("select y from analytics.probe_b").fetchall() == [(2,)]
    # a warehouse of another name is another database in the models' relations
    other = dbt_build.duckdb_target(tmp_path / "b" / "other.duckdb")
    assert dbt_build._connection_key(other) != dbt_build._connection_key(
        dbt_build.duckdb_target(second)
    )
