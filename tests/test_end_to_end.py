"""The whole flow on the local AWS: real CDK CLI, real moto server process, real k-means runtime."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest

from contract.stack import STACK_BASE_NAME, describe_stack
from model_build.cli import main as build_model
from tests.conftest import RunningLocalAws
from tests.stacks.conftest import VARIANTS
from tests.warm_synth import client_command

pytestmark = pytest.mark.slow
STACK = STACK_BASE_NAME
CDK = ["npx", "--no-install", "cdk", "--app", client_command()]  # synthesized by the warm synthesizer
# Each pytest worker synthesizes into its own folder: the CDK CLI locks its output folder.
CDK_OUT = Path(tempfile.gettempdir()) / f"kmeans-byom-e2e-{os.getpid()}" / "cdk.out"
QUIET = ["--no-notices", "--require-approval", "never"]
WARM_APP = f"CDK_APP=--app '{client_command()}'"  # the Makefile's cdk commands, through the warm synthesizer


def cdk(local_aws: RunningLocalAws, artifact: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Every cdk command synthesizes the app, and the app needs an artifact: a clean clone has no build/."""
    result = local_aws.run(*CDK, "-c", f"artifact_dir={artifact}", "--output", str(CDK_OUT), *args)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    return result


def deploy(local_aws: RunningLocalAws, artifact: Path, outputs: Path, *context: str) -> None:
    flags = [item for pair in (("-c", c) for c in context) for item in pair]
    cdk(local_aws, artifact, "deploy", STACK, *QUIET, "--outputs-file", str(outputs), *flags)


