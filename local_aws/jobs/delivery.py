"""File mode's download, as the platform does it: each instance's objects copied onto its volume before it starts.

SageMaker downloads a File-mode channel to the instance's storage volume while the job is `Downloading`, before the
algorithm runs (developer guide "Setting up training jobs to access datasets", File mode). The engine has already
allowed the role every object (`engine._readable`: `s3:GetObject`, `kms:Decrypt`), so the copy is the platform's
own transfer, as on AWS, and runs in the local AWS's process straight from moto's store: an object moto keeps in a
temporary file (every one above its in-memory buffer, 5 MiB by default) is copied by the kernel (`os.sendfile`),
others from memory. Going through the S3 API instead cost a second process's CPU for every byte (a 3 GB channel
took longer to move over HTTP than to train on; bench/train_vs_sklearn.py).
"""

from __future__ import annotations

import io
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from local_aws import backends
from local_aws.jobs.channels import S3Object
from local_aws.jobs.instance import input_path
from local_aws.jobs.lifecycle import JobFailedError

SENDFILE_CHUNK = 1 << 30  # os.sendfile moves at most about 2 GiB a call


def deliver(shares: list[dict[str, list[S3Object]]], folders: list[Path], stop_file: Path) -> list[int]:
    """Copy each instance's objects (channel -> objects) to its volume in its folder (instance.input_path), the
    instances side by side; the bytes each received. A stop request ends the copying between objects."""
    with ThreadPoolExecutor(max_workers=max(1, len(shares))) as pool:
        return list(pool.map(_deliver_one, shares, folders, [stop_file] * len(shares)))


def _deliver_one(share: dict[str, list[S3Object]], folder: Path, stop_file: Path) -> int:
    copied = 0
    for channel, objects in share.items():
        for index, item in enumerate(objects):
            if stop_file.exists():
                return copied
            target = input_path(folder, channel, index)
            target.parent.mkdir(parents=True, exist_ok=True)
            copied += copy_object(item, target)
    return copied


def copy_object(item: S3Object, target: Path) -> int:
    """The object's current bytes into `target`; how many."""
    stored = backends.s3().get_object(item.bucket, item.key)
    if stored is None:  # deleted since the job listed it: the download fails, and with it the job
        raise JobFailedError(f"ClientError: Data download failed: s3://{item.bucket}/{item.key}: NoSuchKey (404)")
    descriptor = _stored_file(stored)
    if descriptor is None:
        return target.write_bytes(stored.value)
    with stored.lock, open(target, "wb") as copy:  # the lock: as moto's own reads, no write in between
        size = os.fstat(descriptor).st_size
        offset = 0
        while offset < size:
            sent = os.sendfile(copy.fileno(), descriptor, offset, min(SENDFILE_CHUNK, size - offset))
            if not sent:
                break
            offset += sent
        return offset


def _stored_file(stored: Any) -> int | None:
    """The descriptor of the temporary file moto keeps the object's bytes in, or None while they are in memory.

    moto's FakeKey holds them in a `tempfile.SpooledTemporaryFile` (`_value_buffer`), rolled over to a file past its
    size limit; tests/local_aws/test_delivery.py fails if a moto upgrade changes that."""
    try:
        return int(stored._value_buffer._file.fileno())
    except io.UnsupportedOperation:  # still an in-memory BytesIO
        return None
