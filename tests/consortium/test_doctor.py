"""`consortium doctor`: each tool with its version where installed; a hidden one named with its install command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from consortium.network.tool import GETH_VERSION

ROOT = Path(__file__).resolve().parents[2]


def path_without(hidden: set[str], farm: Path) -> str:
    """A PATH of one folder holding a link to every program of today's PATH except ``hidden``."""
    farm.mkdir()
    for folder in os.environ["PATH"].split(os.pathsep):
        if not os.path.isdir(folder):
            continue
        for entry in os.scandir(folder):
            target = farm / entry.name
            if entry.name not in hidden and not target.exists() and os.access(entry.path, os.X_OK):
                target.symlink_to(entry.path)
    return str(farm)


def doctor(*args: str, path: str | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, **env}
    if path is not None:
        environment["PATH"] = path
    return subprocess.run(
        [sys.executable, "-m", "consortium.doctor", *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_on_a_machine_set_up_by_make_test_everything_needed_is_there() -> None:
    run = doctor("--json")
    report = json.loads(run.stdout)
    tools = {tool["name"]: tool for tool in report["tools"]}
    assert run.returncode == 0, run.stdout
    assert report["ok"] is True
    for name in (
        "Python 3.11",
        "Node.js 20+",
        "anvil",
        "forge",
        "ganache",
        "PostgreSQL server",
        "Chromium",
        "Tesseract",
        f"geth {GETH_VERSION}",
    ):
        assert tools[name]["ok"], tools[name]
        assert any(ch.isdigit() for ch in tools[name]["detail"]), f"{name} reports no version: {tools[name]}"
    assert tools["forge"]["detail"] == "1.7.1"  # pinned in package.json


def test_a_tool_hidden_from_path_is_named_with_its_install_command(tmp_path: Path) -> None:
    run = doctor(path=path_without({"tesseract"}, tmp_path / "bin"))
    assert run.returncode == 1, run.stdout
    lines = run.stdout.splitlines()
    missing = next(i for i, line in enumerate(lines) if line.split()[:2] == ["MISSING", "Tesseract"])
    assert "`tesseract` is not on PATH" in lines[missing]
    assert "install: apt-get install -y tesseract-ocr tesseract-ocr-chi-sim" in lines[missing + 1]
    assert "cannot pass without Tesseract" in lines[-1]
    assert any(line.split()[:2] == ["ok", "Chromium"] for line in lines)  # only the hidden one is reported missing


def test_a_tool_make_test_does_not_need_is_reported_without_failing(tmp_path: Path) -> None:
    run = doctor("--json", path=path_without({"go"}, tmp_path / "bin"))
    tools = {tool["name"]: tool for tool in json.loads(run.stdout)["tools"]}
    assert not tools["Go"]["ok"]
    assert tools["Go"]["install"]
    assert run.returncode == 0


def test_an_external_database_makes_postgres_optional(tmp_path: Path) -> None:
    farm = tmp_path / "bin"
    run = doctor(
        "--json",
        path=path_without({"pg_ctl", "initdb"}, farm),
        CONSORTIUM_TEST_DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:1/x",
    )
    postgres = next(tool for tool in json.loads(run.stdout)["tools"] if tool["name"] == "PostgreSQL server")
    assert postgres["required"] is False
    assert "CONSORTIUM_TEST_DATABASE_URL is set" in postgres["needed_by"]


def test_geth_is_required_at_the_pinned_version_and_a_missing_one_names_make_geth(tmp_path: Path) -> None:
    missing = doctor(CONSORTIUM_GETH=str(tmp_path / "geth"))
    assert missing.returncode == 1, missing.stdout
    lines = missing.stdout.splitlines()
    at = next(i for i, line in enumerate(lines) if line.split()[:2] == ["MISSING", "geth"])
    assert f"geth is not installed at {tmp_path / 'geth'}; needed by make test" in lines[at]
    assert "install: make geth (runs `GOBIN=$PWD/.tools/bin go install -ldflags=-checklinkname=0 " in lines[at + 1]
    assert f"github.com/ethereum/go-ethereum/cmd/geth@v{GETH_VERSION}`)" in lines[at + 1]
    other = tmp_path / "other-geth"
    other.write_text("#!/bin/sh\necho Geth\necho Version: 1.14.0-stable\n")
    other.chmod(0o755)
    wrong = doctor("--json", CONSORTIUM_GETH=str(other))
    geth = next(tool for tool in json.loads(wrong.stdout)["tools"] if tool["name"] == f"geth {GETH_VERSION}")
    assert geth["ok"] is False
    assert geth["detail"] == f"{other} is geth 1.14.0, the project pins {GETH_VERSION}"
    assert wrong.returncode == 1
