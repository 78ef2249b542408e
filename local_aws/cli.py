"""`python -m local_aws up|down|status|env|serve MODEL_DIR`: run the local AWS."""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from contract.stack import Output
from local_aws.config import HOST, LocalAwsConfig
from local_aws.processes import LocalAwsError, alive, answers, read_pids, servers, start, stop

if TYPE_CHECKING:
    from local_aws.runtime.capture import DataCapture
    from local_aws.runtime.shadow import ShadowMirror

PROGRAM = "python -m local_aws"
CONTAINER_PORT = 8080
RUNTIME_THREADS = 8


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROGRAM, description="A local AWS: moto control plane + k-means runtime.")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("up", help="start the control plane and the runtime (idempotent)")
    commands.add_parser("down", help="stop exactly the processes `up` started")
    commands.add_parser("status", help="show what runs and answers")
    commands.add_parser("env", help="print export lines pointing the CDK CLI, boto3 and the AWS CLI here")
    serve = commands.add_parser("serve", help="serve an extracted model folder as the container does")
    serve.add_argument("model_dir", type=Path, help="folder holding model_algo-1 (as /opt/ml/model)")
    serve.add_argument("--port", type=int, default=CONTAINER_PORT)
    run = commands.add_parser("run", help="run a command pointed at the local AWS: run -- npx cdk deploy")
    run.add_argument(
        "--as",
        dest="as_role",
        metavar="ROLE",
        help="with the credentials of a role (ARN, name, or STACK.OUTPUT): each call is authorized against it",
    )
    run.add_argument("argv", nargs=argparse.REMAINDER, help="the command and its arguments")
    hint = commands.add_parser("hint", help="how to invoke the deployed endpoint by hand, and tear down")
    hint.add_argument("--outputs-file", type=Path, default=Path("build/outputs.json"))
    schedule = commands.add_parser("fire-schedule", help="fire an EventBridge Scheduler schedule now, as its role")
    schedule.add_argument("name", help="the schedule's name")
    schedule.add_argument("--group", help="its schedule group (default: default)")
    schedule.add_argument(
        "--at",
        type=_utc_time,
        help="the scheduled time it fires as (<aws.scheduler.scheduled-time>), ISO 8601 (default: now); "
        "e.g. a time past the drift monitor's capture lag, to analyse traffic just sent",
    )
    runtime = commands.add_parser("runtime", help=argparse.SUPPRESS)
    runtime.add_argument("--port", type=int, required=True)
    worker = commands.add_parser("runtime-worker", help=argparse.SUPPRESS)
    worker.add_argument("--port", type=int, required=True)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    config = LocalAwsConfig.from_environment()
    try:
        return _COMMANDS[args.command](args, config)
    except LocalAwsError as error:
        print(f"{PROGRAM}: error: {error}", file=sys.stderr)
        return 1


def _up(args: argparse.Namespace, config: LocalAwsConfig) -> int:
    already = {name for name, pid in read_pids(config).items() if alive(pid)}
    if "control-plane" not in already:
        _check_moto()
    pids = start(config, config.client_environment())
    state = "already up, reused" if already >= set(pids) else "up"
    print(
        f"local AWS {state}: control plane {config.control_url} (pid {pids['control-plane']}), "
        f"runtime {config.runtime_url} (pid {pids['runtime']}); state in {config.state_dir}/"
    )
    print(f'point tools at it with: eval "$({PROGRAM} env)"')
    return 0


def _check_moto() -> None:
    """Refuse, in one line, to start a control plane over a moto the patch registry does not fit."""
    try:
        from local_aws import patches
    except (ImportError, AttributeError) as error:  # a name the local AWS imports from moto is gone
        raise LocalAwsError(f"local AWS refuses to start: moto does not fit: {error}") from error
    try:
        patches.check()
    except patches.PatchError as error:
        raise LocalAwsError(str(error)) from error


def _down(args: argparse.Namespace, config: LocalAwsConfig) -> int:
    stopped = stop(config)
    print(f"stopped: {', '.join(stopped)}" if stopped else "nothing was running")
    return 0


