"""CreateTrainingJob on the local AWS trains for real: lifecycle, sharding, the model, metrics, refusals, stop."""

from __future__ import annotations

import contextlib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from botocore.exceptions import ClientError, WaiterError

from contract.execution_role import GET_REGISTRY_TOKEN, PULL_IMAGE
from local_aws.training.job import kmeans_image
from model_build.alignment import load_model
from recordio.codec import encode_rows
from tests.conftest import RunningLocalAws
from tests.local_aws.strict_account import ACCOUNT, TRUST, allow, unique

FEATURES = 8
CLUSTERS = 4
CENTRES = np.random.default_rng(42).uniform(-20, 20, (CLUSTERS, FEATURES))
CSV_TYPE = "text/csv;label_size=0"
PROTOBUF = "application/x-recordio-protobuf"
GROUP = "/aws/sagemaker/TrainingJobs"
pytestmark = pytest.mark.slow  # each job starts worker processes on the session's local AWS


def blobs(count: int, seed: int = 0) -> np.ndarray:
    """`count` rows around the four CENTRES, unit noise."""
    rng = np.random.default_rng(seed)
    return (CENTRES[rng.integers(0, CLUSTERS, count)] + rng.normal(0, 1, (count, FEATURES))).astype(np.float32)


def csv_bytes(values: np.ndarray) -> bytes:
    return ("\n".join(",".join(f"{v:.6f}" for v in row) for row in values) + "\n").encode()


