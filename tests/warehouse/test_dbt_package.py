"""Our dbt project (sql/) as a package of a bank's own dbt project: sql/integration_tests/, whose
own models dim_borrower and fct_borrower_month and seeds warning_rules and covenants carry the
names that used to collide with ours, installs it by local path and builds it with stock dbt
(in-process, no flags) against a real DuckDB file; a misspelled covenant metric stops that build
with an error naming the row; and Symetrisk's own build keeps the relation names readers use."""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
import shutil
from pathlib import Path

import duckdb
import pytest
import tomllib
import yaml

from pipelines.symetrisk import contract
from pipelines.warehouse import dbt_build, rules_check

INTEGRATION = dbt_build.PROJECT_DIR / "integration_tests"
PACKAGE = "symetrisk_credit_trends"
BANK = "symetrisk_integration_tests"
PREFIX = "symetrisk__"
BANK_OWN = {"dim_borrower", "fct_borrower_month", "bank_watchlist"}
BANK_SEEDS = {"bank_customers", "bank_exposures", "warning_rules", "covenants"}
COVENANTS_HEADER = "organization_number,metric,comparison,threshold,valid_from,valid_to\n"

# (organisation number, month end, total assets, total equity): equity ratios 0.4, 0.2 and 0.08
# for the first borrower, 0.5 throughout for the second
SNAPSHOTS = [
    ("810000007", dt.date(2026, 1, 31), 50.0, 20.0),
    ("810000007", dt.date(2026, 2, 28), 50.0, 10.0),
    ("810000007", dt.date(2026, 3, 31), 50.0, 4.0),
    ("810000015", dt.date(2026, 1, 31), 200.0, 100.0),
    ("810000015", dt.date(2026, 2, 28), 200.0, 100.0),
    ("810000015", dt.date(2026, 3, 31), 200.0, 100.0),
]


def our_models() -> set[str]:
    return {p.stem for p in (dbt_build.PROJECT_DIR / "models").rglob("*.sql")}


def bank_project(tmp_path: Path) -> Path:
    """A copy of sql/integration_tests whose packages.yml names sql/ by its absolute path (the
    copy lives elsewhere), and an empty raw schema bank_raw with the snapshots above."""
    bank = tmp_path / "bank"
    shutil.copytree(
        INTEGRATION,
        bank,
        ignore=shutil.ignore_patterns(
            "target", "logs", "dbt_packages", "package-lock.yml", "*.duckdb*"
        ),
    )
    (bank / "packages.yml").write_text(
        yaml.safe_dump({"packages": [{"local": str(dbt_build.PROJECT_DIR)}]})
    )
    with duckdb.connect(str(tmp_path / "bank.duckdb")) as con:
        con.execute("create schema bank_raw")
        for statement in contract.duckdb_statements("bank_raw"):
            con.execute(statement)
        con.executemany(
            "insert into bank_raw.accounting_snapshots (organization_number, snapshot_date, "
            "income_statement__month__operating_revenue, balance_sheet__total_assets, "
            "balance_sheet__total_equity) values (?, ?, 100, ?, ?)",
            SNAPSHOTS,
        )
    return bank


def dbt(bank: Path, *command: str, monkeypatch) -> tuple[object, list[str]]:
    """One dbt command on the bank's project with its own profiles.yml, in this process; the
    result and the names of the warnings dbt raised."""
    from dbt.cli.main import dbtRunner

    warnings: list[str] = []

    def listen(event) -> None:
        if event.info.level == "warn":
            warnings.append(f"{event.info.name}: {event.info.msg}")

    monkeypatch.setenv("SYMETRISK_INTEGRATION_DUCKDB", str(bank.parent / "bank.duckdb"))
    common = ["--project-dir", str(bank), "--profiles-dir", str(bank)]
    if command[0] != "deps":
        work = bank.parent / "dbt"
        common += ["--target-path", str(work / "target"), "--log-path", str(work / "logs")]
    common += ["--log-level", "none", "--log-level-file", "none"]
    try:
        result = dbtRunner(callbacks=[listen]).invoke([*command, *common])
    finally:
        dbt_build._release_duckdb()
    return result, warnings


