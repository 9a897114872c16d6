"""Unit tests of single functions of the symetrisk source: paging termination, lookback and
state arithmetic, flattening to Arrow, the Cognito token request, Retry-After parsing."""

from __future__ import annotations

import base64
import datetime as dt
import threading
import time
from typing import Any

import pyarrow as pa
import pytest

from pipelines.symetrisk import settings
from pipelines.symetrisk.auth import CognitoClientCredentials
from pipelines.symetrisk.client import Api, RateLimiter
from pipelines.symetrisk.paging import SkipPaginator
from pipelines.symetrisk.responses import retry_after_seconds
from pipelines.symetrisk.snapshots import (
    SnapshotBatch,
    SnapshotDataError,
    check_item,
    classify,
    content_hash,
    next_state,
    plan_for,
    shift_month_end,
    versions_table,
    with_hashes,
)
from pipelines.symetrisk.transport import Slots

# --- paging -----------------------------------------------------------------------------------


def drain(server_list: list[Any], limit: int, between_pages=None, clamp: int | None = None):
    """Drive a SkipPaginator against an in-memory list the way Api.pages does."""
    paginator = SkipPaginator(limit=limit)
    paginator._has_next_page = True
    paginator.current_value = 0
    seen: list[Any] = []
    requests = 0
    while True:
        skip = paginator.current_value
        size = min(limit, clamp) if clamp else limit
        page = server_list[skip : skip + size]
        requests += 1
        seen.extend(page)
        paginator.advance(len(page), len(server_list))
        if between_pages:
            between_pages(requests, server_list)
        if not paginator.has_next_page:
            return seen, requests
        assert requests < 1000, "endless paging"


@pytest.mark.parametrize(
    ("n", "expected_requests"), [(0, 1), (1, 1), (99, 1), (100, 1), (101, 2), (250, 3)]
)
def test_paging_reads_every_item_once(n, expected_requests):
    items = list(range(n))
    seen, requests = drain(items, 100)
    assert seen == items
    assert requests == expected_requests


def test_paging_stops_on_an_empty_page_even_if_total_says_more():
    paginator = SkipPaginator(limit=100)
    paginator.advance(100, 500)
    assert paginator.has_next_page
    paginator.advance(0, 500)
    assert not paginator.has_next_page


def test_paging_follows_a_server_that_returns_fewer_than_asked():
    items = list(range(230))
    seen, requests = drain(items, 100, clamp=40)
    assert seen == items
    assert requests == 6


def test_paging_growing_total_reads_the_new_items():
    items = list(range(150))

    def append(page_no, lst):
        if page_no == 1:
            lst.extend(range(150, 160))

    seen, _ = drain(items, 100, between_pages=append)
    assert seen == list(range(160))


def test_paging_new_items_at_the_front_give_duplicates_not_gaps():
    items = list(range(100, 350))  # newest first would be descending; order is irrelevant here

    def prepend(page_no, lst):
        if page_no == 1:
            lst.insert(0, -1)

    seen, _ = drain(items, 100, between_pages=prepend)
    assert set(range(100, 350)) <= set(seen)


def test_paging_shrinking_total_steps_back_so_nothing_is_skipped():
    items = list(range(250))

    def delete_read_item(page_no, lst):
        if page_no == 1:
            del lst[10]  # an item already read disappears: everything behind slides forward

    seen, _ = drain(items, 100, between_pages=delete_read_item)
    assert set(range(250)) - {10} <= set(seen)


def test_paging_never_loops_forever_when_the_total_keeps_shrinking():
    items = list(range(1000))

    def shrink(page_no, lst):
        del lst[:150]

    seen, requests = drain(items, 100, between_pages=shrink)
    assert requests < 100


class ListServer:
    """Serves a Python list as limit/skip pages with metadata.totalItems (a stand-in for the
    transport in unit tests of Api.list_items); `change(request_no, lst)` may edit the list."""

    def __init__(self, items, change=None, page_size=100):
        self.items, self.change, self.page_size, self.asked = items, change, page_size, []
        self.lock = threading.Lock()

    def get_json(self, path, params):
        with self.lock:
            self.asked.append(params["skip"])
            if self.change:
                self.change(len(self.asked), self.items)
            skip, limit = params["skip"], min(params["limit"], self.page_size)
            page = self.items[skip : skip + limit]
            return {"items": page, "metadata": {"totalItems": len(self.items)}}


