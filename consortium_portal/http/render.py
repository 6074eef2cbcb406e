"""How the pages answer: the Jinja2 templates (``consortium_portal/templates``), a page with the signed-in member,
the redirect to sign in, and what a page reads from its form (fields, an uploaded file, the first validation error,
why a write was refused)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError
from starlette.datastructures import UploadFile

from consortium_portal.auth import Principal
from consortium_portal.errors import InvalidInputError, PortalError
from node_adapter.exceptions import ContractRevert

templates = Jinja2Templates(directory=str(Path(__file__).resolve().parent.parent / "templates"))
templates.env.filters["chain_time"] = lambda at: datetime.fromtimestamp(int(at), UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def page(request: Request, name: str, principal: Principal | None, status: int = 200, **values: Any) -> HTMLResponse:
    """The template ``name`` rendered with ``values`` and the signed-in member (``me``)."""
    me = {"member_id": principal.member_id, "roles": principal.role_names} if principal else None
    return templates.TemplateResponse(request, name, {"me": me, **values}, status_code=status)


def to_sign_in() -> RedirectResponse:
    return RedirectResponse("/", status_code=303)


async def form_fields(request: Request) -> dict[str, str]:
    """A urlencoded form's fields (the first value of each)."""
    body = (await request.body()).decode("utf-8", errors="replace")
    return {key: values[0] for key, values in parse_qs(body, keep_blank_values=True).items()}


async def uploaded(request: Request, missing: str) -> UploadFile:
    """The file a form uploads in its field ``file`` (:class:`InvalidInputError` saying ``missing`` without one)."""
    form = await request.form(max_files=1, max_fields=4)
    upload = form.get("file")
    if upload is None or isinstance(upload, str):
        raise InvalidInputError(missing)
    return upload


def first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"])
    return f"{where}: {error['msg']}" if where else str(error["msg"])


def refused(exc: PortalError | ContractRevert) -> dict[str, Any]:
    """The status and message of a page that shows why a write was refused (by the portal or by the contract)."""
    if isinstance(exc, ContractRevert):
        return {"status": exc.http_status, "error": f"the contract refuses this: {exc}"}
    return {"status": exc.status, "error": str(exc)}
