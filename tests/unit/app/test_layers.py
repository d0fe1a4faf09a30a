"""bob's packages form layers: none imports a package that imports it back, however
indirectly. `make lint` checks the same with import-linter (the "acyclic" contract); this test
names the cycle itself, package by package, with the imports that close it."""

from __future__ import annotations

from collections import defaultdict
from itertools import pairwise

import grimp


def _package_imports() -> dict[tuple[str, str], list[str]]:
    graph = grimp.build_graph("bob")
    edges: dict[tuple[str, str], list[str]] = defaultdict(list)
    for module in graph.modules:
        for imported in graph.find_modules_directly_imported_by(module):
            if module.count(".") and imported.count("."):
                source, target = module.split(".")[1], imported.split(".")[1]
                if source != target:
                    edges[source, target].append(f"{module} -> {imported}")
    return edges


def _cycles(edges: dict[tuple[str, str], list[str]]) -> list[list[str]]:
    following: dict[str, set[str]] = defaultdict(set)
    for source, target in edges:
        following[source].add(target)
    found: list[list[str]] = []
    done: set[str] = set()

    def visit(package: str, path: list[str]) -> None:
        if package in path:
            found.append([*path[path.index(package) :], package])
            return
        if package in done:
            return
        for target in sorted(following[package]):
            visit(target, [*path, package])
        done.add(package)

    for package in sorted(following):
        visit(package, [])
    return found


def test_no_import_cycle_between_packages() -> None:
    edges = _package_imports()
    assert ("chat", "knowledge") in edges  # the graph is bob's own, read from its source
    cycles = _cycles(edges)
    explained = [
        " → ".join(cycle) + ": " + "; ".join(edges[a, b][0] for a, b in pairwise(cycle))
        for cycle in cycles
    ]
    assert explained == []


def test_a_cycle_is_named_with_the_imports_that_close_it() -> None:
    edges = {("a", "b"): ["bob.a.x -> bob.b.y"], ("b", "a"): ["bob.b.z -> bob.a.x"]}
    assert _cycles(edges) == [["a", "b", "a"]]
    assert _cycles({("a", "b"): ["bob.a.x -> bob.b.y"]}) == []
