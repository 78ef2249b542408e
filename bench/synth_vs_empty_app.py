"""Benchmark: `npx cdk synth` of this app against an empty CDK app's, interleaved in one run.

The empty app measures the floor every CDK Python app pays (Node, the CLI, jsii start-up);
the ratio shows what this app adds on top. Target: <= 1.2x.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import REPO_ROOT, VENV_PYTHON, run_measured

EMPTY_APP = f"{VENV_PYTHON} {REPO_ROOT / 'bench' / 'empty_app.py'}"


def synth_seconds(app: str | None, outdir: Path) -> float:
    command = ["npx", "--no-install", "cdk", "synth", "--quiet", "--output", str(outdir)]
    if app is not None:
        command += ["--app", app]
    return run_measured(command).wall_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    os.environ["JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION"] = "20"
    os.environ["CDK_DISABLE_VERSION_CHECK"] = "1"
    ours: list[float] = []
    empty: list[float] = []
    with tempfile.TemporaryDirectory() as scratch:
        for repeat in range(args.repeats):
            empty.append(synth_seconds(EMPTY_APP, Path(scratch) / f"empty-{repeat}"))
            ours.append(synth_seconds(None, Path(scratch) / f"ours-{repeat}"))
            print(f"  run {repeat + 1}: empty app {empty[-1]:6.2f} s   this app {ours[-1]:6.2f} s", flush=True)
    floor, this = statistics.median(empty), statistics.median(ours)
    print(f"\nnpx cdk synth, median of {args.repeats} interleaved runs")
    print(f"  empty CDK app (floor): {floor:6.2f} s")
    print(f"  this app (+ cdk-nag):  {this:6.2f} s")
    print(f"  ratio this/empty = {this / floor:.2f}x   (target <= 1.20x)")


if __name__ == "__main__":
    main()
