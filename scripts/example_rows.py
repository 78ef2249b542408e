"""Write example rows to score: the bundled digits with an id column first, as CSV parts.

`python scripts/example_rows.py --out DIR [--rows N] [--parts K]`: what `make demo-batch` transforms.
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
    parser.add_argument("--rows", type=int, default=1797)
    parser.add_argument("--parts", type=int, default=3)
    args = parser.parse_args()
    rows = load_dataset("digits", None, args.rows).rows
    args.out.mkdir(parents=True, exist_ok=True)
    for part, indices in enumerate(np.array_split(np.arange(len(rows)), args.parts)):
        lines = [f"customer-{index}," + ",".join(f"{value:g}" for value in rows[index]) for index in indices]
        (args.out / f"part-{part}.csv").write_text("\n".join(lines) + "\n")
    print(f"wrote {len(rows)} rows with an id column to {args.out}/ in {args.parts} parts")
    return 0


if __name__ == "__main__":
    sys.exit(main())