def statuses(result) -> dict[str, tuple[str, str]]:
    return {
        r.node.unique_id: (str(getattr(r.status, "value", r.status)), str(r.message or ""))
        for r in result.result.results
    }


def query(bank: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(bank.parent / "bank.duckdb"), read_only=True) as con:
        return con.execute(sql).fetchall()


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


@pytest.mark.slow
def test_a_bank_project_with_our_names_builds_and_a_misspelled_metric_stops_it(
    tmp_path, monkeypatch
):
    bank = bank_project(tmp_path)
    deps, _ = dbt(bank, "deps", monkeypatch=monkeypatch)
    assert deps.success, deps.exception
    built, warnings = dbt(bank, "build", monkeypatch=monkeypatch)
    bad = {k: v for k, v in statuses(built).items() if v[0] not in ("success", "pass")}
    assert built.success and not bad, bad
    assert not warnings  # stock dbt, no flags: not even "a package node depends on the root"

    # every relation is the bank's own or one of ours under its package name; none of ours
    # under a bare name, and no demo seed of ours
    sql = "select table_name from information_schema.tables where table_schema = 'credit'"
    tables = {r[0] for r in query(bank, sql)}
    assert tables == BANK_OWN | BANK_SEEDS | our_models()
    columns = query(
        bank,
        "select table_name, list(column_name order by ordinal_position) from "
        "information_schema.columns where table_name in ('dim_borrower', 'fct_borrower_month') "
        "group by table_name",
    )
    assert dict(columns) == {
        "dim_borrower": ["organization_number", "customer_id", "segment"],
        "fct_borrower_month": ["organization_number", "month_end", "drawn_nok"],
    }
    bank_covenants = read_csv(bank / "seeds" / "covenants.csv")
    assert query(bank, "select organization_number, metric, threshold from credit.covenants") == [
        (c["organization_number"], c["metric"], float(c["threshold"])) for c in bank_covenants
    ]

    # our numbers, from the raw schema the bank named, against the snapshots above
    ratios = {(org, month): equity / assets for org, month, assets, equity in SNAPSHOTS}
    got = query(
        bank,
        "select organization_number, month_end, equity_ratio "
        "from credit.symetrisk__fct_borrower_month",
    )
    assert {(o, m): pytest.approx(r) for o, m, r in got} == ratios

    # the bank's covenant (equity ratio >= 0.30 for 810000007) is tested month by month
    (covenant,) = bank_covenants
    floor, start = float(covenant["threshold"]), dt.date.fromisoformat(covenant["valid_from"])
    expected = {
        (org, month): not ratio >= floor
        for (org, month), ratio in ratios.items()
        if org == covenant["organization_number"] and month >= start
    }
    got = query(
        bank,
        "select organization_number, month_end, breached from credit.symetrisk__fct_covenant_tests",
    )
    assert {(o, m): b for o, m, b in got} == expected

    # the bank's warning rule (thin_equity: watch below 0.25, act below 0.10) gives the levels
    (rule,) = read_csv(bank / "seeds" / "warning_rules.csv")
    watch, act = float(rule["watch_threshold"]), float(rule["act_threshold"])
    got = query(
        bank,
        "select organization_number, month_end, level from credit.symetrisk__int_warning_signals "
        f"where flag = '{rule['flag']}'",
    )
    assert {(o, m): level for o, m, level in got} == {
        key: 2 if ratio < act else 1 if ratio < watch else 0 for key, ratio in ratios.items()
    }

    # the bank's own model on top of ours: its exposures beside our ratio and breaches
    exposures = read_csv(bank / "seeds" / "bank_exposures.csv")
    customers = read_csv(bank / "seeds" / "bank_customers.csv")
    customers = {c["organization_number"]: c["customer_id"] for c in customers}
    watchlist = query(
        bank,
        "select customer_id, organization_number, month_end, drawn_nok, equity_ratio, "
        "covenant_breached from credit.bank_watchlist",
    )
    want = []
    for e in exposures:
        key = (e["organization_number"], dt.date.fromisoformat(e["month_end"]))
        if key in ratios:
            breached = expected.get(key, False)
            want.append((customers[key[0]], *key, int(e["drawn_nok"]), ratios[key], breached))
    assert sorted(watchlist) == sorted(want)

    # the same project, a covenant on a misspelled metric: the build stops, naming the row,
    # before the covenant models are built (and rules_check refuses the same row)
    covenants = bank / "seeds" / "covenants.csv"
    covenants.write_text(covenants.read_text() + "810000015,equity_ratoi,>=,0.2,2026-01-01,\n")
    unknown = "unknown metric 'equity_ratoi' (known: "
    (refused,) = rules_check.check_covenants(covenants)
    assert refused.startswith("covenants.csv line 3: " + unknown)
    failed, _ = dbt(bank, "build", monkeypatch=monkeypatch)
    assert not failed.success
    results = statuses(failed)
    errors = {k: v for k, v in results.items() if v[0] in ("error", "fail")}
    assert [uid.split(".")[2] for uid in errors] == ["covenants_are_valid"], errors
    (message,) = [m for _, m in errors.values()]
    row = "(organization_number 810000015, metric equity_ratoi, valid_from 2026-01-01)"
    assert f"covenants {row}: {unknown}" in message
    assert "1 bad row(s)" in message
    assert results[f"model.{PACKAGE}.{PREFIX}fct_covenant_tests"][0] == "skipped"
    assert results[f"model.{BANK}.bank_watchlist"][0] == "skipped"


