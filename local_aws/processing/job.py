"""The processing job type: what CreateProcessingJob adds to the job engine (local_aws.jobs).

Each `ProcessingInput`'s `S3Input` is a channel, downloaded into its `LocalPath` (under `/opt/ml/processing/`,
API ProcessingS3Input) keeping each key below the prefix; `FullyReplicated` or `ShardedByS3Key` deal the objects
to the instances. The container runs as `docker run --entrypoint ContainerEntrypoint IMAGE ContainerArguments`
(developer guide "How Amazon SageMaker Processing Runs Your Processing Container Image"): the job completes when
every instance exits 0 and fails otherwise. What each instance leaves in an output's `LocalPath` is uploaded
below its `S3Output.S3Uri` at the end of the job (`S3UploadMode` EndOfJob), SSE-KMS with
`ProcessingOutputConfig.KmsKeyId`; the role must allow `kms:CreateGrant` on `ClusterConfig.VolumeKmsKeyId`
(developer guide "How to use SageMaker AI execution roles", CreateProcessingJob API: Execution Role Permissions).
`/opt/ml/output/message` becomes `ExitMessage`, its first 1 KB, in any terminal status; text that is not UTF-8
fails the job with a ClientError (developer guide "Save and Access Metadata Information About Your Processing Job").

The one liberty: there is no Docker here. Only the region's prebuilt scikit-learn image is accepted, and its
`python3` is this local AWS's own Python (.venv), run with `/opt/ml/` mapped to the instance's folder in the
entrypoint, the arguments and the environment. The process gets the job role's credentials (sts:AssumeRole), as
a container gets its role's, so what it calls is authorized against that role.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aws_facts.processing_image import sklearn_image_uri
from contract.execution_role import ENCRYPT_OBJECTS, GET_REGISTRY_TOKEN, PULL_IMAGE
from local_aws.config import REGION
from local_aws.jobs.channels import FULLY_REPLICATED, Channel, S3Object, shares, split_s3_uri
from local_aws.jobs.engine import Run, Worker
from local_aws.jobs.instance import Instance
from local_aws.jobs.lifecycle import TERMINAL, JobFailedError, JobStoppedError, Snapshot
from local_aws.jobs.logs import PROCESSING_JOBS
from local_aws.rules import enforced

CONTAINER_ROOT = "/opt/ml/"
MESSAGE_FILE = "output/message"  # below CONTAINER_ROOT
EXIT_MESSAGE_BYTES = 1024
PYTHON_COMMANDS = ("python", "python3")  # what the scikit-learn image's PATH resolves to its own Python
ALGORITHM_ERROR = "AlgorithmError: See job logs for more information"
POLL_S = 0.2
CREATE_VOLUME_GRANT = "kms:CreateGrant"


@dataclass(frozen=True)
class Output:
    """One ProcessingOutput: the folder the container fills, and where its files go."""

    local_path: str
    bucket: str
    prefix: str
    kms_key_id: str | None


@dataclass(frozen=True)
class ProcessingSpec:
    """What every instance runs (picklable)."""

    argv: tuple[str, ...]
    environment: tuple[tuple[str, str], ...]
    inputs: tuple[tuple[str, str], ...]  # (input name, LocalPath)
    outputs: tuple[Output, ...]
    python: str
    max_runtime_s: int
    credentials: tuple[tuple[str, str], ...]  # the role's, as the container's environment carries them


class ProcessingJobType:
    """One CreateProcessingJob on moto's record (`FakeProcessingJob`), with what moto does not keep."""

    log_group = PROCESSING_JOBS
    working_status = "Processing"
    keeps_partial_outputs = False

    def __init__(self, record: Any, credentials: dict[str, str]) -> None:
        self.record = record
        self.credentials = credentials
        self._folder: Path | None = None

    @property
    def name(self) -> str:
        return str(self.record.processing_job_name)

    @property
    def worker(self) -> Worker:
        return run_instance

    def host(self, index: int) -> str:
        return f"algo-{index + 1}"

    def prepare(self, run: Run) -> ProcessingSpec:
        self._folder = run.folder
        job = self.record
        app = job.app_specification
        outputs = tuple(_output(item, (job.processing_output_config or {}).get("KmsKeyId")) for item in _outputs(job))
        for output in outputs:
            if output.kms_key_id:
                run.authorize_key(ENCRYPT_OBJECTS, output.kms_key_id)
        _authorize_pull(run, app["ImageUri"])
        volume_key = ((job.processing_resources or {}).get("ClusterConfig") or {}).get("VolumeKmsKeyId")
        if volume_key:  # SageMaker creates a grant on it for the instance's volume (CreateProcessingJob permissions)
            run.authorize_key(CREATE_VOLUME_GRANT, volume_key)
        entrypoint = list(app.get("ContainerEntrypoint") or [])
        if not entrypoint:
            raise JobFailedError("ClientError: the local AWS needs AppSpecification.ContainerEntrypoint")
        return ProcessingSpec(
            argv=(*entrypoint, *(app.get("ContainerArguments") or [])),
            environment=tuple(sorted((job.environment or {}).items())),
            inputs=tuple((item["InputName"], item["S3Input"]["LocalPath"]) for item in job.processing_inputs or []),
            outputs=outputs,
            python=sys.executable,
            max_runtime_s=int((job.stopping_condition or {}).get("MaxRuntimeInSeconds", 86400)),
            credentials=tuple(sorted(self.credentials.items())),
        )

    def channels(self) -> list[Channel]:
        return [
            Channel(
                item["InputName"],
                item["S3Input"]["S3Uri"],
                item["S3Input"].get("S3DataType") or "S3Prefix",
                item["S3Input"].get("S3DataDistributionType") or FULLY_REPLICATED,
            )
            for item in self.record.processing_inputs or []
        ]

    def plan(self, spec: ProcessingSpec, inputs: dict[Channel, list[S3Object]], run: Run) -> list[Any]:
        count = int(self.record.processing_resources["ClusterConfig"]["InstanceCount"])
        return list(shares(inputs, count))

    def render(self, state: Snapshot) -> None:
        job = self.record
        job.processing_job_status = state.status
        job.processing_start_time = state.start_time
        job.last_modified_time = state.end_time or state.start_time
        job.processing_end_time = state.end_time
        if state.status in TERMINAL:
            job.failure_reason = state.failure_reason or None
            job.exit_message = self._exit_message()

    def _exit_message(self) -> str | None:
        """Every instance's /opt/ml/output/message, concatenated, its first 1 KB."""
        if self._folder is None:
            return None
        found = sorted(self._folder.glob(f"instance-*/opt-ml/{MESSAGE_FILE}"))
        text = "".join(path.read_bytes().decode("utf-8", "replace") for path in found)
        return text[:EXIT_MESSAGE_BYTES] or None


