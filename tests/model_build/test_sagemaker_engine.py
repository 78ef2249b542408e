"""`--engine sagemaker`: the job it starts, what it uploads, the build folder it writes, and every refusal.

S3 is moto in process (real uploads, real downloads); CloudFormation and SageMaker are botocore Stubbers, so
each test states exactly which calls happen: a refusal that must come before any job has no CreateTrainingJob
queued, and the Stubber fails the test if one is made. The job itself runs on the local AWS in
tests/test_train_end_to_end.py.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import numpy as np
import numpy.typing as npt
import pytest
from botocore.stub import ANY, Stubber
from moto import mock_aws

from contract.stack import Output
from model_build import ndarray
from model_build import sagemaker_cli as engine
from model_build import sagemaker_job as jobs
from model_build.cli import main
from model_build.manifest import read_build
from model_build.packaging import unpack_model
from model_build.reference import ReferenceSet
from recordio.codec import decode_rows

REGION = "us-east-1"
BUCKET = "kmeansendpoint-trainingstore-abc"
IMAGE = "382416733822.dkr.ecr.us-east-1.amazonaws.com/kmeans:1"
ROLE = "arn:aws:iam::123456789012:role/KMeansEndpoint-TrainingRole-XYZ"
KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
OUTPUTS = {
    Output.TRAINING_DATA_URI: f"s3://{BUCKET}/data/",
    Output.TRAINING_OUTPUT_URI: f"s3://{BUCKET}/models/",
    Output.TRAINING_ROLE_ARN: ROLE,
    Output.TRAINING_KEY_ARN: KEY,
    Output.TRAINING_IMAGE_URI: IMAGE,
}


@dataclass
class Fake:
    """The clients the engine gets: moto's S3, stubbed CloudFormation and SageMaker."""

    clients: dict[str, Any]
    sagemaker: Stubber
    cloudformation: Stubber

    @property
    def s3(self) -> Any:
        return self.clients["s3"]

    def stack(self, outputs: dict[str, str] = OUTPUTS) -> None:
        described = {
            "Stacks": [
                {
                    "StackName": "KMeansEndpoint",
                    "CreationTime": "2026-12-01T00:00:00Z",
                    "StackStatus": "CREATE_COMPLETE",
                    "Outputs": [{"OutputKey": k, "OutputValue": v} for k, v in outputs.items()],
                }
            ]
        }
        self.cloudformation.add_response("describe_stacks", described, {"StackName": "KMeansEndpoint"})

    def created(self) -> None:
        arn = "arn:aws:sagemaker:us-east-1:123456789012:training-job/kmeans-train-x"
        self.sagemaker.add_response("create_training_job", {"TrainingJobArn": arn}, ANY_CREATE)

    def described(self, status: str, secondary: str = "Training", **more: Any) -> None:
        body = {
            "TrainingJobName": "job",
            "TrainingJobArn": "arn:aws:sagemaker:us-east-1:123456789012:training-job/job",
            "TrainingJobStatus": status,
            "SecondaryStatus": secondary,
            "ModelArtifacts": {"S3ModelArtifacts": ""},
            "AlgorithmSpecification": {"TrainingInputMode": "File"},
            "ResourceConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 2, "VolumeSizeInGB": 30},
            "StoppingCondition": {"MaxRuntimeInSeconds": 86400},
            "CreationTime": "2026-12-01T00:00:00Z",
            **more,
        }
        self.sagemaker.add_response("describe_training_job", body, {"TrainingJobName": ANY})


ANY_CREATE = dict.fromkeys((
    "TrainingJobName", "AlgorithmSpecification", "RoleArn", "HyperParameters", "InputDataConfig", "OutputDataConfig",
    "ResourceConfig", "StoppingCondition",
), ANY)  # fmt: skip


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[Fake]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        session = boto3.session.Session(region_name=REGION)
        s3 = session.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        sagemaker, cloudformation = session.client("sagemaker"), session.client("cloudformation")
        stubs = Fake({"s3": s3, "sagemaker": sagemaker, "cloudformation": cloudformation},
                     Stubber(sagemaker), Stubber(cloudformation))  # fmt: skip
        monkeypatch.setattr(engine, "_clients", lambda: stubs.clients)
        monkeypatch.setattr(jobs, "POLL_S", 0.0)
        with stubs.sagemaker, stubs.cloudformation:
            yield stubs
        stubs.sagemaker.assert_no_pending_responses()
        stubs.cloudformation.assert_no_pending_responses()