def test_the_dbt_row_checks_refuse_the_rows_rules_check_refuses(tmp_path, monkeypatch):
    """Each bad row of a rules file and a covenants file is named by the dbt tests as by
    rules_check, one line per problem (rows dbt can load: a typed seed takes no 'four')."""
    good, other = "912345602", "923609016"
    bank = bank_project(tmp_path)
    rules = bank / "seeds" / "warning_rules.csv"
    rules.write_text(
        rules.read_text().splitlines()[0] + "\n"
        "ok_rule,equity_ratio,<,0.10,0.0,fine\n"
        "typo,equity_ration,<,0.10,,unknown metric\n"
        "ok_rule,altman_z,<,1.1,,duplicate flag\n"
        "backwards,equity_ratio,<,0.0,0.10,act above watch\n"
        "nothing,equity_ratio,<,,,no threshold\n"
        "Bad Flag,equity_ratio,=,,0.1,two things\n"
    )
    covenants = bank / "seeds" / "covenants.csv"
    covenants.write_text(
        COVENANTS_HEADER + f"{good},equity_ratio,>=,0.25,2024-01-01,2024-12-31\n"
        "912345603,equity_ratio,>=,0.25,2024-01-01,\n"
        f"{good},equity_ratio,>=,0.30,2024-06-01,\n"
        f"{other},ebitda,>=,1,2024-01-01,\n"
        f"{other},equity_ratio,>=,0.2,2024-05-01,2024-01-01\n"
        f"{other},nibd_to_ebitda,<=,4,2024-01-01,\n"
    )
    python = {
        "warning rules": rules_check.check_rules(rules),
        "covenants": rules_check.check_covenants(covenants),
    }
    assert len(python["warning rules"]) == 6 and len(python["covenants"]) == 4
    assert dbt(bank, "deps", monkeypatch=monkeypatch)[0].success
    failed, _ = dbt(bank, "build", monkeypatch=monkeypatch)
    assert not failed.success
    messages = {
        uid.split(".")[2]: m for uid, (status, m) in statuses(failed).items() if status == "error"
    }
    assert set(messages) == {"warning_rules_are_valid", "covenants_are_valid"}
    tests = {"warning_rules_are_valid": "warning rules", "covenants_are_valid": "covenants"}
    for test, what in tests.items():
        lines = [line.strip() for line in messages[test].splitlines()]
        named = [line for line in lines if line.startswith(what + " (")]
        assert f"{len(python[what])} bad row(s) in the {what}" in messages[test]
        assert len(named) == len(python[what]), named
    # each row the dbt test names is one rules_check names (by its key), for the same reason
    rows = {i + 2: row for i, row in enumerate(read_csv(covenants))}
    for line in python["covenants"]:
        number, problem = re.match(r"covenants.csv line (\d+): (.*)", line).groups()
        row = rows[int(number)]
        org, metric, start = row["organization_number"], row["metric"], row["valid_from"]
        key = f"(organization_number {org}, metric {metric}, valid_from {start})"
        reason = problem.split(" (")[0].split(" overlaps")[0]
        assert f"covenants {key}: {reason}" in messages["covenants_are_valid"], (key, reason)
    for flag in ("typo", "ok_rule", "backwards", "nothing", "Bad Flag"):
        assert f"warning rules (flag {flag}): " in messages["warning_rules_are_valid"], flag


