"""Compiled contract artifacts, committed in ``node_adapter/artifacts/`` and loaded at run time.

Running the system needs no compiler: ``consortium build`` (``node_adapter.build``) writes one JSON file per contract
defined under ``contracts/src`` plus ``manifest.json``, which records the compiler, its settings and the keccak-256 of
every source that went into the compilation, so staleness is a hash comparison.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from node_adapter.exceptions import ArtifactError

ARTIFACTS_DIR = Path(__file__).resolve().parent / "artifacts"
MANIFEST_NAME = "manifest.json"


class Artifact(BaseModel):
    """One compiled contract, interface or library."""

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    contract_name: str = Field(alias="contractName")
    source_path: str = Field(alias="sourcePath")
    abi: list[dict[str, Any]]
    devdoc: dict[str, Any] = Field(default_factory=dict)
    """The NatSpec for developers (``@dev``, ``@param``, ``@return``), as solc outputs it."""
    userdoc: dict[str, Any] = Field(default_factory=dict)
    """The NatSpec for users (``@notice``), as solc outputs it."""
    bytecode: str
    deployed_bytecode: str = Field(alias="deployedBytecode")
    compiler_version: str = Field(alias="compilerVersion")
    settings: dict[str, Any]
    source_hash: str = Field(alias="sourceHash")

    @property
    def deployable(self) -> bool:
        """Whether the artifact has creation code (interfaces and abstract contracts do not)."""
        return len(self.bytecode) > 2


class Manifest(BaseModel):
    """What the committed artifacts were built from."""

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    compiler_version: str = Field(alias="compilerVersion")
    settings: dict[str, Any]
    sources: dict[str, str]
    contracts: dict[str, str]


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError as exc:
        raise ArtifactError(f"artifact file {path} is missing: run `consortium build` (or `make artifacts`)") from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ArtifactError(
            f"artifact file {path} is corrupted ({exc}): restore it with `git checkout -- {path.name}` "
            "in its folder or rebuild with `consortium build`"
        ) from exc


def load_manifest(directory: Path = ARTIFACTS_DIR) -> Manifest:
    """Read ``manifest.json`` from an artifacts directory."""
    path = directory / MANIFEST_NAME
    try:
        return Manifest.model_validate(_read_json(path))
    except ValidationError as exc:
        raise ArtifactError(f"artifact manifest {path} is malformed: {exc}") from exc


def load_artifact(name: str, directory: Path = ARTIFACTS_DIR) -> Artifact:
    """Read one contract's artifact (``load_artifact("Membership")``)."""
    if directory == ARTIFACTS_DIR:
        return _load_cached(name)
    return _load(name, directory)


@cache
def _load_cached(name: str) -> Artifact:
    return _load(name, ARTIFACTS_DIR)


def _load(name: str, directory: Path) -> Artifact:
    path = directory / f"{name}.json"
    if not path.exists():
        known = ", ".join(sorted(p.stem for p in directory.glob("*.json") if p.name != MANIFEST_NAME)) or "none"
        raise ArtifactError(f"no artifact named {name!r} in {directory} (known: {known})")
    try:
        artifact = Artifact.model_validate(_read_json(path))
    except ValidationError as exc:
        raise ArtifactError(f"artifact file {path} is malformed: {exc}") from exc
    if artifact.contract_name != name:
        raise ArtifactError(f"artifact file {path} holds {artifact.contract_name!r}, not {name!r}")
    return artifact


def artifact_names(directory: Path = ARTIFACTS_DIR) -> list[str]:
    """Names of every committed artifact, from the manifest."""
    return sorted(load_manifest(directory).contracts)
