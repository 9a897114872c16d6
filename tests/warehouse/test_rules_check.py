"""A bad warning-rules or covenants file is refused with one line per bad row, naming the file,
the line and what is wrong; good files pass."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.warehouse.rules_check import RulesError, check, check_covenants, check_rules

RULES_HEADER = "flag,metric,comparison,watch_threshold,act_threshold,description\n"
COVENANTS_HEADER = "organization_number,metric,comparison,threshold,valid_from,valid_to\n"
GOOD_ORG, OTHER_ORG = "912345602", "923609016"


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_good_rules_and_covenants_pass(tmp_path):
    write(tmp_path, "warning_rules.csv", RULES_HEADER
          + "low_equity_ratio,equity_ratio,<,0.10,0.0,thin equity\n"
          + "high_leverage,nibd_to_ebitda,>,5,7,debt\n"
          + "only_watch,altman_z,<,1.1,,distress zone\n")  # fmt: skip
    write(tmp_path, "covenants.csv", COVENANTS_HEADER
          + f"{GOOD_ORG},equity_ratio,>=,0.25,2024-01-01,2024-12-31\n"
          + f"{GOOD_ORG},equity_ratio,>=,0.30,2025-01-01,\n"
          + f"{OTHER_ORG},nibd_to_ebitda,<=,4.0,2024-01-01,\n")  # fmt: skip
    check(tmp_path)


def test_bad_rules_are_named_one_line_per_row(tmp_path):
    path = write(tmp_path, "warning_rules.csv", RULES_HEADER
                 + "ok_rule,equity_ratio,<,0.10,0.0,fine\n"
                 + "typo,equity_ration,<,0.10,,unknown metric\n"
                 + "ok_rule,altman_z,<,1.1,,duplicate flag\n"
                 + "backwards,equity_ratio,<,0.0,0.10,act above watch\n"
                 + "nothing,equity_ratio,<,,,no threshold\n"
                 + "Bad Flag,equity_ratio,=,x,,three things\n")  # fmt: skip
    problems = check_rules(path)
    assert [p.split(":")[0] for p in problems] == [
        "warning_rules.csv line 3",
        "warning_rules.csv line 4",
        "warning_rules.csv line 5",
        "warning_rules.csv line 6",
        "warning_rules.csv line 7",
        "warning_rules.csv line 7",
        "warning_rules.csv line 7",
    ]
    assert "unknown metric 'equity_ration'" in problems[0]
    assert "already defined on line 2" in problems[1]
    assert "must be past watch_threshold" in problems[2]
    assert "needs a watch_threshold" in problems[3]


SEVERE_HEADER = (
    "flag,metric,comparison,watch_threshold,act_threshold,severe_threshold,description\n"
)


def test_a_severe_threshold_is_checked_and_may_be_left_out(tmp_path):
    """A severe threshold (an act breach that opens at once) must be a number at or past the
    act threshold, or the watch threshold when there is no act; a file without the column (as
    of 0.1) is still good."""
    good = write(tmp_path, "warning_rules.csv", SEVERE_HEADER
                 + "low_equity_ratio,equity_ratio,<,0.10,0.0,0.0,negative equity at once\n"
                 + "revenue_drop,revenue_change_month_yoy,<,-0.25,-0.3,-0.5,lost customer\n"
                 + "watch_and_severe,altman_z,<,1.1,,0.0,distress\n"
                 + "no_severe,nibd_to_ebitda,>,6,7,,debt\n")  # fmt: skip
    assert check_rules(good) == []
    bad = write(tmp_path, "bad.csv", SEVERE_HEADER
                + "milder,equity_ratio,<,0.10,0.0,0.05,severe before act\n"
                + "milder_than_watch,altman_z,<,1.1,,1.5,severe before watch\n"
                + "word,equity_ratio,<,0.10,0.0,zero,not a number\n")  # fmt: skip
    assert check_rules(bad) == [
        "bad.csv line 2: severe_threshold 0.05 must be at or past act_threshold 0 in the "
        "direction of <",
        "bad.csv line 3: severe_threshold 1.5 must be at or past watch_threshold 1.1 in the "
        "direction of <",
        "bad.csv line 4: severe_threshold 'zero' is not a number",
    ]
    old = write(tmp_path, "old.csv", RULES_HEADER + "only_watch,altman_z,<,1.1,,distress\n")
    assert check_rules(old) == []


def test_bad_covenants_are_named_one_line_per_row(tmp_path):
    path = write(tmp_path, "covenants.csv", COVENANTS_HEADER
                 + f"{GOOD_ORG},equity_ratio,>=,0.25,2024-01-01,2024-12-31\n"
                 + "912345603,equity_ratio,>=,0.25,2024-01-01,\n"
                 + f"{GOOD_ORG},equity_ratio,>=,0.30,2024-06-01,\n"
                 + f"{OTHER_ORG},ebitda,>=,1,2024-01-01,\n"
                 + f"{OTHER_ORG},equity_ratio,>=,0.2,2024-05-01,2024-01-01\n"
                 + f"{OTHER_ORG},nibd_to_ebitda,<=,four,2024-13-01,\n")  # fmt: skip
    problems = check_covenants(path)
    assert problems == [
        "covenants.csv line 3: organization_number '912345603' has a wrong check digit "
        "(brreg mod-11)",
        "covenants.csv line 4: equity_ratio covenant of 912345602 overlaps the one on line 2",
        "covenants.csv line 5: " + problems[2].split(": ", 1)[1],
        "covenants.csv line 6: valid_to 2024-01-01 is before valid_from 2024-05-01",
        "covenants.csv line 7: threshold 'four' is not a number",
        "covenants.csv line 7: valid_from '2024-13-01' is not a date (YYYY-MM-DD)",
    ]
    assert problems[2].startswith("covenants.csv line 5: unknown metric 'ebitda'")


def test_check_raises_with_every_line_and_a_missing_file(tmp_path):
    write(tmp_path, "warning_rules.csv", "flag,metric\nx,y\n")
    with pytest.raises(RulesError) as raised:
        check(tmp_path)
    assert raised.value.lines == [
        "warning_rules.csv: the header must be flag,metric,comparison,watch_threshold,"
        "act_threshold,severe_threshold,description (severe_threshold may be left out), "
        "is flag,metric",
        f"covenants.csv: missing from {tmp_path}",
    ]


DEFAULTS_HEADER = "organization_number,default_date,kind\n"


def test_a_good_default_history_passes_with_or_without_kinds(tmp_path):
    from pipelines.warehouse.rules_check import check_defaults

    with_kinds = write(tmp_path, "defaults.csv", DEFAULTS_HEADER
                       + f"{GOOD_ORG},2024-03-31,bankruptcy\n"
                       + f"{OTHER_ORG},2025-01-15,\n")  # fmt: skip
    assert check_defaults(with_kinds) == []
    without = write(
        tmp_path, "short.csv", f"organization_number,default_date\n{GOOD_ORG},2024-03-31\n"
    )
    assert check_defaults(without) == []
    assert check_defaults(write(tmp_path, "empty.csv", DEFAULTS_HEADER)) == []


def test_bad_defaults_are_named_one_line_per_row(tmp_path):
    from pipelines.warehouse.rules_check import check_defaults

    path = write(tmp_path, "defaults.csv", DEFAULTS_HEADER
                 + f"{GOOD_ORG},2024-03-31,bankruptcy\n"
                 + "912345603,2024-03-31,\n"
                 + f"{GOOD_ORG},2025-01-01,\n"
                 + f"{OTHER_ORG},31.03.2024,Lost Customer\n"
                 + "12345,2024-01-01,\n")  # fmt: skip
    assert check_defaults(path) == [
        "defaults.csv line 3: organization_number '912345603' has a wrong check digit "
        "(brreg mod-11)",
        "defaults.csv line 4: organization_number 912345602 already has a default on line 2 "
        "(one row per borrower: its first default)",
        "defaults.csv line 5: default_date '31.03.2024' is not a date (YYYY-MM-DD)",
        "defaults.csv line 5: kind 'Lost Customer' must be lower-case letters, digits and _",
        "defaults.csv line 6: organization_number '12345' must have 9 digits, has 5 characters",
    ]
    wrong = write(tmp_path, "wrong.csv", "org,date\n1,2\n")
    assert check_defaults(wrong) == [
        "wrong.csv: the header must be organization_number,default_date,kind (kind may be "
        "left out), is org,date"
    ]


def test_check_reads_the_defaults_seed_when_there_is_one(tmp_path):
    write(tmp_path, "warning_rules.csv", RULES_HEADER + "ok,equity_ratio,<,0.1,,fine\n")
    write(tmp_path, "covenants.csv", COVENANTS_HEADER)
    check(tmp_path)  # no defaults.csv: the backtest is optional
    write(tmp_path, "defaults.csv", DEFAULTS_HEADER + f"{GOOD_ORG},2024-02-30,\n")
    with pytest.raises(RulesError) as raised:
        check(tmp_path)
    assert raised.value.lines == [
        "defaults.csv line 2: default_date '2024-02-30' is not a date (YYYY-MM-DD)"
    ]
