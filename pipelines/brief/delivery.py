"""Alerts: each new credit event delivered exactly once to a webhook and/or by email, recorded in
the delivery ledger (ledger.alert_deliveries), and never a reason for a load to fail.

Settings, in dlt's config style (`[alerts]` in .dlt/config.toml or .dlt/secrets.toml, or
environment variables): ALERTS__WEBHOOK_URL, ALERTS__SMTP_HOST, ALERTS__SMTP_PORT (587; 465
means TLS from the start), ALERTS__SMTP_STARTTLS (true), ALERTS__SMTP_USER,
ALERTS__SMTP_PASSWORD (a secret), ALERTS__EMAIL_FROM, ALERTS__EMAIL_TO (comma separated),
ALERTS__EMAIL_RELATIONSHIP_MANAGERS (true: each borrower's events also go to the relationship
manager of its loan book), ALERTS__BRIEF_URL (the link emails give; default the brief's file).

Delivery rules (docs/brief.md): a message goes to each recipient with every event the ledger
holds that was not delivered to that recipient yet (so a failed delivery is retried by the next
run with whatever is new by then); the events are recorded as delivered only once the receiver
accepted them (HTTP 2xx; SMTP accepted the message), so an event is never sent twice to the same
receiver. A recipient that has never had a message (the first run of a warehouse, or alerts just
configured) gets one summary of the history instead of one message per past event. The webhook
URL's path and query (where Slack and Teams put their token) and the SMTP password are never
printed or stored: a receiver is named by its scheme and host."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import smtplib
import ssl
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any
from urllib.parse import urlsplit

from pipelines.brief import labels
from pipelines.brief.ledger import SCHEMA

WEBHOOK, EMAIL = "webhook", "email"
ATTEMPTS = 3  # per message and run, for a refused connection, a timeout, 429 or 5xx
TIMEOUT_S = 20.0
LISTED = 25  # events written out in a message's text; the rest counted


@dataclass
class AlertSettings:
    webhook_url: str | None = None
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_starttls: bool = True
    smtp_user: str | None = None
    smtp_password: str | None = None
    email_from: str | None = None
    email_to: list[str] = field(default_factory=list)
    email_relationship_managers: bool = False
    brief_url: str | None = None
    retry_seconds: float = 1.0

    @property
    def configured(self) -> bool:
        return bool(self.webhook_url or (self.smtp_host and self.email_from))

    def secrets(self) -> list[str]:
        """What must never be printed: the password and the webhook URL's path and query."""
        found = [self.smtp_password or ""]
        if self.webhook_url:
            parts = urlsplit(self.webhook_url)
            found += [self.webhook_url, parts.path + ("?" + parts.query if parts.query else "")]
            found += [p for p in parts.path.split("/") if len(p) >= 6]
            if parts.password:
                found.append(parts.password)
        return [s for s in found if s and len(s) >= 4 and s != "/"]


def _setting(name: str) -> Any:
    import dlt

    for accessor in (dlt.secrets, dlt.config):
        try:
            value = accessor.get(f"alerts.{name}")
        except Exception:  # noqa: BLE001 - a setting that cannot be read is not set
            value = None
        if value not in (None, ""):
            return value
    return None


def _flag(value: Any, default: bool) -> bool:
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("1", "true", "yes", "on")


def _addresses(value: Any) -> list[str]:
    if not value:
        return []
    items = value if isinstance(value, list | tuple) else str(value).replace(";", ",").split(",")
    return [str(a).strip() for a in items if str(a).strip()]


