"""`python -m model_build register`, `approve` and `reject` against the local AWS's model registry."""

from __future__ import annotations

import contextlib
import hashlib
import shutil
import uuid
from pathlib import Path

import numpy as np
import pytest

from aws_facts.kmeans_image import image_uri
from model_build.alignment import load_model
from model_build.cli import main
from model_build.comparison import compare_models
from model_build.reference import ReferenceSet
from registry import metadata as meta
from registry.packages import describe
from tests.conftest import RunningLocalAws
from tests.registry.packages import create, new_group
from wire.media_types import REQUEST_TYPES, RESPONSE_TYPES

BUCKET = "registry-cli-tests"


@pytest.fixture
def aws(local_aws: RunningLocalAws, monkeypatch: pytest.MonkeyPatch) -> RunningLocalAws:
    """The local AWS, with this process's AWS variables pointing at it (main() runs in process)."""
    for key, value in local_aws.environment.items():
        if key.startswith("AWS_"):
            monkeypatch.setenv(key, value)
    with contextlib.suppress(local_aws.client("s3").exceptions.BucketAlreadyOwnedByYou):
        local_aws.client("s3").create_bucket(Bucket=BUCKET)
    return local_aws


def register(build: Path, group: str, capsys: pytest.CaptureFixture[str], *more: str) -> tuple[int, str, str]:
    status = main(["register", str(build), "--group", group, "--bucket", BUCKET, *more])
    captured = capsys.readouterr()
    return status, captured.out.strip(), captured.err.strip()


def group_name() -> str:
    return f"cli-{uuid.uuid4().hex[:12]}"


def keys(aws: RunningLocalAws) -> set[str]:
    listed = aws.client("s3").list_objects_v2(Bucket=BUCKET).get("Contents", [])
    return {item["Key"] for item in listed}


