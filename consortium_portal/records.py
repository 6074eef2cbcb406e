"""Members' own writes the portal prepares for their wallets: revoking or superseding a record, disputing another
member's record, registering a loan and reporting its repayment. Each write's evidence is salted, digested and kept
(the digest goes on chain); the portal checks who may do it for a clear 403, and the contract checks it again.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from consortium_portal.auth import Principal
from consortium_portal.errors import ForbiddenError, InvalidInputError, NotFoundError
from consortium_portal.kinds import CATALOGUE
from consortium_portal.models import PortalDocument, WriteEvidence
from consortium_portal.policy import Target
from consortium_portal.receipts import Reader, check_read
from node_adapter.clients import ContractClient, LoanTerms, RevokeReason, Role, Suite
from node_adapter.encoding import SaltedDocument, canonical_json, subject_id, validate_vin
from node_adapter.exceptions import EncodingError
from node_adapter.readmodel import AttestationView, LoanView, MemberAccountView

ZERO = "0x" + "00" * 32


class PreparedWrite(BaseModel):
    write: str
    evidence_digest: str | None
    evidence: dict[str, Any] | None
    transaction: dict[str, str] = Field(description="Send it from the account you signed in with.")


class OwnRecord(BaseModel):
    """A record the signed-in account attested, and whether it still stands."""

    uid: str
    kind: int
    kind_name: str | None
    vin: str | None = Field(description="Known when the record was attested through this portal.")
    block_number: int
    revoked: bool
    revoke_reason: int | None
    superseded_by: str | None


class BankLoan(BaseModel):
    """A loan of the signed-in bank, as the read model has it."""

    loan_id: int
    subject: str
    vin: str | None = Field(description="Known when the loan was registered through this portal.")
    principal: int
    outstanding: int
    baseline_value: int
    days_overdue: int
    lien_status: str
    case_id: int | None


class RevokeRequest(BaseModel):
    reason: int = Field(
        ge=1,
        lt=2**16,
        description="The consortium's reason code: "
        + ", ".join(f"{r.value} {r.name.lower()}" for r in RevokeReason)
        + " (other codes are recorded as given).",
    )
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


def own_records(*, engine: Engine, principal: Principal, limit: int = 200) -> list[OwnRecord]:
    """The newest records the signed-in account attested (the account that may revoke them), newest first."""
    with Session(engine) as session:
        rows = session.exec(
            select(AttestationView)
            .where(AttestationView.attester == principal.account)
            .order_by(col(AttestationView.block_number).desc(), col(AttestationView.uid))
            .limit(limit)
        ).all()
        vins = {
            d.digest: d.vin
            for d in session.exec(select(PortalDocument).where(col(PortalDocument.digest).in_([r.uid for r in rows])))
        }
    return [
        OwnRecord(
            uid=r.uid,
            kind=r.kind,
            kind_name=CATALOGUE[r.kind].name if r.kind in CATALOGUE else None,
            vin=vins.get(r.uid),
            block_number=r.block_number,
            revoked=r.revoked_at is not None,
            revoke_reason=r.revoke_reason,
            superseded_by=r.superseded_by,
        )
        for r in rows
    ]


def bank_loans(*, engine: Engine, principal: Principal, key: bytes) -> list[BankLoan]:
    """The loans of the signed-in bank, newest first (with the VIN of those registered through the portal)."""
    principal.require(int(Role.BANK), "the loan book")
    with Session(engine) as session:
        rows = session.exec(
            select(LoanView)
            .where(LoanView.bank_member_id == principal.member_id)
            .order_by(col(LoanView.loan_id).desc())
        ).all()
        files = session.exec(
            select(WriteEvidence).where(WriteEvidence.member_id == principal.member_id, WriteEvidence.write == "loan")
        ).all()
    vins: dict[str, str] = {}
    for evidence in files:
        vin = json.loads(evidence.document).get("vin")
        if isinstance(vin, str):
            vins["0x" + subject_id(vin, key).hex()] = vin
    return [
        BankLoan(
            loan_id=r.loan_id,
            subject=r.subject,
            vin=vins.get(r.subject),
            principal=int(r.principal),
            outstanding=int(r.outstanding),
            baseline_value=int(r.baseline_value),
            days_overdue=r.days_overdue,
            lien_status=r.lien_status,
            case_id=r.case_id,
        )
        for r in rows
    ]


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
        write="revoke", evidence_digest=None, evidence=None, transaction=_tried(suite.registry, principal, data)
    )


def dispute(*, engine: Engine, suite: Suite, principal: Principal, uid: str, request: DisputeRequest) -> PreparedWrite:
    """Dispute another member's record, with evidence."""
    principal.require_write()
    row = _record(engine, uid)
    with Session(engine) as session:
        attester = session.get(MemberAccountView, row.attester)
    if attester is not None and attester.member_id == principal.member_id:
        raise ForbiddenError("a member cannot dispute its own record (revoke it instead)")
    evidence = _salted({"record": row.uid, "evidence": request.evidence})
    data = suite.registry.calldata("openDispute", row.uid, evidence.digest)
    transaction = _tried(suite.registry, principal, data)
    return PreparedWrite(write="dispute", **_keep(engine, principal, "dispute", evidence), transaction=transaction)


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
    evidence = _salted(
        {
            "vin": vin,
            "principal": request.principal,
            "outstanding": request.outstanding,
            "baseline_value": request.baseline_value,
            "terms": request.terms.model_dump(),
            **request.evidence,
        }
    )
    data = suite.collateral.calldata(
        "registerLoan",
        subject,
        request.principal,
        request.outstanding,
        request.baseline_value,
        request.terms,
        evidence.digest,
    )
    transaction = _tried(suite.collateral, principal, data)
    return PreparedWrite(write="register_loan", **_keep(engine, principal, "loan", evidence), transaction=transaction)


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
    evidence = _salted(
        {
            "loan_id": loan_id,
            "days_overdue": request.days_overdue,
            "outstanding": request.outstanding,
            **request.evidence,
        }
    )
    data = suite.collateral.calldata(
        "reportRepayment", loan_id, request.days_overdue, request.outstanding, evidence.digest
    )
    transaction = _tried(suite.collateral, principal, data)
    return PreparedWrite(write="repayment", **_keep(engine, principal, "repayment", evidence), transaction=transaction)


