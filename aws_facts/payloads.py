"""How big a request SageMaker takes (API reference: InvokeEndpoint, CreateTransformJob; CONTRACTS.md §5, §13)."""

from __future__ import annotations

MB = 1024 * 1024  # SageMaker's "MB" in payload limits is a mebibyte: InvokeEndpoint's Body is at most 6291456 bytes

REAL_TIME_BODY_LIMIT = 6 * MB  # InvokeEndpoint Body, instance-backed endpoints
SERVERLESS_BODY_LIMIT = 4 * MB  # InvokeEndpoint Body, serverless endpoints (developer guide: Serverless Inference)

TRANSFORM_DEFAULT_PAYLOAD_MB = 6  # CreateTransformJob MaxPayloadInMB when none is given
TRANSFORM_MIN_PAYLOAD_MB = 1  # 0 (no limit) is not supported by the built-in algorithms
TRANSFORM_MAX_PAYLOAD_MB = 100  # and MaxConcurrentTransforms x MaxPayloadInMB must not exceed it either
