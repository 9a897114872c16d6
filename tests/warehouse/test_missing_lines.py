"""Missing accounting lines are named: when the API names the lines the marts need otherwise
(here: Norwegian names for operating revenue and total equity), the run says which columns are
missing and which marts they feed, and builds no mart full of nulls that reads as healthy."""

from __future__ import annotations

import duckdb
import orjson
import pytest

from pipelines import cli
from pipelines.accounts import MART_LINES
from pipelines.sandbox.portfolio import Rendered
from pipelines.warehouse.missing_lines import missing_lines
from tests.conftest import use_api
from tests.warehouse_checks import Api, sandbox

RENAMED = {
    ("income_statement", "month", "operating_revenue"): "driftsinntekter",
    ("balance_sheet", "total_equity"): "sum_egenkapital",
}


def rename_lines(server, orgs: list[str]) -> None:
    """Every snapshot of `orgs` carries two lines under other names (and not under ours)."""
    portfolio = server.sandbox.portfolio
    for org in orgs:
        rendered = portfolio.rendered(org)
        items = []
        for raw in rendered.items:
            item = orjson.loads(raw)
            for path, new in RENAMED.items():
                parent = item["data"]
                for key in path[:-1]:
                    parent = parent[key]
                parent[new] = parent.pop(path[-1])
            items.append(orjson.dumps(item))
        key = next(k for k, v in portfolio._rendered.items() if v is rendered)
        portfolio._rendered[key] = Rendered(items=items, latest=rendered.latest)


def test_lines_under_other_names_are_named_and_no_mart_is_built(monkeypatch, capsys, clean_env):
    with sandbox(borrowers=10, months=14) as sb:
        rename_lines(sb, Api(sb).approved())
        use_api(monkeypatch, sb.base_url)
        code = cli.main(["run", "--quiet", "--destination", "warehouse.duckdb"])
    out, err = capsys.readouterr()
    assert code == 1, out + err
    line = next(x for x in out.splitlines() if x.startswith("models FAILED"))
    assert "income_statement__month__operating_revenue" in line
    assert "balance_sheet__total_equity" in line
    for mart in ("fct_borrower_month", "fct_early_warnings", "fct_portfolio_month"):
        assert mart in line
    assert "operating_result" not in line  # only what is missing is named
    assert "outcome=models_failed" in out
    # no mart pretends to be healthy: nothing was published to readers
    published = clean_env / "warehouse.duckdb"
    if published.exists():
        with duckdb.connect(str(published), read_only=True) as con:
            marts = con.execute(
                "select table_name from information_schema.tables where table_schema = 'analytics'"
            ).fetchall()
        assert not marts


@pytest.mark.parametrize(
    ("rows", "filled", "missing"),
    [
        (0, {}, set()),  # no snapshots yet: nothing to say
        (5, dict.fromkeys(MART_LINES, 5), set()),
        (5, {**dict.fromkeys(MART_LINES, 5), "balance_sheet__total_assets": 0}, {"total_assets"}),
    ],
)
def test_missing_lines_are_the_needed_ones_without_a_value(rows, filled, missing):
    found = missing_lines(rows, filled, list(MART_LINES))
    assert {c.rsplit("__", 1)[1] for c in found} == missing
    for feeds in found.values():
        assert "fct_borrower_month" in feeds and "fct_snapshot_revisions" in feeds


def test_models_command_names_the_missing_lines_too(monkeypatch, capsys, clean_env):
    with sandbox(borrowers=8, months=14) as sb:
        rename_lines(sb, Api(sb).approved())
        use_api(monkeypatch, sb.base_url)
        target = ["--destination", "warehouse.duckdb"]
        assert cli.main(["run", "--quiet", "--no-models", *target]) == 0
    capsys.readouterr()
    code = cli.main(["models", *target])
    out, err = capsys.readouterr()
    assert code == 1, out + err
    assert err.startswith("error: the accounting line(s) income_statement__month__operating_rev")
    assert err.count("\n") == 1 and "fct_early_warnings" in err
