"""An endpoint's life on a local AWS started with delays: Creating, a blue/green bake, an alarm's rollback.

The rollback is the case AWS's documents leave open, modelled as the worse one for the user: SageMaker
rolls back, CloudFormation reports success, and only the verifier's config check catches it (exit 3).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from contract.stack import STACK_BASE_NAME
from local_aws.kmeans import KMeansPredictor
from model_build.cli import main as build_model
from model_build.reference import ReferenceSet
from tests.conftest import RunningLocalAws, started_local_aws
from tests.local_aws.strict_account import StrictAccount, unique
from tests.warm_synth import client_command

pytestmark = pytest.mark.slow
STACK = STACK_BASE_NAME
BAKE_S = 8
CDK_OUT = Path(tempfile.gettempdir()) / f"kmeans-byom-lifecycle-{os.getpid()}" / "cdk.out"
CDK = ["npx", "--no-install", "cdk", "--app", client_command(), "--output", str(CDK_OUT)]
QUIET = ["--no-notices", "--require-approval", "never"]


@pytest.fixture(scope="module")
def delayed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningLocalAws]:
    state = tmp_path_factory.mktemp("delayed")
    with started_local_aws(state, LOCAL_AWS_BAKE_SECONDS=str(BAKE_S), LOCAL_AWS_PROVISION_SECONDS="1") as running:
        yield running


def deploy(local_aws: RunningLocalAws, artifact: Path) -> subprocess.Popen[str]:
    command = [*CDK, "-c", f"artifact_dir={artifact}", "deploy", STACK, *QUIET]
    return subprocess.Popen(
        command, env=local_aws.environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def wait_for_status(local_aws: RunningLocalAws, wanted: str, timeout_s: float = 120) -> dict[str, Any]:
    sagemaker = local_aws.client("sagemaker")
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            described: dict[str, Any] = sagemaker.describe_endpoint(EndpointName=STACK)
        except sagemaker.exceptions.ClientError:
            described = {"EndpointStatus": "absent"}
        if described["EndpointStatus"] == wanted:
            return described
        time.sleep(0.2)
    raise AssertionError(f"endpoint never became {wanted}")


def rollback_alarm(local_aws: RunningLocalAws) -> str:
    resources = local_aws.client("cloudformation").list_stack_resources(StackName=STACK)["StackResourceSummaries"]
    return str(next(r["PhysicalResourceId"] for r in resources if r["ResourceType"] == "AWS::CloudWatch::Alarm"))


def first_answers(local_aws: RunningLocalAws, rows: np.ndarray[Any, Any]) -> list[float]:
    body = "\n".join(",".join(repr(float(v)) for v in row) for row in rows)
    response = local_aws.client("sagemaker-runtime").invoke_endpoint(
        EndpointName=STACK, ContentType="text/csv", Accept="text/csv", Body=body
    )
    return [float(line.split(",")[0]) for line in response["Body"].read().decode().splitlines()]


def test_an_alarm_during_the_bake_rolls_back_while_cloudformation_reports_success(
    delayed: RunningLocalAws, artifact_dir: Path, tmp_path: Path
) -> None:
    other = tmp_path / "other"
    assert build_model(["--max-rows", "400", "--seed", "11", "--clusters", "9", "--out", str(other)]) == 0
    reference = ReferenceSet.from_npz_bytes((artifact_dir / "reference.npz").read_bytes())
    other_answers = KMeansPredictor.from_artifact((other / "model.tar.gz").read_bytes(), "other").predict(
        reference.rows[:50]
    )
    subprocess.run(
        [*CDK, "-c", f"artifact_dir={artifact_dir}", "bootstrap", "aws://123456789012/us-east-1", "--no-notices"],
        env=delayed.environment,
        check=True,
        capture_output=True,
    )
    assert deploy(delayed, artifact_dir).wait(timeout=300) == 0
    before = delayed.client("sagemaker").describe_endpoint(EndpointName=STACK)["EndpointConfigName"]

    update = deploy(delayed, other)
    wait_for_status(delayed, "Updating")
    served_while_updating = first_answers(delayed, reference.rows[:50])
    delayed.client("cloudwatch").set_alarm_state(
        AlarmName=rollback_alarm(delayed), StateValue="ALARM", StateReason="test"
    )
    rolling_back = wait_for_status(delayed, "RollingBack")
    output, _ = update.communicate(timeout=300)
    verified = delayed.run(
        sys.executable, "-m", "verification", "--stack", STACK, "--reference", str(other), "--wait", "60"
    )

    assert served_while_updating == reference.closest_cluster[:50].tolist()  # the old config kept serving
    assert served_while_updating != other_answers.closest_cluster.tolist()
    assert rolling_back["EndpointConfigName"] == before
    assert update.returncode == 0, output[-3000:]  # CloudFormation reported success
    assert verified.returncode == 3, verified.stdout + verified.stderr
    assert "SageMaker rolled the update back; FailureReason: no FailureReason given" in verified.stdout


def test_an_endpoint_is_creating_before_it_is_in_service(delayed: RunningLocalAws, artifact_dir: Path) -> None:
    probe = StrictAccount(delayed, unique("probe"))
    delayed.client("s3").create_bucket(Bucket=probe.bucket)
    delayed.client("s3").put_object(
        Bucket=probe.bucket, Key="good.tar.gz", Body=(artifact_dir / "model.tar.gz").read_bytes()
    )
    sagemaker = delayed.client("sagemaker")

    first = probe.endpoint(probe.config(probe.model()))
    sagemaker.get_waiter("endpoint_in_service").wait(EndpointName=first["EndpointName"], WaiterConfig={"Delay": 1})

    assert first["EndpointStatus"] == "Creating"


def test_a_crashed_runtime_is_replaced(delayed: RunningLocalAws) -> None:
    from local_aws.processes import read_pids

    supervisor = read_pids(delayed.config)["runtime"]
    (worker,) = Path(f"/proc/{supervisor}/task/{supervisor}/children").read_text().split()

    os.kill(int(worker), signal.SIGKILL)
    deadline, answered = time.monotonic() + 60, False
    while time.monotonic() < deadline and not answered:
        time.sleep(0.5)
        answered = delayed.run(sys.executable, "-m", "local_aws", "status").returncode == 0

    assert answered
    assert Path(f"/proc/{supervisor}/task/{supervisor}/children").read_text().split() != [worker]
