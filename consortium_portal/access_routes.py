"""Routes of the data-sharing policy and the access receipts: the API (``/api/v1/policy``, ``/api/v1/policies``,
``/api/v1/access-receipts``) and the page ``/access``; thin, over access.py, receipts.py and anchor.py."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from consortium_portal import access, anchor, policy, receipts
from consortium_portal.api import ContextDep, PrincipalDep, get_context
from consortium_portal.proposals import PreparedTransaction
from consortium_portal.web import _page, _principal, _to_sign_in, templates
from node_adapter.bundle import ProofBundle

router = APIRouter(tags=["access"])
templates.env.filters["chain_time"] = lambda at: datetime.fromtimestamp(int(at), UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
pages = APIRouter(include_in_schema=False)

Digest = Annotated[str, Query(pattern=r"^0x[0-9a-fA-F]{64}$", description="A document's digest, 0x-hex.")]


@router.get("/api/v1/policy")
def policy_in_force(_principal: PrincipalDep, context: ContextDep) -> access.PolicyPublic:
    """The data-sharing policy in force: its version, digest, rules, and whether governance approved it."""
    return access.public(policy.in_force(context.engine, context.suite.membership.address))


@router.get("/api/v1/policies")
def policy_versions(_principal: PrincipalDep, context: ContextDep) -> list[access.PolicyVersionPublic]:
    """Every policy version the portal knows, with where its approval stands."""
    return access.versions(engine=context.engine, membership=context.suite.membership)


@router.post("/api/v1/policies", status_code=201)
def propose_policy(
    body: access.PolicyProposalRequest, principal: PrincipalDep, context: ContextDep
) -> PreparedTransaction:
    """A governor proposes a new policy version (JSON, or a TOML file's text): the proposal for its wallet, whose
    description digest is the policy's digest. The policy takes effect once the proposal is executed."""
    return access.propose(engine=context.engine, membership=context.suite.membership, principal=principal, request=body)


@router.get("/api/v1/access-receipts")
def access_receipts(
    *,
    principal: PrincipalDep,
    context: ContextDep,
    document: Annotated[str | None, Query(pattern=r"^0x[0-9a-fA-F]{64}$")] = None,
    reader_member_id: Annotated[int | None, Query(ge=1, le=2**53)] = None,
    before: Annotated[int | None, Query(ge=1, le=2**53)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[receipts.ReceiptPublic]:
    """Who read this member's documents (allowed and refused), when, why, under which policy version, and the batch
    each receipt is anchored in; newest first (``before``: a receipt id, to page back)."""
    return receipts.list_receipts(
        engine=context.engine,
        principal=principal,
        document=document,
        reader_member_id=reader_member_id,
        limit=limit,
        before=before,
    )


@router.get("/api/v1/access-receipts/status")
def receipts_status(_principal: PrincipalDep, context: ContextDep) -> anchor.ReceiptStatus:
    """How many access receipts are anchored on chain, how many wait, and what holds them back."""
    return anchor.receipt_status(context.engine, context.anchorer())


@router.get("/api/v1/access-receipts/bundle", response_model=ProofBundle)
def receipts_bundle(document: Digest, principal: PrincipalDep, context: ContextDep) -> Response:
    """The receipts bundle of one of this member's documents: every anchored receipt of a read of it with its Merkle
    proof, and every batch of receipts with its leaves. ``consortium verify-bundle FILE --rpc URL`` checks offline
    that each receipt is on chain and that no other receipt about the document was anchored by its block."""
    bundle = anchor.receipt_bundle(engine=context.engine, suite=context.suite, principal=principal, document=document)
    return Response(
        content=bundle.model_dump_json(by_alias=True),
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="receipts-{document[2:14].lower()}.bundle.json"'},
    )


@pages.get("/access", response_class=HTMLResponse)
def access_page(request: Request, document: str | None = None) -> Response:
    """Who read the member's documents, the policy in force, and how far anchoring got."""
    context = get_context(request)
    principal = _principal(request, context)
    if principal is None:
        return _to_sign_in()
    chosen = document if document and len(document) == 66 and document.startswith("0x") else None
    rows = receipts.list_receipts(engine=context.engine, principal=principal, document=chosen)
    return _page(
        request,
        "access.html",
        principal,
        receipts=rows,
        document=chosen,
        policy=access.public(policy.in_force(context.engine, context.suite.membership.address)),
        anchoring=anchor.receipt_status(context.engine),
    )
