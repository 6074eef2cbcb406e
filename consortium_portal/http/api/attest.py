"""Attesting (``/api/v1``): the kinds, preparing a record, relaying its signature, where it stands, and reading a
document with its salt; thin routes over attest.py."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Request
from pydantic import BaseModel, Field

from consortium_portal import attest
from consortium_portal.attest import AttestRequest, PreparedAttestation, RelayRequest
from consortium_portal.http.deps import API, ContextDep, PrincipalDep, ReaderDep, RowId
from consortium_portal.kinds import CATALOGUE
from node_adapter.clients import role_names

router = APIRouter(prefix=API, tags=["attest"])


class KindPublic(BaseModel):
    kind: int
    name: str
    roles: list[str]
    odometer: bool
    schema_digest: str
    registered: bool
    schema_: dict[str, object] = Field(alias="schema")


@router.get("/kinds")
def kinds(_principal: PrincipalDep, context: ContextDep) -> list[KindPublic]:
    """The kinds the portal attests, each with its record's JSON schema and whether the chain has it registered
    with that schema."""
    out = []
    for spec in CATALOGUE.values():
        view = context.suite.registry.get_kind(spec.kind)
        registered = view.kind.exists and view.kind.active and view.schema_digest.lower() == spec.schema_digest
        out.append(
            KindPublic(
                kind=spec.kind,
                name=spec.name,
                roles=list(role_names(int(spec.roles))),
                odometer=spec.odometer,
                schema_digest=spec.schema_digest,
                registered=registered,
                schema=spec.schema,
            )
        )
    return out


@router.post("/attestations", status_code=201)
def prepare_attestation(
    body: AttestRequest,
    request: Request,
    principal: PrincipalDep,
    context: ContextDep,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> PreparedAttestation:
    """Validate a record against its kind's schema, salt it, store it, and answer what the attester signs (or the
    transaction it may send itself). The same ``Idempotency-Key`` answers the same prepared record."""
    _block, now = request.state.head
    return attest.prepare(
        engine=context.engine,
        suite=context.suite,
        principal=principal,
        request=body,
        key=context.subject_key,
        now=now,
        idempotency_key=idempotency_key,
    )


@router.post("/attestations/{document_id}/signature")
def relay_attestation(
    document_id: RowId, body: RelayRequest, request: Request, principal: PrincipalDep, context: ContextDep
) -> PreparedAttestation:
    """The attester's EIP-712 signature: checked, then relayed to the chain through the outbox (sending it again
    changes nothing)."""
    _block, now = request.state.head
    return attest.relay(
        engine=context.engine,
        suite=context.suite,
        outbox=context.runtime.outbox,
        relayer=context.relayer.address,
        principal=principal,
        document_id=document_id,
        signature=body.signature,
        now=now,
    )


@router.get("/attestations/{document_id}")
def attestation_status(document_id: RowId, principal: PrincipalDep, context: ContextDep) -> PreparedAttestation:
    """Where a record this member prepared stands: prepared, relayed, confirmed or failed (with the reason)."""
    return attest.status(
        engine=context.engine,
        suite=context.suite,
        outbox=context.runtime.outbox,
        principal=principal,
        document_id=document_id,
    )


@router.get("/documents/{digest}")
def read_document(digest: str, reader: ReaderDep, context: ContextDep) -> dict[str, object]:
    """A document's content with its salt, for those the data-sharing policy lets read it (by default the attester's
    member, a bank lending on the vehicle, the agency assigned to its case); every read leaves an access receipt."""
    return attest.read_document(engine=context.engine, reader=reader, digest=digest)
