"""The project's import graph has no cycle: not between modules, not between top-level packages.

Why: a cycle means two rooms cannot be understood (or tested, or moved) one without the other, and it hides
behind `TYPE_CHECKING` or a function-local import until a refactoring turns it into an ImportError. The graph
is read from the source (the AST), so every import counts: module level, inside a function, or only for types.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from pathlib import Path

from local.simulator import APIS

ROOT = Path(__file__).resolve().parents[1]
SKIPPED = {".venv", "node_modules", ".git", ".azurite", ".mypy_cache", ".ruff_cache", "__pycache__"}

Graph = dict[str, set[str]]


def project_modules(root: Path) -> dict[str, Path]:
    """Dotted name -> file of every project module (a package is named by its `__init__.py`)."""
    modules: dict[str, Path] = {}
    for path in root.rglob("*.py"):
        relative = path.relative_to(root)
        if SKIPPED & set(relative.parts):
            continue
        parts = list(relative.with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        if parts:
            modules[".".join(parts)] = path
    return modules


def _absolute(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    if node.level == 0:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


def imported_names(tree: ast.AST, module: str, is_package: bool) -> Iterable[str]:
    """Every dotted name an import statement in `tree` may refer to: `from a import b` gives `a` and `a.b`."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            source = _absolute(node, module, is_package)
            yield source
            yield from (f"{source}.{alias.name}" for alias in node.names)


def _owner(name: str, modules: Mapping[str, Path]) -> str | None:
    """The project module `name` lives in (the longest dotted prefix that is one), or None."""
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in modules:
            return candidate
    return None


def module_graph(root: Path = ROOT) -> Graph:
    modules = project_modules(root)
    graph: Graph = {name: set() for name in modules}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for imported in imported_names(tree, name, path.name == "__init__.py"):
            owner = _owner(imported, modules)
            if owner is not None and owner != name and not name.startswith(f"{owner}."):
                graph[name].add(owner)  # a module importing its own package's __init__ is no cycle
    return graph


def package_graph(modules: Graph) -> Graph:
    graph: Graph = {}
    for name, targets in modules.items():
        top = name.split(".")[0]
        graph.setdefault(top, set()).update(t.split(".")[0] for t in targets if t.split(".")[0] != top)
    return graph


def cycles(graph: Graph) -> list[list[str]]:
    """The strongly connected components of more than one node (Tarjan), each sorted, largest first."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for successor in sorted(graph.get(node, ())):
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found, key=len, reverse=True)


def test_the_cycle_finder_finds_a_cycle_through_a_type_only_import(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "__init__.py").write_text("")
    (tmp_path / "a" / "one.py").write_text("from a.two import X\n")
    (tmp_path / "a" / "two.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from a import one\nX = 1\n"
    )
    (tmp_path / "b.py").write_text("import a.one\n")
    graph = module_graph(tmp_path)
    assert cycles(graph) == [["a.one", "a.two"]]
    assert cycles(package_graph(graph)) == []


def test_no_two_modules_import_each_other_even_indirectly() -> None:
    assert cycles(module_graph()) == []


def test_no_two_top_level_packages_import_each_other_even_indirectly() -> None:
    assert cycles(package_graph(module_graph())) == []


# Simulated upstreams are written from the vendors' documents, never from production code: a simulator that
# imported a connector's tables (as the SailPoint one once imported the list of object types) would check a
# connector against itself.
SIMULATOR_FORBIDDEN = ("connectors", "credentials", "activities", "orchestrators")


def forbidden_imports(modules: Graph, package: str, forbidden: Iterable[str]) -> dict[str, set[str]]:
    """Modules of `package` that import (directly) any module of the `forbidden` top-level packages."""
    banned = set(forbidden)
    found: dict[str, set[str]] = {}
    for name, targets in modules.items():
        if name == package or name.startswith(f"{package}."):
            bad = {t for t in targets if t.split(".")[0] in banned}
            if bad:
                found[name] = bad
    return found


def test_the_forbidden_import_finder_sees_a_function_local_import(tmp_path: Path) -> None:
    (tmp_path / "sim").mkdir()
    (tmp_path / "sim" / "__init__.py").write_text("")
    (tmp_path / "sim" / "api.py").write_text("def f() -> None:\n    from prod.types import X\n")
    (tmp_path / "prod").mkdir()
    (tmp_path / "prod" / "__init__.py").write_text("")
    (tmp_path / "prod" / "types.py").write_text("X = 1\n")
    assert forbidden_imports(module_graph(tmp_path), "sim", ["prod"]) == {"sim.api": {"prod.types"}}


def test_the_simulator_imports_nothing_from_production_connectors_credentials_activities_or_orchestrators() -> None:
    graph = module_graph()
    assert any(name.startswith("local.simulator.") for name in graph)
    assert forbidden_imports(graph, "local.simulator", SIMULATOR_FORBIDDEN) == {}


def imports_outside(modules: Graph, package: str, allowed: Iterable[str]) -> dict[str, set[str]]:
    """Modules of `package` that import a project module that is neither in `package` nor under an `allowed`
    prefix (a dotted module or package name)."""
    prefixes = (package, *allowed)
    found: dict[str, set[str]] = {}
    for name, targets in modules.items():
        if name == package or name.startswith(f"{package}."):
            bad = {t for t in targets if not any(t == p or t.startswith(f"{p}.") for p in prefixes)}
            if bad:
                found[name] = bad
    return found


def test_the_simulator_imports_no_production_code_at_all() -> None:
    assert imports_outside(module_graph(), "local.simulator", []) == {}


def test_the_kernel_imports_nothing_of_this_project() -> None:
    graph = module_graph()
    assert any(name.startswith("kernel.") for name in graph)
    assert imports_outside(graph, "kernel", []) == {}


def test_sinks_and_downstream_do_not_import_connectors() -> None:
    graph = module_graph()
    assert forbidden_imports(graph, "sinks", ["connectors"]) == {}
    assert forbidden_imports(graph, "downstream", ["connectors"]) == {}


def test_credentials_import_of_connectors_only_the_neutral_interface() -> None:
    found = forbidden_imports(module_graph(), "credentials", ["connectors"])
    assert {name: targets - {"connectors.credential_interface"} for name, targets in found.items()} == {
        name: set() for name in found
    }
    assert found, "credentials reads token endpoints and error parsers through connectors.credential_interface"


# Every built-in connector spec (connectors/specs/<name>.yaml) has a simulated API to be tested against; this
# table names it, by the spec file's name only (the simulator is written from the vendor's documents, not from
# the spec). A new spec fails here until its simulated API exists and is named.
SPEC_SIMULATORS = {
    "viva_goals": "graph",
    "sailpoint_sp_config": "sailpoint",
    "cost_details_report": "costdetails",
    "powerbi_export_to_file": "powerbi",
    "intune_report_export": "intune",
    "salesforce_bulk_query": "salesforce",
}


def test_every_built_in_spec_has_a_simulated_api() -> None:
    simulated = {api.name for api in APIS}
    specs = sorted(path.stem for path in (ROOT / "connectors" / "specs").glob("*.yaml"))
    assert [s for s in specs if SPEC_SIMULATORS.get(s) not in simulated] == []


if __name__ == "__main__":  # print the graph's cycles: `python tests/test_import_graph.py`
    graph = module_graph()
    print("module cycles:", cycles(graph) or "none")
    print("package cycles:", cycles(package_graph(graph)) or "none")