@dataclass
class Training:
    """A bucket, and the clients to train from it on the session's local AWS."""

    local_aws: RunningLocalAws
    bucket: str

    def client(self, service: str) -> Any:
        return self.local_aws.client(service)

    def put(self, key: str, body: bytes, **extra: Any) -> None:
        self.client("s3").put_object(Bucket=self.bucket, Key=key, Body=body, **extra)

    def role(
        self,
        *,
        read: bool = True,
        write: bool = True,
        list_bucket: bool = True,
        extra: list[dict[str, Any]] | None = None,
    ) -> str:
        """An execution role: the image, the logs, and (unless told not to) reading the bucket, writing models/."""
        statements = [
            allow(list(GET_REGISTRY_TOKEN.used), ["*"]),
            allow(list(PULL_IMAGE.used), ["arn:aws:ecr:us-east-1:382416733822:repository/kmeans"]),
            allow(
                ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                [f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:{GROUP}*"],
            ),
            *([allow(["s3:ListBucket"], [f"arn:aws:s3:::{self.bucket}"])] if list_bucket else []),
            *([allow(["s3:GetObject"], [f"arn:aws:s3:::{self.bucket}/data/*"])] if read else []),
            *([allow(["s3:PutObject"], [f"arn:aws:s3:::{self.bucket}/models/*"])] if write else []),
            *(extra or []),
        ]
        name = unique("training-role")
        iam = self.client("iam")
        arn: str = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]["Arn"]
        policy = {"Version": "2012-10-17", "Statement": statements}
        iam.put_role_policy(RoleName=name, PolicyName="grants", PolicyDocument=json.dumps(policy))
        return arn

    def start(
        self,
        role: str,
        train: str,
        hyperparameters: dict[str, str] | None = None,
        *,
        test: str | None = None,
        content_type: str = CSV_TYPE,
        instances: int = 1,
        required: bool = True,
        caller: str | None = None,
        **overrides: Any,
    ) -> str:
        name = unique("train")
        channels = [self._channel("train", train, content_type, "ShardedByS3Key")]
        if test:
            channels.append(self._channel("test", test, content_type, "FullyReplicated"))
        request: dict[str, Any] = {
            "TrainingJobName": name,
            "AlgorithmSpecification": {"TrainingImage": kmeans_image(), "TrainingInputMode": "File"},
            "RoleArn": role,
            "HyperParameters": ({"k": str(CLUSTERS), "feature_dim": str(FEATURES)} if required else {})
            | {"mini_batch_size": "200"}
            | (hyperparameters or {}),
            "InputDataConfig": channels,
            "OutputDataConfig": {"S3OutputPath": f"s3://{self.bucket}/models"},
            "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": instances, "VolumeSizeInGB": 1},
            "StoppingCondition": {"MaxRuntimeInSeconds": 600},
        }
        for key, value in overrides.items():
            request[key] = {**request[key], **value} if isinstance(value, dict) else value
        (self.client_as("sagemaker", caller) if caller else self.client("sagemaker")).create_training_job(**request)
        return name

    def caller(self, statements: list[dict[str, Any]]) -> str:
        """A role to call CreateTrainingJob as, holding only `statements`."""
        name = unique("training-caller")
        iam = self.client("iam")
        arn: str = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]["Arn"]
        policy = {"Version": "2012-10-17", "Statement": statements}
        iam.put_role_policy(RoleName=name, PolicyName="grants", PolicyDocument=json.dumps(policy))
        return arn

    def client_as(self, service: str, role_arn: str) -> Any:
        import boto3

        from local_aws.config import RUN_AS_SESSION_NAME

        credentials = self.client("sts").assume_role(RoleArn=role_arn, RoleSessionName=RUN_AS_SESSION_NAME)
        keys = credentials["Credentials"]
        return boto3.session.Session(region_name="us-east-1").client(
            service,
            endpoint_url=self.local_aws.config.control_url,
            aws_access_key_id=keys["AccessKeyId"],
            aws_secret_access_key=keys["SecretAccessKey"],
            aws_session_token=keys["SessionToken"],
        )

    def wait(self, name: str) -> dict[str, Any]:
        sagemaker = self.client("sagemaker")
        with contextlib.suppress(WaiterError):  # a Failed job: described below
            sagemaker.get_waiter("training_job_completed_or_stopped").wait(
                TrainingJobName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 120}
            )
        described: dict[str, Any] = sagemaker.describe_training_job(TrainingJobName=name)
        return described

    def train(
        self, role: str, train: str, hyperparameters: dict[str, str] | None = None, **options: Any
    ) -> dict[str, Any]:
        return self.wait(self.start(role, train, hyperparameters, **options))

    def model_keys(self, name: str) -> list[str]:
        listed = self.client("s3").list_objects_v2(Bucket=self.bucket, Prefix=f"models/{name}/")
        return [item["Key"] for item in listed.get("Contents", [])]

    def log_lines(self, name: str) -> dict[str, list[str]]:
        """Each log stream's messages (stream name without the job and epoch: `algo-1`)."""
        logs = self.client("logs")
        streams = logs.describe_log_streams(logGroupName=GROUP, logStreamNamePrefix=f"{name}/")["logStreams"]
        return {
            stream["logStreamName"].split("/")[1].rsplit("-", 1)[0]: [
                event["message"]
                for event in logs.get_log_events(logGroupName=GROUP, logStreamName=stream["logStreamName"])["events"]
            ]
            for stream in streams
        }

    def _channel(self, name: str, prefix: str, content_type: str, distribution: str) -> dict[str, Any]:
        source = {
            "S3DataType": "S3Prefix",
            "S3Uri": f"s3://{self.bucket}/{prefix}",
            "S3DataDistributionType": distribution,
        }
        return {"ChannelName": name, "DataSource": {"S3DataSource": source}, "ContentType": content_type}


@pytest.fixture(scope="module")
def training(local_aws: RunningLocalAws) -> Training:
    bucket = unique("training")
    local_aws.client("s3").create_bucket(Bucket=bucket)
    return Training(local_aws, bucket)


@pytest.fixture(scope="module")
def role(training: Training) -> str:
    return training.role()


@pytest.fixture(scope="module")
def data(training: Training) -> str:
    """Three CSV objects of 1,000 rows each under data/<prefix>/, and a test object under data/<prefix>-test/."""
    prefix = f"data/{unique('blobs')}"
    for index in range(3):
        training.put(f"{prefix}/part-{index}.csv", csv_bytes(blobs(1000, seed=index)))
    training.put(f"{prefix}-test/test.csv", csv_bytes(blobs(500, seed=9)))
    return prefix


