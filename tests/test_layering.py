"""Which bcecli modules may import which, read from the source (every import, lazy or not).

- bcecli.core: numpy, the standard library and the C kernel (bcecli._native, which
  imports nothing of bcecli), nothing else of bcecli.
- bcecli.gate and bcecli.document: the gate's decisions and the document's shape never
  import the report package, which renders them (and uses the gate), so no cycle.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "bcecli"


def imported(path: Path) -> set[str]:
    """Every module a file imports, anywhere in it (TYPE_CHECKING and function bodies too)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


def outside(names: set[str], allowed: tuple[str, ...]) -> list[str]:
    """The names that are neither standard library nor under one of the allowed prefixes."""
    return sorted(
        name
        for name in names
        if name.partition(".")[0] not in sys.stdlib_module_names
        and not any(name == prefix or name.startswith(prefix + ".") for prefix in allowed)
    )


@pytest.mark.parametrize("path", sorted((PACKAGE / "core").glob("*.py")), ids=lambda p: p.name)
def test_core_imports_only_numpy_and_the_standard_library(path: Path) -> None:
    assert outside(imported(path), ("numpy", "bcecli.core", "bcecli._native")) == []


def test_the_kernel_imports_nothing_of_bcecli() -> None:
    for path in (PACKAGE / "_native").glob("*.py"):
        assert outside(imported(path), ("bcecli._native",)) == [], path.name


@pytest.mark.parametrize(
    "name", ["gate.py", "document.py", "core/entries.py", "core/metrics.py", "core/exact.py"]
)
def test_gate_and_document_import_no_report(name: str) -> None:
    # core.metrics names core.accumulate and core.terms for their types only (the runtime
    # check is below).
    allowed = (
        "bcecli.errors",
        "bcecli.document",
        "bcecli.core.entries",
        "bcecli.core.metrics",
        "bcecli.core.exact",
        "bcecli.core.accumulate",
        "bcecli.core.terms",
    )
    assert outside(imported(PACKAGE / name), allowed) == []


def test_importing_the_gate_loads_neither_the_report_nor_numpy() -> None:
    code = (
        "import sys, bcecli.gate\n"
        "print([m for m in sys.modules if m == 'numpy' or m.startswith('bcecli.report')])"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def unit_of(module: str) -> str | None:
    """The part of bcecli a module belongs to: a subpackage, or a top-level module."""
    parts = module.split(".")
    if parts[0] != "bcecli":
        return None
    return ".".join(parts[:2])


def import_graph() -> dict[str, set[str]]:
    """Which parts of bcecli import which (every import, lazy and type-only included)."""
    graph: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        source = unit_of(module.removesuffix(".__init__"))
        assert source is not None
        targets = {unit_of(name) for name in imported(path)} - {None, source}
        graph.setdefault(source, set()).update(t for t in targets if t is not None)
    return graph


def test_no_two_parts_of_bcecli_import_each_other() -> None:
    graph = import_graph()
    # Depth-first search for a cycle, reporting the first one found.
    state: dict[str, str] = {}
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = "open"
        path.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == "open":
                return path[path.index(target) :] + [target]
            if target not in state:
                cycle = visit(target)
                if cycle:
                    return cycle
        state[node] = "done"
        path.pop()
        return None

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node)
            assert cycle is None, " -> ".join(cycle or [])


def test_the_layers_point_one_way() -> None:
    graph = import_graph()
    # The core is the bottom (over the C kernel, a leaf); nothing below the CLI imports
    # the CLI, the top.
    assert graph.get("bcecli.core", set()) <= {"bcecli._native"}
    assert graph.get("bcecli._native", set()) == set()
    assert all(
        "bcecli.cli" not in targets for node, targets in graph.items() if node != "bcecli.__main__"
    )
    for lower in ("bcecli.io", "bcecli.scoring", "bcecli.gate", "bcecli.document"):
        assert "bcecli.report" not in graph.get(lower, set()), lower
        assert "bcecli.engines" not in graph.get(lower, set()), lower
