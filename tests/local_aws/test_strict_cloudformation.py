"""The local AWS's CloudFormation does what CloudFormation does where moto 5.2 does not (README: "What the
local AWS enforces", the `cfn-*` rules). Each test names its rule; `LOCAL_AWS_RELAX=<rule>` makes it fail."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import RunningLocalAws
from tests.local_aws.strict_account import ACCOUNT, IMAGE, TRUST, StrictAccount, hosting_statements, unique

POLICY: dict[str, Any] = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
}


@pytest.fixture(scope="module")
def account(local_aws: RunningLocalAws, artifact_dir: Path) -> StrictAccount:
    bucket = unique("cfn-artifacts")
    s3 = local_aws.client("s3")
    s3.create_bucket(Bucket=bucket)
    for key in ("good.tar.gz", "other.tar.gz"):
        s3.put_object(Bucket=bucket, Key=key, Body=(artifact_dir / "model.tar.gz").read_bytes())
    return StrictAccount(local_aws, bucket)


def template(resources: dict[str, Any], **sections: Any) -> str:
    return json.dumps({"AWSTemplateFormatVersion": "2010-09-09", "Resources": resources, **sections})


def hosting(account: StrictAccount, key: str = "good.tar.gz") -> dict[str, Any]:
    """A Model and an EndpointConfig serving it, as the CDK writes them."""
    model = {
        "Type": "AWS::SageMaker::Model",
        "Properties": {
            "ExecutionRoleArn": account.role(hosting_statements(account.bucket)),
            "PrimaryContainer": {"Image": IMAGE, "ModelDataUrl": f"s3://{account.bucket}/{key}"},
        },
    }
    variant: dict[str, Any] = {"VariantName": "AllTraffic", "ModelName": {"Fn::GetAtt": ["Model", "ModelName"]}}
    variant |= {"InstanceType": "ml.m5.large", "InitialInstanceCount": 1, "InitialVariantWeight": 1.0}
    config = {"Type": "AWS::SageMaker::EndpointConfig", "Properties": {"ProductionVariants": [variant]}}
    return {"Model": model, "Config": config}


def role_with_policy(document: dict[str, Any]) -> dict[str, Any]:
    role = {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": TRUST}}
    policy = {"Type": "AWS::IAM::ManagedPolicy", "Properties": {"PolicyDocument": document, "Roles": [{"Ref": "Role"}]}}
    return {"Role": role, "Policy": policy}


def status(account: StrictAccount, stack: str) -> str:
    (described,) = account.client("cloudformation").describe_stacks(StackName=stack)["Stacks"]
    return str(described["StackStatus"])


def physical_ids(account: StrictAccount, stack: str) -> dict[str, str]:
    summaries = account.client("cloudformation").list_stack_resources(StackName=stack)["StackResourceSummaries"]
    return {s["LogicalResourceId"]: s["PhysicalResourceId"] for s in summaries}


def test_an_endpoint_keeps_the_name_its_template_declares(account: StrictAccount) -> None:
    """Rule cfn-endpoint-name (CloudFormation AWS::SageMaker::Endpoint, EndpointName)."""
    name, stack = unique("Declared"), unique("EndpointNameStack")
    endpoint = {
        "Type": "AWS::SageMaker::Endpoint",
        "Properties": {"EndpointName": name, "EndpointConfigName": {"Fn::GetAtt": ["Config", "EndpointConfigName"]}},
    }
    cloudformation = account.client("cloudformation")

    cloudformation.create_stack(StackName=stack, TemplateBody=template({**hosting(account), "Endpoint": endpoint}))
    described = account.client("sagemaker").list_endpoints(NameContains=name)["Endpoints"]
    cloudformation.delete_stack(StackName=stack)

    assert [e["EndpointName"] for e in described] == [name]


def test_a_property_that_breaks_the_api_model_fails_the_resource_in_the_services_words(account: StrictAccount) -> None:
    """Rule cfn-resource-validation: the handler's CreateEndpointConfig is refused by SageMaker's model."""
    stack, resources = unique("ModelCheckedStack"), hosting(account)
    resources["Config"]["Properties"]["ProductionVariants"][0]["VariantName"] = "All_Traffic"
    cloudformation = account.client("cloudformation")

    cloudformation.create_stack(StackName=stack, TemplateBody=template(resources))
    final = status(account, stack)
    reasons = [
        e.get("ResourceStatusReason", "") for e in cloudformation.describe_stack_events(StackName=stack)["StackEvents"]
    ]
    cloudformation.delete_stack(StackName=stack)

    assert final == "ROLLBACK_COMPLETE"
    failed = [reason for reason in reasons if reason.startswith("Config: Resource handler returned message: ")]
    assert failed, reasons
    assert (
        "1 validation error detected: Value 'All_Traffic' at 'productionVariants.1.member.variantName' failed to "
        "satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9](-*[a-zA-Z0-9]){0,62} "
        "(Service: SageMaker, Status Code: 400, Request ID: "
    ) in failed[0]


def test_an_update_reaches_what_references_a_replaced_resource(account: StrictAccount) -> None:
    """Rule cfn-update-dependents: a new artifact replaces the Model; the config naming it follows."""
    stack = unique("DependentsStack")
    cloudformation = account.client("cloudformation")
    cloudformation.create_stack(StackName=stack, TemplateBody=template(hosting(account)))

    cloudformation.update_stack(StackName=stack, TemplateBody=template(hosting(account, "other.tar.gz")))
    ids, final = physical_ids(account, stack), status(account, stack)
    configs = account.client("sagemaker").list_endpoint_configs()["EndpointConfigs"]
    (config,) = [c["EndpointConfigName"] for c in configs if c["EndpointConfigArn"] == ids["Config"]]
    served = account.client("sagemaker").describe_endpoint_config(EndpointConfigName=config)["ProductionVariants"]
    cloudformation.delete_stack(StackName=stack)

    assert final == "UPDATE_COMPLETE"
    assert served[0]["ModelName"].lower() == ids["Model"].rsplit("/", 1)[-1]


def ab_endpoint(account: StrictAccount, name: str, variants: tuple[str, ...], *, scaled: bool) -> dict[str, Any]:
    """A Model served by an endpoint under each of `variants`, and, if `scaled`, the Challenger's scalable target."""
    resources = hosting(account)
    (variant,) = resources["Config"]["Properties"]["ProductionVariants"]
    resources["Config"]["Properties"]["ProductionVariants"] = [variant | {"VariantName": v} for v in variants]
    resources["Endpoint"] = {
        "Type": "AWS::SageMaker::Endpoint",
        "Properties": {"EndpointName": name, "EndpointConfigName": {"Fn::GetAtt": ["Config", "EndpointConfigName"]}},
    }
    if scaled:
        resources["ChallengerScaling"] = {
            "Type": "AWS::ApplicationAutoScaling::ScalableTarget",
            "DependsOn": "Endpoint",
            "Properties": {
                "ServiceNamespace": "sagemaker",
                "ResourceId": f"endpoint/{name}/variant/Challenger",
                "ScalableDimension": "sagemaker:variant:DesiredInstanceCount",
                "MinCapacity": 1,
                "MaxCapacity": 3,
            },
        }
    return resources


