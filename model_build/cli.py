"""Command line: `python -m model_build [options] --out DIR` and `python -m model_build inspect PATH`."""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from model_build import ndarray
from model_build.alignment import Alignment, LoadedModel, align, alignment_table, load_model
from model_build.build import BuildRequest, build
from model_build.compare_cli import run_compare
from model_build.datasets import DATASETS, load_dataset
from model_build.errors import BuildError
from model_build.manifest import sha256_hex
from model_build.packaging import unpack_model
from model_build.reference import synthetic_rows
from model_build.sources import ImportedModel, import_centroids, import_sklearn_model
from model_build.training import fit_kmeans

DEFAULT_DATASET = "digits"
PROGRAM = "python -m model_build"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROGRAM,
        description="Build model.tar.gz for SageMaker's built-in k-means container, "
        "from a model trained here or brought from elsewhere. "
        f"Inspect an existing artifact with `{PROGRAM} inspect PATH`; "
        f"compare two models with `{PROGRAM} compare OLD NEW`.",
    )
    train = parser.add_argument_group("train here")
    train.add_argument("--dataset", choices=DATASETS, help=f"training rows (default {DEFAULT_DATASET})")
    train.add_argument("--data", type=Path, help="file or folder the dataset is read from")
    train.add_argument("--clusters", type=int, default=10, help="number of clusters k (default 10)")
    train.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    train.add_argument("--max-rows", type=_positive_int, help="use only the first N rows")
    own = parser.add_argument_group("bring your own model (--dataset then only supplies reference rows)")
    chosen = own.add_mutually_exclusive_group()
    chosen.add_argument("--centroids", type=Path, help=".npy or .csv, one centroid per row")
    chosen.add_argument("--sklearn-model", type=Path, help="fitted KMeans/MiniBatchKMeans (joblib or pickle)")
    own.add_argument("--trust-pickle", action="store_true", help="allow unpickling --sklearn-model (runs its code)")
    out = parser.add_argument_group("outputs")
    out.add_argument("--reference-rows", type=_positive_int, default=100, help="rows in the reference set (100)")
    out.add_argument("--out", type=Path, default=Path("build"), help="output folder (default build/)")
    retrain = parser.add_argument_group("retrain")
    retrain.add_argument(
        "--align-to",
        type=Path,
        metavar="PREVIOUS",
        help="build folder or model.tar.gz: keep each cluster's id from the previous model it matches best",
    )
    return parser


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def make_request(args: argparse.Namespace) -> tuple[BuildRequest, Alignment | None]:
    """Turn parsed options into a build request (aligned when asked) and the alignment made."""
    # Read before training: a wrong --align-to should fail in a second, not after a fit.
    previous = load_model(args.align_to, "--align-to") if args.align_to else None
    request = _unaligned_request(args)
    if previous is None:
        return request, None
    return _aligned(request, previous)


def _aligned(request: BuildRequest, previous: LoadedModel) -> tuple[BuildRequest, Alignment]:
    features, previous_features = request.centroids.shape[1], previous.centroids.shape[1]
    if features != previous_features:
        raise BuildError(f"{previous.where}: has {previous_features} features, the new model {features}")
    alignment = align(request.centroids, previous.centroids)
    aligned = replace(
        request,
        centroids=alignment.apply(request.centroids),
        aligned_to=alignment.to_manifest(previous.artifact_sha256),
    )
    return aligned, alignment


def _unaligned_request(args: argparse.Namespace) -> BuildRequest:
    imported = _imported_model(args)
    if imported is None:
        return _train_request(args)
    return BuildRequest(
        centroids=imported.centroids,
        reference_rows=_reference_rows_for(imported, args),
        source=imported.source,
        training=None,
    )


def _imported_model(args: argparse.Namespace) -> ImportedModel | None:
    if args.centroids is not None:
        return import_centroids(args.centroids)
    if args.sklearn_model is not None:
        return import_sklearn_model(args.sklearn_model, trust_pickle=args.trust_pickle)
    if args.trust_pickle:
        raise BuildError("--trust-pickle applies only to --sklearn-model")
    return None


