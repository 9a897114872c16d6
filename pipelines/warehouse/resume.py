"""Make a load package that a killed run left half-loaded safe for dlt to finish.

dlt runs each load job in a worker thread and records "done" in its working dir only after the
destination committed. A kill between the commit and that record leaves the job in
`started_jobs` with no outcome, and dlt's resume runs it again. Into a staging table that
copies the same rows twice, and the merges would insert both copies: the SCD2 merge
(relationships) always, and the snapshot tables' merges because they skip dlt's deduplication
of staging rows (DEDUPLICATED_MERGE in pipelines/symetrisk/resources.py). So before dlt resumes,
every staging table with such an uncertain job is emptied and all of its jobs in the package
are queued again: the staging table is then loaded exactly once, and the merges that follow
are idempotent.

It reads dlt's package folders (new/started/completed jobs, pending-transition markers) as dlt
1.31 lays them out; pyproject.toml pins dlt below 1.32 for that reason among others.
"""

from __future__ import annotations

import os
from typing import Any

from dlt.common.storages.load_package import PackageStorage, ParsedLoadJobFileName

STARTED, COMPLETED, NEW = (
    PackageStorage.STARTED_JOBS_FOLDER,
    PackageStorage.COMPLETED_JOBS_FOLDER,
    PackageStorage.NEW_JOBS_FOLDER,
)


def uncertain_tables(packages: PackageStorage, load_id: str) -> set[str]:
    """Tables with a started job whose outcome dlt did not record: it may have committed."""
    tables = set()
    for path in packages.list_started_jobs(load_id):
        name = os.path.basename(path)
        job = ParsedLoadJobFileName.parse(name)
        if job.file_format != "sql" and packages.load_pending_transition(load_id, name) is None:
            tables.add(job.table_name)
    return tables


def requeue_table(packages: PackageStorage, load_id: str, table: str) -> int:
    """Move every started and completed data job of `table` back to new_jobs; returns how many."""
    moved = 0
    for state, job in packages.list_job_with_states_for_table(load_id, table):
        if state not in (STARTED, COMPLETED) or job.file_format == "sql":
            continue
        name = job.file_name()
        packages.storage.atomic_rename(
            packages.get_job_file_path(load_id, state, name),
            packages.get_job_file_path(load_id, NEW, name),
        )
        packages.clear_pending_transition(load_id, name)
        moved += 1
    return moved


def reset_uncertain_staging(pipeline: Any) -> list[str]:
    """Empty each staging table with an uncertain job and requeue its jobs, in every normalized
    package of `pipeline`; returns the tables reset. Tables loaded straight into the dataset
    (dlt's own state rows) are left to dlt."""
    packages = pipeline._get_load_storage().normalized_packages
    reset: list[str] = []
    for load_id in packages.list_packages():
        tables = uncertain_tables(packages, load_id)
        if not tables:
            continue
        with pipeline.destination_client() as client:
            staged = sorted(t for t in tables if _loads_to_staging(client, t))
            if not staged:
                continue
            with client.with_staging_dataset() as staging:
                staging.initialize_storage(truncate_tables=staged)
        for table in staged:
            requeue_table(packages, load_id, table)
        reset.extend(staged)
    return reset


def _loads_to_staging(client: Any, table: str) -> bool:
    check = getattr(client, "should_load_data_to_staging_dataset", None)
    return bool(check and check(table))
