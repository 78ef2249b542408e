"""CreateTransformJob on the local AWS runs for real: splitting, batching, filters, joins, failures, stop."""

from __future__ import annotations

import contextlib
import gzip
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from botocore.exceptions import ClientError, WaiterError

from contract.execution_role import LIST_SCORING_INPUT
from model_build.alignment import load_model
from model_build.reference import nearest_two
from tests.conftest import RunningLocalAws
from tests.local_aws.strict_account import StrictAccount, allow, hosting_statements, unique

FEATURES = 64


@pytest.fixture(scope="module")
def account(local_aws: RunningLocalAws, artifact_dir: Path) -> StrictAccount:
    return StrictAccount.with_artifact(local_aws, artifact_dir / "model.tar.gz", "transform")


@pytest.fixture(scope="module")
def centroids(artifact_dir: Path) -> np.ndarray:
    return load_model(artifact_dir, "test").centroids


def reader_statements(bucket: str) -> list[dict[str, Any]]:
    """Hosting, and listing the bucket: a transform over an S3Prefix lists it (ListScoringInput)."""
    return [*hosting_statements(bucket), allow(list(LIST_SCORING_INPUT.used), [f"arn:aws:s3:::{bucket}"])]


@pytest.fixture(scope="module")
def model(account: StrictAccount) -> str:
    """A model whose execution role may list and read the bucket and write under output/."""
    writes = allow(["s3:PutObject"], [f"arn:aws:s3:::{account.bucket}/output/*"])
    return account.model(account.role([*reader_statements(account.bucket), writes]))


def rows(count: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random((count, FEATURES), dtype=np.float32) * 16


def csv_text(values: np.ndarray, ids: bool = False) -> bytes:
    lines = [
        ",".join(([f"id{index}"] if ids else []) + [repr(float(v)) for v in row]) for index, row in enumerate(values)
    ]
    return ("\n".join(lines) + "\n").encode()


def run_job(account: StrictAccount, model: str, prefix: str, **overrides: Any) -> dict[str, Any]:
    """Create a job over s3://bucket/<prefix>, wait with boto3's own waiter, and describe it."""
    sagemaker = account.client("sagemaker")
    name = unique("job")
    request: dict[str, Any] = {
        "TransformJobName": name,
        "ModelName": model,
        "TransformInput": {
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{account.bucket}/{prefix}"}},
            "ContentType": "text/csv",
            "SplitType": "Line",
        },
        "TransformOutput": {
            "S3OutputPath": f"s3://{account.bucket}/output/{name}",
            "Accept": "text/csv",
            "AssembleWith": "Line",
        },
        "TransformResources": {"InstanceType": "ml.m5.large", "InstanceCount": 1},
    }
    for key, value in overrides.items():
        request[key] = {**request[key], **value} if isinstance(value, dict) and key in request else value
    sagemaker.create_transform_job(**request)
    with contextlib.suppress(WaiterError):  # a Failed job: described below
        sagemaker.get_waiter("transform_job_completed_or_stopped").wait(
            TransformJobName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 120}
        )
    described: dict[str, Any] = sagemaker.describe_transform_job(TransformJobName=name)
    return described


def outputs(account: StrictAccount, job: dict[str, Any]) -> dict[str, bytes]:
    prefix = job["TransformOutput"]["S3OutputPath"].split(f"s3://{account.bucket}/", 1)[1]
    s3 = account.client("s3")
    listed = s3.list_objects_v2(Bucket=account.bucket, Prefix=prefix).get("Contents", [])
    return {
        item["Key"].removeprefix(prefix + "/"): s3.get_object(Bucket=account.bucket, Key=item["Key"])["Body"].read()
        for item in listed
    }


def put(account: StrictAccount, key: str, body: bytes) -> None:
    account.client("s3").put_object(Bucket=account.bucket, Key=key, Body=body)


def expected_clusters(centroids: np.ndarray, values: np.ndarray) -> list[int]:
    nearest, _ = nearest_two(values, centroids)
    return [int(c) for c in nearest.cluster]


