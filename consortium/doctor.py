"""``consortium doctor``: is every tool the system and its tests use installed, at which version, and how to install it.

``make test`` runs it after installing what it can and before the first test, so a broken set-up fails in seconds
with one clear line instead of ten minutes into the run. It uses the standard library only, so it also runs before
the virtual environment exists: ``python3.11 -m consortium.doctor``.

Each tool says which entry point needs it: ``make test`` (missing: exit status 1), ``make up`` (the running system;
reported, not fatal), or nothing yet (reported for the issues that will use it).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

from consortium.network.errors import GethMissingError
from consortium.network.tool import GETH_VERSION, geth_path, geth_version, install_command
from node_adapter.exceptions import ToolchainError
from node_adapter.toolchain import POSTGRES_INSTALL, SOLC_VERSION, TEST_DATABASE_ENV, postgres_bin, resolve_solc

ROOT = Path(__file__).resolve().parent.parent
CJK_FONT = Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")
MIN_NODE = 20


class Missing(Exception):
    """A probe's answer: the tool is not there, or not usable (the message says what was found)."""


@dataclass(frozen=True)
class Finding:
    name: str
    ok: bool
    detail: str
    """The version when ``ok``, else what is wrong."""
    needed_by: str
    install: str
    required: bool
    """Missing means ``make test`` cannot pass."""


@dataclass(frozen=True)
class Check:
    name: str
    probe: Callable[[], str]
    install: str
    needed_by: str = "make test, make up"
    required: bool = True


def _run(*command: str, timeout: float = 30.0) -> str:
    """The first line a command prints (stdout, else stderr); :class:`Missing` when it cannot run or fails."""
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    except FileNotFoundError as exc:
        raise Missing(f"`{command[0]}` not found") from exc
    except (OSError, subprocess.SubprocessError) as exc:
        raise Missing(f"`{' '.join(command)}` failed: {exc}") from exc
    out = (result.stdout.strip() or result.stderr.strip()).splitlines()
    if result.returncode != 0:
        raise Missing(f"`{' '.join(command)}` exited {result.returncode}: {out[-1] if out else ''}".strip())
    return out[0].strip() if out else ""


