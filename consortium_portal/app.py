"""The portal's FastAPI application: ``create_app()``, its context (database, chain, deployment), errors as HTTP.

``create_app()`` with no arguments reads the settings at start-up (lifespan) and opens everything then; tests and
``consortium up`` build a :class:`PortalContext` themselves and pass it in. Nothing is opened at import time.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar
from urllib.parse import urlsplit

from eth_account import Account
from eth_account.signers.local import LocalAccount
from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from web3 import Web3
from web3.types import RPCEndpoint

from consortium_portal.anchor import ReceiptAnchorer, ReceiptBatch, ReceiptInBatch, run_in_background
from consortium_portal.case_actions import CaseEvidence
from consortium_portal.errors import PortalError, RateLimitedError
from consortium_portal.files import PortalFile
from consortium_portal.intake.service import IntakeScan
from consortium_portal.models import ApiKey, MembershipApplication, PortalDocument, PortalSession, SignInChallenge
from consortium_portal.policy import PolicyVersion, default_policy, keep_policy
from consortium_portal.ratelimit import RateLimiter
from consortium_portal.receipts import AccessReceipt
from consortium_portal.records import WriteEvidence
from consortium_portal.settings import PortalSettings
from node_adapter.clients import Authorization, Suite
from node_adapter.connection import ChainConnection
from node_adapter.db import create_tables
from node_adapter.deploy import Deployment
from node_adapter.dev.devchain import DEV_WALLET_SIZE
from node_adapter.dev.localchain import DEV_MNEMONIC, dev_accounts
from node_adapter.exceptions import (
    ChainError,
    ChainUnavailableError,
    ContractRevert,
)
from node_adapter.indexer import EventIndexer, IndexerCheckpoint
from node_adapter.runtime import Runtime
from node_adapter.settings import DEV_CHAIN_IDS, NodeAdapterSettings, get_settings
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
    subject_key: bytes
    relayer: LocalAccount
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
        from consortium_portal.auth import issue_challenge  # noqa: PLC0415 (auth imports nothing of the app)

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


def create_app(context: PortalContext | None = None, *, index: bool = True) -> ASGIApp:
    """The portal. Without a context, one is opened from the environment's settings at start-up."""
    from consortium_portal import risk_routes  # noqa: PLC0415
    from consortium_portal.access_routes import pages as access_pages  # noqa: PLC0415
    from consortium_portal.access_routes import router as access_router  # noqa: PLC0415
    from consortium_portal.api import router  # noqa: PLC0415 (routes import this module's context type)
    from consortium_portal.governance import router as governance_router  # noqa: PLC0415
    from consortium_portal.intake.pages import UPLOAD_PATH  # noqa: PLC0415
    from consortium_portal.intake.pages import router as intake_pages  # noqa: PLC0415
    from consortium_portal.intake.routes import router as intake_router  # noqa: PLC0415
    from consortium_portal.web import router as web_router  # noqa: PLC0415

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        own = context is None
        ctx = context or PortalContext.open(PortalSettings(), get_settings())
        app.state.context = ctx
        if own and index:
            ctx.start_background()
        try:
            yield
        finally:
            if own:
                ctx.stop_background()

    app = FastAPI(
        title="Vehicle Evidence Consortium portal",
        version="1",
        summary="Members sign in with their chain account; banks verify vehicles; every fact is checkable on chain.",
        lifespan=lifespan,
    )
    if context is not None:
        app.state.context = context
    _install_error_handlers(app)

    app.include_router(governance_router)
    app.include_router(router)
    app.include_router(risk_routes.router)
    app.include_router(web_router)
    app.include_router(intake_router)  # document intake (consortium_portal/intake)
    app.include_router(access_router)  # data-sharing policy and access receipts (access_routes.py)
    app.include_router(access_pages)
    app.include_router(intake_pages)  # the intake pages (consortium_portal/intake/pages.py)
    settings = context.settings if context is not None else PortalSettings()
    return BodyLimit(
        app,
        settings.max_body_bytes,
        larger=dict.fromkeys(("/api/v1/files", "/attest/file", UPLOAD_PATH), settings.max_file_bytes),
    )