def test_a_job_trains_the_model_the_project_reads_and_reports_its_lifecycle_and_metrics(
    training: Training, role: str, data: str, tmp_path: Path
) -> None:
    hyperparameters = {"eval_metrics": '["msd","ssd"]', "init_method": "kmeans++"}  # random can seed worse

    job = training.train(role, f"{data}/", hyperparameters, test=f"{data}-test/")

    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    statuses = [transition["Status"] for transition in job["SecondaryStatusTransitions"]]
    assert statuses == ["Starting", "Downloading", "Training", "Uploading", "Completed"]
    assert [transition["StatusMessage"] for transition in job["SecondaryStatusTransitions"]] == [
        "Preparing the instances for training",
        "Downloading input data",
        "Training image download completed. Training in progress.",
        "Uploading generated training model",
        "Training job completed",
    ]  # AWS's words, as real DescribeTrainingJob responses show them
    assert job["TrainingTimeInSeconds"] >= 1
    assert job["BillableTimeInSeconds"] == job["TrainingTimeInSeconds"]
    artifact = job["ModelArtifacts"]["S3ModelArtifacts"]
    assert artifact == f"s3://{training.bucket}/models/{job['TrainingJobName']}/output/model.tar.gz"
    (tmp_path / "model.tar.gz").write_bytes(
        training.client("s3").get_object(Bucket=training.bucket, Key=artifact.split("/", 3)[3])["Body"].read()
    )
    centroids = load_model(tmp_path / "model.tar.gz", "trained").centroids
    assert centroids.shape == (CLUSTERS, FEATURES)
    nearest = np.linalg.norm(CENTRES[:, None, :] - centroids[None, :, :], axis=2).min(axis=1)
    assert nearest.max() < 0.5
    metrics = {metric["MetricName"]: metric["Value"] for metric in job["FinalMetricDataList"]}
    assert set(metrics) == {"test:msd", "test:ssd"}
    assert 6 < metrics["test:msd"] < 10  # unit noise in 8 dimensions: about 8
    assert metrics["test:ssd"] == pytest.approx(metrics["test:msd"] * 500, rel=1e-6)
    lines = training.log_lines(job["TrainingJobName"])["algo-1"]
    assert f"#quality_metric: host=algo-1, test msd <loss>={metrics['test:msd']}" in lines
    # As a real job logs its reduction (sagemaker-python-sdk#2815): the centres, then the train msd.
    assert "shrinking 40 centers into 4" in lines  # auto: 10 x k centres from the one instance
    train = [line for line in lines if line.startswith("#quality_metric: host=algo-1, train msd <loss>=")]
    assert len(train) == 1
    assert float(train[0].rsplit("=", 1)[1]) >= 0


def test_two_instances_each_train_on_the_objects_dealt_them_by_key(training: Training, role: str) -> None:
    prefix = f"data/{unique('sharded')}"
    sizes = [300, 500, 700]
    for index, size in enumerate(sizes):
        training.put(f"{prefix}/part-{index}.rec", encode_rows(blobs(size, seed=index)))

    job = training.train(role, f"{prefix}/", content_type=PROTOBUF, instances=2)

    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    lines = training.log_lines(job["TrainingJobName"])
    assert sorted(lines) == ["algo-1", "algo-2"]
    assert any(line.startswith("algo-1: 1000 records") for line in lines["algo-1"])  # objects 0 and 2
    assert any(line.startswith("algo-2: 500 records") for line in lines["algo-2"])  # object 1
    assert len(training.model_keys(job["TrainingJobName"])) == 1


@pytest.fixture(scope="module")
def protobuf_data(training: Training) -> str:
    """The same three objects of 1,000 rows each as `data`, as RecordIO-protobuf."""
    prefix = f"data/{unique('protobuf')}"
    for index in range(3):
        training.put(f"{prefix}/part-{index}.rec", encode_rows(blobs(1000, seed=index)))
    return prefix


def test_pipe_mode_streams_the_objects_from_s3_instead_of_copying_them(
    training: Training, role: str, protobuf_data: str
) -> None:
    pipe = {"TrainingInputMode": "Pipe"}

    job = training.train(role, f"{protobuf_data}/", {"epochs": "2"}, content_type=PROTOBUF,
                         AlgorithmSpecification=pipe)  # fmt: skip

    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    lines = training.log_lines(job["TrainingJobName"])["algo-1"]
    assert any(line.startswith("algo-1: 3000 records") for line in lines)
    assert not any("downloaded" in line for line in lines)


