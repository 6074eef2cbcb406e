from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from node_adapter.exceptions import ToolchainError
from node_adapter.toolchain import SOLC_VERSION, compiler_settings, npm_bin, project_root, resolve_solc

FRONTEND = project_root() / "scripts" / "solc"


def _on_path(monkeypatch: pytest.MonkeyPatch, directory: Path) -> None:
    monkeypatch.setenv("PATH", f"{directory}{os.pathsep}{os.environ['PATH']}")


def test_solc_binary_wins_when_set(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    link = tmp_path / "my-solc"
    link.symlink_to(FRONTEND)
    monkeypatch.setenv("SOLC_BINARY", str(link))
    solc = resolve_solc()
    assert (solc.path, solc.source, solc.version) == (link, "SOLC_BINARY", SOLC_VERSION)


def test_solc_binary_that_does_not_exist_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SOLC_BINARY", str(tmp_path / "nope"))
    with pytest.raises(ToolchainError, match=r"SOLC_BINARY=.*nope is not an executable file"):
        resolve_solc()


def test_solc_binary_of_another_version_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SOLC_BINARY", str(project_root() / "scripts" / "solc-0.8.29"))
    with pytest.raises(ToolchainError, match=f"is solc 0.8.29, but the project pins {SOLC_VERSION}"):
        resolve_solc()


def test_native_solc_on_path_is_preferred_to_solcjs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("SOLC_BINARY", raising=False)
    (tmp_path / "solc").symlink_to(FRONTEND)
    _on_path(monkeypatch, tmp_path)
    solc = resolve_solc()
    assert (solc.path, solc.source) == (tmp_path / "solc", "PATH")


def test_solc_on_path_of_another_version_falls_back_to_solcjs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("SOLC_BINARY", raising=False)
    native = tmp_path / "solc"  # a real compiler of another version, as a native solc 0.8.29 would be
    native.write_text(f'#!/bin/sh\nSOLCJS_MODULE=solc-0829 exec "{FRONTEND}" "$@"\n')
    native.chmod(0o755)
    _on_path(monkeypatch, tmp_path)
    solc = resolve_solc()
    assert (solc.path, solc.source, solc.version) == (FRONTEND, "solcjs", SOLC_VERSION)


def test_missing_node_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("SOLC_BINARY", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ToolchainError, match=r"Node\.js is not installed"):
        resolve_solc()
    with pytest.raises(ToolchainError, match=r"Node\.js is not installed"):
        npm_bin("anvil")


def test_frontend_speaks_native_standard_json() -> None:
    request = {
        "language": "Solidity",
        "sources": {
            "A.sol": {"content": 'pragma solidity ^0.8.0; import "lib/B.sol"; contract A is B {}'},
        },
        "settings": {"outputSelection": {"*": {"*": ["abi"]}}, "evmVersion": "paris"},
    }
    lib = project_root() / "node_modules"  # any directory: the import is looked up under --base-path
    base = Path(subprocess.run(["mktemp", "-d"], capture_output=True, text=True, check=True).stdout.strip())
    (base / "lib").mkdir()
    (base / "lib" / "B.sol").write_text("pragma solidity ^0.8.0; contract B { function b() external {} }")
    out = subprocess.run(
        [str(FRONTEND), "--standard-json", "--base-path", str(base), "--include-path", str(lib)],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    result = json.loads(out)  # nothing but JSON on stdout
    assert [e for e in result.get("errors", []) if e["severity"] == "error"] == []
    assert result["contracts"]["A.sol"]["A"]["abi"][0]["name"] == "b"


def test_compiler_settings_come_from_foundry_toml() -> None:
    settings = compiler_settings()
    toml = (project_root() / "contracts" / "foundry.toml").read_text()
    assert f'evm_version = "{settings.evm_version}"' in toml
    assert settings.evm_version == "paris"  # Besu, GoQuorum and Ganache all run it
    assert "@openzeppelin/contracts/=node_modules/@openzeppelin/contracts/" in settings.remappings
