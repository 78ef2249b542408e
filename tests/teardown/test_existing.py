"""`python -m teardown.existing` against a real moto server: only the named stacks that exist, in order."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid

from local_aws.ports import free_port
from tests.conftest import REPO_ROOT, RunningLocalAws

TEMPLATE = json.dumps({"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}})


def existing(
    local_aws: RunningLocalAws, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "teardown.existing", *args],
        cwd=REPO_ROOT,
        env=local_aws.environment if env is None else env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_names_the_stacks_that_exist_once_in_the_order_given(local_aws: RunningLocalAws) -> None:
    cloudformation = local_aws.client("cloudformation")
    live, deleted, never = (f"{kind}{uuid.uuid4().hex[:8]}" for kind in ("Live", "Deleted", "Never"))
    for name in (live, deleted):
        cloudformation.create_stack(StackName=name, TemplateBody=TEMPLATE)
    cloudformation.delete_stack(StackName=deleted)

    result = existing(local_aws, never, live, deleted, live)
    cloudformation.delete_stack(StackName=live)

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [live]
    assert result.stderr == ""


def test_none_existing_prints_nothing_and_succeeds(local_aws: RunningLocalAws) -> None:
    result = existing(local_aws, "NeverDeployed", "NeverDeployed-prod")

    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_no_stack_named_is_a_usage_error(local_aws: RunningLocalAws) -> None:
    assert existing(local_aws).returncode == 2


def test_an_unreachable_endpoint_is_an_aws_failure(local_aws: RunningLocalAws) -> None:
    env = {**local_aws.environment, "AWS_ENDPOINT_URL": f"http://localhost:{free_port()}"}

    result = existing(local_aws, "KMeansEndpoint", env=env)

    assert result.returncode == 3
    assert result.stderr.startswith("error: AWS call failed:")
    assert result.stdout == ""
