"""`python -m teardown.existing STACK...`: which of the named stacks exist, so `make demo-down` destroys only those."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from typing import Any

from teardown.buckets import stack_exists
from teardown.cli import ExitCode, clients, reporting_failures

PROGRAM = "python -m teardown.existing"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROGRAM,
        description="Print each named stack that exists (deleted stacks do not), one per line, in the order given.",
        epilog="exit codes: 0 done (even when none exists); 2 usage or configuration error; 3 an AWS call failed.",
    )
    parser.add_argument("stacks", nargs="+", metavar="STACK", help="stack name")
    return parser


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0) and int(ExitCode.USAGE)
    return reporting_failures(lambda: _print_existing(args.stacks))


def _print_existing(names: list[str]) -> ExitCode:
    for name in existing_stacks(clients("cloudformation")["cloudformation"], names):
        print(name)
    return ExitCode.DONE


def existing_stacks(cloudformation: Any, names: Iterable[str]) -> list[str]:
    """The stacks among `names` that exist, in the order given, each once."""
    return [name for name in dict.fromkeys(names) if stack_exists(cloudformation, name)]


if __name__ == "__main__":
    sys.exit(main())