def test_a_removed_resource_is_deleted_after_the_update_and_kept_if_it_fails(account: StrictAccount) -> None:
    """Rule cfn-remove-in-cleanup (CloudFormation User Guide, "Update behaviors of stack resources": removed resources
    are deleted in UPDATE_COMPLETE_CLEANUP_IN_PROGRESS). Removing a variant and its scalable target in one update
    fails, as SageMaker still sees the target; removing the target first, then the variant, works."""
    name, stack = unique("Scaled"), unique("CleanupStack")
    cloudformation, sagemaker = account.client("cloudformation"), account.client("sagemaker")
    both, production = ("AllTraffic", "Challenger"), ("AllTraffic",)
    cloudformation.create_stack(StackName=stack, TemplateBody=template(ab_endpoint(account, name, both, scaled=True)))

    def update(variants: tuple[str, ...], *, scaled: bool) -> tuple[str, list[str], int]:
        body = template(ab_endpoint(account, name, variants, scaled=scaled))
        cloudformation.update_stack(StackName=stack, TemplateBody=body)
        served = [v["VariantName"] for v in sagemaker.describe_endpoint(EndpointName=name)["ProductionVariants"]]
        targets = account.client("application-autoscaling").describe_scalable_targets(ServiceNamespace="sagemaker")
        mine = [t for t in targets["ScalableTargets"] if t["ResourceId"].startswith(f"endpoint/{name}/")]
        return status(account, stack), served, len(mine)

    one_step = update(production, scaled=False)
    target_first = update(both, scaled=False)
    then_variant = update(production, scaled=False)
    cloudformation.delete_stack(StackName=stack)

    assert one_step == ("UPDATE_ROLLBACK_COMPLETE", list(both), 1)
    assert target_first == ("UPDATE_COMPLETE", list(both), 0)
    assert then_variant == ("UPDATE_COMPLETE", list(production), 0)