def test_a_build_is_registered_pending_with_its_files_under_content_addressed_keys(
    aws: RunningLocalAws, artifact_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    group = group_name()

    status, out, _ = register(artifact_dir, group, capsys, "--description", "digits, seed 0")

    assert status == 0
    arn = out.split()[1]
    described = aws.client("sagemaker").describe_model_package(ModelPackageName=arn)
    spec = described["InferenceSpecification"]
    artifact = (artifact_dir / "model.tar.gz").read_bytes()
    reference = (artifact_dir / "reference.npz").read_bytes()
    sha, reference_sha = hashlib.sha256(artifact).hexdigest(), hashlib.sha256(reference).hexdigest()
    assert out.startswith(f"registered {arn} (PendingManualApproval)")
    assert described["ModelApprovalStatus"] == "PendingManualApproval"
    assert spec["Containers"] == [
        {
            "Image": image_uri("us-east-1"),
            "ModelDataUrl": f"s3://{BUCKET}/kmeans-byom/registry/sha256/{sha}/model.tar.gz",
        }
    ]
    assert (spec["SupportedContentTypes"], spec["SupportedResponseMIMETypes"]) == (
        list(REQUEST_TYPES),
        list(RESPONSE_TYPES),
    )
    assert spec["SupportedRealtimeInferenceInstanceTypes"] == ["ml.m5.large", "ml.m5.xlarge"]  # settings, stages.json
    assert spec["SupportedTransformInstanceTypes"] == ["ml.m5.large", "ml.m5.xlarge"]
    package = describe(aws.client("sagemaker"), arn)
    assert (package.artifact_sha256, package.reference_sha256, package.clusters, package.features) == (
        sha,
        reference_sha,
        10,
        64,
    )
    assert (package.comparison, package.aligned_to) == (None, None)
    assert {
        f"kmeans-byom/registry/sha256/{sha}/model.tar.gz",
        f"kmeans-byom/registry/sha256/{reference_sha}/reference.npz",
    } <= keys(aws)
    assert package.reference_uri == f"s3://{BUCKET}/kmeans-byom/registry/sha256/{reference_sha}/reference.npz"
    manifest = (artifact_dir / "manifest.json").read_bytes()
    assert package.manifest_uri.endswith(f"/sha256/{hashlib.sha256(manifest).hexdigest()}/manifest.json")


def test_registering_the_same_artifact_twice_returns_the_first_package(
    aws: RunningLocalAws, artifact_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    group = group_name()
    _, first, _ = register(artifact_dir, group, capsys)
    arn = first.split()[1]

    status, again, _ = register(artifact_dir, group, capsys)

    assert status == 0
    assert again.startswith(f"already registered: {arn} (version 1, PendingManualApproval)")
    listed = aws.client("sagemaker").list_model_packages(ModelPackageGroupName=group)["ModelPackageSummaryList"]
    assert [summary["ModelPackageArn"] for summary in listed] == [arn]


def test_a_build_registered_after_an_approval_carries_the_comparison_with_it(
    aws: RunningLocalAws, artifact_dir: Path, challenger_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    group = group_name()
    approved = register(artifact_dir, group, capsys)[1].split()[1]
    assert main(["approve", approved, "--description", "the live model"]) == 0
    assert capsys.readouterr().out.startswith(f"approved {approved} (version 1, was PendingManualApproval)")

    status, out, _ = register(challenger_dir, group, capsys)

    assert status == 0
    package = describe(aws.client("sagemaker"), out.split()[1])
    rows = ReferenceSet.from_npz_bytes((challenger_dir / "reference.npz").read_bytes()).rows
    old, new = load_model(artifact_dir, "OLD").centroids, load_model(challenger_dir, "NEW").centroids
    expected = compare_models(old, new, rows)
    assert package.comparison is not None
    assert package.comparison.compared_to == approved
    assert package.comparison.agreement == pytest.approx(expected.agreement, abs=1e-6)
    assert package.comparison.adjusted_rand_index == pytest.approx(expected.adjusted_rand_index, abs=1e-6)
    assert package.comparison.verdict == (meta.SAME_SOLUTION if expected.same_solution else meta.DIFFERENT_SOLUTION)
    assert package.aligned_to == load_model(artifact_dir, "OLD").artifact_sha256  # challenger_dir --align-to it
    assert f"against {approved}: agreement" in out


def test_reject_sets_the_status_and_the_description(
    aws: RunningLocalAws, artifact_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    arn = register(artifact_dir, group_name(), capsys)[1].split()[1]

    assert main(["reject", arn, "--description", "drifted"]) == 0

    described = aws.client("sagemaker").describe_model_package(ModelPackageName=arn)
    assert (described["ModelApprovalStatus"], described["ApprovalDescription"]) == ("Rejected", "drifted")


def test_deciding_what_is_already_decided_says_so_and_changes_nothing(
    aws: RunningLocalAws, artifact_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    arn = register(artifact_dir, group_name(), capsys)[1].split()[1]
    assert main(["approve", arn, "--description", "the live model"]) == 0
    capsys.readouterr()

    assert main(["approve", arn, "--description", "approved again"]) == 0

    assert capsys.readouterr().out == f"already approved: {arn} (version 1); nothing changed\n"
    described = aws.client("sagemaker").describe_model_package(ModelPackageName=arn)
    assert (described["ModelApprovalStatus"], described["ApprovalDescription"]) == ("Approved", "the live model")


def test_a_build_of_another_feature_count_than_the_approved_package_is_refused_before_anything_is_written(
    aws: RunningLocalAws, artifact_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    group = group_name()
    approved = register(artifact_dir, group, capsys)[1].split()[1]
    main(["approve", approved, "--description", "live"])
    centroids = tmp_path / "centroids.npy"
    np.save(centroids, np.random.default_rng(0).normal(size=(4, 3)).astype(np.float32))
    assert main(["--centroids", str(centroids), "--out", str(tmp_path / "other")]) == 0
    capsys.readouterr()
    before = keys(aws)

    status, _, err = register(tmp_path / "other", group, capsys)

    assert status == 1
    assert err == (
        f"python -m model_build: error: model package group {group}: its approved package {approved} takes 64 "
        f"features, {tmp_path / 'other'} 3"
    )
    assert keys(aws) == before
    listed = aws.client("sagemaker").list_model_packages(ModelPackageGroupName=group)["ModelPackageSummaryList"]
    assert len(listed) == 1


def test_a_group_name_with_upper_case_is_refused_before_anything_is_written(
    aws: RunningLocalAws, artifact_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = keys(aws)

    status = main(["register", str(artifact_dir), "--group", "MixedCase", "--bucket", BUCKET])

    assert status == 1
    assert capsys.readouterr().err.strip() == (
        "python -m model_build: error: model package group 'MixedCase': has upper case letters, which AWS lowers "
        "in its packages' ARNs; use a lower-case group name"
    )
    assert keys(aws) == before
    groups = aws.client("sagemaker").list_model_package_groups()["ModelPackageGroupSummaryList"]
    assert not [group for group in groups if group["ModelPackageGroupName"].lower() == "mixedcase"]


def test_a_build_whose_reference_set_is_not_the_manifests_is_refused(
    artifact_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    build = tmp_path / "build"
    shutil.copytree(artifact_dir, build)
    (build / "reference.npz").write_bytes(b"other rows")

    status = main(["register", str(build), "--group", "never-made", "--bucket", BUCKET])

    err = capsys.readouterr().err.strip()
    assert status == 1
    assert err.startswith(f"python -m model_build: error: {build / 'reference.npz'}: sha256 ")
    assert err.endswith("its manifest records; rebuild with make build")


def test_approving_a_missing_package_is_refused(aws: RunningLocalAws, capsys: pytest.CaptureFixture[str]) -> None:
    arn = "arn:aws:sagemaker:us-east-1:123456789012:model-package/no-such-group/1"

    assert main(["approve", arn, "--description", "x"]) == 1

    err = capsys.readouterr().err
    assert err.startswith(f"python -m model_build: error: model package {arn}: does not exist")
    assert err.count("\n") == 1


def test_approving_a_package_of_another_image_is_refused(
    aws: RunningLocalAws, capsys: pytest.CaptureFixture[str]
) -> None:
    sagemaker = aws.client("sagemaker")
    arn = create(sagemaker, new_group(sagemaker), image="123456789012.dkr.ecr.us-east-1.amazonaws.com/xgb:1")

    assert main(["approve", arn, "--description", "x"]) == 1

    assert "not a k-means model" in capsys.readouterr().err
    assert sagemaker.describe_model_package(ModelPackageName=arn)["ModelApprovalStatus"] == "PendingManualApproval"


def test_approving_a_package_whose_reference_set_changed_in_s3_is_refused(
    aws: RunningLocalAws, artifact_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    build = tmp_path / "build"
    assert main(["--max-rows", "300", "--seed", "5", "--out", str(build)]) == 0  # its own reference set and key
    capsys.readouterr()
    arn = register(build, group_name(), capsys)[1].split()[1]
    package = describe(aws.client("sagemaker"), arn)
    aws.client("s3").put_object(Bucket=BUCKET, Key=package.reference_uri.split("/", 3)[3], Body=b"other rows")

    assert main(["approve", arn, "--description", "x"]) == 1

    assert "reference set s3://" in capsys.readouterr().err
    described = aws.client("sagemaker").describe_model_package(ModelPackageName=arn)
    assert described["ModelApprovalStatus"] == "PendingManualApproval"


def test_instance_types_outside_botocores_lists_are_refused(
    capsys: pytest.CaptureFixture[str], artifact_dir: Path
) -> None:
    with pytest.raises(SystemExit) as refused:
        main(["register", str(artifact_dir), "--group", "g", "--instance-types", "ml.m5.lage"])

    assert refused.value.code == 2
    assert "not in botocore's ProductionVariantInstanceType: ['ml.m5.lage']" in capsys.readouterr().err


def test_without_bucket_the_files_go_to_the_cdk_bootstrap_bucket(
    aws: RunningLocalAws, artifact_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bootstrap_bucket = "cdk-hnb659fds-assets-123456789012-us-east-1"
    with contextlib.suppress(aws.client("s3").exceptions.BucketAlreadyOwnedByYou):
        aws.client("s3").create_bucket(Bucket=bootstrap_bucket)

    assert main(["register", str(artifact_dir), "--group", group_name()]) == 0

    arn = capsys.readouterr().out.split()[1]
    assert describe(aws.client("sagemaker"), arn).model_data_url.startswith(f"s3://{bootstrap_bucket}/kmeans-byom/")


def test_a_bucket_that_does_not_exist_is_refused_and_no_group_is_made(
    aws: RunningLocalAws, artifact_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    group = group_name()

    assert main(["register", str(artifact_dir), "--group", group, "--bucket", "no-such-bucket-here"]) == 1

    err = capsys.readouterr().err
    assert err.startswith(f"python -m model_build: error: register {artifact_dir} in {group}: ")
    assert "NoSuchBucket" in err
    assert err.count("\n") == 1
    groups = aws.client("sagemaker").list_model_package_groups()["ModelPackageGroupSummaryList"]
    assert group not in {summary["ModelPackageGroupName"] for summary in groups}
