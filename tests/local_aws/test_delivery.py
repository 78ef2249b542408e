"""How the platform hands input to instances (local_aws.jobs.delivery): File mode's share lands on the volume byte
for byte, Pipe mode's streams through one FIFO per epoch, big objects are moved by the kernel from the file moto
keeps them in, a stop request ends the transfer, and an object gone since the listing fails it."""

from __future__ import annotations

import os
import stat
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from local_aws import backends
from local_aws.config import ACCOUNT_ID, REGION
from local_aws.jobs import delivery
from local_aws.jobs.channels import S3Object
from local_aws.jobs.engine import Run
from local_aws.jobs.instance import failed_pipe_path, input_path, pipe_path
from local_aws.jobs.lifecycle import JobFailedError

BIG = 6 * 2**20  # past moto's in-memory buffer (5 MiB by default): kept in a temporary file


@pytest.fixture
def bucket() -> Iterator[str]:
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket="data")
        s3.put_object(Bucket="data", Key="train/big", Body=os.urandom(BIG))
        s3.put_object(Bucket="data", Key="train/small", Body=b"0,1,2\n")
        s3.put_object(Bucket="data", Key="test/one", Body=os.urandom(1000))
        yield "data"


def stored(bucket: str, key: str) -> bytes:
    found = backends.s3(ACCOUNT_ID, REGION).get_object(bucket, key)
    assert found is not None
    return bytes(found.value)


def test_each_instance_receives_its_share_byte_for_byte(bucket: str, tmp_path: Path) -> None:
    shares = [
        {"train": [S3Object(bucket, "train/big", "big")], "test": [S3Object(bucket, "test/one", "one")]},
        {"train": [S3Object(bucket, "train/small", "small")]},
    ]
    folders = [tmp_path / "instance-1", tmp_path / "instance-2"]

    copied = delivery.deliver(shares, folders, tmp_path / "stop")

    assert copied == [BIG + 1000, 6]
    assert input_path(folders[0], "train", 0).read_bytes() == stored(bucket, "train/big")
    assert input_path(folders[0], "test", 0).read_bytes() == stored(bucket, "test/one")
    assert input_path(folders[1], "train", 0).read_bytes() == b"0,1,2\n"
    assert not (folders[1] / "data" / "test").exists()


def test_a_big_object_is_copied_from_the_file_moto_keeps_it_in(bucket: str) -> None:
    """The kernel copy relies on moto's FakeKey keeping big objects in a rolled-over SpooledTemporaryFile."""
    big = backends.s3(ACCOUNT_ID, REGION).get_object(bucket, "train/big")
    small = backends.s3(ACCOUNT_ID, REGION).get_object(bucket, "train/small")

    assert delivery._stored_file(big) is not None
    assert delivery._stored_file(small) is None


def test_a_stop_request_ends_the_copying(bucket: str, tmp_path: Path) -> None:
    (tmp_path / "stop").touch()

    copied = delivery.deliver([{"train": [S3Object(bucket, "train/big", "big")]}], [tmp_path / "i1"], tmp_path / "stop")

    assert copied == [0]
    assert not input_path(tmp_path / "i1", "train", 0).exists()


def test_an_object_deleted_since_the_listing_is_not_delivered(bucket: str, tmp_path: Path) -> None:
    boto3.client("s3", region_name=REGION).delete_object(Bucket=bucket, Key="train/small")

    with (
        pytest.raises(JobFailedError, match="Data download failed:Unable to download object s3://data/train/small"),
        open(tmp_path / "copy", "wb") as copy,
    ):
        delivery.send_object(S3Object(bucket, "train/small", "small"), copy.fileno())


def job_run(tmp_path: Path) -> Run:
    return Run("job", tmp_path, tmp_path / "stop", "http://localhost:1", lambda action, resource, context: None)


def read_pipe(path: Path) -> bytes:
    """An epoch's FIFO read to its end, once it is made (the next one is made when the last is fed)."""
    deadline = time.monotonic() + 10
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.005)
    with open(path, "rb") as pipe:  # blocks until the feeder opens it for writing
        return pipe.read()


