"""The control plane: moto's server, made as strict as AWS by the patches in local_aws/patches.py.

What each patch does and why is in that registry (one row per replaced moto attribute, each serving a
rule of local_aws/rules.py); the code of each lives with its service under local_aws/strict/.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from moto.moto_server.threaded_moto_server import MotoRequestHandler  # type: ignore[attr-defined]
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import run_simple
from werkzeug.wrappers import Request, Response

from local_aws import patches
from local_aws.config import CONTROL_PORT_VARIABLE
from local_aws.rules import enforced
from local_aws.scheduler.loop import ScheduleLoop
from local_aws.strict.front_door import FrontDoor
from local_aws.strict.iam.authorization import authorize, sagemaker_request
from local_aws.strict.iam.principals import Verdict

AUTHORIZE_PATH = "/_local_aws/authorize"
ALLOWED = Verdict(True, "")


class AuthorizeRoute:
    """POST /_local_aws/authorize {access_key_id, endpoint_name, action}: the runtime asks who may invoke what.

    The runtime is another process; IAM's state lives here.
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if environ.get("PATH_INFO") != AUTHORIZE_PATH:
            return self.app(environ, start_response)
        asked = json.loads(Request(environ).get_data() or b"{}")
        # InvokeEndpoint or InvokeEndpointAsync: each is its own IAM action.
        action = "InvokeEndpointAsync" if asked.get("action") == "InvokeEndpointAsync" else "InvokeEndpoint"
        request = sagemaker_request(action, {"EndpointName": asked.get("endpoint_name", "")})
        verdict = authorize(asked.get("access_key_id"), request) if enforced("invoke-authorization") else ALLOWED
        body = json.dumps({"allowed": verdict.allowed, "message": verdict.message})
        return Response(body, content_type="application/json")(environ, start_response)


def run(argv: list[str]) -> None:
    """Start moto's server, patched, with the authorize route; argv: -H HOST -p PORT."""
    parser = argparse.ArgumentParser(prog="local_aws.control_plane")
    parser.add_argument("-H", "--host", default="localhost")
    parser.add_argument("-p", "--port", type=int, required=True)
    args = parser.parse_args(argv)
    os.environ.setdefault("MOTO_PORT", str(args.port))
    # What this process (and the transform workers it starts) call back into: its own S3.
    os.environ[CONTROL_PORT_VARIABLE] = str(args.port)
    try:
        patches.install()
    except patches.PatchError as error:
        print(error, file=sys.stderr)
        raise SystemExit(1) from error
    # Schedules fire on their rate, calling this control plane as their roles.
    ScheduleLoop(f"http://{args.host}:{args.port}").start()
    # AWS's front door first: every request is checked against botocore's model before moto sees it.
    app = AuthorizeRoute(FrontDoor(DomainDispatcherApplication(create_backend_app)))
    run_simple(args.host, args.port, app, threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    run(sys.argv[1:])
