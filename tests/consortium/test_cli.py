from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from node_adapter.dev.localchain import free_port, rpc_call

CONSORTIUM = [sys.executable, "-m", "consortium.cli"]


def _run(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run([*CONSORTIUM, *args], capture_output=True, text=True, timeout=timeout, env=env, check=False)


def test_help_explains_the_commands() -> None:
    result = _run("--help")
    assert result.returncode == 0
    for command in ("build", "up", "chain", "artifacts", "oracle"):  # oracle: a plugin, by entry point
        assert command in result.stdout
    chain_help = _run("chain", "--help")
    for command in ("up", "status", "down"):
        assert command in chain_help.stdout


def test_artifacts_check_passes_on_a_clean_checkout() -> None:
    result = _run("artifacts", "check")
    assert result.returncode == 0, result.stderr
    assert "up to date" in result.stdout


def test_up_runs_a_chain_and_a_second_up_says_so(tmp_path: Path) -> None:
    port = free_port()
    first = subprocess.Popen(
        [*CONSORTIUM, "up", "--port", str(port), "--state-dir", str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={
            **os.environ,
            "COLUMNS": "200",
            "ORACLE_SIMULATORS_URL": f"http://127.0.0.1:{free_port()}",
            "PORTAL_PORT": str(free_port()),
        },
    )
    try:
        run_file = tmp_path / "chain.json"
        deadline = time.monotonic() + 30
        while not run_file.exists():
            assert first.poll() is None, first.stdout.read() if first.stdout else ""
            assert time.monotonic() < deadline, "consortium up did not record its chain"
            time.sleep(0.2)
        url = json.loads(run_file.read_text())["url"]
        assert url == f"http://127.0.0.1:{port}"
        assert int(rpc_call(url, "eth_chainId"), 16) == 31337

        second = _run("up", "--port", str(port), "--state-dir", str(tmp_path))
        assert second.returncode == 2
        assert f"already running at {url}" in " ".join(second.stderr.split())

        status = _run("chain", "status", "--state-dir", str(tmp_path))
        assert status.returncode == 0
        assert url in status.stdout

        down = _run("chain", "down", "--state-dir", str(tmp_path))
        assert down.returncode == 0, down.stderr
        assert first.wait(timeout=30) == 0
        out = first.stdout.read() if first.stdout else ""
        assert url in out
        assert "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266" in out
        assert (tmp_path / "chain" / "anvil" / "anvil-state.json").exists()
        assert not run_file.exists()
        assert _run("chain", "status", "--state-dir", str(tmp_path)).returncode == 1
    finally:
        if first.poll() is None:
            first.kill()


def test_up_on_a_taken_port_says_which_port(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = _run("up", "--port", str(port), "--state-dir", str(tmp_path))
    assert result.returncode == 2
    assert f"port {port} on 127.0.0.1 is already in use" in " ".join(result.stderr.split())
