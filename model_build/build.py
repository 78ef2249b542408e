"""One build: centroids in, artifact + manifest + reference set + picture out."""

from __future__ import annotations

import json
import platform
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from model_build import __version__, ndarray
from model_build.packaging import (
    ARTIFACT_NAME,
    MODEL_FILE_NAME,
    package_model,
    sha256_hex,
    write_outputs_atomically,
)
from model_build.picture import PICTURE_FILE_NAME, render_centroids
from model_build.reference import REFERENCE_FILE_NAME, ReferenceSet, build_reference_set

MANIFEST_FILE_NAME = "manifest.json"
MANIFEST_SCHEMA_VERSION = 1
_VERSIONED_LIBRARIES = ("numpy", "scikit-learn", "joblib")


@dataclass(frozen=True)
class BuildRequest:
    """Everything a build needs; the centroids are already validated float32."""

    centroids: npt.NDArray[np.float32]
    reference_rows: npt.NDArray[np.float32]
    source: dict[str, Any]
    training: dict[str, Any] | None
    draw_picture: bool = True


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
    manifest = _manifest(request, model_bytes, artifact, reference, reference_bytes)
    files = {ARTIFACT_NAME: artifact, REFERENCE_FILE_NAME: reference_bytes}
    if request.draw_picture:
        files[PICTURE_FILE_NAME] = render_centroids(request.centroids)
    files[MANIFEST_FILE_NAME] = (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode()
    return BuildOutputs(files=files, manifest=manifest)


def build(request: BuildRequest, out_dir: Path) -> BuildOutputs:
    """Render the outputs and write them all to `out_dir`, the manifest last."""
    outputs = render_outputs(request)
    write_outputs_atomically(out_dir, outputs.files)
    return outputs


def _manifest(
    request: BuildRequest, model_bytes: bytes, artifact: bytes, reference: ReferenceSet, reference_bytes: bytes
) -> dict[str, Any]:
    clusters, feature_dim = request.centroids.shape
    manifest: dict[str, Any] = {
        "schema_version": MANIFEST_SCHEMA_VERSION,
        "clusters": clusters,
        "feature_dim": feature_dim,
        "dtype": "float32",
        "artifact": ARTIFACT_NAME,
        "artifact_sha256": sha256_hex(artifact),
        "artifact_bytes": len(artifact),
        "model_file": MODEL_FILE_NAME,
        "model_file_sha256": sha256_hex(model_bytes),
        "source": request.source,
        "reference": {
            "file": REFERENCE_FILE_NAME,
            "sha256": sha256_hex(reference_bytes),
            "rows": int(reference.rows.shape[0]),
            "distance": "euclidean",
        },
        "versions": _versions(),
    }
    if request.training is not None:
        manifest["training"] = request.training
        manifest["inertia"] = request.training["inertia"]
    return manifest


def _versions() -> dict[str, str]:
    versions = {"python": platform.python_version(), "model_build": __version__}
    for library in _VERSIONED_LIBRARIES:
        try:
            versions[library] = metadata.version(library)
        except metadata.PackageNotFoundError:
            versions[library] = "absent"
    return versions


def read_manifest(build_dir: Path) -> dict[str, Any]:
    """The manifest of a finished build in `build_dir`."""
    loaded: dict[str, Any] = json.loads((build_dir / MANIFEST_FILE_NAME).read_text())
    return loaded
