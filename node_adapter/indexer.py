"""The event indexer: chain events into a SQL read model that can always be rebuilt from the chain.

The indexer reads the logs of the deployed contracts in block ranges, only up to ``head - confirmations``, decodes
them with the committed ABIs and appends them to ``chain_event``, the local copy of the canonical event log. Read-model
tables (``projections``) are pure functions of that log: each projection folds events into its tables in order.

A checkpoint holds the last indexed block and its hash. Before each pass the stored hash is compared with the chain's;
when they differ a reorg happened: the indexer walks back through the block hashes it kept to the last block both
agree on, deletes what it stored above that block, rebuilds the projections from the remaining log, and indexes
forward again. Nothing is applied twice: events are unique per (chain, block, log index), and projections are
rebuilt, never patched, after a rewind.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol, cast

from eth_typing import ChecksumAddress
from sqlalchemy import Column, Text, UniqueConstraint, delete
from sqlalchemy.engine import Engine
from sqlmodel import Field, Session, SQLModel, col, select
from web3 import Web3
from web3._utils.events import get_event_data
from web3.exceptions import BlockNotFound
from web3.types import EventData, FilterParams, LogReceipt

from node_adapter.connection import ChainConnection
from node_adapter.contract_errors import abi_type
from node_adapter.exceptions import jsonable
from node_adapter.progress import Progress

logger = logging.getLogger(__name__)


class ChainEvent(SQLModel, table=True):
    """One decoded contract event of the canonical chain."""

    __tablename__ = "chain_event"
    __table_args__ = (UniqueConstraint("chain_id", "block_number", "log_index"),)

    id: int | None = Field(default=None, primary_key=True)
    chain_id: int
    block_number: int = Field(index=True)
    block_hash: str = Field(max_length=66)
    block_time: int
    tx_hash: str = Field(max_length=66, index=True)
    log_index: int
    contract: str = Field(max_length=64)
    address: str = Field(max_length=42)
    event: str = Field(max_length=64, index=True)
    args: str = Field(sa_column=Column(Text, nullable=False))

    @property
    def values(self) -> dict[str, Any]:
        """The event's arguments (bytes as 0x-hex, big integers as decimal strings)."""
        return cast(dict[str, Any], json.loads(self.args))


class IndexedBlock(SQLModel, table=True):
    """Hashes of indexed blocks, kept to find where a reorg forked."""

    __tablename__ = "indexed_block"

    chain_id: int = Field(primary_key=True)
    number: int = Field(primary_key=True)
    hash: str = Field(max_length=66)


class IndexerCheckpoint(SQLModel, table=True):
    """How far an indexer got: the last block indexed and its hash."""

    __tablename__ = "indexer_checkpoint"

    name: str = Field(primary_key=True, max_length=64)
    chain_id: int
    block_number: int
    block_hash: str = Field(max_length=66)
    updated_at: datetime = Field(default_factory=lambda: datetime.now(UTC))


class Projection(Protocol):
    """A read model built from events."""

    tables: Sequence[type[SQLModel]]

    def apply(self, session: Session, event: ChainEvent) -> None:
        """Fold one event into the read model."""


@dataclass(frozen=True)
class WatchedContract:
    """A deployed contract whose events are indexed."""

    name: str
    address: ChecksumAddress
    abi: list[dict[str, Any]]


