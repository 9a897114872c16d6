"""The synthetic companies behind the sandbox and their monthly accounting snapshots.

Everything is a pure function of (seed, organisation number, clock), computed lazily per
company: 10,000 companies x 100 months costs nothing until a snapshot is asked for, and a
bounded cache keeps the recently served ones. Amounts are computed in integer øre so that
every accounting identity (totals, balance, year to date, retained earnings) holds exactly
after division by 100."""

from __future__ import annotations

import calendar
import functools
import hashlib
import math
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np
import orjson

from pipelines.accounts import BALANCE_LINES, INCOME_LINES
from pipelines.sandbox.calibration import (
    DIVIDEND_MONTH,
    FAILURE_KINDS,
    HAZARD_EQUITY_SLOPE,
    HAZARD_MARGIN_SLOPE,
    HAZARD_OFFSET,
    PAYOUT,
    SECTIONS,
    SILENCE_BEFORE_FAILURE,
    STRETCH_DUTIES_SHARE,
    STRETCH_FACTOR,
    STRETCH_MONTHS,
    STRETCH_SHARE,
    SUDDEN_KINDS,
)

FORMAT_VERSION = "2025-09-19"
MAX_MONTHS = 100
MAX_ADVANCES = 120


_BAL = {name: i for i, name in enumerate(BALANCE_LINES)}
_INC = {name: i for i, name in enumerate(INCOME_LINES)}

ARCHETYPES = (
    ("growing", 0.20),
    ("stable", 0.32),
    ("declining", 0.08),
    ("distressed", 0.06),
    ("seasonal", 0.14),
    ("young", 0.10),
    ("gappy", 0.05),
    ("stopped", 0.05),
)


@dataclass(frozen=True)
class Industry:
    nace_code: str
    section: str
    words: tuple[str, ...]
    goods: bool  # holds inventory; a service company reports inventory as null
    cogs_ratio: float
    peak_month: int


INDUSTRIES = (
    Industry("41.200", "F", ("Bygg", "Byggservice", "Entreprenør"), True, 0.45, 7),
    Industry("43.210", "F", ("Elektro", "Elektroinstallasjon"), True, 0.35, 6),
    Industry("43.220", "F", ("Rør", "VVS"), True, 0.38, 6),
    Industry("47.110", "G", ("Dagligvare", "Nærbutikk"), True, 0.74, 12),
    Industry("47.710", "G", ("Klær", "Mote"), True, 0.55, 12),
    Industry("46.690", "G", ("Engros", "Maskinhandel"), True, 0.66, 4),
    Industry("45.200", "G", ("Bilverksted", "Bilservice"), True, 0.40, 5),
    Industry("56.101", "I", ("Kafé", "Restaurant", "Bistro"), True, 0.32, 7),
    Industry("55.101", "I", ("Hotell", "Gjestehus"), True, 0.15, 7),
    Industry("49.410", "H", ("Transport", "Logistikk"), False, 0.22, 10),
    Industry("62.010", "J", ("Data", "IT", "Software"), False, 0.05, 3),
    Industry("69.201", "M", ("Regnskap", "Regnskapsbyrå"), False, 0.02, 3),
    Industry("71.129", "M", ("Rådgivning", "Ingeniør"), False, 0.08, 10),
    Industry("96.021", "S", ("Frisør", "Hårdesign"), True, 0.12, 12),
    Industry("03.111", "A", ("Fiskeri", "Havfiske"), True, 0.20, 2),
    Industry("10.710", "C", ("Bakeri",), True, 0.38, 12),
    Industry("25.620", "C", ("Mekaniske", "Sveis"), True, 0.42, 9),
    Industry("68.209", "L", ("Eiendom", "Eiendomsutvikling"), False, 0.0, 6),
    Industry("81.210", "N", ("Renhold", "Renholdsservice"), False, 0.06, 9),
    Industry("86.230", "Q", ("Tannlege", "Tannklinikk"), True, 0.10, 10),
)
PLACES = (
    "Fjord", "Nordlys", "Vestland", "Fjell", "Bjørke", "Havn", "Lyngheim", "Elvebakken",
    "Skogli", "Berg", "Solstad", "Steinvik", "Vik", "Dalen", "Østby", "Sørli", "Tind",
    "Brattli", "Nes", "Holmen", "Åsen", "Strand", "Kyst", "Lia", "Midtbyen", "Øya",
)  # fmt: skip
SURNAMES = (
    "Hansen", "Johansen", "Olsen", "Larsen", "Andersen", "Pedersen", "Nilsen", "Kristiansen",
    "Jensen", "Karlsen", "Haugen", "Hagen", "Johnsen", "Bakken", "Lie", "Moen", "Dahl",
    "Lund", "Solberg", "Strand", "Eide", "Berge", "Halvorsen", "Aas",
)  # fmt: skip
MUNICIPALITIES = (
    "Oslo", "Bergen", "Trondheim", "Stavanger", "Bærum", "Kristiansand", "Drammen",
    "Fredrikstad", "Sandnes", "Tromsø", "Ålesund", "Bodø", "Sandefjord", "Tønsberg", "Arendal",
    "Haugesund", "Lillestrøm", "Hamar", "Molde", "Gjøvik", "Harstad", "Alta", "Voss", "Lofoten",
)  # fmt: skip
ACCOUNTING_SYSTEMS = (
    ("Fiken", 0.35),
    ("Tripletex", 0.30),
    ("PowerOffice", 0.20),
    ("Visma eAccounting", 0.15),
)


