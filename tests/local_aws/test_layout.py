"""The service folders of `strict` import each other one way (local_aws's sub-packages: tests/test_architecture.py)."""

from __future__ import annotations

from tests.test_architecture import find_cycle, imported, project_modules


def grouped_graph(prefix: str, depth: int) -> dict[str, set[str]]:
    """Imports between the modules under `prefix`, each module counted as its first `depth` name parts."""
    modules = project_modules()
    known = set(modules)

    def group(name: str) -> str:
        return ".".join(name.split(".")[:depth])

    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        if name.startswith(f"{prefix}."):
            targets = {group(t) for t in imported(path, known) if t.startswith(f"{prefix}.")}
            graph.setdefault(group(name), set()).update(targets - {group(name)})
    for targets in list(graph.values()):
        for target in targets:
            graph.setdefault(target, set())
    return graph


def test_the_service_folders_of_strict_import_each_other_without_a_cycle() -> None:
    graph = grouped_graph("local_aws.strict", 3)

    assert len(graph) >= 5, graph
    assert any(graph.values()), graph
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph) or [])


def test_the_grouping_finds_the_cycles_the_move_removed() -> None:
    """Before rules.py and the predictor moved up, strict and runtime imported each other."""
    graph = grouped_graph("local_aws", 2)
    graph["local_aws.runtime"] = graph["local_aws.runtime"] | {"local_aws.strict"}
    graph["local_aws.strict"] = graph["local_aws.strict"] | {"local_aws.runtime"}

    assert find_cycle(graph) is not None
