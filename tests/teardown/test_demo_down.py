"""`make demo-down` on a local AWS of its own: it destroys the stacks that exist, only those, and stops it.

The demo's stack and one stage's exist here; the other stage's (prod, in stages.json) was never deployed.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.conftest import RunningLocalAws, started_local_aws
from tests.test_end_to_end import WARM_APP

pytestmark = pytest.mark.slow
BUCKET_TEMPLATE = json.dumps({"Resources": {"Capture": {"Type": "AWS::S3::Bucket"}}})


def test_demo_down_destroys_the_stacks_that_exist_and_stops_the_local_aws(artifact_dir: Path, tmp_path: Path) -> None:
    with started_local_aws(tmp_path / "local_aws") as local_aws:
        deployed = [deploy_stand_in(local_aws, name) for name in ("KMeansEndpoint", "KMeansEndpoint-staging")]

        result = local_aws.run(
            "make", "demo-down", f"BUILD_DIR={artifact_dir}", f"CDK_OUT={tmp_path / 'cdk.out'}", WARM_APP
        )
        status = local_aws.run(sys.executable, "-m", "local_aws", "status")

    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    assert all(f"emptied s3://{bucket}" in output for bucket in deployed), "else CloudFormation cannot delete it"
    assert "KMeansEndpoint: destroyed" in output
    assert "KMeansEndpoint-staging: destroyed" in output
    assert "KMeansEndpoint-prod" not in output, "never deployed: left alone, silently"
    assert "does not exist" not in output
    assert "stopped: " in result.stdout
    assert status.returncode != 0, status.stdout


def deploy_stand_in(local_aws: RunningLocalAws, name: str) -> str:
    """A stand-in for the demo's or a stage's stack (cdk destroy deletes by name): one bucket, not empty."""
    cloudformation, s3 = local_aws.client("cloudformation"), local_aws.client("s3")
    cloudformation.create_stack(StackName=name, TemplateBody=BUCKET_TEMPLATE)
    (bucket,) = cloudformation.list_stack_resources(StackName=name)["StackResourceSummaries"]
    s3.put_object(Bucket=bucket["PhysicalResourceId"], Key="capture/0.jsonl", Body=b"{}")
    return str(bucket["PhysicalResourceId"])
