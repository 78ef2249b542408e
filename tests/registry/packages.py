"""Model packages made directly through the API, as `model_build register` would make them (or not)."""

from __future__ import annotations

import contextlib
import hashlib
import uuid
from typing import Any

from aws_facts.kmeans_image import image_uri
from local_aws.config import REGION
from registry import metadata as meta

BUCKET = "registry-tests"


def new_group(sagemaker: Any) -> str:
    name = f"g-{uuid.uuid4().hex[:12]}"
    sagemaker.create_model_package_group(ModelPackageGroupName=name)
    return name


def put(s3: Any, key: str, data: bytes) -> str:
    with contextlib.suppress(s3.exceptions.BucketAlreadyOwnedByYou):
        s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key=key, Body=data)
    return f"s3://{BUCKET}/{key}"


def properties(sha: str, *, features: int = 64, reference: bytes = b"rows") -> dict[str, str]:
    return meta.registration_properties(
        artifact_sha256=sha,
        clusters=10,
        features=features,
        manifest_uri=f"s3://{BUCKET}/m/{sha}",
        reference_uri=f"s3://{BUCKET}/r/{sha}",
        reference_sha256=hashlib.sha256(reference).hexdigest(),
        aligned_to=None,
        comparison=None,
    )


def create(
    sagemaker: Any,
    group: str,
    *,
    status: str | None = "PendingManualApproval",
    image: str | None = None,
    custom: dict[str, str] | None = None,
) -> str:
    sha = hashlib.sha256(uuid.uuid4().bytes).hexdigest()
    approval = {} if status is None else {"ModelApprovalStatus": status}
    arn: str = sagemaker.create_model_package(
        ModelPackageGroupName=group,
        **approval,
        InferenceSpecification={
            "Containers": [{"Image": image or image_uri(REGION), "ModelDataUrl": f"s3://{BUCKET}/a/{sha}"}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["application/json"],
        },
        CustomerMetadataProperties=properties(sha) if custom is None else custom,
    )["ModelPackageArn"]
    return arn
