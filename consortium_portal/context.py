"""The portal's context: what every request needs (settings, the database, the chain, the deployed suite, the rate
limiters, the caches) and the portal's background work (the indexer, the outbox's worker, the receipts' anchoring).

:meth:`PortalContext.open` connects and creates the portal's tables (:func:`create_portal_schema`);
``app.create_app()`` opens one at start-up when it is given none (tests and ``consortium up`` open their own and pass
it in). It imports no router: the routers reach it through ``http/deps.py``. Nothing is opened at import time.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar
from urllib.parse import urlsplit

from eth_account import Account
from eth_account.signers.local import LocalAccount
from sqlalchemy.engine import Engine
from sqlmodel import Session
from web3 import Web3
from web3.types import RPCEndpoint

from consortium_portal.anchor import ReceiptAnchorer, run_in_background
from consortium_portal.auth import issue_challenge
from consortium_portal.models import (
    AccessReceipt,
    ApiKey,
    CaseEvidence,
    IntakeScan,
    MembershipApplication,
    PolicyVersion,
    PortalDocument,
    PortalFile,
    PortalSession,
    ReceiptBatch,
    ReceiptInBatch,
    SignInChallenge,
    WriteEvidence,
)
from consortium_portal.policy import default_policy, keep_policy
from consortium_portal.ratelimit import RateLimiter
from consortium_portal.settings import PortalSettings
from node_adapter.clients import Authorization, Suite
from node_adapter.connection import ChainConnection
from node_adapter.db import create_tables
from node_adapter.deploy import Deployment
from node_adapter.dev.devchain import DEV_WALLET_SIZE
from node_adapter.dev.localchain import DEV_MNEMONIC, dev_accounts
from node_adapter.exceptions import ChainError, ChainUnavailableError
from node_adapter.indexer import EventIndexer, IndexerCheckpoint
from node_adapter.runtime import Runtime
from node_adapter.settings import DEV_CHAIN_IDS, NodeAdapterSettings
from node_adapter.shared.health import create_health_schema
from node_adapter.shared.risk import create_risk_schema

logger = logging.getLogger(__name__)

K = TypeVar("K")
V = TypeVar("V")


class LruCache(Generic[K, V]):
    """A small thread-safe least-recently-used map."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: K, value: V) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)


def create_portal_schema(engine: Engine) -> None:
    """Create the portal's tables (idempotent)."""
    create_tables(
        engine,
        SignInChallenge,
        PortalSession,
        ApiKey,
        PortalDocument,
        CaseEvidence,
        MembershipApplication,
        WriteEvidence,
        PortalFile,
        IntakeScan,  # intake (consortium_portal/intake)
        PolicyVersion,  # data-sharing policy and access receipts (policy.py, receipts.py, anchor.py)
        AccessReceipt,
        ReceiptBatch,
        ReceiptInBatch,
    )
    keep_policy(engine, default_policy(), "default")


