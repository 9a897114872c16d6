"""Unit tests of the checks on what the API sends (pipelines/symetrisk/untrusted.py), of the
token rules against a misbehaving token endpoint (auth.py) and of page counts that are not
counts (responses.page_items). The end-to-end cases are in tests/e2e/test_hostile_api.py."""

from __future__ import annotations

import pytest

from pipelines.symetrisk import settings
from pipelines.symetrisk.auth import CognitoClientCredentials
from pipelines.symetrisk.errors import LimitExceeded, SymetriskConfigError
from pipelines.symetrisk.responses import page_items
from pipelines.symetrisk.snapshots import SnapshotDataError
from pipelines.symetrisk.untrusted import NewColumns, check_snapshots, depth_over


def nested(levels: int):
    value: object = 1
    for _ in range(levels):
        value = {"x": value}
    return value


@pytest.mark.parametrize("levels", [0, 1, 5, 16, 17, 2_000])
def test_depth_counts_levels_without_recursing(levels):
    # an independent count: a dict of n levels holds n-1 dicts inside the outermost one
    assert depth_over(nested(levels), 16) is (levels > 16)
    assert depth_over([nested(levels)], 16) is (levels + 1 > 16)


def snapshot(**data):
    return {"id": 1, "snapshot_date": "2026-01-31", "data": {"year": 2026, **data}}


def test_a_snapshot_date_inside_data_or_deep_nesting_is_refused():
    check_snapshots([snapshot(extra=nested(10))], 16)
    with pytest.raises(SnapshotDataError, match="nests deeper than 16"):
        check_snapshots([snapshot(extra=nested(20))], 16)
    with pytest.raises(SnapshotDataError, match="snapshot_date inside data"):
        check_snapshots([snapshot(snapshot_date=5)], 16)
    with pytest.raises(SnapshotDataError, match="organization_number inside data"):
        check_snapshots([snapshot(organization_number="x")], 16)


def test_keys_that_become_one_column_are_refused_within_and_across_borrowers():
    columns = NewColumns(existing=[], max_new=10)
    with pytest.raises(SnapshotDataError, match="become the same column 'cash_note'"):
        columns.admit(["Cash_Note", "cash_note"])
    columns.admit(["Cash_Note"])
    columns.admit(["Cash_Note"])  # the same key from another borrower is fine
    with pytest.raises(SnapshotDataError, match="'Cash_Note' and 'cash-note'"):
        columns.admit(["cash-note"])
    # a key that would become a documented column
    with pytest.raises(SnapshotDataError, match="'snapshot_date' and 'Snapshot_Date'"):
        columns.admit(["Snapshot_Date"])


def test_new_columns_are_capped_per_run_and_existing_ones_do_not_count():
    columns = NewColumns(existing=["old_extra"], max_new=3)
    columns.admit(["old_extra", "a", "b"])
    assert columns.added == {"a", "b"}
    with pytest.raises(LimitExceeded) as refused:
        columns.admit([f"k{i}" for i in range(7)])
    text = str(refused.value)
    assert "7 new column(s) (k0, k1, k2, k3, k4 and 2 more)" in text
    assert f"{settings.SETTING_MAX_NEW_COLUMNS}=3" in text
    assert columns.added == {"a", "b"}  # the refused borrower added nothing
    columns.admit(["c", "a"])
    assert columns.added == {"a", "b", "c"}


@pytest.mark.parametrize(
    ("total", "expected"),
    [(5, 5), (10**12, 10**12), ("12", None), (-1, None), (True, None), (None, None), (1.5, None)],
)
def test_a_total_that_is_not_a_count_is_taken_as_missing(total, expected):
    items, got = page_items({"metadata": {"totalItems": total}, "items": [1, 2]})
    assert items == [1, 2] and got == expected


class TokenEndpoint:
    """A stand-in for the token endpoint's HTTP session (a unit test of auth.py alone)."""

    def __init__(self, expires_in):
        self.expires_in = expires_in
        self.calls = 0

    def post(self, url, **kwargs):
        self.calls += 1
        endpoint = self

        class Answer:
            status_code = 200

            def iter_content(self, chunk_size):
                yield from endpoint.body_chunks()

            def close(self):
                pass

            def json(self):
                return {"access_token": f"t{endpoint.calls}", "expires_in": endpoint.expires_in}

        return Answer()

    def body_chunks(self):
        yield b"{}"


def bearer(endpoint, monkeypatch):
    monkeypatch.setattr(settings, "TOKEN_MIN_RENEWAL_INTERVAL_S", 0.0)
    auth = CognitoClientCredentials(
        access_token_url="http://127.0.0.1:1/token", client_id="c", client_secret="s"
    )
    auth.session = endpoint
    return auth


@pytest.mark.parametrize("expires_in", [0, -5, 10, "soon", None])
def test_a_token_said_to_die_at_once_is_used_for_a_minute(monkeypatch, expires_in):
    endpoint = TokenEndpoint(expires_in)
    auth = bearer(endpoint, monkeypatch)
    tokens = {auth.current_token() for _ in range(57)}
    assert tokens == {"t1"} and endpoint.calls == 1


def test_a_token_endpoint_issuing_dead_tokens_ends_the_run(monkeypatch):
    endpoint = TokenEndpoint(3600)
    auth = bearer(endpoint, monkeypatch)
    token = auth.current_token()
    with pytest.raises(SymetriskConfigError, match="issued 5 tokens in a row that the API"):
        for _ in range(20):
            token = auth.renew(f"Bearer {token}")
    assert endpoint.calls == settings.TOKEN_MAX_DEAD_TOKENS


class EndlessTokenEndpoint(TokenEndpoint):
    def body_chunks(self):
        while True:
            yield b"x" * 64


def test_a_token_endpoint_whose_answer_never_ends_is_one_line(monkeypatch):
    auth = bearer(EndlessTokenEndpoint(3600), monkeypatch)
    with pytest.raises(SymetriskConfigError, match="kept sending more than 65,536 bytes"):
        auth.current_token()


def test_a_token_that_worked_before_it_expired_is_not_dead(monkeypatch):
    endpoint = TokenEndpoint(3600)
    auth = bearer(endpoint, monkeypatch)
    token = auth.current_token()
    for _ in range(20):
        auth.accepted(token)
        token = auth.renew(f"Bearer {token}")
    assert endpoint.calls == 21
