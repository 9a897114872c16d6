"""The floor for the load benchmarks: a bare concurrent HTTP client that fetches the same pages
as the loader, at the same concurrency, and throws the bodies away. Nothing can load faster
than the API serves.

The full floor asks what the loader's full load asks: /self, every relationship and
notification page, every borrower's detail, every approved borrower's accounting pages. With
`--state-out FILE` it keeps what an incremental floor needs to know of that load, as the
loader's dlt state does: each approved borrower's newest snapshot month, each relationship's
hash and the newest notification id.

The incremental floor (`--incremental FILE`) asks what the loader's nightly run asks: /self,
the relationship pages (all at once after the first, as the loader reads the list), the detail
of each borrower whose relationship changed, one accounting page per approved borrower with the
loader's `limit` (its lookback plus the months since the borrower's newest stored month, as
`pipelines.symetrisk.snapshots.plan_for` computes it; a further page only if the first does
not reach back to the cut-off) and the notification pages down to the newest id seen."""

from __future__ import annotations

import argparse
import calendar
import datetime as dt
import hashlib
import json
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import orjson
import requests

READ_SCOPE = "https://api.symetrisk.com/read"
APPROVED = "access_approved"
PAGE = 100  # the largest page the API gives


def token(token_url: str, client_id: str, client_secret: str) -> str:
    response = requests.post(
        token_url,
        auth=(client_id, client_secret),
        data={"grant_type": "client_credentials", "scope": READ_SCOPE},
        timeout=30,
    )
    response.raise_for_status()
    return response.json()["access_token"]


def month_index(date: dt.date) -> int:
    return date.year * 12 + date.month - 1


def month_end(index: int) -> dt.date:
    year, month = divmod(index, 12)
    return dt.date(year, month + 1, calendar.monthrange(year, month + 1)[1])


def incremental_plan(newest: str, lookback: int, today: dt.date) -> tuple[int, str]:
    """(limit, cut-off) of the first accounting page the loader asks for a borrower whose
    newest stored month is `newest`."""
    newest_date = dt.date.fromisoformat(newest)
    expected_new = max(1, month_index(today) - month_index(newest_date))
    cutoff = month_end(month_index(newest_date) + (1 - lookback if lookback else 1))
    return min(PAGE, lookback + expected_new), cutoff.isoformat()


def relationship_hash(row: dict) -> str:
    return hashlib.blake2b(
        orjson.dumps(row, option=orjson.OPT_SORT_KEYS), digest_size=8
    ).hexdigest()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--api-url", required=True)
    parser.add_argument("--token-url", required=True)
    parser.add_argument("--client-id", default="demo-bank")
    parser.add_argument("--client-secret", default="demo-bank-secret")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--state-out", type=Path, help="full floor: keep what it saw here")
    parser.add_argument("--incremental", type=Path, help="the nightly run's requests, from this")
    parser.add_argument("--lookback-months", type=int, default=3)
    args = parser.parse_args(argv)

    headers = {
        "Authorization": f"Bearer {token(args.token_url, args.client_id, args.client_secret)}"
    }
    local = threading.local()
    counts = {"requests": 1, "snapshots": 0, "bytes": 0}  # the token request is one
    lock = threading.Lock()

    def get(path: str, params: dict | None = None) -> dict:
        session = getattr(local, "session", None)
        if session is None:
            session = local.session = requests.Session()
            session.headers.update(headers)
            # compressed, as our GETs ask (the sandbox gzips), so the comparison stays fair
            session.headers["Accept-Encoding"] = "gzip"
        response = session.get(args.api_url + path, params=params, timeout=60)
        response.raise_for_status()
        with lock:
            counts["requests"] += 1
            counts["bytes"] += len(response.content)
        return orjson.loads(response.content)

    def pages(path: str) -> list[dict]:
        items, skip = [], 0
        while True:
            page = get(path, {"limit": PAGE, "skip": skip})
            items += page["items"]
            skip += page["metadata"]["returnedItems"]
            if not page["items"] or skip >= page["metadata"]["totalItems"]:
                return items

    started = time.perf_counter()
    if args.incremental:
        incremental(args, get, counts)
    else:
        full(args, get, pages, counts)
    counts["seconds"] = time.perf_counter() - started
    json.dump(counts, sys.stdout)
    print()
    return 0