def test_deleting_a_stack_deletes_its_managed_policy_and_the_role_it_is_attached_to(account: StrictAccount) -> None:
    """Rule cfn-managed-policy-delete."""
    stack = unique("PolicyDeleteStack")
    cloudformation, iam = account.client("cloudformation"), account.client("iam")
    cloudformation.create_stack(StackName=stack, TemplateBody=template(role_with_policy(POLICY)))
    ids = physical_ids(account, stack)

    cloudformation.delete_stack(StackName=stack)

    with pytest.raises(ClientError, match="NoSuchEntity"):
        iam.get_role(RoleName=ids["Role"])
    with pytest.raises(ClientError, match="NoSuchEntity"):
        iam.get_policy(PolicyArn=ids["Policy"])


def test_updating_a_managed_policy_replaces_it(account: StrictAccount) -> None:
    """Rule cfn-managed-policy-update: the role holds the new document only, and the stack still deletes."""
    stack = unique("PolicyUpdateStack")
    changed = {**POLICY, "Statement": [{**POLICY["Statement"][0], "Action": "s3:PutObject"}]}
    cloudformation, iam = account.client("cloudformation"), account.client("iam")
    cloudformation.create_stack(StackName=stack, TemplateBody=template(role_with_policy(POLICY)))

    cloudformation.update_stack(StackName=stack, TemplateBody=template(role_with_policy(changed)))
    role = physical_ids(account, stack)["Role"]
    attached = iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]
    documents = [_default_document(iam, policy["PolicyArn"]) for policy in attached]
    cloudformation.delete_stack(StackName=stack)

    assert [d["Statement"][0]["Action"] for d in documents] == ["s3:PutObject"]
    with pytest.raises(ClientError, match="NoSuchEntity"):
        iam.get_role(RoleName=role)


def _default_document(iam: Any, arn: str) -> dict[str, Any]:
    version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
    document = iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]["Document"]
    return document if isinstance(document, dict) else dict(json.loads(document))


def test_a_kms_key_takes_its_tags_as_key_and_value(account: StrictAccount) -> None:
    """Rule cfn-kms-key-tags (CloudFormation AWS::KMS::Key, Tags)."""
    stack = unique("KeyStack")
    key_policy = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "kms:*",
                       "Resource": "*"}],
    }  # fmt: skip
    key = {"Type": "AWS::KMS::Key", "Properties": {"KeyPolicy": key_policy, "Tags": [{"Key": "app", "Value": "k"}]}}
    cloudformation = account.client("cloudformation")

    try:
        cloudformation.create_stack(StackName=stack, TemplateBody=template({"Key": key}))
        final = status(account, stack)
    finally:
        cloudformation.delete_stack(StackName=stack)

    assert final == "CREATE_COMPLETE"


