"""The oracle's commands, run as a newcomer would run them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from node_adapter.dev.localchain import free_port
from tests.oracle.conftest import OracleRig


def _consortium(
    *args: str, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "consortium.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        check=False,
    )


def test_status_reports_feeds_backlog_and_quarantine_from_the_database(rig: OracleRig) -> None:
    rig.scenario("telematics", scenario="malformed", kind="bad_vin", count=1)
    rig.scenario("dmv", scenario="duplicate")
    rig.advance(300)
    rig.service.settle()
    env = {"NODE_ADAPTER_STATE_DIR": str(rig.runtime.settings.state_dir)}
    result = _consortium("oracle", "status", "--json", env=env)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert set(report["feeds"]) >= {"ingest:dmv", "ingest:telematics", "ingest:market", "ingest:loans", "dispatch",
                                    "anchor", "valuations"}  # fmt: skip
    dmv = report["feeds"]["ingest:dmv"]
    assert dmv["healthy"] is True
    assert dmv["failures"] == 0
    assert dmv["lag_s"] >= 0
    assert dmv["duplicates"] == 1
    assert report["quarantined"] == {"bad_vin": 1}
    assert report["feeds"]["ingest:telematics"]["quarantined"] == 1
    assert report["backlog"]["unbatched_records"] == 0
    assert report["batches"]["confirmed"] >= 1
    table = _consortium("oracle", "status", env={**env, "COLUMNS": "200"})
    assert table.returncode == 0
    assert "ingest:telematics" in table.stdout


def _oracle_report(state_dir: Path) -> dict[str, Any]:
    result = _consortium("oracle", "status", "--json", env={"NODE_ADAPTER_STATE_DIR": str(state_dir)})
    assert result.returncode == 0, result.stderr
    report: dict[str, Any] = json.loads(result.stdout)
    return report


def _up(state_dir: Path, log: Path, portal_port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "PORTAL_PORT": str(portal_port),
        "ORACLE_SIMULATORS_URL": f"http://127.0.0.1:{free_port()}",
        "ORACLE_SIMULATOR_SPEED": "600",
        "ORACLE_SIMULATOR_FLEET": "20",
        "ORACLE_INTERVAL": "0.5",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "consortium.cli", "up", "--port", str(free_port()), "--state-dir", str(state_dir)],
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        env=env,
    )


def _wait_until(check: Callable[[], bool], process: subprocess.Popen[bytes], log: Path, what: str) -> None:
    deadline = time.monotonic() + 90
    while not check():
        assert process.poll() is None, log.read_text()[-3000:]
        assert time.monotonic() < deadline, f"timed out waiting for {what}: {log.read_text()[-3000:]}"
        time.sleep(0.5)


def test_up_runs_the_simulators_the_oracle_and_the_portal_and_a_second_run_resumes(tmp_path: Path) -> None:
    log = tmp_path / "up.log"
    for run in (1, 2):
        portal_port = free_port()
        process = _up(tmp_path, log, portal_port)
        try:

            def working(run: int = run) -> bool:
                if not (tmp_path / "consortium.sqlite3").exists():
                    return False
                report = _oracle_report(tmp_path)
                feeds = report["feeds"]
                return bool(
                    feeds.get("ingest:telematics", {}).get("records")
                    and feeds.get("dispatch", {}).get("last_success")
                    and report["batches"].get("confirmed", 0) >= run
                    and report["backlog"]["actions"].get("done")
                )

            _wait_until(working, process, log, f"the oracle to work (run {run})")
            # the portal starts once the oracle runs (each service is a process, started in order)
            started = "`consortium demo` plays"  # said once every service runs
            _wait_until(lambda r=run, s=started: log.read_text().count(s) >= r, process, log, "the portal")
            report = _oracle_report(tmp_path)
            assert all(feed.get("healthy", True) for feed in report["feeds"].values()), report["feeds"]
            health = httpx.get(f"http://127.0.0.1:{portal_port}/health", timeout=10).json()
            assert health["status"] == "ok"
            assert health["indexed_block"] is not None
            assert report["quarantined"] == {}
            assert _consortium("chain", "down", "--state-dir", str(tmp_path)).returncode == 0
            assert process.wait(timeout=60) == 0, log.read_text()[-3000:]
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        assert (tmp_path / "simulators" / "simulation.pickle").exists()
    text = log.read_text()
    assert text.count("simulators (DMV, telematics, market, loans) at") == 2
    assert text.count("portal at http://127.0.0.1:") == 2
    assert text.count("registered the portal's attestation kinds") == 1  # on the first run only
    assert "already deployed (kept from the last run)" in text


def test_run_refuses_a_network_without_a_deployment(tmp_path: Path) -> None:
    result = _consortium("oracle", "run", "--once", env={"NODE_ADAPTER_STATE_DIR": str(tmp_path),
                                                         "NODE_ADAPTER_NETWORK": "nowhere"})  # fmt: skip
    assert result.returncode == 2
    assert "nowhere" in result.stderr
    assert "Traceback" not in result.stderr


def test_bench_oracle_prints_its_figures() -> None:
    result = _consortium("bench", "oracle", "--json", "--samples", "3", "--fleet", "30", "--hours", "1")
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["samples"] == 3
    assert report["alert_latency_ms"] > 0
    assert report["telematics_records"] > 100
    assert report["telematics_records_per_s"] > 0