def test_every_object_gets_its_out_file_with_one_line_per_row(
    account: StrictAccount, model: str, centroids: np.ndarray
) -> None:
    prefix = unique("in")
    parts = {f"{prefix}/part-{index}.csv": rows(250, seed=index) for index in range(3)}
    for key, values in parts.items():
        put(account, key, csv_text(values))

    job = run_job(account, model, prefix + "/", TransformResources={"InstanceCount": 2})

    assert job["TransformJobStatus"] == "Completed", job.get("FailureReason")
    written = outputs(account, job)
    assert sorted(written) == sorted(f"{key.split('/', 1)[1]}.out" for key in parts)
    for key, values in parts.items():
        lines = written[f"{key.split('/', 1)[1]}.out"].decode().splitlines()
        assert [int(float(line.split(",")[0])) for line in lines] == expected_clusters(centroids, values)


def test_join_and_filters_give_id_cluster_distance(account: StrictAccount, model: str, centroids: np.ndarray) -> None:
    prefix = unique("ids")
    values = rows(120, seed=7)
    put(account, f"{prefix}/scores.csv", csv_text(values, ids=True))
    processing = {"InputFilter": "$[1:]", "JoinSource": "Input", "OutputFilter": "$[0,-2,-1]"}

    job = run_job(account, model, prefix, DataProcessing=processing, MaxPayloadInMB=1)

    assert job["TransformJobStatus"] == "Completed", job.get("FailureReason")
    lines = [line.split(",") for line in outputs(account, job)["scores.csv.out"].decode().splitlines()]
    assert [fields[0] for fields in lines] == [f"id{index}" for index in range(120)]
    assert [int(float(fields[1])) for fields in lines] == expected_clusters(centroids, values)
    distances = np.linalg.norm(values.astype(np.float64) - centroids[expected_clusters(centroids, values)], axis=1)
    np.testing.assert_allclose([float(fields[2]) for fields in lines], distances, rtol=1e-5)


def test_gzip_jsonlines_single_record_batches(account: StrictAccount, model: str, centroids: np.ndarray) -> None:
    prefix = unique("jsonl")
    values = rows(40, seed=3)
    body = "".join('{"features": [' + ",".join(map(repr, map(float, row))) + "]}\n" for row in values).encode()
    put(account, f"{prefix}/rows.jsonl.gz", gzip.compress(body))

    job = run_job(
        account,
        model,
        prefix,
        BatchStrategy="SingleRecord",
        TransformInput={"ContentType": "application/jsonlines", "CompressionType": "Gzip"},
        TransformOutput={"Accept": "application/jsonlines"},
    )

    assert job["TransformJobStatus"] == "Completed", job.get("FailureReason")
    lines = outputs(account, job)["rows.jsonl.gz.out"].decode().splitlines()
    assert [int(json.loads(line)["closest_cluster"]) for line in lines] == expected_clusters(centroids, values)


FAILURES: dict[str, tuple[Callable[[np.ndarray], bytes], dict[str, Any], str]] = {
    "a record over MaxPayloadInMB": (lambda v: _huge_line(), {"MaxPayloadInMB": 1}, "larger than MaxPayloadInMB"),
    "the wrong feature count": (lambda v: csv_text(v[:, :10]), {}, "expected 64 features per row, got 10"),
    "an unreadable gzip": (
        lambda v: b"this is not gzip",
        {"TransformInput": {"CompressionType": "Gzip"}},
        "could not be decompressed as Gzip",
    ),
}


@pytest.mark.parametrize("case", FAILURES, ids=list(FAILURES))
def test_a_failing_object_fails_the_job_and_leaves_no_partial_output(
    account: StrictAccount, model: str, case: str
) -> None:
    body, overrides, reason = FAILURES[case]
    prefix = unique("bad")
    put(account, f"{prefix}/a-good.csv", csv_text(rows(20)))
    put(account, f"{prefix}/b-bad.csv", body(rows(20)))

    job = run_job(account, model, prefix, **overrides)

    assert job["TransformJobStatus"] == "Failed"
    assert reason in job["FailureReason"]
    assert "b-bad.csv.out" not in outputs(account, job)


def _huge_line() -> bytes:
    """1.5 MB: one record over a 1 MB MaxPayloadInMB."""
    return (",".join(["1.2345678"] * 150_000) + "\n").encode()


