"""Train k-means on rows larger than memory: scikit-learn's MiniBatchKMeans over chunks streamed from disk.

Memory holds one chunk of `batch_rows` rows, the k-means++ seeding sample (the first INIT_BATCHES chunks,
as MiniBatchKMeans' own `init_size`), the reservoir of reference rows and the centroids, whatever the
input's size. The same inputs and options give the same centroids, bit for bit: the chunks' boundaries
depend only on the rows and `batch_rows`, and every random choice draws from `seed`.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from model_build.chunks import file_format, iter_chunks
from model_build.errors import BuildError

DEFAULT_BATCH_ROWS = 5000  # SageMaker k-means' mini_batch_size default
DEFAULT_EPOCHS = 1  # SageMaker k-means' epochs default
INIT_BATCHES = 3  # MiniBatchKMeans' default init_size is 3 * batch_size
PREFETCH_CHUNKS = 2  # chunks read ahead by the reader thread while one trains
ENGINE = "streaming"


@dataclass(frozen=True)
class StreamingOptions:
    """What one streaming fit reads and how."""

    data: Path
    clusters: int
    seed: int = 0
    batch_rows: int = DEFAULT_BATCH_ROWS
    epochs: int = DEFAULT_EPOCHS
    reference_rows: int = 100
    csv_header: bool = False
    threads: int | None = None  # scikit-learn's; None: one per CPU but the reader's


@dataclass(frozen=True)
class StreamedFit:
    """Float32 centroids, reference rows sampled uniformly from the stream, and the manifest's records."""

    centroids: npt.NDArray[np.float32]
    reference_rows: npt.NDArray[np.float32]
    source: dict[str, Any]
    training: dict[str, Any]


def train_streaming(options: StreamingOptions) -> StreamedFit:
    """Fit `options.clusters` centroids to every row of `options.data`, one chunk in memory at a time."""
    _check(options)
    from sklearn.cluster import MiniBatchKMeans

    init, init_rows = _seed_centroids(options)
    model = MiniBatchKMeans(
        n_clusters=options.clusters,
        init=init,
        n_init=1,
        batch_size=options.batch_rows,
        random_state=options.seed,
        compute_labels=False,
    )
    reservoir = Reservoir(options.reference_rows, options.seed)
    digests: dict[Path, str] = {}
    inertia, batches = 0.0, 0
    with _threads(options.threads):
        for epoch in range(options.epochs):
            first, last = epoch == 0, epoch == options.epochs - 1
            inertia, batches = 0.0, 0
            for chunk in _prefetched(options, digests if first else None):
                if first:
                    reservoir.add(chunk)
                if last:
                    inertia += squared_distance_sum(chunk, model.cluster_centers_ if batches or epoch else init)
                model.partial_fit(chunk)
                batches += 1
    centroids = np.ascontiguousarray(model.cluster_centers_, dtype=np.float32)
    training = _training_record(options, init_rows, reservoir.seen, batches, inertia)
    return StreamedFit(centroids, reservoir.sample(), _source_record(options, reservoir, digests), training)


def _threads(threads: int | None) -> Any:
    """Limit scikit-learn's OpenMP and BLAS threads: oversubscribed cores make OpenMP spin, 10x slower.

    The chunks are small, so threads help only a large k x features; the centroids do not depend on the count.
    """
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=threads or max(1, (os.cpu_count() or 1) - 1))


def _prefetched(options: StreamingOptions, digests: dict[Path, str] | None) -> Iterator[npt.NDArray[np.float32]]:
    """The chunks of `options.data`, read by a thread of their own while the caller trains on the previous one.

    Arrow parses with the GIL released, so reading and training overlap; the order is unchanged.
    """
    ready: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=PREFETCH_CHUNKS)
    stop = threading.Event()

    def offer(item: tuple[str, Any]) -> bool:
        while not stop.is_set():
            try:
                ready.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False  # the caller has stopped reading

    def read() -> None:
        try:
            for chunk in iter_chunks(options.data, options.batch_rows, csv_header=options.csv_header, digests=digests):
                if not offer(("chunk", chunk)):
                    return
            offer(("end", None))
        except BaseException as error:
            offer(("error", error))  # raised again in the caller's thread

    reader = threading.Thread(target=read, name="model_build-reader", daemon=True)
    reader.start()
    try:
        while True:
            kind, item = ready.get()
            if kind == "end":
                return
            if kind == "error":
                raise item
            yield item
    finally:
        stop.set()
        reader.join()


