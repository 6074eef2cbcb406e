"""The portal's commands."""

from __future__ import annotations

import json
import os
import subprocess
import sys


def _consortium(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "node_adapter.cli", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "COLUMNS": "200"},
        check=False,
    )


def test_the_portal_commands_are_part_of_the_cli() -> None:
    result = _consortium("portal", "--help")
    assert result.returncode == 0
    assert "serve" in result.stdout
    assert "verify" in _consortium("bench", "--help").stdout


def test_bench_verify_prints_its_figures() -> None:
    result = _consortium("bench", "verify", "--json", "--records", "20", "--clients", "2", "--requests", "60")
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert (report["records"], report["clients"], report["requests"]) == (20, 2, 60)
    assert 0 < report["verify_p50_ms"] <= report["verify_p99_ms"]
    assert report["verify_req_per_s"] > 0