def test_a_changed_key_policy_updates_the_key_in_place(account: StrictAccount) -> None:
    """Rule cfn-kms-key-update (CloudFormation AWS::KMS::Key, KeyPolicy: "Update requires: No interruption")."""
    stack = unique("KeyUpdateStack")
    statement = {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Resource": "*"}

    def body(actions: str) -> str:
        policy = {"Version": "2012-10-17", "Statement": [statement | {"Action": actions}]}
        outputs = {"KeyArn": {"Value": {"Fn::GetAtt": ["Key", "Arn"]}}}
        return template({"Key": {"Type": "AWS::KMS::Key", "Properties": {"KeyPolicy": policy}}}, Outputs=outputs)

    cloudformation = account.client("cloudformation")
    cloudformation.create_stack(StackName=stack, TemplateBody=body("kms:*"))
    key = physical_ids(account, stack)["Key"]
    try:
        cloudformation.update_stack(StackName=stack, TemplateBody=body("kms:Decrypt"))
        final, ids = status(account, stack), physical_ids(account, stack)
        policy = json.loads(account.client("kms").get_key_policy(KeyId=key, PolicyName="default")["Policy"])
    finally:
        cloudformation.delete_stack(StackName=stack)

    assert (final, ids["Key"]) == ("UPDATE_COMPLETE", key)
    assert policy["Statement"][0]["Action"] == "kms:Decrypt"


def test_a_key_update_applies_its_tags_rotation_and_state_in_place(account: StrictAccount) -> None:
    """Rule cfn-kms-key-update (AWS::KMS::Key Tags, EnableKeyRotation, Enabled: "Update requires: No interruption")."""
    stack = unique("KeyFlagsStack")
    policy = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "kms:*", "Resource": "*"}
    ]}  # fmt: skip

    def body(**properties: Any) -> str:
        return template({"Key": {"Type": "AWS::KMS::Key", "Properties": {"KeyPolicy": policy, **properties}}})

    cloudformation, kms = account.client("cloudformation"), account.client("kms")
    cloudformation.create_stack(StackName=stack, TemplateBody=body(Tags=[{"Key": "app", "Value": "k"}]))
    key = physical_ids(account, stack)["Key"]
    try:
        changed = body(Tags=[{"Key": "stage", "Value": "s"}], EnableKeyRotation=True, Enabled=False)
        cloudformation.update_stack(StackName=stack, TemplateBody=changed)
        final, ids = status(account, stack), physical_ids(account, stack)
        tags = {tag["TagKey"]: tag["TagValue"] for tag in kms.list_resource_tags(KeyId=key)["Tags"]}
        rotating = kms.get_key_rotation_status(KeyId=key)["KeyRotationEnabled"]
        state = kms.describe_key(KeyId=key)["KeyMetadata"]["KeyState"]
    finally:
        cloudformation.delete_stack(StackName=stack)

    assert (final, ids["Key"]) == ("UPDATE_COMPLETE", key)
    assert tags == {"stage": "s"}
    assert (rotating, state) == (True, "Disabled")


