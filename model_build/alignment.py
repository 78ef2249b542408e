"""Stable cluster ids across retrains: renumber new centroids after the previous model's.

k-means numbers its clusters in whatever order the fit found them, so "cluster 3" means something
else after every retrain. Aligning reorders the new centroids so each takes the id of the previous
centroid it matches best, by an optimal assignment on centroid distances (the Hungarian method of
SciPy's `linear_sum_assignment`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.optimize import linear_sum_assignment

from model_build import ndarray
from model_build.errors import BuildError
from model_build.manifest import ARTIFACT_NAME, ManifestError, read_build, sha256_hex
from model_build.packaging import unpack_model


@dataclass(frozen=True)
class LoadedModel:
    """A model read back from a build folder or artifact: centroids, the artifact's sha256, its build folder."""

    centroids: npt.NDArray[np.float32]
    artifact_sha256: str
    where: str
    build_dir: Path | None


@dataclass(frozen=True)
class Alignment:
    """`order[new_id]` is the fitted centroid's index that takes id `new_id`; `previous[new_id]` its match."""

    order: npt.NDArray[np.int64]
    previous: list[int | None]
    shifts: list[float | None]
    dropped: list[int]
    renumbered: dict[int, int]

    def apply(self, centroids: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        return np.ascontiguousarray(centroids[self.order])

    def to_manifest(self, previous_sha256: str) -> dict[str, Any]:
        return {
            "artifact_sha256": previous_sha256,
            "clusters": [
                {"id": new_id, "fitted_index": int(index), "previous_id": match, "shift": shift}
                for new_id, (index, match, shift) in enumerate(zip(self.order, self.previous, self.shifts, strict=True))
            ],
            "dropped_ids": self.dropped,
            "renumbered": {str(old): new for old, new in sorted(self.renumbered.items())},
        }


def load_model(path: Path, role: str) -> LoadedModel:
    """A build folder (its manifest must describe its artifact) or a model.tar.gz, as k-means centroids.

    `role` names the argument in errors (`--align-to`, `OLD`), so each reads as one line saying where.
    """
    build_dir = path if path.is_dir() else None
    artifact_path = path / ARTIFACT_NAME if build_dir else path
    if build_dir is not None:
        try:
            read_build(build_dir)
        except ManifestError as error:
            raise BuildError(f"{role} {error}") from error
    where = f"{role} {artifact_path}"
    try:
        artifact = artifact_path.read_bytes()
    except OSError as error:
        raise BuildError(f"{where}: cannot read ({error.strerror})") from error
    arrays = ndarray.decode(unpack_model(artifact, where), where)
    if len(arrays) != 1 or arrays[0].ndim != 2 or arrays[0].dtype != np.float32:
        raise BuildError(f"{where}: not a k-means model (one float32 clusters x features array)")
    centroids = arrays[0].astype(np.float32, copy=False)  # a no-op: checked above, typed for mypy
    return LoadedModel(centroids, sha256_hex(artifact), where, build_dir)


def centroid_distances(a: npt.NDArray[np.float32], b: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]:
    """Euclidean distance between every centroid of `a` and every centroid of `b`, in float64."""
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    squared = (a64**2).sum(axis=1)[:, None] - 2 * a64 @ b64.T + (b64**2).sum(axis=1)[None, :]
    distances: npt.NDArray[np.float64] = np.sqrt(np.maximum(squared, 0.0))
    return distances


def align(fitted: npt.NDArray[np.float32], previous: npt.NDArray[np.float32]) -> Alignment:
    """Give each fitted centroid the id of its optimally assigned previous centroid.

    Ids must stay 0..k-1 (the container answers a row index). With more clusters than before, the
    unmatched ones take the ids after the old range. With fewer, the previous clusters left unmatched
    are dropped, and a matched one whose id no longer exists moves into a freed id (reported).
    """
    distances = centroid_distances(fitted, previous)
    fitted_rows, previous_ids = linear_sum_assignment(distances)
    count = len(fitted)
    match = {int(f): int(p) for f, p in zip(fitted_rows, previous_ids, strict=True)}
    order = np.full(count, -1, dtype=np.int64)
    for fitted_index, previous_id in match.items():
        if previous_id < count:
            order[previous_id] = fitted_index
    placed = set(order[order >= 0].tolist())
    free_ids = iter(np.flatnonzero(order < 0).tolist())
    for fitted_index in range(count):  # ascending, so the outcome depends only on the inputs
        if fitted_index not in placed:
            order[next(free_ids)] = fitted_index
    matches = [match.get(int(index)) for index in order]
    return Alignment(
        order=order,
        previous=matches,
        shifts=[None if m is None else float(distances[index, m]) for index, m in zip(order, matches, strict=True)],
        dropped=sorted(set(range(len(previous))) - set(match.values())),
        renumbered={m: new_id for new_id, m in enumerate(matches) if m is not None and m != new_id},
    )


def alignment_table(alignment: Alignment) -> str:
    """A short table for the build's output: each id, what it came from, and how far it moved."""
    lines = ["  id  previous  shift"]
    for new_id, (match, shift) in enumerate(zip(alignment.previous, alignment.shifts, strict=True)):
        previous = "new" if match is None else str(match)
        moved = "" if shift is None else f"{shift:.4g}"
        lines.append(f"  {new_id:>2}  {previous:>8}  {moved}")
    if alignment.dropped:
        lines.append(f"  dropped ids: {', '.join(map(str, alignment.dropped))}")
    if alignment.renumbered:
        moves = ", ".join(f"{old} -> {new}" for old, new in sorted(alignment.renumbered.items()))
        lines.append(f"  renumbered (the old id no longer exists): {moves}")
    return "\n".join(lines)
