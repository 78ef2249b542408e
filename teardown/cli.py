"""`python -m teardown --stack NAME --force`: empty the stack's deletable buckets so `cdk destroy` succeeds.

Emptying a bucket from the stack itself would need a Lambda-backed custom resource, which this
project avoids (it slows every deploy and cannot run on the local AWS), hence a step before destroy.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from enum import IntEnum
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from contract.clients import NoRegionError, aws_clients
from contract.stack import STACK_BASE_NAME
from teardown.buckets import TeardownError, buckets_deleted_with, count_versions, empty_bucket, stack_exists

PROGRAM = "python -m teardown"
DEFAULT_STACK = STACK_BASE_NAME


class ExitCode(IntEnum):
    DONE = 0
    REFUSED = 1
    USAGE = 2
    AWS_FAILED = 3


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROGRAM,
        description="Empty (every object version) the S3 buckets that `cdk destroy` of STACK will delete; "
        "buckets the stack retains are left alone. Without --force, only says what it would delete.",
        epilog="exit codes: 0 done (or nothing to delete); 1 objects found and no --force; "
        "2 usage or configuration error; 3 an AWS call failed.",
    )
    parser.add_argument("--stack", default=DEFAULT_STACK, help=f"stack name (default {DEFAULT_STACK})")
    parser.add_argument("--force", action="store_true", help="delete the objects (they cannot be recovered)")
    return parser


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0) and int(ExitCode.USAGE)
    return reporting_failures(lambda: teardown(args.stack, force=args.force, clients=clients("cloudformation", "s3")))


def reporting_failures(action: Callable[[], ExitCode]) -> int:
    """`action`'s exit code, or one line and the exit code for a configuration error or a failed AWS call."""
    try:
        return int(action())
    except TeardownError as error:
        print(f"error: {error}", file=sys.stderr)
        return int(ExitCode.USAGE)
    except (BotoCoreError, ClientError) as error:
        print(f"error: AWS call failed: {error}", file=sys.stderr)
        return int(ExitCode.AWS_FAILED)


def teardown(stack_name: str, *, force: bool, clients: dict[str, Any]) -> ExitCode:
    cloudformation, s3 = clients["cloudformation"], clients["s3"]
    if not stack_exists(cloudformation, stack_name):
        print(f"stack {stack_name} does not exist: nothing to empty")
        return ExitCode.DONE
    buckets = buckets_deleted_with(cloudformation, stack_name)
    if not force:
        return _report_only(stack_name, {bucket.name: count_versions(s3, bucket.name) for bucket in buckets})
    for bucket in buckets:
        print(f"emptied s3://{bucket.name} ({bucket.logical_id}): {empty_bucket(s3, bucket.name)} object versions")
    print(f"stack {stack_name}: {len(buckets)} deletable buckets empty; `cdk destroy` can delete them")
    return ExitCode.DONE


def _report_only(stack_name: str, versions: dict[str, int]) -> ExitCode:
    for name, count in versions.items():
        print(f"would empty s3://{name}: {count} object versions")
    total = sum(versions.values())
    if total == 0:
        print(f"stack {stack_name}: its deletable buckets are already empty")
        return ExitCode.DONE
    print(f"error: {total} object versions would be deleted for good; rerun with --force", file=sys.stderr)
    return ExitCode.REFUSED


def clients(*services: str) -> dict[str, Any]:
    """The tools' clients; no region is a configuration error."""
    try:
        return aws_clients(services)
    except NoRegionError as error:
        raise TeardownError(str(error)) from error