def test_csv_in_pipe_mode_fails_the_job(training: Training, role: str, data: str) -> None:
    """Rule training-pipe-csv (developer guide "K-Means Algorithm": CSV in File mode only)."""
    job = training.train(role, f"{data}/", AlgorithmSpecification={"TrainingInputMode": "Pipe"})

    assert job["TrainingJobStatus"] == "Failed"
    assert job["FailureReason"].startswith("ClientError: channel train: the k-means algorithm reads text/csv in File")
    assert job["FailureReason"].endswith("(caused by ValidationError)")


REFUSALS: dict[str, tuple[dict[str, str], str]] = {
    "an unknown hyperparameter": ({"num_clusters": "4"}, "'num_clusters' was unexpected"),
    "an out-of-range hyperparameter": ({"local_lloyd_tol": "2"}, "local_lloyd_tol: '2' is not a float in [0, 1]"),
    "k of zero": ({"k": "0"}, "Hyperparameter k: '0' is not a positive integer"),
    "k larger than the rows": ({"k": "5000"}, "k (5000) is larger than the number of training records (3000)"),
}


@pytest.mark.parametrize("case", REFUSALS, ids=list(REFUSALS))
def test_the_algorithm_fails_the_job_with_a_client_error(training: Training, role: str, data: str, case: str) -> None:
    hyperparameters, reason = REFUSALS[case]

    job = training.train(role, f"{data}/", hyperparameters)

    assert job["TrainingJobStatus"] == "Failed"
    assert job["FailureReason"].startswith("ClientError: ")
    assert reason in job["FailureReason"]
    assert training.model_keys(job["TrainingJobName"]) == []


def test_rows_of_another_width_than_feature_dim_fail_the_job(training: Training, role: str, data: str) -> None:
    job = training.train(role, f"{data}/", {"feature_dim": "9"})

    assert job["TrainingJobStatus"] == "Failed"
    assert "rows have 8 features, but feature_dim is 9" in job["FailureReason"]
    assert job["FailureReason"].startswith("ClientError: ")


def test_missing_required_hyperparameters_are_named(training: Training, role: str, data: str) -> None:
    name = training.start(role, f"{data}/", required=False)

    job = training.wait(name)

    assert job["FailureReason"] == (
        "ClientError: No value(s) were specified for 'k', 'feature_dim' which are required hyperparameter(s) "
        "(caused by ValidationError)"
    )


def no_objects_message(training: Training, uri: str, role: str) -> str:
    bucket = uri.removeprefix("s3://").split("/")[0]
    return (
        f'No S3 objects found under S3 URL "{uri}" given in input data source. Please ensure that the bucket exists '
        f'in the selected region (us-east-1), that objects exist under that S3 prefix, and that the role "{role}" '
        f'has "s3:ListBucket" permissions on bucket "{bucket}".'
    )


def test_an_input_prefix_without_objects_is_refused_at_create(training: Training, role: str) -> None:
    """Rule training-input-listed: AWS refuses the call itself, no job is made."""
    prefix = f"data/{unique('empty')}/"
    sagemaker = training.client("sagemaker")
    before = len(sagemaker.list_training_jobs(MaxResults=100)["TrainingJobSummaries"])

    with pytest.raises(ClientError) as refused:
        training.start(role, prefix)

    assert refused.value.response["Error"]["Code"] == "ValidationException"
    uri = f"s3://{training.bucket}/{prefix}"
    assert refused.value.response["Error"]["Message"] == no_objects_message(training, uri, role)
    assert len(sagemaker.list_training_jobs(MaxResults=100)["TrainingJobSummaries"]) == before


def test_an_input_the_role_may_not_list_is_refused_at_create(training: Training, data: str) -> None:
    """Rule training-input-listed: objects there, but the role may not s3:ListBucket."""
    role = training.role(list_bucket=False)

    with pytest.raises(ClientError) as refused:
        training.start(role, f"{data}/")

    assert refused.value.response["Error"]["Code"] == "ValidationException"
    uri = f"s3://{training.bucket}/{data}/"
    assert refused.value.response["Error"]["Message"] == no_objects_message(training, uri, role)


