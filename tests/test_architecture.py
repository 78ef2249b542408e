"""The shape of the code: no import cycles, and the layers, over every package found in the repository."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

# Top-level folders that hold no project code of their own: the tests (scanned apart), installs and outputs.
NOT_PROJECT_CODE = frozenset({"tests", "node_modules", "build", "cdk.out"})
# The CDK's own packages: the CDK app (app.py) and the stacks compose them; domain code never does.
CDK_ROOTS = frozenset({"aws_cdk", "constructs", "cdk_nag"})
MAY_IMPORT_CDK = ("app", "stacks", "bench.empty_app")  # bench.empty_app: the baseline `make bench-synth` times
# The local AWS plays AWS: it knows nothing of the clients that call it or of the stacks deployed to it.
LOCAL_AWS_MUST_NOT_IMPORT = frozenset({"verification", "scoring", "stacks"})
# Only a package itself imports these (tests import tests, benchmarks import benchmarks).
IMPORTED_BY_NOTHING_ELSE = frozenset({"bench", "tests"})
# What requirements-local-aws.txt adds to requirements.txt; each distribution is imported under its own name.
LOCAL_AWS_REQUIREMENTS = frozenset({"moto", "waitress", "werkzeug"})


def code_roots(root: Path = REPO_ROOT) -> list[str]:
    """The top-level packages (or folders of scripts) and modules of project Python code under `root`."""
    return sorted(path.name.removesuffix(".py") for path in root.iterdir() if is_code_root(path))


def is_code_root(path: Path) -> bool:
    if path.name.startswith((".", "_")) or path.name in NOT_PROJECT_CODE:
        return False  # .venv*, .git, __pycache__ and the like
    if path.is_file():
        return path.suffix == ".py"
    return path.is_dir() and path.name.isidentifier() and any(path.rglob("*.py"))


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO_ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules_under(roots: list[str]) -> dict[str, Path]:
    paths: list[Path] = []
    for root in roots:
        path = REPO_ROOT / root
        paths += list(path.rglob("*.py")) if path.is_dir() else [path.with_suffix(".py")]
    return {module_name(path): path for path in paths}


def project_modules() -> dict[str, Path]:
    return modules_under(code_roots())


def imported(path: Path, known: set[str]) -> set[str]:
    """Every project module `path` imports: top level, in functions and under TYPE_CHECKING alike."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
        found |= {name for name in names if name in known}
    return found


def imported_roots(path: Path) -> set[str]:
    """The top-level packages `path` imports."""
    roots: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle in `graph` (depth-first search), or None."""
    state: dict[str, str] = {}
    trail: list[str] = []

    def visit(module: str) -> list[str] | None:
        state[module] = "open"
        trail.append(module)
        for target in sorted(graph[module]):
            if state.get(target) == "open":
                return [*trail[trail.index(target) :], target]
            if target not in state and (cycle := visit(target)):
                return cycle
        state[module] = "done"
        trail.pop()
        return None

    for module in sorted(graph):
        if module not in state and (cycle := visit(module)):
            return cycle
    return None


def sub_package_graph(package: str) -> dict[str, set[str]]:
    """`package`'s imports between its sub-packages and top modules (`local_aws.strict`, `local_aws.cli`...)."""
    modules = {name: path for name, path in project_modules().items() if name.split(".")[0] == package}

    def node(module: str) -> str:
        return ".".join(module.split(".")[:2])

    graph: dict[str, set[str]] = {node(name): set() for name in modules}
    for name, path in modules.items():
        graph[node(name)] |= {node(target) for target in imported(path, set(modules))} - {node(name)}
    return graph


def violations(modules: dict[str, Path], forbidden: frozenset[str]) -> dict[str, set[str]]:
    """The modules that import any of the `forbidden` top-level packages, with what they import."""
    found = {name: imported_roots(path) & forbidden for name, path in modules.items()}
    return {name: roots for name, roots in found.items() if roots}


