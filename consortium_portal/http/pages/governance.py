"""The governors' pages: the applications to join (``/applications``), proposing an admission, voting on a proposal
and executing it; each step sent from the governor's dev account on a dev chain, else shown for its wallet."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from eth_utils.crypto import keccak
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from consortium_portal import applications, proposals
from consortium_portal.auth import Principal
from consortium_portal.context import PortalContext
from consortium_portal.errors import PortalError
from consortium_portal.http.deps import ContextDep, RowId, SignedInDep
from consortium_portal.http.pages.wallet import send_as_member
from consortium_portal.http.render import form_fields, page, refused
from node_adapter.exceptions import ContractRevert

router = APIRouter(include_in_schema=False)


@router.get("/applications", response_class=HTMLResponse)
def applications_page(request: Request, context: ContextDep, principal: SignedInDep) -> Response:
    return _applications_page(request, context, principal)


@router.post("/applications/{application_id}/propose")
def applications_propose(
    request: Request, application_id: RowId, context: ContextDep, principal: SignedInDep
) -> Response:
    return _governor_step(
        request,
        context,
        principal,
        lambda c, p: proposals.propose_admission(
            engine=c.engine, membership=c.suite.membership, principal=p, application_id=application_id
        ),
    )


@router.post("/proposals/{proposal_id}/vote")
async def proposals_vote(request: Request, proposal_id: RowId, context: ContextDep, principal: SignedInDep) -> Response:
    support = (await form_fields(request)).get("support") == "true"
    return _governor_step(
        request,
        context,
        principal,
        lambda c, p: proposals.vote(
            membership=c.suite.membership, principal=p, proposal_id=proposal_id, support=support
        ),
    )


@router.post("/proposals/{proposal_id}/execute")
def proposals_execute(request: Request, proposal_id: RowId, context: ContextDep, principal: SignedInDep) -> Response:
    return _governor_step(
        request,
        context,
        principal,
        lambda c, p: proposals.execute(membership=c.suite.membership, principal=p, proposal_id=proposal_id),
    )


def _governor_step(
    request: Request,
    context: PortalContext,
    principal: Principal,
    prepare: Callable[[PortalContext, Principal], proposals.PreparedTransaction],
) -> Response:
    """A governor's transaction: sent from its dev account on a dev chain, else shown for its wallet."""
    try:
        prepared = prepare(context, principal)
    except (PortalError, ContractRevert) as exc:
        return _applications_page(request, context, principal, **refused(exc))
    key = f"portal:governance:{principal.account}:{keccak(hexstr=prepared.data).hex()}"
    if send_as_member(context, principal, context.suite.membership, key, prepared.data):
        return RedirectResponse("/applications", status_code=303)
    return _applications_page(request, context, principal, prepared=prepared)


def _applications_page(
    request: Request, context: PortalContext, principal: Principal, status: int = 200, **extra: Any
) -> Response:
    try:
        proposals.require_governor(principal, "the applications")
        rows = applications.list_applications(engine=context.engine, membership=context.suite.membership)
    except PortalError as exc:
        return page(request, "applications.html", principal, status=exc.status, applications=[], error=str(exc))
    return page(request, "applications.html", principal, status=status, applications=rows, **extra)
