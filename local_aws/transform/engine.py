"""One batch-transform instance: stream its share of the input objects through the k-means predictor.

Each object is read as a stream (decompressed if Gzip), split into records (Line, RecordIO or None),
filtered (InputFilter), batched (MultiRecord up to MaxPayloadInMB, or SingleRecord), predicted,
joined with its input (JoinSource), filtered again (OutputFilter) and written, assembled by Line or
not, to a local file that is committed as `<object>.out` only when the whole object succeeded: a
failed object leaves no partial output (the job engine, local_aws.jobs, publishes what was committed).
Memory holds one batch, whatever the object's size.
"""

from __future__ import annotations

import gzip
import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Any

from aws_facts.payloads import MB
from local_aws.jobs.channels import s3_client, split_s3_uri
from local_aws.jobs.instance import Instance
from local_aws.jobs.lifecycle import JobFailedError, JobStoppedError
from local_aws.kmeans import KMeansPredictor
from local_aws.rules import enforced
from local_aws.runtime.formats import parse_rows, render
from local_aws.transform.jsonpath import JsonPath, JsonPathError, parse
from recordio.framing import FramingError, read_frames
from wire.errors import PayloadError
from wire.media_types import CSV, PROTOBUF

READ_CHUNK = 1 << 20


class TransformFailedError(JobFailedError):
    """The job fails with this FailureReason."""


class TransformStoppedError(JobStoppedError):
    """StopTransformJob was called."""


@dataclass(frozen=True)
class JobSpec:
    """What every instance needs to know of the job (picklable: it crosses into worker processes)."""

    name: str
    model_data_url: str
    content_type: str
    split_type: str
    compression: str
    batch_strategy: str
    max_payload_bytes: int
    accept: str
    assemble_with: str
    input_filter: str | None
    join_input: bool
    output_filter: str | None
    output_bucket: str
    output_prefix: str
    output_kms_key_id: str | None
    stop_file: str
    s3_endpoint: str


@dataclass(frozen=True)
class InputObject:
    bucket: str
    key: str
    output_name: str  # the key relative to the input prefix's folder: `<output prefix>/<output_name>.out`


def run_instance(instance: Instance, spec: JobSpec, objects: list[InputObject]) -> None:
    """Transform `objects` in order; the first failing object fails the instance (and the job)."""
    s3 = s3_client(spec.s3_endpoint)
    predictor = _predictor(s3, spec.model_data_url)
    instance.log(
        f"MaxPayloadInMB={spec.max_payload_bytes // MB}, BatchStrategy={spec.batch_strategy}, "
        f"{len(objects)} objects to transform"
    )
    for item in objects:
        _transform_object(spec, predictor, s3, item, instance)


def output_key(spec: JobSpec, item: InputObject) -> str:
    """Where `item`'s answers go: `<S3OutputPath>/<key below the input prefix>.out`."""
    return f"{spec.output_prefix.rstrip('/')}/{item.output_name}.out".lstrip("/")


def _predictor(s3: Any, model_data_url: str) -> KMeansPredictor:
    from model_build.errors import BuildError

    bucket, key = split_s3_uri(model_data_url)
    try:
        return KMeansPredictor.from_artifact(s3.get_object(Bucket=bucket, Key=key)["Body"].read(), model_data_url)
    except BuildError as error:
        raise TransformFailedError(f"ClientError: the model could not be loaded: {error}") from error


def _transform_object(
    spec: JobSpec, predictor: KMeansPredictor, s3: Any, item: InputObject, instance: Instance
) -> None:
    where = f"s3://{item.bucket}/{item.key}"
    staging = instance.staging_file(suffix=".out")
    try:
        with open(staging, "wb") as output:
            body = s3.get_object(Bucket=item.bucket, Key=item.key)["Body"]
            stream = _decompressed(body, spec.compression, where)
            if _plain_lines(spec):
                _transform_lines(spec, predictor, stream, output=output, where=where)
            else:
                records = _records(stream, spec.split_type, where)
                for batch in _batches(_filtered(records, spec, where), spec, where):
                    _check_stop(spec)
                    _write_batch(spec, predictor, batch, output=output, where=where)
        key = output_key(spec, item)
        instance.commit(
            staging, spec.output_bucket, key, spec.output_kms_key_id
        )  # only now: a failed object leaves no partial .out
        instance.log(f"{where}: transformed, s3://{spec.output_bucket}/{key}")
    finally:
        staging.unlink(missing_ok=True)


