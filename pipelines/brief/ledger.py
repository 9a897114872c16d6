"""The credit-event ledger: every credit event the marts show, with the run that first saw it, in
tables of their own (schema `ledger`) that a rebuild of the marts neither wipes nor re-dates.

After each successful model build the run compares the events the new marts imply with the
ledger and adds the ones it has not seen, stamped with its run id and time. An event is known by
its identity (borrower, event, flag, month and what else makes it that event, hashed into
`event_id`), never by when it was computed, so rebuilding the same history finds every event
already there and announces nothing. The ledger lives in the working DuckDB file beside the
loader's raw tables (dbt writes only the `analytics` schema), is carried over from run to run
and published with each build, so readers see it with the marts it came from.

Tables (docs/data-contract.md): ledger.credit_events, ledger.credit_runs (one row per run
that recorded), ledger.watchlist (the watchlist each run saw) and ledger.alert_deliveries
(pipelines/brief/delivery.py). The first run of a warehouse records the whole history as its
`baseline`: alerts summarise it in one message instead of one per historical event."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

SCHEMA = "ledger"
MARTS = "analytics"
# a revised month is "material" when its revenue moved at least this share of the first
# version's revenue, or its equity at least MATERIAL_EQUITY_SHARE of the first version's equity
# and at least MATERIAL_EQUITY_NOK
MATERIAL_REVISION = 0.05
MATERIAL_EQUITY_SHARE = 0.10
MATERIAL_EQUITY_NOK = 100_000
# a credit score moving at least this many points (1-100 scale) is an event of its own
SCORE_CHANGE_POINTS = 5

EVENT_COLUMNS = {
    "event_id": "varchar",
    "organization_number": "varchar",
    "borrower_name": "varchar",
    "event": "varchar",
    "flag": "varchar",
    "month": "date",
    "severity": "varchar",
    "metric": "varchar",
    "comparison": "varchar",
    "value": "double",
    "threshold": "double",
    "months_flagged": "integer",
    "episode_opened_month": "date",
    "details": "varchar",
    "first_seen_run_id": "varchar",
    "first_seen_at": "timestamp with time zone",
    "baseline": "boolean",
}

DDL = f"""
create schema if not exists {SCHEMA};
create table if not exists {SCHEMA}.credit_events (
    {", ".join(f"{name} {kind}" for name, kind in EVENT_COLUMNS.items())},
    primary key (event_id)
);
create table if not exists {SCHEMA}.credit_runs (
    run_id varchar primary key,
    recorded_at timestamp with time zone,
    as_of_month date,
    events_new integer,
    baseline boolean,
    watchlist integer,
    watchlist_joined integer,
    watchlist_left integer
);
create table if not exists {SCHEMA}.watchlist (
    run_id varchar,
    organization_number varchar,
    drawn_nok double,
    relationship_manager varchar,
    act_flags integer,
    watch_flags integer
);
create table if not exists {SCHEMA}.alert_deliveries (
    event_id varchar,
    channel varchar,
    recipient varchar,
    run_id varchar,
    delivered_at timestamp with time zone,
    message_id varchar
);
"""

# the flags whose episodes are events of another name
OPEN_EVENT = {"stale_data": "stopped_reporting", "consent_revoked": "consent_revoked"}
CLOSE_EVENT = {"stale_data": "resumed_reporting"}
# an episode closed because the bank stopped seeing the books (fct_warning_episodes
# closed_reason), not because the borrower got better: event monitoring_ended
UNMONITORED = ("consent_revoked", "stopped_reporting", "lapsed")


def _open_event(flag_sql: str) -> str:
    return (
        f"case when {flag_sql} like 'covenant\\_%' escape '\\' then 'covenant_breached' "
        + " ".join(f"when {flag_sql} = '{f}' then '{e}'" for f, e in OPEN_EVENT.items())
        + " else 'opened' end"
    )


def _close_event(flag_sql: str, reason_sql: str) -> str:
    return (
        f"case when {reason_sql} in ({', '.join(repr(r) for r in UNMONITORED)}) "
        "then 'monitoring_ended' "
        f"when {flag_sql} like 'covenant\\_%' escape '\\' then 'covenant_cured' "
        + " ".join(f"when {flag_sql} = '{f}' then '{e}'" for f, e in CLOSE_EVENT.items())
        + " else 'closed' end"
    )


def metric_values_sql(metrics: list[str]) -> str:
    """(organization_number, month_end, metric, value) of these metrics, from the marts that
    hold them (pipelines/warehouse/rules_check.py METRICS); metrics of no mart are left out."""
    from pipelines.warehouse.rules_check import METRICS

    parts = [
        f"select organization_number, month_end, '{m}' as metric, "
        f"cast({m} as double) as value from {MARTS}.{METRICS[m]}"
        for m in sorted(set(metrics))
        if m in METRICS
    ]
    return (
        " union all ".join(parts)
        or "select null::varchar as organization_number, null::date as month_end, "
        "null::varchar as metric, null::double as value where false"
    )


def _signed_nok(column: str) -> str:
    """SQL: the change in whole kroner with its sign and thousands separators, '?' if null."""
    return (
        f"coalesce(case when {column} > 0 then '+' else '' end "
        f"|| format('{{:,.0f}}', {column}), '?')"
    )


def current_events_sql(con: Any) -> str:
    """The events the marts imply now, one row each, in EVENT_COLUMNS order (without the run
    columns)."""
    metrics = [
        r[0]
        for r in con.execute(
            f"select distinct metric from {MARTS}.fct_warning_episodes "
            "where closed_month is not null"
        ).fetchall()
        if r[0]
    ]
    scores = _has_table(con, MARTS, "fct_credit_score_changes")
    key = "md5(concat_ws('|', {}))"
    parts = [
        # an episode opened, at the severity of its first month
        f"""
        select {
            key.format(
                "w.organization_number, " + _open_event("w.flag") + ", w.flag, "
                "cast(w.month_end as varchar)"
            )
        } as event_id,
            w.organization_number, {_open_event("w.flag")} as event, w.flag,
            w.month_end as month, w.severity, w.metric, e.comparison, w.metric_value as value,
            w.threshold, e.months_flagged, w.episode_opened_month,
            cast(null as varchar) as details
        from {MARTS}.fct_early_warnings as w
        join {MARTS}.fct_warning_episodes as e
            on e.organization_number = w.organization_number and e.flag = w.flag
            and e.opened_month = w.episode_opened_month
        where w.event = 'opened'""",
        # a watch episode rose to act
        f"""
        select {
            key.format(
                "w.organization_number, 'rose_to_act', w.flag, "
                "cast(w.month_end as varchar), cast(w.episode_opened_month as varchar)"
            )
        },
            w.organization_number, 'rose_to_act', w.flag, w.month_end, 'act', w.metric,
            e.comparison, w.metric_value, w.threshold, e.months_flagged,
            w.episode_opened_month, null
        from {MARTS}.fct_early_warnings as w
        join {MARTS}.fct_warning_episodes as e
            on e.organization_number = w.organization_number and e.flag = w.flag
            and e.opened_month = w.episode_opened_month
        where w.event = 'escalated'""",
        # an episode closed: the value in the month it closed
        f"""
        select {
            key.format(
                "e.organization_number, " + _close_event("e.flag", "e.closed_reason") + ", "
                "e.flag, cast(e.closed_month as varchar), cast(e.opened_month as varchar)"
            )
        },
            e.organization_number, {_close_event("e.flag", "e.closed_reason")}, e.flag,
            e.closed_month,
            e.peak_severity, e.metric, e.comparison, v.value,
            case when e.peak_severity = 'act' then e.act_threshold
                else coalesce(e.watch_threshold, e.act_threshold) end,
            e.months_flagged, e.opened_month,
            case when e.closed_reason in ({", ".join(repr(r) for r in UNMONITORED)})
                then replace(e.closed_reason, '_', ' ') end
        from {MARTS}.fct_warning_episodes as e
        left join ({metric_values_sql(metrics)}) as v
            on v.organization_number = e.organization_number and v.month_end = e.closed_month
            and v.metric = e.metric
        where e.closed_month is not null""",
        # consent approved (the latest approval)
        f"""
        select {
            key.format(
                "organization_number, 'consent_approved', "
                "cast(cast(consent_approved_at as date) as varchar)"
            )
        },
            organization_number, 'consent_approved', null, cast(consent_approved_at as date),
            'info', null, null, null, null, null, null, null
        from {MARTS}.dim_borrower
        where consent_approved_at is not null
            and (consent_revoked_at is null or consent_approved_at > consent_revoked_at)""",
        # a month revised by more than MATERIAL_REVISION of its revenue or equity
        f"""
        select {
            key.format(
                "organization_number, 'month_revised', cast(month_end as varchar), "
                "cast(versions as varchar)"
            )
        },
            organization_number, 'month_revised', null, month_end, 'info',
            'operating_revenue_change_pct', null, operating_revenue_change_pct,
            {MATERIAL_REVISION}, null, null,
            'revenue ' || {_signed_nok("operating_revenue_change")}
                || ' NOK, equity ' || {_signed_nok("total_equity_change")}
                || ' NOK (version ' || cast(versions as varchar) || ')'
        from {MARTS}.fct_snapshot_revisions
        where abs(operating_revenue_change_pct) >= {MATERIAL_REVISION}
            or (abs(total_equity_change) >= {MATERIAL_EQUITY_SHARE} * abs(total_equity_first)
                and abs(total_equity_change) >= {MATERIAL_EQUITY_NOK})""",
    ]
    if scores:
        parts += [
            f"""
            select {
                key.format(
                    "organization_number, 'risk_class_changed', cast(calculated_at as varchar)"
                )
            },
                organization_number, 'risk_class_changed', null,
                cast(calculated_at as date), case when downgrade then 'act' else 'info' end,
                'credit_score', null, credit_score, previous_score, null, null, migration
            from {MARTS}.fct_credit_score_changes where risk_class_changed""",
            f"""
            select {
                key.format("organization_number, 'score_changed', cast(calculated_at as varchar)")
            },
                organization_number, 'score_changed', null, cast(calculated_at as date),
                case when score_change < 0 then 'watch' else 'info' end, 'credit_score', null,
                credit_score, previous_score, null, null,
                cast(previous_score as varchar) || ' -> ' || cast(credit_score as varchar)
            from {MARTS}.fct_credit_score_changes
            where not risk_class_changed and abs(score_change) >= {SCORE_CHANGE_POINTS}""",
        ]
    union = " union all ".join(f"({p})" for p in parts)
    return f"""
        select c.event_id, c.organization_number, d.borrower_name, c.event, c.flag, c.month,
            c.severity, c.metric, c.comparison, c.value, c.threshold, c.months_flagged,
            c.episode_opened_month, c.details
        from ({union}) as c (event_id, organization_number, event, flag, month, severity,
            metric, comparison, value, threshold, months_flagged, episode_opened_month, details)
        left join {MARTS}.dim_borrower as d on d.organization_number = c.organization_number
    """


WATCHLIST_SQL = f"""
    select
        e.organization_number,
        max(x.drawn_nok) as drawn_nok,
        max(x.relationship_manager) as relationship_manager,
        count(distinct case when e.peak_severity = 'act' then e.flag end) as act_flags,
        count(distinct case when e.peak_severity <> 'act' then e.flag end) as watch_flags
    from {MARTS}.fct_warning_episodes as e
    left join {{exposure}} as x on x.organization_number = e.organization_number
    where e.closed_month is null
    group by e.organization_number
    having count(distinct case when e.peak_severity = 'act' then e.flag end) > 0
