"""What the runtime does around the model: serverless cold starts and throttling, network emulation, capture."""

from __future__ import annotations

import json
import os
import random
import signal
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from local_aws.runtime.asynchronous import AsyncInvocations, AsyncRequest
from local_aws.runtime.capture import DataCapture, Exchange, capture_key, capture_record
from local_aws.runtime.network import NetworkEmulation
from local_aws.runtime.serverless import Refusal, ServerlessGate
from tests.conftest import RunningLocalAws, started_local_aws
from tests.local_aws.strict_account import StrictAccount, allow, async_statements, unique

CAPTURE = {
    "EnableCapture": True,
    "InitialSamplingPercentage": 100,
    "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
    "CaptureContentTypeHeader": {"CsvContentTypes": ["text/csv"], "JsonContentTypes": ["application/json"]},
}


@pytest.fixture(scope="module")
def account(local_aws: RunningLocalAws, artifact_dir: Path) -> StrictAccount:
    return StrictAccount.with_artifact(local_aws, artifact_dir / "model.tar.gz", "fleet")


def serverless_endpoint(account: StrictAccount, max_concurrency: int = 2) -> str:
    config = unique("serverless")
    variant = {
        "VariantName": "AllTraffic",
        "ModelName": account.model(),
        "ServerlessConfig": {"MemorySizeInMB": 2048, "MaxConcurrency": max_concurrency},
    }
    account.client("sagemaker").create_endpoint_config(EndpointConfigName=config, ProductionVariants=[variant])
    return str(account.endpoint(config)["EndpointName"])


def invoke(account: StrictAccount, endpoint: str, body: str = "0," * 63 + "0") -> dict[str, Any]:
    response: dict[str, Any] = account.client("sagemaker-runtime").invoke_endpoint(
        EndpointName=endpoint, ContentType="text/csv", Body=body
    )
    response["Payload"] = response["Body"].read()
    return response


def test_a_serverless_endpoint_answers_model_not_ready_once_after_a_deploy(account: StrictAccount) -> None:
    """Rule serverless-cold-start (botocore's standard retries do not retry it)."""
    endpoint = serverless_endpoint(account)

    with pytest.raises(ClientError) as cold:
        invoke(account, endpoint)
    warm = invoke(account, endpoint)

    assert cold.value.response["Error"]["Code"] == "ModelNotReadyException"
    assert cold.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429
    assert json.loads(warm["Payload"])["predictions"]


def test_more_concurrent_invocations_than_max_concurrency_are_throttled() -> None:
    """Rule serverless-concurrency: admitted up to MaxConcurrency, refused beyond, admitted again on release."""
    gate = ServerlessGate(cold_starts=0)

    first, second = gate.admit("e", "c", "v", 2), gate.admit("e", "c", "v", 2)
    third = gate.admit("e", "c", "v", 2)
    assert callable(first)
    assert callable(second)
    first()
    fourth = gate.admit("e", "c", "v", 2)

    assert isinstance(third, Refusal)
    assert (third.status, third.code) == (400, "ThrottlingException")
    assert callable(fourth)


def test_a_redeploy_starts_cold_again() -> None:
    gate = ServerlessGate(cold_starts=1)

    answers = [gate.admit("e", config, "v", 5) for config in ("config-1", "config-1", "config-2")]

    assert [isinstance(answer, Refusal) for answer in answers] == [True, False, True]


def test_network_emulation_adds_the_round_trip_and_the_transfer_time() -> None:
    emulation = NetworkEmulation(latency_ms=20, megabits_per_s=8)

    assert emulation.delay_s(request_bytes=500_000, response_bytes=500_000) == pytest.approx(0.02 + 1.0)
    assert NetworkEmulation().delay_s(10**9, 10**9) == 0


