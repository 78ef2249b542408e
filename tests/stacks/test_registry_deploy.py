"""A stack serving a group's approved package: the Model names it, the role reads exactly its artifact, and synth
reads only the resolve step's record (refusing in one line when there is none, or it cannot be served)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from contract.model_package import RecordedPackage, context_key
from contract.stack import Output
from stacks.constructs.model import PACKAGE_REGION_RULE
from stacks.settings import SettingsError, settings_from_context
from tests.stacks.conftest import PIPELINE_CONTEXT, Synthesized, synthesize
from tests.stacks.registry_records import ARTIFACT_SHA, BUCKET, GROUP, recorded, registry_context


@pytest.fixture(scope="module")
def from_registry(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    # No build anywhere: the artifact folder does not exist.
    missing = tmp_path_factory.mktemp("no-build") / "build"
    return synthesize(missing, tmp_path_factory.mktemp("cdk-registry"), registry_context())


def test_the_model_names_the_approved_package_and_no_image_or_artifact(from_registry: Synthesized) -> None:
    (model,) = from_registry.resources("AWS::SageMaker::Model").values()
    assert model["Properties"]["PrimaryContainer"] == {"ModelPackageName": recorded()["arn"]}


def test_the_execution_role_reads_exactly_the_packages_artifact(from_registry: Synthesized) -> None:
    (policy,) = from_registry.resources("AWS::IAM::ManagedPolicy").values()
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    (read,) = [statement for statement in statements if statement["Sid"] == "ReadModelArtifact"]
    key = recorded()["model_data_url"].removeprefix(f"s3://{BUCKET}/")
    assert read["Resource"] == {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, f":s3:::{BUCKET}/{key}"]]}


def test_the_outputs_name_the_package_and_its_artifact(from_registry: Synthesized) -> None:
    outputs = from_registry.body["Outputs"]
    assert outputs[Output.MODEL_PACKAGE_ARN]["Value"] == recorded()["arn"]
    assert outputs[Output.ARTIFACT_SHA256]["Value"] == ARTIFACT_SHA
    assert outputs[Output.MODEL_DATA_URL]["Value"] == recorded()["model_data_url"]
    assert not from_registry.body.get("Parameters", {}).keys() - {"BootstrapVersion"}  # no asset parameters


def test_the_stack_deploys_only_in_the_packages_region(from_registry: Synthesized) -> None:
    """The package's image and artifact must be in the Model's region (ContainerDefinition.Image)."""
    rule = from_registry.body["Rules"][PACKAGE_REGION_RULE]
    (assertion,) = rule["Assertions"]
    region = recorded()["arn"].split(":")[3]
    assert assertion["Assert"] == {"Fn::Equals": [{"Ref": "AWS::Region"}, region]}
    assert f"is in {region}" in assertion["AssertDescription"]


def test_synth_is_deterministic_and_another_package_is_a_change(tmp_path: Path, from_registry: Synthesized) -> None:
    again = synthesize(tmp_path / "none", tmp_path / "again", registry_context())
    assert again.body == from_registry.body
    newer = synthesize(tmp_path / "none", tmp_path / "newer", registry_context(version=3))
    (model,) = newer.resources("AWS::SageMaker::Model").values()
    assert model["Properties"]["PrimaryContainer"]["ModelPackageName"].endswith(f"/{GROUP}/3")


def parse(context: dict[str, Any]) -> None:
    settings_from_context(context, check_artifact=True)


@pytest.mark.parametrize(
    ("context", "message"),
    [
        ({"model_package_group": GROUP}, f"no approved package of {GROUP} is recorded"),
        ({"model_package_group": "no_such group!"}, "not a group name or ARN"),
        ({"model_package_group": "Digits"}, "'Digits': has upper case letters, which AWS lowers"),
        (registry_context(approval_status="PendingManualApproval"), "is PendingManualApproval, only an Approved"),
        (registry_context(approval_status="Rejected"), "is Rejected, only an Approved"),
        (
            registry_context(image="763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-inference:2.1-cpu"),
            "not SageMaker's built-in k-means image",
        ),
        (registry_context(artifact_sha256="nope"), "artifact_sha256 is not a sha256"),
        ({"model_package_group": GROUP, context_key(GROUP): {"arn": "x"}}, "not a recorded model package"),
        ({**registry_context(), "challenger_artifact_dir": "build"}, "serves one package"),
    ],
)
def test_synth_refuses_what_it_cannot_serve_in_one_line(context: dict[str, Any], message: str) -> None:
    with pytest.raises(SettingsError, match=message) as raised:
        parse(context)
    assert "\n" not in str(raised.value)


def test_the_record_round_trips_through_context() -> None:
    package = RecordedPackage.from_context(recorded(), "here")
    assert package.to_context() == recorded()
    assert package.artifact_key.endswith("/model.tar.gz")


@pytest.fixture(scope="module")
def registry_pipeline(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    missing = tmp_path_factory.mktemp("no-build") / "build"
    context = {**PIPELINE_CONTEXT, **registry_context()}
    return synthesize(missing, tmp_path_factory.mktemp("cdk-registry-pipeline"), context)


def test_approvals_and_rejections_of_the_group_start_the_pipeline_never_a_pending_package(
    registry_pipeline: Synthesized,
) -> None:
    (rule,) = registry_pipeline.resources("AWS::Events::Rule").values()
    assert rule["Properties"]["EventPattern"] == {
        "source": ["aws.sagemaker"],
        "detail-type": ["SageMaker Model Package State Change"],
        "detail": {"ModelPackageGroupName": [GROUP], "ModelApprovalStatus": ["Approved", "Rejected"]},
    }
    (target,) = rule["Properties"]["Targets"]
    (pipeline_id,) = registry_pipeline.resources("AWS::CodePipeline::Pipeline")
    assert pipeline_id in json.dumps(target["Arn"])


def test_the_synth_step_resolves_the_package_instead_of_building(registry_pipeline: Synthesized) -> None:
    (code_pipeline,) = registry_pipeline.resources("AWS::CodePipeline::Pipeline").values()
    synth = code_pipeline["Properties"]["Stages"][1]["Actions"][0]
    project = registry_pipeline.resources("AWS::CodeBuild::Project")[synth["Configuration"]["ProjectName"]["Ref"]]
    commands = json.loads(project["Properties"]["Source"]["BuildSpec"])["phases"]["build"]["commands"]
    assert "make build" not in commands
    assert commands[-2:] == [
        f".venv/bin/python -m approval resolve --group {GROUP}",
        "npx --no-install cdk synth --context pipeline=true",
    ]


def test_each_stage_verifies_the_package_it_serves(registry_pipeline: Synthesized) -> None:
    policies = json.dumps(registry_pipeline.resources("AWS::IAM::Policy"))
    assert recorded()["arn"] in policies  # the verify steps may describe exactly the served package
    assert "VERIFY_MODEL_PACKAGE_ARN" in json.dumps(registry_pipeline.resources("AWS::CodePipeline::Pipeline"))


def test_githubs_deploy_role_may_resolve_and_read_the_groups_packages(tmp_path: Path) -> None:
    context = {"github_repository": "acme/kmeans-byom", **registry_context()}
    oidc = synthesize(tmp_path / "none", tmp_path / "oidc", context)
    statements = {
        statement.get("Sid", ""): statement
        for policy in oidc.resources("AWS::IAM::Policy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    }
    assert statements["ReadModelPackages"]["Action"] == "sagemaker:DescribeModelPackage"
    assert f"model-package/{GROUP}/*" in json.dumps(statements["ReadModelPackages"]["Resource"])
    assert f"{BUCKET}/kmeans-byom/registry/*" in json.dumps(statements["ReadRegisteredFiles"]["Resource"])