def read_settings() -> AlertSettings:
    """The [alerts] settings from the environment and .dlt/ (secrets first, then config)."""
    port = _setting("smtp_port")
    try:
        port_number = int(port) if port is not None else 587
    except ValueError:
        raise ValueError(f"ALERTS__SMTP_PORT {port!r} is not a port number") from None
    retry = _setting("retry_seconds")
    return AlertSettings(
        webhook_url=_setting("webhook_url"),
        smtp_host=_setting("smtp_host"),
        smtp_port=port_number,
        smtp_starttls=_flag(_setting("smtp_starttls"), port_number != 465),
        smtp_user=_setting("smtp_user"),
        smtp_password=_setting("smtp_password"),
        email_from=_setting("email_from"),
        email_to=_addresses(_setting("email_to")),
        email_relationship_managers=_flag(_setting("email_relationship_managers"), False),
        brief_url=_setting("brief_url"),
        retry_seconds=float(retry) if retry is not None else 1.0,
    )


def masked_url(url: str) -> str:
    """scheme://host[:port] of a URL: what may be said about a webhook."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    return f"{parts.scheme}://{host}" + (f":{parts.port}" if parts.port else "")


def mask(text: str, hidden: list[str]) -> str:
    for secret in sorted(hidden, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


# --- what a message says ----------------------------------------------------------------------


# the events of a warning episode, named after its flag
FLAG_EVENTS = ("opened", "rose_to_act", "closed", "monitoring_ended")


def describe(event: dict[str, Any]) -> str:
    """One line: 'Hagen & Sønn AS (922654263): Low equity ratio opened (watch), March 2026:
    equity ratio 4.1 %, below the watch threshold of 10.0 %'."""
    who = f"{event.get('borrower_name') or 'unknown borrower'} ({event['organization_number']})"
    what = labels.event_name(event["event"])
    if event.get("flag") and event["event"] in FLAG_EVENTS:
        what = f"{labels.flag_name(event['flag'])}: {what}"
    elif event.get("flag") and event["event"].startswith("covenant_"):
        what = f"{labels.flag_name(event['flag'])} {what.split(' ', 1)[1]}"
    text = f"{who}: {what}"
    if event.get("severity") in ("watch", "act"):
        text += f" ({event['severity']})"
    text += f", {labels.month(event.get('month'))}"
    figures = figures_text(event)
    return text + (f": {figures}" if figures else "")


def figures_text(event: dict[str, Any]) -> str:
    metric, value, threshold = event.get("metric"), event.get("value"), event.get("threshold")
    if event["event"] in ("score_changed", "risk_class_changed"):
        return f"credit score {labels.number(value, 0)} (was {labels.number(threshold, 0)})" + (
            f", risk class {event['details']}" if event["event"] == "risk_class_changed" else ""
        )
    if event["event"] == "monitoring_ended":
        return event.get("details") or ""
    if event["event"] == "month_revised":
        return f"revenue revised by {labels.pct(value)}; {event.get('details') or ''}".strip()
    if metric == "months_without_snapshot" and value is not None:
        return f"no snapshot for {labels.count(value)} months (act after {labels.count(threshold)})"
    if value is None or threshold is None or not metric or metric == "relationship_state":
        return ""
    level = "act" if event.get("severity") == "act" else "watch"
    covenant = str(event.get("flag") or "").startswith("covenant_")
    side = labels.comparison_words(event.get("comparison"), covenant)
    if covenant:
        return (
            f"{labels.metric_name(metric)} {labels.metric_value(metric, value)}, {side} the "
            f"covenant's {event.get('comparison')} {labels.metric_value(metric, threshold)}"
        )
    if event["event"] in ("closed", "covenant_cured", "resumed_reporting"):
        return (
            f"{labels.metric_name(metric)} {labels.metric_value(metric, value)}, back inside "
            f"the threshold of {labels.metric_value(metric, threshold)}"
        )
    return (
        f"{labels.metric_name(metric)} {labels.metric_value(metric, value)}, {side} the "
        f"{level} threshold of {labels.metric_value(metric, threshold)}"
    )


