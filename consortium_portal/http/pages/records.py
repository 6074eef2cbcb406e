"""A member's own records (``/records``): revoking or superseding one, disputing another member's; each write sent
from the member's dev account on a dev chain, else shown for its wallet (``wallet.member_write``)."""

from __future__ import annotations

from functools import partial
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from consortium_portal import records
from consortium_portal.auth import Principal
from consortium_portal.context import PortalContext
from consortium_portal.errors import InvalidInputError
from consortium_portal.http.deps import ContextDep, SignedInDep
from consortium_portal.http.pages.wallet import member_write
from consortium_portal.http.render import page
from node_adapter.clients import RevokeReason

router = APIRouter(prefix="/records", include_in_schema=False)


@router.get("", response_class=HTMLResponse)
def records_page(request: Request, context: ContextDep, principal: SignedInDep) -> Response:
    return _records_page(request, context, principal)


@router.post("/{uid}/revoke")
async def records_revoke(request: Request, uid: str, context: ContextDep, principal: SignedInDep) -> Response:
    def prepare(context: PortalContext, principal: Principal, form: dict[str, str]) -> records.PreparedWrite:
        reason = form.get("reason", "")
        if not reason.isdigit():
            raise InvalidInputError("choose a reason for the revocation")
        revocation = records.RevokeRequest(
            reason=int(reason), superseded_by=form.get("superseded_by", "").strip() or None
        )
        return records.revoke(
            engine=context.engine, suite=context.suite, principal=principal, uid=uid, request=revocation
        )

    return await member_write(
        request,
        context,
        principal,
        prepare,
        what="a revocation",
        page=partial(_records_page, request, context, principal),
        sent=lambda: RedirectResponse("/records", 303),
    )


@router.get("/{uid}/dispute", response_class=HTMLResponse)
def records_dispute_form(request: Request, uid: str, context: ContextDep, principal: SignedInDep) -> Response:
    return _records_page(request, context, principal, dispute=uid)


@router.post("/{uid}/dispute")
async def records_dispute(request: Request, uid: str, context: ContextDep, principal: SignedInDep) -> Response:
    def prepare(context: PortalContext, principal: Principal, form: dict[str, str]) -> records.PreparedWrite:
        why = form.get("why", "").strip()
        if not why:
            raise InvalidInputError("say why the record is wrong: the evidence is kept and its digest goes on chain")
        dispute = records.DisputeRequest(evidence={"why": why})
        return records.dispute(
            engine=context.engine, suite=context.suite, principal=principal, uid=uid, request=dispute
        )

    return await member_write(
        request,
        context,
        principal,
        prepare,
        what="a dispute",
        page=lambda **values: _records_page(request, context, principal, **({"dispute": uid} | values)),
        sent=lambda: _records_page(request, context, principal, disputed=uid),
    )


def _records_page(
    request: Request, context: PortalContext, principal: Principal, status: int = 200, **extra: Any
) -> Response:
    rows = records.own_records(engine=context.engine, principal=principal)
    reasons = [{"code": r.value, "name": r.name.lower()} for r in RevokeReason]
    return page(request, "records.html", principal, status=status, records=rows, reasons=reasons, **extra)
