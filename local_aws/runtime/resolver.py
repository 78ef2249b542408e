"""Endpoint -> config -> variants -> model -> artifact, read from the control plane and cached."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from botocore.exceptions import ClientError

from local_aws.runtime.predictor import KMeansPredictor
from model_build.errors import BuildError

REAL_TIME_BODY_LIMIT = 6 * 1024 * 1024
SERVERLESS_BODY_LIMIT = 4 * 1024 * 1024
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


@dataclass(frozen=True)
class Endpoint:
    name: str
    variants: tuple[Variant, ...]
    fetched_at: float


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
        return Endpoint(name=name, variants=variants, fetched_at=time.monotonic())

    def _variant(self, declared: dict[str, Any], current_weight: float | None) -> Variant:
        model = self.sagemaker.describe_model(ModelName=declared["ModelName"])
        weight = current_weight if current_weight is not None else declared.get("InitialVariantWeight", 1.0)
        limit = SERVERLESS_BODY_LIMIT if declared.get("ServerlessConfig") else REAL_TIME_BODY_LIMIT
        predictor = self._predictor(model["PrimaryContainer"]["ModelDataUrl"])
        return Variant(name=declared["VariantName"], weight=float(weight), predictor=predictor, body_limit=limit)

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