def api_over(server):
    api = Api("https://api.symetrisk.com/api/v1", "https://token.example/oauth2/token", "id", "s")
    api.transport = server
    return api


def test_list_items_reads_every_page_after_the_first_at_once():
    server = ListServer(list(range(1234)))
    assert api_over(server).list_items("/relationships") == list(range(1234))
    assert server.asked[0] == 0 and sorted(server.asked) == list(range(0, 1300, 100))


def test_list_items_follows_a_server_that_clamps_the_page_size():
    server = ListServer(list(range(130)), page_size=40)
    assert api_over(server).list_items("/relationships") == list(range(130))


def test_list_items_reads_in_turn_again_when_the_list_changes_meanwhile():
    def delete_one(request_no, lst):
        if request_no == 3:
            del lst[10]  # everything behind slides forward: an item would be skipped

    server = ListServer(list(range(450)), change=delete_one)
    seen = api_over(server).list_items("/relationships")
    assert set(range(450)) - {10} <= set(seen)
    assert len(server.asked) > 5  # the first reading, then page by page


# --- lookback and state arithmetic --------------------------------------------------------------


TODAY = dt.date(2026, 11, 25)


def test_shift_month_end_across_years():
    assert shift_month_end(dt.date(2026, 1, 31), -1) == dt.date(2025, 12, 31)
    assert shift_month_end(dt.date(2026, 1, 31), 1) == dt.date(2026, 2, 28)
    assert shift_month_end(dt.date(2024, 3, 31), -1) == dt.date(2024, 2, 29)


def test_plan_new_borrower_reads_everything():
    plan = plan_for("810000002", None, 3, TODAY)
    assert plan.cutoff is None and plan.limit == settings.MAX_PAGE_SIZE
    assert plan_for("810000002", {"n": "2026-10-31"}, 3, TODAY, full_refresh=True).cutoff is None


def test_plan_incremental_asks_one_page_of_new_plus_lookback():
    plan = plan_for("810000002", {"n": "2026-09-30", "r": {}}, 3, TODAY)
    assert plan.cutoff == "2026-07-31"  # Sep, Aug, Jul re-read
    assert plan.limit == 3 + 2  # October and November may be new
    plan = plan_for("810000002", {"n": "2026-10-31"}, 3, dt.date(2026, 10, 15))
    assert plan.limit == 4  # at least one new month
    plan = plan_for("810000002", {"n": "2026-10-31"}, 0, TODAY)
    assert plan.cutoff == "2026-11-30"  # no lookback: only newer months
    plan = plan_for("810000002", {"n": "2010-01-31"}, 3, TODAY)
    assert plan.limit == settings.MAX_PAGE_SIZE


def item(date: str, updated: str = "2026-11-01T03:00:00Z", **data: Any) -> dict[str, Any]:
    year, month = int(date[:4]), int(date[5:7])
    return {
        "id": int(date.replace("-", "")),
        "organization_number": "810000002",
        "snapshot_date": date,
        "updated_at": updated,
        "data": {
            "symetrisk_real_time_accounts_format_version": "2025-09-19",
            "year": year,
            "month": month,
            "currency": "NOK",
            "income_statement": {
                "month": dict.fromkeys(settings.INCOME_LINES, 1.5),
                "year_to_date": dict.fromkeys(settings.INCOME_LINES, 10.25),
            },
            "balance_sheet": dict.fromkeys(settings.BALANCE_LINES, 100.0),
            **data,
        },
    }


def bare(date: str, revenue: float = 1.5) -> dict[str, Any]:
    """A snapshot shaped only as the public docs define it: no updated_at, no organisation."""
    full = item(date)
    full["data"]["income_statement"]["month"]["operating_revenue"] = revenue
    return {"id": full["id"], "snapshot_date": date, "data": full["data"]}


def test_classify_new_changed_unchanged_by_content():
    old = [bare("2026-09-30"), bare("2026-08-31"), bare("2026-07-31")]
    state = {"n": "2026-09-30", "r": {i["snapshot_date"]: content_hash(i) for i in old}}
    items = [bare("2026-10-31"), bare("2026-09-30", revenue=99.0), *old[1:]]
    rows, counts = classify(items, state)
    assert [r["snapshot_date"] for r in rows] == ["2026-10-31", "2026-09-30"]
    assert counts == {"new": 1, "changed": 1, "unchanged": 2, "reloaded": 0}


