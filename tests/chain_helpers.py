"""Helpers for tests that talk to a local node."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from node_adapter.localchain import LocalChain


@contextlib.contextmanager
def isolated(node: LocalChain) -> Iterator[None]:
    """Undo every change made to ``node`` inside the block (evm_snapshot before, evm_revert after)."""
    snapshot = node.rpc("evm_snapshot")
    try:
        yield
    finally:
        if not node.rpc("evm_revert", [snapshot]):
            raise RuntimeError(f"evm_revert({snapshot}) failed on {node.url}: later tests would see this test's state")
