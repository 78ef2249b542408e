"""Settings: context strings and JSON values parse; bad values and impossible combinations name the key."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from stacks.settings import Settings, SettingsError, settings_from_context


def parse(**context: Any) -> Settings:
    return settings_from_context(context, check_artifact=False)


def test_defaults_are_a_single_large_instance_all_at_once() -> None:
    settings = parse()
    assert (settings.instance_type, settings.instance_count, settings.variant_name) == ("ml.m5.large", 1, "AllTraffic")
    assert (settings.serverless, settings.autoscaling, settings.isolated) == (False, False, True)
    assert settings.resolved_endpoint_name("KMeansEndpoint") == "KMeansEndpoint"


def test_cli_strings_and_cdk_json_values_parse_alike() -> None:
    group = {"security_group_ids": "sg-01234567"}
    from_cli = parse(instance_count="3", data_capture="true", subnet_ids="subnet-01234567,subnet-89abcdef", **group)
    from_json = parse(instance_count=3, data_capture=True, subnet_ids=["subnet-01234567", "subnet-89abcdef"], **group)
    assert from_cli == from_json
    assert from_cli.subnet_ids == ("subnet-01234567", "subnet-89abcdef")


def test_updates_are_guarded_unless_the_deploy_adds_or_removes_a_variant() -> None:
    assert parse().deployment.guarded
    assert not parse(variant_change="true", shadow_artifact_dir="build-b", data_capture="true").deployment.guarded


def test_an_asynchronous_endpoint_is_named_apart_so_switching_replaces_it() -> None:
    assert parse(async_inference="true").resolved_endpoint_name("KMeansEndpoint") == "KMeansEndpoint-async"
    assert parse(async_inference="true", endpoint_name="mine").resolved_endpoint_name("KMeansEndpoint") == "mine"


def test_tags_parse_from_json_text() -> None:
    assert parse(tags='{"team": "ml"}').tags == {"team": "ml"}


def test_serverless_turns_network_isolation_off_by_default() -> None:
    settings = parse(serverless_memory_mb="2048", serverless_max_concurrency="10")
    assert settings.serverless
    assert not settings.isolated


@pytest.mark.parametrize(
    ("instance_type", "allowed"),
    [
        ("ml.m5.large", True),
        ("ml.c5.xlarge", True),
        ("ml.inf2.xlarge", True),
        ("ml.m5d.large", False),
        ("ml.g4dn.xlarge", False),
        *(
            (t, False)
            for t in ("ml.g6.xlarge", "ml.g6e.xlarge", "ml.p5.48xlarge", "ml.trn1.2xlarge", "ml.trn1n.32xlarge")
        ),
    ],
)
def test_volume_key_is_refused_only_for_local_storage_types(instance_type: str, allowed: bool) -> None:
    assert parse(instance_type=instance_type).volume_key_allowed is allowed


BAD_VALUES: list[tuple[dict[str, Any], str]] = [
    ({"instance_count": "two"}, "context instance_count: expected an integer, got 'two'"),
    ({"instance_count": "0"}, "context instance_count: 0 is outside 1..100"),
    ({"instance_type": "m5.large"}, "context instance_type: 'm5.large' is not a SageMaker real-time instance type"),
    (
        {"instance_type": "ml.m5.lage"},
        "context instance_type: 'ml.m5.lage' is not a SageMaker real-time instance type; did you mean ml.m5.large",
    ),
    ({"data_capture": "yes"}, "context data_capture: expected true or false, got 'yes'"),
    ({"variant_change": "yes"}, "context variant_change: expected true or false, got 'yes'"),
    (
        {"deployment_policy": "rolling"},
        "context deployment_policy: 'rolling' is not one of all-at-once, canary, linear",
    ),
    (
        {"deployment_policy": "canary", "instance_count": "2", "deployment_step_percent": "51"},
        "context deployment_step_percent: 51 is outside 1..50",
    ),
    (
        {"deployment_policy": "linear", "instance_count": "2", "deployment_step_percent": "9"},
        "context deployment_step_percent: 9 is outside 10..50",
    ),
    (
        {"deployment_policy": "linear", "instance_count": "2", "deployment_step_percent": "60"},
        "context deployment_step_percent: 60 is outside 10..50",
    ),
    ({"log_retention_days": "10"}, "context log_retention_days: 10 is not one of 1, 3, 5, 7"),
    ({"endpoint_name": "bad_name"}, "context endpoint_name: 'bad_name' is not 1-63 letters, digits or hyphens"),
    ({"variant_name": "x" * 64}, "context variant_name:"),
    ({"kms_key_arn": "alias/mine"}, "context kms_key_arn: 'alias/mine' is not a KMS key ARN"),
    ({"alarm_topic_arn": "ops"}, "context alarm_topic_arn: 'ops' is not an SNS topic ARN"),
    ({"subnet_ids": "subnet-01234567"}, "context subnet_ids and security_group_ids: a VPC endpoint needs both"),
    ({"subnet_ids": "net-1", "security_group_ids": "sg-01234567"}, "context subnet_ids: 'net-1' is not a subnet id"),
    ({"tags": "team=ml"}, "context tags: expected a JSON object"),
    ({"tags": {"team": 1}}, "context tags: expected an object of string keys to string values"),
    ({"data_capture_sampling_percent": "0"}, "context data_capture_sampling_percent: 0 is outside 1..100"),
    ({"autoscaling_min": "3", "autoscaling_max": "2"}, "context autoscaling_max: 2 is below autoscaling_min 3"),
    ({"instance_typ": "ml.m5.large"}, "context instance_typ: unknown setting; did you mean instance_type?"),
    ({"alarm_model_latency_ms": "0"}, "context alarm_model_latency_ms: 0 is outside 1..60000"),
]

IMPOSSIBLE: list[tuple[dict[str, Any], str]] = [
    (
        {"deployment_policy": "canary"},
        "context deployment_policy: canary shifts traffic between instances, but the fleet can be 1 instance",
    ),
    (
        {"deployment_policy": "linear", "instance_count": "2", "autoscaling_min": "1", "autoscaling_max": "3"},
        "context deployment_policy: linear shifts traffic between instances",
    ),
    (
        {
            "deployment_policy": "linear",
            "instance_count": "2",
            "deployment_step_percent": "10",
            "deployment_wait_seconds": "3000",
        },
        "10 shift(s) x 3000 s + termination wait + 600 s provisioning = 30900 s, over the 28800 s",
    ),
    ({"autoscaling_max": "3", "instance_type": "ml.t2.medium"}, "context instance_type: ml.t2.medium is burstable"),
    ({"autoscaling_min": "2", "autoscaling_max": "4"}, "context instance_count: 1 must lie within"),
    ({"serverless_memory_mb": "2048"}, "set both for serverless"),
    ({"serverless_memory_mb": "1000", "serverless_max_concurrency": "5"}, "serverless_memory_mb: 1000 is not one of"),
    (
        {"serverless_max_concurrency": "500", "serverless_memory_mb": "2048"},
        "serverless_max_concurrency: 500 is outside",
    ),
]
SERVERLESS = {"serverless_memory_mb": "2048", "serverless_max_concurrency": "5"}
SERVERLESS_CONFLICTS = [
    {"subnet_ids": "subnet-01234567", "security_group_ids": "sg-01234567"},
    {"network_isolation": "true"},
    {"data_capture": "true"},
    {"autoscaling_max": "3"},
]


@pytest.mark.parametrize(("context", "message"), BAD_VALUES + IMPOSSIBLE)
def test_bad_values_fail_naming_the_key_and_what_is_allowed(context: dict[str, Any], message: str) -> None:
    with pytest.raises(SettingsError) as raised:
        parse(**context)
    assert message in str(raised.value)
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize("conflict", SERVERLESS_CONFLICTS, ids=lambda c: next(iter(c)))
def test_serverless_refuses_what_it_cannot_do(conflict: dict[str, str]) -> None:
    with pytest.raises(SettingsError, match=f"context {next(iter(conflict))}: serverless endpoints"):
        parse(**SERVERLESS, **conflict)


def test_cdk_context_keys_are_not_taken_for_typos() -> None:
    settings = parse(**{"@aws-cdk/core:newStyleStackSynthesis": True, "aws-cdk:enableDiffNoFail": "true"})
    assert settings == Settings()


def test_a_missing_artifact_names_the_command_that_builds_it(tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as raised:
        settings_from_context({"artifact_dir": str(tmp_path)})
    assert str(raised.value) == (
        f"{tmp_path}/model.tar.gz not found: build the model first with "
        "make build (or: python -m model_build --out DIR)"
    )


def test_the_longest_deployment_aws_allows_is_accepted() -> None:
    settings = parse(deployment_policy="linear", instance_count="2", deployment_step_percent="10",
                     deployment_wait_seconds="2700", deployment_termination_wait_seconds="1200")  # fmt: skip
    assert settings.deployment.needed_seconds == 28_800


@pytest.mark.parametrize(
    ("context", "message"),
    [
        ({"challenger_weight": "0"}, "context challenger_weight: 0 is outside 1..99"),
        ({"challenger_weight": "100"}, "context challenger_weight: 100 is outside 1..99"),
        (
            {"challenger_artifact_dir": "b", "variant_name": "Challenger"},
            "context variant_name: Challenger is the challenger's variant name",
        ),
    ],
)
def test_bad_challenger_settings_are_refused(context: dict[str, Any], message: str) -> None:
    with pytest.raises(SettingsError, match=re.escape(message)):
        settings_from_context(context, check_artifact=False)


def test_a_missing_challenger_build_names_its_folder(artifact_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=re.escape(f"{tmp_path / 'nope'}/manifest.json: not a usable build")):
        settings_from_context({"artifact_dir": str(artifact_dir), "challenger_artifact_dir": str(tmp_path / "nope")})


@pytest.mark.parametrize(
    ("context", "message"),
    [
        (
            {"shadow_artifact_dir": "s", "data_capture": "true", "challenger_artifact_dir": "c"},
            "context shadow_artifact_dir with challenger_artifact_dir: an endpoint with a shadow takes one production",
        ),
        (
            {"shadow_artifact_dir": "s", "data_capture": "false"},
            "context shadow_artifact_dir with data_capture: set data_capture=true",
        ),
        (
            {"shadow_artifact_dir": "s", "serverless_memory_mb": "2048", "serverless_max_concurrency": "5"},
            "context shadow_artifact_dir with serverless_memory_mb: serverless endpoints cannot have shadow variants",
        ),
    ],
)
def test_shadow_combinations_aws_or_the_stack_cannot_serve_are_refused(context: dict[str, Any], message: str) -> None:
    with pytest.raises(SettingsError, match=re.escape(message)):
        settings_from_context(context, check_artifact=False)


@pytest.mark.parametrize(
    ("key", "extra"), [("challenger_artifact_dir", {}), ("shadow_artifact_dir", {"data_capture": "true"})]
)
def test_a_candidate_of_another_width_is_refused_at_synth(
    artifact_dir: Path, tmp_path: Path, key: str, extra: dict[str, str]
) -> None:
    from model_build.cli import main

    centroids = tmp_path / "narrow.npy"
    np.save(centroids, np.ones((3, 5), dtype=np.float32))
    assert main(["--centroids", str(centroids), "--out", str(tmp_path / "narrow")]) == 0
    context = {"artifact_dir": str(artifact_dir), key: str(tmp_path / "narrow"), **extra}

    with pytest.raises(SettingsError, match=rf"context {key}: .* has 5 features, the production build"):
        settings_from_context(context)


@pytest.mark.parametrize(
    ("context", "message"),
    [
        ({"autoscaling_min": "0", "autoscaling_max": "2"}, "context autoscaling_min: 0 is outside 1..100"),
        (
            {"async_inference": "true", "serverless_memory_mb": "2048", "serverless_max_concurrency": "5"},
            "context async_inference with serverless_memory_mb: asynchronous endpoints take one instance-based",
        ),
        (
            {"async_inference": "true", "challenger_artifact_dir": "b"},
            "context async_inference with challenger_artifact_dir",
        ),
        ({"async_inference": "true", "async_error_topic_arn": "oops"}, "context async_error_topic_arn: 'oops' is not"),
    ],
)
def test_async_combinations_aws_refuses_are_refused(context: dict[str, Any], message: str) -> None:
    with pytest.raises(SettingsError, match=re.escape(message)):
        settings_from_context(context, check_artifact=False)


def test_only_an_async_endpoint_may_scale_to_zero() -> None:
    settings = settings_from_context(
        {"async_inference": "true", "autoscaling_min": "0", "autoscaling_max": "2"}, check_artifact=False
    )

    assert settings.scaling is not None
    assert settings.scaling.min_capacity == 0
    assert settings.scoring_enabled
