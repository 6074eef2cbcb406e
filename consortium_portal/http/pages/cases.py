"""The case pages (``/cases``): the board, a case's timeline with the steps the member may take, and a step, sent
from the member's dev account on a dev chain or shown for its wallet."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from consortium_portal import board, case_actions
from consortium_portal.auth import Principal
from consortium_portal.context import PortalContext
from consortium_portal.errors import PortalError
from consortium_portal.http.deps import ContextDep, RowId, SignedInDep
from consortium_portal.http.pages.wallet import send_as_member
from consortium_portal.http.render import form_fields, page, refused
from node_adapter.exceptions import ContractRevert

router = APIRouter(prefix="/cases", include_in_schema=False)


@router.get("", response_class=HTMLResponse)
def cases(request: Request, context: ContextDep, principal: SignedInDep) -> Response:
    return _cases_page(request, context, principal, None)


@router.get("/{case_id}", response_class=HTMLResponse)
def case(request: Request, case_id: RowId, context: ContextDep, principal: SignedInDep) -> Response:
    return _cases_page(request, context, principal, case_id)


@router.post("/{case_id}/act")
async def case_act(request: Request, case_id: RowId, context: ContextDep, principal: SignedInDep) -> Response:
    """A step on the case: prepared by the portal, sent from the member's dev account (dev chains) or shown for the
    wallet to send."""
    form = await form_fields(request)
    try:
        number = {k: int(form[k]) for k in ("agency_member_id", "amount") if form.get(k, "").isdigit()}
        prepared = case_actions.prepare_action(
            engine=context.engine,
            suite=context.suite,
            principal=principal,
            case_id=case_id,
            request=case_actions.CaseActionRequest(
                action=form.get("action", ""),
                evidence={"note": form.get("note", "")},
                **number,
            ),
        )
    except ValidationError as exc:
        return _cases_page(
            request, context, principal, case_id, status=422, error=f"not a case action: {exc.errors()[0]['msg']}"
        )
    except (PortalError, ContractRevert) as exc:
        return _cases_page(request, context, principal, case_id, **refused(exc))
    key = f"portal:case:{prepared.evidence_digest}"
    if send_as_member(context, principal, context.suite.collateral, key, prepared.transaction["data"]):
        return RedirectResponse(f"/cases/{case_id}", status_code=303)
    return _cases_page(request, context, principal, case_id, prepared=prepared)


def _cases_page(
    request: Request,
    context: PortalContext,
    principal: Principal,
    case_id: int | None,
    status: int = 200,
    **extra: Any,
) -> Response:
    """The board (``case_id`` None) or one case's timeline."""
    try:
        if case_id is None:
            values: dict[str, Any] = {"cases": board.cases(engine=context.engine, principal=principal, state=None)}
        else:
            timeline = board.case_timeline(engine=context.engine, principal=principal, case_id=case_id)
            is_bank = timeline.bank_member_id == principal.member_id
            is_agency = timeline.agency_member_id == principal.member_id
            actions = sorted(
                (case_actions.BANK_ACTIONS if is_bank else frozenset())
                | (case_actions.AGENCY_ACTIONS if is_agency else frozenset())
            )
            values = {"case": timeline, "actions": actions}
    except PortalError as exc:
        return page(request, "cases.html", principal, status=exc.status, cases=[], error=str(exc))
    return page(request, "cases.html", principal, status=status, **values, **extra)
