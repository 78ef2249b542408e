"""The SageMaker Python SDK's own KMeans estimator (record_set + fit) trains on the local AWS, unchanged."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

from aws_facts.kmeans_image import KMEANS_ACCOUNTS
from local_aws.training.job import kmeans_image
from model_build.alignment import load_model
from tests.conftest import REPO_ROOT, RunningLocalAws
from tests.local_aws.strict_account import unique
from tests.local_aws.test_training_jobs import CENTRES, CLUSTERS, FEATURES, Training, blobs

SDK_PYTHON = REPO_ROOT / ".venv-sagemaker" / "bin" / "python"
SDK_DRIVER = REPO_ROOT / "scripts" / "sagemaker_sdk_kmeans.py"
SDK_IMAGES = "lib/python3.11/site-packages/sagemaker/image_uri_config/kmeans.json"


def test_the_sdks_kmeans_image_table_is_the_projects() -> None:
    assert SDK_PYTHON.exists(), "run `make setup`: the SageMaker SDK venv is missing"
    table = json.loads((REPO_ROOT / ".venv-sagemaker" / SDK_IMAGES).read_text())["versions"]["1"]["registries"]

    assert table
    assert table == KMEANS_ACCOUNTS


@pytest.mark.slow
def test_the_sdks_kmeans_estimator_fits_on_the_local_aws(local_aws: RunningLocalAws, tmp_path: Path) -> None:
    assert SDK_PYTHON.exists(), "run `make setup`: the SageMaker SDK venv is missing"
    training = Training(local_aws, unique("sdk"))
    local_aws.client("s3").create_bucket(Bucket=training.bucket)
    role = training.role(
        extra=[
            {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": [f"arn:aws:s3:::{training.bucket}/sdk-data/*"]},
            {
                "Effect": "Allow",
                "Action": ["s3:PutObject"],
                "Resource": [f"arn:aws:s3:::{training.bucket}/sdk-models/*"],
            },
        ]
    )
    np.save(tmp_path / "rows.npy", blobs(2000, seed=5))
    environment = {**local_aws.environment, "AWS_ENDPOINT_URL": local_aws.config.control_url}
    environment.pop("PYTHONPATH", None)

    subprocess.run(
        [str(SDK_PYTHON), str(SDK_DRIVER), str(tmp_path / "rows.npy"), training.bucket, role, "2", str(CLUSTERS),
         str(tmp_path / "out.json")],
        env={**os.environ, **environment},
        check=True,
        timeout=300,
    )  # fmt: skip

    result = json.loads((tmp_path / "out.json").read_text())
    assert result["image"] == kmeans_image()
    key = result["model_data"].split(f"s3://{training.bucket}/", 1)[1]
    (tmp_path / "model.tar.gz").write_bytes(
        training.client("s3").get_object(Bucket=training.bucket, Key=key)["Body"].read()
    )
    centroids = load_model(tmp_path / "model.tar.gz", "sdk").centroids
    assert centroids.shape == (CLUSTERS, FEATURES)
    assert set(result["metrics"]) == {"test:msd", "test:ssd"}
    nearest = np.linalg.norm(CENTRES[:, None, :] - centroids[None, :, :], axis=2).min(axis=1)
    assert nearest.max() < 0.5