def verify(local_aws: RunningLocalAws, reference: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return local_aws.run(sys.executable, "-m", "verification", "--reference", str(reference), *args)


@pytest.fixture(scope="module")
def wrong_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wrong-model")
    assert build_model(["--max-rows", "400", "--seed", "11", "--clusters", "9", "--out", str(out)]) == 0
    return out


def test_deploy_verify_update_and_destroy(
    bootstrapped: RunningLocalAws, artifact_dir: Path, wrong_model: Path, tmp_path: Path
) -> None:
    local_aws, outputs = bootstrapped, tmp_path / "outputs.json"
    before = inventory(local_aws)

    deploy(local_aws, artifact_dir, outputs)
    assert json.loads(outputs.read_text())[STACK]["EndpointName"] == STACK
    passed = verify(local_aws, artifact_dir, "--stack", STACK, "--junit", str(tmp_path / "junit.xml"))
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "verification passed (exit 0: passed)" in passed.stdout
    assert (tmp_path / "junit.xml").exists()

    diff = cdk(local_aws, artifact_dir, "diff", STACK, "--no-notices")
    assert "Number of stacks with differences: 0" in diff.stdout + diff.stderr

    deploy(local_aws, wrong_model, outputs)
    failed = verify(local_aws, artifact_dir, "--outputs-file", str(outputs), "--json", str(tmp_path / "wrong.json"))
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "mismatching rows" in failed.stdout
    report = json.loads((tmp_path / "wrong.json").read_text())
    assert report["result"] == "prediction_mismatch"
    assert any(not check["passed"] for check in report["checks"] if check["name"] == "deployed artifact")

    deploy(local_aws, artifact_dir, outputs)
    assert verify(local_aws, artifact_dir, "--stack", STACK).returncode == 0

    cdk(local_aws, artifact_dir, "destroy", STACK, "--force", "--no-notices")
    assert inventory(local_aws) == before


@pytest.mark.parametrize("variant", ["serverless", "all-options"])
def test_every_stack_option_deploys_and_verifies(
    bootstrapped: RunningLocalAws, artifact_dir: Path, tmp_path: Path, variant: str
) -> None:
    context = [f"{key}={value}" for key, value in VARIANTS[variant].items()]
    outputs = tmp_path / "outputs.json"
    before = inventory(bootstrapped)

    deploy(bootstrapped, artifact_dir, outputs, *context)
    result = verify(bootstrapped, artifact_dir, "--outputs-file", str(outputs))
    settled_capture(bootstrapped)  # what the verifier's traffic captured is written before teardown empties it
    captured = put_capture_objects(bootstrapped)
    emptied = bootstrapped.run(sys.executable, "-m", "teardown", "--stack", STACK, "--force")
    cdk(bootstrapped, artifact_dir, "destroy", STACK, "--force", "--no-notices")

    assert result.returncode == 0, result.stdout + result.stderr
    assert emptied.returncode == 0, emptied.stderr
    # Each bucket held at least the object put here; the capture bucket also what data capture wrote.
    emptied_buckets = re.findall(r"emptied s3://(\S+) \(\S+\): [1-9]\d* object versions", emptied.stdout)
    assert sorted(emptied_buckets) == sorted(captured), emptied.stdout
    assert inventory(bootstrapped) == before


def test_an_ab_challenger_deploys_and_each_variant_verifies_against_its_own_build(
    bootstrapped: RunningLocalAws, artifact_dir: Path, challenger_dir: Path, tmp_path: Path
) -> None:
    context = [f"{key}={value}" for key, value in VARIANTS["challenger"].items()]
    context = [item.replace("<the challenger build>", str(challenger_dir)) for item in context]
    outputs = tmp_path / "outputs.json"
    before = inventory(bootstrapped)

    deploy(bootstrapped, artifact_dir, outputs, *context)
    both = verify(bootstrapped, artifact_dir, "--outputs-file", str(outputs), "--reference", str(challenger_dir),
                  "--json", str(tmp_path / "both.json"))  # fmt: skip
    production_only = verify(bootstrapped, artifact_dir, "--outputs-file", str(outputs))
    cdk(bootstrapped, artifact_dir, "destroy", STACK, "--force", "--no-notices")

    assert both.returncode == 0, both.stdout + both.stderr
    checked = {check.get("variant") for check in json.loads((tmp_path / "both.json").read_text())["checks"]}
    assert {"AllTraffic", "Challenger"} <= checked
    # Against production's reference set alone the challenger serves another model: not a pass.
    assert production_only.returncode == 1, production_only.stdout
    assert "Challenger serves sha256" in production_only.stdout
    assert inventory(bootstrapped) == before


def captured_variants(local_aws: RunningLocalAws) -> set[str]:
    """The variants whose answers data capture kept (`<prefix>/<endpoint>/<variant>/...`), once it has settled."""
    found: set[str] = set()
    for _ in range(20):  # capture and the shadow copies are written in the background
        found = {parts[-6] for parts in (key.split("/") for key in settled_capture(local_aws)) if len(parts) > 6}
        if {"AllTraffic", "Shadow"} <= found:
            break
        time.sleep(0.1)
    return found


def settled_capture(local_aws: RunningLocalAws) -> set[str]:
    """The stack's capture objects once no more arrive: capture is buffered and written per time window
    (LOCAL_AWS_CAPTURE_WINDOW_S, 0.5 s), so a teardown right after the traffic would race the last window."""
    resources = local_aws.client("cloudformation").list_stack_resources(StackName=STACK)["StackResourceSummaries"]
    buckets = [r["PhysicalResourceId"] for r in resources if r["ResourceType"] == "AWS::S3::Bucket"]
    s3, seen = local_aws.client("s3"), None
    for _ in range(60):  # bounded: 30 s at most
        keys = {
            f"{bucket}/{item['Key']}"
            for bucket in buckets
            for item in s3.list_objects_v2(Bucket=bucket).get("Contents", [])
            if item["Key"].endswith(".jsonl")
        }
        if keys and keys == seen:
            return keys
        seen = keys
        time.sleep(1.0)  # longer than a capture window
    return seen or set()


def put_capture_objects(local_aws: RunningLocalAws) -> list[str]:
    """What data capture leaves in the stack's buckets: one object in each, for teardown to clear."""
    resources = local_aws.client("cloudformation").list_stack_resources(StackName=STACK)["StackResourceSummaries"]
    buckets = [r["PhysicalResourceId"] for r in resources if r["ResourceType"] == "AWS::S3::Bucket"]
    for bucket in buckets:
        local_aws.client("s3").put_object(Bucket=bucket, Key="capture/AllTraffic/0.jsonl", Body=b"{}")
    return buckets


def inventory(local_aws: RunningLocalAws) -> dict[str, set[str]]:
    """What exists in the local account, by kind: `cdk destroy` must bring it back to what it was."""
    sagemaker, iam = local_aws.client("sagemaker"), local_aws.client("iam")
    buckets = {b["Name"] for b in local_aws.client("s3").list_buckets()["Buckets"]}
    return {
        "stacks": {s["StackName"] for s in local_aws.client("cloudformation").describe_stacks()["Stacks"]},
        "endpoints": {e["EndpointName"] for e in sagemaker.list_endpoints()["Endpoints"]},
        "configs": {c["EndpointConfigName"] for c in sagemaker.list_endpoint_configs()["EndpointConfigs"]},
        "models": {m["ModelName"] for m in sagemaker.list_models()["Models"]},
        "log groups": {g["logGroupName"] for g in local_aws.client("logs").describe_log_groups()["logGroups"]},
        "roles": {r["RoleName"] for r in iam.list_roles()["Roles"]},
        "policies": {p["PolicyName"] for p in iam.list_policies(Scope="Local")["Policies"]},
        "buckets": buckets,
    }


def test_promote_local_deploys_and_verifies_every_stage(bootstrapped: RunningLocalAws, tmp_path: Path) -> None:
    before = inventory(bootstrapped)

    build = f"BUILD_DIR={tmp_path / 'build'}"
    result = bootstrapped.run("make", "promote-local", build, f"CDK_OUT={tmp_path / 'cdk.out'}", WARM_APP, timeout=900)

    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert result.stdout.count("verification passed (exit 0: passed)") == 2
    assert "promoted through: staging prod" in result.stdout
    endpoints = {e["EndpointName"] for e in bootstrapped.client("sagemaker").list_endpoints()["Endpoints"]}
    assert {"KMeansEndpoint-staging", "KMeansEndpoint-prod"} <= endpoints
    for stage in ("staging", "prod"):
        assert (tmp_path / "build" / f"verification-{stage}.xml").exists()
    for stage in ("staging", "prod"):
        cdk(bootstrapped, tmp_path / "build", "destroy", f"KMeansEndpoint-{stage}", "-c", f"stage={stage}", "--force")
    assert inventory(bootstrapped) == before


def test_retrain_local_gates_a_candidate_and_promotes_it(
    bootstrapped: RunningLocalAws, wrong_model: Path, tmp_path: Path
) -> None:
    before = inventory(bootstrapped)
    retrain = tmp_path / "retrain"
    unaligned = tmp_path / "unaligned"
    assert build_model(["--seed", "3", "--out", str(unaligned)]) == 0

    flow = bootstrapped.run("make", "retrain-local", f"RETRAIN_DIR={retrain}", f"CDK_OUT={tmp_path / 'cdk.out'}",
                            WARM_APP, timeout=900)  # fmt: skip
    assert flow.returncode == 0, flow.stdout[-3000:] + flow.stderr[-3000:]
    other_optimum = gate(bootstrapped, wrong_model, tmp_path / "other.json")
    renumbered = gate(bootstrapped, unaligned, tmp_path / "renumbered.json")
    captured = captured_variants(bootstrapped)
    bootstrapped.run(sys.executable, "-m", "teardown", "--stack", STACK, "--force")  # the capture bucket
    cdk(bootstrapped, retrain / "candidate", "destroy", STACK, "--force", "--no-notices", "-c", "data_capture=true")

    assert "PASS  candidate agreement" in flow.stdout
    assert "== shadow" in flow.stdout
    assert {"AllTraffic", "Shadow"} <= captured  # the gate's requests reached the shadow, and both were kept
    assert "promoted the candidate" in flow.stdout
    assert json.loads((retrain / "gate.json").read_text())["result"] == "passed"
    assert other_optimum["agreement"]["passed"] is False
    assert other_optimum["agreement"]["agreement"] < 0.9
    # The same model with its ids as fitted: the partition agrees, the ids do not.
    assert renumbered["agreement"]["agreement"] == 1.0
    assert renumbered["ids"]["passed"] is False
    assert inventory(bootstrapped) == before


def gate(local_aws: RunningLocalAws, candidate: Path, report: Path) -> dict[str, dict[str, Any]]:
    """Run the candidate gate against the deployed stack; it must fail (exit 1); its two checks by role."""
    result = local_aws.run(
        sys.executable, "-m", "verification", "--stack", STACK, "--candidate", str(candidate), "--json", str(report)
    )
    assert result.returncode == 1, result.stdout + result.stderr
    checks = {check["name"]: check for check in json.loads(report.read_text())["checks"]}
    return {"agreement": checks["candidate agreement"], "ids": checks["candidate keeps live ids"]}


def stack_shape(local_aws: RunningLocalAws) -> tuple[list[tuple[str, str]], list[str], str]:
    """What a deploy made: resources by logical id and type, output names, status."""
    cloudformation = local_aws.client("cloudformation")
    resources = cloudformation.list_stack_resources(StackName=STACK)["StackResourceSummaries"]
    stack = describe_stack(STACK, cloudformation)
    shape = sorted((r["LogicalResourceId"], r["ResourceType"]) for r in resources)
    return shape, sorted(stack.outputs), stack.status


def change_set_replacements(local_aws: RunningLocalAws, artifact: Path, *context: str) -> dict[str, str]:
    """`cdk deploy --no-execute`: the change set CloudFormation would run, as logical type -> Replacement."""
    flags = [item for pair in (("-c", c) for c in context) for item in pair]
    cdk(local_aws, artifact, "deploy", STACK, *QUIET, "--no-execute", "--change-set-name", "preview", *flags)
    described = local_aws.client("cloudformation").describe_change_set(StackName=STACK, ChangeSetName="preview")
    local_aws.client("cloudformation").delete_change_set(StackName=STACK, ChangeSetName="preview")
    changes = [change["ResourceChange"] for change in described["Changes"]]
    return {c["ResourceType"]: c.get("Replacement", c["Action"]) for c in changes if c["Action"] == "Modify"}


def test_change_sets_deploy_what_direct_deploys_and_say_what_they_replace(
    bootstrapped: RunningLocalAws, artifact_dir: Path, wrong_model: Path, tmp_path: Path
) -> None:
    cdk(bootstrapped, artifact_dir, "deploy", STACK, *QUIET, "--method=direct")
    direct = stack_shape(bootstrapped)
    cdk(bootstrapped, artifact_dir, "destroy", STACK, "--force", "--no-notices")

    deploy(bootstrapped, artifact_dir, tmp_path / "outputs.json")  # the CLI's default: a change set
    unchanged = cdk(bootstrapped, artifact_dir, "deploy", STACK, *QUIET)
    new_artifact = change_set_replacements(bootstrapped, wrong_model)
    new_setting = change_set_replacements(bootstrapped, artifact_dir, "instance_count=2")
    by_change_set = stack_shape(bootstrapped)
    cdk(bootstrapped, artifact_dir, "destroy", STACK, "--force", "--no-notices")

    assert by_change_set == direct
    assert direct[1] == [
        "ArtifactSha256",
        "EndpointConfigName",
        "EndpointName",
        "ExecutionRoleArn",
        "ModelDataUrl",
        "ModelName",
        "Region",
    ]
    assert "(no changes)" in unchanged.stdout + unchanged.stderr
    assert new_artifact == {
        "AWS::SageMaker::Model": "True",
        "AWS::SageMaker::EndpointConfig": "Conditional",  # its ModelName follows the replaced Model
        "AWS::SageMaker::Endpoint": "False",  # a blue/green update of the same endpoint
        "AWS::IAM::ManagedPolicy": "False",
    }
    assert new_setting == {"AWS::SageMaker::EndpointConfig": "True", "AWS::SageMaker::Endpoint": "False"}
