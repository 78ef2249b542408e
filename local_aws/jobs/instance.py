"""What a worker process sees of its job: which instance it is, the stop request, its log, its outputs.

A worker runs in its own process (forked from the fork server, not from the control plane) and talks to the
engine through files in its own folder, so nothing is shared with the threaded server: `stop` (touched by
StopXxxJob), `log.jsonl` (lines the engine copies into the instance's CloudWatch log stream), `outputs/` with
`outputs.jsonl` (files the worker has finished, published to S3 by the engine when the job's outcome allows), and
`data/` (the instance's volume: File-mode input the platform copied there). Worker processes import this module:
it stays free of moto.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from local_aws.jobs.channels import s3_client
from local_aws.jobs.lifecycle import JobStoppedError

LOG_FILE, OUTPUTS_FILE, OUTPUTS_DIR = "log.jsonl", "outputs.jsonl", "outputs"
INPUT_DIR = "data"  # the instance's volume: File-mode input, as SageMaker's /opt/ml/input/data/<channel>/


def input_path(folder: Path, channel: str, index: int) -> Path:
    """Where object `index` of the instance's share of a channel lies once the platform has copied it to the
    instance's volume (File mode; local_aws.jobs.delivery)."""
    return folder / INPUT_DIR / channel / f"{index:06d}"


def pipe_path(folder: Path, channel: str, epoch: int) -> Path:
    """The FIFO the platform streams a channel's objects through in one epoch (Pipe mode), as SageMaker names it:
    `/opt/ml/input/data/<channel>_<epoch>`."""
    return folder / INPUT_DIR / f"{channel}_{epoch}"


def failed_pipe_path(pipe: Path) -> Path:
    """Where the platform says why it could not stream an epoch's objects through `pipe` (read after its end)."""
    return pipe.with_name(pipe.name + ".failed")


@dataclass(frozen=True)
class StagedOutput:
    """A finished output file and where it goes once published."""

    path: Path
    bucket: str
    key: str
    kms_key_id: str | None = None  # written SSE-KMS with this key, else as the bucket's default says


@dataclass(frozen=True)
class Instance:
    """One instance of a job, as its worker process sees it (picklable)."""

    job_name: str
    index: int  # 0-based; AWS numbers hosts from 1 (algo-1)
    count: int
    host: str  # `algo-1`, or an instance id for transform jobs
    folder: str  # this instance's own folder
    stop_file: str  # the job's: one request stops every instance
    s3_endpoint: str

    def s3(self) -> Any:
        return s3_client(self.s3_endpoint)

    def stopped(self) -> bool:
        return os.path.exists(self.stop_file)

    def check_stop(self) -> None:
        """Raise JobStoppedError once the job has been asked to stop."""
        if self.stopped():
            raise JobStoppedError

    def log(self, message: str) -> None:
        """One line in this instance's CloudWatch log stream."""
        line = json.dumps({"timestamp": int(time.time() * 1000), "message": message})
        with open(Path(self.folder) / LOG_FILE, "a", encoding="utf-8") as log:
            log.write(line + "\n")

    def staging_file(self, suffix: str = "") -> Path:
        """A new empty file in this instance's folder, to write an output into before `commit`."""
        handle, path = tempfile.mkstemp(prefix="staging-", suffix=suffix, dir=self.folder)
        os.close(handle)
        return Path(path)

    def commit(self, path: Path, bucket: str, key: str, kms_key_id: str | None = None) -> None:
        """`path` is a finished output for s3://bucket/key (SSE-KMS with `kms_key_id` if given); it is moved away,
        and published only if the job's outcome allows (a Completed job, or a type that keeps the outputs of
        the units it finished)."""
        outputs = Path(self.folder) / OUTPUTS_DIR
        outputs.mkdir(exist_ok=True)
        target = outputs / uuid.uuid4().hex
        shutil.move(path, target)
        with open(Path(self.folder) / OUTPUTS_FILE, "a", encoding="utf-8") as index:
            entry = {"path": str(target), "bucket": bucket, "key": key, "kms_key_id": kms_key_id}
            index.write(json.dumps(entry) + "\n")


def staged_outputs(folder: Path) -> list[StagedOutput]:
    """What the instance in `folder` committed, in order."""
    index = folder / OUTPUTS_FILE
    if not index.exists():
        return []
    entries = [json.loads(line) for line in index.read_text(encoding="utf-8").splitlines() if line]
    return [
        StagedOutput(Path(entry["path"]), entry["bucket"], entry["key"], entry.get("kms_key_id")) for entry in entries
    ]
