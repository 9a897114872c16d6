"""The loan book (facilities.csv) is checked like the covenants: every bad row named."""

from __future__ import annotations

from pathlib import Path

from pipelines.warehouse import rules_check

HEADER = ",".join(rules_check.FACILITY_COLUMNS)
SEEDS = Path(rules_check.__file__).resolve().parents[2] / "sql" / "seeds"


def test_the_demo_loan_book_passes():
    assert rules_check.check_facilities(SEEDS / "facilities.csv") == []


def test_every_bad_row_is_named(tmp_path):
    path = tmp_path / "facilities.csv"
    path.write_text(
        HEADER
        + "\n835189848,F1,term_loan,1000000,500000,NOK,kari@bank.example,2024-01-01,\n"
        + "835189849,F1,,10,20,kroner,not-an-email,2024-13-01,\n"
        + "956231035,F3,overdraft,-5,0,NOK,,2025-01-01,2024-01-01\n"
    )
    problems = rules_check.check_facilities(path)
    text = "\n".join(problems)
    assert "line 3: organization_number '835189849'" in text
    assert "line 3: facility_id 'F1' is already used on line 2" in text
    assert "line 3: product is empty" in text
    assert "line 3: drawn_amount 20 is more than 10 % over the limit 10" in text
    assert "line 3: currency 'kroner'" in text
    assert "line 3: relationship_manager 'not-an-email'" in text
    assert "line 3: valid_from '2024-13-01'" in text
    assert "line 4: limit_amount -5 is negative" in text
    assert "line 4: valid_to 2024-01-01 is before valid_from 2025-01-01" in text
    assert all("line 2" not in p.split(":")[0] for p in problems)
