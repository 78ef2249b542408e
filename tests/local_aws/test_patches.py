"""The patch registry: moto is the pinned version, every replaced attribute exists and takes moto's calls,
installing is idempotent, a moto that does not fit refuses to start in one line, and nothing else patches moto."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from moto.sagemaker import models as sagemaker_models

from local_aws import patches
from local_aws.patches import FUNCTION, KINDS, METHOD, MOTO_VERSION, PATCHES, Patch, PatchError
from local_aws.ports import free_ports
from local_aws.rules import RULES
from tests.conftest import REPO_ROOT

PACKAGES = ("local_aws", "model_build", "stacks", "verification", "scoring", "teardown", "bench", "scripts", "tests")
REGISTRY = REPO_ROOT / "local_aws" / "patches.py"


class FakeBackend:
    """Stands in for a moto class in the rows below."""

    def describe(self, name: str) -> str:
        return name


def replacement(self: Any, name: str) -> str:
    return name.upper()


def test_the_registry_names_the_moto_version_the_requirements_pin() -> None:
    pins = {
        match.group(1)
        for path in REPO_ROOT.glob("requirements*.txt")
        for match in re.finditer(r"^moto(?:\[[^\]]*\])?==(\S+)", path.read_text(), re.MULTILINE)
    }

    assert pins == {MOTO_VERSION}


def test_every_row_fits_the_pinned_moto_and_serves_a_rule() -> None:
    assert len(PATCHES) >= 30
    patches.check()
    for patch in PATCHES:
        assert patch.kind in KINDS, patch.name
        assert patch.rule in RULES, patch.name
        assert patch.why, patch.name
    assert len({(id(patch.target), patch.attribute) for patch in PATCHES}) == len(PATCHES)


def test_a_missing_attribute_refuses_in_one_line_naming_it() -> None:
    row = Patch(FakeBackend, "renamed_upstream", replacement, METHOD, "iam-evaluation", "a test")

    with pytest.raises(PatchError) as refused:
        patches.check([row])

    assert str(refused.value) == (
        f"local AWS refuses to start: {__name__}.FakeBackend.renamed_upstream is missing (moto {MOTO_VERSION} expected)"
    )


def test_another_moto_version_refuses() -> None:
    with pytest.raises(PatchError, match=f"moto 9.9.9 is installed, the local AWS is written against {MOTO_VERSION}"):
        patches.check(version="9.9.9")


def test_a_replacement_with_other_parameter_names_is_refused() -> None:
    """moto calls arn_formatter(_type=..., _id=...) in places: a replacement must keep those names."""

    def arn_formatter(resource_type: str, name: str, account_id: str, region_name: str) -> str:
        return name

    row = Patch(sagemaker_models, "arn_formatter", arn_formatter, FUNCTION, "sagemaker-arn-lower-case", "a test")

    with pytest.raises(PatchError, match="arn_formatter takes '_type' at position 0, where the replacement takes"):
        patches.check([row])


@pytest.mark.parametrize(
    ("replaced", "problem"),
    [
        (lambda self: "", "takes 'name' at position 1, which the replacement does not take"),
        (lambda self, *, name: name, "takes 'name' at position 1, which the replacement does not take"),
        (lambda self, name, extra: name, "is called without ['extra'], which the replacement requires"),
        (lambda self, *args: "", "is called with name=, which the replacement does not take"),
    ],
)
def test_a_replacement_that_refuses_some_call_of_the_original_is_refused(replaced: Any, problem: str) -> None:
    row = Patch(FakeBackend, "describe", replaced, METHOD, "iam-evaluation", "a test")

    with pytest.raises(PatchError, match=re.escape(problem)):
        patches.check([row])


def test_a_replacement_taking_the_same_calls_is_accepted() -> None:
    for accepted in (replacement, lambda self, *args, **kwargs: "", lambda self, name, extra=None: name):
        patches.check([Patch(FakeBackend, "describe", accepted, METHOD, "iam-evaluation", "a test")])


def test_installing_twice_changes_nothing() -> None:
    script = """
from local_aws import patches
patches.install()
first = {p.name: patches.inspect.getattr_static(p.target, p.attribute) for p in patches.PATCHES}
patches.install()
second = {p.name: patches.inspect.getattr_static(p.target, p.attribute) for p in patches.PATCHES}
assert first == second, [name for name in first if first[name] is not second[name]]
assert all(patches.installed(p) for p in patches.PATCHES)
print(len(first))
"""
    ran = subprocess.run([sys.executable, "-c", script], cwd=REPO_ROOT, capture_output=True, text=True, check=False)

    assert ran.returncode == 0, ran.stderr
    assert int(ran.stdout) == len(PATCHES)


def test_up_refuses_in_one_line_when_moto_lacks_a_patched_attribute(tmp_path: Path) -> None:
    """A moto release that renamed a patched attribute, simulated by deleting one before `up` runs."""
    script = """
import sys
from moto.sagemaker.models import SageMakerModelBackend
del SageMakerModelBackend._get_resource_from_arn
from local_aws.cli import main
sys.exit(main(["up"]))
"""
    control, runtime = free_ports(2)
    environment = {
        "LOCAL_AWS_STATE_DIR": str(tmp_path),
        "LOCAL_AWS_PORT": str(control),
        "LOCAL_AWS_RUNTIME_PORT": str(runtime),
    }
    ran = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
        env={**_environment(), **environment},
    )

    assert ran.returncode == 1
    assert ran.stderr.strip().splitlines() == [
        "python -m local_aws: error: local AWS refuses to start: moto.sagemaker.models.SageMakerModelBackend."
        f"_get_resource_from_arn is missing (moto {MOTO_VERSION} expected)"
    ]
    assert not (tmp_path / "pids.json").exists()


def _environment() -> dict[str, str]:
    import os

    return dict(os.environ)


def moto_assignments(path: Path) -> list[str]:
    """`line: code` of every assignment to an attribute of something imported from moto, and every
    setattr/delattr in a module that imports moto."""
    tree = ast.parse(path.read_text())
    moto_names = _names_imported_from_moto(tree)
    if not moto_names:
        return []
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.stmt | ast.expr):
            continue
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AugAssign | ast.AnnAssign):
            targets = [node.target]
        elif isinstance(node, ast.Delete):
            targets = node.targets
        hits = [t for t in targets if isinstance(t, ast.Attribute) and _root(t) in moto_names]
        calls = (
            isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in {"setattr", "delattr"}
        )
        if hits or calls:
            found.append(f"{path.relative_to(REPO_ROOT)}:{node.lineno}: {ast.unparse(node)[:80]}")
    return found


def _names_imported_from_moto(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "moto":
            names |= {alias.asname or alias.name for alias in node.names}
        elif isinstance(node, ast.Import):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names if a.name.split(".")[0] == "moto"}
    return names


def _root(node: ast.expr) -> str | None:
    while isinstance(node, ast.Attribute | ast.Subscript):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def test_no_module_but_the_registry_assigns_to_moto() -> None:
    files = [path for package in PACKAGES for path in (REPO_ROOT / package).rglob("*.py")]
    found = {path: moto_assignments(path) for path in files}

    assert len(files) > 100
    assert found[REGISTRY], "the scan finds nothing, not even the registry's setattr: it is broken"
    assert {path for path, hits in found.items() if hits} == {REGISTRY}, found
