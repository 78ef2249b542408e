"""The engine: run one job of any type, from its creation to `Completed`, `Failed` or `Stopped`.

`start(job, role_check)` renders the job `InProgress` at once and runs it in a background thread:

1. `job.prepare(run)`: what every instance needs to know (picklable); a JobFailedError fails the job.
2. Each of `job.channels()` is listed from S3 (`S3Prefix` or `ManifestFile`), and the job's role must
   be allowed `s3:GetObject` on every object (`role_check`, the IAM policy evaluation of the local AWS);
   with `job-input-rights`, also `s3:GetObject` on a `ManifestFile` itself, `s3:ListBucket` on an `S3Prefix`'s
   bucket (condition key `s3:prefix`, as IAM evaluates a ListObjects request) and `kms:Decrypt` on the key of
   each SSE-KMS object.
3. `job.plan(spec, inputs, run)`: one share of the work per worker (`channels.deal` and `channels.shares`
   deal objects by `ShardedByS3Key` or `FullyReplicated`); the type may check more rights here.
4. One worker process per share, forked from the fork server (`worker_context`), each running
   `job.worker(instance, spec, share)`; the engine copies each instance's log lines into its CloudWatch
   stream as they come (if the role may write it, see `logs`); the first failure (in instance order) fails the
   job, a stop request stops it.
5. Outputs the workers committed are published to S3, each allowed `s3:PutObject` by the role (SSE-KMS
   with the key the worker committed it with), only when the job completed, or when the type keeps the
   outputs of the units it finished (batch transform does).
"""

from __future__ import annotations

import functools
import multiprocessing
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ProcessPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from multiprocessing import forkserver
from multiprocessing.context import BaseContext
from pathlib import Path
from typing import Any, Protocol

from contract.execution_role import DECRYPT_OBJECTS, LIST_SCORING_INPUT, READ_SCORING_INPUT, WRITE_SCORING_RESULTS
from local_aws.config import LocalAwsConfig
from local_aws.jobs.channels import (
    AWS_MANAGED_S3_KEY,
    MANIFEST_FILE,
    S3_PREFIX,
    Channel,
    S3Object,
    encryption_key,
    kms_key_arn,
    list_objects,
    s3_client,
    split_s3_uri,
)
from local_aws.jobs.instance import Instance, staged_outputs
from local_aws.jobs.lifecycle import (
    COMPLETED,
    DOWNLOADING,
    FAILED,
    STOPPED,
    UPLOADING,
    JobFailedError,
    JobState,
    JobStoppedError,
    Snapshot,
)
from local_aws.jobs.logs import InstanceLog, group_exists, group_request_arn, stream_arn, stream_name
from local_aws.rules import enforced

# (action, resource, condition keys such as s3:prefix) -> None if the job's role may, else why not
RoleCheck = Callable[[str, str, Mapping[str, str]], "str | None"]
Worker = Callable[[Instance, Any, Any], None]  # (instance, spec, share); a module-level function: it is pickled
LOG_INTERVAL = 0.5  # seconds between copies of the workers' log lines


class JobEnd:
    """Marked once the job has ended, before its folder is removed: what the platform runs beside the workers
    (Pipe mode's feeders) makes nothing in the folder after that, and stops."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ended = False

    def mark(self) -> None:
        with self._lock:
            self._ended = True

    @property
    def ended(self) -> bool:
        return self._ended

    @contextmanager
    def unless_ended(self) -> Iterator[bool]:
        """Whether the job is still running, the answer holding while the block runs (`mark` waits for it)."""
        with self._lock:
            yield not self._ended


@dataclass(frozen=True)
class Run:
    """What the engine gives a job while it prepares and plans: its folder, stop file, S3, role check, its end."""

    name: str
    folder: Path
    stop_file: Path
    s3_endpoint: str
    role_check: RoleCheck
    end: JobEnd = field(default_factory=JobEnd)

    def authorize(self, action: str, resource: str, context: Mapping[str, str] | None = None) -> None:
        """Fail the job, in AWS's words, unless the job's role may do `action` on `resource`."""
        denial = self.role_check(action, resource, context or {})
        if denial is not None:
            raise JobFailedError(
                f"ClientError: Access Denied: the execution role may not {action} {resource}: {denial}"
            )

    def authorize_key(self, action: str, key_id: str, context: Mapping[str, str] | None = None) -> None:
        """`authorize` on a KMS key named in any KeyId form; the account's AWS managed S3 key needs no grant."""
        arn = kms_key_arn(self.s3_endpoint, key_id)
        if arn != AWS_MANAGED_S3_KEY:
            self.authorize(action, arn, context)


