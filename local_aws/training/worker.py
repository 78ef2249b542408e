"""What each instance of a k-means training job runs, in its own worker process.

Every instance reads its share of each channel (File mode: from its volume, where the platform copied the objects
before it started; Pipe mode: from the FIFO the platform feeds them through in each epoch; local_aws.jobs.delivery),
streams its `train` objects in mini-batches for `epochs` passes, and leaves its weighted centres in its folder.
`algo-1` then merges everyone's centres, reduces them to k, writes `model.tar.gz` (`model_algo-1`, one float32
k x feature_dim NDArray, exactly as `model_build` packages a model), scores its `test` objects, and logs
`#quality_metric: host=algo-1, test msd <loss>=...` lines, which SageMaker's metric definitions parse
(the SDK's documentation of metric definitions, "Use Amazon SageMaker algorithms with metrics"). An
instance that fails or stops says so in its folder, so `algo-1` never waits on it.
"""

from __future__ import annotations

import contextlib
import os
import resource
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from local_aws.jobs.channels import S3Object
from local_aws.jobs.instance import Instance, failed_pipe_path, input_path, pipe_path
from local_aws.jobs.lifecycle import JobFailedError, JobStoppedError
from local_aws.training.algorithm import Score, StreamingKMeans, WeightedCentres, reduce_centres_with_msd
from local_aws.training.hyperparameters import KMeansHyperparameters
from local_aws.training.readers import Rows, Source, batches, rows
from model_build import ndarray
from model_build.packaging import package_model

TRAIN, TEST = "train", "test"
CENTRES_FILE, DONE_FILE, FAILED_FILE, STOPPED_FILE = "centres.npz", "centres.done", "failed", "stopped"
PIPE = "Pipe"
POLL_SECONDS = 0.05
PIPE_POLL_SECONDS = 0.005  # the next epoch's FIFO is made as soon as the last one is fed


@dataclass(frozen=True)
class TrainingSpec:
    """What every instance of one job knows (picklable)."""

    name: str
    params: KMeansHyperparameters
    content_types: dict[str, str]  # channel name -> ContentType as given ("" when none)
    output_bucket: str
    output_key: str  # <S3OutputPath>/<job>/output/model.tar.gz, below the bucket
    output_kms_key_id: str | None
    input_mode: str = "File"  # Pipe streams each object from S3 every epoch; File and FastFile copy it first


@dataclass(frozen=True)
class TrainingShare:
    """One instance's objects per channel, and every instance's folder (algo-1 gathers their centres)."""

    objects: dict[str, list[S3Object]]
    peers: tuple[str, ...] = field(default=())


