"""Bounded disk over many nights: 30 nightly runs (the sandbox closes one more month before
each) into a published DuckDB file. dlt's finished load packages are pruned, so the pipelines
directory stays flat (`symetrisk run` adds its run journal, two lines a night), while the published
file grows with the data it holds. Prints the sizes per night (the closing note quotes them)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.warehouse_checks import admin, load, sandbox

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
NIGHTS = 30


def tree_bytes(root: Path) -> int:
    return sum(f.stat().st_size for f in root.rglob("*") if f.is_file())


def test_thirty_nights_keep_the_pipelines_dir_flat(tmp_path):
    pipelines = tmp_path / "dlt"
    sizes = []
    with sandbox(borrowers=60, months=24) as sb:
        for night in range(NIGHTS):
            if night:
                admin(sb, "/advance-month")
            stats = load(sb, tmp_path)
            assert stats.rows["accounting_snapshots"]["new"] > 0
            loaded = list(pipelines.glob("*/load/loaded/*"))
            assert loaded == []  # every finished package pruned
            sizes.append((tree_bytes(pipelines), os.path.getsize(tmp_path / "warehouse.duckdb")))
    for night, (dlt_dir, published) in enumerate(sizes, start=1):
        print(
            f"night {night:>2}: pipelines dir {dlt_dir:>10,} B, published file {published:>12,} B"
        )
    first, last = sizes[4], sizes[-1]
    # after the first nights (schema versions settle) the directory grows by the journal only
    # plus a little state: less than 4 KB a night, where an unpruned package is tens of KB
    per_night = (last[0] - first[0]) / (NIGHTS - 5)
    print(f"pipelines dir: {per_night:,.0f} B/night from night 5 to {NIGHTS}")
    assert per_night < 4096
    published = [size for _, size in sizes]
    print(f"published file: {min(published):,} to {max(published):,} B over {NIGHTS} nights")
