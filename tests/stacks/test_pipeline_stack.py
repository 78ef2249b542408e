"""The CDK Pipelines stack: source -> synth (tests included) -> staging + verify -> approval -> prod + verify."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest

from stacks.composition import compose
from stacks.settings import SettingsError
from tests.stacks.conftest import CDK_JSON_CONTEXT, PIPELINE_CONTEXT, Synthesized


def stages(pipeline: Synthesized) -> list[dict[str, Any]]:
    (code_pipeline,) = pipeline.resources("AWS::CodePipeline::Pipeline").values()
    found: list[dict[str, Any]] = code_pipeline["Properties"]["Stages"]
    return found


def actions(stage: dict[str, Any]) -> list[tuple[int, str, str]]:
    return sorted((a["RunOrder"], a["Name"], a["ActionTypeId"]["Provider"]) for a in stage["Actions"])


def buildspec_of(pipeline: Synthesized, action: dict[str, Any]) -> dict[str, Any]:
    project_id = action["Configuration"]["ProjectName"]["Ref"]
    source = pipeline.resources("AWS::CodeBuild::Project")[project_id]["Properties"]["Source"]["BuildSpec"]
    return dict(json.loads(source))


def test_stages_run_in_order(pipeline: Synthesized) -> None:
    names = [stage["Name"] for stage in stages(pipeline)]
    assert names == ["Source", "Build", "UpdatePipeline", "Assets", "Staging", "Prod"]


def test_source_is_the_configured_connection_and_branch(pipeline: Synthesized) -> None:
    (source,) = stages(pipeline)[0]["Actions"]
    assert source["ActionTypeId"]["Provider"] == "CodeStarSourceConnection"
    configuration = source["Configuration"]
    assert configuration["ConnectionArn"] == PIPELINE_CONTEXT["connection_arn"]
    assert (configuration["FullRepositoryId"], configuration["BranchName"]) == ("acme/kmeans-byom", "main")


def test_synth_sets_up_tests_builds_and_synthesizes(pipeline: Synthesized) -> None:
    (synth,) = stages(pipeline)[1]["Actions"]
    commands = buildspec_of(pipeline, synth)["phases"]["build"]["commands"]
    assert commands[:4] == ["make setup", "make check", "make test", "make build"]
    assert "cdk synth --context pipeline=true" in commands[-1]


def test_staging_deploys_then_verifies(pipeline: Synthesized) -> None:
    staging = stages(pipeline)[4]
    ordered = actions(staging)
    assert [provider for _, _, provider in ordered[:2]] == ["CloudFormation", "CloudFormation"]
    assert ordered[-1][1:] == ("VerifyStaging", "CodeBuild")
    assert ordered[-1][0] > ordered[0][0]


def test_prod_waits_for_a_manual_approval(pipeline: Synthesized) -> None:
    ordered = actions(stages(pipeline)[5])
    assert ordered[0] == (1, "ApproveProd", "Manual")
    assert ordered[-1][1:] == ("VerifyProd", "CodeBuild")
    assert all(run_order > 1 for run_order, _, provider in ordered if provider == "CloudFormation")


def test_verification_gets_the_stack_outputs_and_publishes_junit(pipeline: Synthesized) -> None:
    verify = next(a for a in stages(pipeline)[4]["Actions"] if a["Name"] == "VerifyStaging")
    variables = {v["name"]: v["value"] for v in json.loads(verify["Configuration"]["EnvironmentVariables"])}
    assert set(variables) >= {"VERIFY_ENDPOINT_NAME", "VERIFY_ENDPOINT_CONFIG_NAME"}
    assert "#{" in variables["VERIFY_ENDPOINT_NAME"]  # a CodePipeline variable from the deploy action's outputs
    spec = buildspec_of(pipeline, verify)
    assert spec["phases"]["build"]["commands"][0] == "make setup-deploy"
    command = spec["phases"]["build"]["commands"][-1]
    assert command.startswith("make verify ")
    expanded = make_dry_run(command)  # the project's one verify command, as the step runs it
    assert 'python -m verification --endpoint "$VERIFY_ENDPOINT_NAME"' in expanded
    assert '--expect-config "$VERIFY_ENDPOINT_CONFIG_NAME"' in expanded
    assert "--junit reports/verification.xml" in expanded
    assert spec["reports"]["verification"]["file-format"] == "JUNITXML"


def make_dry_run(command: str) -> str:
    """What `make` would run for `command` (-n: print, run nothing); $VARIABLES stay unexpanded."""
    import shlex
    import subprocess

    from tests.conftest import REPO_ROOT

    words = shlex.split(command.replace("$", "$$"))  # keep the shell variables for the step's shell
    dry = subprocess.run([*words[:1], "-n", "--no-print-directory", *words[1:]], cwd=REPO_ROOT, capture_output=True,
                         text=True, check=True)  # fmt: skip
    return dry.stdout


def test_each_stage_deploys_its_own_named_stack(pipeline: Synthesized) -> None:
    deployed = {
        a["Configuration"]["StackName"]
        for stage in stages(pipeline)[4:]
        for a in stage["Actions"]
        if a["ActionTypeId"]["Provider"] == "CloudFormation"
    }
    assert deployed == {"KMeansEndpoint-staging", "KMeansEndpoint-prod"}


def test_stage_settings_come_from_stages_json(pipeline: Synthesized) -> None:
    assembly = pipeline.path.parent
    prod = json.loads(next(assembly.glob("assembly-*Prod/*.template.json")).read_text())
    staging = json.loads(next(assembly.glob("assembly-*Staging/*.template.json")).read_text())
    for template, endpoint, instance_type in ((staging, "KMeansEndpoint-staging", "ml.m5.large"),
                                              (prod, "KMeansEndpoint-prod", "ml.m5.xlarge")):  # fmt: skip
        resources = template["Resources"].values()
        (endpoint_resource,) = [r for r in resources if r["Type"] == "AWS::SageMaker::Endpoint"]
        assert endpoint_resource["Properties"]["EndpointName"] == endpoint
        (config,) = [r for r in resources if r["Type"] == "AWS::SageMaker::EndpointConfig"]
        assert config["Properties"]["ProductionVariants"][0]["InstanceType"] == instance_type
    assert any(r["Type"] == "AWS::ApplicationAutoScaling::ScalableTarget" for r in prod["Resources"].values())


@pytest.mark.parametrize(
    ("missing", "message"),
    [("connection_arn", "context connection_arn: the pipeline needs a CodeConnections connection ARN"),
     ("repository", "context repository: the pipeline needs owner/name")],
)  # fmt: skip
def test_the_pipeline_names_what_it_is_missing(artifact_dir: Path, tmp_path: Path, missing: str, message: str) -> None:
    context = {**CDK_JSON_CONTEXT, **PIPELINE_CONTEXT, "artifact_dir": str(artifact_dir)}
    del context[missing]
    with pytest.raises(SettingsError, match=message):
        compose(cdk.App(context=context, outdir=str(tmp_path)))
