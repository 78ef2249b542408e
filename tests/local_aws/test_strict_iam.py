"""Calls made with a role's credentials (`local_aws run --as`) are authorized as AWS authorizes them."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import RunningLocalAws
from tests.local_aws.strict_account import ACCOUNT, StrictAccount, allow, unique

SAGEMAKER_ARN = f"arn:aws:sagemaker:us-east-1:{ACCOUNT}"


@pytest.fixture(scope="module")
def account(local_aws: RunningLocalAws, artifact_dir: Path) -> StrictAccount:
    return StrictAccount.with_artifact(local_aws, artifact_dir / "model.tar.gz", "iam")


@pytest.fixture(scope="module")
def endpoint(account: StrictAccount) -> str:
    return str(account.endpoint(account.config(account.model()))["EndpointName"])


def denial(call: Any, **kwargs: Any) -> dict[str, str]:
    with pytest.raises(ClientError) as raised:
        call(**kwargs)
    error: dict[str, str] = raised.value.response["Error"]
    return error


def test_a_role_may_do_only_what_its_policies_allow_on_the_resources_they_name(
    account: StrictAccount, endpoint: str
) -> None:
    """Rule iam-evaluation: real ARNs (the endpoint's in lower case), AWS's error classes and wording."""
    role = account.role([allow(["sagemaker:DescribeEndpoint"], [f"{SAGEMAKER_ARN}:endpoint/{endpoint.lower()}"])])
    sagemaker, s3 = account.client_as("sagemaker", role), account.client_as("s3", role)

    described = sagemaker.describe_endpoint(EndpointName=endpoint)
    other = denial(sagemaker.describe_endpoint, EndpointName="another-endpoint")
    config = denial(sagemaker.describe_endpoint_config, EndpointConfigName=described["EndpointConfigName"])
    s3_denial = denial(s3.get_object, Bucket=account.bucket, Key="good.tar.gz")

    assert other["Code"] == "AccessDeniedException"
    assert other["Message"].endswith(
        f"is not authorized to perform: sagemaker:DescribeEndpoint on resource: {SAGEMAKER_ARN}:endpoint/"
        "another-endpoint because no identity-based policy allows the sagemaker:DescribeEndpoint action"
    )
    assert "sagemaker:DescribeEndpointConfig" in config["Message"]
    assert s3_denial["Code"] == "AccessDenied"
    assert f"s3:GetObject on resource: arn:aws:s3:::{account.bucket}/good.tar.gz" in s3_denial["Message"]


def test_a_mixed_case_arn_in_a_policy_matches_nothing(account: StrictAccount, endpoint: str) -> None:
    """Rules sagemaker-arn-lower-case and iam-evaluation together: IAM compares ARNs case-sensitively."""
    role = account.role([allow(["sagemaker:DescribeEndpoint"], [f"{SAGEMAKER_ARN}:endpoint/{endpoint.upper()}"])])

    error = denial(account.client_as("sagemaker", role).describe_endpoint, EndpointName=endpoint)

    assert error["Code"] == "AccessDeniedException"


def test_resource_tags_are_condition_keys_and_an_unknown_key_denies(account: StrictAccount) -> None:
    """Rule iam-condition-keys: aws:ResourceTag is evaluated; a key the local AWS cannot supply is no allow."""
    tagged = account.model(name=unique("tagged"))
    account.client("sagemaker").add_tags(
        ResourceArn=f"{SAGEMAKER_ARN}:model/{tagged.lower()}", Tags=[{"Key": "kmeans-byom:stack", "Value": "Mine"}]
    )
    untagged = account.model(name=unique("untagged"))
    by_tag = {"StringLike": {"aws:ResourceTag/kmeans-byom:stack": "Mine"}}
    role = account.role([allow(["sagemaker:DescribeModel"], [f"{SAGEMAKER_ARN}:model/*"], by_tag)])
    unknown = account.role([allow(["sagemaker:DescribeModel"], ["*"], {"StringEquals": {"sagemaker:ModelArn": "x"}})])
    sagemaker = account.client_as("sagemaker", role)

    assert sagemaker.describe_model(ModelName=tagged)["ModelName"] == tagged
    assert denial(sagemaker.describe_model, ModelName=untagged)["Code"] == "AccessDeniedException"
    message = denial(account.client_as("sagemaker", unknown).describe_model, ModelName=tagged)["Message"]
    assert "condition key sagemaker:ModelArn is not one the local AWS supplies" in message


def test_invoking_needs_sagemaker_invoke_endpoint_on_the_endpoint(account: StrictAccount, endpoint: str) -> None:
    """Rule invoke-authorization: the runtime asks the control plane, which holds IAM's state."""
    arn = f"{SAGEMAKER_ARN}:endpoint/{endpoint.lower()}"
    allowed = account.role([allow(["sagemaker:InvokeEndpoint"], [arn])])
    describe_only = account.role([allow(["sagemaker:DescribeEndpoint"], [arn])])
    body = "0," * 63 + "0"

    answer = account.client_as("sagemaker-runtime", allowed).invoke_endpoint(
        EndpointName=endpoint, ContentType="text/csv", Body=body
    )
    error = denial(
        account.client_as("sagemaker-runtime", describe_only).invoke_endpoint,
        EndpointName=endpoint,
        ContentType="text/csv",
        Body=body,
    )

    assert json.loads(answer["Body"].read())["predictions"]
    assert error["Code"] == "AccessDeniedException"
    assert "sagemaker:InvokeEndpoint" in error["Message"]


def test_run_as_runs_a_command_with_the_roles_credentials(account: StrictAccount, endpoint: str) -> None:
    role = account.role([allow(["sagemaker:DescribeEndpoint"], [f"{SAGEMAKER_ARN}:endpoint/{endpoint.lower()}"])])
    probe = (
        "import boto3, sys; s = boto3.client('sagemaker');"
        f"print(s.describe_endpoint(EndpointName='{endpoint}')['EndpointStatus']);"
        "s.list_endpoints()"
    )

    result = account.local_aws.run(
        sys.executable, "-m", "local_aws", "run", "--as", role.rsplit("/", 1)[-1], "--", sys.executable, "-c", probe
    )

    assert result.stdout.startswith("InService")
    assert "AccessDeniedException" in result.stderr
    assert "sagemaker:ListEndpoints on resource: *" in result.stderr


@pytest.mark.parametrize(
    ("role", "message"),
    [
        ("no-such-role", "--as no-such-role: no such role in the local AWS"),
        ("NoStack.RoleArn", "--as NoStack.RoleArn: no stack NoStack"),
    ],
)
def test_run_as_an_unknown_role_says_so(account: StrictAccount, role: str, message: str) -> None:
    result = account.local_aws.run(sys.executable, "-m", "local_aws", "run", "--as", role, "--", "true")

    assert result.returncode == 1
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_listing_a_bucket_is_authorized_with_the_requests_prefix_as_s3_prefix(account: StrictAccount) -> None:
    listing = allow(["s3:ListBucket"], [f"arn:aws:s3:::{account.bucket}"])
    listing["Condition"] = {"StringLike": {"s3:prefix": ["input/*"]}}
    s3 = account.client_as("s3", account.role([listing]))

    s3.list_objects_v2(Bucket=account.bucket, Prefix="input/job-1/")
    other = denial(s3.list_objects_v2, Bucket=account.bucket, Prefix="output/")
    unprefixed = denial(s3.list_objects_v2, Bucket=account.bucket)

    assert other["Code"] == unprefixed["Code"] == "AccessDenied"
    assert f"s3:ListBucket on resource: arn:aws:s3:::{account.bucket}" in other["Message"]


def test_reading_a_missing_object_says_it_is_missing_only_to_a_caller_that_may_list_the_bucket(
    account: StrictAccount,
) -> None:
    """Rule s3-missing-object-list-bucket: without s3:ListBucket a missing object reads as AccessDenied."""
    objects, bucket_arn = f"arn:aws:s3:::{account.bucket}/*", f"arn:aws:s3:::{account.bucket}"
    reader = account.client_as("s3", account.role([allow(["s3:GetObject"], [objects])]))
    lister = account.client_as(
        "s3", account.role([allow(["s3:GetObject"], [objects]), allow(["s3:ListBucket"], [bucket_arn])])
    )

    present = reader.get_object(Bucket=account.bucket, Key="good.tar.gz")["Body"].read()
    hidden = denial(reader.get_object, Bucket=account.bucket, Key="not-yet.out")
    missing = denial(lister.get_object, Bucket=account.bucket, Key="not-yet.out")

    assert present
    assert hidden["Code"] == "AccessDenied"
    assert f"s3:ListBucket on resource: {bucket_arn}" in hidden["Message"]
    assert missing["Code"] == "NoSuchKey"


def test_an_sse_kms_bucket_needs_generate_data_key_to_write_and_decrypt_to_read(account: StrictAccount) -> None:
    """Rule s3-sse-kms-caller: S3 uses the bucket's key for the caller, through S3, with the key's tags."""
    key = account.client("kms").create_key(Tags=[{"TagKey": "kmeans-byom:stack", "TagValue": "Mine"}])["KeyMetadata"]
    bucket = unique("sse-kms")
    s3 = account.client("s3")
    s3.create_bucket(Bucket=bucket)
    default = {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key["Arn"]}
    s3.put_bucket_encryption(
        Bucket=bucket,
        ServerSideEncryptionConfiguration={"Rules": [{"ApplyServerSideEncryptionByDefault": default}]},
    )
    objects = allow(["s3:GetObject", "s3:PutObject"], [f"arn:aws:s3:::{bucket}/*"])
    through_s3 = {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}}
    by_tag = {**through_s3, "StringLike": {"aws:ResourceTag/kmeans-byom:stack": "Mine"}}
    key_grant = allow(["kms:GenerateDataKey", "kms:Decrypt"], ["arn:aws:kms:us-east-1:123456789012:key/*"], by_tag)
    without_key = account.client_as("s3", account.role([objects]))
    with_key = account.client_as("s3", account.role([objects, key_grant]))

    write = denial(without_key.put_object, Bucket=bucket, Key="request.csv", Body=b"1,2")
    with_key.put_object(Bucket=bucket, Key="request.csv", Body=b"1,2")
    read = denial(without_key.get_object, Bucket=bucket, Key="request.csv")

    assert write["Code"] == "AccessDenied"
    assert f"kms:GenerateDataKey on resource: {key['Arn']}" in write["Message"]
    assert with_key.get_object(Bucket=bucket, Key="request.csv")["Body"].read() == b"1,2"
    assert read["Code"] == "AccessDenied"
    assert f"kms:Decrypt on resource: {key['Arn']}" in read["Message"]


