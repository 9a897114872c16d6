"""End to end: `symetrisk run` against the real sandbox over HTTP, a month apart, with a real
webhook receiver and a real SMTP server. The events each run records, delivers and shows in its
brief are checked against what the test works out itself from fct_warning_episodes of the two
published builds."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import duckdb
import pytest
import requests

from pipelines import cli
from pipelines.sandbox.tenants import CLIENTS
from tests.brief.receivers import Mailbox, Webhook, mail_event_ids

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

TOKEN = "T0KEN-xoxb-5511-secret-path"
PASSWORD = "pw-Very-Secret-42"
OPEN = {"stale_data": "stopped_reporting", "consent_revoked": "consent_revoked"}
CLOSE = {"stale_data": "resumed_reporting"}
# closed because monitoring ended (docs/warnings.md), not because the borrower got better
UNMONITORED = {"consent_revoked", "stopped_reporting", "lapsed"}


def point_at(monkeypatch, sandbox, webhook: Webhook, mailbox: Mailbox) -> None:
    api = {
        "BASE_URL": sandbox.api_url,
        "TOKEN_URL": sandbox.token_url,
        "CLIENT_ID": "demo-bank",
        "CLIENT_SECRET": CLIENTS["demo-bank"].secret,
    }
    for name, value in api.items():
        monkeypatch.setenv(f"SOURCES__SYMETRISK__{name}", value)
    alerts = {
        "WEBHOOK_URL": webhook.url(TOKEN),
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(mailbox.port),
        "SMTP_STARTTLS": "false",
        "SMTP_USER": "alerts",
        "SMTP_PASSWORD": PASSWORD,
        "EMAIL_FROM": "symetrisk@bank.example",
        "EMAIL_TO": "credit-team@bank.example",
        "RETRY_SECONDS": "0",
    }
    for name, value in alerts.items():
        monkeypatch.setenv(f"ALERTS__{name}", value)


def run(tmp_path: Path, capsys, *extra: str) -> tuple[int, str, str]:
    code = cli.main(
        [
            "run",
            "--destination",
            str(tmp_path / "wh" / "bank.duckdb"),
            "--pipelines-dir",
            str(tmp_path / "dlt"),
            *extra,
        ]
    )
    out, err = capsys.readouterr()
    assert "credit events not recorded" not in err, err
    assert "brief not written" not in err, err
    return code, out, err


def keep_build(tmp_path: Path, name: str) -> Path:
    """A copy of the published build as it is now."""
    copy = tmp_path / f"{name}.duckdb"
    shutil.copyfile(tmp_path / "wh" / "bank.duckdb", copy)
    return copy


def rows(path: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(sql).fetchall()


def episode_events(path: Path) -> set[tuple]:
    """Every (borrower, event, flag, month) the episodes of a build imply, by the rules of
    docs/brief.md, worked out here from fct_warning_episodes alone."""
    found = set()
    for org, flag, opened, act, closed, reason in rows(
        path,
        "select organization_number, flag, opened_month, act_month, closed_month, "
        "closed_reason from analytics.fct_warning_episodes",
    ):
        covenant = flag.startswith("covenant_")
        found.add(
            (org, "covenant_breached" if covenant else OPEN.get(flag, "opened"), flag, opened)
        )
        if act is not None and act > opened:
            found.add((org, "rose_to_act", flag, act))
        if closed is not None and reason in UNMONITORED:
            found.add((org, "monitoring_ended", flag, closed))
        elif closed is not None:
            found.add(
                (org, "covenant_cured" if covenant else CLOSE.get(flag, "closed"), flag, closed)
            )
    return found


def exposure_from_the_loan_book(as_of) -> dict[str, float]:
    """Drawn NOK per borrower of the facilities running at `as_of`, read from the CSV."""
    import csv

    seeds = Path(cli.__file__).resolve().parents[2] / "sql" / "seeds" / "facilities.csv"
    drawn: dict[str, float] = {}
    with seeds.open(newline="") as f:
        for row in csv.DictReader(f):
            start, end = row["valid_from"], row["valid_to"] or "9999-12-31"
            if row["currency"] == "NOK" and start <= as_of.isoformat() <= end:
                org = row["organization_number"]
                drawn[org] = drawn.get(org, 0.0) + float(row["drawn_amount"])
    return drawn


def ledger_events(path: Path, run_id: str) -> set[tuple]:
    return set(
        rows(
            path,
            "select organization_number, event, flag, month from ledger.credit_events "
            f"where first_seen_run_id = '{run_id}' and flag is not null",
        )
    )


def run_id_of(out: str) -> str:
    return re.search(r"^symetrisk-run .*?run_id=(\S+)", out, re.M).group(1)


def line_keys(out: str) -> dict[str, str]:
    line = next(text for text in out.splitlines() if text.startswith("symetrisk-run "))
    return dict(pair.split("=", 1) for pair in line.split()[1:] if "=" in pair)


def brief_event_ids(tmp_path: Path) -> set[str]:
    html = (tmp_path / "wh" / "reports" / "latest.html").read_text(encoding="utf-8")
    return set(re.findall(r"data-event='([0-9a-f]+)'", html))


def assert_no_secret(tmp_path: Path, *outputs: str) -> None:
    """Neither the SMTP password nor the webhook's token in any output, in any file of the
    warehouse's folder or the pipelines dir, or in the project's pipelines/ sources."""
    secrets = [PASSWORD.encode(), TOKEN.encode(), TOKEN[::-1].encode()]
    for text in outputs:
        for secret in secrets:
            assert secret.decode() not in text
    folders = [tmp_path / "wh", tmp_path / "dlt", Path(cli.__file__).resolve().parent]
    for folder in folders:
        for file in folder.rglob("*"):
            if file.is_file():
                data = file.read_bytes()
                for secret in secrets:
                    assert secret not in data, f"{secret!r} in {file}"


def test_two_runs_a_month_apart_hold_exactly_what_changed(
    tmp_path, capsys, monkeypatch, start_sandbox
):
    monkeypatch.chdir(tmp_path)
    webhook = Webhook().start()
    mailbox = Mailbox("alerts", PASSWORD).start()
    try:
        with start_sandbox(borrowers=120, months=24) as sandbox:
            point_at(monkeypatch, sandbox, webhook, mailbox)
            code, out1, err1 = run(tmp_path, capsys)
            assert code == 0, err1 + out1
            first = keep_build(tmp_path, "first")
            run1 = run_id_of(out1)
            history = rows(first, "select count(*) from ledger.credit_events")[0][0]
            assert (
                history
                == len(ledger_events(first, run1))
                + rows(first, "select count(*) from ledger.credit_events where flag is null")[0][0]
            )
            # the first run of a warehouse: one summary to each receiver, no event listed
            assert "credit: first run of this warehouse" in out1
            assert len(webhook.accepted) == 1 and webhook.accepted[0]["events"] == []
            assert webhook.accepted[0]["summary"]["history_events"] == history
            assert len(mailbox.accepted) == 1 and mail_event_ids(mailbox) == []
            assert episode_events(first) == ledger_events(first, run1)

            # a month passes, and one borrower revokes the bank's access
            answer = requests.post(sandbox.base_url + "/sandbox/advance-month", timeout=30)
            answer.raise_for_status()
            approved = rows(
                first,
                "select organization_number from analytics.dim_borrower "
                "where relationship_state = 'access_approved' order by 1",
            )[0][0]
            requests.post(
                f"{sandbox.base_url}/sandbox/relationships/{approved}/revoke", timeout=30
            ).raise_for_status()
            code, out2, err2 = run(tmp_path, capsys)
            assert code == 0, err2 + out2
            second = keep_build(tmp_path, "second")
            run2 = run_id_of(out2)

            expected = episode_events(second) - episode_events(first)
            assert (approved, "consent_revoked", "consent_revoked") in {e[:3] for e in expected}
            assert len({e[1] for e in expected}) >= 2, expected
            assert ledger_events(second, run2) == expected
            # every event of run 2 (those of episodes and the rest) reached each receiver
            # once, and its brief lists exactly them
            new_ids = {
                r[0]
                for r in rows(
                    second,
                    f"select event_id from ledger.credit_events where first_seen_run_id = '{run2}'",
                )
            }
            assert len(webhook.accepted) == 2
            assert sorted(webhook.event_ids()) == sorted(new_ids)
            assert sorted(mail_event_ids(mailbox)) == sorted(new_ids)
            assert brief_event_ids(tmp_path) == new_ids
            sent = {
                (e["organization_number"], e["event"], e["flag"], e["month"])
                for e in webhook.accepted[1]["events"]
                if e["flag"]
            }
            assert sent == {(o, e, f, m.isoformat()) for o, e, f, m in expected}
            for event in webhook.accepted[1]["events"]:
                assert event["borrower_name"] and event["severity"] in ("watch", "act", "info")
            # the counts of the credit line and the run line are those events
            keys = line_keys(out2)
            assert int(keys["credit_events_new"]) == len(new_ids)
            opened = sum(1 for e in expected if e[1] == "opened")
            assert int(keys["credit_opened"]) == opened
            assert "credit: " in out2 and "first run" not in out2
            mail = mailbox.accepted[1]
            assert mail.get_body(("html",)) is not None
            assert "latest.html" in mail.get_body(("plain",)).get_content() or "credit-brief-" in (
                mail.get_body(("plain",)).get_content()
            )

            # the watchlist's exposure is the loan book's, summed here from the CSV
            as_of = rows(second, "select max(month_end) from analytics.fct_borrower_month")[0][0]
            book = exposure_from_the_loan_book(as_of)
            watched = rows(
                second,
                "select organization_number, drawn_nok from ledger.watchlist "
                f"where run_id = '{run2}'",
            )
            assert watched and all((drawn or 0.0) == book.get(org, 0.0) for org, drawn in watched)
            assert any(drawn for _, drawn in watched)

            # nothing new: nothing recorded, nothing sent; --no-report leaves the brief as it was
            latest = (tmp_path / "wh" / "reports" / "latest.html").read_bytes()
            code, out3, err3 = run(tmp_path, capsys, "--no-report")
            assert code == 0, err3 + out3
            run3 = run_id_of(out3)
            third = keep_build(tmp_path, "third")
            assert rows(
                third,
                f"select count(*) from ledger.credit_events where first_seen_run_id = '{run3}'",
            ) == [(0,)]
            assert "credit: nothing new since the last run" in out3
            assert len(webhook.accepted) == 2 and len(mailbox.accepted) == 2
            assert webhook.refused == 0 and mailbox.refused == 0
            assert "brief:" not in out3
            assert (tmp_path / "wh" / "reports" / "latest.html").read_bytes() == latest
            # `symetrisk report` writes it again, from the published build: nothing new in it
            warehouse = str(tmp_path / "wh" / "bank.duckdb")
            assert cli.main(["report", "--destination", warehouse]) == 0
            out4, err4 = capsys.readouterr()
            assert "latest.html" in out4, err4
            assert brief_event_ids(tmp_path) == set()
            assert "Nothing new since the last run." in (
                tmp_path / "wh" / "reports" / "latest.html"
            ).read_text(encoding="utf-8")
            assert_no_secret(tmp_path, out1, err1, out2, err2, out3, err3)
    finally:
        webhook.stop()
        mailbox.stop()


def test_receivers_down_or_failing_get_each_event_exactly_once(
    tmp_path, capsys, monkeypatch, start_sandbox
):
    monkeypatch.chdir(tmp_path)
    webhook = Webhook().start()
    mailbox = Mailbox("alerts", PASSWORD).start()
    outputs = []
    try:
        with start_sandbox(borrowers=40, months=24) as sandbox:
            point_at(monkeypatch, sandbox, webhook, mailbox)

            def next_month_and_run() -> tuple[str, str]:
                requests.post(
                    sandbox.base_url + "/sandbox/advance-month", timeout=30
                ).raise_for_status()
                code, out, err = run(tmp_path, capsys)
                outputs.extend([out, err])
                assert code == 0, err + out  # a delivery failure never fails the load
                return out, err

            code, out, err = run(tmp_path, capsys)
            outputs.extend([out, err])
            assert code == 0, err + out
            assert len(webhook.accepted) == 1 and len(mailbox.accepted) == 1  # the summary

            # both receivers down for one run: the run stays ok and says so in one line
            webhook.stop()
            mailbox.stop()
            out, err = next_month_and_run()
            assert "outcome=ok" in out and "alerts_failed=2" in out
            failed = [t for t in err.splitlines() if t.startswith("alerts not delivered")]
            assert len(failed) == 1 and "http://127.0.0.1" in failed[0]
            status = cli.main(
                ["status", "--pipelines-dir", str(tmp_path / "dlt"),
                 "--destination", str(tmp_path / "wh" / "bank.duckdb")]
            )  # fmt: skip
            shown, _ = capsys.readouterr()
            outputs.append(shown)
            assert "could not deliver 2 alert message(s)" in shown, (status, shown)

            # up again: the missed events and the new ones, once
            webhook.start()
            mailbox.start()
            next_month_and_run()
            assert len(webhook.accepted) == 2 and len(mailbox.accepted) == 2

            # answering 500 (the webhook) and 451 (the mail server): not delivered, retried
            webhook.mode = mailbox.mode = "fail"
            out, _ = next_month_and_run()
            assert "alerts_failed=2" in out
            assert webhook.refused >= 1 and mailbox.refused >= 1
            webhook.mode = mailbox.mode = "ok"
            code, out, err = run(tmp_path, capsys)  # nothing new from the API, only the retry
            outputs.extend([out, err])
            assert code == 0 and "alerts_sent=2" in out, err + out
            assert any("month materially revised" in m for m in mailbox.event_lines())
            assert len(webhook.accepted) == 3 and len(mailbox.accepted) == 3

            build = keep_build(tmp_path, "last")
            # the deliveries of the last run reach the published file with the next build
            all_new = {
                r[0]
                for r in rows(build, "select event_id from ledger.credit_events where not baseline")
            }
            assert sorted(webhook.event_ids()) == sorted(set(webhook.event_ids()))
            assert set(webhook.event_ids()) == all_new
            assert sorted(mail_event_ids(mailbox)) == sorted(set(mail_event_ids(mailbox)))
            assert set(mail_event_ids(mailbox)) == all_new
            assert all(p.startswith(f"/hooks/{TOKEN}") for p in webhook.paths)
            assert mailbox.logins and all(user == "alerts" for user, _ in mailbox.logins)
            assert_no_secret(tmp_path, *outputs)
    finally:
        webhook.stop()
        mailbox.stop()