def event_json(event: dict[str, Any]) -> dict[str, Any]:
    def plain(value: Any) -> Any:
        if isinstance(value, dt.datetime | dt.date):
            return value.isoformat()
        return value

    keys = (
        "event_id",
        "organization_number",
        "borrower_name",
        "event",
        "flag",
        "month",
        "severity",
        "metric",
        "comparison",
        "value",
        "threshold",
        "months_flagged",
        "details",
        "first_seen_run_id",
        "first_seen_at",
    )
    body = {k: plain(event.get(k)) for k in keys}
    body["text"] = describe(event)
    return body


@dataclass
class Message:
    """One message to one recipient: the events it delivers and the words that go with them."""

    channel: str
    recipient: str  # an email address, or the webhook's scheme and host
    events: list[dict[str, Any]]  # listed one by one
    summarised: list[dict[str, Any]]  # history summarised in counts (a first message)
    headline: str
    brief_url: str | None
    run_id: str

    @property
    def event_ids(self) -> list[str]:
        return [e["event_id"] for e in self.events + self.summarised]

    @property
    def key(self) -> str:
        """The same message, if it is ever sent again, has the same key (Idempotency-Key,
        Message-ID)."""
        ids = "|".join(sorted(self.event_ids)) + "|" + self.channel + "|" + self.recipient
        return hashlib.sha256(ids.encode()).hexdigest()[:32]

    def history_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for e in self.summarised:
            counts[e["event"]] = counts.get(e["event"], 0) + 1
        return counts

    def text(self) -> str:
        lines = [self.headline]
        if self.summarised:
            counts = ", ".join(
                f"{n:,} {labels.event_name(k)}" for k, n in sorted(self.history_counts().items())
            )
            lines.append(
                f"First message to this receiver: {len(self.summarised):,} events of the "
                f"warehouse's history summarised ({counts}); from now on each new event is sent "
                "once."
            )
        for e in self.events[:LISTED]:
            lines.append("• " + describe(e))
        if len(self.events) > LISTED:
            lines.append(f"… and {len(self.events) - LISTED:,} more in the brief")
        if self.brief_url:
            lines.append(f"The brief: {self.brief_url}")
        return "\n".join(lines)

    def webhook_body(self) -> dict[str, Any]:
        return {
            "text": self.text(),
            "events": [event_json(e) for e in self.events],
            "summary": {
                "history_events": len(self.summarised),
                "history_counts": self.history_counts(),
                "new_events": len(self.events),
            },
            "run_id": self.run_id,
            "brief": self.brief_url,
        }

    def email(self, sender: str) -> EmailMessage:
        import html

        mail = EmailMessage()
        mail["From"] = sender
        mail["To"] = self.recipient
        mail["Subject"] = self.headline
        mail["Date"] = formatdate(localtime=False)
        mail["Message-ID"] = f"<{self.key}@symetrisk>"
        # for a mail rule or a ticketing system: which events this message delivers
        mail["X-Symetrisk-Events"] = ", ".join(e["event_id"] for e in self.events) or "none"
        mail["X-Symetrisk-Summarised"] = str(len(self.summarised))
        mail.set_content(self.text())
        items = "".join(f"<li>{html.escape(describe(e))}</li>" for e in self.events[:LISTED])
        more = (
            f"<p>… and {len(self.events) - LISTED:,} more in the brief.</p>"
            if len(self.events) > LISTED
            else ""
        )
        history = f"<p>{html.escape(self.text().splitlines()[1])}</p>" if self.summarised else ""
        link = (
            f'<p><a href="{html.escape(self.brief_url)}">Open the credit brief</a></p>'
            if self.brief_url
            else ""
        )
        mail.add_alternative(
            f"<html><body><h2>{html.escape(self.headline)}</h2>{history}"
            f"<ul>{items}</ul>{more}{link}</body></html>",
            subtype="html",
        )
        return mail


# --- who gets what ----------------------------------------------------------------------------


def _delivered(con: Any, channel: str, recipient: str) -> set[str]:
    rows = con.execute(
        f"select event_id from {SCHEMA}.alert_deliveries where channel = ? and recipient = ?",
        [channel, recipient],
    ).fetchall()
    return {r[0] for r in rows}


