"""Endpoint -> config -> variants -> model -> artifact, read from the control plane and cached."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from botocore.exceptions import ClientError

from aws_facts.payloads import REAL_TIME_BODY_LIMIT, SERVERLESS_BODY_LIMIT
from local_aws.kmeans import KMeansPredictor
from model_build.errors import BuildError

ENDPOINT_TTL_S = 1.0  # how soon a new deploy is seen; the artifact itself is cached by ETag


class EndpointNotFoundError(LookupError):
    """No endpoint of that name (the runtime API's ValidationError)."""


class ModelNotLoadableError(RuntimeError):
    """The variant's model could not be fetched or is not a k-means artifact."""


@dataclass(frozen=True)
class Variant:
    name: str
    weight: float
    predictor: KMeansPredictor
    body_limit: int
    max_concurrency: int | None = None  # serverless variants only
    execution_role_arn: str | None = None  # its Model's role: what SageMaker acts as for asynchronous requests


@dataclass(frozen=True)
class Endpoint:
    name: str
    variants: tuple[Variant, ...]
    fetched_at: float
    config_name: str = ""
    capture: dict[str, Any] | None = None  # the config's DataCaptureConfig, when capture is on
    shadow: Variant | None = None  # the config's shadow variant: gets a copy of each request, answers no one
    async_config: dict[str, Any] | None = None  # the config's AsyncInferenceConfig: an asynchronous endpoint


class EndpointResolver:
    """Resolves endpoint names through boto3 clients of the control plane (SageMaker and S3)."""

    def __init__(self, sagemaker: Any, s3: Any, ttl_s: float = ENDPOINT_TTL_S) -> None:
        self.sagemaker = sagemaker
        self.s3 = s3
        self.ttl_s = ttl_s
        self._endpoints: dict[str, Endpoint] = {}
        self._artifacts: dict[tuple[str, str, str], KMeansPredictor] = {}
        self._lock = threading.Lock()

    def resolve(self, name: str) -> Endpoint:
        with self._lock:
            cached = self._endpoints.get(name)
            if cached is not None and time.monotonic() - cached.fetched_at < self.ttl_s:
                return cached
            endpoint = self._fetch(name)
            self._endpoints[name] = endpoint
            return endpoint

    def _fetch(self, name: str) -> Endpoint:
        try:
            described = self.sagemaker.describe_endpoint(EndpointName=name)
        except ClientError as error:
            raise EndpointNotFoundError(f"Endpoint {name} of account 123456789012 not found.") from error
        config = self.sagemaker.describe_endpoint_config(EndpointConfigName=described["EndpointConfigName"])
        weights = {v["VariantName"]: v.get("CurrentWeight") for v in described.get("ProductionVariants", [])}
        variants = tuple(self._variant(v, weights.get(v["VariantName"])) for v in config["ProductionVariants"])
        capture = config.get("DataCaptureConfig") or None
        shadows = [self._variant(v, None) for v in config.get("ShadowProductionVariants") or []]
        shadow = shadows[0] if shadows else None
        asynchronous = config.get("AsyncInferenceConfig") or None
        return Endpoint(
            name, variants, time.monotonic(), described["EndpointConfigName"], capture, shadow, asynchronous
        )

    def _variant(self, declared: dict[str, Any], current_weight: float | None) -> Variant:
        model = self.sagemaker.describe_model(ModelName=declared["ModelName"])
        weight = current_weight if current_weight is not None else declared.get("InitialVariantWeight", 1.0)
        serverless = declared.get("ServerlessConfig")
        limit = SERVERLESS_BODY_LIMIT if serverless else REAL_TIME_BODY_LIMIT
        predictor = self._predictor(self._model_data_url(model["PrimaryContainer"]))
        concurrency = int(serverless["MaxConcurrency"]) if serverless else None
        role = model.get("ExecutionRoleArn")
        return Variant(declared["VariantName"], float(weight), predictor, limit, concurrency, role)

    def _model_data_url(self, container: dict[str, Any]) -> str:
        """The container's artifact; a container naming a model package runs the package's (as SageMaker does)."""
        if "ModelDataUrl" in container or "ModelPackageName" not in container:
            return str(container["ModelDataUrl"])
        package = self.sagemaker.describe_model_package(ModelPackageName=container["ModelPackageName"])
        return str(package["InferenceSpecification"]["Containers"][0]["ModelDataUrl"])

    def _predictor(self, model_data_url: str) -> KMeansPredictor:
        location = urlparse(model_data_url)
        bucket, key = location.netloc, location.path.lstrip("/")
        try:
            etag = self.s3.head_object(Bucket=bucket, Key=key)["ETag"]
            cached = self._artifacts.get((bucket, key, etag))
            if cached is not None:
                return cached
            body = self.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
            predictor = KMeansPredictor.from_artifact(body, model_data_url)
        except (ClientError, BuildError) as error:
            raise ModelNotLoadableError(f"could not load model data {model_data_url}: {error}") from error
        self._artifacts[(bucket, key, etag)] = predictor
        return predictor
