"""`make approve-local` end to end on the local AWS: approvals and a rejection, delivered by EventBridge to the
approval rule's queue, deploy and verify through `approval follow` (the pipeline's equivalent)."""

from __future__ import annotations

import json
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from approval.resolve import CONTEXT_FILE
from contract.model_package import context_key
from contract.stack import STACK_BASE_NAME, describe_stack
from tests.conftest import REPO_ROOT, RunningLocalAws
from tests.test_end_to_end import CDK, QUIET, WARM_APP, cdk

pytestmark = pytest.mark.slow


@pytest.fixture
def context_file() -> Iterator[Path]:
    """The repository's cdk.context.json, where the flow records packages as a user's run would: restored after."""
    path = REPO_ROOT / CONTEXT_FILE
    before = path.read_bytes() if path.exists() else None
    yield path
    if before is None:
        path.unlink(missing_ok=True)
    else:
        path.write_bytes(before)


def test_approve_approve_reject_serves_first_second_first(
    bootstrapped: RunningLocalAws, context_file: Path, tmp_path: Path
) -> None:
    group = f"approve-local-{uuid.uuid4().hex[:8]}"
    build = tmp_path / "build"

    result = bootstrapped.run(
        "make", "approve-local", f"BUILD_DIR={build}", f"CDK_OUT={tmp_path / 'cdk.out'}", f"APPROVAL_GROUP={group}",
        "APPROVAL_BOOTSTRAP=true", WARM_APP, timeout=300,  # `bootstrapped` did it
    )  # fmt: skip

    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    sagemaker = bootstrapped.client("sagemaker")
    packages = sagemaker.list_model_packages(ModelPackageGroupName=group, SortBy="CreationTime")
    first, second = (summary["ModelPackageArn"] for summary in packages["ModelPackageSummaryList"])
    assert output.count("verification passed (exit 0: passed)") == 3  # first, second, first again
    assert f"serving {first} again" in output
    outputs = describe_stack(STACK_BASE_NAME, bootstrapped.client("cloudformation")).outputs
    assert outputs["ModelPackageArn"] == first
    assert json.loads(context_file.read_text())[context_key(group)]["arn"] == first
    assert sagemaker.describe_model_package(ModelPackageName=second)["ModelApprovalStatus"] == "Rejected"

    # No build needed: the stack's ModelPackageArn output names the package, whose reference set the registry has.
    verified = bootstrapped.run(sys.executable, "-m", "verification", "--stack", STACK_BASE_NAME)
    assert verified.returncode == 0, verified.stdout[-3000:] + verified.stderr[-3000:]
    assert "verification passed (exit 0: passed)" in verified.stdout
    gate = bootstrapped.run(
        sys.executable,
        "-m",
        "verification",
        "--stack",
        STACK_BASE_NAME,
        "--candidate",
        second,
        "--min-agreement",
        "0.5",
    )
    assert gate.returncode == 0, gate.stdout[-3000:] + gate.stderr[-3000:]

    # The served record again is no change (what makes a duplicate event's deploy a no-op); a group never
    # resolved is refused at synth in one line, before anything is deployed.
    unchanged = cdk(bootstrapped, build, "diff", STACK_BASE_NAME, "-c", f"model_package_group={group}")
    assert "There were no differences" in unchanged.stdout + unchanged.stderr
    refused = bootstrapped.run(
        *CDK,
        "--output",
        tmp_path / "refused.out",
        "deploy",
        STACK_BASE_NAME,
        "-c",
        "model_package_group=never-resolved",
        *QUIET,
    )
    assert refused.returncode != 0
    assert "error: context model_package_group: no approved package of never-resolved is recorded" in refused.stderr
    assert describe_stack(STACK_BASE_NAME, bootstrapped.client("cloudformation")).outputs == outputs

    cdk(bootstrapped, build, "destroy", STACK_BASE_NAME, "-c", f"model_package_group={group}", "--force")
