"""What the synthesized endpoint stack promises, asserted on the template, by intent."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from aws_cdk.assertions import Match

from aws_facts.kmeans_image import KMEANS_ACCOUNTS
from tests.stacks.conftest import CHALLENGER_BUILD, KEY_ARN, SECURITY_GROUP, TOPIC_ARN, Synthesized, synthesize


def only(resources: dict[str, dict[str, Any]]) -> dict[str, Any]:
    assert len(resources) == 1, list(resources)
    return next(iter(resources.values()))


def policy_statements(stack: Synthesized) -> dict[str, dict[str, Any]]:
    """The execution role's statements by sid (the training role's and the drift monitor's roles are apart)."""
    policies = stack.resources("AWS::IAM::ManagedPolicy")
    policy = only({name: body for name, body in policies.items() if name.startswith("ExecutionRole")})
    return {statement["Sid"]: statement for statement in policy["Properties"]["PolicyDocument"]["Statement"]}


def actions(statement: dict[str, Any]) -> set[str]:
    found = statement["Action"]
    return {found} if isinstance(found, str) else set(found)


def logical_id(stack: Synthesized, resource_type: str) -> str:
    (found,) = stack.resources(resource_type)
    return found


# Model and image


def test_image_account_and_domain_come_from_a_region_mapping(default: Synthesized) -> None:
    image = only(default.resources("AWS::SageMaker::Model"))["Properties"]["PrimaryContainer"]["Image"]
    joined = image["Fn::Join"][1]
    assert {"Fn::FindInMap": ["KMeansImageByRegion", {"Ref": "AWS::Region"}, "account"]} in joined
    assert {"Fn::FindInMap": ["KMeansImageByRegion", {"Ref": "AWS::Region"}, "domain"]} in joined
    assert joined[-1] == "/kmeans:1"


def test_mapping_covers_every_region_with_its_partition_domain(default: Synthesized) -> None:
    mapping = default.body["Mappings"]["KMeansImageByRegion"]
    assert set(mapping) == set(KMEANS_ACCOUNTS)
    assert mapping["ap-northeast-3"] == {"account": "867004704886", "domain": "amazonaws.com"}
    assert mapping["cn-north-1"]["domain"] == "amazonaws.com.cn"
    assert mapping["us-iso-east-1"]["domain"] == "c2s.ic.gov"
    assert mapping["us-isob-east-1"]["domain"] == "sc2s.sgov.gov"
    assert mapping["us-isof-south-1"]["domain"] == "csp.hci.ic.gov"
    assert mapping["us-gov-west-1"] == {"account": "226302683700", "domain": "amazonaws.com"}


def test_an_unsupported_region_is_refused_with_a_clear_message(default: Synthesized) -> None:
    rule = default.body["Rules"]["RegionHasKMeansImage"]["Assertions"][0]
    assert rule["Assert"]["Fn::Contains"][1] == {"Ref": "AWS::Region"}
    assert sorted(rule["Assert"]["Fn::Contains"][0]) == sorted(KMEANS_ACCOUNTS)
    assert "not published in this region" in rule["AssertDescription"]


def test_model_is_network_isolated_and_unnamed(default: Synthesized) -> None:
    default.template.resource_count_is("AWS::SageMaker::Model", 1)
    default.template.has_resource_properties(
        "AWS::SageMaker::Model",
        {"EnableNetworkIsolation": True, "ModelName": Match.absent(), "VpcConfig": Match.absent()},
    )


def test_model_serves_the_asset_and_waits_for_the_role_policy(default: Synthesized) -> None:
    model = only(default.resources("AWS::SageMaker::Model"))
    url = model["Properties"]["PrimaryContainer"]["ModelDataUrl"]["Fn::Sub"]
    assert url.startswith("s3://cdk-hnb659fds-assets-${AWS::AccountId}-${AWS::Region}/")
    assert url.endswith(".gz")
    assert logical_id(default, "AWS::IAM::ManagedPolicy") in model["DependsOn"]


# Endpoint config and endpoint


