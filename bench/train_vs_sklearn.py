"""Benchmark: training at scale, against scikit-learn in this process, on the same generated rows.

`training_job_vs_minibatch`: 1,000,000 x 784 float32 rows around k = 10 centres (MNIST-sized, ~3 GB), written as
RecordIO-protobuf objects to a fresh local AWS; a k-means CreateTrainingJob with 2 instances
(ShardedByS3Key, mini_batch_size 5000, 1 epoch, kmeans++ seeding, extra_center_factor 2), once in File mode and
once in Pipe mode, against:
- wall: scikit-learn's MiniBatchKMeans (same batch size and epochs, k-means++) fitting the rows in memory, the
  faster of its default threads and one thread, over every batch of the epoch as the job does (its default
  early stop, after 10 batches without improvement, ends the epoch after a sixth of it: printed too); target:
  the job (CreateTrainingJob to Completed, upload excluded) <= 1.5x, in File mode (the platform copies the shares
  to the instances' volumes first) and in Pipe mode (each object streams from S3 as it is read); also printed,
  one plain sequential read of the objects from the local S3;
- quality: scikit-learn's KMeans (k-means++, one init) on all rows; target: the job's model's inertia on all rows
  within 2 % of it;
- memory: each training instance's peak RSS, as its worker logs it; target < 1 GiB.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import BENCH_DIR
from local_aws.ports import free_ports

FEATURES, CLUSTERS, BATCH, EPOCHS, INSTANCES = 784, 10, 5000, 1, 2
ROWS_PER_OBJECT = 50_000
WALL_TARGET, INERTIA_TARGET, RSS_TARGET_MIB = 1.5, 1.02, 1024.0
RSS_LINE = re.compile(r"#resource_metric: host=(\S+), peak RSS=([\d.]+) MiB")
PHASE_LINE = re.compile(r"algo-\d+: \d+ records")


def generated_rows(rows: int, seed: int = 0) -> npt.NDArray[np.float32]:
    """`rows` pixel-scaled rows around CLUSTERS random centres."""
    rng = np.random.default_rng(seed)
    centres = rng.uniform(0, 255, (CLUSTERS, FEATURES)).astype(np.float32)
    values = np.empty((rows, FEATURES), np.float32)
    for start in range(0, rows, 100_000):
        count = min(100_000, rows - start)
        values[start : start + count] = centres[rng.integers(0, CLUSTERS, count)]
        values[start : start + count] += rng.normal(0, 40, (count, FEATURES)).astype(np.float32)
    return values


def recordio_body(rows: npt.NDArray[np.float32]) -> bytes:
    """Dense rows as RecordIO-protobuf, byte for byte what `recordio.codec.encode_rows` writes, built by numpy:
    every record of a dense row of one width is the same bytes around its floats (checked below)."""
    from recordio.codec import decode_rows, encode_rows

    first = encode_rows(rows[:1])
    size, floats = len(first), rows.shape[1] * 4
    start = first.index(rows[0].astype("<f4").tobytes())
    records = np.zeros((len(rows), size), np.uint8)
    records[:] = np.frombuffer(first, np.uint8)
    records[:, start : start + floats] = rows.astype("<f4").view(np.uint8).reshape(len(rows), floats)
    body = records.tobytes()
    assert body[: 3 * size] == encode_rows(rows[:3])
    np.testing.assert_array_equal(decode_rows(body[-2 * size :]), rows[-2:])
    return body


@contextmanager
def local_aws() -> Iterator[Any]:
    """A fresh local AWS on free ports; yields a client factory."""
    import boto3

    from local_aws.config import LocalAwsConfig
    from local_aws.processes import start, stop

    control, runtime = free_ports(2)
    config = LocalAwsConfig(control_port=control, runtime_port=runtime, state_dir=BENCH_DIR / "local_aws")
    environment = config.client_environment()
    start(config, environment)

    def client(service: str) -> Any:
        return boto3.session.Session(region_name=environment["AWS_REGION"]).client(
            service,
            endpoint_url=config.control_url,
            aws_access_key_id=environment["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=environment["AWS_SECRET_ACCESS_KEY"],
        )

    try:
        yield client
    finally:
        stop(config)


def training_role(client: Any) -> str:
    """A role that may read bench/, write bench/models/, pull the image and write the training logs."""
    from contract.execution_role import GET_REGISTRY_TOKEN, PULL_IMAGE

    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": "sagemaker.amazonaws.com"}}
        ],
    }
    statements = [
        {"Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": "arn:aws:s3:::bench"},
        {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": "arn:aws:s3:::bench/*"},
        {"Effect": "Allow", "Action": list(GET_REGISTRY_TOKEN.used), "Resource": "*"},
        {"Effect": "Allow", "Action": list(PULL_IMAGE.used), "Resource": "*"},
        {
            "Effect": "Allow",
            "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": "*",
        },
    ]
    iam = client("iam")
    arn: str = iam.create_role(RoleName="bench-training", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    policy = {"Version": "2012-10-17", "Statement": statements}
    iam.put_role_policy(RoleName="bench-training", PolicyName="grants", PolicyDocument=json.dumps(policy))
    return arn


def upload(client: Any, rows: npt.NDArray[np.float32]) -> str:
    """The rows as RecordIO-protobuf objects under s3://bench/train/; the training role's ARN."""
    s3 = client("s3")
    s3.create_bucket(Bucket="bench")
    for index, start in enumerate(range(0, len(rows), ROWS_PER_OBJECT)):
        body = recordio_body(rows[start : start + ROWS_PER_OBJECT])
        s3.put_object(Bucket="bench", Key=f"train/part-{index:03d}.rec", Body=body)
    return training_role(client)


