"""Who is in the sandbox and what they agreed to: the institutions (banks, a credit scorer, a
partner), their API clients and tokens, the consent relationships to companies, the
notifications, and the clock that publishes new months. The companies' numbers themselves
come from portfolio.py."""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np

from pipelines import orgnr
from pipelines.sandbox.portfolio import Portfolio, iso, unit

READ = "https://api.symetrisk.com/read"
WRITE = "https://api.symetrisk.com/write"

STATES = ("access_requested", "access_approved", "access_revoked", "access_denied")
# Initial mix of relationship states: mostly approved.
STATE_MIX = (
    ("access_approved", 0.80),
    ("access_requested", 0.08),
    ("access_revoked", 0.07),
    ("access_denied", 0.05),
)

SIGNUP_BASE = "https://app.symetrisk.com/signup/"


@dataclass(frozen=True)
class Institution:
    key: str
    role: str  # "bank" | "credit_scorer" | "partner"
    id: int
    name: str
    organization_number: str
    created_at: str


@dataclass(frozen=True)
class Client:
    client_id: str
    secret: str
    institution: str
    scopes: tuple[str, ...]


# The demo clients printed by `symetrisk sandbox` and used by tests and `symetrisk run`.
CLIENTS = {
    c.client_id: c
    for c in (
        Client("demo-bank", "demo-bank-secret", "demo-bank", (READ, WRITE)),
        Client("demo-bank-readonly", "demo-bank-readonly-secret", "demo-bank", (READ,)),
        Client("other-bank", "other-bank-secret", "other-bank", (READ, WRITE)),
        Client("demo-scorer", "demo-scorer-secret", "demo-scorer", (READ, WRITE)),
        Client("demo-partner", "demo-partner-secret", "demo-partner", (READ, WRITE)),
    )
}
OTHER_BANK_BORROWERS = 12


@dataclass
class Relationship:
    id: int
    organization_number: str
    relationship_state: str
    requested_at: str
    approved_at: str | None = None
    revoked_at: str | None = None
    denied_at: str | None = None
    updated_at: str = ""

    def as_json(self, company_name: str) -> dict:
        return {
            "id": self.id,
            "organization_number": self.organization_number,
            "company_name": company_name,
            "relationship_state": self.relationship_state,
            "requested_at": self.requested_at,
            "approved_at": self.approved_at,
            "revoked_at": self.revoked_at,
            "denied_at": self.denied_at,
            "updated_at": self.updated_at,
        }


@dataclass
class Book:
    """One institution's relationships (a bank's borrowers, a scorer's debtors), by id."""

    institution: Institution
    items: list[Relationship] = field(default_factory=list)
    by_org: dict[str, Relationship] = field(default_factory=dict)

    def add(self, rel: Relationship) -> None:
        self.items.append(rel)
        self.by_org[rel.organization_number] = rel


@dataclass
class Token:
    client: Client
    scopes: tuple[str, ...]
    expires_at: float


class TokenError(Exception):
    """A bearer token the API refuses: `reason` is the sentence the 401 body carries."""


class Tokens:
    def __init__(self, ttl: int):
        self.ttl = ttl
        self._tokens: dict[str, Token] = {}

    def issue(self, client: Client, scopes: tuple[str, ...]) -> tuple[str, int]:
        now = time.monotonic()
        if len(self._tokens) > 10_000:
            self._tokens = {k: t for k, t in self._tokens.items() if t.expires_at > now}
        token = secrets.token_urlsafe(32)
        self._tokens[token] = Token(client, scopes, now + self.ttl)
        return token, self.ttl

    def check(self, token: str) -> Token:
        found = self._tokens.get(token)
        if found is None:
            raise TokenError("the access token is not valid")
        if found.expires_at <= time.monotonic():
            raise TokenError("the access token has expired; fetch a new one")
        return found

    def expire_all(self) -> int:
        for t in self._tokens.values():
            t.expires_at = 0.0
        return len(self._tokens)


class OrgNumbers:
    """Unique valid organisation numbers, shuffled by the seed: a hash of (seed, position)
    picks an 8-digit prefix in 80000000-99999999; prefixes without a valid check digit and
    numbers already handed out are skipped."""

    def __init__(self, seed: int):
        self.seed = seed
        self.used: set[str] = set()

    def take(self, stream: str, count: int) -> list[str]:
        out: list[str] = []
        position = 0
        while len(out) < count:
            digest = hashlib.blake2b(f"{self.seed}:{stream}:{position}".encode(), digest_size=8)
            position += 1
            prefix = 80_000_000 + int.from_bytes(digest.digest(), "big") % 20_000_000
            if orgnr.check_digit(f"{prefix:08d}") is None:
                continue
            number = orgnr.from_prefix(prefix)
            if number not in self.used:
                self.used.add(number)
                out.append(number)
        return out