def test_the_runtime_adds_the_emulated_latency(
    account: StrictAccount, tmp_path_factory: pytest.TempPathFactory, artifact_dir: Path
) -> None:
    with started_local_aws(tmp_path_factory.mktemp("slow"), LOCAL_AWS_RUNTIME_LATENCY_MS="400") as slow:
        far = StrictAccount(slow, unique("far"))
        slow.client("s3").create_bucket(Bucket=far.bucket)
        slow.client("s3").put_object(
            Bucket=far.bucket, Key="good.tar.gz", Body=(artifact_dir / "model.tar.gz").read_bytes()
        )
        endpoint = far.endpoint(far.config(far.model()))["EndpointName"]
        invoke(far, endpoint)  # loads the model
        started = time.perf_counter()
        invoke(far, endpoint)
        elapsed = time.perf_counter() - started

    assert elapsed >= 0.4


def test_captured_requests_land_in_sagemakers_layout_and_format(account: StrictAccount) -> None:
    destination = f"s3://{account.bucket}/capture"
    config = account.config(account.model(), DataCaptureConfig={**CAPTURE, "DestinationS3Uri": destination})
    endpoint = account.endpoint(config)["EndpointName"]

    invoke(account, endpoint, body="1," * 63 + "1")
    keys = _captured_keys(account, f"capture/{endpoint}/AllTraffic/")

    (key,) = keys
    hour = datetime.now(UTC).strftime("%Y/%m/%d/")
    assert key.startswith(f"capture/{endpoint}/AllTraffic/{hour}")
    assert key.endswith(".jsonl")
    record = json.loads(account.client("s3").get_object(Bucket=account.bucket, Key=key)["Body"].read())
    captured = record["captureData"]
    assert captured["endpointInput"] == {
        "observedContentType": "text/csv",
        "mode": "INPUT",
        "data": "1," * 63 + "1",
        "encoding": "CSV",
    }
    assert captured["endpointOutput"]["encoding"] == "JSON"
    assert json.loads(captured["endpointOutput"]["data"])["predictions"]
    assert set(record["eventMetadata"]) == {"eventId", "inferenceTime"}


def test_a_shadow_gets_a_copy_of_each_request_and_answers_no_one(account: StrictAccount, challenger_dir: Path) -> None:
    s3 = account.client("s3")
    s3.put_object(Bucket=account.bucket, Key="shadow.tar.gz", Body=(challenger_dir / "model.tar.gz").read_bytes())
    production, shadow = account.model(), account.model(key="shadow.tar.gz")
    destination = f"s3://{account.bucket}/shadow-capture"
    config = unique("shadowed")
    variant = {"ModelName": production, "InstanceType": "ml.m5.large", "InitialInstanceCount": 1}
    account.client("sagemaker").create_endpoint_config(
        EndpointConfigName=config,
        ProductionVariants=[{**variant, "VariantName": "AllTraffic", "InitialVariantWeight": 1.0}],
        ShadowProductionVariants=[
            {**variant, "VariantName": "Shadow", "ModelName": shadow, "InitialVariantWeight": 1.0}
        ],
        DataCaptureConfig={**CAPTURE, "DestinationS3Uri": destination},
    )
    endpoint = account.endpoint(config)["EndpointName"]
    body = ",".join(["16"] * 32 + ["0"] * 32)

    answered = invoke(account, endpoint, body=body)
    production_keys = _captured_keys(account, f"shadow-capture/{endpoint}/AllTraffic/")
    shadow_keys = _captured_keys(account, f"shadow-capture/{endpoint}/Shadow/")

    assert answered["InvokedProductionVariant"] == "AllTraffic"
    assert len(production_keys) == 1
    assert len(shadow_keys) == 1
    records = [_captured(account, key) for key in (*production_keys, *shadow_keys)]
    assert records[0]["captureData"]["endpointInput"] == records[1]["captureData"]["endpointInput"]
    assert records[0]["captureData"]["endpointOutput"]["data"] == answered["Payload"].decode()
    shadow_answer = json.loads(records[1]["captureData"]["endpointOutput"]["data"])
    assert (
        shadow_answer["predictions"][0]["distance_to_cluster"]
        != json.loads(answered["Payload"])["predictions"][0]["distance_to_cluster"]
    )  # the shadow ran its own model


