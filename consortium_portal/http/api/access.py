"""The data-sharing policy and the access receipts (``/api/v1``): the policy in force, its versions, proposing one,
the receipts of reads of a member's documents, how far their anchoring got, and a document's receipts bundle; thin
routes over access.py, receipts.py and anchor.py (the page ``/access`` is ``http/pages/access.py``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from consortium_portal import access, anchor, policy, receipts
from consortium_portal.http.deps import API, ContextDep, PrincipalDep
from consortium_portal.proposals import PreparedTransaction
from node_adapter.bundle import ProofBundle

router = APIRouter(prefix=API, tags=["access"])

Digest = Annotated[str, Query(pattern=r"^0x[0-9a-fA-F]{64}$", description="A document's digest, 0x-hex.")]


@router.get("/policy")
def policy_in_force(_principal: PrincipalDep, context: ContextDep) -> access.PolicyPublic:
    """The data-sharing policy in force: its version, digest, rules, and whether governance approved it."""
    return access.public(policy.in_force(context.engine, context.suite.membership.address))


@router.get("/policies")
def policy_versions(_principal: PrincipalDep, context: ContextDep) -> list[access.PolicyVersionPublic]:
    """Every policy version the portal knows, with where its approval stands."""
    return access.versions(engine=context.engine, membership=context.suite.membership)


@router.post("/policies", status_code=201)
def propose_policy(
    body: access.PolicyProposalRequest, principal: PrincipalDep, context: ContextDep
) -> PreparedTransaction:
    """A governor proposes a new policy version (JSON, or a TOML file's text): the proposal for its wallet, whose
    description digest is the policy's digest. The policy takes effect once the proposal is executed."""
    return access.propose(engine=context.engine, membership=context.suite.membership, principal=principal, request=body)


@router.get("/access-receipts")
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


@router.get("/access-receipts/status")
def receipts_status(_principal: PrincipalDep, context: ContextDep) -> anchor.ReceiptStatus:
    """How many access receipts are anchored on chain, how many wait, and what holds them back."""
    return anchor.receipt_status(context.engine, context.anchorer())


@router.get("/access-receipts/bundle", response_model=ProofBundle)
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
