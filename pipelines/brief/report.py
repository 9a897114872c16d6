"""The credit brief: one self-contained HTML file (styles and SVG charts inline, a Content
Security Policy that forbids fetching anything) written from the published build's marts and
its event ledger. A portfolio page (what changed since the last run, the watchlist ranked by
drawn exposure or else severity, the share under warning by industry, Altman zones, and for a
credit scorer its debtors' score changes and risk-class migrations) and one page per
watchlist borrower (its figures over time with each warning episode named, each covenant's
headroom on its own axis, the peer band and the figures behind each open warning in words).
Printed from a browser, each borrower starts on a new page."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any

from pipelines.brief import charts, labels
from pipelines.brief.delivery import figures_text
from pipelines.brief.ledger import MARTS, SCHEMA, events_of_run, latest_run

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
CHANGES_SHOWN = 60
BASELINE_RECENT_MONTHS = 3

CSS = """
:root { --ink: #1b1f24; --muted: #5b6570; --line: #d9dee3; --act: #b00020; --watch: #b86e00; }
* { box-sizing: border-box; }
body { font-family: "Segoe UI", "Helvetica Neue", Arial, sans-serif; color: var(--ink);
  margin: 0; background: #f4f6f8; font-size: 13px; line-height: 1.45; }
.page { background: #fff; max-width: 780px; margin: 16px auto; padding: 28px 34px;
  box-shadow: 0 1px 3px rgba(0,0,0,.12); }
h1 { font-size: 22px; margin: 0 0 2px; }
h2 { font-size: 16px; margin: 22px 0 8px; border-bottom: 1px solid var(--line);
  padding-bottom: 3px; }
h3 { font-size: 13px; margin: 14px 0 4px; }
.sub { color: var(--muted); margin: 0 0 12px; }
.tiles { display: flex; gap: 10px; margin: 14px 0; }
.tile { flex: 1; border: 1px solid var(--line); border-radius: 4px; padding: 8px 10px; }
.tile b { display: block; font-size: 18px; }
.tile span { color: var(--muted); font-size: 11px; }
table { border-collapse: collapse; width: 100%; margin: 4px 0 10px; }
th, td { text-align: left; padding: 4px 6px; border-bottom: 1px solid var(--line);
  vertical-align: top; }
th { font-size: 11px; color: var(--muted); font-weight: 600; }
td.num, th.num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
.sev { display: inline-block; border-radius: 3px; padding: 0 5px; font-size: 11px;
  color: #fff; }
.sev.act { background: var(--act); } .sev.watch { background: var(--watch); }
.sev.info { background: #6b7785; }
.legend { display: flex; flex-wrap: wrap; gap: 4px 14px; margin: 4px 0 8px; font-size: 11px; }
.legend i { display: inline-block; width: 14px; height: 8px; margin-right: 5px;
  vertical-align: middle; }
td.flags { min-width: 190px; }
ul.words { margin: 4px 0 10px 18px; padding: 0; }
ul.words li { margin: 2px 0; }
.note { color: var(--muted); font-size: 11px; }
a { color: #0b4f8a; text-decoration: none; }
svg { display: block; max-width: 100%; height: auto; margin: 4px 0 6px; }
@media print {
  @page { size: A4; margin: 14mm 12mm; }
  body { background: #fff; font-size: 11px; }
  .page { box-shadow: none; margin: 0; max-width: none; padding: 0; }
  .page + .page { break-before: page; page-break-before: always; }
  h2, h3, svg, tr, .tiles, .legend { break-inside: avoid; page-break-inside: avoid; }
  a { color: inherit; }
}
"""


def _rows(con: Any, sql: str, params: list[Any] | dict[str, Any] | None = None) -> list[dict]:
    cursor = con.execute(sql, params or [])
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _has(con: Any, schema: str, table: str) -> bool:
    return bool(
        con.execute(
            "select count(*) from information_schema.tables "
            "where table_schema = ? and table_name = ?",
            [schema, table],
        ).fetchone()[0]
    )


def sev(severity: str | None) -> str:
    s = severity or "info"
    return f'<span class="sev {escape(s)}">{escape(s)}</span>'


# --- what the brief shows ---------------------------------------------------------------------


def watchlist(con: Any, run_id: str | None) -> list[dict[str, Any]]:
    """The watchlist the run saw, ranked by drawn exposure where a loan book gives one, else by
    severity (open act flags, then open watch flags, then the lowest Altman Z'')."""
    exposure = _has(con, MARTS, "fct_borrower_exposure")
    rows = _rows(
        con,
        f"""
        select w.organization_number, d.borrower_name, d.nace_section, d.municipality,
            w.drawn_nok, w.relationship_manager, w.act_flags, w.watch_flags,
            {
            "x.limit_nok, x.facilities, x.products"
            if exposure
            else "null as limit_nok, null as facilities, null as products"
        },
            t.altman_z, t.altman_zone, t.equity_ratio, t.month_end as latest_month
        from {SCHEMA}.watchlist as w
        left join {MARTS}.dim_borrower as d on d.organization_number = w.organization_number
        {
            f"left join {MARTS}.fct_borrower_exposure as x "
            "on x.organization_number = w.organization_number"
            if exposure
            else ""
        }
        left join (
            select * from {MARTS}.fct_borrower_month as m
            where month_end = (select max(month_end) from {MARTS}.fct_borrower_month as n
                               where n.organization_number = m.organization_number)
        ) as t on t.organization_number = w.organization_number
        where w.run_id = ?""",
        [run_id],
    )
    has_book = any(r["drawn_nok"] for r in rows)
    if has_book:
        rows.sort(key=lambda r: (-(r["drawn_nok"] or 0), -r["act_flags"], r["organization_number"]))
    else:
        rows.sort(
            key=lambda r: (
                -r["act_flags"],
                -r["watch_flags"],
                r["altman_z"] if r["altman_z"] is not None else 99.0,
                r["organization_number"],
            )
        )
    for rank, row in enumerate(rows, 1):
        row["rank"] = rank
    return rows


def open_episodes(con: Any, orgs: list[str]) -> dict[str, list[dict[str, Any]]]:
    if not orgs:
        return {}
    found = _rows(
        con,
        f"""select * from {MARTS}.fct_warning_episodes
        where closed_month is null and organization_number in ({", ".join("?" for _ in orgs)})
        order by organization_number, case peak_severity when 'act' then 0 else 1 end, flag""",
        orgs,
    )
    by_org: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in found:
        by_org[row["organization_number"]].append(row)
    return by_org


def warning_words(episode: dict[str, Any], as_of: dt.date | None) -> str:
    """'Low equity ratio: equity ratio 4.1 %, below the act threshold of 5.0 %, for 4 months
    (open since March 2026)'."""
    name = labels.flag_name(episode["flag"])
    metric = episode["metric"]
    since = labels.month(episode["opened_month"])
    if episode["flag"] == "stale_data":
        return (
            f"{name}: no snapshot for {labels.count(episode['last_value'])} months, past the "
            f"limit of {labels.count(episode['act_threshold'])} (since {since})"
        )
    if episode["flag"] == "consent_revoked":
        return f"{name}: the borrower revoked the bank's access in {since}"
    if episode["flag"].startswith("covenant_"):
        return (
            f"{name}: {labels.metric_name(metric)} "
            f"{labels.metric_value(metric, episode['last_value'])}, "
            f"{labels.comparison_words(episode['comparison'], covenant=True)} the covenant's "
            f"{episode['comparison']} {labels.metric_value(metric, episode['act_threshold'])}, "
            f"for {labels.months_word(int(episode['months_flagged'] or 0))} "
            f"(breached since {since})"
        )
    act = episode["peak_severity"] == "act"
    threshold = episode["act_threshold"] if act else episode["watch_threshold"]
    if threshold is None:
        threshold = episode["act_threshold"] or episode["watch_threshold"]
    months = int(episode["months_flagged"] or 0)
    return (
        f"{name}: {labels.metric_name(metric)} "
        f"{labels.metric_value(metric, episode['last_value'])}, "
        f"{labels.comparison_words(episode['comparison'])} the {'act' if act else 'watch'} "
        f"threshold of {labels.metric_value(metric, threshold)}, for "
        f"{labels.months_word(months)} (open since {since})"
    )


def industry_shares(con: Any, as_of: dt.date) -> list[dict[str, Any]]:
    return _rows(
        con,
        f"""select nace_section, borrowers_monitored, borrowers_with_open_warning,
            share_with_open_warning, borrowers_on_watchlist
        from {MARTS}.fct_portfolio_month where month_end = ? and borrowers_monitored > 0
        order by share_with_open_warning desc, borrowers_monitored desc, nace_section""",
        [as_of],
    )


def altman_zones(con: Any, as_of: dt.date) -> list[tuple[str, int]]:
    found = dict(
        con.execute(
            f"""select coalesce(altman_zone, 'unknown'), count(*) from {MARTS}.fct_borrower_month
            where month_end = ? group by 1""",
            [as_of],
        ).fetchall()
    )
    return [(zone, int(found.get(zone, 0))) for zone in ("safe", "grey", "distress", "unknown")]


def score_moves(con: Any, run_id: str | None) -> dict[str, Any] | None:
    """A credit scorer's score changes and risk-class migrations, or None for a bank."""
    if not _has(con, MARTS, "fct_credit_score_changes"):
        return None
    latest = con.execute(
        f"select max(calculated_at) from {MARTS}.fct_credit_score_changes"
    ).fetchone()[0]
    if latest is None:
        return None
    newest = _rows(
        con,
        f"""select c.*, d.borrower_name from {MARTS}.fct_credit_score_changes as c
        left join {MARTS}.dim_borrower as d on d.organization_number = c.organization_number
        where c.calculated_at = (select max(calculated_at) from {MARTS}.fct_credit_score_changes
                                 as n where n.organization_number = c.organization_number)
        order by c.score_change, c.organization_number""",
    )
    matrix: dict[tuple[str, str], int] = defaultdict(int)
    for row in newest:
        matrix[(row["previous_risk_class"], row["risk_class"])] += 1
    return {"newest": newest, "matrix": dict(matrix)}


@dataclass
class PageData:
    """What the borrower pages show, read once for the whole watchlist: one query per table
    instead of one per borrower, which scanned the whole mart each time (the brief grew with
    the square of the portfolio: 234 s at 100,000 borrowers, against 9-11 s at 10,000)."""

    series: dict[str, list[dict[str, Any]]]
    episodes: dict[str, list[dict[str, Any]]]
    bands: dict[str, list[tuple[dt.date, float, float]]]  # equity ratio, by NACE section
    covenants: dict[str, dict[str, list[dict[str, Any]]]]


def _grouped(rows: list[dict[str, Any]], key: str) -> dict[str, list[dict[str, Any]]]:
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        groups[row[key]].append(row)
    return dict(groups)


def page_data(con: Any, orgs: list[str]) -> PageData:
    """The borrower series, all episodes, peer bands and covenant headroom of `orgs`, in the
    order each page draws them. No watchlist, no query (a credit scorer's warehouse has no
    peer marts)."""
    if not orgs:
        return PageData({}, {}, {}, {})
    chosen = "organization_number in (select unnest(?::varchar[]))"
    series = _rows(
        con,
        f"""select organization_number, month_end, revenue_t12m, operating_revenue,
            ebitda_margin_t12m, equity_ratio, altman_z from {MARTS}.fct_borrower_month
        where {chosen} order by organization_number, month_end""",
        [orgs],
    )
    episodes = _rows(
        con,
        f"""select * from {MARTS}.fct_warning_episodes where {chosen}
        order by organization_number, opened_month, flag""",
        [orgs],
    )
    bands: dict[str, list[tuple[dt.date, float, float]]] = defaultdict(list)
    for section, month_end, p25, p75 in con.execute(
        f"""select p.nace_section, p.month_end, p.p25, p.p75 from {MARTS}.fct_peer_month as p
        where p.metric = 'equity_ratio' and p.nace_section in (
            select nace_section from {MARTS}.dim_borrower where {chosen})
        order by p.nace_section, p.month_end""",
        [orgs],
    ).fetchall():
        bands[section].append((month_end, p25, p75))
    covenant_rows = _rows(
        con,
        f"""select organization_number, metric, comparison, threshold, month_end, value,
            headroom, breached
        from {MARTS}.fct_covenant_tests where {chosen}
        order by organization_number, metric, month_end""",
        [orgs],
    )
    covenants = {
        org: _grouped(rows, "metric")
        for org, rows in _grouped(covenant_rows, "organization_number").items()
    }
    return PageData(
        series=_grouped(series, "organization_number"),
        episodes=_grouped(episodes, "organization_number"),
        bands=dict(bands),
        covenants=covenants,
    )


# --- rendering --------------------------------------------------------------------------------


def _borrower_cell(e: dict[str, Any], pages: set[str]) -> str:
    name = escape(e.get("borrower_name") or "")
    org = escape(e["organization_number"])
    if e["organization_number"] in pages:
        name = f"<a href='#b{org}'>{name}</a>"
    return f"<td>{name}<br><span class='note'>{org}</span></td>"


def _event_table(events: list[dict[str, Any]], pages: set[str]) -> str:
    """The events of the run: warnings, covenants, reporting, consent and scores in one table,
    revised months in a second, smaller one."""
    if not events:
        return '<p class="note">Nothing new since the last run.</p>'
    main = [e for e in events if e["event"] != "month_revised"]
    revised = [e for e in events if e["event"] == "month_revised"]
    parts = []
    if main:
        rows = []
        for e in main[:CHANGES_SHOWN]:
            what = labels.event_name(e["event"])
            flag = labels.flag_name(e["flag"]) if e.get("flag") else ""
            rows.append(
                f"<tr data-event='{escape(e['event_id'])}'><td>{sev(e['severity'])}</td>"
                f"<td>{escape(flag or what.capitalize())}"
                + (f"<br><span class='note'>{escape(what)}</span>" if flag else "")
                + "</td>"
                + _borrower_cell(e, pages)
                + f"<td>{escape(labels.month(e['month']))}</td>"
                f"<td>{escape(figures_text(e))}</td></tr>"
            )
        parts.append(
            "<table><thead><tr><th></th><th>Event</th><th>Borrower</th><th>Month</th>"
            f"<th>Figures</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
        )
        if len(main) > CHANGES_SHOWN:
            parts.append(
                f'<p class="note">… and {len(main) - CHANGES_SHOWN:,} more '
                "(ledger.credit_events).</p>"
            )
    if revised:
        rows = [
            f"<tr data-event='{escape(e['event_id'])}'>"
            + _borrower_cell(e, pages)
            + f"<td>{escape(labels.month(e['month']))}</td>"
            f"<td class='num'>{escape(labels.pct(e['value']))}</td>"
            f"<td>{escape(e.get('details') or '')}</td></tr>"
            for e in revised
        ]
        parts.append(
            "<h3>Months materially revised</h3><table><thead><tr><th>Borrower</th><th>Month</th>"
            "<th class='num'>Revenue</th><th>Change, first to newest version</th></tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>"
        )
    return "".join(parts)


def _watchlist_table(rows: list[dict[str, Any]], flags: dict[str, list[dict]]) -> str:
    if not rows:
        return '<p class="note">No borrower has an open warning at act.</p>'
    book = any(r["drawn_nok"] for r in rows)
    head = (
        "<tr><th>#</th><th>Borrower</th><th>Industry</th>"
        + ('<th class="num">Drawn of limit</th><th>Manager</th>' if book else "")
        + "<th>Open warnings</th><th class=\"num\">Altman Z''</th></tr>"
    )
    body = []
    for r in rows:
        names = ", ".join(
            labels.flag_name(e["flag"]) + (" (act)" if e["peak_severity"] == "act" else "")
            for e in flags.get(r["organization_number"], [])
        )
        body.append(
            f"<tr><td>{r['rank']}</td><td><a href='#b{escape(r['organization_number'])}'>"
            f"{escape(r['borrower_name'] or '')}</a><br><span class='note'>"
            f"{escape(r['organization_number'])}</span></td>"
            f"<td>{escape(labels.industry(r['nace_section']))}</td>"
            + (
                f"<td class='num'>{labels.nok(r['drawn_nok'])}<br><span class='note'>of "
                f"{labels.nok(r['limit_nok'])}</span></td>"
                f"<td>{escape((r['relationship_manager'] or '–').split('@')[0])}</td>"
                if book
                else ""
            )
            + f"<td class='flags'>{escape(names)}</td>"
            f"<td class='num'>{labels.number(r['altman_z'])}</td></tr>"
        )
    note = (
        "Ranked by drawn exposure (NOK facilities of the loan book)."
        if book
        else "No loan book given: ranked by severity (open act warnings, then watch warnings, "
        "then the lowest Altman Z'')."
    )
    return (
        f"<table><thead>{head}</thead><tbody>{''.join(body)}</tbody></table>"
        f"<p class='note'>{note}</p>"
    )


def _by_manager(rows: list[dict[str, Any]]) -> str:
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        if r["relationship_manager"]:
            groups[r["relationship_manager"]].append(r)
    if not groups:
        return ""
    body = "".join(
        f"<tr><td>{escape(m)}</td><td class='num'>{len(g)}</td>"
        f"<td class='num'>{labels.nok(sum(r['drawn_nok'] or 0 for r in g))}</td>"
        f"<td>{escape(', '.join(r['borrower_name'] or r['organization_number'] for r in g))}"
        "</td></tr>"
        for m, g in sorted(groups.items(), key=lambda kv: -sum(r["drawn_nok"] or 0 for r in kv[1]))
    )
    return (
        "<h3>By relationship manager</h3><table><thead><tr><th>Manager</th>"
        "<th class='num'>Borrowers</th><th class='num'>Drawn</th><th>Watchlist borrowers</th>"
        f"</tr></thead><tbody>{body}</tbody></table>"
    )


def _scores_section(moves: dict[str, Any] | None) -> str:
    if not moves:
        return ""
    classes = sorted({c for pair in moves["matrix"] for c in pair if c})
    head = "".join(f"<th class='num'>{escape(c)}</th>" for c in classes)
    body = "".join(
        f"<tr><th>{escape(a)}</th>"
        + "".join(f"<td class='num'>{moves['matrix'].get((a, b), '') or ''}</td>" for b in classes)
        + "</tr>"
        for a in classes
    )
    changes = "".join(
        f"<tr><td>{escape(r['borrower_name'] or '')}<br><span class='note'>"
        f"{escape(r['organization_number'])}</span></td>"
        f"<td class='num'>{labels.number(r['previous_score'], 0)} → "
        f"{labels.number(r['credit_score'], 0)}</td><td class='num'>"
        f"{'+' if (r['score_change'] or 0) > 0 else ''}{labels.number(r['score_change'], 0)}</td>"
        f"<td>{escape(r['migration'] or '')}</td></tr>"
        for r in moves["newest"]
        if r["score_change"] or r["risk_class_changed"]
    )
    return (
        "<h2>Credit scores of the debtors</h2>"
        "<h3>Risk-class migrations at the newest calculation (from row to column)</h3>"
        f"<table><thead><tr><th>from \\ to</th>{head}</tr></thead><tbody>{body}</tbody></table>"
        "<h3>Score changes at the newest calculation</h3>"
        "<table><thead><tr><th>Debtor</th><th class='num'>Score</th><th class='num'>Change</th>"
        f"<th>Migration</th></tr></thead><tbody>{changes}</tbody></table>"
    )


def _legend(colors: dict[str, str]) -> str:
    if not colors:
        return ""
    items = "".join(
        f"<span><i style='background:{c}'></i>{escape(n)}</span>" for n, c in colors.items()
    )
    return f"<div class='legend'>{items}</div>"


def borrower_page(row: dict[str, Any], opened: list[dict], as_of: dt.date, data: PageData) -> str:
    org = row["organization_number"]
    series = data.series.get(org, [])
    episodes = data.episodes.get(org, [])
    colors = charts.colors_for([labels.flag_name(e["flag"]) for e in episodes])
    spans = [
        charts.Span(e["opened_month"], e["closed_month"], labels.flag_name(e["flag"]),
                    colors[labels.flag_name(e["flag"])])
        for e in episodes
    ]  # fmt: skip
    months = [s["month_end"] for s in series]
    first, last = (min(months), max(months)) if months else (as_of, as_of)
    shown = [s for s in spans if (s.end or last) >= first]
    facts = [
        f"Organisation number {escape(org)}",
        escape(labels.industry(row["nace_section"])),
    ]
    if row.get("municipality"):
        facts.append(escape(row["municipality"]))
    if row["drawn_nok"]:
        facts.append(
            f"drawn {labels.nok(row['drawn_nok'])} of {labels.nok(row['limit_nok'])} "
            f"({escape(row['products'] or '')})"
        )
    if row["relationship_manager"]:
        facts.append(f"relationship manager {escape(row['relationship_manager'])}")
    words = "".join(f"<li>{escape(warning_words(e, as_of))}</li>" for e in opened)
    parts = [
        f"<section class='page' id='b{escape(org)}'>",
        f"<h1>{escape(row['borrower_name'] or org)}</h1>",
        f"<p class='sub'>{' · '.join(facts)}</p>",
        "<h2>Open warnings</h2>",
        f"<ul class='words'>{words}</ul>" if words else "<p class='note'>None.</p>",
        "<h2>Figures over time</h2>",
        _legend({s.label: s.color for s in shown}),
        charts.line_chart(
            [(s["month_end"], s["revenue_t12m"]) for s in series],
            fmt=lambda v: labels.nok(v, compact=True),
            title="Revenue, last 12 months (NOK)",
            spans=shown,
        ),
        charts.line_chart(
            [(s["month_end"], s["ebitda_margin_t12m"]) for s in series],
            fmt=lambda v: labels.pct(v, 0),
            fine=lambda v: labels.pct(v, 1),
            title="EBITDA margin, last 12 months",
            spans=shown,
        ),
        charts.line_chart(
            [(s["month_end"], s["equity_ratio"]) for s in series],
            fmt=lambda v: labels.pct(v, 0),
            fine=lambda v: labels.pct(v, 1),
            title="Equity ratio, with the middle half of its industry's peers (shaded)",
            spans=shown,
            band=[b for b in data.bands.get(row["nace_section"], []) if first <= b[0] <= last],
            band_label="peers' 25th to 75th percentile",
        ),
        charts.line_chart(
            [(s["month_end"], s["altman_z"]) for s in series],
            fmt=lambda v: labels.number(v, 1),
            title="Altman Z'' (distress below 1.10, safe above 2.60)",
            spans=shown,
            thresholds=[(1.10, "distress 1.10"), (2.60, "safe 2.60")],
        ),
        charts.timeline(shown, first, last),
    ]
    covenants = data.covenants.get(org, {})
    if covenants:
        parts.append("<h2>Covenants: headroom</h2>")
        parts.append(
            "<p class='note'>How far each covenant's metric is on the allowed side of its "
            "threshold, in the metric's own unit; below zero is a breach.</p>"
        )
        for metric, rows in covenants.items():
            c = rows[-1]
            flag = labels.flag_name("covenant_" + metric)
            cov_spans = [s for s in shown if s.label == flag]
            parts.append(
                charts.line_chart(
                    [(r["month_end"], r["headroom"]) for r in rows],
                    fmt=lambda v, m=metric: labels.metric_value(m, v),
                    title=f"{labels.metric_name(metric)} {c['comparison']} "
                    f"{labels.metric_value(metric, c['threshold'])}: headroom",
                    spans=cov_spans,
                    thresholds=[(0.0, "breach below")],
                    height=150,
                )
            )
    parts.append("</section>")
    return "".join(parts)


def render(con: Any, generated: dt.datetime | None = None, run_id: str | None = None) -> str:
    """The brief as one HTML document, from a connection to a build (marts and ledger)."""
    generated = generated or dt.datetime.now(dt.timezone.utc)
    run_id = run_id or latest_run(con)
    as_of = con.execute(f"select max(month_end) from {MARTS}.fct_borrower_month").fetchone()[0]
    borrowers = con.execute(
        f"select count(*) from {MARTS}.fct_borrower_month where month_end = ?", [as_of]
    ).fetchone()[0]
    run = (
        _rows(con, f"select * from {SCHEMA}.credit_runs where run_id = ?", [run_id])
        if run_id
        else []
    )
    baseline = bool(run and run[0]["baseline"])
    events = events_of_run(con, run_id) if run_id else []
    if baseline and as_of:
        index = as_of.year * 12 + as_of.month - 1 - BASELINE_RECENT_MONTHS + 1
        recent = dt.date(index // 12, index % 12 + 1, 1)
        history = len(events)
        events = [e for e in events if e["month"] and e["month"] >= recent]
    wl = watchlist(con, run_id) if run_id else []
    flags = open_episodes(con, [r["organization_number"] for r in wl])
    open_count = con.execute(
        f"select count(*) from {MARTS}.fct_warning_episodes where closed_month is null"
    ).fetchone()[0]
    drawn = sum(r["drawn_nok"] or 0 for r in wl)
    shares = industry_shares(con, as_of) if as_of else []
    zones = altman_zones(con, as_of) if as_of else []
    zone_colors = {
        "safe": "#009e73",
        "grey": "#9aa3ad",
        "distress": "#b00020",
        "unknown": "#d0d5da",
    }
    if baseline:
        changed = (
            f"<p>This is the first run of this warehouse: {history:,} events of its history "
            "were recorded as the baseline. Shown: those of the last "
            f"{BASELINE_RECENT_MONTHS} months. From the next run on, this section holds only "
            "what is new.</p>"
        )
    else:
        changed = ""
    title = f"Credit brief, {labels.month(as_of)}"
    tiles = (
        f"<div class='tiles'><div class='tile'><b>{borrowers:,}</b><span>borrowers reporting "
        f"in {labels.month(as_of)}</span></div><div class='tile'><b>{len(wl):,}</b>"
        f"<span>on the watchlist{(' · ' + labels.nok(drawn, True) + ' drawn') if drawn else ''}"
        f"</span></div><div class='tile'><b>{open_count:,}</b><span>open warnings</span></div>"
        f"<div class='tile'><b>{0 if baseline else len(events):,}"
        "</b><span>new events since the last run</span></div></div>"
    )
    portfolio = [
        "<section class='page' id='portfolio'>",
        f"<h1>{escape(title)}</h1>",
        f"<p class='sub'>Portfolio as of {labels.month(as_of)} · run {escape(run_id or '–')} · "
        f"written {generated.strftime('%Y-%m-%d %H:%M UTC')}</p>",
        tiles,
        "<h2>What changed since the last run</h2>",
        changed,
        _event_table(events, {r["organization_number"] for r in wl}),
        "<h2>Watchlist</h2>",
        "<p class='note'>Borrowers with an open warning at act. Each has a page below.</p>",
        _watchlist_table(wl, flags),
        _by_manager(wl),
        "<h2>Share under warning by industry</h2>",
        charts.bars(
            [
                (
                    labels.industry(s["nace_section"]),
                    float(s["share_with_open_warning"] or 0),
                    f"({s['borrowers_with_open_warning']} of {s['borrowers_monitored']} monitored)",
                )
                for s in shares
            ],
            title=f"Borrowers with an open warning, {labels.month(as_of)}",
            fmt=lambda v: labels.pct(v, 0),
        ),
        "<h2>Altman zones</h2>",
        charts.bars(
            [
                (
                    labels.ZONES.get(z, "Not known (under 12 months of history)"),
                    float(n),
                    f"({labels.pct(n / borrowers if borrowers else 0, 0)})",
                )
                for z, n in zones
            ],
            title=f"Borrowers by Altman Z'' zone, {labels.month(as_of)}",
            fmt=lambda v: labels.count(v),
            colors=[zone_colors[z] for z, _ in zones],
        ),
        _scores_section(score_moves(con, run_id)),
        "</section>",
    ]
    data = page_data(con, [row["organization_number"] for row in wl])
    pages = [
        borrower_page(row, flags.get(row["organization_number"], []), as_of, data) for row in wl
    ]
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<meta http-equiv='Content-Security-Policy' content=\"{CSP}\">"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{escape(title)}</title><style>{CSS}</style></head><body>"
        + "".join(portfolio)
        + "".join(pages)
        + "</body></html>"
    )


def reports_dir(warehouse: str | Path) -> Path:
    """reports/ beside the warehouse file."""
    return Path(warehouse).resolve().parent / "reports"


def write(con: Any, out_dir: str | Path, generated: dt.datetime | None = None) -> Path:
    """Write the brief to `out_dir`/credit-brief-YYYY-MM-DD.html (one per day, the newest of
    the day wins) and copy it to latest.html, each through a temporary file and a rename."""
    import os

    generated = generated or dt.datetime.now(dt.timezone.utc)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    html = render(con, generated).encode("utf-8")
    path = out / f"credit-brief-{generated.strftime('%Y-%m-%d')}.html"
    for target in (path, out / "latest.html"):
        part = target.with_name(f".{target.name}.part-{os.getpid()}")
        part.write_bytes(html)
        os.replace(part, target)
    return path