def _on_path(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise Missing(f"`{name}` is not on PATH")
    return found


def _version(text: str) -> str:
    match = re.search(r"\d+(?:\.\d+)+", text)
    return match.group(0) if match else text


def _python() -> str:
    version = _version(_run(_on_path("python3.11"), "--version"))
    if not version.startswith("3.11"):
        raise Missing(f"python3.11 is Python {version}")
    return version


def _venv() -> str:
    python = ROOT / ".venv" / "bin" / "python"
    if not python.exists():
        raise Missing(f"no virtual environment at {python.parent.parent}")
    return _run(
        str(python),
        "-c",
        "import importlib.metadata as m, pytest, playwright, web3, fastapi; "
        "print('web3', m.version('web3'), 'fastapi', m.version('fastapi'), 'pytest', m.version('pytest'))",
    )


def _node() -> str:
    version = _version(_run(_on_path("node"), "--version"))
    if int(version.split(".")[0]) < MIN_NODE:
        raise Missing(f"Node.js {version} is older than {MIN_NODE}")
    return version


def _npm() -> str:
    return _version(_run(_on_path("npm"), "--version"))


def _npm_tool(name: str) -> Callable[[], str]:
    def probe() -> str:
        path = ROOT / "node_modules" / ".bin" / name
        if not path.exists():
            raise Missing(f"{path.relative_to(ROOT)} is not installed")
        return _version(_run(str(path), "--version"))

    return probe


def _solc() -> str:
    try:
        found = resolve_solc()
    except ToolchainError as exc:
        raise Missing(str(exc)) from exc
    return f"{found.version} ({found.source}: {found.path})"


def _postgres() -> str:
    try:
        folder = postgres_bin()
    except ToolchainError as exc:
        raise Missing("initdb and pg_ctl not found") from exc
    return f"{_version(_run(str(folder / 'postgres'), '--version'))} ({folder})"


def _chromium() -> str:
    return _version(_run(_on_path("chromium"), "--version"))


def _tesseract() -> str:
    binary = _on_path("tesseract")
    version = _version(_run(binary, "--version"))
    languages = subprocess.run([binary, "--list-langs"], capture_output=True, text=True, check=False).stdout.split()
    if "chi_sim" not in languages:
        raise Missing(f"tesseract {version} lacks the simplified Chinese model (chi_sim)")
    if not CJK_FONT.exists():
        raise Missing(f"tesseract {version} is there, the CJK font {CJK_FONT} is not")
    return f"{version} (chi_sim, eng; WenQuanYi Zen Hei)"


def _go() -> str:
    return _version(_run(_on_path("go"), "version"))


def _geth() -> str:
    path = geth_path()
    try:
        version = geth_version(path)  # what `geth version` reports
    except GethMissingError as exc:
        raise Missing(str(exc).split(": run `make geth`")[0]) from exc
    if version != GETH_VERSION:
        raise Missing(f"{path} is geth {version}, the project pins {GETH_VERSION}")
    return f"{version} ({path})"


APT = "apt-get install -y"


def checks() -> list[Check]:
    """What the system and its tests use, in the order a set-up installs it."""
    external_db = bool(os.environ.get(TEST_DATABASE_ENV))
    return [
        Check("Python 3.11", _python, "install Python 3.11 (pyenv install 3.11, or apt-get install -y python3.11)"),
        Check("Python packages", _venv, "make install-dev (creates .venv from pyproject.toml)"),
        Check(f"Node.js {MIN_NODE}+", _node, f"{APT} nodejs npm (or Node.js {MIN_NODE} from nodejs.org)"),
        Check("npm", _npm, f"{APT} npm"),
        Check("anvil", _npm_tool("anvil"), "npm ci (make install)"),
        Check("forge", _npm_tool("forge"), "npm ci (make install-dev)", needed_by="make test"),
        Check("cast", _npm_tool("cast"), "npm ci (make install)"),
        Check("ganache", _npm_tool("ganache"), "npm ci (make install-dev)", needed_by="make test"),
        Check(f"solc {SOLC_VERSION}", _solc, "npm ci (the solcjs front end, scripts/solc), or set SOLC_BINARY"),
        Check(
            "PostgreSQL server",
            _postgres,
            POSTGRES_INSTALL,
            needed_by=f"make test (not needed: {TEST_DATABASE_ENV} is set)" if external_db else "make test",
            required=not external_db,
        ),
        Check("Chromium", _chromium, f"{APT} chromium (make install-browser)", needed_by="make test"),
        Check(
            "Tesseract",
            _tesseract,
            f"{APT} tesseract-ocr tesseract-ocr-chi-sim fonts-wqy-zenhei (make install-ocr)",
            needed_by="make test; make up reads scans with it",
        ),
        Check(
            f"geth {GETH_VERSION}",
            _geth,
            f"make geth (runs `{install_command()}`)",
            needed_by="make test (the multi-node network tests), make network",
        ),
        Check(
            "Go",
            _go,
            "install Go 1.21+ (go.dev/dl), or apt-get install -y golang",
            needed_by=f"make geth, to build geth once into {geth_path().parent}",
            required=False,
        ),
    ]


def _finding(check: Check) -> Finding:
    try:
        ok, detail = True, check.probe()
    except Missing as exc:
        ok, detail = False, str(exc)
    return Finding(check.name, ok, detail, check.needed_by, check.install, check.required)


def diagnose(selected: list[Check] | None = None) -> list[Finding]:
    """Run every probe (side by side: most of the time is tools starting up), in the order of the checks."""
    todo = selected if selected is not None else checks()
    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(_finding, todo))


def report(findings: list[Finding]) -> str:
    width = max(len(f.name) for f in findings)
    lines = []
    for f in findings:
        if f.ok:
            lines.append(f"  ok       {f.name:<{width}}  {f.detail}")
        else:
            label = "MISSING" if f.required else "absent"
            lines.append(f"  {label:<7}  {f.name:<{width}}  {f.detail}; needed by {f.needed_by}")
            lines.append(f"  {'':<7}  {'':<{width}}  install: {f.install}")
    broken = [f.name for f in findings if f.required and not f.ok]
    if broken:
        lines.append(f"doctor: `make test` cannot pass without {', '.join(broken)}: install as shown above")
    else:
        lines.append("doctor: everything `make test` needs is installed")
    return "\n".join(lines)


def exit_status(findings: list[Finding]) -> int:
    return 1 if any(f.required and not f.ok for f in findings) else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="consortium doctor", description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    findings = diagnose()
    if args.json:
        print(json.dumps({"ok": exit_status(findings) == 0, "tools": [asdict(f) for f in findings]}, indent=2))
    else:
        print(report(findings))
    return exit_status(findings)


if __name__ == "__main__":
    sys.exit(main())
