"""The job engine (local_aws.jobs): lifecycle, channels and their dealing, stop, logs, outputs by outcome."""

from __future__ import annotations

import importlib
import importlib.util
import json
import pkgutil
import time
import uuid
from collections.abc import Iterator, Mapping
from typing import Any

import boto3
import pytest

import local_aws
from local_aws.config import ACCOUNT_ID, CONTROL_PORT_VARIABLE, DUMMY_KEY_ID, DUMMY_SECRET, REGION
from local_aws.jobs import engine
from local_aws.jobs.channels import (
    AWS_MANAGED_S3_KEY,
    FULLY_REPLICATED,
    MANIFEST_FILE,
    SHARDED_BY_S3_KEY,
    Channel,
    S3Object,
    deal,
    kms_key_arn,
    relative_key,
    shares,
)
from local_aws.jobs.lifecycle import COMPLETED, FAILED, IN_PROGRESS, STOPPED, STOPPING, TERMINAL, JobState, Snapshot
from local_aws.jobs.logs import TRAINING_JOBS, stream_name
from local_aws.ports import free_port
from tests.local_aws.job_workers import FAILING_SUFFIX, CopyJob

BUCKET = "engine-tests"


def allow_all(action: str, resource: str, context: Mapping[str, str]) -> str | None:
    return None


# The lifecycle, alone.


def test_a_job_starts_in_progress_and_each_secondary_status_closes_the_one_before() -> None:
    shown: list[Snapshot] = []
    state = JobState(shown.append)

    state.advance("Downloading", "Downloading input data")
    state.advance("Training", "Training in progress")
    state.finish(COMPLETED)

    assert [s.status for s in shown] == [IN_PROGRESS, IN_PROGRESS, IN_PROGRESS, COMPLETED]
    transitions = shown[-1].transitions
    assert [t.status for t in transitions] == ["Starting", "Downloading", "Training", "Completed"]
    assert all(t.end_time is not None for t in transitions)
    assert [t.end_time for t in transitions[:-1]] == [t.start_time for t in transitions[1:]]
    assert shown[-1].end_time == transitions[-1].end_time
    assert "EndTime" not in shown[1].transitions[-1].response()


def test_a_failed_job_keeps_its_reason_and_ends_once() -> None:
    state = JobState(lambda snapshot: None)

    state.finish(FAILED, "ClientError: bad input")
    state.finish(COMPLETED)
    state.advance("Uploading", "too late")

    assert state.snapshot.status == FAILED
    assert state.snapshot.failure_reason == "ClientError: bad input"
    assert state.snapshot.transitions[-1].message == "Job failed: ClientError: bad input"


def test_a_stop_request_is_stopping_then_stopped_and_only_while_in_progress() -> None:
    state = JobState(lambda snapshot: None)

    assert state.request_stop() is True
    state.advance("Training", "ignored: the job is stopping")
    stopping = state.snapshot
    state.finish(STOPPED)

    assert (stopping.status, stopping.secondary_status, stopping.stop_requested) == (STOPPING, STOPPING, True)
    assert [t.status for t in state.snapshot.transitions] == ["Starting", STOPPING, STOPPED]
    assert state.request_stop() is False


# Channels, alone.


def objects(count: int) -> list[S3Object]:
    return [S3Object("b", f"in/part-{index}", f"part-{index}") for index in range(count)]


def test_sharded_by_s3_key_deals_objects_round_robin_and_fully_replicated_gives_all() -> None:
    five = objects(5)

    sharded = deal(five, 2, SHARDED_BY_S3_KEY)
    replicated = deal(five, 2, FULLY_REPLICATED)

    assert sharded == [[five[0], five[2], five[4]], [five[1], five[3]]]
    assert replicated == [five, five]


def test_shares_deal_each_channel_by_its_own_distribution() -> None:
    train, test = Channel("train", "s3://b/in", distribution=SHARDED_BY_S3_KEY), Channel("test", "s3://b/t")

    dealt = shares({train: objects(2), test: objects(1)}, 2)

    assert dealt == [{"train": objects(2)[:1], "test": objects(1)}, {"train": objects(2)[1:], "test": objects(1)}]


@pytest.mark.parametrize(
    ("prefix", "key", "relative"),
    [("in/", "in/a.csv", "a.csv"), ("in", "in/a.csv", "a.csv"), ("in/pa", "in/part-1.csv", "part-1.csv")],
)
def test_an_objects_relative_key_is_below_the_prefixs_folder(prefix: str, key: str, relative: str) -> None:
    assert relative_key(prefix, key) == relative


