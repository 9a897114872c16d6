"""Unit tests of pipelines/warehouse/resume.py on a real dlt package storage: which started jobs
count as uncertain, and what requeueing a table moves. The end-to-end case (a kill between
DuckDB's commit and dlt's record of it, then a rerun) is in tests/e2e/test_kill.py."""

from __future__ import annotations

from dlt.common.storages import FileStorage
from dlt.common.storages.load_package import PackageStorage

from pipelines.warehouse.resume import COMPLETED, NEW, STARTED, requeue_table, uncertain_tables

LOAD_ID = "1764000000.1"


def package(tmp_path, jobs: dict[str, str]) -> PackageStorage:
    """A package with each job file (name -> state folder) in place."""
    packages = PackageStorage(
        FileStorage(str(tmp_path / "normalized"), makedirs=True), "normalized"
    )
    packages.create_package(LOAD_ID)
    for name, state in jobs.items():
        source = tmp_path / name
        source.write_text("rows")
        packages.import_job(LOAD_ID, str(source), state)
    return packages


def names(packages: PackageStorage, state: str) -> set[str]:
    folder = packages.get_job_state_folder_path(LOAD_ID, state)
    return set(packages.storage.list_folder_files(folder, to_root=False))


def test_a_started_data_job_without_a_recorded_outcome_is_uncertain(tmp_path):
    packages = package(
        tmp_path,
        {
            "relationships.a1.0.parquet": STARTED,  # no outcome recorded: uncertain
            "borrowers.b1.0.parquet": STARTED,  # committed and recorded
            "company.c1.0.sql": STARTED,  # a merge statement: rerunning it is idempotent
            "debtors.d1.0.parquet": COMPLETED,
            "notifications.n1.0.parquet": NEW,
        },
    )
    packages.save_pending_transition(LOAD_ID, "borrowers.b1.0.parquet", "completed")
    assert uncertain_tables(packages, LOAD_ID) == {"relationships"}


def test_requeue_moves_the_tables_started_and_completed_data_jobs_only(tmp_path):
    packages = package(
        tmp_path,
        {
            "relationships.a1.0.parquet": STARTED,
            "relationships.a2.0.parquet": COMPLETED,
            "relationships.a3.0.parquet": NEW,
            "relationships.m1.0.sql": NEW,
            "borrowers.b1.0.parquet": STARTED,
        },
    )
    packages.save_pending_transition(LOAD_ID, "relationships.a2.0.parquet", "completed")
    assert requeue_table(packages, LOAD_ID, "relationships") == 2
    assert names(packages, NEW) == {
        "relationships.a1.0.parquet",
        "relationships.a2.0.parquet",
        "relationships.a3.0.parquet",
        "relationships.m1.0.sql",
    }
    assert names(packages, STARTED) == {"borrowers.b1.0.parquet"}
    assert names(packages, COMPLETED) == set()
    assert packages.list_pending_transitions(LOAD_ID) == []
