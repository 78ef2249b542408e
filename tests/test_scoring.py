"""Batch scoring end to end on the local AWS: the stack's scoring bucket, `python -m scoring transform`."""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from model_build.alignment import load_model
from model_build.reference import nearest_two
from tests.conftest import RunningLocalAws
from tests.test_end_to_end import STACK, cdk, deploy, inventory

pytestmark = pytest.mark.slow


def test_a_transform_with_an_id_column_returns_id_cluster_distance(
    bootstrapped: RunningLocalAws, artifact_dir: Path, tmp_path: Path
) -> None:
    values = np.random.default_rng(9).random((500, 64), dtype=np.float32) * 16
    data = tmp_path / "customers"
    data.mkdir()
    for part in range(2):
        rows = values[part * 250 : (part + 1) * 250]
        lines = [f"c{part * 250 + i}," + ",".join(repr(float(v)) for v in row) for i, row in enumerate(rows)]
        (data / f"part-{part}.csv").write_text("\n".join(lines) + "\n")
    before = inventory(bootstrapped)

    deploy(bootstrapped, artifact_dir, tmp_path / "outputs.json", "scoring=true")
    scored = bootstrapped.run(
        sys.executable, "-m", "scoring", "transform", "--input", str(data), "--output", str(tmp_path / "scored"),
        "--input-filter", "$[1:]", "--join-input", "--output-filter", "$[0,-2,-1]", "--instances", "2",
        "--max-payload-mb", "1",
    )  # fmt: skip
    verified = bootstrapped.run(
        sys.executable, "-m", "verification", "--stack", STACK, "--reference", str(artifact_dir), "--batch",
        "--content-types", "text/csv", "--json", str(tmp_path / "report.json"),
    )  # fmt: skip
    answer_keys = _answer_keys(bootstrapped, json.loads((tmp_path / "outputs.json").read_text())[STACK])
    emptied = bootstrapped.run(sys.executable, "-m", "teardown", "--stack", STACK, "--force")
    cdk(bootstrapped, artifact_dir, "destroy", STACK, "--force", "--no-notices", "-c", "scoring=true")

    assert scored.returncode == 0, scored.stdout + scored.stderr
    assert answer_keys == {"stack's key": 3}  # two objects of `scoring transform`, one of the verifier's --batch
    assert "500 rows in 2 object(s)" in scored.stdout
    fields_by_row = [
        line.split(",")
        for part in range(2)
        for line in (tmp_path / "scored" / f"part-{part}.csv.out").read_text().splitlines()
    ]
    centroids = load_model(artifact_dir, "test").centroids
    nearest, _ = nearest_two(values, centroids)
    assert [fields[0] for fields in fields_by_row] == [f"c{i}" for i in range(500)]
    assert [int(float(fields[1])) for fields in fields_by_row] == nearest.cluster.tolist()
    np.testing.assert_allclose([float(f[2]) for f in fields_by_row], np.sqrt(nearest.squared_distance), rtol=1e-5)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    checks = {check["name"]: check for check in json.loads((tmp_path / "report.json").read_text())["checks"]}
    assert checks["batch transform"]["passed"] is True
    assert checks["batch transform"]["rows"] == 100
    assert emptied.returncode == 0, emptied.stderr
    assert inventory(bootstrapped) == before


def _answer_keys(local_aws: RunningLocalAws, outputs: dict[str, str]) -> Counter[str]:
    """How many transform answers under output/ each key encrypts: TransformOutput.KmsKeyId is the stack's key."""
    s3, bucket = local_aws.client("s3"), outputs["ScoringBucketName"]
    answers = [item["Key"] for item in s3.list_objects_v2(Bucket=bucket, Prefix="output/").get("Contents", [])]
    keys = [s3.head_object(Bucket=bucket, Key=key).get("SSEKMSKeyId") for key in answers if key.endswith(".out")]
    return Counter("stack's key" if key == outputs["ScoringKeyArn"] else str(key) for key in keys)


def test_an_async_endpoint_deploys_scales_from_zero_and_verifies_through_invoke_endpoint_async(
    bootstrapped: RunningLocalAws, artifact_dir: Path, tmp_path: Path
) -> None:
    context = ["async_inference=true", "autoscaling_min=0", "autoscaling_max=2"]
    before = inventory(bootstrapped)

    deploy(bootstrapped, artifact_dir, tmp_path / "outputs.json", *context)
    verified = bootstrapped.run(
        sys.executable, "-m", "verification", "--stack", STACK, "--reference", str(artifact_dir),
        "--json", str(tmp_path / "report.json"),
    )  # fmt: skip
    targets = bootstrapped.client("application-autoscaling").describe_scalable_targets(ServiceNamespace="sagemaker")
    bootstrapped.run(sys.executable, "-m", "teardown", "--stack", STACK, "--force")
    cdk(
        bootstrapped,
        artifact_dir,
        "destroy",
        STACK,
        "--force",
        "--no-notices",
        *[a for c in context for a in ("-c", c)],
    )

    assert verified.returncode == 0, verified.stdout + verified.stderr
    checks = {check["name"]: check for check in json.loads((tmp_path / "report.json").read_text())["checks"]}
    assert checks["predictions async"]["passed"] is True
    assert not any(name.startswith("predictions AllTraffic") for name in checks)
    assert [t["MinCapacity"] for t in targets["ScalableTargets"]] == [0]
    assert inventory(bootstrapped) == before
