"""The package's shape: every module in a layer's folder, imports flowing one way, no cycle.

Read from the source (ast), so an import placed inside a function counts like one at the top: moving an import
into a function cannot hide a cycle or an upward dependency. Imports under `if TYPE_CHECKING:` never run and
are left out (core and nn annotate with the config dataclasses that validate against their registries).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "harness"

# Lowest first. A module may import from its own top-level package and from any package on a lower floor;
# packages on one floor do not import each other.
FLOORS: list[tuple[str, ...]] = [
    ("_util",),
    ("core",),
    ("nn",),
    ("config",),
    ("data",),
    ("runs",),
    ("metrics",),
    ("studies",),
    ("analyses", "perf"),
    ("reliability",),
    ("cli",),
]
RANK = {package: floor for floor, packages in enumerate(FLOORS) for package in packages}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _is_type_checking(node: ast.If) -> bool:
    return isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"


def _imports(source: str, me: str, is_package: bool) -> list[tuple[str, int]]:
    """(harness module imported, line) for every import statement of module `me` that runs."""
    tree = ast.parse(source)
    package = me if is_package else me.rpartition(".")[0]
    skipped = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If) and _is_type_checking(node)
               for n in ast.walk(node) if n is not node}
    found = []
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found += [(a.name, node.lineno) for a in node.names if a.name.split(".")[0] == "harness"]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "harness":
                continue
            for alias in node.names:  # `from . import _fields` imports a module, not a name
                sub = f"{target}.{alias.name}"
                found.append((sub if sub in MODULES else target, node.lineno))
    return found


EDGES = {me: _imports(path.read_text(), me, path.name == "__init__.py") for me, path in MODULES.items()}


def _top(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def test_every_module_sits_in_a_layer_folder():
    flat = [m for m in MODULES if m != "harness" and (m.count(".") == 1 and not (PACKAGE / _top(m)).is_dir())]
    assert not flat, f"modules at the package root: {flat}; each belongs in a folder of FLOORS"
    unplaced = sorted({_top(m) for m in MODULES if m != "harness"} - set(RANK))
    assert not unplaced, f"folders {unplaced} are on no floor of tests/test_layout.py FLOORS"


def test_imports_flow_down_the_floors():
    upward = []
    for me, edges in EDGES.items():
        if me == "harness":  # the lazy public API imports from every floor by name
            continue
        for target, line in edges:
            mine, theirs = _top(me), _top(target)
            if theirs == "":
                upward.append(f"{me}:{line} imports the top-level harness package")
            elif mine != theirs and RANK[mine] <= RANK[theirs]:
                upward.append(f"{me}:{line} -> {target} ({mine} on floor {RANK[mine]}, {theirs} on {RANK[theirs]})")
    assert not upward, "imports against the floors:\n" + "\n".join(upward)


def test_no_import_cycle():
    graph = {me: sorted({t for t, _ in edges if t in MODULES and t != me}) for me, edges in EDGES.items()}
    state: dict[str, int] = {}  # 1 on the path, 2 finished
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in graph[node]:
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for module in graph:
        if module not in state and (cycle := visit(module)):
            pytest.fail("import cycle: " + " -> ".join(cycle))


def test_an_import_inside_a_function_or_under_type_checking_is_read_as_it_runs():
    source = ("from typing import TYPE_CHECKING\n"
              "if TYPE_CHECKING:\n    from ..config import RunConfig\n"
              "def f():\n    from ..cli import main\n    import harness.studies\n")
    assert _imports(source, "harness.core._probe", is_package=False) == [("harness.cli", 5), ("harness.studies", 6)]
