"""The access page (``/access``): who read the member's documents, the data-sharing policy in force, and how far
the receipts' anchoring got; over access.py, receipts.py and anchor.py."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from consortium_portal import access, anchor, policy, receipts
from consortium_portal.http.deps import ContextDep, SignedInDep
from consortium_portal.http.render import page

router = APIRouter(include_in_schema=False)


@router.get("/access", response_class=HTMLResponse)
def access_page(request: Request, context: ContextDep, principal: SignedInDep, document: str | None = None) -> Response:
    """Who read the member's documents, the policy in force, and how far anchoring got."""
    chosen = document if document and len(document) == 66 and document.startswith("0x") else None
    rows = receipts.list_receipts(engine=context.engine, principal=principal, document=chosen)
    return page(
        request,
        "access.html",
        principal,
        receipts=rows,
        document=chosen,
        policy=access.public(policy.in_force(context.engine, context.suite.membership.address)),
        anchoring=anchor.receipt_status(context.engine),
    )