def _captured(account: StrictAccount, key: str) -> dict[str, Any]:
    record: dict[str, Any] = json.loads(account.client("s3").get_object(Bucket=account.bucket, Key=key)["Body"].read())
    return record


def _captured_keys(account: StrictAccount, prefix: str) -> list[str]:
    for _ in range(50):  # capture is written in the background
        listed = account.client("s3").list_objects_v2(Bucket=account.bucket, Prefix=prefix)
        if listed.get("KeyCount"):
            return [item["Key"] for item in listed["Contents"]]
        time.sleep(0.1)
    return []


class RecordingS3:
    def __init__(self) -> None:
        self.puts: list[dict[str, Any]] = []

    def put_object(self, **kwargs: Any) -> None:
        self.puts.append(kwargs)


@pytest.mark.parametrize("percent", [0, 25, 100])
def test_capture_keeps_the_sampling_percentage(percent: int) -> None:
    s3 = RecordingS3()
    capture = DataCapture(s3, chooser=random.Random(7))
    config = {**CAPTURE, "InitialSamplingPercentage": percent, "DestinationS3Uri": "s3://b/p"}

    for _ in range(400):
        capture.offer(config, Exchange("e", "v", "text/csv", b"1", "application/json", b"{}"))
    capture.drain()

    assert abs(sum(put["Body"].count(b"\n") for put in s3.puts) - 4 * percent) <= 30  # records: one a line


def test_types_outside_the_capture_headers_are_base64_and_keys_carry_minute_second_millis() -> None:
    when = datetime(2026, 11, 25, 21, 7, 3, 123000, tzinfo=UTC)
    exchange = Exchange("e", "v", "application/x-recordio-protobuf", b"\x00\x01", "application/json", b"{}")

    record = capture_record(CAPTURE, exchange, when)

    assert record["captureData"]["endpointInput"]["encoding"] == "BASE64"
    assert record["captureData"]["endpointInput"]["data"] == "AAE="
    assert capture_key("/prefix/", exchange, when).startswith("prefix/e/v/2026/11/25/21/07-03-123-")


def _async_endpoint(
    account: StrictAccount, topics: dict[str, str], kms_key: str | None = None, role: str | None = None
) -> str:
    """An asynchronous endpoint whose Model's role (by default) may do all SageMaker does for it as that role."""
    config = unique("async")
    role = role or account.role(async_statements(account.bucket, list(topics.values()), kms_key))
    account.client("sagemaker").create_endpoint_config(
        EndpointConfigName=config,
        ProductionVariants=[
            {"VariantName": "AllTraffic", "ModelName": account.model(role), "InstanceType": "ml.m5.large",
             "InitialInstanceCount": 1, "InitialVariantWeight": 1.0}
        ],
        AsyncInferenceConfig={
            "ClientConfig": {"MaxConcurrentInvocationsPerInstance": 2},
            "OutputConfig": {
                "S3OutputPath": f"s3://{account.bucket}/async-out",
                "S3FailurePath": f"s3://{account.bucket}/async-failed",
                "NotificationConfig": topics,
                **({"KmsKeyId": kms_key} if kms_key else {}),
            },
        },
    )  # fmt: skip
    return str(account.endpoint(config)["EndpointName"])