def train_instance(instance: Instance, spec: TrainingSpec, share: TrainingShare) -> None:
    """Run one instance; algo-1 also merges, writes the model and scores the test channel.

    The instances share this machine's cores, as on AWS each has its own: each gets its part of them for
    scikit-learn's OpenMP and BLAS threads (more threads than cores spin against each other, 15x slower)."""
    with threadpool_limits(limits=max(1, (os.cpu_count() or 1) // instance.count)):
        _train_instance(instance, spec, share)


def _train_instance(instance: Instance, spec: TrainingSpec, share: TrainingShare) -> None:
    folder = Path(instance.folder)
    sources = _pipes(instance, share) if spec.input_mode == PIPE else _on_volume(instance, share)
    try:
        centres = _stream(instance, spec, sources.get(TRAIN, _no_input))
    except JobStoppedError:
        (folder / STOPPED_FILE).touch()
        raise
    except JobFailedError as failure:
        (folder / FAILED_FILE).write_text(str(failure), encoding="utf-8")
        raise
    except Exception as error:
        reason = f"InternalServerError: {type(error).__name__}: {error}"
        (folder / FAILED_FILE).write_text(reason, encoding="utf-8")
        raise
    np.savez(folder / CENTRES_FILE, centres=centres.centres, weights=centres.weights, rows=centres.rows)
    (folder / DONE_FILE).touch()
    instance.log(f"#resource_metric: host={instance.host}, peak RSS={peak_rss_mib():.1f} MiB")
    if instance.index == 0:
        parts = [_gather(instance, Path(peer)) for peer in share.peers]
        _finish(instance, spec, parts, sources.get(TEST, _no_input)(0))


def peak_rss_mib() -> float:
    """This process's own peak resident set size: VmHWM of its memory map. Not ru_maxrss, which Linux keeps
    across exec, so a spawned worker would report the (much larger) server it was forked from."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


Opener = tuple[Callable[[], Source], str]  # opens an object's bytes (a file on the volume, or a FIFO); where from
ChannelInput = Callable[[int], list[Opener]]  # epoch -> what to read in it, in order


def _on_volume(instance: Instance, share: TrainingShare) -> dict[str, ChannelInput]:
    """File mode: the platform copied every object to the instance's volume before it started (jobs.delivery);
    each epoch reads them again."""
    folder = Path(instance.folder)
    files: dict[str, list[Opener]] = {
        channel: [
            (partial(input_path, folder, channel, index), f"s3://{item.bucket}/{item.key}")
            for index, item in enumerate(objects)
        ]
        for channel, objects in share.objects.items()
    }
    return {channel: partial(_same_every_epoch, openers) for channel, openers in files.items()}


def _same_every_epoch(openers: list[Opener], epoch: int) -> list[Opener]:
    return openers


def _pipes(instance: Instance, share: TrainingShare) -> dict[str, ChannelInput]:
    """Pipe mode: each epoch, the platform streams the instance's objects of a channel, in order, through that
    epoch's FIFO (`<channel>_<epoch>`, jobs.delivery)."""
    return {channel: partial(_pipe, instance, channel) for channel, objects in share.objects.items() if objects}


def _pipe(instance: Instance, channel: str, epoch: int) -> list[Opener]:
    path = pipe_path(Path(instance.folder), channel, epoch)
    return [(partial(_when_made, path, instance.check_stop), f"/opt/ml/input/data/{path.name}")]


def _when_made(pipe: Path, check_stop: Callable[[], None]) -> Path:
    """The epoch's FIFO once the platform has made it ("If the file for a given epoch doesn't exist yet, your code
    may need to retry until the pipe is created", "How Amazon SageMaker AI Runs Your Training Image")."""
    while not pipe.exists():
        check_stop()
        time.sleep(PIPE_POLL_SECONDS)
    return pipe


def _no_input(epoch: int) -> list[Opener]:
    return []


def _read(
    source: Source, where: str, content_type: str, spec: TrainingSpec, check: Callable[[], None]
) -> Iterator[Rows]:
    """The source's rows in mini-batches; a pipe the platform could not fill fails the job with its reason, and
    one it ended for a stop request stops it (`check`: the stop request)."""
    blocks = rows(source, content_type, spec.params.feature_dim, where)
    yield from batches(blocks, spec.params.mini_batch_size, check)
    check()
    if isinstance(source, Path) and failed_pipe_path(source).exists():
        raise JobFailedError(failed_pipe_path(source).read_text(encoding="utf-8"))


def _stream(instance: Instance, spec: TrainingSpec, train: ChannelInput) -> WeightedCentres:
    params = spec.params
    started = time.perf_counter()
    model = StreamingKMeans(params, seed=_seed(spec.name, instance.index))
    for epoch in range(params.epochs):
        model.start_epoch()
        for source, where in train(epoch):
            for batch in _read(source(), where, spec.content_types.get(TRAIN, ""), spec, instance.check_stop):
                model.update(batch)
        model.end_epoch(epoch)
        done = 100 * (epoch + 1) / params.epochs
        instance.log(f"#progress_metric: host={instance.host}, completed {done:.0f} % of epochs")
    result = model.result()
    elapsed = time.perf_counter() - started
    instance.log(f"{instance.host}: {result.rows} records, {len(result.centres)} weighted centres, {elapsed:.1f} s")
    return result


def _seed(name: str, index: int) -> int:
    return (zlib.crc32(name.encode()) + index) % 2**31


def _gather(instance: Instance, peer: Path) -> WeightedCentres:
    """A peer's centres once it has finished; its failure or stop ends this instance the same way."""
    while not (peer / DONE_FILE).exists():
        instance.check_stop()
        if (peer / FAILED_FILE).exists():
            raise JobFailedError((peer / FAILED_FILE).read_text(encoding="utf-8"))
        if (peer / STOPPED_FILE).exists():
            raise JobStoppedError
        time.sleep(POLL_SECONDS)
    with np.load(peer / CENTRES_FILE) as saved:
        return WeightedCentres(saved["centres"], saved["weights"], int(saved["rows"]))


def _finish(instance: Instance, spec: TrainingSpec, parts: list[WeightedCentres], test: list[Opener]) -> None:
    instance.check_stop()  # a stop that came while the instances read ends the job Stopped, whatever they read
    params = spec.params
    records = sum(part.rows for part in parts)
    if records < params.k:
        raise JobFailedError(
            f"ClientError: k ({params.k}) is larger than the number of training records ({records}) "
            "(caused by ValidationError)"
        )
    instance.log(f"shrinking {sum(len(p.centres) for p in parts)} centers into {params.k}")  # AWS's words
    centroids, train_msd = reduce_centres_with_msd(parts, params, seed=_seed(spec.name, 0))
    instance.log(f"#quality_metric: host={instance.host}, train msd <loss>={train_msd}")
    staged = instance.staging_file(".tar.gz")
    staged.write_bytes(package_model(ndarray.encode([centroids])))
    if test:
        _score(instance, spec, centroids, test)
    instance.check_stop()
    instance.commit(staged, spec.output_bucket, spec.output_key, spec.output_kms_key_id)


def _score(
    instance: Instance, spec: TrainingSpec, centroids: np.typing.NDArray[np.float32], test: list[Opener]
) -> None:
    score = Score()
    for source, where in test:
        for batch in _read(source(), where, spec.content_types.get(TEST, ""), spec, instance.check_stop):
            score.add(batch, centroids)
    values = {"msd": score.msd, "ssd": score.ssd}
    for metric in spec.params.eval_metrics:
        instance.log(f"#quality_metric: host={instance.host}, test {metric} <loss>={values[metric]}")
