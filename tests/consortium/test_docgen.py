"""The reference pages generated from the sources: current in the repository, complete, and stale when edited."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from consortium.docgen import _signature, contract_page, generate, stale_pages
from node_adapter.artifacts import load_artifact
from node_adapter.deploy import SUITE


def test_the_committed_reference_pages_are_what_the_sources_generate() -> None:
    assert stale_pages() == [], "run `consortium docs` and commit docs/reference/"


@pytest.mark.parametrize("name", SUITE)
def test_every_natspec_entry_of_a_contract_is_keyed_by_a_signature_of_its_abi_and_shown(name: str) -> None:
    artifact = load_artifact(name)
    signatures = {_signature(item) for item in artifact.abi if item["type"] in ("function", "event", "error")}
    page = "\n".join(contract_page(artifact))
    documented = 0
    for section in ("methods", "events", "errors"):
        for signature, entry in artifact.userdoc.get(section, {}).items():
            assert signature in signatures, f"{name}: NatSpec of {signature} matches no ABI entry"
            notice = (entry[0] if isinstance(entry, list) else entry).get("notice")
            if notice:
                assert " ".join(notice.split()) in page
                documented += 1
    writes = [i for i in artifact.abi if i["type"] == "function" and i["stateMutability"] not in ("view", "pure")]
    assert documented >= len(writes)  # every state-changing function at least carries a notice
    assert all(f"#### `{w['name']}(" in page for w in writes)


def test_an_edited_or_missing_page_is_reported_stale(tmp_path: Path) -> None:
    pages = generate()
    assert {"contracts.md", "api.md", "openapi.json"} <= set(pages)
    for name, text in pages.items():
        (tmp_path / name).write_text(text)
    assert stale_pages(tmp_path) == []
    (tmp_path / "contracts.md").write_text(pages["contracts.md"].replace("Governance only", "Anyone"))
    (tmp_path / "openapi.json").unlink()
    assert stale_pages(tmp_path) == ["contracts.md", "openapi.json"]


def test_the_api_reference_lists_every_route_of_the_openapi_document() -> None:
    pages = generate()
    spec = json.loads(pages["openapi.json"])
    for path, item in spec["paths"].items():
        for method in item:
            assert f"### `{method.upper()} {path}`" in pages["api.md"]
