"""Defects a first real deploy would hit, each caught by deploying with the real CDK CLI to the strict local AWS.

Each test failed before its fix: the local AWS refused, failed or reset what AWS refuses, fails or resets.
(The verifier's IAM scope, the first of them, is tests/test_verifier_roles.py.)
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from contract.stack import STACK_BASE_NAME, describe_stack
from model_build import ndarray
from model_build.cli import main as build_model
from model_build.packaging import package_model
from tests.conftest import RunningLocalAws
from tests.test_end_to_end import CDK, CDK_OUT, QUIET

pytestmark = pytest.mark.slow
STACK = STACK_BASE_NAME
AUTOSCALED = ["instance_count=2", "autoscaling_min=2", "autoscaling_max=6"]


def autoscaled(instance_type: str = "ml.c5.xlarge") -> list[str]:
    return [f"instance_type={instance_type}", *AUTOSCALED]


def deploy(local_aws: RunningLocalAws, artifact: Path, *context: str) -> Any:
    flags = [item for setting in context for item in ("-c", setting)]
    return local_aws.run(
        *CDK,
        "-c",
        f"artifact_dir={artifact}",
        "--output",
        str(CDK_OUT),
        "deploy",
        STACK,
        *QUIET,
        *flags,
    )


@pytest.fixture
def stack(bootstrapped: RunningLocalAws, artifact_dir: Path) -> Iterator[RunningLocalAws]:
    """Each test starts from no stack and leaves none (teardown empties what data capture wrote)."""
    yield bootstrapped
    bootstrapped.run(sys.executable, "-m", "teardown", "--stack", STACK, "--force")
    destroyed = bootstrapped.run(
        *CDK,
        "-c",
        f"artifact_dir={artifact_dir}",
        "--output",
        str(CDK_OUT),
        "destroy",
        STACK,
        "--force",
        "--no-notices",
    )
    assert destroyed.returncode == 0, destroyed.stderr[-2000:]


@pytest.fixture(scope="module")
def new_artifact(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("new-artifact")
    assert build_model(["--max-rows", "300", "--seed", "4", "--out", str(out)]) == 0
    return out


def variant(local_aws: RunningLocalAws) -> dict[str, Any]:
    (described,) = local_aws.client("sagemaker").describe_endpoint(EndpointName=STACK)["ProductionVariants"]
    return dict(described)


def ok(result: Any) -> None:
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]


def test_a_new_artifact_keeps_autoscaled_capacity_and_can_read_its_rollback_alarms(
    stack: RunningLocalAws, artifact_dir: Path, new_artifact: Path
) -> None:
    """Defects 2 (RetainAllVariantProperties) and 3 (cloudwatch:DescribeAlarms, needed from the first update)."""
    ok(deploy(stack, artifact_dir, *autoscaled()))
    capacity = [{"VariantName": "AllTraffic", "DesiredInstanceCount": 5, "DesiredWeight": 1.0}]
    stack.client("sagemaker").update_endpoint_weights_and_capacities(
        EndpointName=STACK, DesiredWeightsAndCapacities=capacity
    )

    updated = deploy(stack, new_artifact, *autoscaled())

    ok(updated)
    assert variant(stack)["CurrentInstanceCount"] == 5
    assert (
        stack.run(sys.executable, "-m", "verification", "--stack", STACK, "--reference", str(new_artifact)).returncode
        == 0
    )


def test_without_autoscaling_a_changed_instance_count_applies(stack: RunningLocalAws, artifact_dir: Path) -> None:
    ok(deploy(stack, artifact_dir))

    ok(deploy(stack, artifact_dir, "instance_count=2"))

    assert variant(stack)["CurrentInstanceCount"] == 2


def test_a_local_storage_instance_type_deploys_without_a_volume_key(stack: RunningLocalAws, artifact_dir: Path) -> None:
    """Defect 5: ml.g6 has local NVMe storage; the old pattern gave it a KmsKeyId, which AWS refuses."""
    ok(deploy(stack, artifact_dir, "instance_type=ml.g6.xlarge"))

    config_name = stack.client("sagemaker").describe_endpoint(EndpointName=STACK)["EndpointConfigName"]
    assert "KmsKeyId" not in stack.client("sagemaker").describe_endpoint_config(EndpointConfigName=config_name)


def test_a_long_linear_deployment_gets_the_time_its_waits_need(
    stack: RunningLocalAws, artifact_dir: Path, new_artifact: Path
) -> None:
    """Defect 6: 10 steps of 2,000 s need 20,900 s; the old cap of 14,400 s was refused as shorter than the waits."""
    linear = [
        "instance_count=2",
        "deployment_policy=linear",
        "deployment_step_percent=10",
        "deployment_wait_seconds=2000",
    ]
    ok(deploy(stack, artifact_dir, *linear))

    ok(deploy(stack, new_artifact, *linear))

    template = json.loads((CDK_OUT / f"{STACK}.template.json").read_text())
    (endpoint,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::SageMaker::Endpoint"]
    assert (
        endpoint["Properties"]["DeploymentConfig"]["BlueGreenUpdatePolicy"]["MaximumExecutionTimeoutInSeconds"]
        == 20_900
    )


def test_changing_the_instance_type_of_an_autoscaled_variant_takes_two_deploys(
    stack: RunningLocalAws, artifact_dir: Path
) -> None:
    """README, change semantics: AWS refuses the one-step change; turn autoscaling off first, then change."""
    ok(deploy(stack, artifact_dir, *autoscaled()))
    serving = stack.client("sagemaker").describe_endpoint(EndpointName=STACK)["EndpointConfigName"]

    one_step = deploy(stack, artifact_dir, *autoscaled("ml.m5.xlarge"))
    without_autoscaling = deploy(stack, artifact_dir, "instance_type=ml.c5.xlarge", "instance_count=2")
    new_type = deploy(stack, artifact_dir, *autoscaled("ml.m5.xlarge"))

    assert one_step.returncode != 0
    assert "registered as an Application Auto Scaling target" in one_step.stdout + one_step.stderr
    ok(without_autoscaling)
    ok(new_type)
    assert serving != stack.client("sagemaker").describe_endpoint(EndpointName=STACK)["EndpointConfigName"]


def serving(local_aws: RunningLocalAws, endpoint: str = STACK) -> dict[str, Any]:
    """What the endpoint serves: each variant's model and instance type, and whether it is asynchronous."""
    sagemaker = local_aws.client("sagemaker")
    config_name = sagemaker.describe_endpoint(EndpointName=endpoint)["EndpointConfigName"]
    config = sagemaker.describe_endpoint_config(EndpointConfigName=config_name)
    variants = {v["VariantName"]: (v["ModelName"], v.get("InstanceType")) for v in config["ProductionVariants"]}
    return {"variants": variants, "async": "AsyncInferenceConfig" in config, "config": config_name}