def blobs(count: int, features: int = 4, seed: int = 0) -> npt.NDArray[np.float32]:
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 10, size=(3, features))
    rows: npt.NDArray[np.float32] = (centres[np.arange(count) % 3] + rng.normal(0, 1, (count, features))).astype(
        np.float32
    )
    return rows


def write_csv(path: Path, rows: npt.NDArray[np.float32]) -> Path:
    np.savetxt(path, rows, delimiter=",", fmt="%.9g")
    return path


def job_artifact(centroids: npt.NDArray[np.float32]) -> bytes:
    """A model.tar.gz as a real k-means job writes it: model_algo-1 and a state file, not our packaging."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in (("model_algo-1", ndarray.encode([centroids])), ("state_0f1e2d", b"\x00state")):
            entry = tarfile.TarInfo(name)
            entry.size = len(data)
            archive.addfile(entry, io.BytesIO(data))
    return buffer.getvalue()


def completed(fake: Fake, centroids: npt.NDArray[np.float32], metrics: dict[str, float] | None = None) -> bytes:
    """The job's run as DescribeTrainingJob tells it, and its artifact where it says."""
    artifact = job_artifact(centroids)
    key = "models/job/output/model.tar.gz"
    fake.s3.put_object(Bucket=BUCKET, Key=key, Body=artifact)
    fake.described("InProgress", "Starting")
    fake.described("InProgress", "Training")
    final = [{"MetricName": name, "Value": value} for name, value in (metrics or {}).items()]
    fake.described(
        "Completed", "Completed", ModelArtifacts={"S3ModelArtifacts": f"s3://{BUCKET}/{key}"},
        FinalMetricDataList=final, TrainingTimeInSeconds=12, BillableTimeInSeconds=24,
    )  # fmt: skip
    return artifact


def error_lines(err: str) -> list[str]:
    """What the CLI said was wrong (the progress lines above it follow the job)."""
    lines = err.splitlines()
    assert lines, "nothing on stderr"
    assert lines[-1].startswith("python -m model_build: error: "), err
    return [line for line in lines if "error:" in line]


def uploaded(fake: Fake, channel: str) -> list[str]:
    listed = fake.s3.list_objects_v2(Bucket=BUCKET, Prefix="data/").get("Contents", [])
    return sorted(item["Key"] for item in listed if f"/{channel}/" in item["Key"])


def sagemaker_args(data: Path | str, out: Path, *more: str) -> list[str]:
    return ["--engine", "sagemaker", "--data", str(data), "--clusters", "3", "--out", str(out), *more]