def test_content_hash_ignores_key_order_and_sees_any_change():
    one = bare("2026-09-30")
    reordered = {"data": dict(reversed(list(one["data"].items()))), **one}
    assert content_hash(reordered) == content_hash(one)
    assert len(content_hash(one)) == 8  # the state keeps one per month of the lookback window
    assert content_hash(item("2026-09-30", "A")) != content_hash(item("2026-09-30", "B"))


def test_check_item_needs_only_a_date_and_data():
    assert check_item(bare("2026-09-30")) == "2026-09-30"
    for broken in (
        {"id": 1, "data": {}},
        {"snapshot_date": "31.09.2026", "data": {}},
        {"snapshot_date": "2026-09-30"},
        "not an object",
    ):
        with pytest.raises(SnapshotDataError):
            check_item(broken)


def test_classify_full_refresh_counts_older_months_as_reloaded():
    state = {"n": "2026-09-30", "r": {"2026-09-30": content_hash(item("2026-09-30", "A"))}}
    rows, counts = classify([item("2026-09-30", "A"), item("2026-01-31")], state, True)
    assert counts["reloaded"] == 1 and counts["unchanged"] == 1 and len(rows) == 1


def test_next_state_keeps_only_the_lookback_window():
    items = [item(d) for d in ("2026-10-31", "2026-09-30", "2026-08-31", "2026-07-31")]
    state = next_state(items, None, 3)
    assert state["n"] == "2026-10-31"
    assert sorted(state["r"]) == ["2026-08-31", "2026-09-30", "2026-10-31"]
    # a later run that saw only the newest month keeps older window entries it still needs
    state2 = next_state([item("2026-11-30", "X")], state, 3)
    assert sorted(state2["r"]) == ["2026-09-30", "2026-10-31", "2026-11-30"]
    assert next_state([], None, 3) == {}


# --- flattening to Arrow -------------------------------------------------------------------------


def test_flatten_standard_rows_to_typed_columns():
    batch = SnapshotBatch()
    batch.add([item("2026-10-31"), item("2026-09-30")])
    table = batch.to_arrow()
    assert table.num_rows == 2
    assert table.schema.field("snapshot_date").type == pa.date32()
    assert table.schema.field("updated_at").type == pa.timestamp("us", tz="UTC")
    assert table.schema.field("id").type == pa.int64()
    assert table.column("income_statement__month__net_result").to_pylist() == [1.5, 1.5]
    assert table.column("income_statement__year_to_date__sales_revenue").to_pylist()[0] == 10.25
    assert table.column("balance_sheet__total_assets").to_pylist()[0] == 100.0
    assert (
        table.column("symetrisk_real_time_accounts_format_version").to_pylist()[0] == "2025-09-19"
    )
    assert not table.schema.field("organization_number").nullable


def test_flatten_keeps_unknown_keys_and_nulls_and_type_changes():
    odd = item("2026-08-31", esg={"co2_tonnes": 12.5})
    odd["data"]["balance_sheet"]["cash_and_bank"] = None
    odd["data"]["balance_sheet"]["inventory"] = "12.50"  # type changed to text
    odd["source_system"] = "tripletex"
    batch = SnapshotBatch()
    batch.add([item("2026-10-31"), odd, item("2026-07-31")])
    table = batch.to_arrow()
    assert table.num_rows == 3
    assert table.column("esg__co2_tonnes").to_pylist() == [None, 12.5, None]
    assert table.column("source_system").to_pylist() == [None, "tripletex", None]
    assert table.column("balance_sheet__cash_and_bank").to_pylist() == [100.0, None, 100.0]
    assert table.column("balance_sheet__inventory").to_pylist() == [100.0, None, 100.0]
    assert table.column("balance_sheet__inventory__v_text").to_pylist() == [None, "12.50", None]


