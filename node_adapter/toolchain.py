"""Where the project's tools live and which Solidity compiler to use.

The compiler is resolved in one place, in this order:

1. ``SOLC_BINARY``, if set (a native ``solc`` of the pinned version, or anything that speaks its command line);
2. a native ``solc`` on ``PATH`` whose version is the pinned one;
3. the npm ``solc`` (solcjs) behind ``scripts/solc``, a Node front end that answers ``--version`` and
   ``--standard-json`` as native solc does. It always works where ``npm ci`` has run.

The EVM version and optimizer settings are read from ``contracts/foundry.toml``, so forge and py-solc-x compile with
the same settings from a single place.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

from node_adapter.exceptions import ToolchainError

SOLC_VERSION = "0.8.37"
"""The Solidity compiler version every artifact is built with (pinned in package.json as ``solc``)."""

_VERSION_RE = re.compile(r"Version:\s*(\d+\.\d+\.\d+)")


def project_root() -> Path:
    """The repository checkout this package runs from (the directory holding ``contracts/foundry.toml``)."""
    here = Path(__file__).resolve().parent.parent
    for candidate in (here, Path.cwd(), *Path.cwd().parents):
        if (candidate / "contracts" / "foundry.toml").is_file():
            return candidate
    raise ToolchainError(
        "cannot find the project checkout (a directory with contracts/foundry.toml); "
        "building contracts needs the source tree, running the system does not"
    )


def require_node() -> str:
    """Path of the ``node`` executable, or a clear error when Node.js is missing."""
    node = shutil.which("node")
    if node is None:
        raise ToolchainError(
            "Node.js is not installed (no `node` on PATH); install Node.js 20 or newer, then run `npm ci` "
            "in the project root (Debian: `apt-get install -y nodejs npm`)"
        )
    return node


def npm_bin(name: str) -> Path:
    """Path of an executable installed by ``npm ci`` (anvil, forge, cast, ganache)."""
    require_node()
    path = project_root() / "node_modules" / ".bin" / name
    if not path.exists():
        raise ToolchainError(f"`{name}` is not installed: run `npm ci` in {project_root()} (or `make install`)")
    return path


def foundry_bin(tool: str) -> Path:
    """The native anvil/forge/cast binary that ``npm ci`` installed for this platform.

    The npm package's ``.bin`` entry is a Node wrapper that spawns the native binary; a node started through it would
    leave the binary behind if the wrapper were killed, so processes the project supervises run the binary itself.
    """
    wrapper = npm_bin(tool)
    for candidate in sorted((project_root() / "node_modules" / "@foundry-rs").glob(f"{tool}-*/bin/{tool}")):
        if os.access(candidate, os.X_OK):
            return candidate
    return wrapper


TEST_DATABASE_ENV = "CONSORTIUM_TEST_DATABASE_URL"
"""Names an existing PostgreSQL server (a SQLAlchemy URL) for the tests, instead of the run's private cluster."""

POSTGRES_INSTALL = "apt-get install -y postgresql (Debian; `make test` does it when run as root)"


def postgres_bin(debian_root: Path = Path("/usr/lib/postgresql")) -> Path:
    """The folder of PostgreSQL's server programs (``initdb``, ``pg_ctl``, ``postgres``), the newest version's.

    Debian keeps them off ``PATH``, in ``/usr/lib/postgresql/<version>/bin``; elsewhere they are on ``PATH``.
    """
    found = sorted(
        debian_root.glob("*/bin/pg_ctl"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    if found:
        return found[-1].parent
    on_path = shutil.which("pg_ctl")
    if on_path and (Path(on_path).resolve().parent / "initdb").exists():
        return Path(on_path).resolve().parent
    raise ToolchainError(f"the PostgreSQL server programs (initdb, pg_ctl) are not installed: {POSTGRES_INSTALL}")


@dataclass(frozen=True)
class SolcBinary:
    """A Solidity compiler executable and where it was found."""

    path: Path
    version: str
    source: Literal["SOLC_BINARY", "PATH", "solcjs"]


def solc_version_of(path: Path) -> str:
    """The version a solc-compatible executable reports (``0.8.37``)."""
    try:
        out = subprocess.run([str(path), "--version"], capture_output=True, text=True, timeout=60, check=True).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        raise ToolchainError(f"cannot run the Solidity compiler {path} --version: {exc}") from exc
    match = _VERSION_RE.search(out)
    if match is None:
        raise ToolchainError(f"{path} --version printed no version: {out.strip()[:200]!r}")
    return match.group(1)


def resolve_solc(required_version: str = SOLC_VERSION) -> SolcBinary:
    """Find the compiler to use (see the module docstring for the order)."""
    explicit = os.environ.get("SOLC_BINARY")
    if explicit:
        path = Path(explicit).expanduser()
        if not path.is_file() or not os.access(path, os.X_OK):
            raise ToolchainError(f"SOLC_BINARY={explicit} is not an executable file")
        version = solc_version_of(path)
        if version != required_version:
            raise ToolchainError(f"SOLC_BINARY={explicit} is solc {version}, but the project pins {required_version}")
        return SolcBinary(path, version, "SOLC_BINARY")

    native = shutil.which("solc")
    if native is not None:
        path = Path(native)
        if solc_version_of(path) == required_version:
            return SolcBinary(path, required_version, "PATH")

    require_node()
    frontend = project_root() / "scripts" / "solc"
    version = solc_version_of(frontend)
    if version != required_version:
        raise ToolchainError(f"npm solc is {version}, but the project pins {required_version}: run `npm ci`")
    return SolcBinary(frontend, version, "solcjs")


@dataclass(frozen=True)
class CompilerSettings:
    """Compiler settings shared by forge (``contracts/foundry.toml``) and the artifact pipeline."""

    evm_version: str
    optimizer_runs: int
    optimizer_enabled: bool
    remappings: tuple[str, ...]

    def standard_json(self) -> dict[str, object]:
        """The ``settings`` object of a solc standard-JSON input (remappings relative to the project root)."""
        return {
            "evmVersion": self.evm_version,
            "optimizer": {"enabled": self.optimizer_enabled, "runs": self.optimizer_runs},
            "remappings": list(self.remappings),
            "outputSelection": {
                "*": {"*": ["abi", "devdoc", "userdoc", "evm.bytecode.object", "evm.deployedBytecode.object"]},
            },
        }


@lru_cache
def compiler_settings(root: Path | None = None) -> CompilerSettings:
    """Read the compiler settings from ``contracts/foundry.toml`` (the one place they are pinned)."""
    path = (root or project_root()) / "contracts" / "foundry.toml"
    try:
        profile = tomllib.loads(path.read_text())["profile"]["default"]
    except (OSError, KeyError, tomllib.TOMLDecodeError) as exc:
        raise ToolchainError(f"cannot read the compiler settings from {path}: {exc}") from exc
    # foundry.toml remaps relative to contracts/; the artifact pipeline compiles from the project root.
    remappings = tuple(
        prefix + "=" + os.path.normpath(os.path.join("contracts", target)) + "/"
        for prefix, target in (entry.split("=", 1) for entry in profile.get("remappings", []))
    )
    return CompilerSettings(
        evm_version=str(profile["evm_version"]),
        optimizer_runs=int(profile.get("optimizer_runs", 200)),
        optimizer_enabled=bool(profile.get("optimizer", True)),
        remappings=remappings,
    )
