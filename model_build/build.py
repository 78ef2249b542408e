"""One build: centroids in, artifact + manifest + reference set + picture out."""

from __future__ import annotations

import platform
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from model_build import __version__, ndarray
from model_build.baseline import BaselineAccumulator, encode_baseline
from model_build.manifest import (
    ARTIFACT_NAME,
    BASELINE_FILE_NAME,
    MANIFEST_FILE_NAME,
    PICTURE_FILE_NAME,
    REFERENCE_FILE_NAME,
    baseline_entry,
    encode_manifest,
    manifest_body,
    sha256_hex,
)
from model_build.packaging import package_model, write_outputs_atomically
from model_build.picture import render_centroids
from model_build.reference import build_reference_set

_VERSIONED_LIBRARIES = ("numpy", "scikit-learn", "joblib")


@dataclass(frozen=True)
class BuildRequest:
    """Everything a build needs; the centroids are already validated float32."""

    centroids: npt.NDArray[np.float32]
    reference_rows: npt.NDArray[np.float32]
    source: dict[str, Any]
    training: dict[str, Any] | None
    draw_picture: bool = True
    aligned_to: dict[str, Any] | None = None  # the manifest's record of an --align-to
    # The rows baseline.json is computed on: the training rows; None: the reference rows (a model brought along).
    baseline_rows: npt.NDArray[np.float32] | None = None
    # Or, for training data too big to hold: a second pass over it, chunk by chunk (a streamed build).
    baseline_chunks: Callable[[], Iterable[npt.NDArray[np.float32]]] | None = None


@dataclass(frozen=True)
class BuildOutputs:
    """The bytes of every output file, before any is written."""

    files: dict[str, bytes]
    manifest: dict[str, Any]


def render_outputs(request: BuildRequest) -> BuildOutputs:
    """Compute every output in memory, so a failure leaves nothing on disk."""
    model_bytes = ndarray.encode([request.centroids])
    artifact = package_model(model_bytes)
    reference = build_reference_set(request.reference_rows, request.centroids)
    reference_bytes = reference.to_npz_bytes()
    baseline_bytes, baseline = _baseline(request, sha256_hex(artifact))
    clusters, feature_dim = request.centroids.shape
    manifest = manifest_body(
        clusters=clusters,
        feature_dim=feature_dim,
        artifact=artifact,
        model_bytes=model_bytes,
        reference_bytes=reference_bytes,
        reference_rows=int(reference.rows.shape[0]),
        source=request.source,
        versions=_versions(),
        training=request.training,
        aligned_to=request.aligned_to,
        baseline=baseline,
    )
    files = {ARTIFACT_NAME: artifact, REFERENCE_FILE_NAME: reference_bytes, BASELINE_FILE_NAME: baseline_bytes}
    if request.draw_picture:
        files[PICTURE_FILE_NAME] = render_centroids(request.centroids)
    files[MANIFEST_FILE_NAME] = encode_manifest(manifest)
    return BuildOutputs(files=files, manifest=manifest)


def build(request: BuildRequest, out_dir: Path) -> BuildOutputs:
    """Render the outputs and write them all to `out_dir`, the manifest last."""
    outputs = render_outputs(request)
    write_outputs_atomically(out_dir, outputs.files)
    return outputs


def _baseline(request: BuildRequest, artifact_sha256: str) -> tuple[bytes, dict[str, Any]]:
    accumulator = BaselineAccumulator(request.centroids)
    if request.baseline_chunks is not None:
        source = "training rows, streamed"
        for chunk in request.baseline_chunks():
            accumulator.add(chunk)
    else:
        trained = request.baseline_rows is not None
        source = "training rows" if trained else "reference rows"
        accumulator.add(request.baseline_rows if request.baseline_rows is not None else request.reference_rows)
    data = encode_baseline(accumulator.result(artifact_sha256=artifact_sha256, rows_source=source))
    return data, baseline_entry(data, accumulator.features.count, source)


def _versions() -> dict[str, str]:
    versions = {"python": platform.python_version(), "model_build": __version__}
    for library in _VERSIONED_LIBRARIES:
        try:
            versions[library] = metadata.version(library)
        except metadata.PackageNotFoundError:
            versions[library] = "absent"
    return versions
