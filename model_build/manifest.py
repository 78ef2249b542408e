"""The build folder's layout and its manifest: the one place that names its files and keys.

Imports no numpy, so the CDK app and the verifier can read a build without model_build's weight.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ARTIFACT_NAME = "model.tar.gz"
MODEL_FILE_NAME = "model_algo-1"  # the container's ping check looks for exactly this name
MANIFEST_FILE_NAME = "manifest.json"
REFERENCE_FILE_NAME = "reference.npz"
PICTURE_FILE_NAME = "centroids.png"
BASELINE_FILE_NAME = "baseline.json"  # model_build.baseline: what drift is measured against
MANIFEST_SCHEMA_VERSION = 1

CLUSTERS = "clusters"
FEATURE_DIM = "feature_dim"
ARTIFACT_SHA256 = "artifact_sha256"
REFERENCE = "reference"
INERTIA = "inertia"
ALIGNED_TO = "aligned_to"
BASELINE = "baseline"


class ManifestError(ValueError):
    """A build folder whose manifest is missing, unreadable, or disagrees with its artifact."""


@dataclass(frozen=True)
class BuiltModel:
    """What a finished build says of itself: the facts the stack and the verifier rely on."""

    build_dir: Path
    clusters: int
    feature_dim: int
    artifact_sha256: str
    manifest: dict[str, Any]

    @property
    def artifact_path(self) -> Path:
        return self.build_dir / ARTIFACT_NAME


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def manifest_body(
    *,
    clusters: int,
    feature_dim: int,
    artifact: bytes,
    model_bytes: bytes,
    reference_bytes: bytes,
    reference_rows: int,
    source: dict[str, Any],
    versions: dict[str, str],
    training: dict[str, Any] | None,
    aligned_to: dict[str, Any] | None = None,
    baseline: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The manifest written beside a build's artifact."""
    manifest: dict[str, Any] = {
        "schema_version": MANIFEST_SCHEMA_VERSION,
        CLUSTERS: clusters,
        FEATURE_DIM: feature_dim,
        "dtype": "float32",
        "artifact": ARTIFACT_NAME,
        ARTIFACT_SHA256: sha256_hex(artifact),
        "artifact_bytes": len(artifact),
        "model_file": MODEL_FILE_NAME,
        "model_file_sha256": sha256_hex(model_bytes),
        "source": source,
        REFERENCE: {
            "file": REFERENCE_FILE_NAME,
            "sha256": sha256_hex(reference_bytes),
            "rows": reference_rows,
            "distance": "euclidean",
        },
        "versions": versions,
    }
    if training is not None:
        manifest["training"] = training
        manifest[INERTIA] = training[INERTIA]
    if aligned_to is not None:
        manifest[ALIGNED_TO] = aligned_to
    if baseline is not None:
        manifest[BASELINE] = baseline
    return manifest


def baseline_entry(baseline_bytes: bytes, rows: int, rows_source: str) -> dict[str, Any]:
    """The manifest's record of baseline.json: its sha256 (the chain), how many rows and which."""
    return {"file": BASELINE_FILE_NAME, "sha256": sha256_hex(baseline_bytes), "rows": rows, "rows_source": rows_source}


def encode_manifest(manifest: dict[str, Any]) -> bytes:
    return (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode()


def read_build(build_dir: Path, *, check_artifact: bool = True) -> BuiltModel:
    """The manifest of a finished build; with `check_artifact`, refused unless it describes the artifact beside it."""
    path = build_dir / MANIFEST_FILE_NAME
    try:
        manifest = json.loads(path.read_text())
        built = BuiltModel(
            build_dir=build_dir,
            clusters=int(manifest[CLUSTERS]),
            feature_dim=int(manifest[FEATURE_DIM]),
            artifact_sha256=str(manifest[ARTIFACT_SHA256]),
            manifest=manifest,
        )
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ManifestError(f"{path}: not a usable build manifest ({error})") from error
    if check_artifact:
        _check_artifact(built)
    return built


def _check_artifact(built: BuiltModel) -> None:
    try:
        actual = sha256_hex(built.artifact_path.read_bytes())
    except OSError as error:
        raise ManifestError(f"{built.artifact_path}: cannot read the artifact ({error.strerror})") from error
    if actual != built.artifact_sha256:
        raise ManifestError(
            f"{built.build_dir / MANIFEST_FILE_NAME}: describes an artifact with sha256 {built.artifact_sha256[:12]}…, "
            f"but {built.artifact_path} has {actual[:12]}…; rebuild with make build"
        )
