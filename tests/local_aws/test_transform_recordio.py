"""A transform job splits RecordIO input with the wire library's framing, multi-part check included."""

from __future__ import annotations

import io
import struct

import numpy as np
import pytest

from local_aws.transform.engine import TransformFailedError, _records
from recordio.codec import decode_rows, encode_rows
from recordio.framing import RECORDIO_MAGIC


def test_each_recordio_record_is_one_record_with_its_framing() -> None:
    rows = np.arange(12, dtype=np.float32).reshape(4, 3)

    records = list(_records(io.BytesIO(encode_rows(rows)), "RecordIO", "s3://b/k"))

    assert len(records) == 4
    np.testing.assert_array_equal(np.concatenate([decode_rows(record) for record in records]), rows)


def test_a_multi_part_record_fails_the_job_with_where_and_why() -> None:
    first = encode_rows(np.ones((1, 3), np.float32))
    data = first + struct.pack("<II", RECORDIO_MAGIC, (1 << 29) | 4) + b"abcd"

    with pytest.raises(TransformFailedError) as failed:
        list(_records(io.BytesIO(data), "RecordIO", "s3://b/k"))

    assert (
        str(failed.value) == f"ClientError: s3://b/k: multi-part RecordIO record at byte {len(first)} is not supported"
    )
