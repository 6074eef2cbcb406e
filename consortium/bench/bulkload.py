"""Loading many transactions into a local dev chain fast, for benchmarks that need a chain holding 100k records.

Services write through the outbox (:mod:`node_adapter.outbox`), one durable row per write; that is the right path for
data that matters and the wrong one for filling a throw-away benchmark chain. Here, on a dev chain only:

- the node signs: transactions go out as ``eth_sendTransaction`` from its unlocked dev accounts (Anvil signs in Rust,
  several times faster than eth-account in Python), with explicit nonces and gas limits, so nothing is estimated;
- many per request: a JSON-RPC batch of ``chunk`` transactions per HTTP request;
- many per block: automine is off while loading and blocks are mined on demand (``evm_mine``) until the pool is empty,
  each block as full as the block gas limit allows;
- nothing is taken on trust: every transaction's receipt is fetched (``eth_getBlockReceipts``, a block at a time) and
  a transaction that did not succeed stops the load with its decoded revert.

The chain must be a free-gas one (Anvil's ``--base-fee 0 --gas-price 0``, as a Besu free-gas consortium network):
on a chain with a base fee, full blocks raise it by 12.5% each until transactions priced at the start can no longer
be mined.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import httpx

from node_adapter.contract_errors import decode_revert
from node_adapter.exceptions import ChainError
from node_adapter.settings import DEV_CHAIN_IDS

logger = logging.getLogger(__name__)

FREE_GAS_ANVIL_ARGS = ("--base-fee", "0", "--gas-price", "0")
"""Anvil arguments for a free-gas chain, which :class:`BulkLoader` needs."""


class BulkLoadError(ChainError):
    """A bulk load could not be done, or a transaction of it did not succeed (the message says which and why)."""


@dataclass(frozen=True)
class LoadResult:
    """What a bulk load did: one entry of ``gas_used`` per transaction, in the order given."""

    transactions: int
    blocks: int
    gas_used: list[int]
    send_seconds: float
    """Sending and mining, until the last block is mined."""
    check_seconds: float
    """Fetching and checking every receipt."""

    @property
    def seconds(self) -> float:
        return self.send_seconds + self.check_seconds


class BulkLoader:
    """Sends transactions to a dev node in JSON-RPC batches and mines them in full blocks (see the module docstring)."""

    def __init__(self, url: str, *, chunk: int = 400, timeout: float = 600.0) -> None:
        if chunk < 1:
            raise BulkLoadError(f"a chunk holds at least one transaction, got {chunk}")
        self.url = url
        self.chunk = chunk
        self._http = httpx.Client(timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> BulkLoader:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ JSON-RPC

    def rpc(self, method: str, params: Sequence[Any] = ()) -> Any:
        """One JSON-RPC call; an error answer raises :class:`BulkLoadError` with the node's message."""
        return self.batch([(method, params)])[0]

    def batch(self, calls: Sequence[tuple[str, Sequence[Any]]]) -> list[Any]:
        """Several JSON-RPC calls in one HTTP request; results in the order of ``calls``."""
        if not calls:
            return []
        body = [{"jsonrpc": "2.0", "id": i, "method": m, "params": list(p)} for i, (m, p) in enumerate(calls)]
        try:
            response = self._http.post(self.url, json=body)
            response.raise_for_status()
        except httpx.HTTPError as exc:
            raise BulkLoadError(f"the node at {self.url} did not take a batch of {len(calls)} calls: {exc}") from exc
        replies = response.json()
        if not isinstance(replies, list):  # a batch the node refused as a whole
            raise BulkLoadError(f"the node at {self.url} refused a batch of {len(calls)} calls: {replies}")
        by_id = {reply.get("id"): reply for reply in replies}
        results = []
        for index, (method, _params) in enumerate(calls):
            reply = by_id.get(index)
            if reply is None or "error" in reply:
                error = reply.get("error") if reply is not None else "no answer"
                raise BulkLoadError(f"{method} (call {index + 1} of {len(calls)}) failed: {error}")
            results.append(reply["result"])
        return results

    # ------------------------------------------------------------------ loading

    def send(
        self, transactions: Sequence[Mapping[str, Any]], *, progress: Callable[[int], None] | None = None
    ) -> LoadResult:
        """Send ``transactions`` (each with ``from``, ``to``, ``data`` and ``gas``; the node must hold the ``from``
        keys), mine them, and check every receipt; raises :class:`BulkLoadError` at the first one that failed.

        ``progress`` is called with the number of transactions mined so far after each chunk.
        """
        self._check_chain()
        for index, tx in enumerate(transactions):
            missing = [k for k in ("from", "to", "data", "gas") if k not in tx]
            if missing:
                raise BulkLoadError(f"transaction {index} lacks {', '.join(missing)}")
        senders = sorted({str(tx["from"]) for tx in transactions})
        counts = self.batch([("eth_getTransactionCount", [s, "pending"]) for s in senders])
        nonces = {s: int(c, 16) for s, c in zip(senders, counts, strict=True)}
        automine = bool(self.rpc("anvil_getAutomine"))
        self.rpc("evm_setAutomine", [False])
        hashes: list[str] = []
        blocks: list[int] = []
        started = time.perf_counter()
        try:
            for start in range(0, len(transactions), self.chunk):
                calls = []
                for tx in transactions[start : start + self.chunk]:
                    sender = str(tx["from"])
                    calls.append(("eth_sendTransaction", [{**_hex_fields(tx), "nonce": hex(nonces[sender]),
                                                          "gasPrice": "0x0"}]))  # fmt: skip
                    nonces[sender] += 1
                hashes += [str(h) for h in self.batch(calls)]
                blocks += self._mine_pending()
                if progress is not None:
                    progress(len(hashes))
        finally:
            self.rpc("evm_setAutomine", [automine])
        sent = time.perf_counter() - started
        gas_used = self._check_receipts(transactions, hashes, blocks)
        return LoadResult(len(hashes), len(blocks), gas_used, sent, time.perf_counter() - started - sent)

    def _check_chain(self) -> None:
        chain_id = int(self.rpc("eth_chainId"), 16)
        if chain_id not in DEV_CHAIN_IDS:
            raise BulkLoadError(f"bulk loading is for dev chains {sorted(DEV_CHAIN_IDS)} only, not chain {chain_id}")
        base_fee = int(self.rpc("eth_getBlockByNumber", ["latest", False]).get("baseFeePerGas") or "0x0", 16)
        if base_fee:
            raise BulkLoadError(
                f"bulk loading needs a free-gas chain (Anvil {' '.join(FREE_GAS_ANVIL_ARGS)}); this one has a base "
                f"fee of {base_fee} wei, which full blocks would raise until the transactions can no longer be mined"
            )

    def _mine_pending(self) -> list[int]:
        """Mine blocks until the pool is empty; returns their numbers."""
        mined: list[int] = []
        while True:
            status = self.rpc("txpool_status")
            waiting = int(status["pending"], 16) + int(status["queued"], 16)
            if waiting == 0:
                return mined
            self.rpc("evm_mine")
            block = self.rpc("eth_getBlockByNumber", ["latest", False])
            if not block["transactions"]:
                raise BulkLoadError(f"a mined block took none of the {waiting} waiting transactions: {status}")
            mined.append(int(block["number"], 16))

    def _check_receipts(
        self, transactions: Sequence[Mapping[str, Any]], hashes: list[str], blocks: list[int]
    ) -> list[int]:
        receipts: dict[str, dict[str, Any]] = {}
        for start in range(0, len(blocks), 10):
            calls = [("eth_getBlockReceipts", [hex(b)]) for b in blocks[start : start + 10]]
            for block_receipts in self.batch(calls):
                for receipt in cast(list[dict[str, Any]], block_receipts):
                    receipts[str(receipt["transactionHash"]).lower()] = receipt
        gas_used = []
        for index, tx_hash in enumerate(hashes):
            found = receipts.get(tx_hash.lower())
            if found is None:
                raise BulkLoadError(f"transaction {index} ({tx_hash}) was not mined in blocks {blocks[0]}-{blocks[-1]}")
            block = int(found["blockNumber"], 16)
            if int(found["status"], 16) != 1:
                reason = self._revert_reason(transactions[index], block)
                raise BulkLoadError(f"transaction {index} ({tx_hash}) reverted in block {block}: {reason}")
            gas_used.append(int(found["gasUsed"], 16))
        return gas_used

    def _revert_reason(self, tx: Mapping[str, Any], block: int) -> str:
        """The decoded error of ``tx`` replayed on the state before its block (the best a replay can do)."""
        call = {k: v for k, v in _hex_fields(tx).items() if k in ("from", "to", "data", "gas")}
        body = {"jsonrpc": "2.0", "id": 0, "method": "eth_call", "params": [call, hex(block - 1)]}
        answer = self._http.post(self.url, json=body).json()
        error = answer.get("error") if isinstance(answer, dict) else None
        if not isinstance(error, dict):
            return "it succeeds when replayed alone (it depended on a transaction of the same load)"
        data = error.get("data")
        return str(decode_revert(data)) if isinstance(data, str) and data.startswith("0x") else str(error)


def _hex_fields(tx: Mapping[str, Any]) -> dict[str, Any]:
    """A transaction's fields as JSON-RPC wants them (quantities as 0x-hex, bytes as 0x-hex)."""
    fields: dict[str, Any] = {}
    for key, value in tx.items():
        if isinstance(value, bool) or not isinstance(value, int | bytes | bytearray):
            fields[key] = value
        elif isinstance(value, int):
            fields[key] = hex(value)
        else:
            fields[key] = "0x" + bytes(value).hex()
    return fields
