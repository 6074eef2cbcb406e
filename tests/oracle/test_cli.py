"""The oracle's commands, run as a newcomer would run them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.oracle.conftest import OracleRig


def _consortium(
    *args: str, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "node_adapter.cli", *args],
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