def _status(args: argparse.Namespace, config: LocalAwsConfig) -> int:
    pids = read_pids(config)
    healthy = True
    for server in servers(config):
        pid = pids.get(server.name)
        running = pid is not None and alive(pid)
        answering = running and answers(server.port, server.health_path)
        healthy &= answering
        state = "answering" if answering else "running, not answering" if running else "stopped"
        print(f"{server.name:14s} {HOST}:{server.port}  pid {pid or '-'}  {state}")
    return 0 if healthy else 3


def _env(args: argparse.Namespace, config: LocalAwsConfig) -> int:
    for name, value in config.client_environment().items():
        print(f"export {name}={shlex.quote(value)}")
    return 0


def _run(args: argparse.Namespace, config: LocalAwsConfig) -> int:
    argv = args.argv[1:] if args.argv[:1] == ["--"] else args.argv
    if not argv:
        raise LocalAwsError("run needs a command, e.g. run -- npx cdk deploy")
    environment = {**os.environ, **config.client_environment()}
    if args.as_role:
        from local_aws.run_as import role_credentials

        environment.update(role_credentials(args.as_role, config))
    else:
        environment.pop("AWS_SESSION_TOKEN", None)
    try:
        os.execvpe(argv[0], argv, environment)
    except OSError as error:
        raise LocalAwsError(f"cannot run {argv[0]}: {error.strerror}") from error
    return 0  # not reached: exec replaced this process


def _hint(args: argparse.Namespace, config: LocalAwsConfig) -> int:
    try:
        (outputs,) = json.loads(args.outputs_file.read_text()).values()
    except (OSError, ValueError) as error:
        raise LocalAwsError(f"{args.outputs_file}: no deploy outputs ({error}); deploy first") from error
    row_file, expected = _example_row(args.outputs_file.parent)
    print(HINT.format(endpoint=outputs[Output.ENDPOINT_NAME], runtime=config.runtime_url, row=row_file, **expected))
    return 0


def _example_row(build_dir: Path) -> tuple[Path, dict[str, str]]:
    """Write the first reference row as CSV beside the build; return its path and what the model answers."""
    from model_build.manifest import REFERENCE_FILE_NAME
    from model_build.reference import ReferenceSet

    try:
        reference = ReferenceSet.from_npz_bytes((build_dir / REFERENCE_FILE_NAME).read_bytes())
    except (OSError, ValueError, KeyError) as error:
        raise LocalAwsError(f"{build_dir / REFERENCE_FILE_NAME}: no reference rows ({error}); build first") from error
    row_file = build_dir / EXAMPLE_ROW_FILE
    row_file.write_text(",".join(f"{value:.9g}" for value in reference.rows[0].tolist()) + "\n")
    expected = {"cluster": f"{reference.closest_cluster[0]:g}", "distance": f"{reference.distance_to_cluster[0]:.6g}"}
    return row_file, expected