def _authorize_pull(run: Run, image: str) -> None:
    """The job's role pulls the image, as an endpoint's execution role does (local_aws.strict.sagemaker)."""
    registry, _, repository = image.partition("/")
    account, region = registry.split(".")[0], registry.split(".")[3]
    for action in GET_REGISTRY_TOKEN.used:
        run.authorize(action, "*")
    for action in PULL_IMAGE.used:
        run.authorize(action, f"arn:aws:ecr:{region}:{account}:repository/{repository.split(':')[0]}")


def _outputs(job: Any) -> list[dict[str, Any]]:
    return list((job.processing_output_config or {}).get("Outputs") or [])


def _output(item: dict[str, Any], kms_key_id: str | None) -> Output:
    s3_output = item.get("S3Output")
    if s3_output is None:
        raise JobFailedError(f"ClientError: output {item.get('OutputName')}: the local AWS writes S3Output only")
    if s3_output.get("S3UploadMode") != "EndOfJob":
        raise JobFailedError(f"ClientError: output {item['OutputName']}: the local AWS uploads at EndOfJob only")
    bucket, prefix = split_s3_uri(s3_output["S3Uri"])
    return Output(s3_output["LocalPath"], bucket, prefix, kms_key_id)


def check_image(image: str) -> str | None:
    """Why the local AWS cannot run `image`, or None when it is the region's scikit-learn processing image."""
    expected = sklearn_image_uri(REGION)
    if image == expected or not enforced("processing-image"):
        return None
    return (
        f"The local AWS runs processing jobs on SageMaker's prebuilt scikit-learn image only ({expected}), not {image}."
    )


