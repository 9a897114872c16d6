"""Least privilege on disk: what the product writes (the warehouse and its working file, dlt's
pipelines dir with its load packages, state and trace, the run journal, dbt's working dirs, the
consent links) is readable by its owner only: 0600 files, 0700 directories.

`symetrisk` sets the umask 077 when it starts (`private_umask`), so everything it creates is
private whatever the shell's umask, and `make_private` fixes what an older version left
world-readable. `exposed` names a file others can read, for `symetrisk status`'s warning about
.dlt/secrets.toml and the warehouse."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from pathlib import Path

PRIVATE_UMASK = 0o077
FILE_MODE = 0o600
DIR_MODE = 0o700


def private_umask() -> None:
    """Nothing created from now on is readable or writable by group or others."""
    current = os.umask(PRIVATE_UMASK)
    os.umask(current | PRIVATE_UMASK)


def make_private(paths: Iterable[str | os.PathLike[str] | None]) -> None:
    """Each existing file 0600 and each directory 0700, directories with all they hold
    (symbolic links are left alone). Files we cannot change (not ours) are skipped."""
    for given in paths:
        if not given:
            continue
        path = Path(given)
        if path.is_symlink() or not path.exists():
            continue
        if path.is_dir():
            _chmod(path, DIR_MODE)
            for root, dirs, files in os.walk(path):
                for name in dirs:
                    _chmod(Path(root) / name, DIR_MODE)
                for name in files:
                    _chmod(Path(root) / name, FILE_MODE)
        else:
            _chmod(path, FILE_MODE)


def _chmod(path: Path, mode: int) -> None:
    try:
        st = path.lstat()
        if stat.S_ISLNK(st.st_mode) or stat.S_IMODE(st.st_mode) & ~mode == 0:
            return
        path.chmod(stat.S_IMODE(st.st_mode) & mode)
    except OSError:
        pass


def exposed(path: str | os.PathLike[str]) -> str | None:
    """'group' or 'others' when they may read `path` (a file, or a directory they may list);
    None when only its owner may, or it does not exist."""
    try:
        mode = Path(path).stat().st_mode
    except OSError:
        return None
    if mode & stat.S_IROTH:
        return "others"
    if mode & stat.S_IRGRP:
        return "group"
    return None


def exposure_warning(path: str | os.PathLike[str], what: str) -> str | None:
    """One line when `path` is readable by more than its owner."""
    who = exposed(path)
    if who is None:
        return None
    mode = FILE_MODE if Path(path).is_file() else DIR_MODE
    return f"warning: {what} {path} is readable by {who}: chmod {mode:o} {path}"


def secrets_files() -> list[Path]:
    """The dlt secrets files this process would read: the project's and the user's."""
    found = [Path.cwd() / ".dlt" / "secrets.toml", Path.home() / ".dlt" / "secrets.toml"]
    return [p for i, p in enumerate(found) if p.exists() and p not in found[:i]]


def status_warnings(warehouse: str | None, pipelines_dir: str | None) -> list[str]:
    """`symetrisk status`: one line for each secrets file, warehouse file or pipelines dir
    that others can read."""
    checks: list[tuple[str | os.PathLike[str], str]] = [
        (p, "the secrets file") for p in secrets_files()
    ]
    if warehouse and not str(warehouse).startswith("md:"):
        checks.append((warehouse, "the warehouse"))
    if pipelines_dir:
        checks.append((pipelines_dir, "the pipelines dir"))
    lines = [exposure_warning(path, what) for path, what in checks]
    return [line for line in lines if line]


def warehouse_files(published: str | None) -> list[Path]:
    """A local DuckDB warehouse's files: the published build, the loader's working file, their
    WALs and locks (whatever exists of them)."""
    if not published or str(published).startswith("md:"):
        return []
    from pipelines.warehouse.publish import working_path

    found: list[Path] = []
    for base in (Path(published), working_path(published)):
        found += [p for p in base.parent.glob(base.name + "*") if p.is_file()]
    return found
