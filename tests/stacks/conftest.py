"""Session-scoped synthesized templates: each variant is synthesized once for the whole suite."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

import aws_cdk as cdk
from aws_cdk.assertions import Template

from stacks.composition import compose
from tests.conftest import REPO_ROOT

KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
TOPIC_ARN = "arn:aws:sns:us-east-1:123456789012:ops-alerts"
SUBNETS = "subnet-0123456789abcdef0,subnet-0fedcba9876543210"
SECURITY_GROUP = "sg-0123456789abcdef0"

CHALLENGER_BUILD = "<the challenger build>"  # synthesize() puts the session's challenger build here

VARIANTS: dict[str, dict[str, Any]] = {
    "default": {},
    "serverless": {"serverless_memory_mb": "2048", "serverless_max_concurrency": "5", "deployment_policy": "canary"},
    "all-options": {
        "endpoint_name": "kmeans-prod",
        "instance_type": "ml.c5.xlarge",
        "instance_count": "2",
        "kms_key_arn": KEY_ARN,
        "subnet_ids": SUBNETS,
        "security_group_ids": SECURITY_GROUP,
        "data_capture": "true",
        "data_capture_sampling_percent": "20",
        "autoscaling_min": "2",
        "autoscaling_max": "6",
        "autoscaling_target_invocations": "750",
        "deployment_policy": "linear",
        "deployment_step_percent": "25",
        "deployment_wait_seconds": "120",
        "alarm_topic_arn": TOPIC_ARN,
        "log_retention_days": "90",
        "tags": '{"team": "ml-platform", "cost-center": "42"}',
        "training": "true",
    },
    "challenger": {
        "challenger_artifact_dir": CHALLENGER_BUILD,
        "challenger_weight": "20",
        "instance_count": "2",
        "autoscaling_min": "2",
        "autoscaling_max": "4",
    },
    "shadow": {"shadow_artifact_dir": CHALLENGER_BUILD, "data_capture": "true", "scoring": "true", "training": "true"},
    "drift": {
        "data_capture": "true",
        "drift_monitoring": "true",
        "drift_schedule": "rate(30 minutes)",
        "alarm_topic_arn": TOPIC_ARN,
        "shadow_artifact_dir": CHALLENGER_BUILD,
    },
    "async": {
        "async_inference": "true",
        "autoscaling_min": "0",
        "autoscaling_max": "3",
        "async_max_concurrent_invocations": "8",
        "async_success_topic_arn": TOPIC_ARN,
    },
}


@dataclass(frozen=True)
class Synthesized:
    template: Template
    path: Path

    @property
    def body(self) -> dict[str, Any]:
        return dict(self.template.to_json())

    def resources(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {name: dict(body) for name, body in self.template.find_resources(resource_type).items()}


CDK_JSON_CONTEXT: dict[str, Any] = json.loads((REPO_ROOT / "cdk.json").read_text())["context"]


def synthesize(
    artifact_dir: Path, outdir: Path, context: dict[str, Any], challenger_dir: Path | None = None
) -> Synthesized:
    """Synthesize the app as `cdk synth` would (cdk.json's context and flags, cdk-nag; raises on findings)."""
    context = {key: str(challenger_dir) if value == CHALLENGER_BUILD else value for key, value in context.items()}
    full_context = {**CDK_JSON_CONTEXT, "artifact_dir": str(artifact_dir), **context}
    app = cdk.App(context=full_context, outdir=str(outdir))
    stack = compose(app)
    app.synth()
    path = outdir / f"{stack.artifact_id}.template.json"
    return Synthesized(template=Template.from_json(json.loads(path.read_text())), path=path)


@pytest.fixture(scope="session")
def synthesized(
    artifact_dir: Path, challenger_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Synthesized]:
    return {
        name: synthesize(artifact_dir, tmp_path_factory.mktemp(f"cdk-{name}"), context, challenger_dir)
        for name, context in VARIANTS.items()
    }


@pytest.fixture(scope="session")
def asynchronous(synthesized: dict[str, Synthesized]) -> Synthesized:
    return synthesized["async"]


@pytest.fixture(scope="session")
def with_shadow(synthesized: dict[str, Synthesized]) -> Synthesized:
    return synthesized["shadow"]


@pytest.fixture(scope="session")
def with_challenger(synthesized: dict[str, Synthesized]) -> Synthesized:
    return synthesized["challenger"]


@pytest.fixture(scope="session")
def default(synthesized: dict[str, Synthesized]) -> Synthesized:
    return synthesized["default"]


@pytest.fixture(scope="session")
def all_options(synthesized: dict[str, Synthesized]) -> Synthesized:
    return synthesized["all-options"]


@pytest.fixture(scope="session")
def serverless(synthesized: dict[str, Synthesized]) -> Synthesized:
    return synthesized["serverless"]


PIPELINE_CONTEXT = {
    "pipeline": "true",
    "connection_arn": "arn:aws:codeconnections:us-east-1:123456789012:connection/abcd-1234",
    "repository": "acme/kmeans-byom",
    "branch": "main",
}


@pytest.fixture(scope="session")
def pipeline(artifact_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return synthesize(artifact_dir, tmp_path_factory.mktemp("cdk-pipeline"), PIPELINE_CONTEXT)


@pytest.fixture(scope="session")
def github_oidc(artifact_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    context = {"github_repository": "acme/kmeans-byom"}
    return synthesize(artifact_dir, tmp_path_factory.mktemp("cdk-github"), context)