class EventIndexer:
    """Indexes the events of ``contracts`` into ``chain_event`` and the ``projections``."""

    def __init__(
        self,
        engine: Engine,
        connection: ChainConnection,
        contracts: Iterable[WatchedContract],
        projections: Sequence[Projection],
        *,
        start_block: int = 0,
        confirmations: int = 0,
        batch_blocks: int = 2_000,
        keep_blocks: int = 512,
        name: str = "main",
    ) -> None:
        self.engine = engine
        self.connection = connection
        self.contracts = {c.address: c for c in contracts}
        self.projections = projections
        self.start_block = start_block
        self.confirmations = confirmations
        self.batch_blocks = batch_blocks
        self.keep_blocks = keep_blocks
        self.name = name
        self.chain_id = connection.chain_id
        self._codec = connection.call(lambda w3: w3.codec)
        self._events_by_topic: dict[tuple[str, bytes], dict[str, Any]] = {}
        for contract in self.contracts.values():
            for entry in contract.abi:
                if entry.get("type") == "event" and not entry.get("anonymous"):
                    types = ",".join(abi_type(i) for i in entry["inputs"])
                    topic = Web3.keccak(text=f"{entry['name']}({types})")
                    self._events_by_topic[(contract.address, bytes(topic))] = entry

    # ------------------------------------------------------------------ public

    def checkpoint(self) -> IndexerCheckpoint | None:
        """Where this indexer stands."""
        with Session(self.engine, expire_on_commit=False) as session:
            return session.get(IndexerCheckpoint, self.name)

    def lag(self) -> int:
        """Blocks between the last indexed block and the chain's head."""
        head = self.connection.call(lambda w3: int(w3.eth.block_number))
        checkpoint = self.checkpoint()
        return head - (checkpoint.block_number if checkpoint else self.start_block - 1)

    def run_once(self) -> int:
        """Index one range of blocks (after handling a reorg, if any); returns the number of events applied."""
        self._handle_reorg()
        head = self.connection.call(lambda w3: int(w3.eth.block_number))
        target = head - self.confirmations
        checkpoint = self.checkpoint()
        first = checkpoint.block_number + 1 if checkpoint else self.start_block
        if first > target:
            return 0
        last = min(target, first + self.batch_blocks - 1)
        return self._index_range(first, last)

    def sync(self, *, max_passes: int = 1_000_000, progress: Progress | None = None) -> int:
        """Index until caught up with ``head - confirmations``; returns the number of events applied. ``progress``
        hears of the blocks indexed of those there were to index when it began."""
        total = 0
        checkpoint = self.checkpoint()
        first = checkpoint.block_number + 1 if checkpoint else self.start_block
        target = self.connection.call(lambda w3: int(w3.eth.block_number)) - self.confirmations
        for _ in range(max_passes):
            checkpoint = self.checkpoint()
            before = checkpoint.block_number if checkpoint else None
            total += self.run_once()
            after = self.checkpoint()
            if progress is not None and after is not None:
                done = after.block_number - first + 1
                progress(done, max(done, target - first + 1), f"block {after.block_number}, {total} events")
            if after is None or (before is not None and after.block_number == before):
                break
        return total

    def rebuild(self, *, progress: Progress | None = None) -> int:
        """Drop the read model and the event log and index everything again from the chain (``progress``: as
        :meth:`sync`)."""
        with Session(self.engine) as session, session.begin():
            self._clear_projections(session)
            session.exec(delete(ChainEvent).where(col(ChainEvent.chain_id) == self.chain_id))
            session.exec(delete(IndexedBlock).where(col(IndexedBlock.chain_id) == self.chain_id))
            checkpoint = session.get(IndexerCheckpoint, self.name)
            if checkpoint is not None:
                session.delete(checkpoint)
        return self.sync(progress=progress)

    # ------------------------------------------------------------------ indexing

    def _index_range(self, first: int, last: int) -> int:
        def fetch(w3: Web3) -> tuple[list[LogReceipt], dict[int, tuple[str, int]]]:
            params: FilterParams = {"fromBlock": first, "toBlock": last, "address": list(self.contracts)}
            logs = list(w3.eth.get_logs(params))
            numbers = sorted({int(log["blockNumber"]) for log in logs} | {last})
            blocks = {}
            with w3.batch_requests() as batch:
                for number in numbers:
                    batch.add(w3.eth.get_block(number))
                for block in batch.execute():
                    data = cast(dict[str, Any], block)
                    blocks[int(data["number"])] = ("0x" + bytes(data["hash"]).hex(), int(data["timestamp"]))
            return logs, blocks

        logs, blocks = self.connection.call(fetch)
        if any(("0x" + bytes(log["blockHash"]).hex()) != blocks[int(log["blockNumber"])][0] for log in logs):
            logger.info("chain moved while reading blocks %d-%d; reading again", first, last)
            return 0  # a reorg between the two reads: the next pass sees a consistent chain
        events = [self._decode(log, blocks) for log in logs]
        applied = 0
        with Session(self.engine) as session, session.begin():
            for event in sorted((e for e in events if e is not None), key=lambda e: (e.block_number, e.log_index)):
                session.add(event)
                for projection in self.projections:
                    projection.apply(session, event)
                applied += 1
            for number, (block_hash, _) in blocks.items():
                session.merge(IndexedBlock(chain_id=self.chain_id, number=number, hash=block_hash))
            session.exec(
                delete(IndexedBlock).where(
                    col(IndexedBlock.chain_id) == self.chain_id, col(IndexedBlock.number) < last - self.keep_blocks
                )
            )
            session.merge(self._checkpoint_row(last, blocks[last][0]))
        if applied:
            logger.info("indexed %d events from blocks %d-%d", applied, first, last)
        return applied

    def _decode(self, log: LogReceipt, blocks: dict[int, tuple[str, int]]) -> ChainEvent | None:
        address = Web3.to_checksum_address(log["address"])
        topics = log["topics"]
        abi = self._events_by_topic.get((address, bytes(topics[0]))) if topics else None
        if abi is None:
            return None
        decoded: EventData = get_event_data(self._codec, cast(Any, abi), log)
        number = int(log["blockNumber"])
        return ChainEvent(
            chain_id=self.chain_id,
            block_number=number,
            block_hash=blocks[number][0],
            block_time=blocks[number][1],
            tx_hash="0x" + bytes(log["transactionHash"]).hex(),
            log_index=int(log["logIndex"]),
            contract=self.contracts[address].name,
            address=address,
            event=decoded["event"],
            args=json.dumps(jsonable(dict(decoded["args"]))),
        )

    # ------------------------------------------------------------------ reorgs

    def _handle_reorg(self) -> None:
        checkpoint = self.checkpoint()
        if checkpoint is None or self._chain_hash(checkpoint.block_number) == checkpoint.block_hash:
            return
        with Session(self.engine) as session:
            kept = session.exec(
                select(IndexedBlock)
                .where(IndexedBlock.chain_id == self.chain_id, IndexedBlock.number <= checkpoint.block_number)
                .order_by(col(IndexedBlock.number).desc())
            ).all()
        ancestor = next((b.number for b in kept if self._chain_hash(b.number) == b.hash), None)
        if ancestor is None:
            logger.warning("reorg deeper than the %d blocks kept: rebuilding from the chain", self.keep_blocks)
            self.rebuild()
            return
        logger.warning("reorg: blocks after %d changed; rewinding and re-indexing", ancestor)
        with Session(self.engine) as session, session.begin():
            session.exec(
                delete(ChainEvent).where(
                    col(ChainEvent.chain_id) == self.chain_id, col(ChainEvent.block_number) > ancestor
                )
            )
            session.exec(
                delete(IndexedBlock).where(
                    col(IndexedBlock.chain_id) == self.chain_id, col(IndexedBlock.number) > ancestor
                )
            )
            ancestor_hash = next(b.hash for b in kept if b.number == ancestor)
            session.merge(self._checkpoint_row(ancestor, ancestor_hash))
            self._replay(session)

    def _checkpoint_row(self, number: int, block_hash: str) -> IndexerCheckpoint:
        return IndexerCheckpoint(
            name=self.name,
            chain_id=self.chain_id,
            block_number=number,
            block_hash=block_hash,
            updated_at=datetime.now(UTC),
        )

    def _chain_hash(self, number: int) -> str | None:
        def get(w3: Web3) -> str | None:
            block = w3.eth.get_block(number)
            return "0x" + bytes(block["hash"]).hex() if block else None

        try:
            return self.connection.call(get)
        except BlockNotFound:  # past the head after a reorg to a shorter chain
            return None

    def _clear_projections(self, session: Session) -> None:
        for projection in self.projections:
            for table in reversed(projection.tables):
                session.exec(delete(table))

    def _replay(self, session: Session) -> None:
        """Rebuild every projection from the stored event log (no chain access)."""
        self._clear_projections(session)
        events = session.exec(
            select(ChainEvent)
            .where(ChainEvent.chain_id == self.chain_id)
            .order_by(col(ChainEvent.block_number), col(ChainEvent.log_index))
        ).all()
        for event in events:
            for projection in self.projections:
                projection.apply(session, event)


Handler = Callable[[Session, ChainEvent], None]


class HandlerProjection:
    """A projection given as ``{(contract, event): handler}``."""

    def __init__(self, tables: Sequence[type[SQLModel]], handlers: dict[tuple[str, str], Handler]) -> None:
        self.tables = tables
        self.handlers = handlers

    def apply(self, session: Session, event: ChainEvent) -> None:
        handler = self.handlers.get((event.contract, event.event))
        if handler is not None:
            handler(session, event)