def refused_and_rolled_back(
    local_aws: RunningLocalAws, result: Any, words: str, before: dict[str, Any], endpoint: str = STACK
) -> None:
    """AWS's words reach the user, the stack rolls back, and the endpoint serves what it served, as declared.

    (The local rollback re-creates a replaced EndpointConfig under a new name where CloudFormation would keep the
    original: the content is compared, and the stack's declared config is the one served.)
    """
    assert result.returncode != 0
    assert words in result.stdout + result.stderr
    stack = describe_stack(STACK, local_aws.client("cloudformation"))
    after = serving(local_aws, endpoint)
    assert stack.status == "UPDATE_ROLLBACK_COMPLETE"
    assert (after["variants"], after["async"]) == (before["variants"], before["async"])
    assert stack.outputs["EndpointConfigName"] == after["config"]


def test_ending_an_autoscaled_ab_test_takes_two_deploys(
    stack: RunningLocalAws, artifact_dir: Path, new_artifact: Path
) -> None:
    """Rules autoscaled-variant-removal and cfn-remove-in-cleanup, README change semantics: the challenger's scalable
    target is removed only in CloudFormation's cleanup, after UpdateEndpoint, so AWS refuses the one-step end."""
    challenger = f"challenger_artifact_dir={new_artifact}"
    ok(deploy(stack, artifact_dir, challenger, *autoscaled()))
    before = serving(stack)

    one_step = deploy(stack, artifact_dir, "variant_change=true", *autoscaled())
    refused_and_rolled_back(stack, one_step, "registered as an Application Auto Scaling target", before)
    ok(deploy(stack, artifact_dir, challenger, "instance_type=ml.c5.xlarge", "instance_count=2"))
    ok(deploy(stack, artifact_dir, "variant_change=true", *autoscaled()))

    assert variant(stack)["VariantName"] == "AllTraffic"


