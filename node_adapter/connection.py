"""Connecting to chain nodes over JSON-RPC: the right network only, failover between member nodes.

A consortium runs one node per member; :class:`ChainConnection` is given several of their URLs, sticks to one healthy
node, and moves to the next when a node stops answering, retrying a failed node only after an exponential backoff.
Every node is checked to report the expected chain id before it is used, so a mistyped URL never receives a
transaction meant for another network. Blocks of QBFT and Clique chains carry a long ``extraData``; web3 is told to
accept it on every connection, which changes nothing on chains without it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from requests.exceptions import RequestException
from web3 import Web3
from web3.exceptions import ProviderConnectionError
from web3.middleware import ExtraDataToPOAMiddleware

from node_adapter.exceptions import ChainError, ChainIdMismatchError, ChainUnavailableError

logger = logging.getLogger(__name__)

T = TypeVar("T")

CONNECTION_ERRORS: tuple[type[BaseException], ...] = (RequestException, OSError, ProviderConnectionError)
"""Errors that mean "this node did not answer" (as opposed to "the node answered with an error")."""


def _web3(url: str, timeout: float) -> Web3:
    w3 = Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": timeout}))
    w3.middleware_onion.inject(ExtraDataToPOAMiddleware, layer=0)
    return w3


def connect(url: str, *, expected_chain_id: int | None = None, timeout: float = 10.0) -> Web3:
    """A :class:`Web3` for the node at ``url``, after checking it answers and reports ``expected_chain_id``.

    Raises :class:`ChainError` when the node cannot be reached and :class:`ChainIdMismatchError` when it belongs to
    another network.
    """
    w3 = _web3(url, timeout)
    try:
        chain_id = w3.eth.chain_id
    except (RequestException, OSError, ProviderConnectionError, ValueError) as exc:
        raise ChainError(f"cannot reach a chain node at {url}: {exc}") from exc
    if expected_chain_id is not None and chain_id != expected_chain_id:
        raise ChainIdMismatchError(url, expected_chain_id, chain_id)
    return w3


@dataclass
class NodeHealth:
    """What is known about one configured node."""

    url: str
    healthy: bool = True
    failures: int = 0
    down_until: float = 0.0
    last_error: str | None = None
    block_number: int | None = None
    latency_ms: float | None = None


class ChainConnection:
    """Failover between several nodes of one chain (see the module docstring). Thread-safe."""

    def __init__(
        self,
        urls: Sequence[str],
        *,
        expected_chain_id: int | None = None,
        timeout: float = 10.0,
        backoff_base: float = 0.5,
        backoff_max: float = 30.0,
    ) -> None:
        if not urls:
            raise ChainError("no chain node URL is configured")
        self.urls = list(urls)
        self.expected_chain_id = expected_chain_id
        self.timeout = timeout
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self._nodes = [NodeHealth(url) for url in self.urls]
        self._clients: dict[str, Web3] = {}
        self._current = 0
        self._lock = threading.Lock()

    @property
    def chain_id(self) -> int:
        """The chain id of the connected network."""
        return self.call(lambda w3: w3.eth.chain_id)

    @property
    def current_url(self) -> str:
        """The URL of the node in use."""
        return self.urls[self._current]

    def _client(self, index: int) -> Web3:
        url = self.urls[index]
        client = self._clients.get(url)
        if client is None:
            client = connect(url, expected_chain_id=self.expected_chain_id, timeout=self.timeout)
            if self.expected_chain_id is None:
                self.expected_chain_id = client.eth.chain_id  # every further node must agree with the first
            self._clients[url] = client
        return client

    def _mark_down(self, index: int, error: BaseException) -> None:
        node = self._nodes[index]
        node.failures += 1
        node.healthy = False
        node.last_error = str(error)[:300]
        node.down_until = time.monotonic() + min(self.backoff_max, self.backoff_base * 2 ** (node.failures - 1))
        self._clients.pop(node.url, None)
        logger.warning("chain node %s is not answering (%s); failing over", node.url, node.last_error)

    def _mark_up(self, index: int) -> None:
        node = self._nodes[index]
        if not node.healthy:
            logger.info("chain node %s answers again", node.url)
        node.healthy, node.failures, node.last_error = True, 0, None

    def _order(self) -> list[int]:
        """Node indexes to try: the current one, then the others, those out of backoff first."""
        now = time.monotonic()
        rest = [i for i in range(len(self.urls)) if i != self._current]
        ready = [i for i in rest if self._nodes[i].down_until <= now]
        waiting = sorted((i for i in rest if self._nodes[i].down_until > now), key=lambda i: self._nodes[i].down_until)
        return [self._current, *ready, *waiting]

    def call(self, fn: Callable[[Web3], T]) -> T:
        """Run ``fn`` against a healthy node, failing over on connection errors (not on JSON-RPC errors)."""
        errors = []
        for index in self._order():
            with self._lock:
                try:
                    client = self._client(index)
                except ChainIdMismatchError:
                    raise
                except ChainError as exc:
                    self._mark_down(index, exc)
                    errors.append(f"{self.urls[index]}: {exc}")
                    continue
            try:
                result = fn(client)
            except CONNECTION_ERRORS as exc:
                with self._lock:
                    self._mark_down(index, exc)
                errors.append(f"{self.urls[index]}: {exc}")
                continue
            with self._lock:
                self._mark_up(index)
                self._current = index
            return result
        raise ChainUnavailableError("no chain node answers: " + "; ".join(errors))

    @property
    def w3(self) -> Web3:
        """A Web3 for a healthy node (prefer :meth:`call`, which also fails over mid-operation)."""
        return self.call(lambda w3: w3)

    def health(self) -> list[NodeHealth]:
        """Probe every node now (block number and latency) and return what is known."""
        for index, node in enumerate(self._nodes):
            started = time.monotonic()
            try:
                with self._lock:
                    client = self._client(index)
                node.block_number = client.eth.block_number
                node.latency_ms = (time.monotonic() - started) * 1000
                with self._lock:
                    self._mark_up(index)
            except ChainIdMismatchError:
                raise
            except (RequestException, OSError, ProviderConnectionError, ChainError) as exc:
                with self._lock:
                    self._mark_down(index, exc)
        return list(self._nodes)
