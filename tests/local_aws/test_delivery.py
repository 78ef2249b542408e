"""File mode's download (local_aws.jobs.delivery): each instance's share lands on its volume byte for byte, big
objects copied by the kernel from the file moto keeps them in, and a stop request ends the copying."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from local_aws import backends
from local_aws.config import ACCOUNT_ID, REGION
from local_aws.jobs import delivery
from local_aws.jobs.channels import S3Object
from local_aws.jobs.instance import input_path
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
    return bytes(backends.s3(ACCOUNT_ID, REGION).get_object(bucket, key).value)


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

    with pytest.raises(JobFailedError, match="ClientError: Data download failed: s3://data/train/small: NoSuchKey"):
        delivery.copy_object(S3Object(bucket, "train/small", "small"), tmp_path / "copy")