def test_an_execution_role_that_may_not_write_the_output_fails_the_job(account: StrictAccount) -> None:
    reader = account.model(account.role(reader_statements(account.bucket)))
    prefix = unique("denied")
    put(account, f"{prefix}/rows.csv", csv_text(rows(5)))

    job = run_job(account, reader, prefix)

    assert job["TransformJobStatus"] == "Failed"
    assert "Access Denied" in job["FailureReason"]
    assert "s3:PutObject" in job["FailureReason"]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"MaxPayloadInMB": 0}, "MaxPayloadInMB 0 is outside 1..100"),
        ({"MaxPayloadInMB": 50, "MaxConcurrentTransforms": 3}, "must not exceed 100"),
        ({"DataProcessing": {"InputFilter": "$..features"}}, "DataProcessing.InputFilter"),
        (
            {"DataProcessing": {"JoinSource": "Input"}, "TransformOutput": {"Accept": "application/jsonlines"}},
            "JoinSource Input needs the same format",
        ),
    ],
)
def test_what_the_api_refuses_at_create(
    account: StrictAccount, model: str, overrides: dict[str, Any], message: str
) -> None:
    with pytest.raises(ClientError) as raised:
        run_job(account, model, "anything", **overrides)

    assert raised.value.response["Error"]["Code"] == "ValidationException"
    assert message in raised.value.response["Error"]["Message"]


def test_a_stopped_job_ends_stopped(account: StrictAccount, model: str) -> None:
    prefix = unique("long")
    for index in range(6):
        put(account, f"{prefix}/part-{index}.csv", csv_text(rows(3000, seed=index)))
    sagemaker = account.client("sagemaker")
    name = unique("stopped")
    sagemaker.create_transform_job(
        TransformJobName=name,
        ModelName=model,
        TransformInput={
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{account.bucket}/{prefix}"}},
            "ContentType": "text/csv",
            "SplitType": "Line",
        },
        TransformOutput={"S3OutputPath": f"s3://{account.bucket}/output/{name}"},
        TransformResources={"InstanceType": "ml.m5.large", "InstanceCount": 1},
        BatchStrategy="SingleRecord",
    )

    sagemaker.stop_transform_job(TransformJobName=name)
    sagemaker.get_waiter("transform_job_completed_or_stopped").wait(
        TransformJobName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 120}
    )

    assert sagemaker.describe_transform_job(TransformJobName=name)["TransformJobStatus"] == "Stopped"
    listed = [
        j["TransformJobName"] for j in sagemaker.list_transform_jobs(NameContains="stopped")["TransformJobSummaries"]
    ]
    assert name in listed


def test_recordio_protobuf_split_by_record(account: StrictAccount, model: str, centroids: np.ndarray) -> None:
    from recordio.codec import encode_rows

    prefix = unique("recordio")
    values = rows(30, seed=5)
    put(account, f"{prefix}/rows.rec", encode_rows(values))

    job = run_job(
        account,
        model,
        prefix,
        TransformInput={"ContentType": "application/x-recordio-protobuf", "SplitType": "RecordIO"},
        TransformOutput={"Accept": "application/jsonlines"},
        MaxPayloadInMB=1,
    )

    assert job["TransformJobStatus"] == "Completed", job.get("FailureReason")
    lines = outputs(account, job)["rows.rec.out"].decode().splitlines()
    assert [int(json.loads(line)["closest_cluster"]) for line in lines] == expected_clusters(centroids, values)


def test_a_role_that_may_write_logs_gets_one_stream_per_instance(account: StrictAccount) -> None:
    writes = allow(["s3:PutObject"], [f"arn:aws:s3:::{account.bucket}/output/*"])
    logs = allow(
        ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
        ["arn:aws:logs:us-east-1:*:log-group:/aws/sagemaker/TransformJobs*"],
    )
    logged = account.model(account.role([*reader_statements(account.bucket), writes, logs]))
    prefix = unique("logged")
    for index in range(2):
        put(account, f"{prefix}/part-{index}.csv", csv_text(rows(5, seed=index)))

    job = run_job(account, logged, prefix + "/", TransformResources={"InstanceCount": 2})

    assert job["TransformJobStatus"] == "Completed", job.get("FailureReason")
    client = account.client("logs")
    group = "/aws/sagemaker/TransformJobs"
    streams = client.describe_log_streams(logGroupName=group, logStreamNamePrefix=job["TransformJobName"] + "/")
    names = [stream["logStreamName"] for stream in streams["logStreams"]]
    assert len(names) == 2
    messages = [
        event["message"]
        for name in names
        for event in client.get_log_events(logGroupName=group, logStreamName=name)["events"]
    ]
    assert sum("transformed" in message for message in messages) == 2
    assert sum(message == "instance finished" for message in messages) == 2