@pytest.mark.parametrize(
    ("key_id", "arn"),
    [
        ("arn:aws:kms:us-east-1:123456789012:key/k-1", "arn:aws:kms:us-east-1:123456789012:key/k-1"),
        ("k-1", f"arn:aws:kms:{REGION}:{ACCOUNT_ID}:key/k-1"),
        ("alias/aws/s3", AWS_MANAGED_S3_KEY),
    ],
)
def test_a_kms_key_id_is_authorized_as_its_key_arn(key_id: str, arn: str) -> None:
    assert kms_key_arn("http://localhost:1", key_id) == arn


def test_stream_names_are_job_host_and_epoch() -> None:
    assert stream_name("my-job", "algo-2", 1700000000.7) == "my-job/algo-2-1700000000"


# The engine, running jobs against a moto server in this process (the engine writes to its backends).


@pytest.fixture(scope="module")
def s3_server() -> Iterator[str]:
    from moto.moto_server.threaded_moto_server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="localhost", port=port, verbose=False)
    server.start()
    environment = {
        CONTROL_PORT_VARIABLE: str(port),
        "AWS_ACCESS_KEY_ID": DUMMY_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": DUMMY_SECRET,
        "AWS_DEFAULT_REGION": REGION,
    }
    with pytest.MonkeyPatch.context() as patch:
        for name, value in environment.items():
            patch.setenv(name, value)
        client("s3", f"http://localhost:{port}").create_bucket(Bucket=BUCKET)
        yield f"http://localhost:{port}"
    server.stop()


def client(service: str, endpoint: str) -> Any:
    return boto3.session.Session(region_name=REGION).client(
        service, endpoint_url=endpoint, aws_access_key_id=DUMMY_KEY_ID, aws_secret_access_key=DUMMY_SECRET
    )


def put_objects(endpoint: str, prefix: str, names: list[str]) -> None:
    s3 = client("s3", endpoint)
    for name in names:
        s3.put_object(Bucket=BUCKET, Key=f"{prefix}/{name}", Body=f"body of {name}".encode())


def run_to_end(job: CopyJob, role_check: engine.RoleCheck = allow_all) -> Snapshot:
    state = engine.start(job, role_check)
    deadline = time.monotonic() + 120
    while state.snapshot.status not in TERMINAL and time.monotonic() < deadline:
        time.sleep(0.1)
    return state.snapshot


def outputs(endpoint: str, job: CopyJob) -> dict[str, bytes]:
    s3 = client("s3", endpoint)
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix=f"output/{job.name}/").get("Contents", [])
    return {
        item["Key"].removeprefix(f"output/{job.name}/"): s3.get_object(Bucket=BUCKET, Key=item["Key"])["Body"].read()
        for item in listed
    }


def new_job(endpoint: str, names: list[str], instances: int = 2, **settings: Any) -> CopyJob:
    prefix = f"in-{uuid.uuid4().hex[:8]}"
    put_objects(endpoint, prefix, names)
    distribution = settings.pop("distribution", SHARDED_BY_S3_KEY)
    channel = Channel("train", f"s3://{BUCKET}/{prefix}/", distribution=distribution)
    return CopyJob(f"job-{uuid.uuid4().hex[:8]}", [channel], instances, BUCKET, **settings)


@pytest.mark.slow
def test_a_completed_job_passes_every_secondary_status_and_publishes_its_outputs(s3_server: str) -> None:
    job = new_job(s3_server, ["a", "b", "c"])

    ended = run_to_end(job)

    assert ended.status == COMPLETED, ended.failure_reason
    assert [t.status for t in ended.transitions] == ["Starting", "Downloading", "Training", "Uploading", "Completed"]
    assert job.snapshots[0].status == IN_PROGRESS
    assert outputs(s3_server, job) == {
        "algo-1/train/a": b"body of a",
        "algo-2/train/b": b"body of b",
        "algo-1/train/c": b"body of c",
    }


@pytest.mark.slow
def test_fully_replicated_gives_every_instance_every_object(s3_server: str) -> None:
    job = new_job(s3_server, ["a", "b"], distribution=FULLY_REPLICATED)

    ended = run_to_end(job)

    assert ended.status == COMPLETED, ended.failure_reason
    assert sorted(outputs(s3_server, job)) == ["algo-1/train/a", "algo-1/train/b", "algo-2/train/a", "algo-2/train/b"]


