"""Records of an approved package as the resolve step writes them into cdk.context.json, for synth tests."""

from __future__ import annotations

from typing import Any

from contract.model_package import context_key

GROUP = "kmeans-digits"
ACCOUNT = "123456789012"
ARTIFACT_SHA = "a" * 64
REFERENCE_SHA = "b" * 64
BUCKET = f"cdk-hnb659fds-assets-{ACCOUNT}-us-east-1"


def recorded(version: int = 2, **changes: Any) -> dict[str, Any]:
    """A record as the resolve step writes it into cdk.context.json."""
    record = {
        "arn": f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:model-package/{GROUP}/{version}",
        "group": GROUP,
        "version": version,
        "approval_status": "Approved",
        "image": "382416733822.dkr.ecr.us-east-1.amazonaws.com/kmeans:1",
        "model_data_url": f"s3://{BUCKET}/kmeans-byom/registry/sha256/{ARTIFACT_SHA}/model.tar.gz",
        "artifact_sha256": ARTIFACT_SHA,
        "clusters": 10,
        "feature_dim": 64,
        "reference_url": f"s3://{BUCKET}/kmeans-byom/registry/sha256/{REFERENCE_SHA}/reference.npz",
        "reference_sha256": REFERENCE_SHA,
    }
    return record | changes


def registry_context(**changes: Any) -> dict[str, Any]:
    return {"model_package_group": GROUP, context_key(GROUP): recorded(**changes)}