class Sandbox:
    """The whole mutable state of one sandbox server."""

    def __init__(self, borrowers: int, months: int, seed: int, as_of: date, token_ttl: int):
        if borrowers < 1:
            raise ValueError(f"borrowers must be at least 1, got {borrowers}")
        self.seed = seed
        self.portfolio = Portfolio(seed, months, as_of)
        self.tokens = Tokens(token_ttl)
        numbers = OrgNumbers(seed)
        own = numbers.take("institutions", 4)
        created = iso(self.portfolio.now() - timedelta(days=900))
        self.institutions = {
            i.key: i
            for i in (
                Institution("demo-bank", "bank", 1, "Sandbox Sparebank", own[0], created),
                Institution("other-bank", "bank", 2, "Fjellbanken Sandbox", own[1], created),
                Institution(
                    "demo-scorer", "credit_scorer", 3, "Kredittscore Sandbox AS", own[2], created
                ),
                Institution(
                    "demo-partner", "partner", 4, "Integrasjonspartner Sandbox AS", own[3], created
                ),
            )
        }
        scorer_debtors = max(5, min(100, borrowers // 4))
        self.books = {
            "demo-bank": self._initial_book("demo-bank", numbers.take("demo-bank", borrowers)),
            "other-bank": self._initial_book(
                "other-bank", numbers.take("other-bank", OTHER_BANK_BORROWERS)
            ),
            "demo-scorer": self._initial_book(
                "demo-scorer", numbers.take("demo-scorer", scorer_debtors)
            ),
        }
        scorer = self.institutions["demo-scorer"]
        self.credit_scorers = [
            {
                "organization_number": scorer.organization_number,
                "name": scorer.name,
                "created_at": scorer.created_at,
            }
        ]
        self.notifications: dict[str, list[dict]] = {k: [] for k in self.books}
        self._next_notification = 1
        self._initial_notifications()

    # --- setup --------------------------------------------------------------------------------

    def _initial_book(self, key: str, orgs: list[str]) -> Book:
        book = Book(self.institutions[key])
        now = self.portfolio.now()
        rng = np.random.default_rng([self.seed, book.institution.id, 5])
        u = rng.random((len(orgs), 5)).tolist()
        for i, (org, r) in enumerate(zip(orgs, u, strict=True)):
            acc, state = 0.0, STATE_MIX[-1][0]
            for name, weight in STATE_MIX:
                acc += weight
                if r[0] < acc:
                    state = name
                    break
            requested = now - timedelta(days=30 + r[1] * 700, seconds=int(r[2] * 86400))
            rel = Relationship(i + 1, org, state, iso(requested))
            if state in ("access_approved", "access_revoked"):
                approved = requested + timedelta(days=r[3] * 14, hours=1)
                rel.approved_at = iso(approved)
                if state == "access_revoked":
                    rel.revoked_at = iso(approved + (now - approved) * (0.2 + 0.7 * r[4]))
            elif state == "access_denied":
                rel.denied_at = iso(requested + timedelta(days=1 + r[3] * 10))
            rel.updated_at = max(
                t for t in (rel.requested_at, rel.approved_at, rel.revoked_at, rel.denied_at) if t
            )
            book.add(rel)
        return book

    def _initial_notifications(self) -> None:
        events = []
        for key in ("demo-bank", "other-bank"):
            for rel in self.books[key].items:
                if rel.approved_at:
                    events.append((rel.approved_at, key, "consent_approved", rel))
                if rel.revoked_at:
                    events.append((rel.revoked_at, key, "consent_revoked", rel))
        events.sort(key=lambda e: (e[0], e[1], e[3].id))
        for when, key, kind, rel in events:
            self.notify(key, kind, rel.organization_number, when)

    # --- notifications ------------------------------------------------------------------------

    def notify(self, key: str, kind: str, org: str, when: str) -> None:
        text = {
            "consent_approved": f"{org} approved sharing its accounting data",
            "consent_revoked": f"{org} revoked its consent to share accounting data",
            "new_accounting_data": f"{org} has new or revised accounting data",
        }[kind]
        self.notifications[key].append(
            {
                "id": self._next_notification,
                "type": kind,
                "organization_number": org,
                "created_at": when,
                "message": text,
            }
        )
        self._next_notification += 1

    # --- lookups ------------------------------------------------------------------------------

    def company_name(self, org: str) -> str:
        return self.portfolio.company(org).name

    def borrower(self, key: str, org: str) -> dict | None:
        rel = self.books[key].by_org.get(org)
        if rel is None:
            return None
        c = self.portfolio.company(org)
        approved = rel.relationship_state == "access_approved"
        months = self.portfolio.published(org) if approved else []
        return {
            "organization_number": org,
            "name": c.name,
            "nace_code": c.industry.nace_code,
            "nace_section": c.industry.section,
            "founded_date": c.founded_date.isoformat(),
            "municipality": c.municipality,
            "accounting_system": c.accounting_system,
            "connection_status": "connected"
            if approved and self.portfolio.is_active(org)
            else "not_connected",
            "consented_to_share_data": approved,
            "relationship_state": rel.relationship_state,
            "first_snapshot_date": (
                self.portfolio.snapshot_date(months[-1]).isoformat() if months else None
            ),
            "last_snapshot_date": (
                self.portfolio.snapshot_date(months[0]).isoformat() if months else None
            ),
        }

    # --- consent ------------------------------------------------------------------------------

    def request_access(self, key: str, orgs: list[str]) -> list[dict]:
        book = self.books[key]
        now = iso(self.portfolio.now())
        out = []
        for org in orgs:
            rel = book.by_org.get(org)
            if rel is None:
                rel = Relationship(
                    len(book.items) + 1, org, "access_requested", now, updated_at=now
                )
                book.add(rel)
            elif rel.relationship_state in ("access_revoked", "access_denied"):
                rel.relationship_state = "access_requested"
                rel.requested_at = rel.updated_at = now
            link = SIGNUP_BASE + secrets.token_urlsafe(12) + f"?org={org}"
            out.append(
                {
                    "organization_number": org,
                    "relationship_state": rel.relationship_state,
                    "signup_link": link,
                }
            )
        return out

    def set_state(self, org: str, action: str, only: str | None = None) -> list[dict]:
        """Act as the company: approve, revoke or deny every relationship it has (or the one
        with institution `only`). Returns the changed relationships; raises LookupError when
        there is none."""
        target = {
            "approve": "access_approved",
            "revoke": "access_revoked",
            "deny": "access_denied",
        }[action]
        now = iso(self.portfolio.now())
        changed = []
        for key, book in self.books.items():
            if only and key != only:
                continue
            rel = book.by_org.get(org)
            if rel is None:
                continue
            before = rel.relationship_state
            if before != target:
                rel.relationship_state = target
                rel.updated_at = now
                if action == "approve":
                    rel.approved_at, rel.revoked_at, rel.denied_at = now, None, None
                    if book.institution.role == "bank":
                        self.notify(key, "consent_approved", org, now)
                elif action == "revoke":
                    rel.revoked_at = now
                    if book.institution.role == "bank" and before == "access_approved":
                        self.notify(key, "consent_revoked", org, now)
                else:
                    rel.denied_at = now
            changed.append({"institution": key, **rel.as_json(self.company_name(org))})
        if not changed:
            raise LookupError(org)
        return changed

    # --- time ---------------------------------------------------------------------------------

    def advance_month(self) -> date:
        """Close one more month: revise the newest 2-3 months of some companies (late
        vouchers), then publish a new snapshot for every company still reporting."""
        p = self.portfolio
        orgs = dict.fromkeys(org for book in self.books.values() for org in book.by_org)
        step = p.current + 1
        p.advance()
        stamp = iso(p.now())
        for org in orgs:
            if not p.is_active(org):
                continue
            u = unit(self.seed, org, step, "revise")
            if u < 0.3:
                count = 2 if u < 0.15 else 3
                p.revise(org, p.published(org)[1 : count + 1], stamp)
        for key in ("demo-bank", "other-bank"):
            for rel in self.books[key].items:
                if rel.relationship_state == "access_approved" and p.is_active(
                    rel.organization_number
                ):
                    self.notify(key, "new_accounting_data", rel.organization_number, stamp)
        return p.as_of

    def truth(self) -> dict:
        """For evaluating early warnings (the backtest): every company of every book, whether
        and when it fails, and when its decline began. Never part of the API."""
        orgs = dict.fromkeys(org for book in self.books.values() for org in book.by_org)
        return {
            "as_of": self.portfolio.as_of.isoformat(),
            "items": [self.portfolio.truth(org) for org in orgs],
        }

    def summary(self) -> dict:
        p = self.portfolio
        per = {}
        for key, book in self.books.items():
            by_state = dict.fromkeys(STATES, 0)
            for rel in book.items:
                by_state[rel.relationship_state] += 1
            active = sum(1 for rel in book.items if p.is_active(rel.organization_number))
            inst = book.institution
            per[key] = {
                "role": inst.role,
                "organization_number": inst.organization_number,
                "borrowers": len(book.items),
                "by_state": by_state,
                "active": active,
            }
        main = per["demo-bank"]
        return {
            "as_of": p.as_of.isoformat(),
            "seed": self.seed,
            "months": p.months,
            "borrowers": main["borrowers"],
            "by_state": main["by_state"],
            "active": main["active"],
            "institutions": per,
        }
