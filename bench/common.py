"""Helpers shared by the benchmarks: timed child processes with their peak memory."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from local_aws.ports import free_ports

REPO_ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = REPO_ROOT / ".bench"
VENV_PYTHON = REPO_ROOT / ".venv" / "bin" / "python"
MXNET_PYTHON = REPO_ROOT / ".venv-mxnet" / "bin" / "python"
IMAGE = "382416733822.dkr.ecr.us-east-1.amazonaws.com/kmeans:1"


@dataclass(frozen=True)
class Measured:
    """Wall seconds and peak resident memory (MiB) of one or more child processes."""

    wall_s: float
    peak_mib: float

    def then(self, other: Measured) -> Measured:
        """Steps run one after another: times add, the peak is the larger one."""
        return Measured(self.wall_s + other.wall_s, max(self.peak_mib, other.peak_mib))


def run_measured(command: Sequence[str | Path], cwd: Path = REPO_ROOT) -> Measured:
    """Run `command`, failing loudly, and return its wall time and its own peak RSS."""
    started = time.perf_counter()
    process = subprocess.Popen(list(map(str, command)), cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        assert process.stderr is not None
        raise SystemExit(f"{command[0]} failed ({process.returncode}): {process.stderr.read().decode()[-2000:]}")
    return Measured(wall_s=wall, peak_mib=usage.ru_maxrss / 1024)


def median_measured(runs: Sequence[Measured]) -> Measured:
    """Median wall time and median peak of repeated runs."""
    return Measured(statistics.median(r.wall_s for r in runs), statistics.median(r.peak_mib for r in runs))


class LocalEndpoint:
    """A fresh local AWS on free ports with one endpoint serving `centroids`, stopped on exit."""

    ENDPOINT = "bench-endpoint"

    def __init__(self, centroids: npt.NDArray[np.float32], **settings: str) -> None:
        """`settings`: environment for the local AWS, e.g. LOCAL_AWS_RUNTIME_LATENCY_MS."""
        from local_aws.config import LocalAwsConfig

        self.centroids = centroids
        self.settings = settings
        control, runtime = free_ports(2)
        self.config = LocalAwsConfig(control_port=control, runtime_port=runtime, state_dir=BENCH_DIR / "local_aws")

    def __enter__(self) -> LocalEndpoint:
        from local_aws.processes import start

        start(self.config, {**self.config.client_environment(), **self.settings})
        self._create_endpoint()
        return self

    def __exit__(self, *exc: object) -> None:
        from local_aws.processes import stop

        stop(self.config)

    def client(self, service: str, **config: Any) -> Any:
        import boto3
        from botocore.config import Config

        url = self.config.runtime_url if service == "sagemaker-runtime" else self.config.control_url
        environment = self.config.client_environment()
        return boto3.session.Session(region_name=environment["AWS_REGION"]).client(
            service,
            endpoint_url=url,
            aws_access_key_id=environment["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=environment["AWS_SECRET_ACCESS_KEY"],
            config=Config(**config),
        )

    def _create_endpoint(self) -> None:
        from model_build import ndarray
        from model_build.packaging import package_model

        s3, sagemaker = self.client("s3"), self.client("sagemaker")
        s3.create_bucket(Bucket="bench")
        s3.put_object(Bucket="bench", Key="model.tar.gz", Body=package_model(ndarray.encode([self.centroids])))
        sagemaker.create_model(
            ModelName="bench-model",
            ExecutionRoleArn=self._hosting_role(),
            PrimaryContainer={"Image": IMAGE, "ModelDataUrl": "s3://bench/model.tar.gz"},
        )
        sagemaker.create_endpoint_config(
            EndpointConfigName="bench-config",
            ProductionVariants=[
                {
                    "VariantName": "AllTraffic",
                    "ModelName": "bench-model",
                    "InstanceType": "ml.m5.large",
                    "InitialInstanceCount": 1,
                    "InitialVariantWeight": 1.0,
                }
            ],
        )
        sagemaker.create_endpoint(EndpointName=self.ENDPOINT, EndpointConfigName="bench-config")

    def _hosting_role(self) -> str:
        """A role the strict local AWS lets host the model (artifact, image, logs) and write transform outputs."""
        from contract.execution_role import HOSTING, LIST_SCORING_INPUT, WRITE_SCORING_RESULTS

        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": "sagemaker.amazonaws.com"}}
            ],
        }
        needed = (*HOSTING, LIST_SCORING_INPUT, WRITE_SCORING_RESULTS)
        actions = [action for grant in needed for action in grant.actions]
        grants = {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Resource": "*", "Action": sorted(set(actions))}],
        }
        iam = self.client("iam")
        arn: str = iam.create_role(RoleName="bench", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
        iam.put_role_policy(RoleName="bench", PolicyName="hosting", PolicyDocument=json.dumps(grants))
        return arn
