"""Start, find and stop the local AWS's two server processes, tracked by pid under the state folder."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from local_aws.config import CONTROL_PORT_VARIABLE, HOST, RUNTIME_PORT_VARIABLE, LocalAwsConfig

PIDS_FILE = "pids.json"
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 10.0
POLL_INTERVAL_S = 0.2


class LocalAwsError(RuntimeError):
    """Something the user can fix: a port in use, a server that did not start."""


@dataclass(frozen=True)
class Server:
    """One of the local AWS's processes: how to start it and how to tell it is answering."""

    name: str
    port: int
    command: list[str]
    health_path: str


def servers(config: LocalAwsConfig) -> list[Server]:
    python = sys.executable
    control = [python, "-m", "local_aws.control_plane_launcher", "-H", HOST, "-p", str(config.control_port)]
    runtime = [python, "-m", "local_aws", "runtime", "--port", str(config.runtime_port)]
    return [
        Server("control-plane", config.control_port, control, "/moto-api/"),
        Server("runtime", config.runtime_port, runtime, "/ping"),
    ]


def port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def answers(port: int, path: str) -> bool:
    try:
        with urllib.request.urlopen(f"http://{HOST}:{port}{path}", timeout=2) as response:
            return bool(response.status < 500)
    except urllib.error.HTTPError as error:
        return error.code < 500
    except (urllib.error.URLError, OSError):
        return False


def read_pids(config: LocalAwsConfig) -> dict[str, int]:
    path = config.state_dir / PIDS_FILE
    if not path.exists():
        return {}
    loaded: dict[str, int] = json.loads(path.read_text())
    return loaded


def _write_pids(config: LocalAwsConfig, pids: dict[str, int]) -> None:
    path = config.state_dir / PIDS_FILE
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(pids))
    os.replace(temporary, path)


def alive(pid: int) -> bool:
    """True if `pid` runs and is one of ours (its command line names local_aws), not a reused pid."""
    try:
        command_line = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return b"local_aws" in command_line


def start(config: LocalAwsConfig, environment: dict[str, str]) -> dict[str, int]:
    """Start whatever is not running yet; return every server's pid. Idempotent."""
    config.state_dir.mkdir(parents=True, exist_ok=True)
    pids = {name: pid for name, pid in read_pids(config).items() if alive(pid)}
    for server in servers(config):
        if server.name in pids:
            continue
        if port_in_use(server.port):
            raise LocalAwsError(_port_taken(server))
        pids[server.name] = _spawn(server, config, environment)
        _write_pids(config, pids)
    for server in servers(config):
        _wait_until_answering(server, pids[server.name], config)
    return pids


def _port_taken(server: Server) -> str:
    variable = CONTROL_PORT_VARIABLE if server.name == "control-plane" else RUNTIME_PORT_VARIABLE
    if answers(server.port, server.health_path):
        return (
            f"port {server.port} ({server.name}): another local AWS already answers there, started from another "
            f"checkout or state folder; stop it there with `python -m local_aws down`, or choose other ports with "
            f"{CONTROL_PORT_VARIABLE} and {RUNTIME_PORT_VARIABLE}"
        )
    return f"port {server.port} ({server.name}) is already in use; free it or choose another with {variable}"


def _spawn(server: Server, config: LocalAwsConfig, environment: dict[str, str]) -> int:
    log = open(config.state_dir / f"{server.name}.log", "ab")  # noqa: SIM115 (the child keeps it)
    process = subprocess.Popen(
        server.command,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env={**os.environ, **environment},
        start_new_session=True,  # outlives this command; stopped by `down`
    )
    log.close()
    return process.pid


def _wait_until_answering(server: Server, pid: int, config: LocalAwsConfig) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if answers(server.port, server.health_path):
            return
        if not alive(pid):
            break
        time.sleep(POLL_INTERVAL_S)
    log = config.state_dir / f"{server.name}.log"
    raise LocalAwsError(f"{server.name} did not start on port {server.port}; see {log}")


def stop(config: LocalAwsConfig) -> list[str]:
    """Stop exactly the processes `start` recorded; return the names stopped."""
    pids = read_pids(config)
    running = [name for name, pid in pids.items() if alive(pid)]
    # The runtime first: on SIGTERM it writes its buffered capture records to the control plane's S3.
    for name in sorted(running, key=lambda name: name != "runtime"):
        _terminate(pids[name])
    (config.state_dir / PIDS_FILE).unlink(missing_ok=True)
    return running


def _terminate(pid: int) -> None:
    """Stop the server's whole process group: the runtime's supervisor and the worker it keeps up."""
    os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while time.monotonic() < deadline and alive(pid):
        time.sleep(POLL_INTERVAL_S)
    if alive(pid):
        os.killpg(pid, signal.SIGKILL)