def test_without_the_vars_the_bank_is_told_which_var_to_set(tmp_path, monkeypatch):
    bank = bank_project(tmp_path)
    project = yaml.safe_load((bank / "dbt_project.yml").read_text())
    del project["vars"]["symetrisk_warning_rules"], project["vars"]["symetrisk_covenants"]
    (bank / "dbt_project.yml").write_text(yaml.safe_dump(project))
    assert dbt(bank, "deps", monkeypatch=monkeypatch)[0].success
    result, _ = dbt(bank, "parse", monkeypatch=monkeypatch)
    assert not result.success
    assert f"{PACKAGE} needs your warning_rules: set the var symetrisk_warning_rules" in str(
        result.exception
    )


def test_our_own_build_keeps_the_names_readers_use(tmp_path):
    """sql/ as the root project: every model is symetrisk__<table> in dbt and <table> in the
    warehouse, the demo seeds are on, and the docs site opens on our own overview page."""
    target = dbt_build.duckdb_target(tmp_path / "w.duckdb")
    parsed = dbt_build.invoke(target, ["parse"], "symetrisk_raw", dbt_build.work_dir(target))
    assert parsed.success, parsed.exception
    manifest = parsed.result
    models = {n.name: n for n in manifest.nodes.values() if n.resource_type == "model"}
    assert set(models) == our_models()
    assert all(name.startswith(PREFIX) for name in models)
    assert {n.alias for n in models.values()} == {name.removeprefix(PREFIX) for name in models}
    assert all(n.alias == n.name.removeprefix(PREFIX) for n in models.values())
    seeds = {n.name for n in manifest.nodes.values() if n.resource_type == "seed"}
    assert seeds == {"warning_rules", "covenants", "facilities", "defaults"}
    assert f"doc.{PACKAGE}.__overview__" in manifest.docs
    assert "Symetrisk credit trends" in manifest.docs[f"doc.{PACKAGE}.__overview__"].block_contents
    # a description used in more than one place is a docs block, rendered into each
    column = models[f"{PREFIX}fct_borrower_month"].columns["organization_number"]
    assert (
        column.description.strip()
        == manifest.docs[f"doc.{PACKAGE}.{PREFIX}organization_number"].block_contents.strip()
    )


def test_the_metrics_dbt_checks_are_the_ones_rules_check_knows():
    text = (dbt_build.PROJECT_DIR / "macros" / "package.sql").read_text()
    body = text[text.index("macro symetrisk_metrics") :]
    found = {}
    for model, names in re.findall(r"\('(symetrisk__\w+)', \[(.*?)\]\)", body, flags=re.S):
        for name in re.findall(r"'(\w+)'", names):
            found[name] = model.removeprefix(PREFIX)
    assert found == rules_check.METRICS