def test_switching_to_asynchronous_inference_replaces_the_endpoint_in_one_deploy(
    stack: RunningLocalAws, artifact_dir: Path
) -> None:
    """Rule async-inference-in-place, README change semantics: AWS refuses the switch in place, so an asynchronous
    endpoint is named apart by default and CloudFormation replaces the endpoint instead (the in-place refusal itself:
    tests/local_aws/test_strict_sagemaker.py)."""
    ok(deploy(stack, artifact_dir))

    switched = deploy(stack, artifact_dir, "async_inference=true")

    ok(switched)
    endpoints = stack.client("sagemaker").list_endpoints(NameContains=STACK)["Endpoints"]
    assert [e["EndpointName"] for e in endpoints] == [f"{STACK}-async"]
    assert serving(stack, f"{STACK}-async")["async"]


@pytest.fixture(scope="module")
def unloadable(artifact_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A build whose model_algo-1 holds float64 centroids: packaged and hashed right, refused by the container."""
    out = tmp_path_factory.mktemp("unloadable")
    for name in ("manifest.json", "reference.npz"):
        shutil.copy(artifact_dir / name, out / name)
    artifact = package_model(ndarray.encode([np.zeros((10, 64), dtype=np.float64)]))
    (out / "model.tar.gz").write_bytes(artifact)
    manifest = json.loads((out / "manifest.json").read_text())
    manifest |= {"artifact_sha256": hashlib.sha256(artifact).hexdigest(), "artifact_bytes": len(artifact)}
    (out / "manifest.json").write_text(json.dumps(manifest))
    return out


def test_a_model_the_container_cannot_load_fails_the_deploy_and_leaves_nothing(
    stack: RunningLocalAws, unloadable: Path
) -> None:
    """Rule model-health-check through CloudFormation: the stack rolls back, `cdk deploy` exits non-zero."""
    before = sagemaker_inventory(stack)

    failed = deploy(stack, unloadable)

    assert failed.returncode != 0
    assert "did not pass the ping health check" in failed.stdout + failed.stderr
    assert describe_stack(STACK, stack.client("cloudformation")).status == "ROLLBACK_COMPLETE"
    assert sagemaker_inventory(stack) == before
    # Listing a rolled-back stack's resources (teardown does) must not bring any of them back.
    stack.client("cloudformation").list_stack_resources(StackName=STACK)
    assert sagemaker_inventory(stack) == before


def sagemaker_inventory(local_aws: RunningLocalAws) -> dict[str, set[str]]:
    sagemaker = local_aws.client("sagemaker")
    return {
        "models": {m["ModelName"] for m in sagemaker.list_models()["Models"]},
        "configs": {c["EndpointConfigName"] for c in sagemaker.list_endpoint_configs()["EndpointConfigs"]},
        "endpoints": {e["EndpointName"] for e in sagemaker.list_endpoints()["Endpoints"]},
        "log groups": {g["logGroupName"] for g in local_aws.client("logs").describe_log_groups()["logGroups"]},
    }