def test_a_volume_key_with_a_local_storage_instance_type_is_refused(training: Training, role: str, data: str) -> None:
    """Rule kms-local-storage (API ResourceConfig.VolumeKmsKeyId)."""
    key = training.client("kms").create_key()["KeyMetadata"]["Arn"]
    resources = {"InstanceType": "ml.g5.xlarge", "VolumeKmsKeyId": key}

    with pytest.raises(ClientError) as refused:
        training.start(role, f"{data}/", ResourceConfig=resources)

    assert refused.value.response["Error"]["Code"] == "ValidationException"
    assert refused.value.response["Error"]["Message"].startswith(
        "You can't request a VolumeKmsKeyId when using an instance type with local storage (ml.g5.xlarge)"
    )


def test_another_image_than_the_regions_kmeans_fails_the_job(training: Training, role: str, data: str) -> None:
    image = {"TrainingImage": "174872318107.dkr.ecr.us-west-2.amazonaws.com/kmeans:1"}

    job = training.train(role, f"{data}/", AlgorithmSpecification=image)

    assert job["TrainingJobStatus"] == "Failed"
    assert "cannot run image 174872318107.dkr.ecr.us-west-2.amazonaws.com/kmeans:1" in job["FailureReason"]


ROLES: dict[str, tuple[dict[str, Any], str]] = {
    "read the input": ({"read": False}, "s3:GetObject"),
    "write the model": ({"write": False}, "s3:PutObject"),
}


@pytest.mark.parametrize("case", ROLES, ids=list(ROLES))
def test_a_role_that_may_not_fails_the_job(training: Training, data: str, case: str) -> None:
    rights, action = ROLES[case]

    job = training.train(training.role(**rights), f"{data}/")

    assert job["TrainingJobStatus"] == "Failed"
    assert f"may not {action}" in job["FailureReason"]
    assert training.model_keys(job["TrainingJobName"]) == []


def test_an_output_key_the_role_may_not_use_fails_the_job(training: Training, role: str, data: str) -> None:
    key = training.client("kms").create_key()["KeyMetadata"]["Arn"]

    job = training.train(role, f"{data}/", OutputDataConfig={"KmsKeyId": key})

    assert job["TrainingJobStatus"] == "Failed"
    assert f"may not kms:GenerateDataKey {key}" in job["FailureReason"]


def test_an_output_key_the_role_may_not_encrypt_with_fails_the_job(training: Training, data: str) -> None:
    """API OutputDataConfig.KmsKeyId: the execution role must include kms:Encrypt."""
    key = training.client("kms").create_key()["KeyMetadata"]["Arn"]
    role = training.role(extra=[allow(["kms:GenerateDataKey", "kms:Decrypt"], [key])])

    job = training.train(role, f"{data}/", OutputDataConfig={"KmsKeyId": key})

    assert job["TrainingJobStatus"] == "Failed"
    assert f"may not kms:Encrypt {key}" in job["FailureReason"]
    assert training.model_keys(job["TrainingJobName"]) == []


def test_a_volume_key_the_role_may_not_grant_on_fails_the_job(training: Training, role: str, data: str) -> None:
    key = training.client("kms").create_key()["KeyMetadata"]["Arn"]

    job = training.train(role, f"{data}/", ResourceConfig={"VolumeKmsKeyId": key})

    assert job["TrainingJobStatus"] == "Failed"
    assert f"may not kms:CreateGrant {key}" in job["FailureReason"]


@pytest.mark.parametrize("for_aws_resource", ["true", "false"])
def test_the_volume_grant_is_asked_as_sagemaker_creates_it_for_the_instances(
    training: Training, data: str, for_aws_resource: str
) -> None:
    """SageMaker creates the volume's grant: kms:GrantIsForAWSResource is true (KMS, "Controlling access to grants")."""
    key = training.client("kms").create_key()["KeyMetadata"]["Arn"]
    condition = {"Bool": {"kms:GrantIsForAWSResource": for_aws_resource}}
    role = training.role(extra=[allow(["kms:CreateGrant"], [key], condition)])

    job = training.train(role, f"{data}/", {"epochs": "1"}, ResourceConfig={"VolumeKmsKeyId": key})

    if for_aws_resource == "true":
        assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    else:
        assert f"may not kms:CreateGrant {key}" in job["FailureReason"]


