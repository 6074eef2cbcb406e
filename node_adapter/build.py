"""The artifact pipeline: compile ``contracts/src`` with py-solc-x and write the committed artifacts.

``build_artifacts()`` compiles every Solidity file under ``contracts/src`` in one standard-JSON compilation with the
compiler from :func:`node_adapter.toolchain.resolve_solc` and the settings of ``contracts/foundry.toml``, then writes
``node_adapter/artifacts/<Contract>.json`` and ``manifest.json``. ``stale_artifacts()`` says, without compiling, whether
the committed artifacts still match the sources (by the keccak-256 the compiler recorded for every source).
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
from pathlib import Path
from typing import Any

import solcx
from eth_utils.crypto import keccak

from node_adapter.artifacts import ARTIFACTS_DIR, MANIFEST_NAME, load_manifest
from node_adapter.exceptions import ArtifactError, CompilationError
from node_adapter.toolchain import SolcBinary, compiler_settings, project_root, resolve_solc

logger = logging.getLogger(__name__)

SOURCE_DIR = Path("contracts") / "src"


def source_files(root: Path | None = None) -> list[str]:
    """Source unit names (paths relative to the project root) of every contract source."""
    root = root or project_root()
    return sorted(path.relative_to(root).as_posix() for path in (root / SOURCE_DIR).rglob("*.sol"))


def _keccak_hex(data: bytes) -> str:
    return "0x" + keccak(data).hex()


def compile_sources() -> tuple[dict[str, Any], str, dict[str, Any]]:
    """Compile every source; returns (solc output, compiler version, settings)."""
    root = project_root()
    names = source_files(root)
    if not names:
        raise CompilationError(f"no Solidity sources under {root / SOURCE_DIR}")
    solc = resolve_solc()
    settings = compiler_settings().standard_json()
    return compile_standard_json(names, settings=settings, solc=solc), solc.version, settings


def compile_standard_json(names: list[str], *, settings: dict[str, Any], solc: SolcBinary) -> dict[str, Any]:
    """Compile the sources ``names`` (paths relative to the project root) in one standard-JSON run."""
    root = project_root()
    # Sources go in as content so every compiler (native or solcjs) sees the same input; imports resolve
    # against the project root (--base-path) through the remappings.
    request = {
        "language": "Solidity",
        "sources": {name: {"content": (root / name).read_text()} for name in names},
        "settings": settings,
    }
    logger.info("compiling %d sources with %s (%s)", len(names), solc.path, solc.source)
    try:
        output: dict[str, Any] = solcx.compile_standard(
            request, base_path=str(root), allow_paths=[str(root)], solc_binary=str(solc.path)
        )
    except solcx.exceptions.SolcError as exc:
        raise CompilationError(str(exc)) from exc
    errors = [e for e in output.get("errors", []) if e.get("severity") == "error"]
    if errors:
        raise CompilationError("\n".join(e.get("formattedMessage", e.get("message", "")) for e in errors))
    return output


def build_artifacts(out_dir: Path = ARTIFACTS_DIR) -> list[Path]:
    """Compile and (re)write every artifact and the manifest into ``out_dir``; returns the files written."""
    root = project_root()
    output, version, settings = compile_sources()
    own_sources = set(source_files(root))
    used_sources = {name: _keccak_hex((root / name).read_bytes()) for name in output["sources"]}

    artifacts: dict[str, dict[str, Any]] = {}
    for source_path, contracts in output["contracts"].items():
        if source_path not in own_sources:
            continue
        for contract_name, data in contracts.items():
            if contract_name in artifacts:
                raise CompilationError(f"two contracts are named {contract_name}; artifact names must be unique")
            artifacts[contract_name] = {
                "contractName": contract_name,
                "sourcePath": source_path,
                "abi": data["abi"],
                "devdoc": data.get("devdoc", {}),
                "userdoc": data.get("userdoc", {}),
                "bytecode": "0x" + data["evm"]["bytecode"]["object"],
                "deployedBytecode": "0x" + data["evm"]["deployedBytecode"]["object"],
                "compilerVersion": version,
                "settings": settings,
                "sourceHash": used_sources[source_path],
            }

    # Write into a fresh directory, then swap it in, so an interrupted build never leaves a half-written set.
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".artifacts-", dir=out_dir.parent))
    written = []
    for name, artifact in sorted(artifacts.items()):
        path = staging / f"{name}.json"
        path.write_text(json.dumps(artifact, indent=1, sort_keys=True) + "\n")
        written.append(out_dir / path.name)
    manifest = {
        "compilerVersion": version,
        "settings": settings,
        "sources": dict(sorted(used_sources.items())),
        "contracts": {name: a["sourcePath"] for name, a in sorted(artifacts.items())},
    }
    (staging / MANIFEST_NAME).write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    if out_dir.exists():
        shutil.rmtree(out_dir)
    staging.rename(out_dir)
    logger.info("wrote %d artifacts to %s", len(artifacts), out_dir)
    return [*written, out_dir / MANIFEST_NAME]


def stale_artifacts(directory: Path = ARTIFACTS_DIR, root: Path | None = None) -> list[str]:
    """Reasons the committed artifacts no longer match the sources and settings (empty when they are fresh)."""
    root = root or project_root()
    try:
        manifest = load_manifest(directory)
    except ArtifactError as exc:
        return [str(exc)]
    reasons = []
    for name in source_files(root):
        if name not in manifest.sources:
            reasons.append(f"{name} is not in the artifacts (new source)")
    for name, recorded in manifest.sources.items():
        path = root / name
        if not path.exists():
            reasons.append(f"{name} was compiled but no longer exists")
        elif _keccak_hex(path.read_bytes()) != recorded:
            reasons.append(f"{name} changed since the artifacts were built")
    if manifest.settings != compiler_settings(root).standard_json():
        reasons.append("compiler settings in contracts/foundry.toml changed since the artifacts were built")
    return reasons