class JobType(Protocol):
    """One job of one type, as the engine runs it: a type is a class implementing this (see the package doc)."""

    log_group: str  # one of logs.LOG_GROUPS
    working_status: str  # the secondary status while the instances work: `Training`, `Transforming`...
    keeps_partial_outputs: bool  # publish what finished even if the job failed or stopped

    @property
    def name(self) -> str: ...

    @property
    def worker(self) -> Worker:
        """The function each worker process runs; module-level, so that it can be pickled."""
        ...

    def host(self, index: int) -> str:
        """What instance `index` (0-based) is called in its log stream: `algo-1`, an instance id..."""
        ...

    def prepare(self, run: Run) -> Any:
        """The picklable spec every instance receives; raise JobFailedError to fail the job."""
        ...

    def channels(self) -> list[Channel]: ...

    def plan(self, spec: Any, inputs: dict[Channel, list[S3Object]], run: Run) -> list[Any]:
        """One share of the work per worker process (an empty list runs none)."""
        ...

    def render(self, state: Snapshot) -> None:
        """Show `state` on the API's record, as this type's Describe* does."""
        ...


@dataclass
class _Running:
    state: JobState
    stop_file: Path


_RUNNING: dict[tuple[str, str], _Running] = {}  # (log group, job name) -> the job while it runs
_LOCK = threading.Lock()


def start(job: JobType, role_check: RoleCheck) -> JobState:
    """Render the job InProgress and run it in the background."""
    state = JobState(job.render, messages=getattr(job, "status_messages", None))  # a type's own words, if any
    folder = Path(tempfile.mkdtemp(prefix="sagemaker-job-"))
    run = Run(job.name, folder, folder / "stop", LocalAwsConfig.from_environment().control_url, role_check)
    with _LOCK:
        _RUNNING[(job.log_group, job.name)] = _Running(state, run.stop_file)
    warm_workers()  # the first job's: while it prepares, lists and checks its input
    threading.Thread(target=_run, args=(job, state, run), daemon=True).start()
    return state


def request_stop(log_group: str, name: str) -> None:
    """StopXxxJob: a job in progress goes `Stopping`, and its workers see the request."""
    with _LOCK:
        running = _RUNNING.get((log_group, name))
    if running is not None and running.state.request_stop():
        running.stop_file.touch()


def _run(job: JobType, state: JobState, run: Run) -> None:
    try:
        state.finish(*_outcome(job, state, run))
    except Exception as error:  # the job must end whatever happened; AWS says InternalServerError
        state.finish(FAILED, f"InternalServerError: {type(error).__name__}: {error}")
    finally:
        with _LOCK:
            _RUNNING.pop((job.log_group, job.name), None)
        run.end.mark()
        shutil.rmtree(run.folder, ignore_errors=True)


def _outcome(job: JobType, state: JobState, run: Run) -> tuple[str, str]:
    """Run the job; (status, failure reason)."""
    try:
        spec = job.prepare(run)
        state.advance(DOWNLOADING, "Downloading input data")
        inputs = {channel: _readable(channel, run) for channel in job.channels()}
        shares = job.plan(spec, inputs, run)
    except JobFailedError as failure:
        return FAILED, str(failure)
    state.advance(job.working_status, f"{job.working_status} in progress")
    instances = [_instance(job, run, index, len(shares)) for index in range(len(shares))]
    logs = [_log(job, instance, run) for instance in instances]
    status, reason = _work(job, spec, list(zip(instances, shares, strict=True)), logs, run)
    if status == COMPLETED and state.snapshot.stop_requested:
        status = STOPPED
    if status == COMPLETED or job.keeps_partial_outputs:
        if status == COMPLETED:
            state.advance(UPLOADING, "Uploading generated output")
        try:
            _publish(instances, run)
        except JobFailedError as failure:
            return FAILED, str(failure)
    return status, reason


def _readable(channel: Channel, run: Run) -> list[S3Object]:
    s3, rights = s3_client(run.s3_endpoint), enforced("job-input-rights")
    if channel.data_type == S3_PREFIX and rights:
        bucket, prefix = split_s3_uri(channel.s3_uri)
        for action in LIST_SCORING_INPUT.used:
            run.authorize(action, f"arn:aws:s3:::{bucket}", {"s3:prefix": prefix})
    elif channel.data_type == MANIFEST_FILE and rights:
        bucket, manifest = split_s3_uri(channel.s3_uri)
        for action in READ_SCORING_INPUT.used:  # SageMaker reads the manifest itself as the role, then its objects
            run.authorize(action, f"arn:aws:s3:::{bucket}/{manifest}")
    objects = list_objects(s3, channel)
    for item in objects:
        for action in READ_SCORING_INPUT.used:
            run.authorize(action, item.arn)
        key = encryption_key(s3, item) if rights else None
        if key is not None:
            run.authorize_key(DECRYPT_OBJECTS, key)
    return objects