def test_endpoint_config_is_unnamed_encrypted_and_sized_by_default(default: Synthesized) -> None:
    default.template.has_resource_properties(
        "AWS::SageMaker::EndpointConfig",
        {
            "KmsKeyId": {"Fn::GetAtt": [logical_id(default, "AWS::KMS::Key"), "Arn"]},
            "ProductionVariants": [
                Match.object_like(
                    {"InstanceType": "ml.m5.large", "InitialInstanceCount": 1, "VariantName": "AllTraffic"}
                )
            ],
        },
    )
    assert "EndpointConfigName" not in only(default.resources("AWS::SageMaker::EndpointConfig"))["Properties"]


def test_endpoint_has_the_stable_stack_derived_name(default: Synthesized) -> None:
    default.template.has_resource_properties("AWS::SageMaker::Endpoint", {"EndpointName": "KMeansEndpoint"})


def test_endpoint_name_can_be_set(all_options: Synthesized) -> None:
    all_options.template.has_resource_properties("AWS::SageMaker::Endpoint", {"EndpointName": "kmeans-prod"})


def test_updates_are_blue_green_and_roll_back_on_both_alarms(default: Synthesized) -> None:
    config = only(default.resources("AWS::SageMaker::Endpoint"))["Properties"]["DeploymentConfig"]
    policy = config["BlueGreenUpdatePolicy"]
    assert policy["TrafficRoutingConfiguration"] == {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 300}
    assert policy["TerminationWaitInSeconds"] == 300
    assert policy["MaximumExecutionTimeoutInSeconds"] == 300 + 300 + 600
    alarm_ids = set(default.resources("AWS::CloudWatch::Alarm"))
    rollback = {alarm["AlarmName"]["Ref"] for alarm in config["AutoRollbackConfiguration"]["Alarms"]}
    assert rollback == alarm_ids


def test_linear_policy_shifts_in_steps_and_allows_time_for_them(all_options: Synthesized) -> None:
    policy = only(all_options.resources("AWS::SageMaker::Endpoint"))["Properties"]["DeploymentConfig"]
    routing = policy["BlueGreenUpdatePolicy"]["TrafficRoutingConfiguration"]
    assert routing == {
        "Type": "LINEAR",
        "WaitIntervalInSeconds": 120,
        "LinearStepSize": {"Type": "CAPACITY_PERCENT", "Value": 25},
    }
    assert policy["BlueGreenUpdatePolicy"]["MaximumExecutionTimeoutInSeconds"] >= 4 * 120 + 300


def test_alarms_watch_5xx_errors_and_p99_model_latency_of_the_variant(default: Synthesized) -> None:
    dimensions = [{"Name": "EndpointName", "Value": "KMeansEndpoint"}, {"Name": "VariantName", "Value": "AllTraffic"}]
    default.template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {"MetricName": "Invocation5XXErrors", "Statistic": "Sum", "Threshold": 1, "Dimensions": dimensions},
    )
    default.template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {"MetricName": "ModelLatency", "ExtendedStatistic": "p99", "Threshold": 1_000_000, "Dimensions": dimensions},
    )


def test_alarms_notify_the_topic_when_given(all_options: Synthesized, default: Synthesized) -> None:
    all_options.template.resource_count_is("AWS::CloudWatch::Alarm", 2)
    notifying = all_options.template.find_resources(
        "AWS::CloudWatch::Alarm", {"Properties": {"AlarmActions": [TOPIC_ARN]}}
    )
    assert len(notifying) == 2
    default.template.resource_count_is("AWS::CloudWatch::Alarm", 2)
    default.template.all_resources_properties("AWS::CloudWatch::Alarm", {"AlarmActions": Match.absent()})


# Role


def test_role_is_assumed_only_by_sagemaker(default: Synthesized) -> None:
    role = only(default.resources("AWS::IAM::Role"))["Properties"]
    (statement,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "sagemaker.amazonaws.com"}
    assert "ManagedPolicyArns" not in role  # no AWS-managed FullAccess policy
    assert "Policies" not in role


def test_role_grants_exactly_what_hosting_needs(default: Synthesized) -> None:
    statements = policy_statements(default)
    assert {sid: actions(statement) for sid, statement in statements.items()} == {
        "ReadModelArtifact": {"s3:GetObject"},
        "PullKMeansImage": {"ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"},
        "GetRegistryToken": {"ecr:GetAuthorizationToken"},
        "WriteEndpointLogs": {"logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"},
        "UseEncryptionKey": {"kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"},
        "PublishEndpointMetrics": {"cloudwatch:PutMetricData"},
        "ReadRollbackAlarms": {"cloudwatch:DescribeAlarms"},
    }


