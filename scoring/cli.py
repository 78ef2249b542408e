"""`python -m scoring transform --input PATH_OR_S3_URI --output S3_URI_OR_DIR [options]`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from tqdm import tqdm

from aws_facts.payloads import TRANSFORM_DEFAULT_PAYLOAD_MB, TRANSFORM_MAX_PAYLOAD_MB, TRANSFORM_MIN_PAYLOAD_MB
from contract.clients import NoRegionError, aws_clients
from contract.stack import STACK_BASE_NAME, Output, read_outputs
from scoring.errors import ScoringError
from scoring.transform import Summary, TransformRequest, job_name, start, summarise, upload_inputs, wait
from wire.media_types import (
    CSV,
    JSONLINES,
    SPLIT_TYPE_FOR,
    TRANSFORM_ACCEPTS,
    TRANSFORM_CONTENT_TYPES,
    TRANSFORM_JOINABLE,
)

PROGRAM = "python -m scoring"
DEFAULT_STACK = STACK_BASE_NAME
PAYLOAD_MB = f"{TRANSFORM_MIN_PAYLOAD_MB}..{TRANSFORM_MAX_PAYLOAD_MB}"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROGRAM, description="Batch scoring with the stack's k-means Model.")
    commands = parser.add_subparsers(dest="command", required=True)
    transform = commands.add_parser("transform", help="run a SageMaker Batch Transform over files or an S3 prefix")
    transform.add_argument("--input", required=True, help="a file, a folder (uploaded first) or an s3:// prefix")
    transform.add_argument("--output", required=True, help="an s3:// prefix, or a folder the .out files land in")
    transform.add_argument("--stack", default=DEFAULT_STACK, help=f"stack with the Model (default {DEFAULT_STACK})")
    transform.add_argument("--content-type", choices=TRANSFORM_CONTENT_TYPES, default=CSV)
    transform.add_argument(
        "--accept", choices=TRANSFORM_ACCEPTS, help="answer format (default: CSV for CSV input, else JSON Lines)"
    )
    transform.add_argument("--split-type", choices=("Line", "RecordIO", "None"), help="default: by content type")
    transform.add_argument("--gzip", action="store_true", help="the input objects are gzip-compressed")
    transform.add_argument(
        "--max-payload-mb",
        type=int,
        default=TRANSFORM_DEFAULT_PAYLOAD_MB,
        help=f"largest request per batch ({PAYLOAD_MB}, default {TRANSFORM_DEFAULT_PAYLOAD_MB})",
    )
    transform.add_argument("--instances", type=int, default=1, help="instances the objects are spread over")
    transform.add_argument("--instance-type", default="ml.m5.large")
    transform.add_argument("--input-filter", help="JSONPath picking the features, e.g. '$[1:]' drops an id column")
    transform.add_argument("--join-input", action="store_true", help="write each input record beside its answer")
    transform.add_argument("--output-filter", help="JSONPath picking what to keep, e.g. '$[0,-2,-1]'")
    transform.add_argument("--wait", action=argparse.BooleanOptionalAction, default=True, help="wait and summarise")
    transform.add_argument("--timeout", type=float, default=3600, help="seconds --wait waits (default 3600)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        _check(args)  # before any AWS call: bad options cost nothing
        return run_transform(args, _clients())
    except ScoringError as error:
        print(f"{PROGRAM}: error: {error}", file=sys.stderr)
        return 1
    except (BotoCoreError, ClientError) as error:
        print(f"{PROGRAM}: error: AWS call failed: {error}", file=sys.stderr)
        return 1


def _clients() -> dict[str, Any]:
    try:
        return aws_clients(("cloudformation", "sagemaker", "s3"))
    except NoRegionError as error:
        raise ScoringError(str(error)) from error


def stack_outputs(cloudformation: Any, stack: str) -> dict[str, str]:
    try:
        outputs = read_outputs(stack, cloudformation)
    except ClientError as error:
        raise ScoringError(f"--stack {stack}: {error.response.get('Error', {}).get('Message', error)}") from error
    if Output.MODEL_NAME not in outputs:
        raise ScoringError(f"--stack {stack}: no {Output.MODEL_NAME} output (is this the k-means stack?)")
    return outputs


def run_transform(args: argparse.Namespace, clients: dict[str, Any]) -> int:
    outputs = stack_outputs(clients["cloudformation"], args.stack)
    name = job_name()
    bucket = outputs.get(Output.SCORING_BUCKET_NAME)
    input_uri = args.input if args.input.startswith("s3://") else _uploaded(clients["s3"], args, bucket, name)
    output_uri = args.output if args.output.startswith("s3://") else _scoring_uri(bucket, f"output/{name}", "--output")
    request = _request(args, outputs, input_uri, output_uri.rstrip("/"))
    start(clients["sagemaker"], request, name)
    print(f"started transform job {name}: {input_uri} -> {output_uri}")
    if not args.wait:
        return 0
    with tqdm(total=0, bar_format="{desc} {elapsed} {postfix}", desc=name, disable=not sys.stderr.isatty()) as bar:
        described = wait(clients["sagemaker"], name, bar, args.timeout)
    if described["TransformJobStatus"] != "Completed":
        reason = described.get("FailureReason") or "no FailureReason given"
        raise ScoringError(f"transform job {name} is {described['TransformJobStatus']}: {reason}")
    summary = summarise(clients["s3"], request.output_uri, request.accept, -2 if args.join_input else None)
    if not args.output.startswith("s3://"):
        _download(clients["s3"], summary.objects, Path(args.output))
    print_summary(name, summary, args.output)
    return 0


def _check(args: argparse.Namespace) -> None:
    if not TRANSFORM_MIN_PAYLOAD_MB <= args.max_payload_mb <= TRANSFORM_MAX_PAYLOAD_MB:
        raise ScoringError(f"--max-payload-mb {args.max_payload_mb} is outside {PAYLOAD_MB}")
    if args.instances < 1:
        raise ScoringError(f"--instances must be at least 1, got {args.instances}")
    if args.join_input and args.content_type not in TRANSFORM_JOINABLE:
        raise ScoringError(f"--join-input needs CSV or JSON input: AWS joins no {args.content_type} records")
    filters = [
        option
        for option, given in (("--input-filter", args.input_filter), ("--output-filter", args.output_filter))
        if given
    ]
    if filters and args.content_type not in TRANSFORM_JOINABLE:
        raise ScoringError(f"{filters[0]} needs CSV or JSON input: AWS filters no {args.content_type} records")
    if not args.input.startswith("s3://") and not Path(args.input).exists():
        raise ScoringError(f"--input {args.input}: no such file or folder")


def _scoring_uri(bucket: str | None, prefix: str, option: str) -> str:
    if bucket is None:
        raise ScoringError(f"{option} is local but the stack has no scoring bucket: deploy with -c scoring=true")
    return f"s3://{bucket}/{prefix}/"


def _uploaded(s3: Any, args: argparse.Namespace, bucket: str | None, name: str) -> str:
    _scoring_uri(bucket, "", "--input")
    assert bucket is not None
    return upload_inputs(s3, Path(args.input), bucket, f"input/{name}")


def _request(args: argparse.Namespace, outputs: dict[str, str], input_uri: str, output_uri: str) -> TransformRequest:
    accept = args.accept or (CSV if args.content_type == CSV else JSONLINES)
    return TransformRequest(
        model_name=outputs[Output.MODEL_NAME],
        input_uri=input_uri,
        output_uri=output_uri,
        content_type=args.content_type,
        accept=accept,
        split_type=args.split_type or SPLIT_TYPE_FOR[args.content_type],
        max_payload_mb=args.max_payload_mb,
        instances=args.instances,
        instance_type=args.instance_type,
        input_filter=args.input_filter,
        join_input=args.join_input,
        output_filter=args.output_filter,
        compression="Gzip" if args.gzip else "None",
        output_kms_key=outputs.get(Output.SCORING_KEY_ARN),  # the answers under the stack's key, as the bucket
    )


def _download(s3: Any, objects: list[str], folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for uri in objects:
        bucket, _, key = uri.removeprefix("s3://").partition("/")
        s3.download_file(bucket, key, str(folder / key.rsplit("/", 1)[-1]))


def print_summary(name: str, summary: Summary, output: str) -> None:
    print(f"transform job {name} completed: {summary.rows} rows in {len(summary.objects)} object(s) -> {output}")
    print("  cluster      rows   share")
    for cluster, count in summary.cluster_sizes.items():
        print(f"  {cluster:>7} {count:>9} {count / max(summary.rows, 1):7.2%}")
