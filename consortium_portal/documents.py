"""Is this document authentic? Its digest on chain, by whom, when, and whether the record is still valid.

A member handed a document (with its ``_salt``, as every member stores it) recomputes its digest exactly as the
attester did (``node_adapter.encoding``: canonical JSON of the salted document, keccak-256) and looks the digest up:
in the read model, and on chain when the read model has not caught up yet.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from consortium_portal.errors import InvalidInputError
from node_adapter.clients import Suite
from node_adapter.encoding import SALT_KEY, record_digest
from node_adapter.exceptions import EncodingError
from node_adapter.readmodel import AttestationView, DisputeView, MemberAccountView


class DocumentCheckRequest(BaseModel):
    document: dict[str, Any] | None = Field(default=None, description="The salted document (with its _salt).")
    digest: str | None = Field(default=None, description="Or its digest, 0x-hex.")


class DocumentCheck(BaseModel):
    digest: str
    found: bool
    valid: bool | None = None
    status: str | None = Field(default=None, description="valid, revoked, expired, disputed, invalidated")
    attester: str | None = None
    attester_member_id: int | None = None
    kind: int | None = None
    subject: str | None = None
    time: int | None = None
    block_number: int | None = None
    tx_hash: str | None = None
    message: str


def check_document(*, engine: Engine, suite: Suite, request: DocumentCheckRequest) -> DocumentCheck:
    """Where the document's digest stands on chain."""
    digest = _digest_of(request)
    with Session(engine) as session:
        row = session.get(AttestationView, digest)
        member = session.get(MemberAccountView, row.attester) if row is not None else None
        disputed = (
            row is not None
            and session.exec(select(DisputeView).where(DisputeView.uid == digest, DisputeView.state == "open")).first()
            is not None
        )
    valid = suite.registry.is_valid(digest)
    if row is None:
        record = suite.registry.get_record(digest).record
        if not record.exists:
            return DocumentCheck(digest=digest, found=False, message="no record with this digest is on chain")
        return DocumentCheck(
            digest=digest,
            found=True,
            valid=valid,
            status="valid" if valid else "not valid",
            attester=record.attester,
            kind=record.kind,
            time=record.time,
            message="on chain (the read model has not caught up with it yet)",
        )
    if row.invalidated:
        status = "invalidated"
    elif row.revoked_at is not None:
        status = "revoked"
    elif not valid:
        status = "expired"
    elif disputed:
        status = "disputed"
    else:
        status = "valid"
    return DocumentCheck(
        digest=digest,
        found=True,
        valid=valid,
        status=status,
        attester=row.attester,
        attester_member_id=member.member_id if member is not None else None,
        kind=row.kind,
        subject=row.subject,
        time=row.block_time,
        block_number=row.block_number,
        tx_hash=row.tx_hash,
        message=f"attested in block {row.block_number}; {status} now",
    )


def _digest_of(request: DocumentCheckRequest) -> str:
    if (request.document is None) == (request.digest is None):
        raise InvalidInputError("send either the document (with its _salt) or its digest")
    if request.digest is not None:
        text = request.digest.lower()
        if len(text) != 66 or not text.startswith("0x") or any(c not in "0123456789abcdef" for c in text[2:]):
            raise InvalidInputError("digest is 32 bytes of 0x-hex")
        return text
    document = dict(request.document or {})
    salt = document.pop(SALT_KEY, None)
    if not isinstance(salt, str):
        raise InvalidInputError(f'the document carries no "{SALT_KEY}": its digest cannot be recomputed without it')
    try:
        return "0x" + record_digest(document, salt).hex()
    except EncodingError as exc:
        raise InvalidInputError(f"the document cannot be digested: {exc}") from None
