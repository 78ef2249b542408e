"""Train with the SageMaker Python SDK's own KMeans estimator (record_set + fit), unchanged, against any endpoint.

Run by .venv-sagemaker's Python (the SDK pins what .venv cannot share). The SDK talks to whatever AWS the
standard `AWS_ENDPOINT_URL` variable names (the local AWS in tests); nothing of the SDK is patched. Usage:

    sagemaker_sdk_kmeans.py ROWS.npy BUCKET ROLE_ARN INSTANCES K OUT.json

fits `KMeans(k=K)` on the float32 rows of ROWS.npy (uploaded by `record_set` under s3://BUCKET/sdk-data/), waits
for the job tailing its CloudWatch logs (as `fit` does by default), and writes {"job", "model_data", "image",
"metrics"} to OUT.json.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

OPT_OUT = "SchemaVersion: '1.0'\nSageMaker:\n  PythonSDK:\n    Modules:\n      TelemetryOptOut: true\n"


def main(arguments: list[str]) -> int:
    rows_path, bucket, role, instances, clusters, out = arguments
    config = Path(tempfile.mkdtemp()) / "config.yaml"
    config.write_text(OPT_OUT)  # no telemetry calls to the real AWS
    os.environ["SAGEMAKER_USER_CONFIG_OVERRIDE"] = str(config)
    os.environ["SAGEMAKER_SUPPRESS_V2_WARNING"] = "1"

    import boto3
    import numpy as np
    import sagemaker  # type: ignore[import-not-found, unused-ignore]
    from sagemaker import KMeans, image_uris  # type: ignore[import-not-found, unused-ignore]

    session = sagemaker.Session(boto_session=boto3.Session(region_name=os.environ["AWS_DEFAULT_REGION"]))
    estimator = KMeans(
        role=role,
        instance_count=int(instances),
        instance_type="ml.c5.xlarge",
        k=int(clusters),
        init_method="kmeans++",
        eval_metrics=["msd", "ssd"],
        output_path=f"s3://{bucket}/sdk-models",
        data_location=f"s3://{bucket}/sdk-data/",
        sagemaker_session=session,
    )
    rows = np.load(rows_path).astype("float32")
    estimator.fit(
        [
            estimator.record_set(rows),
            estimator.record_set(rows[: len(rows) // 4], channel="test", distribution="FullyReplicated"),
        ],
        mini_batch_size=500,
        logs=True,
    )
    job = estimator.latest_training_job.describe()
    result = {
        "job": job["TrainingJobName"],
        "model_data": estimator.model_data,
        "image": image_uris.retrieve("kmeans", session.boto_region_name),
        "metrics": {metric["MetricName"]: metric["Value"] for metric in job.get("FinalMetricDataList", [])},
    }
    Path(out).write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
