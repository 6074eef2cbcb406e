"""Errors as HTTP, in one place: a portal error answers its ``status`` with ``{error, message, ...}``; a contract's
refusal the status its error's category carries (``exc.http_status``) with ``{error, args}``; an unreachable chain
503; invalid input 422; a database that is full 507, or unreachable 503; a page's visitor without a session the
sign-in page (a 303 to ``/``)."""

from __future__ import annotations

import json
import logging
import sqlite3

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import OperationalError

from consortium_portal.errors import PortalError, RateLimitedError
from consortium_portal.http.deps import SignInFirst
from consortium_portal.http.render import to_sign_in
from node_adapter.exceptions import ChainUnavailableError, ContractRevert

logger = logging.getLogger(__name__)


def is_storage_full(exc: OperationalError) -> bool:
    """Whether the database refused a write for want of space (SQLite's SQLITE_FULL, PostgreSQL's disk_full)."""
    return getattr(exc.orig, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL or (
        getattr(exc.orig, "sqlstate", None) == "53100"
    )


def error_response(exc: PortalError) -> JSONResponse:
    headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, RateLimitedError) else None
    content = {"error": exc.code, "message": str(exc)} | exc.extra()
    return JSONResponse(status_code=exc.status, content=content, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    async def portal_error(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, PortalError)
        return error_response(exc)

    async def sign_in_first(_request: Request, _exc: Exception) -> Response:
        return to_sign_in()

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
    app.add_exception_handler(SignInFirst, sign_in_first)
    app.add_exception_handler(ContractRevert, contract_error)
    app.add_exception_handler(ChainUnavailableError, chain_down)
