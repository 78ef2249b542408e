"""Verifying a registry deploy needs no build: the package's reference set comes from the registry and S3, checked
against the sha256 the package records (a mismatch stops the run: exit 3, one line)."""

from __future__ import annotations

import hashlib
import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from aws_facts.kmeans_image import image_uri
from model_build.manifest import REFERENCE_FILE_NAME
from registry import metadata as meta
from tests.conftest import RunningLocalAws
from tests.registry.packages import new_group, put
from verification.checks import model_data_url
from verification.cli import main
from verification.errors import ExitCode, VerificationError
from verification.packaged import load_package


def register(local_aws: RunningLocalAws, build: Path, *, recorded_sha: str | None = None) -> str:
    """A package of `build` as `model_build register` makes one (its reference set in S3, its sha256 recorded)."""
    sagemaker, s3 = local_aws.client("sagemaker"), local_aws.client("s3")
    manifest = json.loads((build / "manifest.json").read_text())
    reference = (build / REFERENCE_FILE_NAME).read_bytes()
    key = uuid.uuid4().hex
    properties = meta.registration_properties(
        artifact_sha256=manifest["artifact_sha256"], clusters=manifest["clusters"], features=manifest["feature_dim"],
        manifest_uri=put(s3, f"{key}/manifest.json", b"{}"),
        reference_uri=put(s3, f"{key}/{REFERENCE_FILE_NAME}", reference),
        reference_sha256=recorded_sha or hashlib.sha256(reference).hexdigest(), aligned_to=None, comparison=None,
    )  # fmt: skip
    arn: str = sagemaker.create_model_package(
        ModelPackageGroupName=new_group(sagemaker),
        ModelApprovalStatus="Approved",
        InferenceSpecification={
            "Containers": [{"Image": image_uri("us-east-1"), "ModelDataUrl": put(s3, f"{key}/model.tar.gz", b"a")}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["application/json"],
        },
        CustomerMetadataProperties=properties,
    )["ModelPackageArn"]
    return arn


def clients(local_aws: RunningLocalAws) -> dict[str, Any]:
    return {"sagemaker": local_aws.client("sagemaker"), "s3": local_aws.client("s3")}


def test_the_packages_reference_rows_and_sha256_are_what_is_expected(
    local_aws: RunningLocalAws, artifact_dir: Path
) -> None:
    arn = register(local_aws, artifact_dir)

    expected = load_package(clients(local_aws), arn)

    manifest = json.loads((artifact_dir / "manifest.json").read_text())
    assert expected.build.artifact_sha256 == manifest["artifact_sha256"]
    assert expected.reference.rows.shape == (100, manifest["feature_dim"])


def test_a_reference_set_whose_sha256_differs_stops_the_run(local_aws: RunningLocalAws, artifact_dir: Path) -> None:
    arn = register(local_aws, artifact_dir, recorded_sha="0" * 64)

    with pytest.raises(
        VerificationError, match=r"reference set s3://.*: has sha256 .*, the package records 000000"
    ) as raised:
        load_package(clients(local_aws), arn)

    assert raised.value.code == ExitCode.NOT_READY


@pytest.mark.parametrize("flag", ["--model-package", "--candidate"])
def test_the_cli_exits_3_in_one_line_on_a_tampered_reference_set(
    flag: str, local_aws: RunningLocalAws, artifact_dir: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    arn = register(local_aws, artifact_dir, recorded_sha="0" * 64)
    for name, value in local_aws.environment.items():
        monkeypatch.setenv(name, value)

    code = main(["--endpoint", "no-such-endpoint", flag, arn])

    assert code == ExitCode.NOT_READY
    stopped = [line for line in capsys.readouterr().out.splitlines() if "sha256" in line]
    assert len(stopped) == 1
    assert "the package records 000000" in stopped[0]


class PackageOnly:
    """DescribeModelPackage as AWS answers it: the package's own container."""

    def describe_model_package(self, ModelPackageName: str) -> dict[str, Any]:  # noqa: N803 (botocore's name)
        containers = [{"Image": image_uri("us-east-1"), "ModelDataUrl": f"s3://b/{ModelPackageName.rsplit('/', 1)[1]}"}]
        return {"InferenceSpecification": {"Containers": containers}}


def test_a_model_that_names_only_its_package_serves_the_packages_artifact() -> None:
    # AWS does not document that DescribeModel repeats the package's container: the worse case is that it does not.
    container = {"ModelPackageName": "arn:aws:sagemaker:us-east-1:123456789012:model-package/g/7"}
    assert model_data_url(PackageOnly(), container) == "s3://b/7"
    assert model_data_url(PackageOnly(), {"ModelDataUrl": "s3://own/a"}) == "s3://own/a"
