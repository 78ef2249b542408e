"""The control plane's front door: each request to a modelled service is validated before moto sees it.

Which service a request is for comes from its protocol: X-Amz-Target names a JSON service's target prefix; a
query request's Action is looked up in the service its SigV4 credential scope names. JSON bodies are the params;
query params (member.N, entry.N.key flattening) are read by moto's own parser of botocore's model. Refused
requests get AWS's error shape for the protocol: `ValidationException` (JSON), `ValidationError` (query).
Not validated: S3 (not a model-validated service: it answers its own InvalidArgument/InvalidBucketName
errors), CloudWatch's CBOR protocol (the pinned botocore sends every CloudWatch call as CBOR: a gap),
and unsigned query requests.
"""

from __future__ import annotations

import io
import json
import re
import sys
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any, cast
from xml.sax.saxutils import escape

from moto.core.parse import QueryParser
from moto.core.utils import get_service_model as moto_service_model
from werkzeug.wrappers import Request, Response

from local_aws import api_model
from local_aws.rules import enforced

# The control plane's services that AWS validates against their models (S3 does not, see above).
SERVICES = (
    "sagemaker",
    "cloudformation",
    "iam",
    "sts",
    "application-autoscaling",
    "cloudwatch",
    "logs",
    "sns",
    "kms",
    "events",
)
CREDENTIAL_SCOPE = re.compile(r"Credential=[^/,\s]+/\d{8}/[^/]+/(?P<service>[^/]+)/aws4_request")
QUERY_CODE = "ValidationError"
JSON_CODE = "ValidationException"
# CloudWatch Logs answers model violations with its own code: "InvalidParameterException: 2 validation errors
# detected: Value '' at 'logGroupNamePrefix' ..." (fluent-plugin-cloudwatch-logs#223, lumigo-io/SAR-Logging#14).
JSON_CODES = {"logs": "InvalidParameterException"}


@dataclass(frozen=True)
class Call:
    """One request, as AWS's front door reads it."""

    service: str
    operation: str
    protocol: str  # "json" or "query"
    params: dict[str, Any]


@cache
def _by_target_prefix() -> dict[str, str]:
    return {api_model.service_model(name).metadata.get("targetPrefix", ""): name for name in SERVICES}


@cache
def _by_signing_name() -> dict[str, str]:
    return {api_model.service_model(name).signing_name: name for name in SERVICES}


def read_call(request: Request) -> Call | None:
    """The modelled call `request` makes, or None (another service, or one this door does not read)."""
    target = request.headers.get("X-Amz-Target", "")
    if target:
        prefix, _, operation = target.rpartition(".")
        service = _by_target_prefix().get(prefix)
        if service is None:
            return None
        params = json.loads(request.get_data() or b"{}")
        return Call(service, operation, "json", params) if isinstance(params, dict) else None
    action = request.values.get("Action")
    scope = CREDENTIAL_SCOPE.search(
        request.headers.get("Authorization", "") or request.args.get("X-Amz-Credential", "")
    )
    service = _by_signing_name().get(scope["service"]) if scope else None
    if not action or service is None or api_model.operation_model(service, action) is None:
        return None
    return Call(service, action, "query", _query_params(service, action, request))


def _query_params(service: str, operation: str, request: Request) -> dict[str, Any]:
    """member.N / entry.N.key flattening undone by moto's parser, which reads botocore's model."""
    parser = QueryParser(moto_service_model(service).operation_model(operation))
    parsed = parser.parse(
        {"method": request.method, "values": request.values, "headers": request.headers, "body": b"",
         "url_path": request.path, "url_params": {}}
    )  # fmt: skip
    return dict(parsed)


def refusal(call: Call) -> Response | None:
    """AWS's answer to `call` if its params break the model, else None."""
    errors = api_model.violations(call.service, call.operation, call.params)
    if not errors:
        return None
    text = api_model.message(errors)
    if call.protocol == "query":
        return query_error(call.service, text)
    return json_error(call.service, text)


def json_error(service: str, text: str) -> Response:
    model = api_model.service_model(service)
    code = JSON_CODES.get(service, JSON_CODE)
    headers = {"x-amzn-ErrorType": code, "x-amzn-RequestId": str(uuid.uuid4())}
    if model.metadata.get("awsQueryCompatible") is not None:
        headers["x-amzn-query-error"] = f"{QUERY_CODE};Sender"  # how botocore finds the query-era code
    version = model.metadata.get("jsonVersion", "1.1")
    body = json.dumps({"__type": code, "message": text})
    return Response(body, status=400, content_type=f"application/x-amz-json-{version}", headers=headers)


def query_error(service: str, text: str) -> Response:
    namespace = api_model.service_model(service).metadata.get("xmlNamespace", "")
    body = (
        f'<ErrorResponse xmlns="{namespace}"><Error><Type>Sender</Type><Code>{QUERY_CODE}</Code>'
        f"<Message>{escape(text)}</Message></Error><RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>"
    )
    return Response(body, status=400, content_type="text/xml")


class FrontDoor:
    """WSGI middleware: validate, then hand the request to moto (rule api-model-validation)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.enforced = enforced(api_model.RULE)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if self.enforced and _maybe_modelled(environ):
            request = _buffered(environ)
            try:
                call = read_call(request)
            except (ValueError, KeyError, TypeError, AttributeError):  # a body moto answers as it does today
                call = None
            answer = refusal(call) if call is not None else None
            if answer is not None:
                assert call is not None
                # in the control plane's log: which call of a deploy the model refused
                print(f"api-model-validation refused {call.service} {call.operation}", file=sys.stderr, flush=True)
                return answer(environ, start_response)
        return cast(Iterable[bytes], self.app(environ, start_response))


def _maybe_modelled(environ: dict[str, Any]) -> bool:
    """Only JSON-target and query requests are read: S3's bodies (chunked uploads) are never touched."""
    form = environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded")
    return "HTTP_X_AMZ_TARGET" in environ or form or "Action=" in environ.get("QUERY_STRING", "")


def _buffered(environ: dict[str, Any]) -> Request:
    """The request, its body read once and put back for moto (which reads wsgi.input itself)."""
    body = Request(environ).get_data()
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    request = Request(environ)
    request.get_data()  # cached: parsing the form below reads this copy, not the stream
    environ["wsgi.input"] = io.BytesIO(body)
    return request