def run_training_job(client: Any, role: str, mode: str) -> tuple[float, npt.NDArray[np.float32], dict[str, float]]:
    """Train with INSTANCES instances in input mode `mode`; (seconds to Completed, centroids, peak RSS per host)."""
    from local_aws.training.job import kmeans_image
    from model_build import ndarray
    from model_build.packaging import unpack_model

    s3, sagemaker = client("s3"), client("sagemaker")
    name = f"bench-training-{mode.lower()}"
    source = {"S3DataType": "S3Prefix", "S3Uri": "s3://bench/train/", "S3DataDistributionType": "ShardedByS3Key"}
    print(f"  training job, {mode} mode:")
    started = time.perf_counter()
    sagemaker.create_training_job(
        TrainingJobName=name,
        AlgorithmSpecification={"TrainingImage": kmeans_image(), "TrainingInputMode": mode},
        RoleArn=role,
        HyperParameters={
            "k": str(CLUSTERS), "feature_dim": str(FEATURES), "mini_batch_size": str(BATCH), "epochs": str(EPOCHS),
            "init_method": "kmeans++", "extra_center_factor": "2",
        },
        InputDataConfig=[{"ChannelName": "train", "DataSource": {"S3DataSource": source},
                          "ContentType": "application/x-recordio-protobuf"}],
        OutputDataConfig={"S3OutputPath": "s3://bench/models"},
        ResourceConfig={"InstanceType": "ml.c5.2xlarge", "InstanceCount": INSTANCES, "VolumeSizeInGB": 50},
        StoppingCondition={"MaxRuntimeInSeconds": 3600},
    )  # fmt: skip
    while (job := sagemaker.describe_training_job(TrainingJobName=name))["TrainingJobStatus"] in (
        "InProgress",
        "Stopping",
    ):
        time.sleep(0.02)
    elapsed = time.perf_counter() - started
    for transition in job["SecondaryStatusTransitions"][:-1]:
        took = (transition["EndTime"] - transition["StartTime"]).total_seconds()
        print(f"    {transition['Status']}: {took:.1f} s")
    if job["TrainingJobStatus"] != "Completed":
        raise SystemExit(f"training {job['TrainingJobStatus']}: {job.get('FailureReason')}")
    key = job["ModelArtifacts"]["S3ModelArtifacts"].split("s3://bench/", 1)[1]
    artifact = s3.get_object(Bucket="bench", Key=key)["Body"].read()
    (centroids,) = ndarray.decode(unpack_model(artifact, key), key)
    return elapsed, np.asarray(centroids, np.float32), peak_rss_by_host(client, name)


def peak_rss_by_host(client: Any, name: str) -> dict[str, float]:
    """Each instance's peak RSS, from its log; its phases' times are printed on the way."""
    logs = client("logs")
    group = "/aws/sagemaker/TrainingJobs"
    peaks: dict[str, float] = {}
    for stream in logs.describe_log_streams(logGroupName=group, logStreamNamePrefix=f"{name}/")["logStreams"]:
        for event in logs.get_log_events(logGroupName=group, logStreamName=stream["logStreamName"])["events"]:
            if found := RSS_LINE.search(event["message"]):
                peaks[found[1]] = float(found[2])
            elif PHASE_LINE.match(event["message"]):
                print(f"    {event['message']}")
    return peaks


