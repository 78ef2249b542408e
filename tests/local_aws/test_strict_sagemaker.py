"""The strict local AWS refuses, fails and denies what AWS does (README: "What the local AWS enforces").

Each test names its rule; `LOCAL_AWS_RELAX=<rule>` on the local AWS makes that test fail.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from botocore.exceptions import ClientError

from model_build import ndarray
from model_build.packaging import package_model
from tests.conftest import RunningLocalAws
from tests.local_aws.strict_account import ACCOUNT, StrictAccount, allow, hosting_statements, unique

KMS_KEY = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"


@pytest.fixture(scope="module")
def account(local_aws: RunningLocalAws, artifact_dir: Path) -> StrictAccount:
    bucket = unique("artifacts")
    s3 = local_aws.client("s3")
    s3.create_bucket(Bucket=bucket)
    objects = {
        "good.tar.gz": (artifact_dir / "model.tar.gz").read_bytes(),
        "not-a-tar.gz": b"this is not a gzip-compressed tar archive",
        "float64.tar.gz": package_model(ndarray.encode([np.zeros((3, 4), dtype=np.float64)])),
    }
    for key, body in objects.items():
        s3.put_object(Bucket=bucket, Key=key, Body=body)
    return StrictAccount(local_aws, bucket)


def refused(call: Any, **kwargs: Any) -> str:
    with pytest.raises(ClientError) as raised:
        call(**kwargs)
    error = raised.value.response["Error"]
    return f"{error['Code']}: {error['Message']}"


def blue_green(routing: dict[str, Any], **policy: Any) -> dict[str, Any]:
    return {"BlueGreenUpdatePolicy": {"TrafficRoutingConfiguration": routing, **policy}}


# --- names and ARNs -------------------------------------------------------------------------------------------


def test_sagemaker_arns_carry_names_in_lower_case(account: StrictAccount) -> None:
    """Rule sagemaker-arn-lower-case."""
    name = account.model(name=unique("MixedCaseModel"))

    arn = account.client("sagemaker").describe_model(ModelName=name)["ModelArn"]

    assert arn == f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:model/{name.lower()}"


def test_cloudformation_names_sagemaker_resources_by_logical_id_without_the_stack_name(
    account: StrictAccount,
) -> None:
    """Rule cfn-sagemaker-names (aws-cli#4021)."""
    model = {
        "Type": "AWS::SageMaker::Model",
        "Properties": {
            "ExecutionRoleArn": account.role(hosting_statements(account.bucket)),
            "PrimaryContainer": {"Image": IMAGE_URI, "ModelDataUrl": f"s3://{account.bucket}/good.tar.gz"},
        },
    }
    stack = unique("NamingStack")
    cloudformation = account.client("cloudformation")

    cloudformation.create_stack(StackName=stack, TemplateBody=_template({"KMeansModel": model}))
    (resource,) = cloudformation.list_stack_resources(StackName=stack)["StackResourceSummaries"]
    models = account.client("sagemaker").list_models()["Models"]
    cloudformation.delete_stack(StackName=stack)

    (name,) = [m["ModelName"] for m in models if m["ModelArn"] == resource["PhysicalResourceId"]]
    prefix, suffix = name.rsplit("-", 1)
    assert prefix == "KMeansModel", name
    assert len(suffix) == 12, name
    assert suffix.isalnum(), name
    assert stack.lower() not in name.lower()


IMAGE_URI = "382416733822.dkr.ecr.us-east-1.amazonaws.com/kmeans:1"


def _template(resources: dict[str, Any]) -> str:
    import json

    return json.dumps({"AWSTemplateFormatVersion": "2010-09-09", "Resources": resources})


# --- request validation ---------------------------------------------------------------------------------------


def test_an_instance_type_outside_botocores_list_is_refused(account: StrictAccount) -> None:
    """Rule instance-type-enum; a type newer than moto's own list (ml.g6e) is accepted."""
    model = account.model()

    message = refused(account.config, model=model, instance_type="ml.m5.lage")

    assert message.startswith("ValidationException: 1 validation error detected: Value 'ml.m5.lage'")
    assert "ml.m5.large" in message
    assert account.config(model, instance_type="ml.g6e.xlarge")


@pytest.mark.parametrize("instance_type", ["ml.g6.xlarge", "ml.p5.48xlarge", "ml.trn1.2xlarge", "ml.m5d.large"])
def test_a_kms_key_with_a_local_storage_instance_type_is_refused(account: StrictAccount, instance_type: str) -> None:
    """Rule kms-local-storage (API CreateEndpointConfig, KmsKeyId)."""
    model = account.model()

    message = refused(account.config, model=model, instance_type=instance_type, KmsKeyId=KMS_KEY)

    assert message.startswith(
        f"ValidationException: The KmsKeyId parameter is not supported for instance type {instance_type}"
    )
    assert account.config(model, instance_type="ml.m5.large", KmsKeyId=KMS_KEY)


def test_two_variants_of_one_name_are_refused(account: StrictAccount) -> None:
    """Rule duplicate-variant-names."""
    model = account.model()
    variant = {"VariantName": "Twin", "ModelName": model, "InstanceType": "ml.m5.large", "InitialInstanceCount": 1}

    message = refused(
        account.client("sagemaker").create_endpoint_config,
        EndpointConfigName=unique("config"),
        ProductionVariants=[variant, variant],
    )

    assert "Twin is repeated" in message


def test_a_shadow_variant_takes_exactly_one_instance_based_production_variant(account: StrictAccount) -> None:
    """Rule shadow-variant-limits (developer guide, "Shadow tests")."""
    model, sagemaker = account.model(), account.client("sagemaker")
    instances = {"ModelName": model, "InstanceType": "ml.m5.large", "InitialInstanceCount": 1}
    serverless = {"ModelName": model, "ServerlessConfig": {"MemorySizeInMB": 2048, "MaxConcurrency": 5}}
    shadow = [{**instances, "VariantName": "Shadow"}]

    two_production = refused(
        sagemaker.create_endpoint_config,
        EndpointConfigName=unique("config"),
        ProductionVariants=[{**instances, "VariantName": "A"}, {**instances, "VariantName": "B"}],
        ShadowProductionVariants=shadow,
    )
    beside_serverless = refused(
        sagemaker.create_endpoint_config,
        EndpointConfigName=unique("config"),
        ProductionVariants=[{**serverless, "VariantName": "A"}],
        ShadowProductionVariants=shadow,
    )
    accepted = unique("config")
    sagemaker.create_endpoint_config(
        EndpointConfigName=accepted,
        ProductionVariants=[{**instances, "VariantName": "A"}],
        ShadowProductionVariants=shadow,
    )

    assert "exactly 1 production variant and 1 shadow variant; got 2 and 1" in two_production
    assert "not supported with serverless" in beside_serverless
    described = sagemaker.describe_endpoint_config(EndpointConfigName=accepted)
    assert [v["VariantName"] for v in described["ShadowProductionVariants"]] == ["Shadow"]


def test_serverless_variants_refuse_data_capture_and_rolling_updates(account: StrictAccount) -> None:
    """Rule serverless-exclusions (Serverless Inference feature exclusions; guardrails exclusions)."""
    model, sagemaker = account.model(), account.client("sagemaker")
    serverless = {
        "VariantName": "AllTraffic",
        "ModelName": model,
        "ServerlessConfig": {"MemorySizeInMB": 2048, "MaxConcurrency": 5},
    }
    capture = {
        "EnableCapture": True,
        "InitialSamplingPercentage": 100,
        "DestinationS3Uri": f"s3://{account.bucket}/c",
        "CaptureOptions": [{"CaptureMode": "Input"}],
    }

    capture_refusal = refused(
        sagemaker.create_endpoint_config,
        EndpointConfigName=unique("config"),
        ProductionVariants=[serverless],
        DataCaptureConfig=capture,
    )
    config = unique("config")
    sagemaker.create_endpoint_config(EndpointConfigName=config, ProductionVariants=[serverless])
    rolling = {
        "RollingUpdatePolicy": {
            "MaximumBatchSize": {"Type": "CAPACITY_PERCENT", "Value": 50},
            "WaitIntervalInSeconds": 60,
        }
    }
    rolling_refusal = refused(account.endpoint, config=config, DeploymentConfig=rolling)

    assert "DataCaptureConfig is not supported for serverless" in capture_refusal
    assert "Rolling deployments are not supported for serverless" in rolling_refusal
    assert account.endpoint(config, DeploymentConfig=blue_green({"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 0}))


@pytest.mark.parametrize(
    ("rule", "routing", "refusal"),
    [
        (
            "canary-size",
            {"Type": "CANARY", "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": 51}},
            "between 1% and 50%",
        ),
        (
            "linear-step-size",
            {"Type": "LINEAR", "LinearStepSize": {"Type": "CAPACITY_PERCENT", "Value": 9}},
            "between 10% and 50%",
        ),
        (
            "linear-step-size",
            {"Type": "LINEAR", "LinearStepSize": {"Type": "CAPACITY_PERCENT", "Value": 51}},
            "between 10% and 50%",
        ),
    ],
)
def test_traffic_steps_beyond_aws_limits_are_refused(
    account: StrictAccount, rule: str, routing: dict[str, Any], refusal: str
) -> None:
    """Rules canary-size and linear-step-size (API TrafficRoutingConfig)."""
    config = account.config(account.model(), count=4)
    endpoint = account.endpoint(config)

    message = refused(
        account.client("sagemaker").update_endpoint,
        EndpointName=endpoint["EndpointName"],
        EndpointConfigName=config,
        DeploymentConfig=blue_green({**routing, "WaitIntervalInSeconds": 60}),
    )

    assert refusal in message, rule


def test_a_canary_on_a_one_instance_fleet_is_refused(account: StrictAccount) -> None:
    """Rule canary-size: a 10 % canary of one instance is the whole fleet (rounded up: the worse case)."""
    config = account.config(account.model(), count=1)
    endpoint = account.endpoint(config)
    canary = blue_green(
        {"Type": "CANARY", "WaitIntervalInSeconds": 60, "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": 10}}
    )

    message = refused(
        account.client("sagemaker").update_endpoint,
        EndpointName=endpoint["EndpointName"],
        EndpointConfigName=config,
        DeploymentConfig=canary,
    )

    assert "1 of the fleet's 1 instance(s)" in message


@pytest.mark.parametrize(
    ("rule", "policy", "field"),
    [
        ("wait-intervals", {"TerminationWaitInSeconds": 3601}, "terminationWaitInSeconds"),
        ("execution-timeout", {"MaximumExecutionTimeoutInSeconds": 28_801}, "maximumExecutionTimeoutInSeconds"),
    ],
)
def test_waits_and_timeouts_beyond_aws_limits_are_refused(
    account: StrictAccount, rule: str, policy: dict[str, Any], field: str
) -> None:
    """Rules wait-intervals and execution-timeout (API BlueGreenUpdatePolicy); 28,800 s itself is allowed."""
    config = account.config(account.model())
    routing = {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 0}

    message = refused(account.endpoint, config=config, DeploymentConfig=blue_green(routing, **policy))

    assert f"at 'deploymentConfig.blueGreenUpdatePolicy.{field}' failed to satisfy constraint" in message, rule
    longest = blue_green(routing, MaximumExecutionTimeoutInSeconds=28_800)
    assert account.endpoint(config, DeploymentConfig=longest)["EndpointStatus"] == "InService"


# --- provisioning: the endpoint goes Failed, as SageMaker's instances would -------------------------------------


@pytest.mark.parametrize(
    ("rule", "dropped", "reason"),
    [
        ("execution-role-artifact", 0, "Could not access model data at s3://"),
        ("execution-role-image", 2, "cannot pull image"),
        ("execution-role-logs", 3, "cannot write the endpoint's logs"),
    ],
)
def test_an_execution_role_missing_a_grant_fails_the_endpoint(
    account: StrictAccount, rule: str, dropped: int, reason: str
) -> None:
    """Rules execution-role-artifact, -image and -logs."""
    statements = hosting_statements(account.bucket)
    del statements[dropped]

    endpoint = account.endpoint(account.config(account.model(account.role(statements))))

    assert endpoint["EndpointStatus"] == "Failed", rule
    assert reason in endpoint["FailureReason"]


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        ("not-a-tar.gz", "Failed to extract model data archive from URL"),
        ("float64.tar.gz", "did not pass the ping health check"),
        ("missing.tar.gz", "Could not find model data at"),
    ],
)
def test_a_model_the_container_cannot_load_fails_the_endpoint(account: StrictAccount, key: str, reason: str) -> None:
    """Rule model-health-check: at deploy, not at the first invocation."""
    endpoint = account.endpoint(account.config(account.model(key=key)))

    assert endpoint["EndpointStatus"] == "Failed"
    assert reason in endpoint["FailureReason"]


