"""``consortium up`` with its real children: a killed portal comes back, SIGTERM leaves no process behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from node_adapter.dev.localchain import free_port
from tests.consortium.test_supervisor import alive

pytestmark = pytest.mark.slow


def _processes_mentioning(text: str) -> list[int]:
    """Processes whose command line or environment holds ``text`` (this test's state directory)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            blob = (entry / "cmdline").read_bytes() + (entry / "environ").read_bytes()
        except OSError:
            continue
        if text.encode() in blob and alive(int(entry.name)):
            found.append(int(entry.name))
    return found


def _services(state: Path) -> dict[str, Any]:
    try:
        services: dict[str, Any] = json.loads((state / "logs" / "services.json").read_text())["services"]
    except (OSError, ValueError):
        return {}
    return services


def _portal_answers(url: str) -> bool:
    try:
        return httpx.get(f"{url}/health", timeout=5).status_code == 200
    except httpx.HTTPError:
        return False


def _wait(check: Callable[[], bool], up: subprocess.Popen[bytes], log: Path, what: str) -> None:
    deadline = time.monotonic() + 120
    while not check():
        assert up.poll() is None, f"consortium up exited: {log.read_text()[-3000:]}"
        assert time.monotonic() < deadline, f"timed out waiting for {what}: {log.read_text()[-3000:]}"
        time.sleep(0.3)


def test_up_restarts_a_killed_portal_and_sigterm_leaves_no_process_behind(tmp_path: Path) -> None:
    state, log = tmp_path / "state", tmp_path / "up.log"
    portal = f"http://127.0.0.1:{free_port()}"
    env = {
        **os.environ,
        "COLUMNS": "200",
        "PORTAL_PORT": portal.rsplit(":", 1)[1],
        "ORACLE_SIMULATORS_URL": f"http://127.0.0.1:{free_port()}",
        "ORACLE_SIMULATOR_FLEET": "20",
        "ORACLE_INTERVAL": "0.5",
    }
    command = [sys.executable, "-m", "consortium.cli", "up", "--port", str(free_port()), "--state-dir", str(state)]
    up = subprocess.Popen(command, stdout=log.open("wb"), stderr=subprocess.STDOUT, env=env)
    try:
        _wait(lambda: "`consortium demo` plays" in log.read_text(), up, log, "the system")
        first = {name: service["pid"] for name, service in _services(state).items()}
        assert set(first) == {"chain", "simulators", "oracle", "portal"}
        assert all(pid is not None and alive(pid) for pid in first.values())
        assert _portal_answers(portal)
        text = log.read_text()
        assert f"portal     {portal}/" in text  # where to go ...
        assert "dealer-1" in text  # ... and which dev accounts to sign in with, by role
        assert "not yet: joins by `consortium demo`" in text

        os.kill(first["portal"], signal.SIGKILL)
        _wait(lambda: _services(state)["portal"]["restarts"] == 1 and _services(state)["portal"]["state"] == "running",
              up, log, "the portal's restart")  # fmt: skip
        second = _services(state)["portal"]["pid"]
        assert second != first["portal"]
        assert _portal_answers(portal)
        text = " ".join(log.read_text().split())
        assert "portal exited unexpectedly (killed by SIGKILL)" in text
        assert "restarting portal in 1 s" in text
        assert "portal is running again" in text
        assert {"chain", "oracle", "simulators"} <= {n for n, s in _services(state).items() if s["restarts"] == 0}

        up.send_signal(signal.SIGTERM)
        assert up.wait(timeout=90) == 0, log.read_text()[-3000:]
    finally:
        if up.poll() is None:
            up.kill()
            up.wait()
    assert not any(alive(pid) for pid in [*first.values(), second])
    assert _processes_mentioning(str(state)) == []
    assert not (state / "chain.json").exists()
    text = log.read_text()
    assert text.index("stopping portal") < text.index("stopping oracle") < text.index("stopping chain")
    for name in first:
        assert (state / "logs" / f"{name}.log").stat().st_size > 0
    assert all(s["state"] == "stopped" and s["pid"] is None for s in _services(state).values())
