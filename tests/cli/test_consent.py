"""Consent requests against the real sandbox over HTTP: request-access moves a new borrower to
`access_requested` and prints its signup link; once the borrower approves, the next run loads its
history and `status` shows it approved. Bad numbers, missing settings, a read-only client and a
client of the wrong role each get one clear line."""

from __future__ import annotations

import duckdb
import pytest
import requests

from pipelines import cli
from pipelines.orgnr import check_digit, from_prefix
from pipelines.symetrisk import settings
from tests.conftest import fetch_all, session_for, use_api


def new_borrowers(sb, n: int) -> list[str]:
    """Valid organisation numbers the bank has no relationship with."""
    known = {r["organization_number"] for r in relationships(sb)}
    found = []
    for prefix in range(91_234_560, 91_235_000):
        if check_digit(f"{prefix:08d}") is not None and from_prefix(prefix) not in known:
            found.append(from_prefix(prefix))
        if len(found) == n:
            return found
    raise AssertionError("no free organisation numbers")


def relationships(sb) -> list[dict]:
    with session_for(sb) as bank:
        return fetch_all(bank, sb.api_url + settings.RELATIONSHIPS)


def state_of(sb, org: str) -> str | None:
    return next(
        (r["relationship_state"] for r in relationships(sb) if r["organization_number"] == org),
        None,
    )


def test_bad_number_is_refused_before_any_request(clean_env, capsys):
    code = cli.main(["request-access", "810000007", "12345678X"])
    out, err = capsys.readouterr()
    assert code == 2
    assert "'12345678X'" in err and "digits only" in err
    assert "Traceback" not in out + err and not (clean_env / "data").exists()


def test_no_client_id_says_which_settings_to_set(clean_env, capsys):
    code = cli.main(["request-access", "810000007"])
    err = capsys.readouterr().err
    assert code == 2
    assert "no SOURCES__SYMETRISK__CLIENT_ID configured" in err
    assert "symetrisk sandbox" in err and "Traceback" not in err


@pytest.mark.e2e
def test_request_approve_run_then_status_shows_it_approved(
    clean_env, monkeypatch, capsys, start_sandbox
):
    with start_sandbox(borrowers=10, months=8) as sb:
        use_api(monkeypatch, sb.base_url)
        assert cli.main(["run", "--quiet", "--no-models"]) == 0
        org = new_borrowers(sb, 1)[0]
        capsys.readouterr()

        assert cli.main(["request-access", org]) == 0
        out = capsys.readouterr().out
        assert state_of(sb, org) == settings.REQUESTED
        link = next(line for line in out.splitlines() if org in line).split()[-1]
        assert link.startswith("https://") and org in link
        assert "recorded in symetrisk_raw.consent_requests" in out

        assert cli.main(["status", "--borrowers", org]) == 0
        assert f"borrower   {org}: access_requested; no snapshots loaded" in capsys.readouterr().out

        approve = requests.post(f"{sb.base_url}/sandbox/relationships/{org}/approve", timeout=10)
        approve.raise_for_status()
        assert cli.main(["run", "--quiet", "--no-models"]) == 0
        with session_for(sb) as bank:
            history = fetch_all(bank, sb.api_url + settings.ACCOUNTING_DATA.format(
                organization_number=org))  # fmt: skip
        capsys.readouterr()
        assert cli.main(["status", "--borrowers", org]) == 0
        out = capsys.readouterr().out

    assert len(history) > 0
    assert f"borrower   {org}: access_approved; {len(history)} months loaded" in out
    with duckdb.connect(str(clean_env / "data" / "symetrisk.duckdb"), read_only=True) as con:
        loaded = con.execute(
            "select count(*) from symetrisk_raw.accounting_snapshots where organization_number = ?",
            [org],
        ).fetchone()[0]
        asked = con.execute(
            "select client_id, relationship_state, signup_link from "
            "symetrisk_raw.consent_requests where organization_number = ?",
            [org],
        ).fetchall()
    assert loaded == len(history)
    assert asked == [("demo-bank", settings.REQUESTED, link)]


@pytest.mark.e2e
def test_wrong_clients_get_one_clear_line(clean_env, monkeypatch, capsys, start_sandbox):
    with start_sandbox(borrowers=5, months=3) as sb:
        org = new_borrowers(sb, 1)[0]
        use_api(monkeypatch, sb.base_url, CLIENT_ID="demo-bank-readonly")
        code = cli.main(["request-access", org])
        out, err = capsys.readouterr()
        assert code == 1 and out == ""
        assert err.strip() == (
            "symetrisk request-access: client demo-bank-readonly lacks the write scope "
            f"{settings.WRITE_SCOPE}: `symetrisk request-access` needs a client with write "
            "access. Set SOURCES__SYMETRISK__CLIENT_ID and SOURCES__SYMETRISK__CLIENT_SECRET to "
            "such a client, or ask Symetrisk to give this one the scope."
        )
        assert state_of(sb, org) is None

        use_api(monkeypatch, sb.base_url, CLIENT_ID="demo-scorer")
        code = cli.main(["request-access", org])
        err = capsys.readouterr().err
        assert code == 1 and "is for bank clients" in err and "credit_scorer" in err
        assert "Traceback" not in err


@pytest.mark.e2e
def test_scorer_and_partner_commands(clean_env, monkeypatch, capsys, start_sandbox):
    with start_sandbox(borrowers=5, months=3) as sb:
        debtor, scorer = new_borrowers(sb, 2)
        with session_for(sb, "demo-scorer") as session:
            me = session.get(sb.api_url + settings.SELF, timeout=10).json()
        creditor = me["company"]["brreg_organization_number"]

        use_api(monkeypatch, sb.base_url, CLIENT_ID="demo-scorer")
        code = cli.main(["request-debtor-access", "--creditor", creditor, debtor, "--no-record"])
        out, err = capsys.readouterr()
        assert code == 0, err
        assert f"  {debtor}  access_requested" in out and "https://" in out
        with session_for(sb, "demo-scorer") as session:
            debtors = fetch_all(session, sb.api_url + f"/list-debtors/{creditor}")
        assert {"organization_number": debtor, "relationship_state": settings.REQUESTED} in [
            {k: d[k] for k in ("organization_number", "relationship_state")} for d in debtors
        ]

        use_api(monkeypatch, sb.base_url, CLIENT_ID="demo-partner")
        code = cli.main(["create-credit-scorer", scorer])
        out, err = capsys.readouterr()
        assert code == 0, err
        assert f"  {scorer}  " in out and "recorded in symetrisk_raw.consent_requests" in out
        with session_for(sb, "demo-partner") as session:
            partner = session.get(sb.api_url + settings.PARTNER, timeout=10).json()
        assert scorer in [s["organization_number"] for s in partner["credit_scorers"]]