def test_a_job_trains_on_sharded_uploads_and_the_build_keeps_its_artifact_byte_for_byte(
    fake: Fake, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = blobs(3000)
    data, test = write_csv(tmp_path / "rows.csv", rows), write_csv(tmp_path / "test.csv", blobs(300, seed=1))
    centroids = rows[:3].copy()
    fake.stack()
    fake.created()
    artifact = completed(fake, centroids, {"test:msd": 3.9, "test:ssd": 1170.0})
    out = tmp_path / "build"

    code = main(sagemaker_args(data, out, "--instances", "2", "--test", str(test), "--hyperparameter",
                               "mini_batch_size=500", "--hyperparameter", "extra_center_factor=4"))  # fmt: skip

    printed = capsys.readouterr()
    assert code == 0, printed.err
    assert (out / "model.tar.gz").read_bytes() == artifact
    manifest = read_build(out).manifest
    training = manifest["training"]
    assert training["image"] == IMAGE
    assert training["instance_count"] == 2
    assert training["hyperparameters"] == {"k": "3", "mini_batch_size": "500", "extra_center_factor": "4",
                                           "feature_dim": "4"}  # fmt: skip
    assert training["metrics"] == {"test:msd": 3.9, "test:ssd": 1170.0}
    assert training["job_arn"].endswith("training-job/kmeans-train-x")
    assert (manifest["clusters"], manifest["feature_dim"]) == (3, 4)
    assert "test:msd = 3.9" in printed.out
    assert sorted(path.name for path in out.iterdir()) == ["baseline.json", "centroids.png", "manifest.json",
                                                           "model.tar.gz", "reference.npz"]  # fmt: skip
    train_keys = uploaded(fake, "train")
    assert len(train_keys) >= 2  # ShardedByS3Key deals objects, so each instance gets one
    sent = b"".join(fake.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() for key in train_keys)
    assert sent == data.read_bytes()  # CSV as it was, cut at line ends
    assert len(uploaded(fake, "test")) == 1


def test_the_create_request_names_the_image_role_keys_channels_and_runtime(
    fake: Fake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[dict[str, Any]] = []
    original = jobs.start

    def start(sagemaker: Any, request: jobs.TrainingRequest, name: str) -> str:
        seen.append(request.api_arguments(name))
        return original(sagemaker, request, name)

    monkeypatch.setattr(jobs, "start", start)
    data, test = write_csv(tmp_path / "rows.csv", blobs(600)), write_csv(tmp_path / "t.csv", blobs(30))
    fake.stack()
    fake.created()
    completed(fake, blobs(3))

    assert main(sagemaker_args(data, tmp_path / "b", "--instances", "2", "--test", str(test),
                               "--max-runtime", "600")) == 0  # fmt: skip

    (request,) = seen
    train, tested = request["InputDataConfig"]
    assert request["AlgorithmSpecification"] == {"TrainingImage": IMAGE, "TrainingInputMode": "File"}
    assert request["RoleArn"] == ROLE
    assert request["OutputDataConfig"] == {"S3OutputPath": f"s3://{BUCKET}/models", "KmsKeyId": KEY}
    assert request["ResourceConfig"]["VolumeKmsKeyId"] == KEY
    assert request["ResourceConfig"]["InstanceCount"] == 2
    assert request["StoppingCondition"] == {"MaxRuntimeInSeconds": 600}
    assert train["DataSource"]["S3DataSource"]["S3DataDistributionType"] == "ShardedByS3Key"
    assert tested["DataSource"]["S3DataSource"]["S3DataDistributionType"] == "FullyReplicated"
    assert (train["ChannelName"], tested["ChannelName"]) == ("train", "test")
    assert train["ContentType"] == "text/csv;label_size=0"
    assert train["DataSource"]["S3DataSource"]["S3Uri"].startswith(f"s3://{BUCKET}/data/{request['TrainingJobName']}/")
    assert all(isinstance(value, str) for value in request["HyperParameters"].values())


def test_npy_input_goes_up_as_recordio_protobuf_and_reference_rows_come_from_it(fake: Fake, tmp_path: Path) -> None:
    rows = blobs(2000)
    np.save(tmp_path / "rows.npy", rows)
    fake.stack()
    fake.created()
    completed(fake, rows[:3].copy())

    assert main(sagemaker_args(tmp_path / "rows.npy", tmp_path / "b", "--instances", "3", "--reference-rows",
                               "50")) == 0  # fmt: skip

    keys = uploaded(fake, "train")
    assert len(keys) == 3
    decoded = np.concatenate([decode_rows(fake.s3.get_object(Bucket=BUCKET, Key=k)["Body"].read()) for k in keys])
    np.testing.assert_array_equal(decoded, rows)
    reference = ReferenceSet.from_npz_bytes((tmp_path / "b" / "reference.npz").read_bytes())
    assert reference.rows.shape == (50, 4)
    as_set = {row.tobytes() for row in rows}
    assert all(row.tobytes() in as_set for row in reference.rows)  # sampled from the input, not made up
    assert len({row.tobytes() for row in reference.rows}) == 50
    assert read_build(tmp_path / "b").manifest["source"]["format"] == "npy"


def test_an_s3_input_is_used_where_it_is(fake: Fake, tmp_path: Path) -> None:
    rows = blobs(900)
    for part in range(3):
        body = write_csv(tmp_path / f"p{part}.csv", rows[part * 300 : (part + 1) * 300]).read_bytes()
        fake.s3.put_object(Bucket=BUCKET, Key=f"data/mine/part-{part}.csv", Body=body)
    fake.stack()
    fake.created()
    completed(fake, rows[:3].copy())

    assert main(sagemaker_args(f"s3://{BUCKET}/data/mine/", tmp_path / "b")) == 0

    assert uploaded(fake, "train") == []  # nothing copied
    assert read_build(tmp_path / "b").manifest["source"]["rows"] == 900


def test_the_reservoir_samples_uniformly_across_chunks() -> None:
    from model_build.sagemaker_input import Reservoir

    counts = np.zeros(1000)
    for seed in range(300):
        reservoir = Reservoir(10, seed)
        for start in range(0, 1000, 64):
            reservoir.add(np.arange(start, min(start + 64, 1000), dtype=np.float32)[:, None])
        counts[reservoir.sample()[:, 0].astype(int)] += 1
    assert reservoir.seen == 1000
    # 3,000 picks over 1,000 rows: each tenth of the stream gets about 300, the first chunk no more than the last.
    tenths = counts.reshape(10, 100).sum(axis=1)
    assert tenths.min() > 220
    assert tenths.max() < 380


# Refusals: one line, exit 1, no build folder, and (Stubber) no job started.

REFUSALS: dict[str, tuple[list[str], str, bool]] = {
    # name: (extra arguments, message, whether the stack is read before the refusal)
    "unknown hyperparameter": (
        ["--hyperparameter", "mini_batch=10"], "not a k-means hyperparameter; did you mean mini_batch_size?", False
    ),
    "out of range": (["--hyperparameter", "local_lloyd_tol=2"], "local_lloyd_tol='2': must be a float in [0, 1]",
                     False),
    "not a positive integer": (
        ["--hyperparameter", "mini_batch_size=0"], "mini_batch_size='0': must be a positive integer", False
    ),
    "bad init": (["--hyperparameter", "init_method=best"], "init_method='best': must be random or kmeans++", False),
    "bad metrics": (["--hyperparameter", 'eval_metrics=["mse"]'], 'must be a JSON list of "msd" and/or "ssd"', False),
    "k twice": (["--hyperparameter", "k=4"], "set the number of clusters with --clusters", False),
    "instance type": (
        ["--instance-type", "ml.m5.larg"], "not a SageMaker training instance type; did you mean ml.m5.large", False
    ),
    "endpoint-only type": (
        ["--instance-type", "ml.t2.medium"], "ml.t2.medium: not a SageMaker training instance type", False
    ),
    "no instances": (["--instances", "0"], "--instances must be at least 1, got 0", False),
    "align to nothing": (["--align-to", "/nonexistent/build"], "--align-to /nonexistent/build: cannot read", False),
    "runtime beyond 28 days": (["--max-runtime", "2419201"], "--max-runtime must be 1 to 2,419,200 seconds", False),
    "no runtime": (["--max-runtime", "0"], "--max-runtime must be 1 to 2,419,200 seconds (28 days", False),
    "feature_dim": (["--hyperparameter", "feature_dim=5"], "feature_dim=5: ", True),
    "k beyond rows": (["--clusters", "9000"], "--clusters 9000 is more than the 3000 training rows", True),
}  # fmt: skip


@pytest.mark.parametrize("case", REFUSALS)
def test_bad_input_is_refused_in_one_line_before_any_job(
    case: str, fake: Fake, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    extra, message, reads_stack = REFUSALS[case]
    data = write_csv(tmp_path / "rows.csv", blobs(3000))
    if reads_stack:
        fake.stack()
    out = tmp_path / "build"

    code = main([*sagemaker_args(data, out), *extra])

    err = capsys.readouterr().err
    assert code == 1
    assert err.count("\n") == 1, err
    assert message in err
    assert not out.exists()
    assert uploaded(fake, "train") == []


def test_an_empty_s3_prefix_is_refused(fake: Fake, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fake.stack()
    code = main(sagemaker_args(f"s3://{BUCKET}/data/nothing/", tmp_path / "b"))
    err = capsys.readouterr().err
    assert code == 1
    assert f"s3://{BUCKET}/data/nothing/: no objects under this prefix" in err
    assert err.count("\n") == 1


def test_a_refused_create_leaves_no_upload_behind(
    fake: Fake, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.stack()
    fake.sagemaker.add_client_error(
        "create_training_job", "ValidationException", "Could not access model data", expected_params=ANY_CREATE
    )

    code = main(sagemaker_args(write_csv(tmp_path / "r.csv", blobs(300)), tmp_path / "b", "--instances", "2"))

    assert code == 1
    assert "CreateTrainingJob refused: ValidationException: Could not access model data" in capsys.readouterr().err
    assert uploaded(fake, "train") == []
    assert not (tmp_path / "b").exists()


def test_a_stack_without_training_is_refused(fake: Fake, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fake.stack({Output.ENDPOINT_NAME: "KMeansEndpoint"})
    code = main(sagemaker_args(write_csv(tmp_path / "r.csv", blobs(30)), tmp_path / "b"))
    assert code == 1
    assert "no TrainingDataUri output; deploy it with -c training=true" in capsys.readouterr().err


def test_a_failed_job_reports_its_failure_reason_in_one_line_and_writes_nothing(
    fake: Fake, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "build"
    out.mkdir()
    (out / "manifest.json").write_text("{}")  # a previous build stays as it was
    fake.stack()
    fake.created()
    fake.described("InProgress", "Training")
    reason = "ClientError: feature_dim 4 does not match the data:\n  records have 5 features"
    fake.described("Failed", "Failed", FailureReason=reason)

    code = main(sagemaker_args(write_csv(tmp_path / "r.csv", blobs(300)), out))

    err = capsys.readouterr().err
    assert code == 1
    assert len(error_lines(err)) == 1
    assert "Failed: ClientError: feature_dim 4 does not match the data: records have 5 features" in err
    assert sorted(p.name for p in out.iterdir()) == ["manifest.json"]
    assert (out / "manifest.json").read_text() == "{}"


def test_ctrl_c_stops_the_job_and_says_so(
    fake: Fake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    interrupts = iter([KeyboardInterrupt()])

    def sleep(_: float) -> None:
        raised = next(interrupts, None)
        if raised is not None:
            raise raised

    monkeypatch.setattr("time.sleep", sleep)
    fake.stack()
    fake.created()
    fake.described("InProgress", "Training")
    fake.sagemaker.add_response("stop_training_job", {}, {"TrainingJobName": ANY})
    fake.described("Stopping", "Stopping")
    fake.described("Stopped", "Stopped")

    code = main(sagemaker_args(write_csv(tmp_path / "r.csv", blobs(300)), tmp_path / "b"))

    err = capsys.readouterr().err
    assert code == 1
    assert len(error_lines(err)) == 1
    assert "stopping training job kmeans-train-" in err
    assert "interrupted: stopped training job kmeans-train-" in err
    assert "Stopped / Stopped" in err
    assert not (tmp_path / "b").exists()


def test_a_model_of_the_wrong_shape_is_refused(fake: Fake, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fake.stack()
    fake.created()
    completed(fake, blobs(4))  # four clusters where three were asked

    code = main(sagemaker_args(write_csv(tmp_path / "r.csv", blobs(300)), tmp_path / "b"))

    assert code == 1
    assert "expected one float32 (3, 4) array, found ['float32 (4, 4)']" in capsys.readouterr().err
    assert not (tmp_path / "b").exists()


def test_the_local_engine_refuses_an_s3_location(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--dataset", "csv", "--data", "s3://bucket/rows/", "--out", str(tmp_path)]) == 1
    assert "only --engine sagemaker reads from S3" in capsys.readouterr().err


def test_the_manifest_of_a_sagemaker_build_is_json_with_no_inertia(fake: Fake, tmp_path: Path) -> None:
    fake.stack()
    fake.created()
    completed(fake, blobs(3))
    assert main(sagemaker_args(write_csv(tmp_path / "r.csv", blobs(300)), tmp_path / "b")) == 0
    manifest = json.loads((tmp_path / "b" / "manifest.json").read_text())
    assert "inertia" not in manifest
    assert manifest["source"]["kind"] == "sagemaker-training"


def test_align_to_renumbers_the_job_centroids_and_records_the_job_artifact(
    fake: Fake, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = blobs(3000)
    previous = tmp_path / "previous"
    assert main(["--centroids", str(write_npy(tmp_path / "old.npy", rows[:3])), "--out", str(previous)]) == 0
    fitted = rows[[2, 0, 1]].copy() + np.float32(0.01)  # the job found the same clusters in another order
    fake.stack()
    fake.created()
    job_artifact_bytes = completed(fake, fitted)
    out = tmp_path / "aligned"

    code = main(sagemaker_args(write_csv(tmp_path / "rows.csv", rows), out, "--align-to", str(previous)))

    printed = capsys.readouterr()
    assert code == 0, printed.err
    served = ndarray.decode(unpack_model((out / "model.tar.gz").read_bytes(), "x"), "x")[0]
    np.testing.assert_array_equal(served, fitted[[1, 2, 0]])  # each id is the previous build's
    manifest = read_build(out).manifest
    aligned = manifest["aligned_to"]
    assert aligned["artifact_sha256"] == read_build(previous).manifest["artifact_sha256"]
    assert aligned["job_artifact_sha256"] == hashlib.sha256(job_artifact_bytes).hexdigest()
    assert aligned["job_artifact_sha256"] != manifest["artifact_sha256"]  # repackaged: the served bytes differ
    assert aligned["job_arn"] == manifest["training"]["job_arn"]
    assert aligned["job_model_data_url"] == manifest["training"]["model_data_url"]
    assert [c["fitted_index"] for c in aligned["clusters"]] == [1, 2, 0]
    assert "aligned to --align-to" in printed.out


def test_align_to_a_build_of_other_features_is_refused_before_any_job(
    fake: Fake, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    previous = tmp_path / "previous"
    assert (
        main(["--centroids", str(write_npy(tmp_path / "old.npy", blobs(3, features=5))), "--out", str(previous)]) == 0
    )
    capsys.readouterr()
    fake.stack()  # no create_training_job queued: the Stubber fails the test if a job starts

    code = main(
        sagemaker_args(write_csv(tmp_path / "rows.csv", blobs(3000)), tmp_path / "b", "--align-to", str(previous))
    )

    err = capsys.readouterr().err
    assert code == 1
    assert err.count("\n") == 1, err
    assert "has 5 features" in err
    assert not (tmp_path / "b").exists()
    assert uploaded(fake, "train") == []


def write_npy(path: Path, centroids: npt.NDArray[np.float32]) -> Path:
    np.save(path, centroids.astype(np.float32))
    return path


def test_no_volume_key_is_sent_for_an_instance_type_with_local_storage() -> None:
    """API ResourceConfig.VolumeKmsKeyId: not with an instance type that has local storage (its NVMe is
    encrypted in hardware); the output key is still sent."""
    channel = jobs.Channel("train", f"s3://{BUCKET}/data/x/", "text/csv;label_size=0")
    request = jobs.TrainingRequest(IMAGE, ROLE, f"s3://{BUCKET}/models/", KEY, {"k": "3"}, [channel], "ml.g5.xlarge", 1)

    arguments = request.api_arguments("job")

    assert "VolumeKmsKeyId" not in arguments["ResourceConfig"]
    assert arguments["OutputDataConfig"]["KmsKeyId"] == KEY
    ebs_only = jobs.TrainingRequest(
        IMAGE, ROLE, f"s3://{BUCKET}/models/", KEY, {"k": "3"}, [channel], "ml.m5.xlarge", 1
    )
    assert ebs_only.api_arguments("job")["ResourceConfig"]["VolumeKmsKeyId"] == KEY
    p3dn = jobs.TrainingRequest(
        IMAGE, ROLE, f"s3://{BUCKET}/models/", KEY, {"k": "3"}, [channel], "ml.p3dn.24xlarge", 1
    )
    assert "VolumeKmsKeyId" not in p3dn.api_arguments("job")["ResourceConfig"]


@pytest.mark.parametrize("trailing_newline", [True, False])
def test_a_small_csv_is_cut_by_rows_into_one_object_per_instance(tmp_path: Path, trailing_newline: bool) -> None:
    """A few hundred bytes still give one object per instance when there are as many rows: ShardedByS3Key
    deals whole objects, so fewer would leave instances without data."""
    from model_build.sagemaker_input import _cut_csv

    data = write_csv(tmp_path / "rows.csv", blobs(5))
    if not trailing_newline:
        data.write_bytes(data.read_bytes().rstrip(b"\n"))
    staging = tmp_path / "staging"
    staging.mkdir()

    parts = [part.read_bytes() for part in _cut_csv(data, 4, staging)]

    assert len(parts) == 4
    assert b"".join(parts) == data.read_bytes()
    assert sorted(part.count(b"\n") + (not part.endswith(b"\n")) for part in parts) == [1, 1, 1, 2]


def test_small_recordio_and_npy_inputs_give_one_object_per_instance(tmp_path: Path) -> None:
    from model_build.sagemaker_input import _cut_recordio, _npy_as_recordio
    from recordio.codec import encode_rows

    rows = blobs(5)
    (tmp_path / "rows.rec").write_bytes(encode_rows(rows))
    np.save(tmp_path / "rows.npy", rows)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()

    records = [decode_rows(p.read_bytes()) for p in _cut_recordio(tmp_path / "rows.rec", 4, tmp_path / "a")]
    arrays = [decode_rows(p.read_bytes()) for p in _npy_as_recordio(tmp_path / "rows.npy", 4, tmp_path / "b")]

    for parts in (records, arrays):
        assert sorted(len(part) for part in parts) == [1, 1, 1, 2]
        np.testing.assert_array_equal(np.concatenate(parts), rows)


def test_a_large_csv_is_cut_into_parts_of_equal_rows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from model_build import sagemaker_input

    monkeypatch.setattr(sagemaker_input, "COPY_BYTES", 1000)  # many blocks: cuts fall inside and across them
    data = write_csv(tmp_path / "rows.csv", blobs(1003))
    staging = tmp_path / "staging"
    staging.mkdir()

    parts = [part.read_bytes() for part in sagemaker_input._cut_csv(data, 4, staging)]

    assert [part.count(b"\n") for part in parts] == [250, 251, 251, 251]
    assert b"".join(parts) == data.read_bytes()


def test_fewer_rows_than_instances_are_refused_before_any_upload(
    fake: Fake, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.stack()

    code = main(sagemaker_args(write_csv(tmp_path / "r.csv", blobs(3)), tmp_path / "b", "--instances", "4",
                               "--clusters", "2"))  # fmt: skip

    err = capsys.readouterr().err
    assert code == 1
    assert err.count("\n") == 1
    assert "--instances 4 is more than the 3 training rows" in err
    assert uploaded(fake, "train") == []


def test_an_s3_input_with_fewer_objects_than_instances_is_refused(
    fake: Fake, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.s3.put_object(
        Bucket=BUCKET, Key="data/one/part-0.csv", Body=write_csv(tmp_path / "p.csv", blobs(300)).read_bytes()
    )
    fake.stack()

    code = main(sagemaker_args(f"s3://{BUCKET}/data/one/", tmp_path / "b", "--instances", "2"))

    err = capsys.readouterr().err
    assert code == 1
    assert err.count("\n") == 1
    assert f"s3://{BUCKET}/data/one/: 1 object(s) for --instances 2; ShardedByS3Key deals whole objects" in err
    assert not (tmp_path / "b").exists()


def test_an_upload_of_fewer_objects_than_instances_is_refused_and_removed(
    fake: Fake, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two files, one of a single row: cut two parts each, they make three objects for four instances."""
    folder = tmp_path / "rows"
    folder.mkdir()
    write_csv(folder / "a.csv", blobs(1))
    write_csv(folder / "b.csv", blobs(300))
    fake.stack()

    code = main(sagemaker_args(folder, tmp_path / "b", "--instances", "4"))

    err = capsys.readouterr().err
    assert code == 1
    assert err.count("\n") == 1
    assert "(uploaded): 3 object(s) for --instances 4" in err
    assert uploaded(fake, "train") == []


def test_ctrl_c_on_a_job_that_is_still_stopping_says_so_not_stopped(
    fake: Fake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    interrupts = iter([KeyboardInterrupt()])

    def sleep(_: float) -> None:
        raised = next(interrupts, None)
        if raised is not None:
            raise raised

    monkeypatch.setattr("time.sleep", sleep)
    monkeypatch.setattr(jobs, "STOP_WAIT_S", 0.0)  # the wait is over at once: the job is still Stopping
    fake.stack()
    fake.created()
    fake.described("InProgress", "Training")
    fake.sagemaker.add_response("stop_training_job", {}, {"TrainingJobName": ANY})
    fake.described("Stopping", "Stopping")

    code = main(sagemaker_args(write_csv(tmp_path / "r.csv", blobs(300)), tmp_path / "b"))

    err = capsys.readouterr().err
    assert code == 1
    assert len(error_lines(err)) == 1
    assert "interrupted: asked training job kmeans-train-" in err
    assert "to stop (StopTrainingJob); it is still Stopping after 0 s" in err
    assert "stopped training job" not in err
    assert not (tmp_path / "b").exists()


def test_the_cli_waits_longer_for_a_stop_than_the_algorithms_sigterm_grace() -> None:
    assert jobs.STOP_WAIT_S >= 300  # StopTrainingJob: 120 s after SIGTERM, then the job winds down