def test_the_aws_managed_s3_key_needs_no_grant(account: StrictAccount) -> None:
    """Rule s3-sse-kms-caller: the aws/s3 key's policy lets every principal of the account use it through S3."""
    bucket = unique("sse-s3-managed")
    s3 = account.client("s3")
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_encryption(
        Bucket=bucket,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}}]
        },
    )
    writer = account.client_as(
        "s3", account.role([allow(["s3:GetObject", "s3:PutObject"], [f"arn:aws:s3:::{bucket}/*"])])
    )

    writer.put_object(Bucket=bucket, Key="request.csv", Body=b"1,2")

    assert writer.get_object(Bucket=bucket, Key="request.csv")["Body"].read() == b"1,2"


def test_transform_jobs_are_authorized_on_their_arn(account: StrictAccount) -> None:
    """Rule iam-evaluation: CreateTransformJob and DescribeTransformJob name the job's (lower-case) ARN."""
    role = account.role([allow(["sagemaker:DescribeTransformJob"], [f"{SAGEMAKER_ARN}:transform-job/mine-*"])])
    sagemaker = account.client_as("sagemaker", role)

    other = denial(sagemaker.describe_transform_job, TransformJobName="Another-Job")
    create = denial(
        sagemaker.create_transform_job,
        TransformJobName="mine-1",
        ModelName="any",
        TransformInput={"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://b/in/"}}},
        TransformOutput={"S3OutputPath": "s3://b/out/"},
        TransformResources={"InstanceType": "ml.m5.large", "InstanceCount": 1},
    )

    assert f"sagemaker:DescribeTransformJob on resource: {SAGEMAKER_ARN}:transform-job/another-job" in other["Message"]
    assert f"sagemaker:CreateTransformJob on resource: {SAGEMAKER_ARN}:transform-job/mine-1" in create["Message"]