def test_the_package_version_and_dbt_range_are_the_ones_released_and_tested():
    project = yaml.safe_load((dbt_build.PROJECT_DIR / "dbt_project.yml").read_text())
    root = dbt_build.PROJECT_DIR.parent
    version = tomllib.loads((root / "pyproject.toml").read_text())["project"]["version"]
    assert project["version"] == version == "0.2.0"
    assert f"## [{version}]" in (root / "CHANGELOG.md").read_text()
    assert project["require-dbt-version"] == [">=1.10.0", "<1.12.0"]
    from dbt.version import __version__

    major, minor = (int(x) for x in __version__.split(".")[:2])
    assert (1, 10) <= (major, minor) < (1, 12)
    # the package forces neither profile nor flags on a bank: dbt reads both from the root only,
    # and the integration project, a root, sets its own
    bank = yaml.safe_load((INTEGRATION / "dbt_project.yml").read_text())
    assert bank["profile"] != project["profile"] and "flags" in bank


@pytest.mark.slow
def test_models_select_and_the_docs_site_take_the_names_readers_use(tmp_path):
    """`symetrisk models --select +fct_borrower_month` selects by the relation's name, the report
    names what it built so, and `make docs` (models --docs) opens on our overview page."""
    database = tmp_path / "w.duckdb"
    with duckdb.connect(str(database)) as con:
        con.execute("create schema symetrisk_raw")
        for statement in contract.duckdb_statements("symetrisk_raw"):
            con.execute(statement)
    target = dbt_build.duckdb_target(database)
    dbt_build.build(target, "symetrisk_raw")  # the relationship tests read dim_borrower
    report = dbt_build.build(target, "symetrisk_raw", select=["+fct_borrower_month"])
    model = dbt_build.PROJECT_DIR / "models" / "marts" / f"{PREFIX}fct_borrower_month.sql"
    parents = set(re.findall(r"ref\('symetrisk__(\w+)'\)", model.read_text()))
    assert {m.name for m in report.models} == {"fct_borrower_month", *parents}
    index = dbt_build.docs(target, "symetrisk_raw", tmp_path / "site")
    manifest = json.loads((index.parent / "manifest.json").read_text())
    assert manifest["metadata"]["project_name"] == PACKAGE
    overview = manifest["docs"][f"doc.{PACKAGE}.__overview__"]
    assert overview["block_contents"].lstrip().startswith("# Symetrisk credit trends")


def test_a_banks_default_history_is_checked_row_by_row_as_rules_check_does(tmp_path, monkeypatch):
    """The bank names its default history with the var symetrisk_defaults: each bad row is
    named by defaults_are_valid, as by rules_check, and the backtest marts are not built."""
    good, other = "912345602", "923609016"
    bank = bank_project(tmp_path)
    defaults = bank / "seeds" / "bank_defaults.csv"
    defaults.write_text(
        "organization_number,default_date,kind\n"
        f"{good},2024-03-31,bankruptcy\n"
        "912345603,2024-03-31,\n"
        f"{good},2025-01-01,\n"
        f"{other},2024-06-30,Lost Customer\n"
    )
    python = rules_check.check_defaults(defaults)
    assert len(python) == 3
    project = yaml.safe_load((bank / "dbt_project.yml").read_text())
    project["vars"]["symetrisk_defaults"] = "bank_defaults"
    (bank / "dbt_project.yml").write_text(yaml.safe_dump(project))
    assert dbt(bank, "deps", monkeypatch=monkeypatch)[0].success
    failed, _ = dbt(bank, "build", monkeypatch=monkeypatch)
    assert not failed.success
    results = statuses(failed)
    errors = {k: v for k, v in results.items() if v[0] in ("error", "fail")}
    assert [uid.split(".")[2] for uid in errors] == ["defaults_are_valid"], errors
    (message,) = [m for _, m in errors.values()]
    assert "3 bad row(s) in the defaults" in message
    assert (
        "defaults (organization_number 912345603, default_date 2024-03-31): organization_number "
        "'912345603' has a wrong check digit (brreg mod-11)" in message
    )
    twice = f"defaults (organization_number {good}, default_date 2025-01-01): organization_number"
    assert f"{twice} {good} already has a default on 2024-03-31" in message
    assert "kind 'lost customer' must be lower-case letters, digits and _" in message
    assert results[f"model.{PACKAGE}.{PREFIX}fct_backtest_breakdown"][0] == "skipped"
