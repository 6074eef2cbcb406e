"""A member's own records (``/api/v1``): the records it attested, revoking or superseding one, disputing another's,
and reading a write's evidence; thin routes over records.py."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from consortium_portal import records
from consortium_portal.http.deps import API, ContextDep, PrincipalDep, ReaderDep

router = APIRouter(prefix=API, tags=["attest"])


@router.get("/records")
def own_records(principal: PrincipalDep, context: ContextDep) -> list[records.OwnRecord]:
    """The newest 200 records the account you signed in with attested (the records it may revoke or supersede)."""
    return records.own_records(engine=context.engine, principal=principal)


@router.post("/attestations/{uid}/revocation")
def revoke_record(
    uid: str, body: records.RevokeRequest, principal: PrincipalDep, context: ContextDep
) -> records.PreparedWrite:
    """Revoke one of your records (or supersede it by a correcting record of the same kind): the transaction."""
    return records.revoke(engine=context.engine, suite=context.suite, principal=principal, uid=uid, request=body)


@router.post("/attestations/{uid}/dispute")
def dispute_record(
    uid: str, body: records.DisputeRequest, principal: PrincipalDep, context: ContextDep
) -> records.PreparedWrite:
    """Dispute another member's record with evidence (governance resolves it): the transaction."""
    return records.dispute(engine=context.engine, suite=context.suite, principal=principal, uid=uid, request=body)


@router.get("/evidence/{digest}")
def read_evidence(digest: str, reader: ReaderDep, context: ContextDep) -> dict[str, Any]:
    """The salted evidence of a dispute, a loan or a repayment report the portal prepared: by default for the member
    that wrote it, governors, and (a dispute's) the disputed record's attester; every read leaves an access receipt."""
    return records.read_evidence(engine=context.engine, reader=reader, key=context.subject_key, digest=digest)