class BodyLimit:
    """Refuses a request body larger than ``limit`` bytes with 413, before the application reads it: by its
    Content-Length, or, for a chunked body, by counting it as it streams in (up to the limit, it is then replayed)."""

    def __init__(self, app: FastAPI, limit: int, *, larger: dict[str, int] | None = None) -> None:
        self.app = app
        self.limit = limit
        self.larger = larger or {}
        """Paths (exact) that take a larger body (file uploads)."""

    @property
    def state(self) -> Any:
        return self.app.state

    def openapi(self) -> dict[str, Any]:
        return self.app.openapi()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.larger.get(scope.get("path", ""), self.limit)
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._refuse(send, limit)
            return
        if declared is not None:
            await self.app(scope, receive, send)  # the server holds the body to its declared length
            return
        chunks: list[bytes] = []  # a streamed body: read it here, up to the limit, then hand it on
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                await self.app(scope, _replay([message], receive), send)
                return
            size += len(message.get("body", b""))
            if size > limit:
                await self._refuse(send, limit)
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = {"type": "http.request", "body": b"".join(chunks), "more_body": False}
        await self.app(scope, _replay([body], receive), send)

    async def _refuse(self, send: Send, limit: int) -> None:
        response = JSONResponse(
            status_code=413,
            content={"error": "too_large", "message": f"the request body is larger than {limit} bytes"},
        )
        await response({"type": "http"}, _no_body, send)


def _replay(messages: list[Message], then: Receive) -> Receive:
    """``messages`` first, then whatever the client sends next (a disconnect)."""
    pending = list(messages)

    async def receive() -> Message:
        if pending:
            return pending.pop(0)
        return await then()

    return receive


async def _no_body() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


def is_storage_full(exc: OperationalError) -> bool:
    """Whether the database refused a write for want of space (SQLite's SQLITE_FULL, PostgreSQL's disk_full)."""
    return getattr(exc.orig, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL or (
        getattr(exc.orig, "sqlstate", None) == "53100"
    )


def _error_response(exc: PortalError) -> JSONResponse:
    headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, RateLimitedError) else None
    content = {"error": exc.code, "message": str(exc)} | exc.extra()
    return JSONResponse(status_code=exc.status, content=content, headers=headers)


def _install_error_handlers(app: FastAPI) -> None:
    async def portal_error(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, PortalError)
        return _error_response(exc)

    async def contract_error(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ContractRevert)
        return JSONResponse(status_code=exc.http_status, content=exc.to_json())

    async def chain_down(_request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse(
            status_code=503, content={"error": "chain_unavailable", "message": str(exc)}, headers={"Retry-After": "5"}
        )

    async def invalid_request(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        errors = jsonable_encoder(exc.errors())
        where = "; ".join(".".join(str(p) for p in e.get("loc", ())) + ": " + str(e.get("msg")) for e in errors[:5])
        body = {"error": "invalid_input", "message": where, "detail": errors}
        # ASCII-escaped: a lone surrogate echoed back from the request must not break the response
        return Response(
            json.dumps(body, ensure_ascii=True, default=str), status_code=422, media_type="application/json"
        )

    async def database_error(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, OperationalError)
        if is_storage_full(exc):
            logger.error("the database has no space left: %s", exc.orig)
            message = "the portal's storage is full: nothing of this request was stored; try again once space is freed"
            return JSONResponse(status_code=507, content={"error": "storage_full", "message": message})
        logger.warning("the database is unreachable: %s", exc.orig)
        message = "the portal's database cannot be reached just now: nothing of this request was stored; try again"
        return JSONResponse(
            status_code=503, content={"error": "database_unavailable", "message": message}, headers={"Retry-After": "5"}
        )

    app.add_exception_handler(OperationalError, database_error)
    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_exception_handler(PortalError, portal_error)
    app.add_exception_handler(ContractRevert, contract_error)
    app.add_exception_handler(ChainUnavailableError, chain_down)