def container_path(root: Path, value: str) -> str:
    """`value` with every `/opt/ml/` replaced by the instance's folder: the one liberty of running without Docker."""
    return value.replace(CONTAINER_ROOT, f"{root}/")


def run_instance(instance: Instance, spec: ProcessingSpec, share: dict[str, list[S3Object]]) -> None:
    """One instance: inputs in, the container's command run, outputs committed when it exits 0."""
    root = Path(instance.folder) / "opt-ml"
    _download(instance, root, spec, share)
    for output in spec.outputs:
        Path(container_path(root, output.local_path)).mkdir(parents=True, exist_ok=True)
    (root / MESSAGE_FILE).parent.mkdir(parents=True, exist_ok=True)
    code = _run(instance, root, spec)
    message = root / MESSAGE_FILE
    if message.exists():
        try:
            message.read_bytes().decode("utf-8")
        except UnicodeDecodeError as error:
            raise JobFailedError("ClientError: /opt/ml/output/message is not UTF-8 encoded") from error
    if code != 0:
        instance.log(f"the container exited with code {code}")
        raise JobFailedError(ALGORITHM_ERROR)
    for output in spec.outputs:
        _commit(instance, Path(container_path(root, output.local_path)), output)


def _download(instance: Instance, root: Path, spec: ProcessingSpec, share: dict[str, list[S3Object]]) -> None:
    s3 = instance.s3()
    for name, local_path in spec.inputs:
        folder = Path(container_path(root, local_path))
        folder.mkdir(parents=True, exist_ok=True)
        for item in share.get(name, []):
            instance.check_stop()
            target = folder / (item.relative or Path(item.key).name)
            target.parent.mkdir(parents=True, exist_ok=True)
            s3.download_file(item.bucket, item.key, str(target))


def _run(instance: Instance, root: Path, spec: ProcessingSpec) -> int:
    argv = [container_path(root, part) for part in spec.argv]
    if argv[0] in PYTHON_COMMANDS:
        argv[0] = spec.python
    environment = {
        **{key: os.environ[key] for key in ("PATH", "HOME", "LANG", "TMPDIR") if key in os.environ},
        "AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION, "AWS_ENDPOINT_URL": instance.s3_endpoint,
        **dict(spec.credentials),
        **{key: container_path(root, value) for key, value in spec.environment},
    }  # fmt: skip
    process = subprocess.Popen(
        argv, cwd=root, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace"
    )
    reader = threading.Thread(target=_copy_lines, args=(process, instance), daemon=True)
    reader.start()
    deadline = time.monotonic() + spec.max_runtime_s
    while process.poll() is None:
        if instance.stopped() or time.monotonic() > deadline:
            process.kill()
            process.wait()
            reader.join(timeout=5)
            if instance.stopped():
                raise JobStoppedError
            raise JobFailedError(f"ClientError: the job exceeded MaxRuntimeInSeconds ({spec.max_runtime_s})")
        time.sleep(POLL_S)
    reader.join(timeout=5)
    return int(process.returncode)


def _copy_lines(process: subprocess.Popen[str], instance: Instance) -> None:
    assert process.stdout is not None
    for line in process.stdout:
        instance.log(line.rstrip("\n"))


def _commit(instance: Instance, folder: Path, output: Output) -> None:
    prefix = output.prefix.rstrip("/")
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        key = f"{prefix}/{path.relative_to(folder).as_posix()}" if prefix else path.relative_to(folder).as_posix()
        instance.commit(path, output.bucket, key, output.kms_key_id)
