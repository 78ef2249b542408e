"""Bring your own model: centroids from .npy/.csv, or a fitted scikit-learn k-means."""

from __future__ import annotations

import hashlib
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from model_build.datasets import load_matrix_file
from model_build.errors import BuildError
from model_build.validation import as_centroids

SKLEARN_KMEANS_TYPES = ("KMeans", "MiniBatchKMeans", "BisectingKMeans")


@dataclass(frozen=True)
class ImportedModel:
    """Centroids brought from elsewhere and a JSON-ready description of their origin."""

    centroids: npt.NDArray[np.float32]
    source: dict[str, Any]


def import_centroids(path: Path) -> ImportedModel:
    """Read centroids from a .npy or .csv file (rows are clusters, columns features)."""
    values = load_matrix_file(path)
    source = {"kind": "centroids", "path": str(path), "sha256": _file_sha256(path)}
    return ImportedModel(centroids=as_centroids(values, str(path)), source=source)


def import_sklearn_model(path: Path, *, trust_pickle: bool) -> ImportedModel:
    """Load a fitted KMeans/MiniBatchKMeans/BisectingKMeans saved with joblib or pickle."""
    if not trust_pickle:
        raise BuildError(f"{path}: loading a pickle runs code from it; pass --trust-pickle if you trust this file")
    model = _unpickle(path)
    type_name = type(model).__name__
    if type_name not in SKLEARN_KMEANS_TYPES or not type(model).__module__.startswith("sklearn."):
        raise BuildError(f"{path}: holds {type(model).__module__}.{type_name}, not a scikit-learn k-means model")
    centers = getattr(model, "cluster_centers_", None)
    if centers is None:
        raise BuildError(f"{path}: the {type_name} is not fitted (no cluster_centers_)")
    source = {"kind": "sklearn-model", "path": str(path), "sha256": _file_sha256(path), "estimator": type_name}
    return ImportedModel(centroids=as_centroids(centers, str(path)), source=source)


def _unpickle(path: Path) -> Any:
    import joblib

    try:
        return joblib.load(path)
    except FileNotFoundError as error:
        raise BuildError(f"{path}: no such file") from error
    except (OSError, EOFError, pickle.UnpicklingError, ValueError, KeyError, IndexError) as error:
        raise BuildError(f"{path}: cannot unpickle ({type(error).__name__}: {error})") from error


def _file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