def test_flatten_all_null_number_stays_null_and_typed():
    row = item("2026-10-31")
    row["data"]["income_statement"]["month"] = dict.fromkeys(settings.INCOME_LINES)
    batch = SnapshotBatch()
    batch.add([row])
    table = batch.to_arrow()
    assert table.schema.field("income_statement__month__net_result").type == pa.float64()
    assert table.column("income_statement__month__net_result").to_pylist() == [None]


def test_versions_table_projects_the_contract_columns():
    batch = SnapshotBatch()
    batch.add([item("2026-10-31")])
    seen = dt.datetime(2026, 11, 25, tzinfo=dt.timezone.utc)
    versions = versions_table(with_hashes(batch.to_arrow(), ["abc"]), seen)
    assert versions.column_names == [
        "organization_number",
        "snapshot_date",
        "content_hash",
        "updated_at",
        "id",
        "first_seen_at",
        "operating_revenue",
        "operating_result",
        "net_result",
        "total_equity",
        "total_assets",
        "cash_and_bank",
        "_dlt_id",  # made by the source, not by dlt's normalizer (docs/data-contract.md)
    ]
    assert versions.column("net_result").to_pylist() == [1.5]


# --- auth and HTTP manners -----------------------------------------------------------------------


def test_cognito_token_request_uses_basic_auth_and_scope():
    auth = CognitoClientCredentials(
        access_token_url="http://127.0.0.1:9/oauth2/token",
        client_id="my-client",
        client_secret="s3cret",
        scope=settings.READ_SCOPE,
    )
    request = auth.build_access_token_request()
    expected = base64.b64encode(b"my-client:s3cret").decode()
    assert request["headers"]["Authorization"] == f"Basic {expected}"
    assert request["data"] == {"grant_type": "client_credentials", "scope": settings.READ_SCOPE}
    assert "client_secret" not in request["data"]


def test_retry_after_parsing():
    assert retry_after_seconds("2") == 2.0
    assert retry_after_seconds("0.5") == 0.5
    assert retry_after_seconds(None) is None
    assert retry_after_seconds("garbage") is None
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0


def test_rate_limiter_spaces_requests_and_pauses_everyone():
    limiter = RateLimiter(rps=50)
    started = time.monotonic()
    for _ in range(6):
        limiter.acquire()
    assert time.monotonic() - started >= 0.09
    limiter = RateLimiter()
    limiter.pause(0.2)
    started = time.monotonic()
    limiter.acquire()
    assert time.monotonic() - started >= 0.15


def test_api_sessions_read_proxy_and_ca_settings_once_as_requests_would(monkeypatch):

    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.bank.example:3128")
    monkeypatch.setenv("NO_PROXY", "internal.example")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/bank-ca.pem")
    api = Api("https://api.symetrisk.com/api/v1", "https://token.example/oauth2/token", "id", "s")
    session = api.http.session
    assert session.trust_env is False
    assert session.proxies.get("https") == "http://proxy.bank.example:3128"
    assert api.http._adapter.store.verify == "/etc/ssl/bank-ca.pem"

    bypassed = Api("https://internal.example/api/v1", "https://t.example/token", "id", "s")
    assert "https" not in bypassed.http.session.proxies


def test_row_ids_are_unique_url_safe_and_not_null():
    from pipelines.symetrisk.snapshots import with_row_ids

    table = with_row_ids(pa.table({"n": list(range(5000))}))
    ids = table.column("_dlt_id").to_pylist()
    assert table.schema.field("_dlt_id").nullable is False
    assert len(set(ids)) == 5000 and {len(i) for i in ids} == {22}
    assert all(set(i) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
               for i in ids)  # fmt: skip
    assert with_row_ids(pa.table({"n": pa.array([], pa.int64())})).num_rows == 0


def test_transport_reads_proxy_and_ca_settings_once_as_requests_would(monkeypatch):

    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.bank.example:3128")
    monkeypatch.setenv("NO_PROXY", "internal.example")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/bank-ca.pem")
    api = Api("https://api.symetrisk.com/api/v1", "https://token.example/oauth2/token", "id", "s")
    assert api.transport.proxy == "http://proxy.bank.example:3128"
    assert api.transport.trust.path == "/etc/ssl/bank-ca.pem"
    bypassed = Api("https://internal.example/api/v1", "https://t.example/token", "id", "s")
    assert bypassed.transport.proxy is None