def _all_events(con: Any) -> list[dict[str, Any]]:
    cursor = con.execute(
        f"""select e.*, x.relationship_manager
        from {SCHEMA}.credit_events as e
        left join ({_managers_sql(con)}) as x on x.organization_number = e.organization_number
        order by case e.severity when 'act' then 0 when 'watch' then 1 else 2 end,
            e.organization_number, e.month, e.event, e.flag"""
    )
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _managers_sql(con: Any) -> str:
    found = con.execute(
        "select count(*) from information_schema.tables where table_schema = 'analytics' "
        "and table_name = 'fct_borrower_exposure'"
    ).fetchone()[0]
    if found:
        return (
            "select organization_number, relationship_manager from analytics.fct_borrower_exposure"
        )
    return (
        "select null::varchar as organization_number, null::varchar as relationship_manager "
        "where false"
    )


def plan(
    con: Any, settings: AlertSettings, run_id: str, headline: str, brief_url: str | None
) -> list[Message]:
    """The messages this run owes: per recipient, the events not yet delivered to it."""
    events = _all_events(con)
    wanted: list[tuple[str, str, list[dict[str, Any]]]] = []
    if settings.webhook_url:
        wanted.append((WEBHOOK, masked_url(settings.webhook_url), events))
    if settings.smtp_host and settings.email_from:
        for address in settings.email_to:
            wanted.append((EMAIL, address, events))
        if settings.email_relationship_managers:
            managers = sorted({e["relationship_manager"] for e in events} - {None})
            for manager in managers:
                if manager in settings.email_to:
                    continue
                own = [e for e in events if e["relationship_manager"] == manager]
                wanted.append((EMAIL, manager, own))
    messages = []
    for channel, recipient, theirs in wanted:
        done = _delivered(con, channel, recipient)
        pending = [e for e in theirs if e["event_id"] not in done]
        if not pending:
            continue
        if not done and not _ever_delivered(con, channel, recipient):
            old = [e for e in pending if e["baseline"] or e["first_seen_run_id"] != run_id]
            new = [e for e in pending if not (e["baseline"] or e["first_seen_run_id"] != run_id)]
        else:
            old, new = [], pending
        messages.append(Message(channel, recipient, new, old, headline, brief_url, run_id))
    return messages


def _ever_delivered(con: Any, channel: str, recipient: str) -> bool:
    return bool(
        con.execute(
            f"select count(*) from {SCHEMA}.alert_deliveries where channel = ? and recipient = ?",
            [channel, recipient],
        ).fetchone()[0]
    )


# --- sending ----------------------------------------------------------------------------------


class DeliveryFailed(Exception):
    """The receiver did not accept the message; the message is safe to print."""


def ssl_context() -> ssl.SSLContext:
    """The bank's trust store: the CA variables, else the system's store, else certifi."""
    bundle = (
        os.environ.get("REQUESTS_CA_BUNDLE")
        or os.environ.get("CURL_CA_BUNDLE")
        or os.environ.get("SSL_CERT_FILE")
    )
    if bundle:
        return ssl.create_default_context(cafile=bundle)
    context = ssl.create_default_context()
    if not context.get_ca_certs():
        import certifi

        context.load_verify_locations(certifi.where())
    return context


def user_agent() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"symetrisk-credit-trends/{version('symetrisk-credit-trends')} (alerts)"
    except PackageNotFoundError:
        return "symetrisk-credit-trends (alerts)"


