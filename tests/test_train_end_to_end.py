"""Training at scale on the local AWS: deploy with training=true, train through the CLI, deploy the build, verify.

The real CDK CLI (warm synth), the local AWS's training jobs (one worker process per instance), the real
verifier. Small: a few thousand rows, 2 instances.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from contract.training import caller_statements
from model_build.manifest import read_build
from tests.conftest import REPO_ROOT, RunningLocalAws
from tests.test_end_to_end import STACK, cdk, deploy, inventory, verify

pytestmark = pytest.mark.slow
TRAINING_LOG_GROUP = "/aws/sagemaker/TrainingJobs"  # created by the jobs, shared by the account: not the stack's


def blobs(count: int, features: int, seed: int) -> npt.NDArray[np.float32]:
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 8, size=(5, features))
    rows: npt.NDArray[np.float32] = (centres[np.arange(count) % 5] + rng.normal(0, 1, (count, features))).astype(
        np.float32
    )
    return rows


def write_csv(path: Path, rows: npt.NDArray[np.float32]) -> Path:
    np.savetxt(path, rows, delimiter=",", fmt="%.9g")
    return path


def train(local_aws: RunningLocalAws, *args: str | Path, role: str | None = None) -> subprocess.CompletedProcess[str]:
    """The CLI, as the test's own principal or (`role`) under `python -m local_aws run --as ROLE`."""
    command = [sys.executable, "-m", "model_build", "--engine", "sagemaker", *map(str, args)]
    if role is not None:
        command = [sys.executable, "-m", "local_aws", "run", "--as", role, "--", *command]
    return local_aws.run(*command, timeout=600)


def delete_roles(local_aws: RunningLocalAws, arns: list[str]) -> None:
    iam = local_aws.client("iam")
    for arn in arns:
        name = arn.rsplit("/", 1)[-1]
        iam.delete_role_policy(RoleName=name, PolicyName="trainer")
        iam.delete_role(RoleName=name)


