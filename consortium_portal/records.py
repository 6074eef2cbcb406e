"""Members' own writes the portal prepares for their wallets: revoking or superseding a record, disputing another
member's record, registering a loan and reporting its repayment. Each write's evidence is salted, digested and kept
(the digest goes on chain); the portal checks who may do it for a clear 403, and the contract checks it again.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import Column, Text
from sqlalchemy.engine import Engine
from sqlmodel import Field as SqlField
from sqlmodel import Session, SQLModel

from consortium_portal.auth import Principal
from consortium_portal.errors import ForbiddenError, InvalidInputError, NotFoundError
from consortium_portal.models import utcnow
from node_adapter.clients import LoanTerms, Role, Suite
from node_adapter.encoding import SaltedDocument, canonical_json, subject_id, validate_vin
from node_adapter.errors import EncodingError
from node_adapter.readmodel import AttestationView, LoanView, MemberAccountView

ZERO = "0x" + "00" * 32


class WriteEvidence(SQLModel, table=True):
    """The evidence document behind a write the portal prepared (revocation reason, dispute, loan, repayment)."""

    __tablename__ = "portal_write_evidence"

    digest: str = SqlField(primary_key=True, max_length=66)
    member_id: int = SqlField(index=True)
    write: str = SqlField(max_length=32)
    document: str = SqlField(sa_column=Column(Text, nullable=False))
    created_at: datetime = SqlField(default_factory=utcnow)


class PreparedWrite(BaseModel):
    write: str
    evidence_digest: str | None
    evidence: dict[str, Any] | None
    transaction: dict[str, str] = Field(description="Send it from the account you signed in with.")


class RevokeRequest(BaseModel):
    reason: int = Field(ge=1, lt=2**16, description="The consortium's reason code.")
    superseded_by: str | None = Field(default=None, description="The correcting record (same kind), if any.")


class DisputeRequest(BaseModel):
    evidence: dict[str, Any] = Field(description="Why the record is wrong; salted and kept.")


class LoanRequest(BaseModel):
    vin: str
    principal: int = Field(gt=0, lt=2**128)
    outstanding: int = Field(ge=0, lt=2**128)
    baseline_value: int = Field(gt=0, lt=2**128)
    terms: LoanTerms
    evidence: dict[str, Any] = Field(default_factory=dict, description="The loan file; salted and kept.")


class RepaymentRequest(BaseModel):
    days_overdue: int = Field(ge=0, lt=2**16)
    outstanding: int = Field(ge=0, lt=2**128)
    evidence: dict[str, Any] = Field(default_factory=dict)


def revoke(*, engine: Engine, suite: Suite, principal: Principal, uid: str, request: RevokeRequest) -> PreparedWrite:
    """Revoke (or supersede) one of the caller's own records."""
    principal.require_write()
    row = _record(engine, uid)
    if row.attester != principal.account:
        raise ForbiddenError("only the account that attested a record may revoke it")
    if row.revoked_at is not None:
        raise InvalidInputError("the record is already revoked")
    superseded = ZERO
    if request.superseded_by is not None:
        new = _record(engine, request.superseded_by)
        if new.kind != row.kind:
            raise InvalidInputError("a record is superseded by a record of the same kind")
        superseded = new.uid
    data = suite.registry.calldata("revoke", row.uid, request.reason, superseded)
    return PreparedWrite(
        write="revoke", evidence_digest=None, evidence=None, transaction=_tx(suite.registry.address, data)
    )


def dispute(*, engine: Engine, suite: Suite, principal: Principal, uid: str, request: DisputeRequest) -> PreparedWrite:
    """Dispute another member's record, with evidence."""
    principal.require_write()
    row = _record(engine, uid)
    with Session(engine) as session:
        attester = session.get(MemberAccountView, row.attester)
    if attester is not None and attester.member_id == principal.member_id:
        raise ForbiddenError("a member cannot dispute its own record (revoke it instead)")
    digest, document = _keep(engine, principal, "dispute", {"record": row.uid, "evidence": request.evidence})
    data = suite.registry.calldata("openDispute", row.uid, digest)
    return PreparedWrite(
        write="dispute", evidence_digest=digest, evidence=document, transaction=_tx(suite.registry.address, data)
    )


def register_loan(
    *, engine: Engine, suite: Suite, principal: Principal, key: bytes, request: LoanRequest
) -> PreparedWrite:
    """A bank registers a loan against a vehicle (its lien stays pending until the DMV confirms it)."""
    principal.require_write()
    principal.require(int(Role.BANK), "registering a loan")
    try:
        vin = validate_vin(request.vin, check_digit=True)
    except EncodingError as exc:
        raise InvalidInputError(f"not a valid VIN: {exc}") from None
    if request.outstanding > request.principal:
        raise InvalidInputError("the outstanding balance exceeds the principal")
    subject = "0x" + subject_id(vin, key).hex()
    digest, document = _keep(
        engine,
        principal,
        "loan",
        {
            "vin": vin,
            "principal": request.principal,
            "outstanding": request.outstanding,
            "baseline_value": request.baseline_value,
            "terms": request.terms.model_dump(),
            **request.evidence,
        },
    )
    data = suite.collateral.calldata(
        "registerLoan", subject, request.principal, request.outstanding, request.baseline_value, request.terms, digest
    )
    return PreparedWrite(
        write="register_loan",
        evidence_digest=digest,
        evidence=document,
        transaction=_tx(suite.collateral.address, data),
    )


def report_repayment(
    *, engine: Engine, suite: Suite, principal: Principal, loan_id: int, request: RepaymentRequest
) -> PreparedWrite:
    """The loan's bank reports its repayment status (days overdue, outstanding)."""
    principal.require_write()
    with Session(engine) as session:
        loan = session.get(LoanView, loan_id)
    if loan is None:
        raise NotFoundError(f"no loan {loan_id}")
    if loan.bank_member_id != principal.member_id:
        raise ForbiddenError("only the loan's bank reports its repayment")
    digest, document = _keep(
        engine,
        principal,
        "repayment",
        {
            "loan_id": loan_id,
            "days_overdue": request.days_overdue,
            "outstanding": request.outstanding,
            **request.evidence,
        },
    )
    data = suite.collateral.calldata("reportRepayment", loan_id, request.days_overdue, request.outstanding, digest)
    return PreparedWrite(
        write="repayment", evidence_digest=digest, evidence=document, transaction=_tx(suite.collateral.address, data)
    )


def _record(engine: Engine, uid: str) -> AttestationView:
    text = uid.lower()
    if len(text) != 66 or not text.startswith("0x") or any(c not in "0123456789abcdef" for c in text[2:]):
        raise InvalidInputError("a record is named by its digest: 32 bytes of 0x-hex")
    with Session(engine) as session:
        row = session.get(AttestationView, text)
    if row is None:
        raise NotFoundError("no record with this digest is in the read model")
    return row


def _keep(engine: Engine, principal: Principal, write: str, document: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    try:
        salted = SaltedDocument.create(document)
    except EncodingError as exc:
        raise InvalidInputError(f"the evidence cannot be digested: {exc}") from None
    digest = "0x" + salted.digest.hex()
    text = canonical_json(salted.salted_document()).decode()
    with Session(engine) as session:
        session.add(WriteEvidence(digest=digest, member_id=principal.member_id, write=write, document=text))
        session.commit()
    return digest, json.loads(text)


def _tx(to: str, data: bytes) -> dict[str, str]:
    return {"to": to, "data": "0x" + data.hex()}
