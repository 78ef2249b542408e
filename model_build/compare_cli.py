"""`python -m model_build compare OLD NEW`: agreement of two models, and a gate on it."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import numpy.typing as npt

from model_build.alignment import LoadedModel, load_model
from model_build.comparison import compare_models, comparison_text
from model_build.datasets import DATASETS, load_dataset
from model_build.errors import BuildError
from model_build.manifest import REFERENCE_FILE_NAME
from model_build.reference import ReferenceSet

PROGRAM = "python -m model_build compare"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROGRAM,
        description="Label the same rows with two models, align NEW's ids to OLD's, and report agreement, "
        "adjusted Rand index, centroid shift and cluster-size drift. Rows: --dataset, else NEW's "
        "reference set, else OLD's.",
    )
    parser.add_argument("old", type=Path, metavar="OLD", help="build folder or model.tar.gz (the live model)")
    parser.add_argument("new", type=Path, metavar="NEW", help="build folder or model.tar.gz (the candidate)")
    parser.add_argument("--dataset", choices=DATASETS, help="compare on this dataset's rows")
    parser.add_argument("--data", type=Path, help="file or folder the dataset is read from")
    parser.add_argument("--max-rows", type=int, help="use only the first N rows of --dataset")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser.add_argument(
        "--min-agreement", type=float, metavar="X", help="exit 1 when the aligned label agreement is below X (0..1)"
    )
    return parser


def run_compare(argv: list[str]) -> int:
    """Print the comparison; 1 when --min-agreement is given and not met. BuildErrors go to the caller."""
    args = build_parser().parse_args(argv)
    if args.min_agreement is not None and not 0 <= args.min_agreement <= 1:
        raise BuildError(f"--min-agreement must be between 0 and 1, got {args.min_agreement}")
    old, new = load_model(args.old, "OLD"), load_model(args.new, "NEW")
    if old.centroids.shape[1] != new.centroids.shape[1]:
        raise BuildError(
            f"{new.where}: has {new.centroids.shape[1]} features, {old.where} has {old.centroids.shape[1]}"
        )
    comparison = compare_models(old.centroids, new.centroids, _rows(args, old, new))
    print(json.dumps(comparison.to_json(), indent=2) if args.json else comparison_text(comparison))
    if args.min_agreement is not None and comparison.agreement < args.min_agreement:
        if not args.json:
            print(f"FAILED: agreement {comparison.agreement:.4f} is below --min-agreement {args.min_agreement}")
        return 1
    return 0


def _rows(args: argparse.Namespace, old: LoadedModel, new: LoadedModel) -> npt.NDArray[np.float32]:
    if args.dataset is not None:
        rows = load_dataset(args.dataset, args.data, args.max_rows).rows
        where = args.data or args.dataset
    else:
        build_dir = new.build_dir or old.build_dir
        if build_dir is None:
            raise BuildError("OLD and NEW are both artifacts without a build folder: give --dataset for the rows")
        rows = _reference_rows(build_dir)
        where = build_dir / REFERENCE_FILE_NAME
    if rows.ndim != 2 or rows.shape[1] != old.centroids.shape[1]:
        raise BuildError(f"{where}: rows have {rows.shape[-1]} features, the models {old.centroids.shape[1]}")
    return np.ascontiguousarray(rows, dtype=np.float32)


def _reference_rows(build_dir: Path) -> npt.NDArray[np.float32]:
    path = build_dir / REFERENCE_FILE_NAME
    try:
        return ReferenceSet.from_npz_bytes(path.read_bytes()).rows
    except (OSError, ValueError, KeyError) as error:
        raise BuildError(f"{path}: no usable reference set ({error})") from error