def test_join_source_input_is_refused_unless_the_input_is_csv_or_json(account: StrictAccount, model: str) -> None:
    recordio = {"ContentType": "application/x-recordio-protobuf", "SplitType": "RecordIO"}

    with pytest.raises(ClientError) as raised:
        run_job(
            account,
            model,
            "anything",
            TransformInput=recordio,
            TransformOutput={"Accept": "application/jsonlines"},
            DataProcessing={"JoinSource": "Input"},
        )

    assert raised.value.response["Error"]["Code"] == "ValidationException"
    assert "JoinSource Input is supported for CSV and JSON input only" in raised.value.response["Error"]["Message"]


@pytest.mark.parametrize("processing", [{"InputFilter": "$[1:]"}, {"OutputFilter": "$[0]"}])
def test_filters_are_refused_unless_the_input_is_csv_or_json(
    account: StrictAccount, model: str, processing: dict[str, str]
) -> None:
    recordio = {"ContentType": "application/x-recordio-protobuf", "SplitType": "RecordIO"}

    with pytest.raises(ClientError) as raised:
        run_job(account, model, "anything", TransformInput=recordio, DataProcessing=processing)

    assert raised.value.response["Error"]["Code"] == "ValidationException"
    assert "select within CSV and JSON records only" in raised.value.response["Error"]["Message"]


def test_a_json_record_that_is_not_an_object_is_joined_under_sagemaker_input(
    account: StrictAccount, model: str, centroids: np.ndarray
) -> None:
    prefix = unique("arrays")
    values = rows(6, seed=11)
    records = [[{"features": [float(v) for v in row]}] for row in values]
    put(account, f"{prefix}/rows.jsonl", "".join(json.dumps(record) + "\n" for record in records).encode())
    jsonlines = "application/jsonlines"

    job = run_job(
        account,
        model,
        prefix,
        TransformInput={"ContentType": jsonlines},
        TransformOutput={"Accept": jsonlines},
        DataProcessing={"InputFilter": "$[0]", "JoinSource": "Input"},
    )

    assert job["TransformJobStatus"] == "Completed", job.get("FailureReason")
    joined = [json.loads(line) for line in outputs(account, job)["rows.jsonl.out"].decode().splitlines()]
    assert [sorted(line) for line in joined] == [["SageMakerInput", "SageMakerOutput"]] * len(values)
    assert [line["SageMakerInput"] for line in joined] == records
    clusters = [int(line["SageMakerOutput"]["closest_cluster"]) for line in joined]
    assert clusters == expected_clusters(centroids, values)


def writer_statements(bucket: str) -> list[dict[str, Any]]:
    return [*reader_statements(bucket), allow(["s3:PutObject"], [f"arn:aws:s3:::{bucket}/output/*"])]


def test_listing_an_s3_prefix_needs_list_bucket_for_that_prefix(account: StrictAccount) -> None:
    lists = allow(["s3:ListBucket"], [f"arn:aws:s3:::{account.bucket}"])
    lists["Condition"] = {"StringLike": {"s3:prefix": ["granted/*"]}}
    writes = allow(["s3:PutObject"], [f"arn:aws:s3:::{account.bucket}/output/*"])
    scoped = account.model(account.role([*hosting_statements(account.bucket), lists, writes]))
    granted, other = f"granted/{unique('in')}", unique("other")
    for prefix in (granted, other):
        put(account, f"{prefix}/rows.csv", csv_text(rows(5)))

    allowed = run_job(account, scoped, granted + "/")
    denied = run_job(account, scoped, other + "/")

    assert allowed["TransformJobStatus"] == "Completed", allowed.get("FailureReason")
    assert denied["TransformJobStatus"] == "Failed"
    assert denied["FailureReason"].startswith("ClientError: Access Denied")
    assert f"s3:ListBucket arn:aws:s3:::{account.bucket}" in denied["FailureReason"]


