"""Who gets which events (the delivery ledger), what a message says, and what is never said:
unit tests of pipelines/brief/delivery.py on a real DuckDB ledger."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from pipelines.brief import delivery, ledger


def event(event_id: str, run_id: str, baseline: bool, **values) -> dict:
    row = {name: None for name in ledger.EVENT_COLUMNS}
    row.update(
        event_id=event_id,
        organization_number="922654263",
        borrower_name="Hagen & Sønn AS",
        event="opened",
        flag="low_equity_ratio",
        month=dt.date(2026, 3, 31),
        severity="act",
        metric="equity_ratio",
        comparison="<",
        value=-0.041,
        threshold=0.0,
        first_seen_run_id=run_id,
        first_seen_at=dt.datetime(2026, 4, 1, tzinfo=dt.timezone.utc),
        baseline=baseline,
    )
    row.update(values)
    return row


@pytest.fixture
def con():
    con = duckdb.connect(":memory:")
    ledger.ensure(con)
    return con


def add(con, *events: dict) -> None:
    for e in events:
        marks = ", ".join("?" for _ in ledger.EVENT_COLUMNS)
        con.execute(f"insert into ledger.credit_events values ({marks})", list(e.values()))


SETTINGS = delivery.AlertSettings(
    webhook_url="https://hooks.example.com/services/T000/B000/SECRETTOKEN",
    smtp_host="smtp.bank.example",
    smtp_password="hunter2-password",
    email_from="alerts@bank.example",
    email_to=["credit@bank.example"],
)


def test_a_first_message_summarises_history_and_lists_only_this_runs_events(con):
    add(con, event("a", "r1", True), event("b", "r1", True))
    messages = delivery.plan(con, SETTINGS, "r1", "headline", None)
    assert [(m.channel, m.recipient) for m in messages] == [
        ("webhook", "https://hooks.example.com"),
        ("email", "credit@bank.example"),
    ]
    assert all(m.events == [] and len(m.summarised) == 2 for m in messages)
    assert "2 events of the warehouse's history summarised" in messages[0].text()


def test_later_messages_hold_what_was_not_delivered_to_that_receiver(con):
    add(con, event("a", "r1", True))
    con.execute(
        "insert into ledger.alert_deliveries values ('a', 'webhook', 'https://hooks.example.com',"
        " 'r1', now(), 'k')"
    )
    add(con, event("b", "r2", False), event("c", "r3", False))
    messages = delivery.plan(con, SETTINGS, "r3", "headline", None)
    webhook = next(m for m in messages if m.channel == "webhook")
    assert sorted(e["event_id"] for e in webhook.events) == ["b", "c"] and not webhook.summarised
    # the mail receiver never had a message: its first one summarises all but this run's
    mail = next(m for m in messages if m.channel == "email")
    assert [e["event_id"] for e in mail.events] == ["c"]
    assert sorted(e["event_id"] for e in mail.summarised) == ["a", "b"]


def test_a_message_says_the_figures_behind_the_event():
    text = delivery.describe(event("a", "r1", False))
    assert text == (
        "Hagen & Sønn AS (922654263): Low equity ratio: warning opened (act), March 2026: "
        "equity ratio -4.1 %, below the act threshold of 0.0 %"
    )


def test_secrets_are_masked_and_urls_shown_by_host():
    assert delivery.masked_url(SETTINGS.webhook_url) == "https://hooks.example.com"
    hidden = SETTINGS.secrets()
    text = delivery.mask(f"failed {SETTINGS.webhook_url} with hunter2-password", hidden)
    assert "SECRETTOKEN" not in text and "hunter2" not in text


def test_a_refused_connection_is_one_safe_line_and_records_nothing(con, unused_port):
    add(con, event("a", "r1", False))
    con.execute(
        "insert into ledger.alert_deliveries values ('x', 'webhook', 'http://127.0.0.1', 'r0', "
        "now(), 'k')"
    )
    settings = delivery.AlertSettings(
        webhook_url=f"http://127.0.0.1:{unused_port}/hook/SECRETTOKEN", retry_seconds=0
    )
    outcome = delivery.deliver(con, "r1", "headline", None, settings)
    assert outcome.sent == 0 and len(outcome.failed) == 1
    assert "SECRETTOKEN" not in outcome.line() and "http://127.0.0.1" in outcome.line()
    assert con.execute("select count(*) from ledger.alert_deliveries").fetchone() == (1,)


@pytest.fixture
def unused_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_settings_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("ALERTS__SMTP_HOST", "smtp.bank.example")
    monkeypatch.setenv("ALERTS__SMTP_PORT", "465")
    monkeypatch.setenv("ALERTS__EMAIL_FROM", "a@bank.example")
    monkeypatch.setenv("ALERTS__EMAIL_TO", "b@bank.example, c@bank.example")
    monkeypatch.setenv("ALERTS__SMTP_PASSWORD", "pw")
    found = delivery.read_settings()
    assert (found.smtp_port, found.smtp_starttls) == (465, False)
    assert found.email_to == ["b@bank.example", "c@bank.example"] and found.configured
    monkeypatch.setenv("ALERTS__SMTP_PORT", "smtp")
    with pytest.raises(ValueError, match="ALERTS__SMTP_PORT"):
        delivery.read_settings()


def test_relationship_managers_get_their_own_borrowers_events(con):
    con.execute("create schema analytics")
    con.execute(
        "create table analytics.fct_borrower_exposure as select * from (values "
        "('922654263', 'kari@bank.example'), ('835189848', 'ola@bank.example')) "
        "as t(organization_number, relationship_manager)"
    )
    con.execute(
        "insert into ledger.alert_deliveries values ('x', 'email', 'kari@bank.example', 'r0', "
        "now(), 'k'), ('x', 'email', 'ola@bank.example', 'r0', now(), 'k')"
    )
    add(
        con,
        event("a", "r1", False),
        event("b", "r1", False, organization_number="835189848"),
        event("c", "r1", False, organization_number="956231035"),
    )
    settings = delivery.AlertSettings(
        smtp_host="smtp.bank.example",
        email_from="alerts@bank.example",
        email_relationship_managers=True,
    )
    messages = {m.recipient: m for m in delivery.plan(con, settings, "r1", "headline", None)}
    assert set(messages) == {"kari@bank.example", "ola@bank.example"}
    assert [e["event_id"] for e in messages["kari@bank.example"].events] == ["a"]
    assert [e["event_id"] for e in messages["ola@bank.example"].events] == ["b"]
