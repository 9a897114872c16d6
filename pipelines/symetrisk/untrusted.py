"""Checks of what the API sends before any of it reaches dlt, so that one bad answer skips one
borrower (the partial-failure rule) instead of failing the run or growing the warehouse:

- nesting deeper than `max_depth` (the documented snapshot is 4 deep);
- a key inside `data` that would overwrite a key of the snapshot itself (`snapshot_date`,
  `organization_number`, `id`, `updated_at`): the flattened row has one namespace;
- keys that are different in the API's answer but the same column once dlt normalises them
  (`Revenue` and `revenue`, `a-b` and `a_b`), within a borrower or against other borrowers;
- more than `max_new_columns` new columns in one run (`NewColumns`): past it, the borrower whose
  snapshots bring them is skipped with one line naming them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from dlt.common.normalizers.naming.snake_case import NamingConvention

from . import settings
from .errors import LimitExceeded
from .snapshots import KNOWN_TYPES, TOP_COLUMNS, SnapshotDataError, _is_standard

_NAMING = NamingConvention()
_TOP = frozenset(TOP_COLUMNS)


def normal_name(name: str) -> str:
    """The column name dlt gives a flattened key."""
    return _NAMING.normalize_path(name)


def depth_over(value: Any, limit: int) -> bool:
    """True when `value` nests objects or lists deeper than `limit` (iterative: no recursion
    limit to hit on a hostile answer)."""
    stack = [(value, 0)]
    while stack:
        current, level = stack.pop()
        if isinstance(current, dict):
            inner = current.values()
        elif isinstance(current, list):
            inner = current
        else:
            continue
        if level + 1 > limit:
            return True
        stack.extend((v, level + 1) for v in inner if isinstance(v, dict | list))
    return False


def check_snapshots(items: Iterable[Any], max_depth: int) -> None:
    """Raise SnapshotDataError for the first snapshot the warehouse must not take as it is."""
    for item in items:
        if not isinstance(item, dict) or _is_standard(item):
            continue
        if depth_over(item, max_depth):
            raise SnapshotDataError(
                f"snapshot {item.get('snapshot_date')!r} nests deeper than {max_depth} levels "
                f"(limit {settings.SETTING_MAX_DEPTH}={max_depth})"
            )
        data = item.get("data")
        clash = sorted(_TOP & data.keys()) if isinstance(data, dict) else []
        if clash:
            raise SnapshotDataError(
                f"snapshot {item.get('snapshot_date')!r} has {', '.join(clash)} inside data, "
                "where it would overwrite the snapshot's own"
            )


def check_item_depth(item: Any, max_depth: int, what: str) -> None:
    if depth_over(item, max_depth):
        raise LimitExceeded(
            f"{what} nests deeper than {max_depth} levels (limit "
            f"{settings.SETTING_MAX_DEPTH}={max_depth})"
        )


class NewColumns:
    """The columns the snapshots table has (dlt's schema) and those this run adds, by the name
    dlt will give them: collisions and the new-column cap are checked per borrower."""

    def __init__(self, existing: Iterable[str], max_new: int) -> None:
        self.max_new = max(0, int(max_new))
        # raw key -> column, for the documented columns and the keys seen in this run: two raw
        # keys for one column is a collision in the same Arrow table
        self.by_normal: dict[str, str] = {normal_name(n): n for n in KNOWN_TYPES}
        self.existing = set(existing)  # dlt's schema: already normalised, raw keys unknown
        self.added: set[str] = set()

    def admit(self, names: Iterable[str]) -> None:
        """Accept a borrower's extra (non-documented) columns, or raise naming them."""
        fresh: dict[str, str] = {}
        for name in names:
            normal = normal_name(name)
            for other in (self.by_normal.get(normal), fresh.get(normal)):
                if other is not None and other != name:
                    raise SnapshotDataError(
                        f"the keys {other!r} and {name!r} become the same column {normal!r}"
                    )
            if normal not in self.by_normal:
                fresh[normal] = name
        new = [n for n in fresh if n not in self.existing and n not in self.added]
        if len(self.added) + len(new) > self.max_new:
            shown = sorted(new)
            listed = ", ".join(shown[:5]) + (
                f" and {len(shown) - 5} more" if len(shown) > 5 else ""
            )
            raise LimitExceeded(
                f"its snapshots bring {len(new):,} new column(s) ({listed}), past the "
                f"{self.max_new} new columns a run may add (limit "
                f"{settings.SETTING_MAX_NEW_COLUMNS}={self.max_new})"
            )
        self.by_normal.update(fresh)
        self.added.update(new)
