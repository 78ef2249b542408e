"""Where the local AWS listens and keeps its state; every value can be overridden by environment."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

CONTROL_PORT_VARIABLE = "LOCAL_AWS_PORT"
RUNTIME_PORT_VARIABLE = "LOCAL_AWS_RUNTIME_PORT"
STATE_DIR_VARIABLE = "LOCAL_AWS_STATE_DIR"
DEFAULT_CONTROL_PORT = 5040
DEFAULT_RUNTIME_PORT = 5041
DEFAULT_STATE_DIR = Path(".local_aws")
HOST = "localhost"  # not 127.0.0.1: the CDK CLI then cannot resolve the bootstrap bucket
ACCOUNT_ID = "123456789012"  # moto's default account
REGION = "us-east-1"
DUMMY_KEY_ID = "testing"
DUMMY_SECRET = "testing"
RUN_AS_SESSION_NAME = "local-aws-run-as"  # the sessions whose calls the local AWS authorizes
SCHEDULER_SESSION_NAME = "local-aws-scheduler"  # a schedule calling its target as its role
JOB_SESSION_NAME = "local-aws-job"  # a processing job's command calling AWS as the job's role
# The session the asynchronous runtime acts in as an endpoint's execution role (SageMaker's own name for it).
EXECUTION_ROLE_SESSION_NAME = "SageMaker"
AUTHORIZED_SESSIONS = frozenset(
    {RUN_AS_SESSION_NAME, SCHEDULER_SESSION_NAME, JOB_SESSION_NAME, EXECUTION_ROLE_SESSION_NAME}
)


@dataclass(frozen=True)
class LocalAwsConfig:
    """Ports and the state folder of one local AWS."""

    control_port: int = DEFAULT_CONTROL_PORT
    runtime_port: int = DEFAULT_RUNTIME_PORT
    state_dir: Path = DEFAULT_STATE_DIR

    @classmethod
    def from_environment(cls) -> LocalAwsConfig:
        return cls(
            control_port=int(os.environ.get(CONTROL_PORT_VARIABLE, DEFAULT_CONTROL_PORT)),
            runtime_port=int(os.environ.get(RUNTIME_PORT_VARIABLE, DEFAULT_RUNTIME_PORT)),
            state_dir=Path(os.environ.get(STATE_DIR_VARIABLE, DEFAULT_STATE_DIR)),
        )

    @property
    def control_url(self) -> str:
        return f"http://{HOST}:{self.control_port}"

    @property
    def runtime_url(self) -> str:
        return f"http://{HOST}:{self.runtime_port}"

    def environment(self) -> dict[str, str]:
        """The variables that make `from_environment` give this config (for the processes a test starts)."""
        return {
            CONTROL_PORT_VARIABLE: str(self.control_port),
            RUNTIME_PORT_VARIABLE: str(self.runtime_port),
            STATE_DIR_VARIABLE: str(self.state_dir),
        }

    def client_environment(self) -> dict[str, str]:
        """What points the CDK CLI, boto3 and the AWS CLI at this local AWS."""
        return {
            "AWS_ENDPOINT_URL": self.control_url,
            "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": self.runtime_url,
            "AWS_ACCESS_KEY_ID": DUMMY_KEY_ID,
            "AWS_SECRET_ACCESS_KEY": DUMMY_SECRET,
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
        }
