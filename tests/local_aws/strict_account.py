"""Builders for the strict-local-AWS tests: an artifact in S3, execution roles, models, configs, endpoints."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from contract.execution_role import GET_REGISTRY_TOKEN, PULL_IMAGE, READ_MODEL_ARTIFACT, WRITE_ENDPOINT_LOGS
from tests.conftest import RunningLocalAws

IMAGE = "382416733822.dkr.ecr.us-east-1.amazonaws.com/kmeans:1"
TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}
ACCOUNT = "123456789012"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def allow(actions: list[str], resources: list[str], condition: dict[str, Any] | None = None) -> dict[str, Any]:
    statement: dict[str, Any] = {"Effect": "Allow", "Action": actions, "Resource": resources}
    if condition:
        statement["Condition"] = condition
    return statement


def hosting_statements(bucket: str) -> list[dict[str, Any]]:
    """What an execution role needs for the container, and no more: the artifact, the image, the logs."""
    return [
        allow(list(READ_MODEL_ARTIFACT.used), [f"arn:aws:s3:::{bucket}/*"]),
        allow(list(GET_REGISTRY_TOKEN.used), ["*"]),
        allow(list(PULL_IMAGE.used), ["arn:aws:ecr:us-east-1:382416733822:repository/kmeans"]),
        allow(
            list(WRITE_ENDPOINT_LOGS.used),
            [f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/aws/sagemaker/Endpoints/*"],
        ),
    ]


@dataclass
class StrictAccount:
    """boto3 clients of the session's local AWS, and a bucket holding a good and a broken artifact."""

    local_aws: RunningLocalAws
    bucket: str

    @classmethod
    def with_artifact(cls, local_aws: RunningLocalAws, artifact: Path, prefix: str) -> StrictAccount:
        """A fresh bucket holding `artifact` as good.tar.gz."""
        bucket = unique(prefix)
        local_aws.client("s3").create_bucket(Bucket=bucket)
        local_aws.client("s3").put_object(Bucket=bucket, Key="good.tar.gz", Body=artifact.read_bytes())
        return cls(local_aws, bucket)

    def client(self, service: str) -> Any:
        return self.local_aws.client(service)

    def role(self, statements: list[dict[str, Any]]) -> str:
        name = unique("role")
        iam = self.client("iam")
        arn: str = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]["Arn"]
        policy = {"Version": "2012-10-17", "Statement": statements}
        iam.put_role_policy(RoleName=name, PolicyName="grants", PolicyDocument=json.dumps(policy))
        return arn

    def model(self, role_arn: str | None = None, key: str = "good.tar.gz", name: str | None = None) -> str:
        name = name or unique("model")
        self.client("sagemaker").create_model(
            ModelName=name,
            ExecutionRoleArn=role_arn or self.role(hosting_statements(self.bucket)),
            PrimaryContainer={"Image": IMAGE, "ModelDataUrl": f"s3://{self.bucket}/{key}"},
        )
        return name

    def config(self, model: str, instance_type: str = "ml.m5.large", count: int = 1, **extra: Any) -> str:
        name = unique("config")
        variant: dict[str, Any] = {"VariantName": "AllTraffic", "ModelName": model, "InstanceType": instance_type}
        variant |= {"InitialInstanceCount": count, "InitialVariantWeight": 1.0}
        self.client("sagemaker").create_endpoint_config(EndpointConfigName=name, ProductionVariants=[variant], **extra)
        return name

    def endpoint(self, config: str, **extra: Any) -> dict[str, Any]:
        name = unique("endpoint")
        sagemaker = self.client("sagemaker")
        sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=config, **extra)
        described: dict[str, Any] = sagemaker.describe_endpoint(EndpointName=name)
        return described

    def assume(self, role_arn: str) -> dict[str, str]:
        """Credentials as `local_aws run --as` gets them."""
        from local_aws.config import RUN_AS_SESSION_NAME

        sts = self.client("sts")
        credentials = sts.assume_role(RoleArn=role_arn, RoleSessionName=RUN_AS_SESSION_NAME)["Credentials"]
        return {
            "aws_access_key_id": credentials["AccessKeyId"],
            "aws_secret_access_key": credentials["SecretAccessKey"],
            "aws_session_token": credentials["SessionToken"],
        }

    def client_as(self, service: str, role_arn: str) -> Any:
        import boto3

        config = self.local_aws.config
        url = config.runtime_url if service == "sagemaker-runtime" else config.control_url
        return boto3.session.Session(region_name="us-east-1").client(service, endpoint_url=url, **self.assume(role_arn))


def async_statements(
    bucket: str,
    topics: list[str] | None = None,
    key_arn: str | None = None,
    *,
    written: tuple[str, ...] = ("async-out/*", "async-failed/*"),
) -> list[dict[str, Any]]:
    """An asynchronous endpoint's execution role: hosting, the answers and failures written (`written` prefixes), the
    topics published to, and the output key used through S3 (as S3 asks KMS for its caller)."""
    statements = hosting_statements(bucket)  # s3:GetObject on the whole bucket: the artifact and the inputs
    if written:
        statements.append(allow(["s3:PutObject"], [f"arn:aws:s3:::{bucket}/{prefix}" for prefix in written]))
    if topics:
        statements.append(allow(["sns:Publish"], topics))
    if key_arn:
        via_s3 = {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}}
        statements.append(allow(["kms:GenerateDataKey", "kms:Decrypt"], [key_arn], via_s3))
    return statements