def test_role_reads_exactly_the_rollback_alarms(default: Synthesized) -> None:
    resources = policy_statements(default)["ReadRollbackAlarms"]["Resource"]
    assert {resource["Fn::GetAtt"][0] for resource in resources} == set(default.resources("AWS::CloudWatch::Alarm"))
    assert {resource["Fn::GetAtt"][1] for resource in resources} == {"Arn"}


def test_autoscaled_capacity_is_retained_and_settings_owned_properties_are_not(all_options: Synthesized) -> None:
    properties = only(all_options.resources("AWS::SageMaker::Endpoint"))["Properties"]
    assert properties["RetainAllVariantProperties"] is True
    excluded = {p["VariantPropertyType"] for p in properties["ExcludeRetainedVariantProperties"]}
    assert excluded == {"DesiredWeight", "DataCaptureConfig"}


def test_without_autoscaling_every_deploy_applies_the_settings(default: Synthesized) -> None:
    properties = only(default.resources("AWS::SageMaker::Endpoint"))["Properties"]
    assert "RetainAllVariantProperties" not in properties


def test_generated_names_are_reached_by_the_stack_tag(default: Synthesized) -> None:
    for kind in ("AWS::SageMaker::Model", "AWS::SageMaker::EndpointConfig"):
        tags = only(default.resources(kind))["Properties"]["Tags"]
        assert {"Key": "kmeans-byom:stack", "Value": "KMeansEndpoint"} in tags


def test_role_reads_only_the_artifact_object(default: Synthesized) -> None:
    resource = policy_statements(default)["ReadModelArtifact"]["Resource"]
    joined = resource["Fn::Join"][1]
    assert joined[-1].startswith("/")
    assert joined[-1].endswith(".gz")
    assert "*" not in str(resource)


def test_role_pulls_only_the_regional_kmeans_repository(default: Synthesized) -> None:
    joined = policy_statements(default)["PullKMeansImage"]["Resource"]["Fn::Join"][1]
    assert {"Fn::FindInMap": ["KMeansImageByRegion", {"Ref": "AWS::Region"}, "account"]} in joined
    assert joined[-1] == ":repository/kmeans"


def test_role_writes_only_this_endpoints_log_group(default: Synthesized) -> None:
    resource = policy_statements(default)["WriteEndpointLogs"]["Resource"]
    tails = [one["Fn::Join"][1][-1] for one in (resource if isinstance(resource, list) else [resource])]
    # `:*`, not the bare group ARN: that one applies only to tagging (CloudWatch Logs resources and operations).
    assert tails == [":log-group:/aws/sagemaker/Endpoints/KMeansEndpoint:*"]


def test_metrics_are_limited_to_the_sagemaker_namespace(default: Synthesized) -> None:
    condition = policy_statements(default)["PublishEndpointMetrics"]["Condition"]
    assert condition == {"StringLike": {"cloudwatch:namespace": "/aws/sagemaker/Endpoints*"}}


def test_vpc_permissions_are_scoped_to_the_configured_subnets(all_options: Synthesized) -> None:
    statements = policy_statements(all_options)
    create = statements["CreateInterfaceInSubnets"]["Resource"]
    assert len(create) == 4  # two subnets, one security group, the new interfaces
    managed = statements["ManageInterfacesInSubnets"]
    assert len(managed["Condition"]["ArnEquals"]["ec2:Subnet"]) == 2
    model = only(all_options.resources("AWS::SageMaker::Model"))["Properties"]
    assert model["VpcConfig"]["SecurityGroupIds"] == [SECURITY_GROUP]
    assert len(model["VpcConfig"]["Subnets"]) == 2


# Encryption, logs, destroy


def test_created_key_rotates_and_is_deleted_on_destroy(default: Synthesized) -> None:
    key = only(default.resources("AWS::KMS::Key"))
    assert key["Properties"]["EnableKeyRotation"] is True
    assert key["Properties"]["PendingWindowInDays"] == 7
    assert key["DeletionPolicy"] == "Delete"


