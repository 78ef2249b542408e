"""The wire library stands on its own: no boto, no moto, and nothing of either side that uses it."""

from __future__ import annotations

from tests.conftest import REPO_ROOT
from tests.test_architecture import imported_roots

FORBIDDEN = {"boto3", "botocore", "moto", "aws_cdk", "local_aws", "verification", "scoring", "stacks"}


def test_the_wire_library_imports_no_aws_sdk_no_emulator_and_no_client() -> None:
    modules = sorted((REPO_ROOT / "wire").rglob("*.py")) + sorted((REPO_ROOT / "recordio").glob("[!_]*.py"))
    assert len(modules) > 4
    for path in modules:
        assert not imported_roots(path) & FORBIDDEN, path.relative_to(REPO_ROOT)