def _subscribed_queue(account: StrictAccount, topic_arn: str) -> str:
    sqs = account.client("sqs")
    url: str = sqs.create_queue(QueueName=unique("notified"))["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    account.client("sns").subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
    return url


def _notified(account: StrictAccount, queue_url: str) -> dict[str, Any]:
    for _ in range(50):
        messages = account.client("sqs").receive_message(QueueUrl=queue_url, WaitTimeSeconds=1).get("Messages", [])
        if messages:
            message: dict[str, Any] = json.loads(json.loads(messages[0]["Body"])["Message"])
            return message
    raise AssertionError("no notification arrived")


def test_an_async_invocation_answers_202_then_writes_s3_and_notifies(account: StrictAccount) -> None:
    sns = account.client("sns")
    success, error = (sns.create_topic(Name=unique(kind))["TopicArn"] for kind in ("done", "failed"))
    succeeded_queue, failed_queue = _subscribed_queue(account, success), _subscribed_queue(account, error)
    endpoint = _async_endpoint(account, {"SuccessTopic": success, "ErrorTopic": error})
    s3, runtime = account.client("s3"), account.client("sagemaker-runtime")
    s3.put_object(Bucket=account.bucket, Key="async-in/good.csv", Body=("1," * 63 + "1").encode())
    s3.put_object(Bucket=account.bucket, Key="async-in/bad.csv", Body=b"1,2,3")

    good = runtime.invoke_endpoint_async(
        EndpointName=endpoint, InputLocation=f"s3://{account.bucket}/async-in/good.csv", ContentType="text/csv"
    )
    bad = runtime.invoke_endpoint_async(
        EndpointName=endpoint, InputLocation=f"s3://{account.bucket}/async-in/bad.csv", ContentType="text/csv",
        InferenceId="the-bad-one",
    )  # fmt: skip
    done, failed = _notified(account, succeeded_queue), _notified(account, failed_queue)

    assert good["ResponseMetadata"]["HTTPStatusCode"] == 202
    assert good["OutputLocation"] == f"s3://{account.bucket}/async-out/{good['InferenceId']}.out"
    answer = json.loads(s3.get_object(Bucket=account.bucket, Key=f"async-out/{good['InferenceId']}.out")["Body"].read())
    assert len(answer["predictions"]) == 1
    assert done["invocationStatus"] == "Completed"
    assert done["responseParameters"]["outputLocation"] == good["OutputLocation"]
    assert bad["FailureLocation"] == f"s3://{account.bucket}/async-failed/the-bad-one-error.out"
    assert failed["invocationStatus"] == "Failed"
    assert failed["inferenceId"] == "the-bad-one"
    failure = s3.get_object(Bucket=account.bucket, Key="async-failed/the-bad-one-error.out")["Body"].read()
    assert b"features" in failure


def test_accepted_async_invocations_outlive_a_crash_of_the_runtime(
    account: StrictAccount, local_aws: RunningLocalAws
) -> None:
    """kill -9 with invocations queued: the replaced runtime answers each, at the location it was promised."""
    from local_aws.processes import read_pids

    endpoint = _async_endpoint(account, {})
    s3, runtime = account.client("s3"), account.client("sagemaker-runtime")
    rows = "\n".join(",".join(str(random.random()) for _ in range(64)) for _ in range(20000))
    s3.put_object(Bucket=account.bucket, Key="async-in/many.csv", Body=rows.encode())
    accepted = [
        runtime.invoke_endpoint_async(
            EndpointName=endpoint, InputLocation=f"s3://{account.bucket}/async-in/many.csv", ContentType="text/csv",
            InferenceId=f"durable-{number}",
        )
        for number in range(12)
    ]  # fmt: skip
    supervisor = read_pids(local_aws.config)["runtime"]
    (worker,) = Path(f"/proc/{supervisor}/task/{supervisor}/children").read_text().split()
    os.kill(int(worker), signal.SIGKILL)
    keys = [answer["OutputLocation"].removeprefix(f"s3://{account.bucket}/") for answer in accepted]
    answered_before = {key for key in keys if _exists(s3, account.bucket, key)}
    spool = local_aws.config.state_dir / "async-invocations"
    deadline, grace = time.monotonic() + 120, time.monotonic() + 10
    while time.monotonic() < deadline and not all(_exists(s3, account.bucket, key) for key in keys):
        if time.monotonic() > grace and not any(spool.glob("*.json")):
            break  # nothing left to answer: waiting longer would only slow the test down when it fails
        time.sleep(1)

    assert len(answered_before) < len(keys)  # some were still queued when the runtime died
    assert [key for key in keys if not _exists(s3, account.bucket, key)] == []
    assert not list((local_aws.config.state_dir / "async-invocations").glob("*.json"))  # answered: unspooled


def test_an_async_endpoint_scaled_to_zero_answers_once_an_instance_is_back(account: StrictAccount) -> None:
    endpoint = _async_endpoint(account, {})
    sagemaker, s3 = account.client("sagemaker"), account.client("s3")
    s3.put_object(Bucket=account.bucket, Key="async-in/zero.csv", Body=("1," * 63 + "1").encode())

    def scale(count: int) -> None:
        desired = [{"VariantName": "AllTraffic", "DesiredInstanceCount": count}]
        sagemaker.update_endpoint_weights_and_capacities(EndpointName=endpoint, DesiredWeightsAndCapacities=desired)

    scale(0)
    accepted = account.client("sagemaker-runtime").invoke_endpoint_async(
        EndpointName=endpoint, InputLocation=f"s3://{account.bucket}/async-in/zero.csv", ContentType="text/csv"
    )
    key = accepted["OutputLocation"].removeprefix(f"s3://{account.bucket}/")
    time.sleep(3)
    answered_without_instances = _exists(s3, account.bucket, key)
    scale(1)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not _exists(s3, account.bucket, key):
        time.sleep(0.5)

    assert not answered_without_instances
    assert _exists(s3, account.bucket, key)


def test_the_backlog_of_an_async_endpoint_without_instances_is_published_to_cloudwatch(account: StrictAccount) -> None:
    endpoint = _async_endpoint(account, {})
    sagemaker, s3, cloudwatch = account.client("sagemaker"), account.client("s3"), account.client("cloudwatch")
    s3.put_object(Bucket=account.bucket, Key="async-in/backlog.csv", Body=("1," * 63 + "1").encode())

    def scale(count: int) -> None:
        desired = [{"VariantName": "AllTraffic", "DesiredInstanceCount": count}]
        sagemaker.update_endpoint_weights_and_capacities(EndpointName=endpoint, DesiredWeightsAndCapacities=desired)

    def maximum(metric: str) -> float:
        now = datetime.now(UTC)
        points = cloudwatch.get_metric_statistics(
            Namespace="AWS/SageMaker", MetricName=metric, Dimensions=[{"Name": "EndpointName", "Value": endpoint}],
            StartTime=datetime.fromtimestamp(now.timestamp() - 600, UTC), EndTime=now, Period=60,
            Statistics=["Maximum"],
        )["Datapoints"]  # fmt: skip
        return max((point["Maximum"] for point in points), default=0.0)

    scale(0)
    try:
        for _ in range(2):
            account.client("sagemaker-runtime").invoke_endpoint_async(
                EndpointName=endpoint,
                InputLocation=f"s3://{account.bucket}/async-in/backlog.csv",
                ContentType="text/csv",
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and maximum("ApproximateBacklogSize") < 2:  # both queued, then published
            time.sleep(1)
    finally:
        scale(1)  # let the queued requests be answered

    assert maximum("HasBacklogWithoutCapacity") == 1
    assert maximum("ApproximateBacklogSize") == 2
    assert maximum("ApproximateBacklogSizePerInstance") == 2


def test_an_async_answer_is_encrypted_with_the_output_config_kms_key(account: StrictAccount) -> None:
    key = account.client("kms").create_key()["KeyMetadata"]
    endpoint = _async_endpoint(account, {}, kms_key=key["Arn"])
    s3 = account.client("s3")
    s3.put_object(Bucket=account.bucket, Key="async-in/kms.csv", Body=("1," * 63 + "1").encode())

    accepted = account.client("sagemaker-runtime").invoke_endpoint_async(
        EndpointName=endpoint, InputLocation=f"s3://{account.bucket}/async-in/kms.csv", ContentType="text/csv"
    )
    output = accepted["OutputLocation"].removeprefix(f"s3://{account.bucket}/")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not _exists(s3, account.bucket, output):
        time.sleep(0.5)
    head = s3.head_object(Bucket=account.bucket, Key=output)

    assert head["ServerSideEncryption"] == "aws:kms"
    assert key["KeyId"] in head["SSEKMSKeyId"]


class _Bucket:
    """Just enough of an S3 client for AsyncInvocations."""

    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}

    def get_object(self, Bucket: str, Key: str) -> dict[str, Any]:  # noqa: N803 (boto3's names)
        import io

        return {"Body": io.BytesIO(self.objects.get(Key, b"1"))}

    def put_object(self, Bucket: str, Key: str, Body: bytes) -> None:  # noqa: N803
        self.objects[Key] = Body


def test_async_requests_answered_at_once_are_bounded_by_instances_times_max_concurrency() -> None:
    from local_aws.runtime.resolver import Endpoint, Variant

    lock, answering, peak = threading.Lock(), [0], [0]

    def predict(variant: Any, content_type: str, accept: str | None, body: bytes) -> tuple[bytes, str]:
        with lock:
            answering[0] += 1
            peak[0] = max(peak[0], answering[0])
        time.sleep(0.2)
        with lock:
            answering[0] -= 1
        return b"{}", "application/json"

    variant = Variant("AllTraffic", 1.0, None, 1, None)  # type: ignore[arg-type]
    config = {"ClientConfig": {"MaxConcurrentInvocationsPerInstance": 2}, "OutputConfig": {"S3OutputPath": "s3://b/o"}}
    endpoint = Endpoint("scaled", (variant,), 0.0, "config", async_config=config)
    bucket = _Bucket()
    invocations = AsyncInvocations(bucket, None, predict, instance_count=lambda name, variant: 3)
    for number in range(12):
        invocations.offer(
            AsyncRequest(endpoint, variant, f"id-{number}", "s3://b/in", "text/csv", None, f"s3://b/o/{number}.out",
                         f"s3://b/f/{number}", datetime.now(UTC))
        )  # fmt: skip
    invocations.drain()

    assert peak[0] == 2 * 3
    assert len([key for key in bucket.objects if key.startswith("o/")]) == 12


def _exists(s3: Any, bucket: str, key: str) -> bool:
    try:
        s3.head_object(Bucket=bucket, Key=key)
    except ClientError:
        return False
    return True


def test_an_async_endpoint_refuses_real_time_invocations(account: StrictAccount) -> None:
    endpoint = _async_endpoint(account, {})

    with pytest.raises(ClientError) as raised:
        invoke(account, endpoint)

    assert "use InvokeEndpointAsync" in raised.value.response["Error"]["Message"]


ONE_ROW = ("1," * 63 + "1").encode()


def _artifact_reader(account: StrictAccount, topics: list[str]) -> list[dict[str, Any]]:
    """A role that may read the artifact but no input, and write the answers and failures."""
    statements = async_statements(account.bucket, topics)
    statements[0] = allow(["s3:GetObject"], [f"arn:aws:s3:::{account.bucket}/good.tar.gz"])
    return statements


@pytest.mark.parametrize(
    ("missing", "denied"), [("read", "s3:GetObject"), ("write", "s3:PutObject"), ("decrypt", "kms:Decrypt")]
)
def test_an_async_request_is_answered_as_the_execution_role_and_fails_where_it_may_not(
    account: StrictAccount, missing: str, denied: str
) -> None:
    """Rule async-execution-role: the failure object and the ErrorTopic say what the role could not do."""
    error = account.client("sns").create_topic(Name=unique("failed"))["TopicArn"]
    failed_queue = _subscribed_queue(account, error)
    key = account.client("kms").create_key()["KeyMetadata"]["Arn"]
    s3 = account.client("s3")
    encrypted = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": key} if missing == "decrypt" else {}
    s3.put_object(Bucket=account.bucket, Key=f"async-in/{missing}.csv", Body=ONE_ROW, **encrypted)
    statements = {
        "read": _artifact_reader(account, [error]),
        "write": async_statements(account.bucket, [error], written=("async-failed/*",)),
        "decrypt": async_statements(account.bucket, [error]),  # no grant on the input's key
    }[missing]
    endpoint = _async_endpoint(account, {"ErrorTopic": error}, role=account.role(statements))

    accepted = account.client("sagemaker-runtime").invoke_endpoint_async(
        EndpointName=endpoint, InputLocation=f"s3://{account.bucket}/async-in/{missing}.csv", ContentType="text/csv"
    )
    output_key, failure_key = (accepted[name].removeprefix(f"s3://{account.bucket}/") for name in _LOCATIONS)
    _wait_for_any(s3, account.bucket, [output_key, failure_key])

    assert not _exists(s3, account.bucket, output_key)
    failure = s3.get_object(Bucket=account.bucket, Key=failure_key)["Body"].read().decode()
    failed = _notified(account, failed_queue)
    assert failed["invocationStatus"] == "Failed"
    assert f"not authorized to perform: {denied}" in failure
    assert f"not authorized to perform: {denied}" in failed["failureReason"]


_LOCATIONS = ("OutputLocation", "FailureLocation")


def _wait_for_any(s3: Any, bucket: str, keys: list[str], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not any(_exists(s3, bucket, key) for key in keys):
        time.sleep(0.5)


def _metric_sum(account: StrictAccount, endpoint: str, metric: str) -> float:
    now = datetime.now(UTC)
    points = account.client("cloudwatch").get_metric_statistics(
        Namespace="AWS/SageMaker", MetricName=metric, StartTime=datetime.fromtimestamp(now.timestamp() - 600, UTC),
        Dimensions=[{"Name": "EndpointName", "Value": endpoint}, {"Name": "VariantName", "Value": "AllTraffic"}],
        EndTime=datetime.fromtimestamp(now.timestamp() + 60, UTC), Period=60, Statistics=["Sum"],
    )["Datapoints"]  # fmt: skip
    return float(sum(point["Sum"] for point in points))


def test_an_output_key_the_role_may_not_use_leaves_no_answer_and_no_failure_but_an_upload_failure_metric(
    account: StrictAccount,
) -> None:
    """Rule async-execution-role with OutputConfig.KmsKeyId: the answer and the failure are both SSE-KMS with the key,
    so a role without kms:GenerateDataKey on it writes neither; only ResponseUploadFailures says so."""
    key = account.client("kms").create_key()["KeyMetadata"]["Arn"]
    role = account.role(async_statements(account.bucket))  # no grant on the output key
    endpoint = _async_endpoint(account, {}, kms_key=key, role=role)
    s3 = account.client("s3")
    s3.put_object(Bucket=account.bucket, Key="async-in/unkeyed.csv", Body=ONE_ROW)

    accepted = account.client("sagemaker-runtime").invoke_endpoint_async(
        EndpointName=endpoint, InputLocation=f"s3://{account.bucket}/async-in/unkeyed.csv", ContentType="text/csv"
    )
    keys = [accepted[name].removeprefix(f"s3://{account.bucket}/") for name in _LOCATIONS]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and _metric_sum(account, endpoint, "ResponseUploadFailures") < 1:
        if any(_exists(s3, account.bucket, key) for key in keys):
            break  # written after all: the assertions below say so at once
        time.sleep(1)

    assert _metric_sum(account, endpoint, "ResponseUploadFailures") >= 1
    assert _metric_sum(account, endpoint, "InvocationFailures") == 1
    assert [key for key in keys if _exists(s3, account.bucket, key)] == []


def _in_process_endpoint() -> tuple[Any, Any]:
    from local_aws.runtime.resolver import Endpoint, Variant

    variant = Variant("AllTraffic", 1.0, None, 1, None)  # type: ignore[arg-type]
    config = {"OutputConfig": {"S3OutputPath": "s3://b/o", "S3FailurePath": "s3://b/f"}}
    return Endpoint("queued", (variant,), 0.0, "config", async_config=config), variant


def _request(
    endpoint: Any, variant: Any, name: str, received: datetime, *, ttl: int = 60, timeout: int = 900
) -> AsyncRequest:
    return AsyncRequest(
        endpoint, variant, name, "s3://b/in", "text/csv", None, f"s3://b/o/{name}.out", f"s3://b/f/{name}-error.out",
        received, ttl_seconds=ttl, invocation_timeout_seconds=timeout,
    )  # fmt: skip


def test_an_async_request_queued_past_its_ttl_fails_as_expired_and_is_not_run() -> None:
    """Rule async-request-ttl: RequestTTLSeconds bounds the time in the queue (a clock 61 s on)."""
    endpoint, variant = _in_process_endpoint()
    predicted: list[bytes] = []

    def predict(variant: Any, content_type: str, accept: str | None, body: bytes) -> tuple[bytes, str]:
        predicted.append(body)
        return b"{}", "application/json"

    received, bucket = datetime.now(UTC), _Bucket()
    invocations = AsyncInvocations(bucket, None, predict, clock=lambda: received + timedelta(seconds=61))
    invocations.offer(_request(endpoint, variant, "stale", received, ttl=60))
    invocations.offer(_request(endpoint, variant, "fresh", received, ttl=120))
    invocations.drain()

    assert len(predicted) == 1
    assert "o/fresh.out" in bucket.objects
    assert "o/stale.out" not in bucket.objects
    assert b"RequestTTLSeconds (60 s)" in bucket.objects["f/stale-error.out"]


def test_an_async_request_processed_past_its_invocation_timeout_fails_as_expired() -> None:
    """Rule async-request-ttl: InvocationTimeoutSeconds bounds the processing; the late answer is not written."""
    endpoint, variant = _in_process_endpoint()

    def slow(variant: Any, content_type: str, accept: str | None, body: bytes) -> tuple[bytes, str]:
        time.sleep(1.2)
        return b"{}", "application/json"

    bucket = _Bucket()
    invocations = AsyncInvocations(bucket, None, slow)
    invocations.offer(_request(endpoint, variant, "slow", datetime.now(UTC), timeout=1))
    invocations.drain()

    assert "o/slow.out" not in bucket.objects
    assert b"InvocationTimeoutSeconds (1 s)" in bucket.objects["f/slow-error.out"]


@pytest.mark.parametrize(
    ("ttl", "constraint"),
    [
        ("30", "Value '30' at 'requestTTLSeconds' failed to satisfy constraint: Member must have value greater than "
         "or equal to 60"),
        ("-5", "Value '-5' at 'requestTTLSeconds' failed to satisfy constraint: Member must have value greater than "
         "or equal to 60"),
        ("six", "Value 'six' at 'requestTTLSeconds' failed to satisfy constraint: Member must be an integer"),
    ],
)  # fmt: skip
def test_a_request_ttl_header_outside_the_api_model_is_refused(
    account: StrictAccount, ttl: str, constraint: str
) -> None:
    """A signed or non-numeric header is refused as the model says, never a crash (api-model-validation)."""
    import urllib.error
    import urllib.request

    endpoint = _async_endpoint(account, {})
    headers = {
        "X-Amzn-SageMaker-InputLocation": f"s3://{account.bucket}/x.csv",
        "X-Amzn-SageMaker-RequestTTLSeconds": ttl,
    }
    url = f"{account.local_aws.config.runtime_url}/endpoints/{endpoint}/async-invocations"
    request = urllib.request.Request(url, data=b"", headers=headers, method="POST")

    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(request, timeout=10)
    answer = json.loads(raised.value.read())

    assert raised.value.code == 400
    assert answer["__type"] == "ValidationError"
    assert answer["message"] == f"1 validation error detected: {constraint}"