def test_the_model_is_written_with_the_output_key(training: Training, data: str) -> None:
    key = training.client("kms").create_key()["KeyMetadata"]["Arn"]
    role = training.role(extra=[allow(["kms:GenerateDataKey", "kms:Encrypt", "kms:Decrypt"], [key])])

    job = training.train(role, f"{data}/", OutputDataConfig={"KmsKeyId": key})

    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    head = training.client("s3").head_object(Bucket=training.bucket, Key=training.model_keys(job["TrainingJobName"])[0])
    assert (head["ServerSideEncryption"], head["SSEKMSKeyId"]) == ("aws:kms", key)


@pytest.mark.parametrize("mode", ["File", "Pipe"])
def test_a_stopped_job_stops_and_writes_no_model(training: Training, role: str, protobuf_data: str, mode: str) -> None:
    sagemaker = training.client("sagemaker")
    name = training.start(role, f"{protobuf_data}/", {"epochs": "100000", "mini_batch_size": "10"},
                          content_type=PROTOBUF, AlgorithmSpecification={"TrainingInputMode": mode})  # fmt: skip
    while sagemaker.describe_training_job(TrainingJobName=name)["SecondaryStatus"] != "Training":
        time.sleep(0.1)

    sagemaker.stop_training_job(TrainingJobName=name)
    stopping = sagemaker.describe_training_job(TrainingJobName=name)
    job = training.wait(name)

    assert stopping["TrainingJobStatus"] in ("Stopping", "Stopped")
    assert job["TrainingJobStatus"] == "Stopped"
    assert [t["Status"] for t in job["SecondaryStatusTransitions"]][-2:] == ["Stopping", "Stopped"]
    assert training.model_keys(name) == []


def test_stopping_a_job_that_has_ended_is_refused(training: Training, role: str, data: str) -> None:
    """Rule training-stop-terminal (AWS's words: awslabs/benchmark-ai#928)."""
    job = training.train(role, f"{data}/", {"epochs": "1"})
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")

    with pytest.raises(ClientError) as refused:
        training.client("sagemaker").stop_training_job(TrainingJobName=job["TrainingJobName"])

    assert refused.value.response["Error"]["Code"] == "ValidationException"
    assert refused.value.response["Error"]["Message"] == (
        "The request was rejected because the training job is in status Completed."
    )


def test_an_instance_type_outside_the_apis_training_enum_is_refused(training: Training, role: str, data: str) -> None:
    resources = {"InstanceType": "ml.inf1.xlarge"}  # a hosting type, not in TrainingInstanceType

    with pytest.raises(ClientError) as refused:
        training.start(role, f"{data}/", ResourceConfig=resources)

    assert refused.value.response["Error"]["Code"] == "ValidationException"
    assert "resourceConfig.instanceType" in refused.value.response["Error"]["Message"]


def test_a_second_job_of_the_same_name_is_refused(training: Training, role: str, data: str) -> None:
    name = training.start(role, f"{data}/")

    with pytest.raises(ClientError) as refused:
        training.start(role, f"{data}/", TrainingJobName=name)

    assert refused.value.response["Error"]["Code"] == "ResourceInUse"
    training.wait(name)


def test_a_caller_must_be_allowed_to_pass_the_jobs_role(training: Training, role: str, data: str) -> None:
    """Rule pass-role, for CreateTrainingJob (Service Authorization Reference: dependent action iam:PassRole)."""
    starter = training.caller([allow(["sagemaker:CreateTrainingJob"], ["*"])])

    with pytest.raises(ClientError) as refused:
        training.start(role, f"{data}/", caller=starter)

    assert refused.value.response["Error"]["Code"] == "AccessDeniedException"
    assert "iam:PassRole" in refused.value.response["Error"]["Message"]
    passed = {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}
    passer = training.caller([allow(["sagemaker:CreateTrainingJob"], ["*"]), allow(["iam:PassRole"], [role], passed)])
    training.wait(training.start(role, f"{data}/", caller=passer))
