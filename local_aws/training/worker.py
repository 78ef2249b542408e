"""What each instance of a k-means training job runs, in its own worker process.

Every instance reads its share of each channel (File mode: from its volume, where the platform copied the objects
before it started, local_aws.jobs.delivery; in Pipe mode each object streams from S3 every epoch instead),
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
import queue
import resource
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from local_aws.jobs.channels import S3Object
from local_aws.jobs.instance import Instance, input_path
from local_aws.jobs.lifecycle import JobFailedError, JobStoppedError
from local_aws.training.algorithm import Score, StreamingKMeans, WeightedCentres, reduce_centres_with_msd
from local_aws.training.hyperparameters import KMeansHyperparameters
from local_aws.training.readers import BLOCK_BYTES, Source, batches, rows
from model_build import ndarray
from model_build.packaging import package_model

TRAIN, TEST = "train", "test"
CENTRES_FILE, DONE_FILE, FAILED_FILE, STOPPED_FILE = "centres.npz", "centres.done", "failed", "stopped"
PIPE = "Pipe"
POLL_SECONDS = 0.05


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
        centres = _stream(instance, spec, sources.get(TRAIN, []))
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
        _finish(instance, spec, parts, sources.get(TEST, []))


def peak_rss_mib() -> float:
    """This process's own peak resident set size: VmHWM of its memory map. Not ru_maxrss, which Linux keeps
    across exec, so a spawned worker would report the (much larger) server it was forked from."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


Opener = tuple[Callable[[], Source], str]  # opens an object (its local copy, or its body from S3); its S3 URI


def _on_volume(instance: Instance, share: TrainingShare) -> dict[str, list[Opener]]:
    """File mode: the platform copied every object to the instance's volume before it started (jobs.delivery)."""
    folder = Path(instance.folder)
    return {
        channel: [
            (partial(input_path, folder, channel, index), f"s3://{item.bucket}/{item.key}")
            for index, item in enumerate(objects)
        ]
        for channel, objects in share.objects.items()
    }


def _pipes(instance: Instance, share: TrainingShare) -> dict[str, list[Opener]]:
    """Pipe mode: each object's body streams from S3 straight into the algorithm, once per epoch."""
    s3 = instance.s3()

    def opener(item: S3Object) -> Callable[[], Source]:
        return lambda: ReadAhead(s3.get_object(Bucket=item.bucket, Key=item.key)["Body"])

    return {
        channel: [(opener(item), f"s3://{item.bucket}/{item.key}") for item in objects]
        for channel, objects in share.objects.items()
    }


class ReadAhead:
    """A streaming body read by a background thread, at most `depth` blocks ahead (bounded memory), so that the
    network transfer overlaps the algorithm's work on the blocks already read."""

    def __init__(self, body: Any, depth: int = 2) -> None:
        self._blocks: queue.Queue[bytes | BaseException] = queue.Queue(maxsize=depth)
        self._buffer = b""
        self._ended = False
        threading.Thread(target=self._fill, args=(body,), daemon=True).start()

    def read(self, size: int = -1) -> bytes:
        while (size < 0 or len(self._buffer) < size) and not self._ended:
            block = self._blocks.get()
            if isinstance(block, BaseException):
                raise block
            self._ended = not block
            self._buffer += block
        taken = self._buffer if size < 0 else self._buffer[:size]
        self._buffer = self._buffer[len(taken) :]
        return taken

    def _fill(self, body: Any) -> None:
        try:
            while block := body.read(BLOCK_BYTES):
                self._blocks.put(block)
            self._blocks.put(b"")
        except Exception as error:  # handed to the reader, which raises it
            self._blocks.put(error)


def _stream(instance: Instance, spec: TrainingSpec, train: list[Opener]) -> WeightedCentres:
    params = spec.params
    started = time.perf_counter()
    model = StreamingKMeans(params, seed=_seed(spec.name, instance.index))
    for epoch in range(params.epochs):
        model.start_epoch()
        for source, where in train:
            blocks = rows(source(), spec.content_types.get(TRAIN, ""), params.feature_dim, where)
            for batch in batches(blocks, params.mini_batch_size, instance.check_stop):
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
        blocks = rows(source(), spec.content_types.get(TEST, ""), spec.params.feature_dim, where)
        for batch in batches(blocks, spec.params.mini_batch_size, instance.check_stop):
            score.add(batch, centroids)
    values = {"msd": score.msd, "ssd": score.ssd}
    for metric in spec.params.eval_metrics:
        instance.log(f"#quality_metric: host={instance.host}, test {metric} <loss>={values[metric]}")
