"""`python -m local_aws up|down|status|env|serve`: real processes, real ports, bounded waits."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tarfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from local_aws.config import CONTROL_PORT_VARIABLE, STATE_DIR_VARIABLE, LocalAwsConfig
from local_aws.ports import free_port, free_ports
from local_aws.processes import alive, read_pids
from tests.conftest import REPO_ROOT, RunningLocalAws

pytestmark = pytest.mark.slow


def local_aws_command(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "local_aws", *args],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_status_reports_both_servers_answering(local_aws: RunningLocalAws) -> None:
    result = local_aws_command(local_aws.environment, "status")
    assert result.returncode == 0, result.stdout
    assert "control-plane" in result.stdout
    assert result.stdout.count("answering") == 2


def test_up_again_is_idempotent(local_aws: RunningLocalAws) -> None:
    before = read_pids(local_aws.config)
    assert local_aws_command(local_aws.environment, "up").returncode == 0
    assert read_pids(local_aws.config) == before


def test_env_prints_export_lines_for_clients(local_aws: RunningLocalAws) -> None:
    lines = local_aws_command(local_aws.environment, "env").stdout.splitlines()
    assert f"export AWS_ENDPOINT_URL=http://localhost:{local_aws.config.control_port}" in lines
    assert f"export AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME=http://localhost:{local_aws.config.runtime_port}" in lines
    assert "export AWS_REGION=us-east-1" in lines
    assert any(line.startswith("export AWS_ACCESS_KEY_ID=") for line in lines)


def test_servers_listen_on_loopback_only(local_aws: RunningLocalAws) -> None:
    for port in (local_aws.config.control_port, local_aws.config.runtime_port):
        listening = Path("/proc/net/tcp").read_text()
        assert f"0100007F:{port:04X}" in listening, f"port {port} is not bound to 127.0.0.1"
        assert f"00000000:{port:04X}" not in listening


@pytest.fixture
def isolated_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    control, runtime = free_ports(2)
    config = LocalAwsConfig(control_port=control, runtime_port=runtime, state_dir=tmp_path / "state")
    env = {**os.environ, **config.environment()}
    yield env
    local_aws_command(env, "down")


def test_a_port_in_use_is_a_clear_error(isolated_env: dict[str, str]) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", int(isolated_env[CONTROL_PORT_VARIABLE])))
        squatter.listen()
        result = local_aws_command(isolated_env, "up")
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"python -m local_aws: error: port {isolated_env[CONTROL_PORT_VARIABLE]} (control-plane) is already in use; "
        f"free it or choose another with {CONTROL_PORT_VARIABLE}"
    )


def test_a_second_local_aws_on_the_same_ports_says_one_already_answers(
    isolated_env: dict[str, str], tmp_path: Path
) -> None:
    assert local_aws_command(isolated_env, "up").returncode == 0
    reused = local_aws_command(isolated_env, "up")
    other_checkout = {**isolated_env, STATE_DIR_VARIABLE: str(tmp_path / "other-state")}
    refused = local_aws_command(other_checkout, "up")

    assert reused.returncode == 0
    assert reused.stdout.startswith("local AWS already up, reused:")
    assert refused.returncode == 1
    assert "another local AWS already answers there" in refused.stderr
    assert refused.stderr.count("\n") == 1


def test_down_stops_exactly_the_processes_up_started(isolated_env: dict[str, str], tmp_path: Path) -> None:
    bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        assert local_aws_command(isolated_env, "up").returncode == 0
        pids = read_pids_at(tmp_path / "state")
        assert all(alive(pid) for pid in pids.values())

        result = local_aws_command(isolated_env, "down")

        assert result.stdout.strip() == "stopped: control-plane, runtime"
        assert not any(alive(pid) for pid in pids.values())
        assert bystander.poll() is None
        assert local_aws_command(isolated_env, "status").returncode == 3
    finally:
        bystander.kill()


def read_pids_at(state_dir: Path) -> dict[str, int]:
    return read_pids(LocalAwsConfig(state_dir=state_dir))


def test_serve_speaks_the_container_contract(artifact_dir: Path, tmp_path: Path) -> None:
    with tarfile.open(artifact_dir / "model.tar.gz") as archive:
        archive.extractall(tmp_path / "model", filter="data")  # as SageMaker fills /opt/ml/model
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "local_aws", "serve", str(tmp_path / "model"), "--port", str(port)], cwd=REPO_ROOT
    )
    try:
        base = f"http://localhost:{port}"
        assert wait_for(f"{base}/ping") == 200
        zeros = b",".join([b"0"] * 64)
        answer = urllib.request.urlopen(
            urllib.request.Request(f"{base}/invocations", data=zeros, headers={"Content-Type": "text/csv"})
        )
        assert b'"closest_cluster"' in answer.read()
        with pytest.raises(urllib.error.HTTPError) as raised:
            urllib.request.urlopen(
                urllib.request.Request(f"{base}/invocations", data=b"1,2", headers={"Content-Type": "text/csv"})
            )
        assert raised.value.code == 400
        assert raised.value.read() == b"unable to evaluate payload provided"
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_serve_refuses_a_folder_without_a_model(tmp_path: Path) -> None:
    result = local_aws_command(dict(os.environ), "serve", str(tmp_path))
    assert result.returncode == 1
    assert f"{tmp_path}/model_algo-1: cannot read" in result.stderr


def wait_for(url: str, attempts: int = 100) -> int:
    for _ in range(attempts):
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return int(response.status)
        except (urllib.error.URLError, OSError):
            time.sleep(0.1)
    raise AssertionError(f"{url} never answered")
