from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from node_adapter.artifacts import ARTIFACTS_DIR, MANIFEST_NAME, artifact_names, load_artifact, load_manifest
from node_adapter.build import build_artifacts, stale_artifacts
from node_adapter.exceptions import ArtifactError
from node_adapter.toolchain import foundry_bin, project_root

ROOT = project_root()


def _copy_checkout(tmp_path: Path) -> Path:
    """A copy of what the staleness check reads: contracts/src, foundry.toml and the committed artifacts."""
    shutil.copytree(ROOT / "contracts" / "src", tmp_path / "contracts" / "src")
    shutil.copy(ROOT / "contracts" / "foundry.toml", tmp_path / "contracts" / "foundry.toml")
    manifest = load_manifest()
    for name in manifest.sources:
        if not name.startswith("contracts/"):
            (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(ROOT / name, tmp_path / name)
    shutil.copytree(ARTIFACTS_DIR, tmp_path / "artifacts")
    return tmp_path


def test_committed_artifacts_match_the_sources() -> None:
    assert stale_artifacts() == [], "run `make artifacts` and commit node_adapter/artifacts/"


def test_changed_source_makes_artifacts_stale(tmp_path: Path) -> None:
    root = _copy_checkout(tmp_path)
    assert stale_artifacts(root / "artifacts", root) == []
    source = root / "contracts" / "src" / "libraries" / "Roles.sol"
    source.write_text(source.read_text() + "\n// edited\n")
    assert stale_artifacts(root / "artifacts", root) == [
        "contracts/src/libraries/Roles.sol changed since the artifacts were built"
    ]


def test_new_source_makes_artifacts_stale(tmp_path: Path) -> None:
    root = _copy_checkout(tmp_path)
    (root / "contracts" / "src" / "Extra.sol").write_text("pragma solidity ^0.8.24; contract Extra {}")
    assert stale_artifacts(root / "artifacts", root) == ["contracts/src/Extra.sol is not in the artifacts (new source)"]


def test_changed_settings_make_artifacts_stale(tmp_path: Path) -> None:
    root = _copy_checkout(tmp_path)
    toml = root / "contracts" / "foundry.toml"
    toml.write_text(toml.read_text().replace('evm_version = "paris"', 'evm_version = "shanghai"'))
    assert any("compiler settings" in r for r in stale_artifacts(root / "artifacts", root))


def test_corrupted_artifact_is_a_clear_error(tmp_path: Path) -> None:
    directory = shutil.copytree(ARTIFACTS_DIR, tmp_path / "artifacts")
    name = artifact_names()[0]
    path = directory / f"{name}.json"
    path.write_text(path.read_text()[:100])
    with pytest.raises(ArtifactError, match=rf"artifact file .*{name}.json is corrupted"):
        load_artifact(name, directory)


def test_artifact_of_the_wrong_shape_is_a_clear_error(tmp_path: Path) -> None:
    directory = shutil.copytree(ARTIFACTS_DIR, tmp_path / "artifacts")
    name = artifact_names()[0]
    (directory / f"{name}.json").write_text(json.dumps({"contractName": name}))
    with pytest.raises(ArtifactError, match=rf"{name}.json is malformed"):
        load_artifact(name, directory)


def test_unknown_artifact_lists_the_known_ones() -> None:
    with pytest.raises(ArtifactError, match=r"no artifact named 'Nope'.*known: .*IMembership"):
        load_artifact("Nope")


def test_every_artifact_loads_with_the_pinned_compiler() -> None:
    manifest = load_manifest()
    for name in artifact_names():
        artifact = load_artifact(name)
        assert artifact.compiler_version == manifest.compiler_version
        assert artifact.settings["evmVersion"] == "paris"
        assert artifact.source_hash == manifest.sources[artifact.source_path]


@pytest.mark.slow
def test_rebuild_reproduces_the_committed_artifacts(tmp_path: Path) -> None:
    build_artifacts(tmp_path / "artifacts")
    fresh = sorted(p.name for p in (tmp_path / "artifacts").iterdir())
    committed = sorted(p.name for p in ARTIFACTS_DIR.iterdir())
    assert fresh == committed
    for name in committed:
        assert (tmp_path / "artifacts" / name).read_text() == (ARTIFACTS_DIR / name).read_text(), name


@pytest.mark.slow
def test_forge_and_py_solc_x_produce_the_same_abi(tmp_path: Path) -> None:
    out = tmp_path / "out"
    subprocess.run(
        [
            str(foundry_bin("forge")),
            "build",
            "--skip",
            "test",
            "--out",
            str(out),
            "--cache-path",
            str(tmp_path / "cache"),
        ],
        cwd=ROOT / "contracts",
        check=True,
        capture_output=True,
    )
    names = [n for n in artifact_names()]
    assert names
    for name in names:
        artifact = load_artifact(name)
        forge_file = out / Path(artifact.source_path).name / f"{name}.json"
        forge_abi = json.loads(forge_file.read_text())["abi"]
        key = lambda entry: json.dumps(entry, sort_keys=True)  # noqa: E731
        assert sorted(forge_abi, key=key) == sorted(artifact.abi, key=key), name
    assert (ARTIFACTS_DIR / MANIFEST_NAME).exists()