def test_pipe_mode_streams_the_share_through_one_fifo_per_epoch(bucket: str, tmp_path: Path) -> None:
    share = {"train": [S3Object(bucket, "train/big", "big"), S3Object(bucket, "train/small", "small")]}
    folder = tmp_path / "instance-1"

    delivery.feed_pipes([share], [folder], {"train": 2}, job_run(tmp_path))

    every_object = stored(bucket, "train/big") + stored(bucket, "train/small")
    assert stat.S_ISFIFO(pipe_path(folder, "train", 0).stat().st_mode)
    assert read_pipe(pipe_path(folder, "train", 0)) == every_object
    assert read_pipe(pipe_path(folder, "train", 1)) == every_object
    assert not pipe_path(folder, "train", 2).exists()


def test_an_epoch_closed_early_goes_on_to_the_next(bucket: str, tmp_path: Path) -> None:
    share = {"train": [S3Object(bucket, "train/big", "big")]}
    folder = tmp_path / "instance-1"
    delivery.feed_pipes([share], [folder], {"train": 2}, job_run(tmp_path))

    with open(pipe_path(folder, "train", 0), "rb") as pipe:
        assert len(pipe.read(1000)) == 1000  # then closed: the algorithm is done with the epoch

    assert read_pipe(pipe_path(folder, "train", 1)) == stored(bucket, "train/big")


def test_a_pipe_the_platform_cannot_fill_says_why(bucket: str, tmp_path: Path) -> None:
    share = {"train": [S3Object(bucket, "train/small", "small")]}
    folder = tmp_path / "instance-1"
    boto3.client("s3", region_name=REGION).delete_object(Bucket=bucket, Key="train/small")
    delivery.feed_pipes([share], [folder], {"train": 1}, job_run(tmp_path))

    assert read_pipe(pipe_path(folder, "train", 0)) == b""
    assert "NoSuchKey" in failed_pipe_path(pipe_path(folder, "train", 0)).read_text()


def test_a_feeder_ends_with_its_job_and_makes_nothing_after(bucket: str, tmp_path: Path) -> None:
    run = job_run(tmp_path)
    folder = tmp_path / "instance-1"
    before = threading.active_count()
    delivery.feed_pipes([{"train": [S3Object(bucket, "train/small", "small")]}], [folder], {"train": 3}, run)
    assert threading.active_count() == before + 1
    with open(pipe_path(folder, "train", 0), "rb") as pipe:
        pipe.read(1)  # closed early, as a failing worker's pipe is: the feeder goes on to the next epoch

    run.end.mark()  # as the engine does before it removes the job's folder

    deadline = time.monotonic() + 5
    while threading.active_count() > before and time.monotonic() < deadline:
        time.sleep(0.01)
    assert threading.active_count() == before
    assert not pipe_path(folder, "train", 2).exists()


def test_moving_an_object_holds_no_lock_and_survives_its_overwrite(bucket: str, tmp_path: Path) -> None:
    """The transfer reads its own descriptor of the version it took: moto may dispose of the key meanwhile."""
    folder = tmp_path / "instance-1"
    before = stored(bucket, "train/big")
    delivery.feed_pipes([{"train": [S3Object(bucket, "train/big", "big")]}], [folder], {"train": 1}, job_run(tmp_path))
    with open(pipe_path(folder, "train", 0), "rb") as pipe:
        first = pipe.read(1000)
        s3 = boto3.client("s3", region_name=REGION)
        s3.get_object(Bucket=bucket, Key="train/big")["Body"].read()  # not blocked by the transfer
        s3.put_object(Bucket=bucket, Key="train/big", Body=os.urandom(BIG))  # moto closes the old key's file
        s3.put_object(Bucket=bucket, Key="test/other", Body=os.urandom(BIG))  # and may reuse its descriptor
        rest = pipe.read()

    assert first + rest == before


def test_after_a_stop_request_a_waiting_reader_is_let_in_and_sees_the_end(bucket: str, tmp_path: Path) -> None:
    folder = tmp_path / "instance-1"
    (tmp_path / "stop").touch()
    delivery.feed_pipes([{"train": [S3Object(bucket, "train/big", "big")]}], [folder], {"train": 1}, job_run(tmp_path))

    assert read_pipe(pipe_path(folder, "train", 0)) == b""
