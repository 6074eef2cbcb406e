"""Connecting to a chain node over JSON-RPC, refusing the wrong network."""

from __future__ import annotations

import logging

from requests.exceptions import RequestException
from web3 import Web3

from node_adapter.errors import ChainError, ChainIdMismatchError

logger = logging.getLogger(__name__)


def connect(url: str, *, expected_chain_id: int | None = None, timeout: float = 10.0) -> Web3:
    """A :class:`Web3` for the node at ``url``, after checking it answers and reports ``expected_chain_id``.

    Raises :class:`ChainError` when the node cannot be reached and :class:`ChainIdMismatchError` when it belongs to
    another network, so a mistyped URL never sends transactions to the wrong chain.
    """
    w3 = Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": timeout}))
    try:
        chain_id = w3.eth.chain_id
    except (RequestException, OSError, ValueError) as exc:
        raise ChainError(f"cannot reach a chain node at {url}: {exc}") from exc
    if expected_chain_id is not None and chain_id != expected_chain_id:
        raise ChainIdMismatchError(url, expected_chain_id, chain_id)
    logger.debug("connected", extra={"url": url, "chain_id": chain_id})
    return w3
