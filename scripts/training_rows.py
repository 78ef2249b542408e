"""Write rows to train on: the bundled digits as headerless CSV, a training file and a test file.

`python scripts/training_rows.py --out DIR [--test-rows N]`: what `make demo-train` trains on with SageMaker's
k-means (DIR/train.csv, DIR/test.csv).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from model_build.datasets import load_dataset


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--test-rows", type=int, default=297)
    args = parser.parse_args()
    rows = load_dataset("digits", None, None).rows
    order = np.random.default_rng(0).permutation(len(rows))
    test, train = rows[order[: args.test_rows]], rows[order[args.test_rows :]]
    args.out.mkdir(parents=True, exist_ok=True)
    for name, part in (("train", train), ("test", test)):
        np.savetxt(args.out / f"{name}.csv", part, delimiter=",", fmt="%g")
    print(f"wrote {len(train)} training and {len(test)} test rows of {rows.shape[1]} features to {args.out}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
