"""schemathesis against the portal's OpenAPI, signed in as a member: whatever it sends, the portal answers no 5xx."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from web3 import Web3

from node_adapter.dev.localchain import LocalChain
from tests.portal.conftest import PortalRig, make_portal


@pytest.fixture
def open_portal(chain: LocalChain, w3: Web3, tmp_path: Path) -> Iterator[PortalRig]:
    yield from make_portal(chain, w3, tmp_path, member_rate=10**6, ip_rate=10**6)


def test_generated_requests_never_get_a_server_error(open_portal: PortalRig, tmp_path: Path) -> None:
    token = open_portal.sign_in("insurer")
    schemathesis = Path(sys.executable).with_name("schemathesis")
    result = subprocess.run(
        [
            str(schemathesis),
            "run",
            f"{open_portal.url}/openapi.json",
            "--checks",
            "not_a_server_error",
            "--header",
            f"Authorization: Bearer {token}",
            "--max-examples",
            "25",
            "--seed",
            "7",
            "--exclude-path",
            "/api/v1/auth/session",
            "--report-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        cwd=tmp_path,  # schemathesis keeps a cache in its working directory
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    selected = re.search(r"Selected: (\d+)/(\d+)", result.stdout)
    tested = re.search(r"Tested: (\d+)", result.stdout)
    assert selected is not None
    assert tested is not None
    assert int(tested[1]) == int(selected[1]) >= 12  # every operation but signing in and out was exercised
