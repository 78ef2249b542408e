"""`python -m teardown` against a real moto server: what it empties, what it leaves, how it fails."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from local_aws.ports import free_port
from teardown.buckets import empty_bucket
from tests.conftest import REPO_ROOT, RunningLocalAws

CompletedProcess = subprocess.CompletedProcess[str]

TEMPLATE = {
    "Resources": {
        "Capture": {"Type": "AWS::S3::Bucket", "DeletionPolicy": "Delete"},
        "Scratch": {"Type": "AWS::S3::Bucket"},
        "Artifacts": {"Type": "AWS::S3::Bucket", "DeletionPolicy": "Retain"},
    }
}


def physical_buckets(local_aws: RunningLocalAws, stack: str) -> dict[str, str]:
    resources = local_aws.client("cloudformation").list_stack_resources(StackName=stack)["StackResourceSummaries"]
    return {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in resources}


def fill_versioned(s3: Any, bucket: str) -> None:
    """Two versions of one key and a delete marker over another: what a plain DeleteObject would leave."""
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    for body in (b"first", b"second"):
        s3.put_object(Bucket=bucket, Key="capture/a.jsonl", Body=body)
    s3.put_object(Bucket=bucket, Key="capture/b.jsonl", Body=b"gone")
    s3.delete_object(Bucket=bucket, Key="capture/b.jsonl")


def versions(s3: Any, bucket: str) -> int:
    listing = s3.list_object_versions(Bucket=bucket)
    return len(listing.get("Versions", [])) + len(listing.get("DeleteMarkers", []))


@pytest.fixture
def stack(local_aws: RunningLocalAws) -> Iterator[tuple[str, dict[str, str]]]:
    name = f"Teardown{uuid.uuid4().hex[:8]}"
    cloudformation = local_aws.client("cloudformation")
    cloudformation.create_stack(StackName=name, TemplateBody=json.dumps(TEMPLATE))
    buckets = physical_buckets(local_aws, name)
    for bucket in buckets.values():
        fill_versioned(local_aws.client("s3"), bucket)
    yield name, buckets
    cloudformation.delete_stack(StackName=name)


def teardown(local_aws: RunningLocalAws, *args: str, env: dict[str, str] | None = None) -> CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "teardown", *args],
        cwd=REPO_ROOT,
        env=local_aws.environment if env is None else env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_without_force_it_only_says_what_it_would_delete(
    local_aws: RunningLocalAws, stack: tuple[str, dict[str, str]]
) -> None:
    name, buckets = stack

    result = teardown(local_aws, "--stack", name)

    assert result.returncode == 1
    assert "8 object versions would be deleted for good; rerun with --force" in result.stderr
    assert f"would empty s3://{buckets['Capture']}: 4 object versions" in result.stdout
    assert all(versions(local_aws.client("s3"), bucket) == 4 for bucket in buckets.values())


def test_force_empties_every_version_of_deletable_buckets_only(
    local_aws: RunningLocalAws, stack: tuple[str, dict[str, str]]
) -> None:
    name, buckets = stack
    s3 = local_aws.client("s3")

    result = teardown(local_aws, "--stack", name, "--force")

    assert result.returncode == 0, result.stderr
    assert f"emptied s3://{buckets['Capture']} (Capture): 4 object versions" in result.stdout
    assert versions(s3, buckets["Capture"]) == versions(s3, buckets["Scratch"]) == 0
    assert versions(s3, buckets["Artifacts"]) == 4, "a retained bucket outlives the stack: its data stays"
    assert teardown(local_aws, "--stack", name).returncode == 0, "nothing left to delete"


def test_empties_more_versions_than_one_delete_call_takes(local_aws: RunningLocalAws) -> None:
    s3, bucket = local_aws.client("s3"), f"teardown-many-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    for index in range(1001):
        s3.put_object(Bucket=bucket, Key=f"k{index:04d}", Body=b"")

    assert empty_bucket(s3, bucket) == 1001
    assert versions(s3, bucket) == 0


def test_a_missing_stack_has_nothing_to_empty(local_aws: RunningLocalAws) -> None:
    result = teardown(local_aws, "--stack", "NeverDeployed", "--force")

    assert result.returncode == 0, result.stderr
    assert "stack NeverDeployed does not exist: nothing to empty" in result.stdout


def test_no_region_is_a_usage_error(local_aws: RunningLocalAws) -> None:
    env = {k: v for k, v in local_aws.environment.items() if k not in {"AWS_REGION", "AWS_DEFAULT_REGION"}}

    result = teardown(local_aws, "--force", env={**env, "AWS_CONFIG_FILE": "/nonexistent"})

    assert result.returncode == 2
    assert result.stderr.strip() == "error: no AWS region: set AWS_REGION (or AWS_DEFAULT_REGION)"


def test_an_unreachable_endpoint_is_an_aws_failure(local_aws: RunningLocalAws) -> None:
    env = {**local_aws.environment, "AWS_ENDPOINT_URL": f"http://localhost:{free_port()}"}

    result = teardown(local_aws, "--force", env=env)

    assert result.returncode == 3
    assert result.stderr.startswith("error: AWS call failed:")
    assert len(result.stderr.strip().splitlines()) == 1


def test_unknown_option_is_a_usage_error(local_aws: RunningLocalAws) -> None:
    assert teardown(local_aws, "--stack", "X", "--yes").returncode == 2


def test_without_teardown_the_stack_fails_to_delete_as_on_aws_and_with_it_deletes(
    local_aws: RunningLocalAws, stack: tuple[str, dict[str, str]]
) -> None:
    name, buckets = stack
    cloudformation = local_aws.client("cloudformation")

    cloudformation.delete_stack(StackName=name)
    failed = cloudformation.describe_stacks(StackName=name)["Stacks"][0]
    events = cloudformation.describe_stack_events(StackName=name)["StackEvents"]
    emptied = teardown(local_aws, "--stack", name, "--force")
    cloudformation.delete_stack(StackName=name)

    assert failed["StackStatus"] == "DELETE_FAILED"
    assert any("The bucket you tried to delete is not empty" in e.get("ResourceStatusReason", "") for e in events)
    assert emptied.returncode == 0, emptied.stderr
    remaining = {b["Name"] for b in local_aws.client("s3").list_buckets()["Buckets"]}
    assert buckets["Artifacts"] in remaining, "retained"
    assert not {buckets["Capture"], buckets["Scratch"]} & remaining
    assert all(s["StackName"] != name for s in cloudformation.describe_stacks()["Stacks"])