@pytest.mark.slow
def test_a_manifest_file_names_the_objects_relative_to_its_prefix(s3_server: str) -> None:
    prefix = f"data-{uuid.uuid4().hex[:8]}"
    put_objects(s3_server, prefix, ["x/one", "x/two", "x/not-listed"])
    manifest = [{"prefix": f"s3://{BUCKET}/{prefix}/"}, "x/one", "x/two"]
    client("s3", s3_server).put_object(Bucket=BUCKET, Key=f"{prefix}.manifest", Body=json.dumps(manifest).encode())
    channel = Channel("train", f"s3://{BUCKET}/{prefix}.manifest", MANIFEST_FILE, SHARDED_BY_S3_KEY)
    job = CopyJob(f"job-{uuid.uuid4().hex[:8]}", [channel], 1, BUCKET)

    ended = run_to_end(job)

    assert ended.status == COMPLETED, ended.failure_reason
    assert outputs(s3_server, job) == {"algo-1/train/x/one": b"body of x/one", "algo-1/train/x/two": b"body of x/two"}


@pytest.mark.slow
def test_a_file_that_is_no_manifest_fails_the_job(s3_server: str) -> None:
    put_objects(s3_server, "manifests", ["broken"])
    channel = Channel("train", f"s3://{BUCKET}/manifests/broken", MANIFEST_FILE)

    ended = run_to_end(CopyJob(f"job-{uuid.uuid4().hex[:8]}", [channel], 1, BUCKET))

    assert ended.status == FAILED
    assert "is not a manifest file" in ended.failure_reason


@pytest.mark.slow
def test_a_failed_job_publishes_no_output_even_from_the_instance_that_finished(s3_server: str) -> None:
    job = new_job(s3_server, ["a-good", f"b-{FAILING_SUFFIX}"])

    ended = run_to_end(job)

    assert ended.status == FAILED
    assert f"b-{FAILING_SUFFIX} is not what was expected" in ended.failure_reason
    assert ended.transitions[-1].status == FAILED
    assert outputs(s3_server, job) == {}


@pytest.mark.slow
def test_a_type_that_keeps_partial_outputs_publishes_what_finished(s3_server: str) -> None:
    job = new_job(s3_server, ["a-good", f"b-{FAILING_SUFFIX}"], keeps_partial_outputs=True)

    ended = run_to_end(job)

    assert ended.status == FAILED
    assert sorted(outputs(s3_server, job)) == ["algo-1/train/a-good"]


@pytest.mark.slow
def test_a_stopped_job_goes_stopping_then_stopped_and_publishes_nothing(s3_server: str) -> None:
    job = new_job(s3_server, ["a", "b"], wait_for_stop=True)
    state = engine.start(job, allow_all)
    deadline = time.monotonic() + 60
    while state.snapshot.secondary_status != "Training" and time.monotonic() < deadline:
        time.sleep(0.05)

    engine.request_stop(TRAINING_JOBS, job.name)
    stopping = state.snapshot.status
    while state.snapshot.status not in TERMINAL and time.monotonic() < deadline:
        time.sleep(0.1)

    assert stopping == STOPPING
    assert state.snapshot.status == STOPPED
    assert [t.status for t in state.snapshot.transitions][-2:] == [STOPPING, STOPPED]
    assert outputs(s3_server, job) == {}


@pytest.mark.slow
def test_each_instance_writes_its_own_log_stream(s3_server: str) -> None:
    job = new_job(s3_server, ["a-good", f"b-{FAILING_SUFFIX}"])

    run_to_end(job)

    logs = client("logs", s3_server)
    streams = logs.describe_log_streams(logGroupName=TRAINING_JOBS, logStreamNamePrefix=f"{job.name}/")["logStreams"]
    names = sorted(stream["logStreamName"] for stream in streams)
    assert [name.rsplit("-", 1)[0] for name in names] == [f"{job.name}/algo-1", f"{job.name}/algo-2"]
    lines = {
        name: [e["message"] for e in logs.get_log_events(logGroupName=TRAINING_JOBS, logStreamName=name)["events"]]
        for name in names
    }
    first, second = lines[names[0]], lines[names[1]]
    assert "starting" in first[0]
    assert any("copied" in line and "a-good" in line for line in first)
    assert first[-1] == "instance finished"
    assert second[-1].startswith("failed: ClientError:")


