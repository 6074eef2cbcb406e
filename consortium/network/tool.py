"""geth, the program every member node of the local network runs: its pinned version, where it is kept, how to get it.

The version is pinned here and in the Makefile's ``GETH_VERSION`` (a test checks that they agree). ``make geth`` builds
it from the Go module proxy into ``.tools/bin/geth`` in the checkout; ``CONSORTIUM_GETH`` names another binary of the
same version. geth 1.13 links with Go 1.23 and newer only with ``-ldflags=-checklinkname=0`` (its ``fjl/memsize``
dependency reaches into the runtime; the ``/memsize`` debug page it serves must then never be used, and the nodes here
never enable it).

Standard library only: ``consortium doctor`` imports it before the virtual environment exists.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from consortium.network.errors import GethMissingError

GETH_VERSION = "1.13.15"
"""The go-ethereum release the network runs: the last line with Clique proof-of-authority (1.14 removed it)."""

GETH_PACKAGE = "github.com/ethereum/go-ethereum/cmd/geth"
GETH_ENV = "CONSORTIUM_GETH"
"""Names a geth binary to use instead of ``.tools/bin/geth`` (it must be the pinned version too)."""

TOOLS_BIN = Path(".tools") / "bin"
"""Where ``make geth`` installs, relative to the checkout."""

_VERSION_RE = re.compile(r"^Version:\s*(\d+\.\d+\.\d+)", re.MULTILINE)


def install_command() -> str:
    """The command ``make geth`` runs (from the checkout)."""
    return f"GOBIN=$PWD/{TOOLS_BIN} go install -ldflags=-checklinkname=0 {GETH_PACKAGE}@v{GETH_VERSION}"


def checkout_root() -> Path:
    """The checkout this package runs from (editable install): where ``.tools/`` is."""
    return Path(__file__).resolve().parents[2]


def geth_path() -> Path:
    """The geth binary the network uses: ``CONSORTIUM_GETH`` if set, else ``.tools/bin/geth`` in the checkout."""
    explicit = os.environ.get(GETH_ENV)
    if explicit:
        return Path(explicit).expanduser()
    return checkout_root() / TOOLS_BIN / "geth"


def geth_version(path: Path) -> str:
    """The version ``path version`` reports (``1.13.15``); :class:`GethMissingError` when it cannot say."""
    fix = f"run `make geth` (it runs `{install_command()}`)"
    if not path.is_file():
        raise GethMissingError(f"geth is not installed at {path}: {fix}")
    try:
        result = subprocess.run([str(path), "version"], capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        raise GethMissingError(f"cannot run {path} version ({exc}): {fix}") from exc
    match = _VERSION_RE.search(result.stdout)
    if result.returncode != 0 or match is None:
        said = (result.stdout.strip() or result.stderr.strip())[:200]
        raise GethMissingError(f"{path} version did not report a version ({said!r}): {fix}")
    return match.group(1)


def require_geth() -> Path:
    """The geth binary, checked to be the pinned version; :class:`GethMissingError` names ``make geth`` otherwise."""
    path = geth_path()
    version = geth_version(path)
    if version != GETH_VERSION:
        raise GethMissingError(
            f"{path} is geth {version}, but the project pins {GETH_VERSION}: run `make geth` "
            f"(it runs `{install_command()}`)"
        )
    return path
