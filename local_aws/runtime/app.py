"""WSGI apps: the sagemaker-runtime InvokeEndpoint API, and the container's /ping + /invocations."""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from local_aws import api_model
from local_aws.config import ACCOUNT_ID, REGION
from local_aws.kmeans import KMeansPredictor
from local_aws.rules import enforced
from local_aws.runtime.asynchronous import AsyncInvocations, AsyncRequest, accepted_request
from local_aws.runtime.authorizer import ControlPlaneAuthorizer
from local_aws.runtime.capture import INFERENCE_ID_HEADER, DataCapture, Exchange
from local_aws.runtime.formats import parse_rows, render, response_type
from local_aws.runtime.network import NetworkEmulation
from local_aws.runtime.resolver import Endpoint, EndpointResolver, ModelNotLoadableError, Variant
from local_aws.runtime.serverless import Refusal, ServerlessGate
from local_aws.runtime.shadow import MirroredRequest, ShadowMirror
from wire.errors import PayloadError

CUSTOM_ATTRIBUTES = "X-Amzn-SageMaker-Custom-Attributes"
TARGET_VARIANT = "X-Amzn-SageMaker-Target-Variant"
INVOKED_VARIANT = "x-Amzn-Invoked-Production-Variant"
CUSTOM_ATTRIBUTES_LIMIT = 1024
CONTAINER_BAD_PAYLOAD = "unable to evaluate payload provided"
WSGIEnvironment = dict[str, Any]
RUNTIME_SERVICE = "sagemaker-runtime"


def _error(status: int, code: str, message: str, **fields: Any) -> Response:
    """A rest-json error as the real service sends it, so boto3 raises the same exception."""
    body = {"__type": code, "message": message, "Message": message, **fields}
    return Response(
        json.dumps(body), status=status, content_type="application/json", headers={"x-amzn-ErrorType": code}
    )


def _model_error(endpoint: str, original_status: int, original_message: str) -> Response:
    log_stream = f"arn:aws:logs:{REGION}:{ACCOUNT_ID}:log-group:/aws/sagemaker/Endpoints/{endpoint}"
    return _error(
        424,
        "ModelError",
        f'Received client error ({original_status}) from primary with message "{original_message}". '
        f"See {log_stream} for more information.",
        OriginalStatusCode=original_status,
        OriginalMessage=original_message,
        LogStreamArn=log_stream,
    )


def _predict(predictor: KMeansPredictor, request: Request) -> tuple[bytes, str]:
    """Evaluate the body; raises PayloadError or UnsupportedMediaTypeError (both ValueError)."""
    return predict_body(
        predictor, request.headers.get("Content-Type"), request.headers.get("Accept"), request.get_data()
    )


def predict_body(
    predictor: KMeansPredictor, content_type: str | None, accept: str | None, body: bytes
) -> tuple[bytes, str]:
    kind = response_type(accept)
    return render(predictor.predict(parse_rows(content_type, body)), kind), kind


def predict_variant(variant: Variant, content_type: str, accept: str | None, body: bytes) -> tuple[bytes, str]:
    """A shadow variant's answer to a copied request."""
    return predict_body(variant.predictor, content_type, accept, body)


@dataclass(frozen=True)
class RuntimeExtras:
    """What the runtime does around the model: serverless admission, emulated network, data capture."""

    serverless: ServerlessGate = field(default_factory=ServerlessGate)
    network: NetworkEmulation = field(default_factory=NetworkEmulation)
    capture: DataCapture | None = None
    shadow: ShadowMirror | None = None
    asynchronous: AsyncInvocations | None = None


