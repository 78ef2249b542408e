"""`python -m approval`: resolve a group's package into CDK context, listen for approvals, follow them, share a group.

Exit codes: 0 done; 1 refused (no such group or package, none approved, not a k-means package, a failed deploy);
2 usage.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from approval.resolve import CONTEXT_FILE, ApprovalError, record, resolve
from contract.clients import NoRegionError, aws_clients
from registry.packages import RegistryError

PROGRAM = "python -m approval"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROGRAM, description=__doc__.splitlines()[0] if __doc__ else None)
    commands = parser.add_subparsers(dest="command", required=True)
    resolve_ = commands.add_parser("resolve", help="record the group's newest approved package for synth")
    resolve_.add_argument("--group", required=True, help="model package group name (or ARN, shared registry)")
    resolve_.add_argument("--package", help="this package ARN instead of the newest approved (must be approved)")
    resolve_.add_argument("--context-file", type=Path, default=CONTEXT_FILE, help="default cdk.context.json")
    listen_ = commands.add_parser("listen", help="an SQS queue receiving the group's approval events")
    listen_.add_argument("--group", required=True)
    listen_.add_argument("--queue", required=True, help="queue name")
    follow_ = commands.add_parser("follow", help="deploy what the queued approval events resolve to, then stop")
    follow_.add_argument("--group", required=True)
    follow_.add_argument("--queue", required=True, help="queue name")
    follow_.add_argument("--stack", required=True, help="the stack serving the group (its ModelPackageArn output)")
    follow_.add_argument("--context-file", type=Path, default=CONTEXT_FILE, help="default cdk.context.json")
    follow_.add_argument("deploy", nargs=argparse.REMAINDER, help="-- the deploy command (gets MODEL_PACKAGE_ARN)")
    served_ = commands.add_parser("served", help="print the package a stack serves (its ModelPackageArn output)")
    served_.add_argument("--stack", required=True)
    share_ = commands.add_parser("share", help="let other accounts read the group (PutModelPackageGroupPolicy)")
    share_.add_argument("--group", required=True)
    share_.add_argument("--account", required=True, action="append", help="a deploy account id (repeatable)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except (ApprovalError, RegistryError, NoRegionError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except (BotoCoreError, ClientError) as error:
        print(f"error: AWS call failed: {error}", file=sys.stderr)
        return 1


def _client(service: str) -> Any:
    return aws_clients([service])[service]


def _resolve(args: argparse.Namespace) -> int:
    package = resolve(_client("sagemaker"), args.group, args.package)
    record(args.context_file, args.group, package)
    print(f"{package.arn} (version {package.version}, sha256 {package.artifact_sha256[:12]}) recorded in "
          f"{args.context_file}")  # fmt: skip
    return 0


def _listen(args: argparse.Namespace) -> int:
    from approval.listen import listen

    print(listen(_client("events"), _client("sqs"), args.group, args.queue))
    return 0


def _follow(args: argparse.Namespace) -> int:
    from approval.follow import Follower, run_command

    command = args.deploy[1:] if args.deploy[:1] == ["--"] else args.deploy
    if not command:
        print("error: follow needs the deploy command after --", file=sys.stderr)
        return 2
    sqs = _client("sqs")
    follower = Follower(
        sqs=sqs, sagemaker=_client("sagemaker"), cloudformation=_client("cloudformation"),
        queue_url=sqs.get_queue_url(QueueName=args.queue)["QueueUrl"], group=args.group, stack_name=args.stack,
        context_file=args.context_file, deploy=run_command(command),
    )  # fmt: skip
    return follower.drain()


def _served(args: argparse.Namespace) -> int:
    from approval.follow import served_package

    arn = served_package(_client("cloudformation"), args.stack)
    if arn is None:
        print(f"error: stack {args.stack} serves no model package", file=sys.stderr)
        return 1
    print(arn)
    return 0


def _share(args: argparse.Namespace) -> int:
    from approval.share import share

    stored = share(_client("sagemaker"), args.group, args.account)
    print(f"{args.group}: readable by {', '.join(args.account)} ({len(stored['Statement'])} statements)")
    return 0


COMMANDS = {"resolve": _resolve, "listen": _listen, "follow": _follow, "served": _served, "share": _share}
