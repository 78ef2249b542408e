"""The wire library stands on its own: no boto, no moto, and nothing of either side that uses it."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import REPO_ROOT

FORBIDDEN = {"boto3", "botocore", "moto", "aws_cdk", "local_aws", "verification", "scoring", "stacks"}


def imported_roots(path: Path) -> set[str]:
    roots: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def test_the_wire_library_imports_no_aws_sdk_no_emulator_and_no_client() -> None:
    modules = sorted((REPO_ROOT / "wire").rglob("*.py")) + sorted((REPO_ROOT / "recordio").glob("[!_]*.py"))
    assert len(modules) > 4
    for path in modules:
        assert not imported_roots(path) & FORBIDDEN, path.relative_to(REPO_ROOT)