def s3_read_seconds(client: Any) -> float:
    """Seconds to GET every training object once, in this process, one after another: the transfer's floor."""
    s3 = client("s3")
    started = time.perf_counter()
    for item in s3.list_objects_v2(Bucket="bench", Prefix="train/")["Contents"]:
        body = s3.get_object(Bucket="bench", Key=item["Key"])["Body"]
        while body.read(8 << 20):
            pass
    return time.perf_counter() - started


def inertia(rows: npt.NDArray[np.float32], centroids: npt.NDArray[np.float32]) -> float:
    from sklearn.metrics import pairwise_distances_argmin_min

    total = 0.0
    for start in range(0, len(rows), 50_000):
        _, distances = pairwise_distances_argmin_min(rows[start : start + 50_000], centroids)
        total += float(np.square(distances, dtype=np.float64).sum())
    return total


def minibatch_seconds(rows: npt.NDArray[np.float32], threads: int | None, patience: int | None = 10) -> float:
    """MiniBatchKMeans (same batch size and epochs) on the rows in memory, with scikit-learn's default threads
    or `threads` (on a loaded machine its OpenMP threads can spin against each other), and its default early
    stop after `patience` batches without improvement (None: every batch of the epoch, as the job does)."""
    from sklearn.cluster import MiniBatchKMeans
    from threadpoolctl import threadpool_limits

    model = MiniBatchKMeans(
        CLUSTERS, batch_size=BATCH, max_iter=EPOCHS, n_init=1, random_state=0, max_no_improvement=patience
    )
    with threadpool_limits(limits=threads):
        started = time.perf_counter()
        model.fit(rows)
        elapsed = time.perf_counter() - started
    stop = "its default early stop" if patience else "no early stop"
    print(f"    MiniBatchKMeans, {threads or 'default'} threads, {stop}: {elapsed:.1f} s, {model.n_steps_} batches")
    return elapsed


def training_job_vs_minibatch(rows_count: int) -> None:
    """The first benchmark of `make bench-train`: a 2-instance training job against in-process scikit-learn."""
    from sklearn.cluster import KMeans

    rows = generated_rows(rows_count)
    print(f"training job vs scikit-learn: {rows_count:,} x {FEATURES} rows ({rows.nbytes / 1e9:.1f} GB), k={CLUSTERS}")
    every_batch_s = min(minibatch_seconds(rows, threads, patience=None) for threads in (None, 1))
    early_stop_s = min(minibatch_seconds(rows, threads) for threads in (None, 1))
    best = KMeans(CLUSTERS, init="k-means++", n_init=1, random_state=0, copy_x=False).fit(rows).inertia_
    with local_aws() as client:
        role = upload(client, rows)
        read_s = s3_read_seconds(client)
        jobs = {mode: run_training_job(client, role, mode) for mode in ("File", "Pipe")}
    print(
        f"  MiniBatchKMeans in process, the faster of default threads and one: every batch of the epoch "
        f"{every_batch_s:.1f} s; with its default early stop {early_stop_s:.1f} s"
    )
    print(f"  (one sequential read of the same objects from the local S3, in process: {read_s:.1f} s)")
    for mode, (job_s, centroids, peaks) in jobs.items():
        quality = inertia(rows, centroids) / best
        print(
            f"  training job, {INSTANCES} instances, {mode} mode: {job_s:.1f} s, {job_s / every_batch_s:.2f}x of the "
            f"same epoch in process (target <= {WALL_TARGET}x); {job_s / early_stop_s:.2f}x of the early stop"
        )
        print(f"    inertia ratio to KMeans on all rows {quality:.4f} (target <= {INERTIA_TARGET})")
        for host, peak in sorted(peaks.items()):
            print(f"    {host} peak RSS {peak:,.0f} MiB (target < {RSS_TARGET_MIB:,.0f} MiB)")
        assert len(peaks) == INSTANCES, peaks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    training_job_vs_minibatch(args.rows)


if __name__ == "__main__":
    main()
