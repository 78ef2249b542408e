"""A warm synthesizer for the end-to-end tests: the CDK CLI's app command, served by one long-lived process.

Why: every `cdk deploy`, `diff` and `destroy` synthesizes the app, and a cold synth spends most of its time
starting the jsii kernel and loading aws-cdk-lib into it (8 s on two cores); the same synth in a warm kernel
takes under a second. The end-to-end tests run the CDK CLI about a hundred times.

What stays real: the CDK CLI does everything it does for a user (reads cdk.json, builds the context, runs the
app command, reads the cloud assembly, publishes assets, deploys, diffs, destroys), and the app is synthesized by
`app.synthesize` — the very function `app.py` runs — on an `App` given the outdir and context the CLI passed.
Only the process that hosts the synth differs. `tests/stacks/test_cdk_cli.py` keeps the plain `app.py` command,
so the CLI's contract with app.py itself stays tested.

    python -m tests.warm_synth serve SOCKET   # the server: one per pytest worker (see `warm_synth_app`)
    python -m tests.warm_synth app            # the client: what `cdk --app` runs; reads the CLI's variables
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
import traceback
from pathlib import Path
from typing import Any

SOCKET_VARIABLE = "KMEANS_BYOM_WARM_SYNTH_SOCKET"
OUTDIR_VARIABLE = "CDK_OUTDIR"  # what the CDK CLI sets for its app command (cx-api's OUTDIR_ENV)
CONTEXT_VARIABLE = "CDK_CONTEXT_JSON"  # cx-api's CONTEXT_ENV
CONTEXT_FILE_VARIABLE = "CONTEXT_OVERFLOW_LOCATION_ENV"  # a large context goes to this file instead
MAX_REQUESTS = 1_000  # the server's loop is bounded in count ...
IDLE_TIMEOUT_S = 1_800.0  # ... and in time: it exits after half an hour without a request
REPLY_TIMEOUT_S = 600.0


def client_command() -> str:
    """The `--app` value that makes the CDK CLI synthesize through the warm server."""
    return f"{sys.executable} -m tests.warm_synth app"


def _cli_context() -> dict[str, Any]:
    overflow = os.environ.get(CONTEXT_FILE_VARIABLE)
    if overflow:
        loaded: dict[str, Any] = json.loads(Path(overflow).read_text())
        return loaded
    parsed: dict[str, Any] = json.loads(os.environ.get(CONTEXT_VARIABLE, "{}"))
    return parsed


def _exchange(path: str, request: dict[str, Any]) -> dict[str, Any]:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
        connection.settimeout(REPLY_TIMEOUT_S)
        connection.connect(path)
        connection.sendall(json.dumps(request).encode() + b"\n")
        reply: dict[str, Any] = json.loads(connection.makefile("rb").readline())
        return reply


def run_client() -> int:
    """Hand the CLI's outdir and context to the server; relay its output and exit code."""
    request = {"outdir": os.environ[OUTDIR_VARIABLE], "context": _cli_context()}
    reply = _exchange(os.environ[SOCKET_VARIABLE], request)
    sys.stderr.write(reply["stderr"])
    return int(reply["exit_code"])


def _synthesize(request: dict[str, Any]) -> dict[str, Any]:
    import aws_cdk as cdk

    import app

    try:
        app.synthesize(cdk.App(outdir=request["outdir"], context=request["context"]))
    except SystemExit as refused:  # app.synthesize's one-line refusal of a bad setting
        return {"exit_code": 1, "stderr": f"{refused.code}\n"}
    except Exception:  # relayed to the CLI as app.py's own traceback would be
        return {"exit_code": 1, "stderr": traceback.format_exc()}
    return {"exit_code": 0, "stderr": ""}


def serve(path: str) -> None:
    """Answer synth requests one at a time until MAX_REQUESTS or IDLE_TIMEOUT_S without one."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener:
        listener.bind(path)
        listener.listen()
        listener.settimeout(IDLE_TIMEOUT_S)
        print("ready", flush=True)
        for _ in range(MAX_REQUESTS):
            try:
                connection, _address = listener.accept()
            except TimeoutError:
                return
            with connection:
                request = json.loads(connection.makefile("rb").readline())
                started = time.monotonic()
                reply = _synthesize(request)
                reply["seconds"] = round(time.monotonic() - started, 3)
                connection.sendall(json.dumps(reply).encode() + b"\n")


def main(argv: list[str]) -> int:
    if argv[:1] == ["serve"] and len(argv) == 2:
        serve(argv[1])
        return 0
    if argv == ["app"]:
        return run_client()
    sys.stderr.write("usage: python -m tests.warm_synth serve SOCKET | app\n")
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