class RuntimeApi:
    """POST /endpoints/{EndpointName}/invocations, answered from the control plane's endpoints."""

    def __init__(
        self,
        resolver: EndpointResolver,
        chooser: random.Random | None = None,
        authorizer: ControlPlaneAuthorizer | None = None,
        extras: RuntimeExtras | None = None,
    ) -> None:
        self.resolver = resolver
        self.authorizer = authorizer
        self.extras = extras or RuntimeExtras()
        self.chooser = chooser or random.Random()
        self.validate_model = enforced(api_model.RULE)
        self.routes = Map(
            [
                Rule("/endpoints/<name>/invocations", endpoint="invoke", methods=["POST"]),
                Rule("/endpoints/<name>/async-invocations", endpoint="invoke_async", methods=["POST"]),
            ]
        )

    def __call__(self, environ: WSGIEnvironment, start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        try:
            route, arguments = self.routes.bind_to_environ(environ).match()
            handler = self.invoke_async if route == "invoke_async" else self.invoke
            response = handler(request, arguments["name"])
        except HTTPException as error:
            response = _error(error.code or 404, "UnknownOperationException", str(error.description))
        return response(environ, start_response)

    def _refusal(self, request: Request, name: str, action: str = "InvokeEndpoint") -> Response | None:
        """What the service refuses before it routes the request: the caller's permission, bad headers."""
        denial = self.authorizer.denial(request.headers, name, action) if self.authorizer else None
        if denial is not None:
            return _error(400, "AccessDeniedException", denial)
        attributes = request.headers.get(CUSTOM_ATTRIBUTES)
        if attributes is not None and (len(attributes) > CUSTOM_ATTRIBUTES_LIMIT or not attributes.isascii()):
            return _error(400, "ValidationError", f"{CUSTOM_ATTRIBUTES} must be at most 1024 ASCII characters")
        return self._model_refusal(request, name, action)

    def _model_refusal(self, request: Request, name: str, action: str) -> Response | None:
        """The API model's constraints on the path and headers (rule api-model-validation)."""
        if not self.validate_model:
            return None
        errors = api_model.rest_violations(
            RUNTIME_SERVICE, action, {"EndpointName": name}, request.headers, request.get_data()
        )
        return _error(400, "ValidationError", api_model.message(errors)) if errors else None

    def invoke(self, request: Request, name: str) -> Response:
        routed = self._routed(request, name)
        if isinstance(routed, Response):
            return routed
        endpoint, variant = routed
        if (request.content_length or 0) > variant.body_limit:
            return _error(400, "ValidationError", f"Request body exceeds the {variant.body_limit} byte limit")
        admitted = self._admit(endpoint, variant)
        if isinstance(admitted, Response):
            return admitted
        try:
            response = self._answer(request, endpoint, variant)
        finally:
            admitted()
        self.extras.network.wait(request.content_length or 0, response.content_length or 0)
        return response

    def _routed(self, request: Request, name: str) -> Response | tuple[Endpoint, Variant]:
        """The endpoint and variant a real-time request goes to, or the refusal."""
        refusal = self._refusal(request, name)
        if refusal is not None:
            return refusal
        try:
            endpoint = self.resolver.resolve(name)
            variant = self._variant(endpoint, request.headers.get(TARGET_VARIANT))
        except LookupError as error:  # EndpointNotFoundError, or an unknown target variant
            return _error(400, "ValidationError", str(error))
        except ModelNotLoadableError as error:
            return _model_error(name, 500, str(error))
        if endpoint.async_config is not None:  # modelled as refused: an async endpoint answers from its queue
            message = f"Endpoint {name} is an asynchronous endpoint: use InvokeEndpointAsync"
            return _error(400, "ValidationError", message)
        return endpoint, variant

    def invoke_async(self, request: Request, name: str) -> Response:
        """InvokeEndpointAsync: queue the request, answer 202 with where the answer (or error) will be."""
        accepted = self._accepted(request, name)
        if isinstance(accepted, Response):
            return accepted
        assert self.extras.asynchronous is not None  # _accepted checked it
        if not self.extras.asynchronous.offer(accepted):
            return _error(503, "ServiceUnavailable", "the asynchronous request queue is full")
        headers = {
            "X-Amzn-SageMaker-OutputLocation": accepted.output_location,
            "X-Amzn-SageMaker-FailureLocation": accepted.failure_location,
        }
        body = json.dumps({"InferenceId": accepted.inference_id})
        return Response(body, status=202, content_type="application/json", headers=headers)

    def _accepted(self, request: Request, name: str) -> Response | AsyncRequest:
        refusal = self._refusal(request, name, "InvokeEndpointAsync")
        if refusal is not None:
            return refusal
        try:
            endpoint = self.resolver.resolve(name)
        except LookupError as error:
            return _error(400, "ValidationError", str(error))
        except ModelNotLoadableError as error:
            return _model_error(name, 500, str(error))
        if endpoint.async_config is None or self.extras.asynchronous is None:
            return _error(400, "ValidationError", f"Endpoint {name} has no AsyncInferenceConfig")
        accepted = accepted_request(endpoint, endpoint.variants[0], request.headers, endpoint.async_config)
        return _error(400, "ValidationError", accepted) if isinstance(accepted, str) else accepted

    def _admit(self, endpoint: Endpoint, variant: Variant) -> Response | Callable[[], None]:
        if variant.max_concurrency is None:
            return lambda: None
        admitted = self.extras.serverless.admit(
            endpoint.name, endpoint.config_name, variant.name, variant.max_concurrency
        )
        if isinstance(admitted, Refusal):
            return _error(admitted.status, admitted.code, admitted.message)
        return admitted

    def _answer(self, request: Request, endpoint: Endpoint, variant: Variant) -> Response:
        """The container's answer; the built-in container sets no CustomAttributes, so none is echoed."""
        try:
            body, kind = _predict(variant.predictor, request)
        except ValueError as error:
            status = 400 if isinstance(error, PayloadError) else 415
            return _model_error(endpoint.name, status, CONTAINER_BAD_PAYLOAD if status == 400 else str(error))
        inference_id = request.headers.get(INFERENCE_ID_HEADER)
        if self.extras.capture is not None:
            exchange = Exchange(
                endpoint.name, variant.name, request.content_type or "", request.get_data(), kind, body, inference_id
            )
            self.extras.capture.offer(endpoint.capture, exchange)
        if endpoint.shadow is not None and self.extras.shadow is not None:
            copy = MirroredRequest(
                endpoint,
                endpoint.shadow,
                request.content_type or "",
                request.headers.get("Accept"),
                request.get_data(),
                inference_id,
            )
            self.extras.shadow.offer(copy)
        return Response(body, status=200, content_type=kind, headers={INVOKED_VARIANT: variant.name})

    def _variant(self, endpoint: Endpoint, target: str | None) -> Variant:
        if target is not None:
            for variant in endpoint.variants:
                if variant.name == target:
                    return variant
            raise LookupError(f"Variant {target} is not part of endpoint {endpoint.name}")
        weights = [variant.weight for variant in endpoint.variants]
        return self.chooser.choices(endpoint.variants, weights=weights if sum(weights) > 0 else None)[0]


class ContainerApi:
    """The container contract SageMaker drives: GET /ping, POST /invocations (port 8080)."""

    def __init__(self, predictor: KMeansPredictor) -> None:
        self.predictor = predictor
        self.routes = Map(
            [
                Rule("/ping", endpoint="ping", methods=["GET"]),
                Rule("/invocations", endpoint="invocations", methods=["POST"]),
            ]
        )

    def __call__(self, environ: WSGIEnvironment, start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        try:
            route, _ = self.routes.bind_to_environ(environ).match()
        except NotFound:
            return Response("not found", status=404)(environ, start_response)
        except HTTPException as error:
            return error(environ, start_response)
        if route == "ping":
            return Response("", status=200)(environ, start_response)
        try:
            body, kind = _predict(self.predictor, request)
        except PayloadError:
            return Response(CONTAINER_BAD_PAYLOAD, status=400)(environ, start_response)
        except ValueError as error:
            return Response(str(error), status=415)(environ, start_response)
        return Response(body, status=200, content_type=kind)(environ, start_response)
