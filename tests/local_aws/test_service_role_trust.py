"""SageMaker acts only as a role whose trust policy allows `sagemaker.amazonaws.com` (service-role-trust)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from local_aws.strict.iam.trust import trust_allows
from local_aws.training.job import kmeans_image
from tests.conftest import RunningLocalAws
from tests.local_aws.strict_account import ACCOUNT, IMAGE, StrictAccount, unique

SAGEMAKER = "sagemaker.amazonaws.com"
ASSUME = {"Effect": "Allow", "Action": "sts:AssumeRole"}


def trust(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


@pytest.fixture(scope="module")
def account(local_aws: RunningLocalAws, artifact_dir: Path) -> StrictAccount:
    return StrictAccount.with_artifact(local_aws, artifact_dir / "model.tar.gz", "trust")


def untrusted_role(account: StrictAccount) -> str:
    """A role trusted by Scheduler only, with no grants: SageMaker may not act as it."""
    document = trust({**ASSUME, "Principal": {"Service": "scheduler.amazonaws.com"}})
    created = account.client("iam").create_role(
        RoleName=unique("untrusted"), AssumeRolePolicyDocument=json.dumps(document)
    )
    arn: str = created["Role"]["Arn"]
    return arn


def assert_cannot_assume(raised: pytest.ExceptionInfo[ClientError], role: str) -> None:
    assert raised.value.response["Error"]["Code"] == "ValidationException"
    assert raised.value.response["Error"]["Message"] == (
        f"Could not assume role {role}. Please ensure that the role exists and allows principal "
        "'sagemaker.amazonaws.com' to assume the role."
    )


def test_a_model_whose_role_does_not_trust_sagemaker_is_refused(account: StrictAccount) -> None:
    role = untrusted_role(account)
    with pytest.raises(ClientError) as raised:
        account.client("sagemaker").create_model(
            ModelName=unique("model"),
            ExecutionRoleArn=role,
            PrimaryContainer={"Image": IMAGE, "ModelDataUrl": f"s3://{account.bucket}/good.tar.gz"},
        )
    assert_cannot_assume(raised, role)


def test_a_training_job_whose_role_does_not_trust_sagemaker_is_refused(account: StrictAccount) -> None:
    role = untrusted_role(account)
    source = {"S3DataType": "S3Prefix", "S3Uri": f"s3://{account.bucket}/data/"}
    with pytest.raises(ClientError) as raised:
        account.client("sagemaker").create_training_job(
            TrainingJobName=unique("train"),
            AlgorithmSpecification={"TrainingImage": kmeans_image(), "TrainingInputMode": "File"},
            RoleArn=role,
            HyperParameters={"k": "2", "feature_dim": "2"},
            InputDataConfig=[{"ChannelName": "train", "DataSource": {"S3DataSource": source}}],
            OutputDataConfig={"S3OutputPath": f"s3://{account.bucket}/models/"},
            ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1},
            StoppingCondition={"MaxRuntimeInSeconds": 60},
        )
    assert_cannot_assume(raised, role)


def test_the_trust_policy_is_read_as_iam_reads_it() -> None:
    context = {"aws:SourceAccount": ACCOUNT}
    service = {**ASSUME, "Principal": {"Service": [SAGEMAKER, "scheduler.amazonaws.com"]}}
    assert trust_allows(trust(service), SAGEMAKER, context)
    assert not trust_allows(trust({**service, "Action": "sts:TagSession"}), SAGEMAKER, context)
    assert not trust_allows(trust({**ASSUME, "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}}), SAGEMAKER, context)
    own = {**service, "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}}}
    assert trust_allows(trust(own), SAGEMAKER, context)
    assert not trust_allows(trust(own), SAGEMAKER, {"aws:SourceAccount": "111122223333"})
    denied = {**service, "Effect": "Deny"}
    assert not trust_allows(trust(service, denied), SAGEMAKER, context)
    unknown = {**service, "Condition": {"StringEquals": {"sagemaker:SomethingElse": "x"}}}
    assert not trust_allows(trust(unknown), SAGEMAKER, context)  # a condition it cannot evaluate: the worse case
