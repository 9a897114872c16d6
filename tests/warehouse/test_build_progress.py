"""The dbt build's progress line from dbt's events (fakes of FoundStats and NodeFinished): the
totals from the stat line, models (seeds counted as the summary counts them) and tests done."""

from __future__ import annotations

import io
import types

from pipelines.warehouse.build_progress import BuildProgress


def event(name: str, **data) -> types.SimpleNamespace:
    return types.SimpleNamespace(
        info=types.SimpleNamespace(name=name), data=types.SimpleNamespace(**data)
    )


def finished(unique_id: str) -> types.SimpleNamespace:
    return event("NodeFinished", node_info=types.SimpleNamespace(unique_id=unique_id))


def test_models_and_tests_are_counted_out_of_the_builds_totals():
    out = io.StringIO()
    shown = BuildProgress(out, every_s=0)
    shown(event("FoundStats", stat_line="21 models, 2 seeds, 62 data tests, 3 sources, 1 macro"))
    for node in ["seed.p.a", "model.p.x", "test.p.t1", "source.p.s"]:
        shown(finished(node))
    assert shown.line() == "building models 2/23, tests 1/62"
    assert out.getvalue().splitlines()[-1] == "building models 2/23, tests 1/62"