def _utc_time(text: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO 8601 time like 2026-12-01T17:00:00Z") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _fire_schedule(args: argparse.Namespace, config: LocalAwsConfig) -> int:
    """Fire a schedule at once (tests, and people who will not wait an hour); one line either way."""
    from local_aws.scheduler.fire import FireError, fire

    try:
        firing = fire(config.control_url, args.name, args.group, args.at)
    except FireError as error:
        raise LocalAwsError(f"fire-schedule {args.name}: {error}") from error
    answer = json.dumps(firing.response)
    print(f"fired {firing.schedule} (execution {firing.execution_id}): {firing.operation} -> {answer}")
    return 0


def _serve(args: argparse.Namespace, config: LocalAwsConfig) -> int:
    from local_aws.kmeans import KMeansPredictor
    from local_aws.runtime.app import ContainerApi
    from model_build import ndarray
    from model_build.errors import BuildError

    model_file = args.model_dir / "model_algo-1"
    try:
        predictor = KMeansPredictor.from_model_file(ndarray.load(model_file), str(model_file))
    except BuildError as error:
        raise LocalAwsError(str(error)) from error
    _serve_forever(ContainerApi(predictor), args.port)
    return 0


def _runtime(args: argparse.Namespace, config: LocalAwsConfig) -> int:
    """The supervisor: the server runs in a child, replaced if it crashes."""
    from local_aws.supervisor import supervise

    return supervise([sys.executable, "-m", "local_aws", "runtime-worker", "--port", str(args.port)])


def _runtime_worker(args: argparse.Namespace, config: LocalAwsConfig) -> int:
    import boto3

    from local_aws.runtime.app import RuntimeApi, RuntimeExtras, predict_variant
    from local_aws.runtime.asynchronous import SPOOL_FOLDER, AsyncInvocations
    from local_aws.runtime.authorizer import ControlPlaneAuthorizer
    from local_aws.runtime.capture import DataCapture
    from local_aws.runtime.execution_role import ExecutionRoleSessions
    from local_aws.runtime.network import NetworkEmulation
    from local_aws.runtime.resolver import EndpointResolver
    from local_aws.runtime.shadow import ShadowMirror

    session = boto3.session.Session()
    resolver = EndpointResolver(session.client("sagemaker"), session.client("s3"))
    authorizer = ControlPlaneAuthorizer(config.control_url)
    capture = DataCapture(session.client("s3"))
    spool = config.state_dir / SPOOL_FOLDER
    sagemaker = session.client("sagemaker")

    def instance_count(endpoint: str, variant: str) -> int:
        variants = sagemaker.describe_endpoint(EndpointName=endpoint).get("ProductionVariants", [])
        return next((int(v.get("CurrentInstanceCount", 1)) for v in variants if v["VariantName"] == variant), 1)

    asynchronous = AsyncInvocations(
        session.client("s3"),
        session.client("sns"),
        predict_variant,
        spool=spool,
        resolve=resolver.resolve,
        instance_count=instance_count,
        cloudwatch=session.client("cloudwatch"),
        as_role=ExecutionRoleSessions(session.client("sts"), config.control_url).clients,
    )
    shadow = ShadowMirror(predict_variant, capture)
    extras = RuntimeExtras(
        network=NetworkEmulation.from_environment(),
        capture=capture,
        shadow=shadow,
        asynchronous=asynchronous,
    )
    _flush_on_sigterm(shadow, capture)
    _serve_forever(_with_ping(RuntimeApi(resolver, authorizer=authorizer, extras=extras)), args.port)
    return 0


def _flush_on_sigterm(shadow: ShadowMirror, capture: DataCapture) -> None:
    """`local_aws down` (SIGTERM): answer the queued shadow copies, write every buffered capture record, then exit."""
    import signal

    stopping = False

    def stop(signum: int, frame: object) -> None:
        nonlocal stopping
        if stopping:  # the supervisor passes the same SIGTERM on: one flush is enough
            return
        stopping = True
        shadow.drain()
        capture.close()
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)


def _with_ping(app: object) -> object:
    from werkzeug.middleware.dispatcher import DispatcherMiddleware
    from werkzeug.wrappers import Response

    return DispatcherMiddleware(app, {"/ping": Response("", status=200)})  # type: ignore[arg-type]


def _serve_forever(app: object, port: int) -> None:
    import waitress

    waitress.serve(app, host=HOST, port=port, threads=RUNTIME_THREADS, ident="kmeans-byom-runtime", _quiet=True)


EXAMPLE_ROW_FILE = "example-row.csv"
HINT = """
The endpoint {endpoint} is deployed on the local AWS and verified.
Invoke it by hand with a reference row ({row}); expect closest_cluster {cluster}, distance ~{distance}:
  eval "$(.venv/bin/python -m local_aws env)"
  .venv/bin/python -c 'import boto3; print(boto3.client("sagemaker-runtime").invoke_endpoint(EndpointName="{endpoint}",
      ContentType="text/csv", Body=open("{row}", "rb").read())["Body"].read().decode())'
  aws sagemaker-runtime invoke-endpoint --endpoint-url {runtime} --endpoint-name {endpoint} --content-type text/csv \\
      --body fileb://{row} /dev/stdout        # AWS CLI v1 or v2 (fileb:// sends the bytes as they are)
Verify again:   make verify-local
Tear down:      make demo-down   (cdk destroy, then stop the local AWS)
"""

_COMMANDS = {
    "up": _up,
    "down": _down,
    "status": _status,
    "env": _env,
    "serve": _serve,
    "run": _run,
    "hint": _hint,
    "fire-schedule": _fire_schedule,
    "runtime": _runtime,
    "runtime-worker": _runtime_worker,
}