@pytest.mark.slow
@pytest.mark.parametrize("denied", ["s3:GetObject", "s3:PutObject"])
def test_the_role_is_checked_on_every_object_read_and_written(s3_server: str, denied: str) -> None:
    job = new_job(s3_server, ["a", "b"])

    def role_check(action: str, resource: str, context: Mapping[str, str]) -> str | None:
        return "no statement allows it" if action == denied and resource.endswith("/b") else None

    ended = run_to_end(job, role_check)

    assert ended.status == FAILED
    assert f"Access Denied: the execution role may not {denied}" in ended.failure_reason
    assert outputs(s3_server, job) == {}


@pytest.mark.slow
def test_a_role_that_may_not_write_logs_runs_its_job_unlogged(s3_server: str) -> None:
    job = new_job(s3_server, ["a"], instances=1)

    def role_check(action: str, resource: str, context: Mapping[str, str]) -> str | None:
        return "no statement allows it" if action.startswith("logs:") else None

    ended = run_to_end(job, role_check)

    assert ended.status == COMPLETED, ended.failure_reason
    logs = client("logs", s3_server)
    groups = logs.describe_log_groups(logGroupNamePrefix=TRAINING_JOBS)["logGroups"]
    streams = (
        logs.describe_log_streams(logGroupName=TRAINING_JOBS, logStreamNamePrefix=job.name)["logStreams"]
        if groups
        else []
    )
    assert streams == []


def test_a_jobs_role_needs_the_log_group_with_its_trailing_star_to_create_it() -> None:
    """CloudWatch Logs authorizes CreateLogGroup on `log-group:NAME:log-stream:`: a grant on the bare group ARN
    (which applies only to tagging) does not cover it, `log-group:NAME:*` does."""
    from local_aws.jobs.logs import group_arn, group_request_arn
    from local_aws.strict.iam.policy import AuthorizationRequest, Decision, evaluate

    def grant(resource: str) -> dict[str, Any]:
        statement = {"Effect": "Allow", "Action": "logs:CreateLogGroup", "Resource": resource}
        return {"Version": "2012-10-17", "Statement": [statement]}

    request = AuthorizationRequest("logs:CreateLogGroup", group_request_arn(TRAINING_JOBS))

    assert evaluate([grant(group_arn(TRAINING_JOBS))], request) == Decision.IMPLICIT_DENY
    assert evaluate([grant(f"{group_arn(TRAINING_JOBS)}:*")], request) == Decision.ALLOWED


@pytest.mark.slow
def test_the_role_must_be_allowed_to_read_the_manifest_itself(s3_server: str) -> None:
    """SageMaker reads a ManifestFile as the job's role: s3:GetObject on the manifest, not only on what it lists."""
    prefix = f"data-{uuid.uuid4().hex[:8]}"
    put_objects(s3_server, prefix, ["one"])
    manifest_key = f"{prefix}.manifest"
    body = json.dumps([{"prefix": f"s3://{BUCKET}/{prefix}/"}, "one"]).encode()
    client("s3", s3_server).put_object(Bucket=BUCKET, Key=manifest_key, Body=body)
    channel = Channel("train", f"s3://{BUCKET}/{manifest_key}", MANIFEST_FILE, SHARDED_BY_S3_KEY)

    def all_but_the_manifest(action: str, resource: str, context: Mapping[str, str]) -> str | None:
        return "no grant" if resource == f"arn:aws:s3:::{BUCKET}/{manifest_key}" else None

    ended = run_to_end(CopyJob(f"job-{uuid.uuid4().hex[:8]}", [channel], 1, BUCKET), all_but_the_manifest)

    assert ended.status == FAILED
    assert f"may not s3:GetObject arn:aws:s3:::{BUCKET}/{manifest_key}" in ended.failure_reason


def job_types() -> list[type]:
    """Every job type the local AWS has: a class with a `worker` property in a `local_aws.<kind>.job` module."""
    found = []
    for package in pkgutil.iter_modules(local_aws.__path__):
        if package.ispkg and importlib.util.find_spec(f"local_aws.{package.name}.job") is not None:
            module = importlib.import_module(f"local_aws.{package.name}.job")
            found += [kind for kind in vars(module).values() if isinstance(getattr(kind, "worker", None), property)]
    return found


def test_the_fork_server_has_imported_what_every_job_types_workers_run() -> None:
    kinds = job_types()

    assert len(kinds) >= 3
    for kind in kinds:
        worker = kind.worker.fget(object.__new__(kind))  # type: ignore[attr-defined]
        assert worker.__module__ in engine.WORKER_MODULES, f"{kind.__name__}: {worker.__module__}"
