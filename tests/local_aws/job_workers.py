"""A job type for testing the engine: each instance copies its objects to `<output>/<host>/<channel>/<key>`.

Its worker runs in spawned processes, which import this module: it imports nothing heavy.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from local_aws.jobs.channels import Channel, S3Object, shares
from local_aws.jobs.engine import Run, Worker
from local_aws.jobs.instance import Instance
from local_aws.jobs.lifecycle import JobFailedError, JobStoppedError, Snapshot
from local_aws.jobs.logs import TRAINING_JOBS

FAILING_SUFFIX = "fail"  # an object whose key ends so fails its instance


@dataclass(frozen=True)
class CopySpec:
    bucket: str
    output_prefix: str
    wait_for_stop: bool


def copy_objects(instance: Instance, spec: CopySpec, share: dict[str, list[S3Object]]) -> None:
    """Copy every object of the share, one output each; or, with `wait_for_stop`, wait to be stopped."""
    s3 = instance.s3()
    for channel, objects in share.items():
        for item in objects:
            if spec.wait_for_stop:
                _wait_for_stop(instance)
            if item.key.endswith(FAILING_SUFFIX):
                raise JobFailedError(f"ClientError: s3://{item.bucket}/{item.key} is not what was expected")
            staging = instance.staging_file()
            s3.download_file(item.bucket, item.key, str(staging))
            instance.commit(staging, spec.bucket, f"{spec.output_prefix}/{instance.host}/{channel}/{item.relative}")
            instance.log(f"copied s3://{item.bucket}/{item.key}")


def _wait_for_stop(instance: Instance) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        instance.check_stop()
        time.sleep(0.05)
    raise JobStoppedError  # never asked: the test fails on the status it reads


@dataclass
class CopyJob:
    """A job type (engine.JobType) over `channels`, logging as a training job does."""

    name: str
    inputs: list[Channel]
    instances: int
    bucket: str
    keeps_partial_outputs: bool = False
    wait_for_stop: bool = False
    snapshots: list[Snapshot] = field(default_factory=list)

    log_group = TRAINING_JOBS
    working_status = "Training"

    @property
    def worker(self) -> Worker:
        return copy_objects

    def host(self, index: int) -> str:
        return f"algo-{index + 1}"

    def prepare(self, run: Run) -> CopySpec:
        return CopySpec(self.bucket, f"output/{self.name}", self.wait_for_stop)

    def channels(self) -> list[Channel]:
        return self.inputs

    def plan(self, spec: Any, inputs: dict[Channel, list[S3Object]], run: Run) -> list[dict[str, list[S3Object]]]:
        return shares(inputs, self.instances)

    def render(self, state: Snapshot) -> None:
        self.snapshots.append(state)