def test_auto_rollback_needs_describe_alarms_on_update_not_on_create(account: StrictAccount) -> None:
    """Rule execution-role-alarms (deployment guardrails: auto-rollback configuration)."""
    alarm = unique("rollback-alarm")
    rollback = {"AutoRollbackConfiguration": {"Alarms": [{"AlarmName": alarm}]}}
    deployment = {**blue_green({"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 60}), **rollback}
    without = account.config(account.model())
    with_grant = account.role(
        [
            *hosting_statements(account.bucket),
            allow(["cloudwatch:DescribeAlarms"], [f"arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm:{alarm}"]),
        ]
    )
    sagemaker = account.client("sagemaker")

    created = account.endpoint(without, DeploymentConfig=deployment)
    sagemaker.update_endpoint(
        EndpointName=created["EndpointName"], EndpointConfigName=without, DeploymentConfig=deployment
    )
    denied = sagemaker.describe_endpoint(EndpointName=created["EndpointName"])
    granted = account.config(account.model(with_grant))
    sagemaker.update_endpoint(
        EndpointName=created["EndpointName"], EndpointConfigName=granted, DeploymentConfig=deployment
    )
    updated = sagemaker.describe_endpoint(EndpointName=created["EndpointName"])

    assert created["EndpointStatus"] == "InService"
    assert "cloudwatch:DescribeAlarms" in denied["FailureReason"]
    assert updated["EndpointConfigName"] == granted
    assert "FailureReason" not in updated


def test_a_failed_update_leaves_the_old_config_serving(account: StrictAccount) -> None:
    """Rule model-health-check on update: SageMaker rolls back to the old config, with a FailureReason."""
    good = account.config(account.model())
    broken = account.config(account.model(key="not-a-tar.gz"))
    endpoint = account.endpoint(good)["EndpointName"]
    sagemaker = account.client("sagemaker")

    sagemaker.update_endpoint(EndpointName=endpoint, EndpointConfigName=broken)
    described = sagemaker.describe_endpoint(EndpointName=endpoint)

    assert (described["EndpointStatus"], described["EndpointConfigName"]) == ("InService", good)
    assert "Failed to extract model data archive" in described["FailureReason"]


# --- UpdateEndpoint's variant properties and autoscaling ---------------------------------------------------------


def _scale_to(account: StrictAccount, endpoint: str, count: int) -> None:
    """What Application Auto Scaling does to a variant."""
    capacities = [{"VariantName": "AllTraffic", "DesiredInstanceCount": count, "DesiredWeight": 1.0}]
    account.client("sagemaker").update_endpoint_weights_and_capacities(
        EndpointName=endpoint, DesiredWeightsAndCapacities=capacities
    )


def _instance_count(account: StrictAccount, endpoint: str) -> int:
    (variant,) = account.client("sagemaker").describe_endpoint(EndpointName=endpoint)["ProductionVariants"]
    return int(variant["CurrentInstanceCount"])


@pytest.mark.parametrize(
    ("retention", "expected"),
    [
        ({}, 2),
        ({"RetainAllVariantProperties": True}, 5),
        (
            {
                "RetainAllVariantProperties": True,
                "ExcludeRetainedVariantProperties": [{"VariantPropertyType": "DesiredInstanceCount"}],
            },
            2,
        ),
    ],
)
def test_an_update_resets_scaled_capacity_unless_it_is_retained(
    account: StrictAccount, retention: dict[str, Any], expected: int
) -> None:
    """Rule retain-variant-properties (API UpdateEndpoint; aws-cdk#23151)."""
    model = account.model()
    endpoint = account.endpoint(account.config(model, count=2))["EndpointName"]
    _scale_to(account, endpoint, 5)

    account.client("sagemaker").update_endpoint(
        EndpointName=endpoint, EndpointConfigName=account.config(model, count=2), **retention
    )

    assert _instance_count(account, endpoint) == expected


def test_changing_the_instance_type_of_an_autoscaled_variant_fails(account: StrictAccount) -> None:
    """Rule autoscaled-instance-type (docs: update an endpoint that uses automatic scaling)."""
    model = account.model()
    endpoint = account.endpoint(account.config(model, count=2))["EndpointName"]
    account.client("application-autoscaling").register_scalable_target(
        ServiceNamespace="sagemaker",
        ResourceId=f"endpoint/{endpoint}/variant/AllTraffic",
        ScalableDimension="sagemaker:variant:DesiredInstanceCount",
        MinCapacity=2,
        MaxCapacity=4,
    )

    message = refused(
        account.client("sagemaker").update_endpoint,
        EndpointName=endpoint,
        EndpointConfigName=account.config(model, instance_type="ml.c5.xlarge", count=2),
    )

    assert "registered as an Application Auto Scaling target" in message
    assert account.client("sagemaker").update_endpoint(
        EndpointName=endpoint, EndpointConfigName=account.config(model, count=2)
    )


def _variants_config(account: StrictAccount, model: str, names: tuple[str, ...], **extra: Any) -> str:
    """An EndpointConfig serving `model` under each of `names`, traffic shared evenly."""
    name = unique("config")
    variants = [
        {"VariantName": variant, "ModelName": model, "InstanceType": "ml.m5.large", "InitialInstanceCount": 2}
        | {"InitialVariantWeight": 1.0}
        for variant in names
    ]
    account.client("sagemaker").create_endpoint_config(EndpointConfigName=name, ProductionVariants=variants, **extra)
    return name


def test_removing_an_autoscaled_variant_fails(account: StrictAccount) -> None:
    """Rule autoscaled-variant-removal (docs: update endpoints that use auto scaling, "remove a production variant
    that is configured for auto scaling")."""
    model = account.model()
    endpoint = account.endpoint(_variants_config(account, model, ("AllTraffic", "Challenger")))["EndpointName"]
    target = {
        "ServiceNamespace": "sagemaker",
        "ResourceId": f"endpoint/{endpoint}/variant/Challenger",
        "ScalableDimension": "sagemaker:variant:DesiredInstanceCount",
    }
    autoscaling = account.client("application-autoscaling")
    autoscaling.register_scalable_target(**target, MinCapacity=2, MaxCapacity=4)
    production_only = _variants_config(account, model, ("AllTraffic",))

    message = refused(
        account.client("sagemaker").update_endpoint, EndpointName=endpoint, EndpointConfigName=production_only
    )
    autoscaling.deregister_scalable_target(**target)

    assert message.startswith("ValidationException: The update would remove variant Challenger")
    assert "registered as an Application Auto Scaling target" in message
    assert account.client("sagemaker").update_endpoint(EndpointName=endpoint, EndpointConfigName=production_only)


def _async_config(account: StrictAccount) -> dict[str, Any]:
    output = {"S3OutputPath": f"s3://{account.bucket}/async/", "S3FailurePath": f"s3://{account.bucket}/failures/"}
    return {"AsyncInferenceConfig": {"OutputConfig": output}}


def test_an_endpoint_cannot_switch_between_real_time_and_asynchronous_in_place(account: StrictAccount) -> None:
    """Rule async-inference-in-place (sagemaker-python-sdk#3124 quotes the removal; the addition, undocumented, is
    refused as the worse case)."""
    model = account.model()
    sagemaker = account.client("sagemaker")
    real_time = account.endpoint(account.config(model))["EndpointName"]
    asynchronous = account.endpoint(account.config(model, **_async_config(account)))["EndpointName"]

    added = refused(
        sagemaker.update_endpoint, EndpointName=real_time,
        EndpointConfigName=account.config(model, **_async_config(account)),
    )  # fmt: skip
    removed = refused(sagemaker.update_endpoint, EndpointName=asynchronous, EndpointConfigName=account.config(model))

    assert added == (
        f"ValidationException: The AsyncInferenceConfig parameter cannot be added to this endpoint {real_time}."
    )
    assert removed == (
        f"ValidationException: The AsyncInferenceConfig parameter cannot be removed from this endpoint {asynchronous}."
    )
    assert sagemaker.describe_endpoint(EndpointName=real_time)["EndpointStatus"] == "InService"


def test_a_guarded_update_keeps_the_variant_names(account: StrictAccount) -> None:
    """Rule guardrails-variant-names (docs: deployment guardrails, Exclusions): with a DeploymentConfig the new
    config has the old one's variants; without one (SageMaker's default update) a variant may come or go."""
    model = account.model()
    sagemaker = account.client("sagemaker")
    endpoint = account.endpoint(_variants_config(account, model, ("AllTraffic",)))["EndpointName"]
    with_challenger = _variants_config(account, model, ("AllTraffic", "Challenger"))
    guarded = blue_green({"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 0})

    message = refused(
        sagemaker.update_endpoint, EndpointName=endpoint, EndpointConfigName=with_challenger, DeploymentConfig=guarded
    )

    assert message.startswith(
        "ValidationException: When doing a blue/green or rolling deployment, your new endpoint configuration must "
        "have the same variant name as the old endpoint configuration"
    )
    assert sagemaker.update_endpoint(EndpointName=endpoint, EndpointConfigName=with_challenger)


def test_an_execution_timeout_shorter_than_the_waits_is_refused(account: StrictAccount) -> None:
    """Rule execution-timeout-covers-waits (API BlueGreenUpdatePolicy, MaximumExecutionTimeoutInSeconds)."""
    config = account.config(account.model(), count=10)
    endpoint = account.endpoint(config)["EndpointName"]
    linear = {
        "Type": "LINEAR",
        "WaitIntervalInSeconds": 2000,
        "LinearStepSize": {"Type": "CAPACITY_PERCENT", "Value": 10},
    }

    message = refused(
        account.client("sagemaker").update_endpoint,
        EndpointName=endpoint,
        EndpointConfigName=config,
        DeploymentConfig=blue_green(linear, TerminationWaitInSeconds=300, MaximumExecutionTimeoutInSeconds=14_400),
    )

    assert "must be larger than the total waiting time of the deployment (10 x WaitIntervalInSeconds" in message
    assert "= 20300 s" in message