def instance_folder(run: Run, index: int) -> Path:
    """Where instance `index` (0-based) of a run works: a job type whose instances meet (training's algo-1
    gathers the others' centres) finds them here."""
    return run.folder / f"instance-{index + 1}"


def _instance(job: JobType, run: Run, index: int, count: int) -> Instance:
    folder = instance_folder(run, index)
    folder.mkdir(exist_ok=True)  # a type may have put the instance's input on its volume there already
    return Instance(job.name, index, count, job.host(index), str(folder), str(run.stop_file), run.s3_endpoint)


def _log(job: JobType, instance: Instance, run: Run) -> InstanceLog:
    stream = stream_name(job.name, instance.host, time.time())
    log = InstanceLog(job.log_group, stream, Path(instance.folder), _may_log(job.log_group, stream, run))
    log.write(f"{job.name}: instance {instance.index + 1} of {instance.count} ({instance.host}) starting")
    return log


def _may_log(group: str, stream: str, run: Run) -> bool:
    """Whether the job's role may write the stream (creating its group first if there is none)."""
    needed = [("logs:CreateLogStream", stream_arn(group, stream)), ("logs:PutLogEvents", stream_arn(group, stream))]
    if not group_exists(group):
        needed.append(("logs:CreateLogGroup", group_request_arn(group)))
    return all(run.role_check(action, resource, {}) is None for action, resource in needed)


def _work(
    job: JobType, spec: Any, work: list[tuple[Instance, Any]], logs: list[InstanceLog], run: Run
) -> tuple[str, str]:
    """One spawned worker process per instance; the first failure in instance order decides the outcome."""
    if run.stop_file.exists() or not work:
        return COMPLETED, ""  # nothing to do, or stopped before it began (`_outcome` says Stopped)
    with ProcessPoolExecutor(max_workers=len(work), mp_context=worker_context()) as pool:
        futures = [pool.submit(job.worker, instance, spec, share) for instance, share in work]
        while wait(futures, timeout=LOG_INTERVAL).not_done:
            _pump(logs)
    _pump(logs)
    ended = [_ended(future) for future in futures]
    for (status, reason), log in zip(ended, logs, strict=True):
        log.write({COMPLETED: "instance finished", STOPPED: "instance stopped"}.get(status, f"failed: {reason}"))
    return next((outcome for outcome in ended if outcome[0] != COMPLETED), (COMPLETED, ""))


# What the job types' workers run; the fork server imports them once, so no worker pays for it (scikit-learn and
# numpy: 1 to 2 s a worker on a busy machine).
WORKER_MODULES = ("local_aws.training.worker", "local_aws.transform.engine", "local_aws.processing.job")


def worker_context() -> BaseContext:
    """Workers fork from a fork server that has imported WORKER_MODULES, not from the control plane: forking moto's
    threaded server could copy a held lock into the child. The first job starts the server (`warm_workers`): a
    local AWS that runs no job never pays for the imports."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(list(WORKER_MODULES))
    return context


@functools.cache  # once a process (ensure_running is idempotent too, should two jobs start at once)
def warm_workers() -> None:
    """Start the fork server in the background: the first job's workers then start as fast as the rest."""
    threading.Thread(target=_start_fork_server, name="fork-server", daemon=True).start()


def _start_fork_server() -> None:
    worker_context()
    forkserver.ensure_running()


def _pump(logs: list[InstanceLog]) -> None:
    for log in logs:
        log.pump()


def _ended(future: Future[None]) -> tuple[str, str]:
    error = future.exception()
    if error is None:
        return COMPLETED, ""
    if isinstance(error, JobStoppedError):
        return STOPPED, ""
    if isinstance(error, JobFailedError):
        return FAILED, str(error)
    return FAILED, f"InternalServerError: {type(error).__name__}: {error}"


def _publish(instances: list[Instance], run: Run) -> None:
    """Upload every output the workers committed, each allowed by the role first."""
    outputs = [output for instance in instances for output in staged_outputs(Path(instance.folder))]
    for output in outputs:
        for action in WRITE_SCORING_RESULTS.used:
            run.authorize(action, f"arn:aws:s3:::{output.bucket}/{output.key}")
    s3 = s3_client(run.s3_endpoint)
    for output in outputs:
        encryption = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": output.kms_key_id}
        s3.upload_file(str(output.path), output.bucket, output.key, ExtraArgs=encryption if output.kms_key_id else {})
