"""`python -m teardown.existing STACK...`: which of the named stacks exist, so `make demo-down` destroys only those."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from teardown.buckets import TeardownError, stack_exists
from teardown.cli import ExitCode

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
    try:
        found = existing_stacks(_cloudformation(), args.stacks)
    except TeardownError as error:
        print(f"error: {error}", file=sys.stderr)
        return int(ExitCode.USAGE)
    except (BotoCoreError, ClientError) as error:
        print(f"error: AWS call failed: {error}", file=sys.stderr)
        return int(ExitCode.AWS_FAILED)
    for name in found:
        print(name)
    return int(ExitCode.DONE)


def existing_stacks(cloudformation: Any, names: Iterable[str]) -> list[str]:
    """The stacks among `names` that exist, in the order given, each once."""
    return [name for name in dict.fromkeys(names) if stack_exists(cloudformation, name)]


def _cloudformation() -> Any:
    import boto3
    from botocore.config import Config

    session = boto3.session.Session()
    if session.region_name is None:
        raise TeardownError("no AWS region: set AWS_REGION (or AWS_DEFAULT_REGION)")
    return session.client("cloudformation", config=Config(retries={"mode": "standard", "max_attempts": 5}))


if __name__ == "__main__":
    sys.exit(main())