def test_in_flight_slots_are_capped_and_served_in_turn():
    order: list[str] = []
    release = threading.Event()

    def use(slots: Slots, name: str) -> None:
        with slots:
            order.append(name)
            release.wait()

    def start(slots: Slots, names: str) -> list[threading.Thread]:
        threads = []
        for name in names:
            threads.append(threading.Thread(target=use, args=(slots, name)))
            threads[-1].start()
            while len(order) + len(slots._waiting) < len(threads):  # in, or queued, in turn
                time.sleep(0.001)
        return threads

    two = Slots(2)
    threads = start(two, "abc")
    time.sleep(0.05)
    assert order == ["a", "b"]  # c waits: two slots, both held
    release.set()
    for t in threads:
        t.join(5)
    assert sorted(order) == ["a", "b", "c"] and two._free == 2

    order.clear()
    release.clear()
    one = Slots(1)
    threads = start(one, "defg")
    release.set()  # each holder leaves at once and hands the slot to the next in line
    for t in threads:
        t.join(5)
    assert order == ["d", "e", "f", "g"] and one._free == 1 and not one._waiting


# --- the first calls, read while the run goes on starting ---------------------------------------


class FirstCallsApi:
    """An Api of two endpoints: /self answers `me`; /relationships answers `lists`, one answer
    (a list, or an exception to raise) per read."""

    def __init__(self, me: Any, lists: list[Any]) -> None:
        self.me, self.lists, self.reads = me, list(lists), 0

    def get(self, path: str) -> Any:
        assert path == settings.SELF
        if isinstance(self.me, Exception):
            raise self.me
        return self.me

    def list_items(self, path: str) -> list[Any]:
        assert path == settings.RELATIONSHIPS
        self.reads += 1
        answer = self.lists.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def loader_over(api: FirstCallsApi):
    from pipelines.symetrisk.resources import Resources, RunStats

    return Resources(api, RunStats(), None, 3, 4, False, 100)  # type: ignore[arg-type]


def http_error(status: int):
    import requests

    response = requests.Response()
    response.status_code = status
    response.url = "http://api/self"
    response.request = requests.Request("GET", response.url).prepare()
    response._content = b'{"message": "%d error"}' % status
    return requests.HTTPError(f"{status} error", response=response)


def wait_for(condition, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the first calls never finished"
        time.sleep(0.01)


def join_first_calls() -> None:
    for thread in threading.enumerate():
        if thread.name == "symetrisk-first-calls":
            thread.join(5)


def test_first_calls_read_the_relationships_once_for_a_bank():
    bank = {"company": {"role": "bank"}}
    api = FirstCallsApi(bank, [[{"id": 1, "organization_number": "123456785"}]])
    loader = loader_over(api)
    assert loader.start("http://api", relationships=True).result(timeout=5) == bank
    wait_for(lambda: loader.answered(settings.RELATIONSHIPS))
    assert [r["id"] for r in loader.relationships()] == [1]
    assert api.reads == 1, "the resource must use the list read ahead"


@pytest.mark.parametrize(
    ("role", "asked"), [("credit_scorer", True), ("bank", False)], ids=["scorer", "not-asked"]
)
def test_first_calls_read_only_self_for_a_credit_scorer_or_unless_asked(role, asked):
    api = FirstCallsApi({"company": {"role": role}}, [])
    loader = loader_over(api)
    loader.start("http://api", relationships=asked).result(timeout=5)
    join_first_calls()
    assert api.reads == 0


def test_first_calls_raise_a_list_error_where_the_resource_reads_the_list():
    api = FirstCallsApi({}, [http_error(500), [{"id": 2, "organization_number": "123456785"}]])
    loader = loader_over(api)
    loader.start("http://api", relationships=True).result(timeout=5)
    wait_for(lambda: settings.RELATIONSHIPS in loader._failed)
    with pytest.raises(Exception, match="500 error"):
        loader.relationships()
    assert [r["id"] for r in loader.relationships()] == [2], "a later read tries again"


def test_first_calls_pass_on_the_error_of_self():
    from pipelines.symetrisk.errors import SymetriskConfigError

    api = FirstCallsApi(http_error(401), [])
    loader = loader_over(api)
    with pytest.raises(SymetriskConfigError, match="refused the token"):
        loader.start("http://api", relationships=True).result(timeout=5)
    assert api.reads == 0
