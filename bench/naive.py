"""The naive loader for the benchmark: the script a user writes first. Sequential `requests`,
`pandas.json_normalize`, DuckDB tables written from the collected frames. Run on a sample of
borrowers; the benchmark scales its time to the whole portfolio and says so."""

from __future__ import annotations

import argparse
import json
import sys
import time

import duckdb
import pandas as pd
import requests


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--api-url", required=True)
    parser.add_argument("--token-url", required=True)
    parser.add_argument("--database", required=True)
    parser.add_argument("--client-id", default="demo-bank")
    parser.add_argument("--client-secret", default="demo-bank-secret")
    parser.add_argument("--sample", type=int, default=200, help="borrowers to load")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    token = requests.post(
        args.token_url,
        auth=(args.client_id, args.client_secret),
        data={"grant_type": "client_credentials"},
        timeout=30,
    ).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    requests_made = 0

    def get(path, **params):
        nonlocal requests_made
        requests_made += 1
        response = requests.get(args.api_url + path, headers=headers, params=params, timeout=60)
        response.raise_for_status()
        return response.json()

    relationships, skip = [], 0
    while True:
        page = get("/relationships", limit=100, skip=skip)
        relationships += page["items"]
        skip += len(page["items"])
        if not page["items"] or skip >= page["metadata"]["totalItems"]:
            break
    approved = [
        r["organization_number"]
        for r in relationships
        if r["relationship_state"] == "access_approved"
    ][: args.sample]

    borrowers, frames = [], []
    for org in approved:
        borrowers.append(get(f"/borrower/{org}"))
        items, skip = [], 0
        while True:
            page = get(f"/accounting-data/{org}", limit=100, skip=skip)
            items += page["items"]
            skip += len(page["items"])
            if not page["items"] or skip >= page["metadata"]["totalItems"]:
                break
        frames.append(pd.json_normalize(items))
    snapshots_df = pd.concat(frames, ignore_index=True)
    snapshots = len(snapshots_df)
    con = duckdb.connect(args.database)
    for name, df in (
        ("borrowers", pd.json_normalize(borrowers)),
        ("accounting_snapshots", snapshots_df),
    ):
        con.register("df", df)
        con.execute(f"create or replace table {name} as select * from df")
        con.unregister("df")
    con.close()
    result = {
        "seconds": time.perf_counter() - started,
        "requests": requests_made,
        "snapshots": snapshots,
        "borrowers": len(approved),
    }
    json.dump(result, sys.stdout)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