def _train_request(args: argparse.Namespace) -> BuildRequest:
    dataset = load_dataset(args.dataset or DEFAULT_DATASET, args.data, args.max_rows)
    # Copied before fitting: the fit may round the rows in place (see fit_kmeans).
    reference_rows = dataset.rows[: args.reference_rows].copy()
    fitted = fit_kmeans(dataset.rows, args.clusters, args.seed)
    training = {
        "algorithm": "scikit-learn KMeans (Lloyd)",
        "seeding": fitted.seeding,
        "clusters": args.clusters,
        "seed": args.seed,
        "inertia": fitted.inertia,
        "iterations": fitted.iterations,
    }
    return BuildRequest(fitted.centroids, reference_rows, dataset.source, training, baseline_rows=dataset.rows)


def _reference_rows_for(imported: ImportedModel, args: argparse.Namespace) -> npt.NDArray[np.float32]:
    if args.dataset is None:
        imported.source["reference_rows"] = "synthetic: centroids plus noise"
        return synthetic_rows(imported.centroids, args.reference_rows, args.seed)
    rows = load_dataset(args.dataset, args.data, args.reference_rows).rows
    feature_dim = imported.centroids.shape[1]
    if rows.shape[1] != feature_dim:
        raise BuildError(f"{args.data or args.dataset}: rows have {rows.shape[1]} features, the model {feature_dim}")
    imported.source["reference_rows"] = f"dataset {args.dataset}"
    return rows


def inspect(path: Path) -> dict[str, Any]:
    """Describe a model_algo-1 or model.tar.gz, validating it as the container would."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise BuildError(f"{path}: cannot read ({error.strerror})") from error
    model_bytes = unpack_model(data, str(path)) if data[:2] == b"\x1f\x8b" else data
    arrays = ndarray.decode(model_bytes, str(path))
    if len(arrays) != 1 or arrays[0].ndim != 2 or arrays[0].dtype != np.float32:
        shapes = [f"{a.dtype} {a.shape}" for a in arrays]
        raise BuildError(f"{path}: k-means needs one float32 (clusters, features) array, found {shapes}")
    clusters, feature_dim = arrays[0].shape
    return {"path": str(path), "clusters": clusters, "feature_dim": feature_dim, "sha256": sha256_hex(data)}


def main(argv: list[str] | None = None) -> int:
    """Entry point; a BuildError becomes one line on stderr and exit status 1."""
    argv = sys.argv[1:] if argv is None else argv
    try:
        if argv[:1] == ["inspect"]:
            return _run_inspect(argv[1:])
        if argv[:1] == ["compare"]:
            return run_compare(argv[1:])
        return _run_build(build_parser().parse_args(argv))
    except BuildError as error:
        print(f"{PROGRAM}: error: {error}", file=sys.stderr)
        return 1


def _run_inspect(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog=f"{PROGRAM} inspect", description="Validate and describe an artifact.")
    parser.add_argument("path", type=Path, help="model_algo-1 or model.tar.gz")
    summary = inspect(parser.parse_args(argv).path)
    print(" ".join(f"{key}={value}" for key, value in summary.items()))
    return 0


def _run_build(args: argparse.Namespace) -> int:
    request, alignment = make_request(args)
    outputs = build(request, args.out)
    if alignment is not None:
        print(f"aligned to {args.align_to}:\n{alignment_table(alignment)}")
    manifest = outputs.manifest
    inertia = f", inertia {manifest['inertia']:.6g}" if "inertia" in manifest else ""
    print(
        f"built {args.out / manifest['artifact']}: {manifest['clusters']} clusters x "
        f"{manifest['feature_dim']} features{inertia}, sha256 {manifest['artifact_sha256'][:12]}; "
        f"{manifest['reference']['rows']} reference rows; " + ", ".join(sorted(outputs.files))
    )
    return 0