def test_encrypted_input_needs_kms_decrypt_on_the_key_that_encrypted_it(account: StrictAccount, model: str) -> None:
    key = account.client("kms").create_key()["KeyMetadata"]["Arn"]
    prefix = unique("sealed")
    account.client("s3").put_object(
        Bucket=account.bucket, Key=f"{prefix}/rows.csv", Body=csv_text(rows(5)), ServerSideEncryption="aws:kms",
        SSEKMSKeyId=key,
    )  # fmt: skip
    decrypts = account.model(account.role([*writer_statements(account.bucket), allow(["kms:Decrypt"], [key])]))

    denied = run_job(account, model, prefix)
    allowed = run_job(account, decrypts, prefix)

    assert denied["TransformJobStatus"] == "Failed"
    assert f"Access Denied: the execution role may not kms:Decrypt {key}" in denied["FailureReason"]
    assert allowed["TransformJobStatus"] == "Completed", allowed.get("FailureReason")


def test_outputs_are_encrypted_with_kms_key_id_which_the_role_must_allow(account: StrictAccount, model: str) -> None:
    key = account.client("kms").create_key()["KeyMetadata"]["Arn"]
    prefix = unique("to-seal")
    put(account, f"{prefix}/rows.csv", csv_text(rows(5)))
    generates = account.model(account.role([*writer_statements(account.bucket), allow(["kms:GenerateDataKey"], [key])]))

    denied = run_job(account, model, prefix, TransformOutput={"KmsKeyId": key})
    sealed = run_job(account, generates, prefix, TransformOutput={"KmsKeyId": key})
    default = run_job(account, model, prefix)

    assert denied["TransformJobStatus"] == "Failed"
    assert f"may not kms:GenerateDataKey {key}" in denied["FailureReason"]
    heads = {name: head_output(account, job) for name, job in (("sealed", sealed), ("default", default))}
    assert heads["sealed"]["ServerSideEncryption"] == "aws:kms"
    assert heads["sealed"]["SSEKMSKeyId"] == key
    assert heads["default"]["SSEKMSKeyId"].endswith(":alias/aws/s3")  # "the default KMS key for Amazon S3"


def head_output(account: StrictAccount, job: dict[str, Any]) -> dict[str, Any]:
    assert job["TransformJobStatus"] == "Completed", job.get("FailureReason")
    prefix = job["TransformOutput"]["S3OutputPath"].split(f"s3://{account.bucket}/", 1)[1]
    head: dict[str, Any] = account.client("s3").head_object(Bucket=account.bucket, Key=f"{prefix}/rows.csv.out")
    return head


def test_a_jobs_key_grants_are_asked_as_s3_asks_kms_with_via_service_and_the_keys_tags(account: StrictAccount) -> None:
    """The job reads and writes SSE-KMS objects through S3: a grant conditioned on kms:ViaService and a key tag holds
    for the tagged key only (the S3 path's request context, one home: s3_objects.kms_request)."""
    kms = account.client("kms")
    tagged, untagged = (
        kms.create_key(Tags=tags)["KeyMetadata"]["Arn"] for tags in ([{"TagKey": "use", "TagValue": "scoring"}], [])
    )
    condition = {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com", "aws:ResourceTag/use": "scoring"}}
    grant = allow(["kms:Decrypt", "kms:GenerateDataKey"], ["*"], condition)
    model = account.model(account.role([*writer_statements(account.bucket), grant]))
    prefixes = {}
    for name, key in (("tagged", tagged), ("untagged", untagged)):
        prefixes[name] = unique(name)
        account.client("s3").put_object(
            Bucket=account.bucket, Key=f"{prefixes[name]}/rows.csv", Body=csv_text(rows(5)),
            ServerSideEncryption="aws:kms", SSEKMSKeyId=key,
        )  # fmt: skip

    allowed = run_job(account, model, prefixes["tagged"], TransformOutput={"KmsKeyId": tagged})
    denied = run_job(account, model, prefixes["untagged"], TransformOutput={"KmsKeyId": tagged})

    assert allowed["TransformJobStatus"] == "Completed", allowed.get("FailureReason")
    assert denied["TransformJobStatus"] == "Failed"
    assert f"may not kms:Decrypt {untagged}" in denied["FailureReason"]