def read_evidence(*, engine: Engine, reader: Reader, key: bytes, digest: str) -> dict[str, Any]:
    """The salted evidence behind a write the portal prepared, for those the data-sharing policy lets read it (by
    default the member that wrote it, governors, who resolve disputes, and a dispute's disputed attester, who must
    answer it); every read leaves an access receipt."""
    with Session(engine) as session:
        row = session.get(WriteEvidence, digest.lower())
        if row is None:
            raise NotFoundError("the portal keeps no evidence with this digest")
        document: dict[str, Any] = json.loads(row.document)
        subjects: tuple[str, ...] = ()
        disputed = None
        if row.write == "dispute":
            record = session.get(AttestationView, str(document.get("record", "")))
            attester = session.get(MemberAccountView, record.attester) if record is not None else None
            subjects = (record.subject,) if record is not None else ()
            disputed = attester.member_id if attester is not None else None
        elif row.write == "loan" and isinstance(document.get("vin"), str):
            subjects = ("0x" + subject_id(document["vin"], key).hex(),)
        elif row.write == "repayment":
            loan = session.get(LoanView, document.get("loan_id"))
            subjects = (loan.subject,) if loan is not None else ()
    target = Target(f"{row.write}_evidence", row.digest, row.member_id, subjects, disputed_member_id=disputed)
    check_read(engine, reader, target)
    return document


def _record(engine: Engine, uid: str) -> AttestationView:
    text = uid.lower()
    if len(text) != 66 or not text.startswith("0x") or any(c not in "0123456789abcdef" for c in text[2:]):
        raise InvalidInputError("a record is named by its digest: 32 bytes of 0x-hex")
    with Session(engine) as session:
        row = session.get(AttestationView, text)
    if row is None:
        raise NotFoundError("no record with this digest is in the read model")
    return row


def _salted(document: dict[str, Any]) -> SaltedDocument:
    try:
        return SaltedDocument.create(document)
    except EncodingError as exc:
        raise InvalidInputError(f"the evidence cannot be digested: {exc}") from None


def _keep(engine: Engine, principal: Principal, write: str, evidence: SaltedDocument) -> dict[str, Any]:
    return keep_evidence(engine=engine, member_id=principal.member_id, write=write, evidence=evidence)


def keep_evidence(*, engine: Engine, member_id: int, write: str, evidence: SaltedDocument) -> dict[str, Any]:
    """Keep the evidence of a member's write (once: preparing the same evidence again keeps one row); its digest
    (what goes on chain) and the salted document, as ``{"evidence_digest": ..., "evidence": ...}``."""
    digest = "0x" + evidence.digest.hex()
    text = canonical_json(evidence.salted_document()).decode()
    with Session(engine) as session:
        if session.get(WriteEvidence, digest) is None:
            session.add(WriteEvidence(digest=digest, member_id=member_id, write=write, document=text))
            session.commit()
    return {"evidence_digest": digest, "evidence": json.loads(text)}


def _tried(client: ContractClient, principal: Principal, data: bytes) -> dict[str, str]:
    """The transaction, once the contract accepted it as a call from the member's account (else its error)."""
    client.try_write(principal.account, data)
    return {"to": client.address, "data": "0x" + data.hex()}