"""


def _has_table(con: Any, schema: str, table: str) -> bool:
    return bool(
        con.execute(
            "select count(*) from information_schema.tables "
            "where table_schema = ? and table_name = ?",
            [schema, table],
        ).fetchone()[0]
    )


def has_marts(con: Any) -> bool:
    """Whether the marts the events come from were ever built in this warehouse."""
    return all(
        _has_table(con, MARTS, t)
        for t in ("fct_warning_episodes", "fct_early_warnings", "dim_borrower",
                  "fct_snapshot_revisions", "fct_borrower_month")
    )  # fmt: skip


def watchlist_sql(con: Any) -> str:
    exposure = (
        f"{MARTS}.fct_borrower_exposure"
        if _has_table(con, MARTS, "fct_borrower_exposure")
        else "(select null::varchar as organization_number, null::double as drawn_nok, "
        "null::varchar as relationship_manager where false)"
    )
    return WATCHLIST_SQL.replace("{exposure}", exposure)


@dataclass
class Recorded:
    """What one run added to the ledger."""

    run_id: str
    baseline: bool
    counts: dict[str, int] = field(default_factory=dict)  # event -> new events
    events_new: int = 0
    watchlist: int = 0
    watchlist_joined: int = 0
    watchlist_left: int = 0
    joined_drawn_nok: float = 0.0
    watchlist_drawn_nok: float = 0.0
    history_events: int = 0


def ensure(con: Any) -> None:
    con.execute(DDL)


def record(con: Any, run_id: str, now: dt.datetime | None = None) -> Recorded:
    """Add the events the marts imply and the ledger lacks, stamped with `run_id`, and the
    watchlist this run sees; in one transaction. `con` writes the warehouse (the working file)."""
    now = now or dt.datetime.now(dt.timezone.utc)
    ensure(con)
    already = con.execute(
        f"select run_id from {SCHEMA}.credit_runs where run_id = ?", [run_id]
    ).fetchone()
    if already:
        return summarise(con, run_id)
    con.execute("begin transaction")
    try:
        baseline = not con.execute(f"select count(*) from {SCHEMA}.credit_runs").fetchone()[0]
        con.execute(f"create or replace temp table _current_events as {current_events_sql(con)}")
        con.execute(
            f"""insert into {SCHEMA}.credit_events
            select distinct on (c.event_id) c.*, ?, ?, ?
            from _current_events as c
            where c.event_id not in (select event_id from {SCHEMA}.credit_events)""",
            [run_id, now, baseline],
        )
        previous = con.execute(
            f"select run_id from {SCHEMA}.credit_runs order by recorded_at desc limit 1"
        ).fetchone()
        con.execute(
            f"insert into {SCHEMA}.watchlist select ?, organization_number, drawn_nok, "
            f"relationship_manager, act_flags, watch_flags from ({watchlist_sql(con)})",
            [run_id],
        )
        joined, left = con.execute(
            f"""select
                (select count(*) from {SCHEMA}.watchlist where run_id = $now
                    and organization_number not in
                    (select organization_number from {SCHEMA}.watchlist where run_id = $prev)),
                (select count(*) from {SCHEMA}.watchlist where run_id = $prev
                    and organization_number not in
                    (select organization_number from {SCHEMA}.watchlist where run_id = $now))""",
            {"now": run_id, "prev": previous[0] if previous else ""},
        ).fetchone()
        new, watched = con.execute(
            f"""select
                (select count(*) from {SCHEMA}.credit_events where first_seen_run_id = $run),
                (select count(*) from {SCHEMA}.watchlist where run_id = $run)""",
            {"run": run_id},
        ).fetchone()
        as_of = con.execute(f"select max(month_end) from {MARTS}.fct_borrower_month").fetchone()
        con.execute(
            f"insert into {SCHEMA}.credit_runs values (?, ?, ?, ?, ?, ?, ?, ?)",
            [run_id, now, as_of[0], new, baseline, watched, joined, left],
        )
        con.execute("drop table _current_events")
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return summarise(con, run_id)


def summarise(con: Any, run_id: str) -> Recorded:
    """What run `run_id` recorded (from the ledger: the brief and the alerts say the same)."""
    row = con.execute(
        f"select baseline, events_new, watchlist, watchlist_joined, watchlist_left "
        f"from {SCHEMA}.credit_runs where run_id = ?",
        [run_id],
    ).fetchone()
    if row is None:
        raise LookupError(f"run {run_id} recorded no credit events")
    done = Recorded(run_id, bool(row[0]), events_new=row[1], watchlist=row[2])
    done.watchlist_joined, done.watchlist_left = row[3], row[4]
    done.counts = dict(
        con.execute(
            f"select event, count(*) from {SCHEMA}.credit_events "
            "where first_seen_run_id = ? group by event",
            [run_id],
        ).fetchall()
    )
    previous = previous_run(con, run_id)
    drawn = con.execute(
        f"""select coalesce(sum(drawn_nok), 0),
            coalesce(sum(case when organization_number not in (
                select organization_number from {SCHEMA}.watchlist where run_id = $prev)
                then drawn_nok end), 0)
        from {SCHEMA}.watchlist where run_id = $run""",
        {"run": run_id, "prev": previous or ""},
    ).fetchone()
    done.watchlist_drawn_nok, done.joined_drawn_nok = float(drawn[0]), float(drawn[1])
    done.history_events = con.execute(f"select count(*) from {SCHEMA}.credit_events").fetchone()[0]
    return done


def previous_run(con: Any, run_id: str) -> str | None:
    """The run that recorded before `run_id`, or None."""
    row = con.execute(
        f"""select run_id from {SCHEMA}.credit_runs
        where recorded_at < (select recorded_at from {SCHEMA}.credit_runs where run_id = ?)
        order by recorded_at desc limit 1""",
        [run_id],
    ).fetchone()
    return row[0] if row else None


def latest_run(con: Any) -> str | None:
    if not _has_table(con, SCHEMA, "credit_runs"):
        return None
    row = con.execute(
        f"select run_id from {SCHEMA}.credit_runs order by recorded_at desc limit 1"
    ).fetchone()
    return row[0] if row else None


def events_of_run(con: Any, run_id: str) -> list[dict[str, Any]]:
    """The events `run_id` saw first, as dicts, most severe first."""
    cursor = con.execute(
        f"""select * from {SCHEMA}.credit_events where first_seen_run_id = ?
        order by case severity when 'act' then 0 when 'watch' then 1 else 2 end,
            organization_number, month, event, flag""",
        [run_id],
    )
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


# --- the run's credit line -------------------------------------------------------------------

LINE_ORDER = (
    ("opened", "warning opened", "warnings opened"),
    ("rose_to_act", "rose to act", "rose to act"),
    ("closed", "closed", "closed"),
    ("monitoring_ended", "closed as monitoring ended", "closed as monitoring ended"),
    ("covenant_breached", "covenant breached", "covenants breached"),
    ("covenant_cured", "covenant cured", "covenants cured"),
    ("stopped_reporting", "stopped reporting", "stopped reporting"),
    ("resumed_reporting", "reporting again", "reporting again"),
    ("consent_approved", "consent approved", "consents approved"),
    ("consent_revoked", "consent revoked", "consents revoked"),
    ("month_revised", "month materially revised", "months materially revised"),
    ("score_changed", "score changed", "scores changed"),
    ("risk_class_changed", "risk class changed", "risk classes changed"),
)


def credit_line(done: Recorded) -> str:
    """`credit: 3 joined the watchlist (NOK 42.1M drawn), 5 warnings opened, 2 closed, ...`"""
    from pipelines.brief.labels import nok

    if done.baseline:
        return (
            f"credit: first run of this warehouse: {done.events_new:,} events of its history "
            f"recorded as the baseline; {done.watchlist:,} on the watchlist"
            + (
                f" ({nok(done.watchlist_drawn_nok, True)} drawn)"
                if done.watchlist_drawn_nok
                else ""
            )
        )
    parts = []
    if done.watchlist_joined:
        drawn = f" ({nok(done.joined_drawn_nok, True)} drawn)" if done.joined_drawn_nok else ""
        parts.append(f"{done.watchlist_joined} joined the watchlist{drawn}")
    if done.watchlist_left:
        parts.append(f"{done.watchlist_left} left it")
    for event, one, many in LINE_ORDER:
        n = done.counts.get(event, 0)
        if n:
            parts.append(f"{n} {one if n == 1 else many}")
    if not parts:
        return f"credit: nothing new since the last run ({done.watchlist:,} on the watchlist)"
    return "credit: " + ", ".join(parts)


def line_keys(done: Recorded) -> dict[str, int]:
    """The counts as keys of the `symetrisk-run` line."""
    keys = {
        "credit_events_new": done.events_new,
        "credit_baseline": int(done.baseline),
        "credit_watchlist": done.watchlist,
        "credit_watchlist_joined": done.watchlist_joined,
        "credit_watchlist_left": done.watchlist_left,
    }
    for event, _, _ in LINE_ORDER:
        keys[f"credit_{event}"] = done.counts.get(event, 0)
    return keys