# "T01:00:00Z" .. "T05:59:59Z": the night after a month closes, when snapshots are booked
_NIGHT = [f"T{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}Z" for s in range(3600, 6 * 3600)]


def unit(*parts: object) -> float:
    """A deterministic number in [0, 1) from any parts (seeded decisions without an RNG)."""
    digest = hashlib.blake2b(repr(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2.0**64


def month_number(d: date) -> int:
    return d.year * 12 + d.month - 1


def month_end(number: int) -> date:
    year, month0 = divmod(number, 12)
    return date(year, month0 + 1, calendar.monthrange(year, month0 + 1)[1])


def default_as_of(today: date | None = None) -> date:
    """The end of the last complete month: what a live bookkeeping feed has closed."""
    today = today or datetime.now().date()
    return today.replace(day=1) - timedelta(days=1)


def iso(ts: datetime) -> str:
    return ts.strftime("%Y-%m-%dT%H:%M:%SZ")


def _pick(u: float, weighted: tuple[tuple[str, float], ...]) -> str:
    acc = 0.0
    for name, weight in weighted:
        acc += weight
        if u < acc:
            return name
    return weighted[-1][0]


@dataclass(frozen=True)
class Company:
    """What the sandbox knows about one company; economic parameters drive its series."""

    organization_number: str
    name: str
    industry: Industry
    founded_date: date
    municipality: str
    accounting_system: str
    archetype: str
    first_idx: int  # first month with bookkeeping, on the portfolio's timeline
    last_idx: int | None  # last reported month for a company that stops, else None
    gaps: frozenset[int]  # months without bookkeeping
    failure_idx: int | None  # the month it fails (bankruptcy), maybe beyond the clock
    decline_idx: int | None  # the first month of the decline (a sudden kind: its event)
    kind: str | None  # how it fails (calibration.FAILURE_KINDS), None if it never does
    params: tuple[tuple[str, float], ...]

    @property
    def param(self) -> dict[str, float]:
        return dict(self.params)


class Portfolio:
    """Companies, timeline and snapshots. The timeline's month 0 is `months - 1` months before
    the starting as-of date; `current` is the index of the newest closed month."""

    def __init__(self, seed: int, months: int, as_of: date, cache_size: int = 256):
        if not 1 <= months <= MAX_MONTHS:
            raise ValueError(f"months must be between 1 and {MAX_MONTHS}, got {months}")
        self.seed = seed
        self.months = months
        self.start = month_number(as_of) - months + 1
        self.current = months - 1
        self.horizon = months + MAX_ADVANCES
        self._companies: dict[str, Company] = {}
        # org -> {month idx: (revision count, updated_at)}; bumped by advance_month
        self.revisions: dict[str, dict[int, tuple[int, str]]] = {}
        self._rendered: OrderedDict[tuple, Rendered] = OrderedDict()
        self._cache_size = cache_size
        self._date_table: list[tuple[str, int, int, str]] | None = None

    # --- time -------------------------------------------------------------------------------

    @property
    def as_of(self) -> date:
        return month_end(self.start + self.current)

    def now(self) -> datetime:
        """The sandbox clock: the morning after the newest month closed."""
        return datetime.combine(self.as_of + timedelta(days=1), datetime.min.time()).replace(hour=6)

    def snapshot_date(self, idx: int) -> date:
        return month_end(self.start + idx)

    def advance(self) -> None:
        if self.current + 1 >= self.horizon:
            raise ValueError(f"the sandbox clock can advance at most {MAX_ADVANCES} months")
        self.current += 1

    # --- companies ----------------------------------------------------------------------------

    def company(self, org: str) -> Company:
        found = self._companies.get(org)
        if found is None:
            found = self._companies[org] = self._make_company(org)
        return found

    def _make_company(self, org: str) -> Company:
        rng = np.random.default_rng([self.seed, int(org), 1])
        u = rng.random(28)
        industry = INDUSTRIES[int(u[0] * len(INDUSTRIES))]
        word = industry.words[int(u[1] * len(industry.words))]
        place = PLACES[int(u[2] * len(PLACES))]
        surname = SURNAMES[int(u[3] * len(SURNAMES))]
        style = int(u[4] * 4)
        name = (
            f"{place} {word} AS",
            f"{surname} {word} AS",
            f"{word} {place} AS",
            f"{surname} & Sønn AS",
        )[style]
        archetype = _pick(u[5], ARCHETYPES)
        months = self.months
        first_idx, last_idx, gaps = 0, None, frozenset()
        start_date = month_end(self.start).replace(day=1)
        if archetype == "young":
            low = max(0, months - 24)
            first_idx = min(months - 1, low + int(u[6] * max(1, months - 2 - low + 1)))
            month_start = month_end(self.start + first_idx).replace(day=1)
            founded = month_start + timedelta(days=int(u[7] * 20))
        else:
            span_days = (start_date - date(1985, 1, 1)).days - 365
            founded = date(1985, 1, 1) + timedelta(days=int(u[7] * max(span_days, 1)))
        if archetype == "stopped" and months >= 3:
            last_idx = months // 2 + int(u[8] * (months - 1 - months // 2))
            last_idx = min(last_idx, months - 2)
        if archetype == "gappy" and months >= 4:
            chosen: set[int] = set()
            for k in range(1 + int(u[9] * 3)):
                begin = 1 + int(rng.random() * (months - 3))
                length = 1 + int(u[10 + k] * 3)
                chosen.update(i for i in range(begin, begin + length) if 0 < i < months - 1)
            gaps = frozenset(chosen)

        # Economics, around the company's NACE section (calibration.py). Costs that do not
        # follow revenue ("stickiness" near 0) make a shrinking company lose money.
        sec = SECTIONS[industry.section]
        w = rng.random(16)
        margin = sec.margin * (0.5 + u[13]) + {
            "growing": 0.02,
            "declining": -0.01,
            "young": -0.02,
        }.get(archetype, 0.0)
        growth = {
            "growing": 0.004 + 0.010 * u[14],
            "stable": -0.001 + 0.003 * u[14],
            "declining": -0.001 - 0.003 * u[14],
            "seasonal": 0.0 + 0.003 * u[14],
            "young": 0.02 + 0.03 * u[14],
        }.get(archetype, -0.001 + 0.004 * u[14])
        stick = {"declining": 0.9}.get(archetype, 1.0)
        amplitude = sec.seasonality * (0.5 + u[15]) * (1.6 if archetype == "seasonal" else 1.0)
        revenue = float(np.clip(np.exp(rng.normal(math.log(400_000), 0.9)), 40_000, 15_000_000))
        cogs = industry.cogs_ratio * (0.9 + 0.2 * u[16])
        capital = 0.2 + 0.8 * u[17]  # tangible assets in years of revenue
        dep_rate = 0.06 + 0.09 * u[24]
        dep_share = capital * dep_rate
        rest = max(0.08, 1.0 - cogs - margin - dep_share)
        payroll = rest * (0.45 + 0.25 * u[18])
        opex = rest - payroll
        # A rough patch (archetype distressed): revenue falls for some months, then recovers.
        distress_start = int(months * (0.2 + 0.5 * u[19])) if archetype == "distressed" else 0

        v = rng.random(16)
        # A young company starts thinner: less equity, less cash.
        young = 0.7 if archetype == "young" else 1.0
        equity = float(np.clip(young * sec.equity + 0.15 * rng.normal(), 0.05, 0.85))
        # Failure: a yearly hazard from the section, raised by thin equity and thin margins
        # (calibration.py), from a year after the first month of bookkeeping; "stopped"
        # companies stop for other reasons. Its kind decides the build-up and the silence.
        k = np.random.default_rng([self.seed, int(org), 5]).random(16)
        failure_idx = decline_idx = kind = None
        if archetype != "stopped":
            logit = (
                math.log(sec.failure_rate / (1 - sec.failure_rate))
                + HAZARD_OFFSET
                + HAZARD_EQUITY_SLOPE * (sec.equity - equity)
                + HAZARD_MARGIN_SLOPE * (sec.margin - margin)
            )
            rate = 1 / (1 + math.exp(-logit))
            wait = -math.log(1.0 - w[0]) / (rate / 12)
            if first_idx + 12 + wait < self.horizon:
                failure_idx = first_idx + 12 + int(wait)
                kind = _pick(k[0], tuple((name, share) for name, share, _ in FAILURE_KINDS))
                low, high = next(span for name, _, span in FAILURE_KINDS if name == kind)
                decline_idx = max(first_idx, failure_idx - low - int(w[2] * (high - low + 1)))
                low, high = SILENCE_BEFORE_FAILURE
                last_idx = failure_idx - low - int(w[3] * (high - low + 1))
                # a sudden event is reported before the books fall silent
                floor = decline_idx + (1 if kind == "one_off_loss" else 2)
                last_idx = max(first_idx, min(max(last_idx, floor), failure_idx - 1))
        # A healthy company that stretches its payables for a while, then pays down.
        stretch = (-1.0, 0.0, 1.0, 0.0)
        if failure_idx is None and k[1] < STRETCH_SHARE and months >= 24:
            length = STRETCH_MONTHS[0] + int(k[2] * (STRETCH_MONTHS[1] - STRETCH_MONTHS[0] + 1))
            begin = first_idx + 12 + int(k[3] * max(1, months - first_idx - 12 - length))
            factor = STRETCH_FACTOR[0] + (STRETCH_FACTOR[1] - STRETCH_FACTOR[0]) * k[4]
            stretch = (float(begin), float(length), factor, float(k[5] < STRETCH_DUTIES_SHARE))
        params = {
            "revenue": revenue,
            "growth": growth,
            "stick": stick,
            "amplitude": amplitude,
            "peak": float(industry.peak_month),
            "noise": 0.04 + 0.08 * v[0],
            "cogs": cogs,
            "payroll": payroll,
            "opex": opex,
            "dep_rate": dep_rate,
            "tangible": revenue * 12 * capital,
            "intangible": revenue * (0.5 + 2 * v[2]) if v[3] < 0.3 else -1.0,
            "financial_fixed": revenue * (1 + 3 * v[4]) if v[5] < 0.25 else 0.0,
            "interest": 0.05 + 0.04 * v[9],
            "provisions": revenue * 0.3 * v[10] if v[11] < 0.4 else -1.0,
            "other_income": revenue * 0.02 * v[12] if v[13] < 0.4 else 0.0,
            "share_capital": float(
                30_000 if archetype == "young" or v[14] < 0.5 else 100_000 * (1 + int(v[15] * 10))
            ),
            "equity": equity,
            "cash_months": young * sec.cash_months * (0.4 + 1.2 * u[20]),
            "dso": 20 + 40 * u[21],
            "payout": PAYOUT[0] + (PAYOUT[1] - PAYOUT[0]) * w[4],
            "distress_start": float(distress_start),
            "dip_depth": 0.15 + 0.2 * w[5],
            "dip_months": 6 + 12 * w[6],
            "decline_drop": 0.3 + 0.3 * w[7],
            "margin": margin,
            # the kinds of failure (series): how hard creditors are stretched in a gradual
            # decline, the margin lost, the customer lost, the loss booked
            "stretch_payables": 0.5 + 0.7 * k[6],
            "stretch_duties": 0.5 + 0.7 * k[7],
            "margin_loss": 0.08 + 0.12 * k[8],
            "dso_rise": 1.5 + 1.5 * k[9],
            "customer_share": 0.3 + 0.3 * k[10],
            "loss_beyond_equity": 0.03 + 0.09 * k[11],
            "healthy_stretch_start": stretch[0],
            "healthy_stretch_months": stretch[1],
            "healthy_stretch_factor": stretch[2],
            "healthy_stretch_duties": stretch[3],
        }
        params["loan"] = self._opening_loan(params, industry.goods)
        municipality = MUNICIPALITIES[int(u[22] * len(MUNICIPALITIES))]
        system = _pick(u[23], ACCOUNTING_SYSTEMS)
        return Company(
            organization_number=org,
            name=name,
            industry=industry,
            founded_date=founded,
            municipality=municipality,
            accounting_system=system,
            archetype=archetype,
            first_idx=first_idx,
            last_idx=last_idx,
            gaps=gaps,
            failure_idx=failure_idx,
            decline_idx=decline_idx,
            kind=kind,
            params=tuple(params.items()),
        )

    @staticmethod
    def _opening_loan(p: dict[str, float], goods: bool) -> float:
        """The long-term loan that gives the company its target equity ratio in its first month,
        from the balance sheet's lines at an average month."""
        r = p["revenue"]
        monthly_costs = r * (p["cogs"] + p["payroll"] + p["opex"])
        non_cash = (
            p["tangible"]
            + max(p["intangible"], 0.0)
            + p["financial_fixed"]
            + (r * p["cogs"] * 1.5 if goods else 0.0)
            + r * p["dso"] / 30
            + r * 0.05
        )
        assets = non_cash + p["cash_months"] * monthly_costs
        other_liabilities = (
            max(p["provisions"], 0.0)
            + r * (p["cogs"] + p["opex"]) * 0.8
            + r * (p["payroll"] * 0.35 + 0.08)
            + r * 0.04
        )
        return max(0.0, assets * (1 - p["equity"]) - other_liabilities)

    def is_active(self, org: str) -> bool:
        """Still reporting: publishes a snapshot when the clock advances."""
        last = self.company(org).last_idx
        return last is None or last > self.current

    def truth(self, org: str) -> dict:
        """What only the sandbox knows: whether and when the company fails, and when the
        decline that leads there began. For evaluation; never part of the API."""
        c = self.company(org)
        failed = c.failure_idx is not None and c.failure_idx <= self.current
        return {
            "organization_number": org,
            "archetype": c.archetype,
            "fails": c.failure_idx is not None,
            "failed_by_as_of": failed,
            "failure_month": (
                self.snapshot_date(c.failure_idx).isoformat() if c.failure_idx is not None else None
            ),
            "decline_start_month": (
                self.snapshot_date(c.decline_idx).isoformat() if c.decline_idx is not None else None
            ),
            "kind": c.kind,
            "event_month": (
                self.snapshot_date(c.decline_idx).isoformat()
                if c.kind in SUDDEN_KINDS and c.decline_idx is not None
                else None
            ),
            "stretches_payables_from": (
                self.snapshot_date(int(c.param["healthy_stretch_start"])).isoformat()
                if c.param["healthy_stretch_start"] >= 0
                else None
            ),
            "last_reported_month": (
                self.snapshot_date(c.last_idx).isoformat() if c.last_idx is not None else None
            ),
        }

    def published(self, org: str) -> list[int]:
        """Month indices that have a snapshot, newest first."""
        c = self.company(org)
        last = self.current if c.last_idx is None else min(c.last_idx, self.current)
        return [i for i in range(last, c.first_idx - 1, -1) if i not in c.gaps]

    # --- revisions ----------------------------------------------------------------------------

    def revise(self, org: str, months: list[int], updated_at: str) -> None:
        """Late vouchers: change the values of these published months of a company."""
        book = self.revisions.setdefault(org, {})
        for idx in months:
            book[idx] = (book.get(idx, (0, ""))[0] + 1, updated_at)

    # --- series -------------------------------------------------------------------------------

    def series(self, org: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(month flows, year-to-date flows, balance sheet) in øre, one row per timeline month.
        Columns follow INCOME_LINES / BALANCE_LINES; null lines are flagged by -1 in params.
        A one-off loss is sized on the accounts without it: the equity of the month before
        the event, plus a share of the assets, so that it wipes the equity out."""
        c = self.company(org)
        flows, ytd, balance = self._series(c, 0)
        if c.kind != "one_off_loss" or c.decline_idx is None:
            return flows, ytd, balance
        before = max(c.decline_idx - 1, c.first_idx)
        equity = int(balance[before, _BAL["total_equity"]])
        assets = int(balance[before, _BAL["total_assets"]])
        loss = max(equity, 0) + round(assets * c.param["loss_beyond_equity"])
        return self._series(c, loss)

    def _effects(self, c: Company, t: np.ndarray) -> dict[str, np.ndarray]:
        """How a company's kind of failure (or a healthy spell of stretched payables) moves
        its lines, month by month: factors on revenue, cost of goods, days of sales
        outstanding, inventory, payables and public duties, and extra costs as a share of
        sales. All 1 (costs 0) for a company that neither fails nor stretches."""
        p = c.param
        one, zero = np.ones_like(t), np.zeros_like(t)
        fx = {"revenue": one, "cogs": one, "dso": one, "inventory": one}
        fx |= {"payables": one, "duties": one, "extra_cost": zero, "extra_opex": zero}
        if c.failure_idx is not None and c.decline_idx is not None:
            # d: 0 before the first sign (or event), 1 in the month it fails
            d = np.clip((t - c.decline_idx) / max(c.failure_idx - c.decline_idx, 1), 0.0, 1.0)
            after = (t >= c.decline_idx).astype(np.float64)
            if c.kind == "gradual_decline":
                # sales fall, costs barely follow, gross margin erodes, customers pay later,
                # suppliers and the tax authority wait longer
                fx["revenue"] = 1 - p["decline_drop"] * d
                fx["cogs"] = 1 + 0.15 * d
                fx["dso"] = 1 + 0.8 * d
                fx["payables"] = 1 + 1.5 * p["stretch_payables"] * d
                fx["duties"] = 1 + 2.0 * p["stretch_duties"] * d
            elif c.kind == "margin_erosion":
                # sales hold; prices fall or costs rise, and the operating margin slides to
                # a loss of margin_loss of revenue
                fx["revenue"] = 1 - 0.1 * d
                lost = (p["margin"] + p["margin_loss"]) * d
                fx["extra_cost" if p["cogs"] >= 0.2 else "extra_opex"] = lost
                fx["dso"] = 1 + 0.2 * d
                fx["payables"] = 1 + 0.4 * d
                fx["duties"] = 1 + 0.5 * d
            elif c.kind == "liquidity_squeeze":
                # customers pay ever later (receivables balloon), stock piles up, bad debts;
                # the cash goes into working capital and the credit line fills
                fx["revenue"] = 1 - 0.1 * d
                fx["extra_opex"] = 0.02 * d
                fx["dso"] = 1 + p["dso_rise"] * d
                fx["inventory"] = 1 + 0.8 * d
                fx["payables"] = 1 + 0.6 * d
                fx["duties"] = 1 + 0.8 * d
            elif c.kind == "lost_customer":
                # a large customer gone at once; costs follow only slowly
                fx["revenue"] = 1 - p["customer_share"] * after
                fx["cogs"] = 1 + 0.05 * after
                fx["dso"] = 1 + 0.3 * d
                fx["payables"] = 1 + 0.8 * d
                fx["duties"] = 1 + 1.0 * d
            elif c.kind == "one_off_loss":
                # the loss itself is booked in series(); then customers and suppliers lose
                # trust
                fx["revenue"] = 1 - 0.15 * d
                fx["payables"] = 1 + 0.5 * d
                fx["duties"] = 1 + 0.6 * d
        start, months = p["healthy_stretch_start"], p["healthy_stretch_months"]
        if start >= 0:
            # two months up, the spell, two months down
            g = np.clip(np.minimum((t - start + 1) / 2, (start + months - t) / 2), 0.0, 1.0)
            fx["payables"] = fx["payables"] * (1 + (p["healthy_stretch_factor"] - 1) * g)
            if p["healthy_stretch_duties"]:
                fx["duties"] = fx["duties"] * (1 + (p["healthy_stretch_factor"] - 1) * g)
        return fx

    def _series(self, c: Company, loss: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """series() with a one-off loss of `loss` øre booked in the event month (other
        operating expenses) and owed from then on (other short-term liabilities: a claim,
        a called guarantee)."""
        org = c.organization_number
        p = c.param
        rng = np.random.default_rng([self.seed, int(org), 2])
        h = self.horizon
        t = np.arange(h, dtype=np.float64)
        age = t - c.first_idx
        active = age >= 0
        if c.gaps:
            active[list(c.gaps)] = False

        if c.archetype == "young":
            trend = np.exp(p["growth"] * np.maximum(age, 0)) * (1 - np.exp(-(age + 1) / 3))
            trend = np.maximum(trend, 0.05)
        else:
            trend = np.exp(p["growth"] * t)
        # How a failure's kind moves the lines (_effects); a rough patch (distressed) dips
        # revenue and then recovers.
        fx = self._effects(c, t)
        dip = np.zeros(h)
        if c.archetype == "distressed":
            k = (t - p["distress_start"]) / p["dip_months"]
            dip = p["dip_depth"] * np.clip(np.minimum(k, 3.0 - k), 0.0, 1.0)
        shock = fx["revenue"] * (1 - dip)
        month_of_year = (self.start + t) % 12 + 1
        season = 1 + p["amplitude"] * np.cos(2 * np.pi * (month_of_year - p["peak"]) / 12)
        noise = np.exp(rng.normal(0.0, p["noise"], h))
        r0 = p["revenue"]
        sales = r0 * trend * shock * season * noise
        other_income = p["other_income"] * np.exp(rng.normal(0.0, 0.3, h))
        # A failing company's costs barely follow its revenue down.
        cogs = sales * (p["cogs"] * fx["cogs"] + fx["extra_cost"]) * np.exp(rng.normal(0, 0.03, h))
        sticky = trend ** p["stick"] * shock**0.2
        payroll = r0 * p["payroll"] * sticky * np.exp(rng.normal(0.0, 0.02, h))
        opex = r0 * p["opex"] * sticky * (0.6 + 0.4 * season) * np.exp(rng.normal(0, 0.06, h))
        opex = opex + sales * fx["extra_opex"]
        fin_income = r0 * 0.002 * rng.random(h)

        rev = self.revisions.get(org)
        if rev:
            for idx, (count, _) in rev.items():
                r = np.random.default_rng([self.seed, int(org), idx, count, 3])
                s_factor, c_factor = 1 + r.normal(0, 0.03), 1 + r.normal(0, 0.02)
                sales[idx] *= s_factor
                cogs[idx] *= s_factor * c_factor
                opex[idx] *= c_factor

        asset_trend = np.sqrt(trend)
        tangible = p["tangible"] * asset_trend
        prev_tangible = np.concatenate(([tangible[0]], tangible[:-1]))
        intangible = (
            p["intangible"] * np.maximum(1 - t / (2 * h), 0.0) if p["intangible"] >= 0 else None
        )
        depreciation = prev_tangible * p["dep_rate"] / 12
        if intangible is not None:
            depreciation = depreciation + p["intangible"] / (2 * h)
        # The long-term loan is refinanced as the asset base it finances grows or shrinks.
        loan = p["loan"] * asset_trend
        fin_expense = loan * p["interest"] / 12

        raw = np.stack(
            [sales, other_income, cogs, payroll, depreciation, opex, fin_income, fin_expense]
        )
        s, oi, cg, pr, dp, ox, fi, fe = np.where(active, np.rint(raw * 100), 0).astype(np.int64)
        claim = np.zeros(h, dtype=np.int64)
        if loss and c.decline_idx is not None:
            ox[c.decline_idx] += loss
            claim[c.decline_idx :] = loss
        op_rev = s + oi
        op_exp = cg + pr + dp + ox
        op_res = op_rev - op_exp
        rbt = op_res + fi - fe
        tax = np.where(rbt > 0, (rbt * 22 + 50) // 100, 0)
        net = rbt - tax
        flows = np.stack([s, oi, op_rev, cg, pr, dp, ox, op_exp, op_res, fi, fe, rbt, tax, net], 1)

        absolute = self.start + np.arange(h)
        prev_year_end = np.arange(h) - absolute % 12 - 1
        cum = np.cumsum(flows, axis=0)
        base = np.where((prev_year_end >= 0)[:, None], cum[np.maximum(prev_year_end, 0)], 0)
        ytd = cum - base

        def amount(x: np.ndarray | float) -> np.ndarray:
            if isinstance(x, float):
                return np.full(h, round(x * 100), dtype=np.int64)
            return np.rint(x * 100).astype(np.int64)

        level = r0 * trend * shock * season
        zero = np.zeros(h, dtype=np.int64)
        intangible_o = amount(intangible) if intangible is not None else zero
        tangible_o = amount(tangible)
        financial_o = amount(p["financial_fixed"])
        fixed = intangible_o + tangible_o + financial_o
        stock = level * p["cogs"] * 1.5 * fx["inventory"]
        inventory_o = amount(stock) if c.industry.goods else zero
        # On the way down customers pay later, suppliers and the tax authority wait longer.
        # What customers owe jitters with when they pay, as payables do (draws of its own, so
        # the other lines' draws stay as they were).
        paying = np.exp(np.random.default_rng([self.seed, int(org), 3]).normal(0.0, 0.12, h))
        receivable_o = amount(sales * p["dso"] * fx["dso"] / 30 * paying)
        other_recv_o = amount(r0 * 0.05 * asset_trend)
        share_o = amount(p["share_capital"])
        provisions_o = amount(p["provisions"]) if p["provisions"] >= 0 else zero
        loan_o = amount(loan)
        # Payment timing makes payables and duties jitter from month to month; VAT is settled
        # every two months, so what is owed swings between odd and even months.
        timing = np.exp(rng.normal(0.0, 0.12, (2, h)))
        vat_term = np.where(month_of_year % 2 == 0, 1.4, 0.6)
        payable_o = amount((cogs + opex) * 0.8 * fx["payables"] * timing[0])
        tax_payable_o = ytd[:, _INC["tax_expense"]].copy()
        duties = payroll * 0.35 + sales * 0.08 * vat_term
        duties_o = amount(duties * fx["duties"] * timing[1])
        other_st_o = amount(r0 * 0.04 * asset_trend) + claim
        non_cash = fixed + inventory_o + receivable_o + other_recv_o
        liabilities_wo_other = provisions_o + loan_o + payable_o + tax_payable_o + duties_o
        earnings = np.cumsum(net)
        raw_cash = share_o + earnings + liabilities_wo_other + other_st_o - non_cash
        first = c.first_idx
        monthly_costs = r0 * (p["cogs"] + p["payroll"] + p["opex"])
        retained0 = round(p["cash_months"] * monthly_costs * 100) - int(raw_cash[first])
        cash_o = raw_cash + retained0
        min_cash = amount(r0 * 0.02 * asset_trend)
        paid = self._dividends(
            c, net, share_o + retained0 + earnings, non_cash + cash_o, cash_o, op_exp
        )
        retained_o = retained0 + earnings - paid
        cash_o = cash_o - paid
        # A company short of cash draws on its credit line: the shortfall becomes a
        # short-term liability so the balance sheet still balances.
        overdraft = np.maximum(min_cash - cash_o, 0)
        cash_o = cash_o + overdraft
        other_st_o = other_st_o + overdraft
        current_assets = inventory_o + receivable_o + other_recv_o + cash_o
        total_assets = fixed + current_assets
        equity = share_o + retained_o
        short_term = payable_o + tax_payable_o + duties_o + other_st_o
        liabilities = provisions_o + loan_o + short_term
        balance = np.stack(
            [
                intangible_o,
                tangible_o,
                financial_o,
                fixed,
                inventory_o,
                receivable_o,
                other_recv_o,
                cash_o,
                current_assets,
                total_assets,
                share_o,
                retained_o,
                equity,
                provisions_o,
                loan_o,
                payable_o,
                tax_payable_o,
                duties_o,
                other_st_o,
                short_term,
                liabilities,
                equity + liabilities,
            ],
            1,
        )
        return flows, ytd, balance

    def _dividends(
        self,
        c: Company,
        net: np.ndarray,
        equity: np.ndarray,
        assets: np.ndarray,
        cash: np.ndarray,
        costs: np.ndarray,
    ) -> np.ndarray:
        """Dividends paid so far, per month (cumulative, øre). Once a year, in DIVIDEND_MONTH,
        a share of last calendar year's net result is paid out of cash, never more than keeps
        the equity ratio at the owners' target, what retained earnings allow, or what leaves
        two months of operating expenses in the bank. `equity`, `assets` and `cash` are before
        any dividend."""
        p = c.param
        target, total = p["equity"], 0
        share = round(p["share_capital"] * 100)
        dividends = np.zeros(self.horizon, dtype=np.int64)
        first_june = (DIVIDEND_MONTH - 1 - self.start) % 12
        for idx in range(first_june, self.horizon, 12):
            if idx - 17 < c.first_idx or idx in c.gaps:
                continue
            last_year = int(net[idx - 17 : idx - 5].sum())
            e, a, k = equity[idx] - total, assets[idx] - total, cash[idx] - total
            room = min(
                (e - target * a) / (1 - target), e - share, k - 2 * int(costs[idx - 3 : idx].mean())
            )
            dividend = int(min(p["payout"] * last_year, room))
            if last_year > 0 and dividend > 0:
                dividends[idx] = dividend
                total += dividend
        return np.cumsum(dividends)

    def null_lines(self, org: str) -> tuple[int, ...]:
        c = self.company(org)
        p = c.param
        nulls = []
        if p["intangible"] < 0:
            nulls.append(_BAL["intangible_assets"])
        if not c.industry.goods:
            nulls.append(_BAL["inventory"])
        if p["provisions"] < 0:
            nulls.append(_BAL["provisions"])
        return tuple(nulls)

    # --- snapshots ----------------------------------------------------------------------------

    def snapshot_id(self, org: str, idx: int) -> int:
        """Stable per (company, month): the month number since 2000 under the org number."""
        return int(org) * 1000 + (self.start + idx - 2000 * 12)

    def _dates(self) -> list[tuple[str, int, int, str]]:
        """Per timeline month: (snapshot_date, year, month, the next day) as text."""
        if self._date_table is None:
            table = []
            for idx in range(self.horizon):
                d = self.snapshot_date(idx)
                table.append((d.isoformat(), d.year, d.month, (d + timedelta(days=1)).isoformat()))
            self._date_table = table
        return self._date_table

    def _booked(self, org: str) -> list[str]:
        """When each month was first booked: a time in the night after it closed."""
        seconds = np.random.default_rng([self.seed, int(org), 4]).integers(
            0, 5 * 3600, self.horizon
        )
        return [
            d[3] + times
            for d, times in zip(
                self._dates(), map(_NIGHT.__getitem__, seconds.tolist()), strict=True
            )
        ]

    def published_at(self, org: str, idx: int) -> str:
        """When a month's current version was booked (its latest revision, if any)."""
        revised = self.revisions.get(org, {}).get(idx)
        return revised[1] if revised else self._booked(org)[idx]

    def rendered(self, org: str, schema_drift: bool = False) -> Rendered:
        revisions = self.revisions.get(org, {})
        version = sum(r[0] for r in revisions.values())
        key = (org, self.current, version, schema_drift)
        found = self._rendered.get(key)
        if found is not None:
            self._rendered.move_to_end(key)
            return found
        found = self._render(org, schema_drift)
        self._rendered[key] = found
        if len(self._rendered) > self._cache_size:
            self._rendered.popitem(last=False)
        return found

    def _render(self, org: str, schema_drift: bool) -> Rendered:
        months = self.published(org)
        flows, ytd, balance = self.series(org)
        n = self.current + 1
        nulls = self.null_lines(org)
        kept = [j for j in range(len(BALANCE_LINES)) if j not in nulls]
        # orjson formats the whole matrix of amounts at once; each month's values are then
        # spliced into a JSON template. Same bytes as dumping dicts, at a third of the cost.
        amounts = np.concatenate([flows[:n], ytd[:n], balance[:n, kept]], axis=1) / 100
        text = orjson.dumps(amounts, option=orjson.OPT_SERIALIZE_NUMPY).decode()
        rows = text[2:-2].split("],[")
        template = _template(nulls)
        dates = self._dates()
        booked = self._booked(org)
        revisions = self.revisions.get(org, {})
        id_base = int(org) * 1000 + self.start - 2000 * 12
        items = []
        for idx in months:
            day, year, month, _ = dates[idx]
            revised = revisions.get(idx)
            head = (id_base + idx, org, day, revised[1] if revised else booked[idx], year, month)
            item = (template % (*head, *rows[idx].split(","))).encode()
            if schema_drift:
                item = self._drift(org, idx, item)
            items.append(item)
        latest = None
        if months:
            i = months[0]
            recent = [m for m in months if m > i - 12]
            latest = {
                "snapshot_date": dates[i][0],
                "balance": dict(zip(BALANCE_LINES, balance[i].tolist(), strict=True)),
                "trailing": dict(zip(INCOME_LINES, flows[recent].sum(0).tolist(), strict=True)),
            }
        return Rendered(items=items, latest=latest)

    def _drift(self, org: str, idx: int, item: bytes) -> bytes:
        """Schema drift: some items gain unknown keys, some change a field's type."""
        drift = unit(self.seed, org, idx, "drift")
        if drift >= 0.16:
            return item
        doc = orjson.loads(item)
        if drift < 0.15:
            doc["source_system"] = self.company(org).accounting_system
            gains = round(unit(self.seed, org, idx, "gains") * 500, 2)
            doc["data"]["income_statement"]["month"]["crypto_gains"] = gains
        if drift > 0.1:
            doc["data"]["year"] = str(doc["data"]["year"])
        return orjson.dumps(doc)


@functools.cache
def _template(nulls: tuple[int, ...]) -> str:
    """A snapshot's JSON text with %s slots, in the key order of the data contract."""
    income = ",".join(f'"{name}":%s' for name in INCOME_LINES)
    balance = ",".join(
        f'"{name}":null' if j in nulls else f'"{name}":%s' for j, name in enumerate(BALANCE_LINES)
    )
    return (
        '{"id":%d,"organization_number":"%s","snapshot_date":"%s","updated_at":"%s",'
        f'"data":{{"symetrisk_real_time_accounts_format_version":"{FORMAT_VERSION}",'
        '"year":%d,"month":%d,"currency":"NOK",'
        f'"income_statement":{{"month":{{{income}}},"year_to_date":{{{income}}}}},'
        f'"balance_sheet":{{{balance}}}}}}}'
    )


@dataclass(frozen=True)
class Rendered:
    """A company's published snapshots as JSON bytes, newest first, plus its newest figures
    in øre (for credit scores)."""

    items: list[bytes]
    latest: dict | None


def credit_score(latest: dict | None) -> dict:
    """Score 1-100 from equity ratio, trailing-12-month operating margin and liquidity."""
    if latest is None:
        return {"score": 1, "risk_class": "E", "probability_of_default": 0.5}
    bal, trailing = latest["balance"], latest["trailing"]
    assets = max(bal["total_assets"], 1)
    equity_ratio = bal["total_equity"] / assets
    revenue = trailing["operating_revenue"]
    margin = trailing["operating_result"] / revenue if revenue > 0 else -0.5
    liquidity = bal["total_current_assets"] / max(bal["total_short_term_liabilities"], 1)
    raw = (
        10
        + 55 * min(max(equity_ratio, -1.0), 1.0)
        + 250 * min(max(margin, -0.2), 0.2)
        + 5 * min(liquidity, 3.0)
    )
    score = int(min(100, max(1, round(raw))))
    risk = "A" if score >= 80 else "B" if score >= 65 else "C" if score >= 45 else "D"
    if score < 25:
        risk = "E"
    pd = round(1 / (1 + math.exp((score - 30) / 9)), 4)
    return {"score": score, "risk_class": risk, "probability_of_default": pd}