def send_webhook(message: Message, settings: AlertSettings) -> None:
    import requests

    bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    body = json.dumps(message.webhook_body(), ensure_ascii=False, default=str).encode()
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "Idempotency-Key": message.key,
        "User-Agent": user_agent(),
    }
    last = ""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            with requests.Session() as session:  # trust_env: the proxy variables are honoured
                answer = session.post(
                    settings.webhook_url or "",
                    data=body,
                    headers=headers,
                    timeout=TIMEOUT_S,
                    verify=bundle or True,
                    allow_redirects=False,
                )
        except requests.exceptions.SSLError:
            raise DeliveryFailed("certificate not trusted (see the CA settings)") from None
        except requests.exceptions.ProxyError:
            raise DeliveryFailed("the proxy refused the connection") from None
        except requests.exceptions.RequestException as exc:
            last = type(exc).__name__
        else:
            if 200 <= answer.status_code < 300:
                return
            last = f"HTTP {answer.status_code}"
            if answer.status_code != 429 and answer.status_code < 500:
                break
        if attempt < ATTEMPTS:
            time.sleep(settings.retry_seconds * attempt)
    raise DeliveryFailed(last or "no answer")


def send_email(message: Message, settings: AlertSettings) -> None:
    mail = message.email(settings.email_from or "")
    try:
        if settings.smtp_port == 465:
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                settings.smtp_host or "", settings.smtp_port, timeout=TIMEOUT_S,
                context=ssl_context(),
            )  # fmt: skip
        else:
            client = smtplib.SMTP(settings.smtp_host or "", settings.smtp_port, timeout=TIMEOUT_S)
        with client:
            client.ehlo()
            if settings.smtp_starttls and settings.smtp_port != 465:
                client.starttls(context=ssl_context())
                client.ehlo()
            if settings.smtp_user:
                client.login(settings.smtp_user, settings.smtp_password or "")
            refused = client.send_message(mail)
    except smtplib.SMTPAuthenticationError:
        raise DeliveryFailed("the SMTP server refused the user name or password") from None
    except (smtplib.SMTPException, OSError) as exc:
        raise DeliveryFailed(f"{type(exc).__name__}: {_smtp_reason(exc)}") from None
    if refused:
        raise DeliveryFailed(f"the SMTP server refused {len(refused)} recipient(s)")


def _smtp_reason(exc: BaseException) -> str:
    code = getattr(exc, "smtp_code", None)
    if code:
        return f"SMTP {code}"
    return getattr(exc, "strerror", None) or str(exc).splitlines()[0][:120]


@dataclass
class Outcome:
    sent: int = 0  # messages accepted
    events: int = 0  # event deliveries recorded
    failed: list[str] = field(default_factory=list)  # one safe line per failed message

    def line(self) -> str | None:
        if not self.failed:
            return None
        return (
            f"alerts not delivered: {'; '.join(self.failed)}; the load is unaffected and the "
            "next run sends them again"
        )


def deliver(
    con: Any,
    run_id: str,
    headline: str,
    brief_url: str | None,
    settings: AlertSettings | None = None,
    now: dt.datetime | None = None,
) -> Outcome:
    """Send what this run owes to each recipient and record each accepted delivery. Never
    raises for a receiver's failure (Outcome.failed says it, without secrets)."""
    settings = settings or read_settings()
    outcome = Outcome()
    if not settings.configured:
        return outcome
    hidden = settings.secrets()
    for message in plan(con, settings, run_id, headline, brief_url):
        try:
            if message.channel == WEBHOOK:
                send_webhook(message, settings)
            else:
                send_email(message, settings)
        except DeliveryFailed as exc:
            outcome.failed.append(mask(f"{message.channel} {message.recipient}: {exc}", hidden))
            continue
        except Exception as exc:  # noqa: BLE001 - alerts never fail a load
            text = f"{message.channel} {message.recipient}: {type(exc).__name__}"
            outcome.failed.append(mask(text, hidden))
            continue
        stamp = now or dt.datetime.now(dt.timezone.utc)
        con.executemany(
            f"insert into {SCHEMA}.alert_deliveries values (?, ?, ?, ?, ?, ?)",
            [
                [event_id, message.channel, message.recipient, run_id, stamp, message.key]
                for event_id in message.event_ids
            ],
        )
        outcome.sent += 1
        outcome.events += len(message.event_ids)
    return outcome