def test_a_brought_key_is_used_and_none_is_created(all_options: Synthesized) -> None:
    all_options.template.resource_count_is("AWS::KMS::Key", 0)
    all_options.template.has_resource_properties("AWS::SageMaker::EndpointConfig", {"KmsKeyId": KEY_ARN})


def test_stack_owns_the_endpoint_log_group_and_deletes_it(default: Synthesized) -> None:
    group = only(default.resources("AWS::Logs::LogGroup"))
    assert group["Properties"]["LogGroupName"] == "/aws/sagemaker/Endpoints/KMeansEndpoint"
    assert group["Properties"]["RetentionInDays"] == 30
    assert "KmsKeyId" in group["Properties"]
    assert group["DeletionPolicy"] == "Delete"
    endpoint = only(default.resources("AWS::SageMaker::Endpoint"))
    assert logical_id(default, "AWS::Logs::LogGroup") in endpoint["DependsOn"]


def test_every_stateful_resource_is_removed_on_destroy(all_options: Synthesized) -> None:
    resources = all_options.body["Resources"]
    assert len(resources) > 10
    for resource_id, resource in resources.items():
        assert resource.get("DeletionPolicy", "Delete") == "Delete", resource_id


def test_no_lambda_backed_custom_resources(synthesized: dict[str, Synthesized]) -> None:
    assert set(synthesized) == {"default", "serverless", "all-options", "challenger", "shadow", "async", "drift"}
    for name, stack in synthesized.items():
        types = {resource["Type"] for resource in stack.body["Resources"].values()}
        assert not {t for t in types if t.startswith("Custom::") or t.startswith("AWS::Lambda::")}, name


# Data capture, autoscaling, serverless


def test_data_capture_goes_to_an_encrypted_logged_tls_only_bucket(all_options: Synthesized) -> None:
    all_options.template.has_resource_properties(
        "AWS::SageMaker::EndpointConfig",
        {
            "DataCaptureConfig": Match.object_like(
                {"EnableCapture": True, "InitialSamplingPercentage": 20, "KmsKeyId": KEY_ARN}
            )
        },
    )
    all_options.template.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "BucketEncryption": {
                "ServerSideEncryptionConfiguration": [
                    Match.object_like({"ServerSideEncryptionByDefault": Match.object_like({"SSEAlgorithm": "aws:kms"})})
                ]
            },
            "LoggingConfiguration": Match.object_like({"LogFilePrefix": "capture-bucket/"}),
        },
    )
    all_options.template.has_resource_properties(
        "AWS::S3::BucketPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [Match.object_like({"Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}})]
                )
            }
        },
    )
    assert "WriteCapturedData" in policy_statements(all_options)


def test_autoscaling_tracks_invocations_per_instance(all_options: Synthesized, default: Synthesized) -> None:
    all_options.template.has_resource_properties(
        "AWS::ApplicationAutoScaling::ScalableTarget",
        {
            "MinCapacity": 2,
            "MaxCapacity": 6,
            "ResourceId": "endpoint/kmeans-prod/variant/AllTraffic",
            "ScalableDimension": "sagemaker:variant:DesiredInstanceCount",
        },
    )
    all_options.template.has_resource_properties(
        "AWS::ApplicationAutoScaling::ScalingPolicy",
        {
            "TargetTrackingScalingPolicyConfiguration": Match.object_like(
                {
                    "TargetValue": 750,
                    "PredefinedMetricSpecification": {"PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"},
                }
            )
        },
    )
    default.template.resource_count_is("AWS::ApplicationAutoScaling::ScalableTarget", 0)


def test_serverless_variant_has_no_instances_and_no_isolation(serverless: Synthesized) -> None:
    serverless.template.has_resource_properties(
        "AWS::SageMaker::EndpointConfig",
        {
            "ProductionVariants": [
                Match.object_like(
                    {
                        "ServerlessConfig": {"MemorySizeInMB": 2048, "MaxConcurrency": 5},
                        "InstanceType": Match.absent(),
                    }
                )
            ]
        },
    )
    serverless.template.has_resource_properties("AWS::SageMaker::Model", {"EnableNetworkIsolation": False})