def full(args: argparse.Namespace, get, pages, counts: dict) -> None:
    newest: dict[str, str] = {}

    def borrower(relationship: dict) -> int:
        org = relationship["organization_number"]
        get(f"/borrower/{org}")
        if relationship["relationship_state"] != APPROVED:
            return 0
        items = pages(f"/accounting-data/{org}")
        if items:
            newest[org] = max(item["snapshot_date"] for item in items)
        return len(items)

    get("/self")
    relationships = pages("/relationships")
    notifications = pages("/notifications")
    with ThreadPoolExecutor(args.concurrency) as pool:
        counts["snapshots"] = sum(pool.map(borrower, relationships))
    counts["borrowers"] = sum(r["relationship_state"] == APPROVED for r in relationships)
    if args.state_out:
        state = {
            "newest": newest,
            "relationships": {
                r["organization_number"]: relationship_hash(r) for r in relationships
            },
            "notification_id": max((n.get("id", 0) for n in notifications), default=None),
        }
        args.state_out.write_text(json.dumps(state))


def incremental(args: argparse.Namespace, get, counts: dict) -> None:
    state = json.loads(args.incremental.read_text())
    today = dt.datetime.now(dt.timezone.utc).date()
    pool = ThreadPoolExecutor(args.concurrency)

    def page(path: str, skip: int, limit: int = PAGE) -> dict:
        return get(path, {"limit": limit, "skip": skip})

    def accounting(org: str) -> int:
        newest = state["newest"].get(org)
        if newest is None:  # no month stored yet: its whole history, as a full load
            limit, cutoff = PAGE, None
        else:
            limit, cutoff = incremental_plan(newest, args.lookback_months, today)
        skip, wanted = 0, 0
        while True:
            body = page(f"/accounting-data/{org}", skip, limit)
            items = body["items"]
            wanted += sum(cutoff is None or item["snapshot_date"] >= cutoff for item in items)
            skip += len(items)
            oldest = min((item["snapshot_date"] for item in items), default=None)
            if not items or skip >= body["metadata"]["totalItems"]:
                return wanted
            if cutoff is not None and oldest is not None and oldest <= cutoff:
                return wanted

    def notifications() -> None:
        known, skip = state["notification_id"], 0
        while True:
            body = page("/notifications", skip)
            items = body["items"]
            skip += len(items)
            fresh = [n for n in items if known is None or n.get("id", 0) > known]
            if len(fresh) < len(items) or not items or skip >= body["metadata"]["totalItems"]:
                return

    with pool:
        news = pool.submit(notifications)
        get("/self")
        first = page("/relationships", 0)
        relationships = first["items"]
        total = first["metadata"]["totalItems"]
        rest = pool.map(
            lambda skip: page("/relationships", skip)["items"], range(PAGE, total, PAGE)
        )
        relationships += [item for items in rest for item in items]
        changed = [
            r["organization_number"]
            for r in relationships
            if state["relationships"].get(r["organization_number"]) != relationship_hash(r)
        ]
        approved = list(
            dict.fromkeys(
                r["organization_number"]
                for r in relationships
                if r["relationship_state"] == APPROVED
            )
        )
        details = pool.map(lambda org: get(f"/borrower/{org}"), changed)
        counts["snapshots"] = sum(pool.map(accounting, approved))
        list(details)
        news.result()
    counts["borrowers"] = len(approved)
    counts["details"] = len(changed)


if __name__ == "__main__":
    sys.exit(main())
