"""No import cycles between the modules of coordinator/, counting imports made inside functions too; and what a worker
leaves unimported."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "coordinator"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """{module: the coordinator modules it imports}, from every import statement anywhere in the file."""
    modules = {module_name(path): path for path in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                # `from coordinator import clock` names a module; `from coordinator.db import db` a name in one.
                targets = [f"{node.module}.{alias.name}" if f"{node.module}.{alias.name}" in modules else node.module
                           for alias in node.names]
            else:
                continue
            graph[name] |= {target for target in targets if target in modules and target != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected group of more than one module (Tarjan), each as a sorted list."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_package_has_no_import_cycles():
    """The factory (coordinator/factory.py builds the app) may import anything; nothing imports it, and the package
    itself imports nothing (the gunicorn master imports it for its logger class and must stay small)."""
    graph = import_graph()
    assert all("coordinator.factory" not in targets for targets in graph.values())
    assert graph["coordinator"] == set()
    assert cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle():
    """A cycle the finder must report, hidden in a function as the workflow's import of agreements once was."""
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_a_worker_starts_without_what_only_commands_and_the_scheduler_use():
    """Building the app (as each gunicorn worker does) leaves the command line's modules and the heavy libraries only
    some requests need unimported: each would add to every worker's memory (issue 15: under 120 MB)."""
    script = ("import sys; from config import TestConfig; from coordinator.factory import create_app; "
              "create_app(TestConfig({'DATABASE_URL': 'sqlite://'})); print(' '.join(sorted(sys.modules)))")
    loaded = set(subprocess.run([sys.executable, "-c", script], cwd=PACKAGE.parent, check=True, capture_output=True,
                                text=True, env={**os.environ, "COORDINATOR_ENV": "testing"}).stdout.split())
    assert "coordinator.referrals.api" in loaded  # the app was built
    assert loaded.isdisjoint({"coordinator.jobs", "coordinator.retention.run", "coordinator.audit.checkpoints",
                              "apscheduler", "icalendar", "alembic"})
