"""The portal's commands."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from consortium_portal.anchor import RECEIPT_KIND
from consortium_portal.kinds import CATALOGUE
from consortium_portal.tools.devsetup import approve_dev_policy, register_dev_kinds
from node_adapter.clients import Role, Suite
from node_adapter.dev.localchain import LocalChain
from node_adapter.runtime import Runtime
from node_adapter.settings import NodeAdapterSettings


def _consortium(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "consortium.cli", *args],
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


def test_the_dev_kinds_are_registered_once_with_the_catalogues_schemas(chain: LocalChain, tmp_path: Path) -> None:
    runtime = Runtime.open(
        NodeAdapterSettings(rpc_urls=[chain.url], chain_id=chain.chain_id, state_dir=tmp_path, network="kinds")
    )
    deployment, _ = runtime.deploy()
    suite = Suite.from_deployment(runtime.connection, deployment)
    assert register_dev_kinds(runtime.connection, suite) == len(CATALOGUE) + 1  # and the receipts' batch kind
    for spec in CATALOGUE.values():
        view = suite.registry.get_kind(spec.kind)
        assert (view.schema_digest, view.kind.roles, view.kind.active) == (spec.schema_digest, int(spec.roles), True)
    receipts = suite.registry.get_kind(RECEIPT_KIND)
    assert (receipts.kind.roles, receipts.kind.weight) == (int(Role.GOVERNOR), 0)
    assert register_dev_kinds(runtime.connection, suite) == 0
    assert approve_dev_policy(runtime.connection, suite) is True
    assert approve_dev_policy(runtime.connection, suite) is False  # once


def test_the_policy_command_prints_a_policy_files_digest_and_refuses_a_malformed_one(tmp_path: Path) -> None:
    from typer.testing import CliRunner  # noqa: PLC0415

    from consortium_portal.policy import default_policy  # noqa: PLC0415
    from consortium_portal.tools.cli import app  # noqa: PLC0415

    runner = CliRunner()
    printed = runner.invoke(app, ["policy", "--json"])
    assert printed.exit_code == 0, printed.output
    answer = json.loads(printed.output)
    assert (answer["version"], answer["digest"]) == (1, default_policy().digest)
    as_json = tmp_path / "policy.json"
    as_json.write_text(answer["description"])
    same = runner.invoke(app, ["policy", str(as_json), "--json"])
    assert json.loads(same.output)["digest"] == default_policy().digest  # the same policy, as JSON
    bad = tmp_path / "bad.toml"
    bad.write_text('version = 2\ntitle = "x"\n[[rules]]\nkinds = ["passport"]\nroles = ["ANY"]\nrelationship = "own"\n')
    refused = runner.invoke(app, ["policy", str(bad)])
    assert refused.exit_code == 2
    assert "unknown kinds ['passport']" in refused.output
    readable = runner.invoke(app, ["policy"])
    assert f"digest {default_policy().digest}" in readable.output