def test_serverless_updates_are_blue_green_canary_by_capacity_with_rollback_alarms(serverless: Synthesized) -> None:
    deployment = only(serverless.resources("AWS::SageMaker::Endpoint"))["Properties"]["DeploymentConfig"]
    routing = deployment["BlueGreenUpdatePolicy"]["TrafficRoutingConfiguration"]
    assert (routing["Type"], routing["CanarySize"]["Type"]) == ("CANARY", "CAPACITY_PERCENT")
    assert len(deployment["AutoRollbackConfiguration"]["Alarms"]) == 2


# Outputs and tags


def test_outputs_name_everything_the_verifier_needs(default: Synthesized) -> None:
    outputs = default.body["Outputs"]
    expected = {"EndpointName", "EndpointConfigName", "ModelName", "ExecutionRoleArn", "ModelDataUrl", "ArtifactSha256"}
    assert expected | {"Region"} <= set(outputs)
    assert outputs["Region"]["Value"] == {"Ref": "AWS::Region"}


def test_artifact_sha256_output_matches_the_manifest(default: Synthesized, artifact_dir: Any) -> None:
    import json

    manifest = json.loads((artifact_dir / "manifest.json").read_text())
    assert default.body["Outputs"]["ArtifactSha256"]["Value"] == manifest["artifact_sha256"]


def test_tags_reach_the_resources(all_options: Synthesized) -> None:
    tags = [{"Key": "cost-center", "Value": "42"}, {"Key": "team", "Value": "ml-platform"}]  # CDK sorts tags by key
    all_options.template.has_resource_properties("AWS::SageMaker::Endpoint", {"Tags": Match.array_with(tags)})


# A/B: a challenger variant


def test_challenger_is_a_second_variant_with_its_own_model_and_weight(with_challenger: Synthesized) -> None:
    models = with_challenger.resources("AWS::SageMaker::Model")
    config = only(with_challenger.resources("AWS::SageMaker::EndpointConfig"))["Properties"]

    variants = {v["VariantName"]: v for v in config["ProductionVariants"]}

    assert len(models) == 2
    assert any(logical.startswith("ChallengerModel") for logical in models)
    assert variants["AllTraffic"]["InitialVariantWeight"] == 0.8
    assert variants["Challenger"]["InitialVariantWeight"] == 0.2
    assert variants["AllTraffic"]["ModelName"] != variants["Challenger"]["ModelName"]
    urls = {json.dumps(m["Properties"]["PrimaryContainer"]["ModelDataUrl"]) for m in models.values()}
    assert len(urls) == 2  # each model its own asset


def test_challenger_gets_its_own_alarms_and_autoscaling(with_challenger: Synthesized) -> None:
    targets = with_challenger.resources("AWS::ApplicationAutoScaling::ScalableTarget").values()
    alarms = with_challenger.resources("AWS::CloudWatch::Alarm").values()
    endpoint = only(with_challenger.resources("AWS::SageMaker::Endpoint"))["Properties"]

    variants_scaled = {json.dumps(t["Properties"]["ResourceId"]) for t in targets}
    variants_alarmed = {d["Value"] for a in alarms for d in a["Properties"]["Dimensions"] if d["Name"] == "VariantName"}
    rollback_alarms = endpoint["DeploymentConfig"]["AutoRollbackConfiguration"]["Alarms"]

    assert len(variants_scaled) == 2
    assert any("Challenger" in resource for resource in variants_scaled)
    assert variants_alarmed == {"AllTraffic", "Challenger"}
    assert len(rollback_alarms) == len(list(alarms))


def test_the_role_reads_both_artifacts_and_nothing_else(with_challenger: Synthesized, default: Synthesized) -> None:
    read = policy_statements(with_challenger)["ReadModelArtifact"]

    assert actions(read) == {"s3:GetObject"}
    assert len(read["Resource"]) == 2
    assert len(policy_statements(default)["ReadModelArtifact"]["Resource"]) == 1
    assert {"ChallengerModelName", "ChallengerArtifactSha256"} <= set(with_challenger.body["Outputs"])


# Shadow: the candidate gets a copy of each request