def _plain_lines(spec: JobSpec) -> bool:
    """Line records in and out, nothing filtered or joined: whole lines can be batched as bytes."""
    filtered = spec.input_filter or spec.join_input or spec.output_filter
    return spec.split_type == "Line" and spec.assemble_with == "Line" and not filtered and spec.content_type != PROTOBUF


def _transform_lines(
    spec: JobSpec, predictor: KMeansPredictor, stream: IO[bytes], *, output: IO[bytes], where: str,
) -> None:  # fmt: skip
    """The common case at C speed: batches are runs of whole lines, answers are written as rendered."""
    for body in _line_batches(stream, spec, where):
        _check_stop(spec)
        try:
            predictions = predictor.predict(parse_rows(spec.content_type, body))
        except ValueError as error:
            raise TransformFailedError(
                f"ClientError: {where}: the model container answered 400 (invalid input: {error})"
            ) from error
        output.write(render(predictions, spec.accept))


def _line_batches(stream: IO[bytes], spec: JobSpec, where: str) -> Iterator[bytes]:
    """Runs of complete lines, each at most MaxPayloadInMB (or one line, for SingleRecord)."""
    limit, pending = spec.max_payload_bytes, b""
    try:
        while chunk := stream.read(READ_CHUNK):
            pending += chunk
            while len(pending) > limit or spec.batch_strategy == "SingleRecord":
                cut = _cut(pending, limit, spec.batch_strategy, where)
                if cut is None:
                    break
                yield pending[:cut]
                pending = pending[cut:]
    except (OSError, EOFError) as error:
        raise TransformFailedError(f"ClientError: {where} could not be read ({error})") from error
    while pending.strip():
        cut = _cut(pending, limit, spec.batch_strategy, where) or len(pending)
        yield pending[:cut]
        pending = pending[cut:]


def _cut(pending: bytes, limit: int, strategy: str, where: str) -> int | None:
    """Where the next batch ends (after a newline), or None when `pending` holds no complete batch yet."""
    if strategy == "SingleRecord":
        end = pending.find(b"\n")
        return None if end < 0 else end + 1
    end = pending.rfind(b"\n", 0, limit + 1)
    if end < 0:
        if len(pending) > limit and enforced("transform-record-size"):
            raise TransformFailedError(f"ClientError: {where}: a record larger than MaxPayloadInMB ({limit // MB} MB)")
        return None
    return end + 1


def _check_stop(spec: JobSpec) -> None:
    if os.path.exists(spec.stop_file):
        raise TransformStoppedError


def _decompressed(body: Any, compression: str, where: str) -> Any:
    if compression != "Gzip":
        return body
    stream = gzip.GzipFile(fileobj=body)
    try:
        stream.peek(1)
    except (OSError, EOFError) as error:
        raise TransformFailedError(f"ClientError: {where} could not be decompressed as Gzip ({error})") from error
    return stream


@dataclass(frozen=True)
class Record:
    """One input record: its bytes as read, and what the model is sent (after InputFilter)."""

    raw: bytes
    sent: bytes


def _records(stream: IO[bytes], split_type: str, where: str) -> Iterator[bytes]:
    try:
        if split_type == "Line":
            yield from (line.rstrip(b"\r\n") for line in _lines(stream) if line.strip())
        elif split_type == "RecordIO":
            yield from _recordio_records(stream, where)
        else:
            yield stream.read()
    except (OSError, EOFError) as error:
        raise TransformFailedError(f"ClientError: {where} could not be read ({error})") from error


def _lines(stream: IO[bytes]) -> Iterator[bytes]:
    pending = b""
    while chunk := stream.read(READ_CHUNK):
        pending += chunk
        *complete, pending = pending.split(b"\n")
        yield from complete
    if pending:
        yield pending


def _recordio_records(stream: IO[bytes], where: str) -> Iterator[bytes]:
    """Each RecordIO frame, with its header, as one record (what the container is sent)."""
    try:
        yield from read_frames(stream)
    except FramingError as error:
        raise TransformFailedError(f"ClientError: {where}: {error}") from error