def test_a_renamed_log_group_is_replaced(account: StrictAccount) -> None:
    """Rule cfn-log-group-update (CloudFormation AWS::Logs::LogGroup, LogGroupName: "Update requires: Replacement")."""
    stack, old, new = unique("LogGroupStack"), unique("/test/old"), unique("/test/new")

    def body(name: str) -> str:
        group = {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": name, "RetentionInDays": 7}}
        return template({"Group": group})

    cloudformation, logs = account.client("cloudformation"), account.client("logs")
    cloudformation.create_stack(StackName=stack, TemplateBody=body(old))
    try:
        cloudformation.update_stack(StackName=stack, TemplateBody=body(new))
        final, ids = status(account, stack), physical_ids(account, stack)
        groups = {g["logGroupName"] for g in logs.describe_log_groups(logGroupNamePrefix="/test/")["logGroups"]}
    finally:
        cloudformation.delete_stack(StackName=stack)

    assert (final, ids["Group"]) == ("UPDATE_COMPLETE", new)
    assert new in groups
    assert old not in groups


def test_a_bucket_holding_objects_fails_the_stacks_delete(account: StrictAccount) -> None:
    """Rule cfn-delete-failed: DELETE_FAILED, the bucket kept; emptied, the stack deletes."""
    stack = unique("BucketStack")
    cloudformation, s3 = account.client("cloudformation"), account.client("s3")
    cloudformation.create_stack(StackName=stack, TemplateBody=template({"Bucket": {"Type": "AWS::S3::Bucket"}}))
    bucket = physical_ids(account, stack)["Bucket"]
    s3.put_object(Bucket=bucket, Key="left.txt", Body=b"x")

    cloudformation.delete_stack(StackName=stack)
    failed = status(account, stack)
    kept = [b["Name"] for b in s3.list_buckets()["Buckets"] if b["Name"] == bucket]
    s3.delete_object(Bucket=bucket, Key="left.txt")
    cloudformation.delete_stack(StackName=stack)

    assert failed == "DELETE_FAILED"
    assert kept == [bucket]
    assert bucket not in [b["Name"] for b in s3.list_buckets()["Buckets"]]


def test_a_removed_bucket_holding_objects_is_left_behind_and_the_update_completes(account: StrictAccount) -> None:
    """Rule cfn-cleanup-delete-failed: UPDATE_COMPLETE, a DELETE_FAILED event, the bucket kept and out of the stack."""
    stack = unique("CleanupFailStack")
    cloudformation, s3 = account.client("cloudformation"), account.client("s3")
    both = {"Kept": {"Type": "AWS::S3::Bucket"}, "Dropped": {"Type": "AWS::S3::Bucket"}}
    cloudformation.create_stack(StackName=stack, TemplateBody=template(both))
    dropped = physical_ids(account, stack)["Dropped"]
    s3.put_object(Bucket=dropped, Key="left.txt", Body=b"x")

    try:
        cloudformation.update_stack(StackName=stack, TemplateBody=template({"Kept": both["Kept"]}))
        final, ids = status(account, stack), physical_ids(account, stack)
        events = cloudformation.describe_stack_events(StackName=stack)["StackEvents"]
        kept = [b["Name"] for b in s3.list_buckets()["Buckets"] if b["Name"] == dropped]
    finally:
        cloudformation.delete_stack(StackName=stack)

    assert final == "UPDATE_COMPLETE"
    assert set(ids) == {"Kept"}
    assert kept == [dropped]
    failed = [e for e in events if e["ResourceStatus"] == "DELETE_FAILED"]
    assert [(e["LogicalResourceId"], e["ResourceType"]) for e in failed] == [("Dropped", "AWS::S3::Bucket")]
    assert "BucketNotEmpty" in failed[0]["ResourceStatusReason"]
    completed = [e for e in events if e["ResourceStatus"] == "UPDATE_COMPLETE" and e["LogicalResourceId"] == stack]
    assert completed[0]["ResourceStatusReason"] == "Update successful. One or more resources could not be deleted."


def test_use_previous_value_of_an_unrecorded_ssm_parameter_applies_its_default(account: StrictAccount) -> None:
    """Rule cfn-previous-parameters: what the CDK CLI sends for BootstrapVersion on every update."""
    stack, parameter = unique("ParameterStack"), f"/{unique('probe')}/version"
    account.client("ssm").put_parameter(Name=parameter, Value="21", Type="String")
    declared = {"Version": {"Type": "AWS::SSM::Parameter::Value<String>", "Default": parameter}}
    bucket = {"Type": "AWS::S3::Bucket"}
    cloudformation = account.client("cloudformation")
    cloudformation.create_stack(StackName=stack, TemplateBody=template({"A": bucket}, Parameters=declared))

    try:
        cloudformation.update_stack(
            StackName=stack,
            TemplateBody=template({"A": bucket, "B": bucket}, Parameters=declared),
            Parameters=[{"ParameterKey": "Version", "UsePreviousValue": True}],
        )
        final = status(account, stack)
    finally:
        cloudformation.delete_stack(StackName=stack)

    assert final == "UPDATE_COMPLETE"


def test_a_change_set_creates_a_stack_with_its_outputs(account: StrictAccount) -> None:
    """Rule cfn-change-sets: `cdk deploy`'s default method; a change set that does not exist is ChangeSetNotFound."""
    stack = unique("ChangeSetStack")
    body = template({"Bucket": {"Type": "AWS::S3::Bucket"}}, Outputs={"Name": {"Value": {"Ref": "Bucket"}}})
    cloudformation = account.client("cloudformation")

    cloudformation.create_change_set(StackName=stack, ChangeSetName="first", ChangeSetType="CREATE", TemplateBody=body)
    cloudformation.execute_change_set(StackName=stack, ChangeSetName="first")
    (described,) = cloudformation.describe_stacks(StackName=stack)["Stacks"]
    with pytest.raises(ClientError) as missing:
        cloudformation.describe_change_set(StackName=stack, ChangeSetName="never-made")
    cloudformation.delete_stack(StackName=stack)

    assert [output["OutputKey"] for output in described.get("Outputs", [])] == ["Name"]
    assert missing.value.response["Error"]["Code"] == "ChangeSetNotFound"