def test_shadow_is_a_shadow_variant_of_its_own_model_beside_one_production_variant(with_shadow: Synthesized) -> None:
    config = only(with_shadow.resources("AWS::SageMaker::EndpointConfig"))["Properties"]
    models = with_shadow.resources("AWS::SageMaker::Model")

    (production,) = config["ProductionVariants"]
    (shadow,) = config["ShadowProductionVariants"]

    assert shadow["VariantName"] == "Shadow"
    assert shadow["InitialVariantWeight"] == 1.0  # every request copied
    assert shadow["ModelName"] != production["ModelName"]
    assert any(logical.startswith("ShadowModel") for logical in models)
    assert config["DataCaptureConfig"]["EnableCapture"] is True
    assert len(policy_statements(with_shadow)["ReadModelArtifact"]["Resource"]) == 2
    assert {"ShadowModelName", "ShadowArtifactSha256"} <= set(with_shadow.body["Outputs"])


def test_a_deploy_that_adds_or_removes_a_variant_updates_without_guardrails(
    artifact_dir: Path, challenger_dir: Path, tmp_path: Path, with_shadow: Synthesized
) -> None:
    """Rule guardrails-variant-names: AWS refuses a guarded update whose config changes the variant names, so the
    deploy that adds (or removes) the shadow or challenger says so, and its template carries no DeploymentConfig."""
    context = {"shadow_artifact_dir": CHALLENGER_BUILD, "data_capture": "true", "variant_change": "true"}

    changing = synthesize(artifact_dir, tmp_path, context, challenger_dir)

    endpoint = only(changing.resources("AWS::SageMaker::Endpoint"))["Properties"]
    assert "DeploymentConfig" not in endpoint
    assert "DeploymentConfig" in only(with_shadow.resources("AWS::SageMaker::Endpoint"))["Properties"]
    assert changing.resources("AWS::CloudWatch::Alarm")  # kept for the next, guarded, deploy


# Batch scoring


def test_scoring_bucket_is_encrypted_logged_and_the_role_gets_exactly_its_prefixes(
    with_shadow: Synthesized, default: Synthesized
) -> None:
    statements = policy_statements(with_shadow)

    read, write, listing = (statements[sid] for sid in ("ReadScoringInput", "WriteScoringResults", "ListScoringInput"))

    assert actions(read) == {"s3:GetObject"}
    assert actions(write) == {"s3:PutObject"}
    assert actions(listing) == {"s3:ListBucket"}
    assert listing["Condition"] == {"StringLike": {"s3:prefix": ["input/*", "input"]}}
    assert "input/*" in json.dumps(read["Resource"])
    assert "output/*" in json.dumps(write["Resource"])
    assert "failures/*" in json.dumps(write["Resource"])
    assert "ScoringBucketName" in with_shadow.body["Outputs"]
    assert "ScoringBucketName" not in default.body["Outputs"]
    assert "ReadScoringInput" not in policy_statements(default)


# Asynchronous inference


def test_async_endpoint_writes_into_the_scoring_bucket_and_scales_on_its_backlog(asynchronous: Synthesized) -> None:
    config = only(asynchronous.resources("AWS::SageMaker::EndpointConfig"))["Properties"]["AsyncInferenceConfig"]
    target = only(asynchronous.resources("AWS::ApplicationAutoScaling::ScalableTarget"))["Properties"]
    policies = asynchronous.resources("AWS::ApplicationAutoScaling::ScalingPolicy").values()
    metrics = json.dumps([policy["Properties"] for policy in policies])

    assert config["ClientConfig"] == {"MaxConcurrentInvocationsPerInstance": 8}
    assert "output/async" in json.dumps(config["OutputConfig"]["S3OutputPath"])
    assert "failures/async" in json.dumps(config["OutputConfig"]["S3FailurePath"])
    assert config["OutputConfig"]["NotificationConfig"] == {"SuccessTopic": TOPIC_ARN}
    assert target["MinCapacity"] == 0
    assert "ApproximateBacklogSizePerInstance" in metrics
    assert "StepScaling" in metrics
    alarms = [a["Properties"]["MetricName"] for a in asynchronous.resources("AWS::CloudWatch::Alarm").values()]
    assert "HasBacklogWithoutCapacity" in alarms
    assert actions(policy_statements(asynchronous)["NotifyAsyncResults"]) == {"sns:Publish"}
