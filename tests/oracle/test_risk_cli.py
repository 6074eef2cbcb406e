"""``consortium bench risk`` and ``consortium risk ...``, run as a newcomer would run them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from oracle.risk.cli import app
from oracle.risk.model import DEFAULT_MODEL_VERSION, compute_score, get_model, score_document
from oracle.risk.portfolio import simulate_portfolio


def _consortium(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "consortium.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
        check=False,
    )


def test_bench_risk_prints_auc_ks_and_the_baseline_reproducibly() -> None:
    result = _consortium("bench", "risk", "--json", "--loans", "1500", "--seed", "5")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert {"auc", "ks", "baseline_auc"} <= set(report)
    assert report["auc"] > report["baseline_auc"]
    assert 0 < report["ks"] <= 1
    assert "simulated" in report["data"]


def _risk(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), env=env)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout


def test_calibrate_writes_a_parameters_file_the_score_command_uses(tmp_path: Path) -> None:
    code, out = _risk("calibrate", "--seed", "3", "--loans", "800", "--out", str(tmp_path))
    assert code == 0
    assert "simulated data" in out
    assert (tmp_path / "r1.s3.n800.json").is_file()
    inputs = tmp_path / "inputs.json"
    inputs.write_text(json.dumps(simulate_portfolio(3, 20)[0].inputs))
    env = {"ORACLE_RISK_MODELS_DIR": str(tmp_path)}
    code, out = _risk("score", str(inputs), "--model", "r1.s3.n800", "--json", env=env)
    assert code == 0
    assert json.loads(out)["model_version"] == "r1.s3.n800"


def test_recompute_says_whether_a_document_matches(tmp_path: Path) -> None:
    inputs = simulate_portfolio(7, 20)[2].inputs
    result = compute_score(inputs, get_model(DEFAULT_MODEL_VERSION))
    document = tmp_path / "score.json"
    document.write_text(json.dumps(score_document(inputs=inputs, records={}, result=result)))
    code, out = _risk("recompute", str(document))
    assert code == 0
    assert "matches" in out
    tampered = tmp_path / "tampered.json"
    tampered.write_text(json.dumps({**json.loads(document.read_text()), "model_version": "r0.unknown"}))
    code, out = _risk("recompute", str(tampered), "--json")
    assert code == 1
    assert json.loads(out)["matches"] is False
    missing = _consortium("risk", "recompute", str(tmp_path / "nowhere.json"))
    assert missing.returncode == 2
    assert "cannot read" in missing.stderr