def caller_role(local_aws: RunningLocalAws, outputs: Path, *, without: str | None = None) -> str:
    """A role holding exactly the README's grants for the caller (contract.training), one statement left out."""
    stack_arn = local_aws.client("cloudformation").describe_stacks(StackName=STACK)["Stacks"][0]["StackId"]
    statements = caller_statements(json.loads(outputs.read_text())[STACK], stack_arn=stack_arn)
    assert [s for s in statements if s["Sid"] == without] or without is None
    kept = [s for s in statements if s["Sid"] != without]
    iam, name = local_aws.client("iam"), f"trainer-{uuid.uuid4().hex[:8]}"
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"},
                                                     "Action": "sts:AssumeRole"}]}  # fmt: skip
    arn: str = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    iam.put_role_policy(RoleName=name, PolicyName="trainer",
                        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": kept}))  # fmt: skip
    return arn


def training_jobs(local_aws: RunningLocalAws) -> dict[str, str]:
    """Every training job of the account by name, with its status."""
    summaries = local_aws.client("sagemaker").list_training_jobs(MaxResults=100)["TrainingJobSummaries"]
    return {job["TrainingJobName"]: job["TrainingJobStatus"] for job in summaries}


def test_a_model_trained_by_a_sagemaker_job_deploys_and_verifies(
    bootstrapped: RunningLocalAws, artifact_dir: Path, tmp_path: Path
) -> None:
    local_aws, outputs = bootstrapped, tmp_path / "outputs.json"
    before = inventory(local_aws)
    data = write_csv(tmp_path / "train.csv", blobs(3000, 8, seed=0))
    test = write_csv(tmp_path / "test.csv", blobs(300, 8, seed=1))
    build = tmp_path / "build"

    deploy(local_aws, artifact_dir, outputs, "training=true")
    interrupted = interrupted_job(local_aws, data, tmp_path / "interrupted")
    jobs_before = training_jobs(local_aws)
    refused = train(local_aws, "--data", data, "--clusters", "5", "--hyperparameter", "feature_dim=9", "--out", build)
    roles = [caller_role(local_aws, outputs, without="UploadTrainingData"), caller_role(local_aws, outputs)]
    no_upload = train(local_aws, "--data", data, "--clusters", "5", "--out", build, role=roles[0])
    trained = train(local_aws, "--data", data, "--test", test, "--clusters", "5", "--instances", "2",
                    "--hyperparameter", "mini_batch_size=500", "--out", build, role=roles[1])  # fmt: skip
    delete_roles(local_aws, roles)
    jobs_after = training_jobs(local_aws)
    if trained.returncode != 0:  # nothing to deploy: clean up, then say why
        local_aws.run(sys.executable, "-m", "teardown", "--stack", STACK, "--force")
        cdk(local_aws, artifact_dir, "destroy", STACK, "--force", "--no-notices")
        pytest.fail(f"training as the caller role failed: {trained.stdout[-2000:]}{trained.stderr[-3000:]}")
    written = job_artifacts(local_aws, set(jobs_after) - set(jobs_before))
    deploy(local_aws, build, outputs, "training=true")
    verified = verify(local_aws, build, "--stack", STACK)
    emptied = local_aws.run(sys.executable, "-m", "teardown", "--stack", STACK, "--force")
    cdk(local_aws, build, "destroy", STACK, "--force", "--no-notices")

    assert interrupted.returncode == 1, interrupted.stderr
    assert f"interrupted: stopped training job {interrupted.job} (StopTrainingJob)" in interrupted.stderr
    assert jobs_before[interrupted.job] == "Stopped"  # Ctrl-C left no job running
    assert not (tmp_path / "interrupted").exists()
    assert refused.returncode == 1
    assert "hyperparameter feature_dim=9: " in refused.stderr
    assert no_upload.returncode == 1  # the caller's grants are what the run needs: without the upload, denied
    assert "AccessDenied" in no_upload.stderr, no_upload.stderr[-2000:]
    assert trained.returncode == 0, trained.stdout[-2000:] + trained.stderr[-3000:]
    assert "test:msd = " in trained.stdout
    (job,) = set(jobs_after) - set(jobs_before)  # the refusals started none; the caller role's run trained
    assert jobs_after[job] == "Completed"
    manifest = read_build(build).manifest
    assert manifest["training"]["job_name"] == job
    assert manifest["training"]["instance_count"] == 2
    assert set(manifest["training"]["metrics"]) >= {"test:msd"}
    assert (build / "model.tar.gz").read_bytes() == written[job]  # byte for byte as the job wrote it
    assert verified.returncode == 0, verified.stdout[-3000:] + verified.stderr[-2000:]
    assert "verification passed (exit 0: passed)" in verified.stdout
    assert emptied.returncode == 0, emptied.stderr
    after = inventory(local_aws)
    for state in (before, after):  # another test of the session may have made the account's shared group first
        state["log groups"] -= {TRAINING_LOG_GROUP}
    assert after == before


@dataclass(frozen=True)
class Interrupted:
    job: str
    returncode: int
    stderr: str


def interrupted_job(local_aws: RunningLocalAws, data: Path, out: Path) -> Interrupted:
    """Start a long job through the CLI, press Ctrl-C (SIGINT) once it trains, and let the CLI stop it."""
    before = training_jobs(local_aws)
    process = subprocess.Popen(
        [sys.executable, "-m", "model_build", "--engine", "sagemaker", "--data", str(data), "--clusters", "5",
         "--hyperparameter", "epochs=5000", "--hyperparameter", "mini_batch_size=50", "--out", str(out)],
        cwd=REPO_ROOT, env=local_aws.environment, stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert process.stderr is not None
    seen = []
    for line in process.stderr:  # until the job runs
        seen.append(line)
        if ": InProgress / Training" in line:
            break
    process.send_signal(signal.SIGINT)
    _, rest = process.communicate(timeout=180)
    (job,) = set(training_jobs(local_aws)) - set(before)
    return Interrupted(job, process.returncode, "".join(seen) + rest)


def job_artifacts(local_aws: RunningLocalAws, jobs: set[str]) -> dict[str, bytes]:
    """Each job's model.tar.gz as it lies in S3 (read before teardown empties the bucket)."""
    sagemaker, s3 = local_aws.client("sagemaker"), local_aws.client("s3")
    found = {}
    for job in jobs:
        uri = sagemaker.describe_training_job(TrainingJobName=job)["ModelArtifacts"]["S3ModelArtifacts"]
        bucket, _, key = uri.removeprefix("s3://").partition("/")
        found[job] = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    return found