@dataclass
class PortalContext:
    """What every request needs: settings, the database, the chain and the deployed suite."""

    settings: PortalSettings
    runtime: Runtime
    deployment: Deployment
    suite: Suite
    subject_key: bytes = field(repr=False)
    """The consortium's key that turns a VIN into its subject id: a secret, kept out of every repr."""
    relayer: LocalAccount = field(repr=False)
    """The portal's own account: it relays what members signed (it needs no role; records are the signers')."""
    member_limiter: RateLimiter
    ip_limiter: RateLimiter
    _indexer_stop: threading.Event = field(default_factory=threading.Event)
    _indexer_thread: threading.Thread | None = None
    _worker_thread: threading.Thread | None = None
    _worker_stop: threading.Event | None = None
    _anchor_thread: threading.Thread | None = None
    _authorizations: LruCache[tuple[str, int], Authorization] = field(default_factory=lambda: LruCache(4096))
    reports: LruCache[tuple[str, int], tuple[bytes, int]] = field(default_factory=lambda: LruCache(1024))
    """Serialised vehicle reports by (subject, indexed block), with the chain time until which they hold."""

    @property
    def engine(self) -> Engine:
        return self.runtime.engine

    @property
    def connection(self) -> ChainConnection:
        return self.runtime.connection

    @classmethod
    def open(cls, settings: PortalSettings, node_settings: NodeAdapterSettings) -> PortalContext:
        """Connect to the configured chain and database and find the recorded deployment."""
        runtime = Runtime.open(node_settings)
        create_portal_schema(runtime.engine)
        create_health_schema(runtime.engine)
        create_risk_schema(runtime.engine)
        deployment = runtime.deployment()
        return cls(
            settings=settings,
            runtime=runtime,
            deployment=deployment,
            suite=Suite.from_deployment(runtime.connection, deployment),
            subject_key=node_settings.subject_key(runtime.connection.chain_id),
            relayer=runtime.signer(),
            member_limiter=RateLimiter(settings.member_rate, "for this member"),
            ip_limiter=RateLimiter(settings.ip_rate, "from this address"),
        )

    def indexer(self) -> EventIndexer:
        return self.runtime.indexer(self.deployment)

    def anchorer(self) -> ReceiptAnchorer:
        """The job that anchors access receipts in Merkle batches from the portal's account (anchor.py)."""
        return ReceiptAnchorer(
            engine=self.engine,
            suite=self.suite,
            outbox=self.runtime.outbox,
            sender=self.relayer.address,
            batch_size=self.settings.receipt_batch_size,
        )

    def head(self) -> tuple[int, int]:
        """The chain's latest block: (number, timestamp). A raw request: web3's block formatting costs more than the
        round trip, and this runs on every request."""

        def latest(w3: Web3) -> tuple[int, int]:
            response = w3.provider.make_request(RPCEndpoint("eth_getBlockByNumber"), ["latest", False])
            block = response.get("result") if isinstance(response, dict) else None
            if not isinstance(block, dict):
                raise ChainError(f"the node answered eth_getBlockByNumber with {str(response)[:200]}")
            return int(block["number"], 16), int(block["timestamp"], 16)

        return self.connection.call(latest)

    def authorizer(self, block: int) -> Callable[[str], Authorization]:
        """``Membership.authorize`` as of ``block``: asked once per account and block (rights change only in a
        block, so a suspension still takes effect at the first request that sees its block)."""

        def authorize(account: str) -> Authorization:
            cached = self._authorizations.get((account, block))
            if cached is None:
                cached = self.suite.membership.authorize(account)
                self._authorizations.put((account, block), cached)
            return cached

        return authorize

    def challenge(self, address: str) -> SignInChallenge:
        """A one-time sign-in message for ``address``, naming this portal and chain."""
        uri = self.settings.url()
        return issue_challenge(
            engine=self.engine,
            address=address,
            domain=urlsplit(uri).netloc,
            uri=uri,
            chain_id=self.connection.chain_id,
            ttl=self.settings.challenge_ttl,
        )

    def indexed_block(self) -> int | None:
        """The last block the read model has folded in."""
        with Session(self.engine) as session:
            checkpoint = session.get(IndexerCheckpoint, self.indexer_name)
        return checkpoint.block_number if checkpoint is not None else None

    @property
    def indexer_name(self) -> str:
        return f"{self.deployment.network}-run{self.deployment.run}"

    def start_background(self) -> None:
        """Follow the chain into the read model, and relay members' signed writes through the outbox, in background
        threads (one indexer per database: see docs/portal.md)."""
        indexer = self.indexer()
        interval = self.settings.index_interval

        def follow() -> None:
            while not self._indexer_stop.is_set():
                try:
                    if indexer.run_once() == 0:
                        self._indexer_stop.wait(interval)
                except ChainUnavailableError as exc:
                    logger.warning("indexer waiting for a chain node: %s", exc)
                    self._indexer_stop.wait(max(interval, 1.0))
                except Exception:  # a bug or a database hiccup must not end indexing: log, pause, go on
                    logger.exception("indexer pass failed; retrying")
                    self._indexer_stop.wait(max(interval, 1.0))

        self._indexer_stop.clear()
        self._indexer_thread = threading.Thread(target=follow, name="portal-indexer", daemon=True)
        self._indexer_thread.start()
        signers = [self.relayer]
        if self.settings.dev_signing and self.connection.chain_id in DEV_CHAIN_IDS:  # the pages' dev wallet
            signers += [Account.from_key(a.private_key) for a in dev_accounts(DEV_WALLET_SIZE, DEV_MNEMONIC)]
        self._worker_thread, self._worker_stop = self.runtime.worker(signers).start()
        self._anchor_thread = run_in_background(self.anchorer(), self._indexer_stop, self.settings.receipt_interval)

    def stop_background(self) -> None:
        self._indexer_stop.set()
        if self._worker_stop is not None:
            self._worker_stop.set()
        for thread in (self._indexer_thread, self._worker_thread, self._anchor_thread):
            if thread is not None:
                thread.join(timeout=30)
        self._indexer_thread = self._worker_thread = self._anchor_thread = None
