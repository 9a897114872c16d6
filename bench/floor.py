"""The floor for the load benchmark: a bare concurrent HTTP client that fetches the same pages
as the loader's full load (/self, every relationship and notification page, every borrower's
detail, every approved borrower's accounting pages) at the same concurrency, and throws the
bodies away. Nothing can load faster than the API serves."""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import orjson
import requests

READ_SCOPE = "https://api.symetrisk.com/read"


def token(token_url: str, client_id: str, client_secret: str) -> str:
    response = requests.post(
        token_url,
        auth=(client_id, client_secret),
        data={"grant_type": "client_credentials", "scope": READ_SCOPE},
        timeout=30,
    )
    response.raise_for_status()
    return response.json()["access_token"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--api-url", required=True)
    parser.add_argument("--token-url", required=True)
    parser.add_argument("--client-id", default="demo-bank")
    parser.add_argument("--client-secret", default="demo-bank-secret")
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args(argv)

    headers = {
        "Authorization": f"Bearer {token(args.token_url, args.client_id, args.client_secret)}"
    }
    local = threading.local()
    counts = {"requests": 0, "snapshots": 0, "bytes": 0}
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
            page = get(path, {"limit": 100, "skip": skip})
            items += page["items"]
            skip += page["metadata"]["returnedItems"]
            if not page["items"] or skip >= page["metadata"]["totalItems"]:
                return items

    def borrower(relationship: dict) -> int:
        org = relationship["organization_number"]
        get(f"/borrower/{org}")
        if relationship["relationship_state"] != "access_approved":
            return 0
        return len(pages(f"/accounting-data/{org}"))

    started = time.perf_counter()
    get("/self")
    relationships = pages("/relationships")
    pages("/notifications")
    with ThreadPoolExecutor(args.concurrency) as pool:
        counts["snapshots"] = sum(pool.map(borrower, relationships))
    counts["seconds"] = time.perf_counter() - started
    counts["borrowers"] = sum(r["relationship_state"] == "access_approved" for r in relationships)
    json.dump(counts, sys.stdout)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