def _check(options: StreamingOptions) -> None:
    if options.clusters < 1:
        raise BuildError(f"--clusters must be at least 1, got {options.clusters}")
    if options.batch_rows < options.clusters:
        raise BuildError(f"--batch-size {options.batch_rows} is less than --clusters {options.clusters}")
    if options.epochs < 1:
        raise BuildError(f"--epochs must be at least 1, got {options.epochs}")


def _seed_centroids(options: StreamingOptions) -> tuple[npt.NDArray[np.float32], int]:
    """k-means++ on the first INIT_BATCHES batches (at least 3 rows per cluster): one early pass stopped short."""
    from sklearn.cluster import kmeans_plusplus

    wanted = max(INIT_BATCHES * options.batch_rows, 3 * options.clusters)
    sample, held = [], 0
    for chunk in iter_chunks(options.data, options.batch_rows, csv_header=options.csv_header):
        sample.append(chunk[: wanted - held])
        held += len(sample[-1])
        if held == wanted:
            break
    # float64: scikit-learn computes float32 distances in many small upcast blocks, ten times slower.
    rows = np.concatenate(sample, dtype=np.float64)
    if options.clusters > len(rows):
        raise BuildError(f"--clusters {options.clusters} is more than the {len(rows)} training rows")
    centres, _ = kmeans_plusplus(rows, options.clusters, random_state=options.seed)
    return np.ascontiguousarray(centres, dtype=np.float32), len(rows)


def squared_distance_sum(rows: npt.NDArray[np.float32], centroids: npt.NDArray[np.floating]) -> float:
    """Sum over `rows` of the squared Euclidean distance to the nearest centroid (norms and sum in float64).

    |x|^2 - 2 x.c + |c|^2 with the product in float32: an estimate's accuracy at BLAS speed, no float64 copy.
    """
    centres = np.asarray(centroids, dtype=np.float32)
    squared = np.einsum("ij,ij->i", rows, rows, dtype=np.float64)[:, None] - 2.0 * (rows @ centres.T)
    squared += np.einsum("ij,ij->i", centres, centres, dtype=np.float64)[None, :]
    return float(np.maximum(squared.min(axis=1), 0.0).sum())


class Reservoir:
    """A uniform sample of `size` rows from a stream of chunks (Algorithm R, vectorised per chunk)."""

    def __init__(self, size: int, seed: int) -> None:
        self.size = size
        self.seen = 0
        self._rows: npt.NDArray[np.float32] | None = None
        self._rng = np.random.default_rng(seed)

    def add(self, chunk: npt.NDArray[np.float32]) -> None:
        """Offer every row of `chunk`, in order: row i (0-based, overall) is kept with probability size/(i+1)."""
        if self._rows is None:
            self._rows = np.empty((self.size, chunk.shape[1]), dtype=np.float32)
        fill = max(0, min(self.size - self.seen, len(chunk)))
        self._rows[self.seen : self.seen + fill] = chunk[:fill]
        rest = chunk[fill:]
        slots = self._rng.integers(0, self.seen + fill + np.arange(len(rest)) + 1)
        kept = slots < self.size
        # Of several rows drawn to the same slot, the last one stays, as in the one-row-at-a-time algorithm.
        reversed_slots = slots[kept][::-1]
        slot, last = np.unique(reversed_slots, return_index=True)
        self._rows[slot] = rest[kept][::-1][last]
        self.seen += len(chunk)

    def sample(self) -> npt.NDArray[np.float32]:
        """The rows kept so far (all of them while fewer than `size` were seen)."""
        assert self._rows is not None, "no rows offered"
        return self._rows[: min(self.seen, self.size)].copy()


def _training_record(
    options: StreamingOptions, init_rows: int, rows: int, batches: int, inertia: float
) -> dict[str, Any]:
    return {
        "engine": ENGINE,
        "algorithm": "scikit-learn MiniBatchKMeans.partial_fit over streamed chunks",
        "seeding": f"k-means++ on the first {init_rows} rows",
        "clusters": options.clusters,
        "seed": options.seed,
        "batch_size": options.batch_rows,
        "epochs": options.epochs,
        "batches_per_epoch": batches,
        "rows": rows,
        "inertia": inertia,
        "inertia_method": "progressive: each batch of the last epoch against the centroids before its update",
    }


def _source_record(options: StreamingOptions, reservoir: Reservoir, digests: dict[Path, str]) -> dict[str, Any]:
    files = [{"path": str(path), "format": file_format(path), "sha256": sha} for path, sha in digests.items()]
    return {
        "kind": "stream",
        "path": str(options.data),
        "files": files,
        "rows": reservoir.seen,
        "csv_header": options.csv_header,
        "reference_rows": f"uniform reservoir sample of the stream (seed {options.seed})",
    }