def _filtered(records: Iterable[bytes], spec: JobSpec, where: str) -> Iterator[Record]:
    path = parse(spec.input_filter) if spec.input_filter else None
    for raw in records:
        yield Record(raw, _select(path, raw, spec.content_type, where) if path else raw)


def _select(path: JsonPath, raw: bytes, content_type: str, where: str) -> bytes:
    try:
        if content_type == CSV:
            return _csv_text(path.apply(raw.decode().split(","))).encode()
        return json.dumps(path.apply(json.loads(raw))).encode()
    except (JsonPathError, ValueError) as error:
        raise TransformFailedError(f"ClientError: {where}: InputFilter {path.text}: {error}") from error


def _csv_text(value: Any) -> str:
    return ",".join(str(item) for item in value) if isinstance(value, list) else str(value)


def _batches(records: Iterable[Record], spec: JobSpec, where: str) -> Iterator[list[Record]]:
    batch: list[Record] = []
    size = 0
    for record in records:
        if len(record.sent) > spec.max_payload_bytes and enforced("transform-record-size"):
            raise TransformFailedError(
                f"ClientError: {where}: a record of {len(record.sent)} bytes is larger than MaxPayloadInMB "
                f"({spec.max_payload_bytes // MB} MB)"
            )
        if batch and (spec.batch_strategy == "SingleRecord" or size + len(record.sent) + 1 > spec.max_payload_bytes):
            yield batch
            batch, size = [], 0
        batch.append(record)
        size += len(record.sent) + 1
    if batch:
        yield batch


def _write_batch(
    spec: JobSpec,
    predictor: KMeansPredictor,
    batch: list[Record],
    *,
    output: IO[bytes],
    where: str,
) -> None:
    separator = b"" if spec.content_type == PROTOBUF else b"\n"
    try:
        rows = parse_rows(spec.content_type, separator.join(record.sent for record in batch))
        predictions = predictor.predict(rows)
    except (PayloadError, ValueError) as error:
        raise TransformFailedError(
            f"ClientError: {where}: the model container answered 400 (invalid input: {error})"
        ) from error
    closest = predictions.closest_cluster
    if len(closest) != len(batch) and (spec.join_input or spec.assemble_with == "Line"):
        raise TransformFailedError(f"ClientError: {where}: {len(batch)} records gave {len(closest)} answers")
    # The answers exactly as the endpoint renders them: one line per row, in CSV or JSON Lines.
    answers = render(predictions, spec.accept).decode().splitlines()
    for text in _output_records(spec, batch, answers, where):
        output.write(text + (b"\n" if spec.assemble_with == "Line" else b""))


def _output_records(spec: JobSpec, batch: list[Record], answers: list[str], where: str) -> Iterator[bytes]:
    output_filter = parse(spec.output_filter) if spec.output_filter else None
    as_csv = spec.accept == CSV
    for record, line in zip(batch, answers, strict=False):
        answer: Any = line.split(",") if as_csv else json.loads(line)
        joined = _joined(record.raw, answer, as_csv) if spec.join_input else answer
        try:
            selected = output_filter.apply(joined) if output_filter else joined
        except JsonPathError as error:
            raise TransformFailedError(f"ClientError: {where}: OutputFilter: {error}") from error
        yield (_csv_text(selected) if as_csv else json.dumps(selected)).encode()


def _joined(raw: bytes, answer: Any, as_csv: bool) -> Any:
    """JoinSource Input: CSV fields then the answer's; a JSON object gains `SageMakerOutput`, any other JSON
    record is wrapped (API DataProcessing: "If the input is not a key-value pair object, SageMaker creates a
    new JSON file ... the input data is stored under the SageMakerInput key")."""
    if as_csv:
        return [*raw.decode().split(","), *answer]
    record = json.loads(raw)
    if isinstance(record, dict):
        return {**record, "SageMakerOutput": answer}
    if not enforced("transform-join-wrap"):
        raise TransformFailedError("ClientError: JoinSource Input needs JSON objects as input records")
    return {"SageMakerInput": record, "SageMakerOutput": answer}