def requirement_names(file_name: str) -> set[str]:
    """The distributions a requirements file names itself (not those of the files it includes with -r)."""
    lines = (line.split("#")[0].strip() for line in (REPO_ROOT / file_name).read_text().splitlines())
    return {re.split(r"[\[<>=!~; ]", line)[0].lower() for line in lines if line and not line.startswith("-")}


def test_every_package_is_found_without_a_list() -> None:
    roots = code_roots()
    known = {"app", "aws_facts", "bench", "local_aws", "model_build", "recordio", "scoring", "scripts", "stacks"}
    assert known | {"teardown", "verification"} <= set(roots)
    assert {name.split(".")[0] for name in project_modules()} == set(roots)


def test_a_new_package_is_found_and_installs_and_tests_are_not(tmp_path: Path) -> None:
    for folder in ("wire", "contracts/sub", "tests", "node_modules/x", ".venv/lib", "__pycache__", "docs", "cdk.out"):
        (tmp_path / folder).mkdir(parents=True)
    for module in ("wire/__init__.py", "contracts/sub/deep.py", "tests/t.py", "node_modules/x/gyp.py", "app.py"):
        (tmp_path / module).write_text("")
    (tmp_path / ".venv/lib/site.py").write_text("")
    (tmp_path / "cdk.out/handler.py").write_text("")
    (tmp_path / "docs/index.md").write_text("")

    assert code_roots(tmp_path) == ["app", "contracts", "wire"]


def test_no_module_imports_itself_back_through_others() -> None:
    modules = project_modules()
    graph = {name: imported(path, set(modules)) - {name} for name, path in modules.items()}
    assert any(graph.values()), "no imports found: the scan is broken"
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph) or [])


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_domain_packages_know_nothing_of_cdk() -> None:
    modules = project_modules()
    assert violations({name: modules[name] for name in MAY_IMPORT_CDK if name in modules}, CDK_ROOTS)
    domain = {name: path for name, path in modules.items() if not name.startswith(MAY_IMPORT_CDK)}
    assert violations(domain, CDK_ROOTS) == {}


def test_the_local_aws_knows_nothing_of_its_clients_or_the_stacks() -> None:
    local_aws = {name: path for name, path in project_modules().items() if name.split(".")[0] == "local_aws"}
    assert len(local_aws) > 10
    assert violations(local_aws, LOCAL_AWS_MUST_NOT_IMPORT) == {}


def test_nothing_imports_the_benchmarks_or_the_tests_but_themselves() -> None:
    modules = project_modules() | modules_under(["tests"])
    assert {"bench", "tests"} <= {name.split(".")[0] for name in modules}
    found = {
        name: roots - {name.split(".")[0]} for name, roots in violations(modules, IMPORTED_BY_NOTHING_ELSE).items()
    }
    assert {name: roots for name, roots in found.items() if roots} == {}


def test_the_local_aws_sub_packages_import_each_other_one_way() -> None:
    graph = sub_package_graph("local_aws")
    assert {"local_aws.strict", "local_aws.runtime", "local_aws.transform"} <= set(graph)
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph) or [])


@pytest.mark.parametrize("package", [root for root in code_roots() if root != "local_aws"])
def test_sub_packages_import_each_other_one_way(package: str) -> None:
    graph = sub_package_graph(package)
    assert graph, f"no modules found in {package}"
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph) or [])


def test_only_the_local_aws_imports_what_its_requirements_add() -> None:
    assert requirement_names("requirements-local-aws.txt") == LOCAL_AWS_REQUIREMENTS
    assert not LOCAL_AWS_REQUIREMENTS & requirement_names("requirements.txt")
    modules = project_modules()
    assert violations(
        {name: modules[name] for name in ("local_aws.cli", "local_aws.control_plane")}, LOCAL_AWS_REQUIREMENTS
    )
    others = {name: path for name, path in modules.items() if name.split(".")[0] not in {"local_aws", "bench"}}
    assert violations(others, LOCAL_AWS_REQUIREMENTS) == {}
