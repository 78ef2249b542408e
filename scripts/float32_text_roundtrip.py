"""Cross-check: the verifier's float32 text (`csv_lines`) reads back as the same float32.

Parsers read a decimal as a float64 and round that to float32 (numpy's loadtxt, Python's
float()), so a string can be rounded twice. Nine significant digits ("%.9g") never are; the
shortest float32 form sometimes is: 7.038531e-26 (bits 0x15ae43fd) reads back as its neighbour,
as this script found in orjson's output. The verifier writes orjson's shortest form except for
rows holding a value `double_rounding_risk` flags, which it writes with "%.9g"; this checks that
combination. `--exhaustive` walks every finite float32 (about 50 minutes on one core), otherwise
every subnormal and a random sample. Prints the count checked; exits 1 at the first mismatch.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import numpy.typing as npt

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from wire.float32_text import csv_lines

CHUNK = 1 << 22
ROW = 8  # values per row: a flagged value sends its row the long way, so keep rows short here


def exhaustive() -> Iterator[npt.NDArray[np.float32]]:
    for start in range(0, 1 << 32, CHUNK):
        yield np.arange(start, start + CHUNK, dtype=np.uint64).astype(np.uint32).view(np.float32)


def sampled(count: int, seed: int) -> Iterator[npt.NDArray[np.float32]]:
    yield np.arange(1, 1 << 23, dtype=np.uint32).view(np.float32)  # every positive subnormal
    rng = np.random.default_rng(seed)
    for _ in range(0, count, CHUNK):
        yield rng.integers(0, 1 << 32, size=CHUNK, dtype=np.uint64).astype(np.uint32).view(np.float32)


def mismatches(values: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    finite = values[np.isfinite(values)]
    finite = np.ascontiguousarray(finite[: len(finite) // ROW * ROW])
    text = b",".join(csv_lines(finite.reshape(-1, ROW))).decode()
    parsed = np.array(text.split(","), dtype=np.float64).astype(np.float32)
    wrong: npt.NDArray[np.float32] = finite[parsed.view(np.uint32) != finite.view(np.uint32)]
    return wrong


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--exhaustive", action="store_true")
    parser.add_argument("--sample", type=int, default=20_000_000)
    args = parser.parse_args()
    checked = 0
    for values in exhaustive() if args.exhaustive else sampled(args.sample, seed=0):
        wrong = mismatches(values)
        if wrong.size:
            print(f"mismatch: {wrong[0]!r} (bits {wrong.view(np.uint32)[0]:#010x})")
            return 1
        checked += int(np.isfinite(values).sum())
    print(f"{checked:,} finite float32 values read back exactly")
    return 0


if __name__ == "__main__":
    sys.exit(main())
