"""Shared fixtures: repository paths and a runner for the project's command lines."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from local_aws.config import DUMMY_KEY_ID, DUMMY_SECRET, REGION, LocalAwsConfig
from local_aws.ports import free_ports

REPO_ROOT = Path(__file__).resolve().parent.parent
MXNET_PYTHON = REPO_ROOT / ".venv-mxnet" / "bin" / "python"
MXNET_ORACLE = REPO_ROOT / "scripts" / "mxnet_oracle.py"


def run_module(module: str, args: Sequence[str | Path], timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run `python -m module args` from the repository root, capturing text output."""
    return subprocess.run(
        [sys.executable, "-m", module, *map(str, args)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture(scope="session")
def artifact_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One small model built from the bundled digits, shared by the whole session."""
    from model_build.cli import main

    out = tmp_path_factory.mktemp("artifact")
    assert main(["--max-rows", "400", "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="session")
def challenger_dir(artifact_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A retrain of `artifact_dir` (another seed, ids aligned to it): the A/B challenger."""
    from model_build.cli import main

    out = tmp_path_factory.mktemp("challenger")
    assert main(["--max-rows", "400", "--seed", "1", "--align-to", str(artifact_dir), "--out", str(out)]) == 0
    return out


@dataclass(frozen=True)
class RunningLocalAws:
    """A local AWS started for the test session: its config and the environment pointing at it."""

    config: LocalAwsConfig
    environment: dict[str, str]

    def run(self, *command: str | Path, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            list(map(str, command)),
            cwd=REPO_ROOT,
            env=self.environment,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def client(self, service: str) -> Any:
        import boto3

        return boto3.session.Session(region_name=REGION).client(
            service,
            endpoint_url=self.config.runtime_url if service == "sagemaker-runtime" else self.config.control_url,
            aws_access_key_id=DUMMY_KEY_ID,
            aws_secret_access_key=DUMMY_SECRET,
        )


_warm_synth: dict[str, Any] = {}


def warm_synth_environment() -> dict[str, str]:
    """This worker's warm synthesizer (tests/warm_synth.py), started on first use and stopped at exit."""
    if not _warm_synth:
        import atexit
        import tempfile

        from tests.warm_synth import SOCKET_VARIABLE

        socket_path = str(Path(tempfile.mkdtemp(prefix="warm-synth-")) / "socket")
        server = subprocess.Popen(
            [sys.executable, "-m", "tests.warm_synth", "serve", socket_path],
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"},
        )
        assert server.stdout is not None
        assert server.stdout.readline().strip() == "ready"
        atexit.register(_stop_warm_synth, server)
        _warm_synth.update(server=server, environment={SOCKET_VARIABLE: socket_path})
    environment: dict[str, str] = _warm_synth["environment"]
    return environment


def _stop_warm_synth(server: subprocess.Popen[str]) -> None:
    server.terminate()
    server.wait(timeout=30)
    if server.stdout is not None:
        server.stdout.close()


@contextmanager
def started_local_aws(state_dir: Path, **settings: str) -> Iterator[RunningLocalAws]:
    """`python -m local_aws up` on free ports with its own state folder and `settings`; `down` afterwards."""
    control, runtime = free_ports(2)
    config = LocalAwsConfig(control_port=control, runtime_port=runtime, state_dir=state_dir)
    tools = {"JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20", "CDK_DISABLE_VERSION_CHECK": "1"}
    base = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    synth = warm_synth_environment()
    running = RunningLocalAws(
        config, {**base, **config.environment(), **tools, **synth, **settings, **config.client_environment()}
    )
    started = running.run(sys.executable, "-m", "local_aws", "up", timeout=120)
    assert started.returncode == 0, started.stderr
    try:
        yield running
    finally:
        stopped = running.run(sys.executable, "-m", "local_aws", "down", timeout=60)
        assert stopped.returncode == 0, stopped.stderr


@pytest.fixture(scope="session")
def local_aws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningLocalAws]:
    """The session's local AWS, as `make demo` starts it (no emulated delays)."""
    with started_local_aws(tmp_path_factory.mktemp("local_aws")) as running:
        yield running


@pytest.fixture(scope="session")
def bootstrapped(
    local_aws: RunningLocalAws, artifact_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> RunningLocalAws:
    """The session's local AWS, CDK-bootstrapped once for every end-to-end module of this worker."""
    from tests.warm_synth import client_command

    cdk = ["npx", "--no-install", "cdk", "--app", client_command(), "-c", f"artifact_dir={artifact_dir}"]
    output = tmp_path_factory.mktemp("bootstrap") / "cdk.out"
    result = local_aws.run(*cdk, "--output", output, "bootstrap", "aws://123456789012/us-east-1", "--no-notices")
    assert result.returncode == 0, result.stderr[-4000:]
    return local_aws


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The slow end-to-end tests first: with two workers the quick ones then fill the gaps, not the tail."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
