"""The package's shape: no import circle among the modules of pipelines/ (late imports inside
functions included), and the test-only kill switch reached only through its hook."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "pipelines"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path, modules: set[str]) -> set[str]:
    """The modules of `modules` that the file at `path` imports, anywhere in it."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            # `from a import b` imports a.b when b is a module, else a name of a
            targets = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                for alias in node.names
            ]
        else:
            continue
        found.update(t for t in targets if t in modules and t != name)
    return found


def import_graph() -> dict[str, set[str]]:
    files = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    modules = set(files)
    return {name: imports_of(path, modules) for name, path in files.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module, or with a self-loop
    (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1 or node in graph.get(node, ()):
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_cycle_finder_finds_a_circle_and_passes_a_tree():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b", "c"}, "b": {"c"}, "c": set()}) == []


def test_the_import_reader_sees_late_and_relative_imports(tmp_path):
    graph = import_graph()
    # transport.py's helpers came from client.py by a late import before; now from a leaf
    assert "pipelines.symetrisk.responses" in graph["pipelines.symetrisk.transport"]
    assert "pipelines.symetrisk.responses" in graph["pipelines.symetrisk.client"]
    assert "pipelines.symetrisk.transport" in graph["pipelines.symetrisk.client"]
    # a late import inside a function counts
    assert "pipelines.testing" in graph["pipelines.cli.run"]


def test_no_module_of_pipelines_imports_one_that_imports_it_back():
    assert cycles(import_graph()) == []


def test_the_kill_switch_is_reached_only_through_its_hook():
    graph = import_graph()
    importers = {m for m, targets in graph.items() if "pipelines.testing.killpoint" in targets}
    assert importers == {"pipelines.testing"}


def test_the_hook_imports_nothing_when_its_variable_is_unset():
    code = (
        "import sys; from pipelines.testing import pipeline_hooks; "
        "assert pipeline_hooks() == {}; "
        "print('pipelines.testing.killpoint' in sys.modules, 'dlt' in sys.modules)"
    )
    env = {k: v for k, v in __import__("os").environ.items() if k != "SYMETRISK_TEST_KILL_AT"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert out.stdout.split() == ["False", "False"]
