"""Access receipts: every read of a full document, allowed or refused, leaves a receipt (who, what, when, why, and the
decision with the policy version), in an append-only table; ``anchor.py`` anchors them on chain in Merkle batches.

:func:`check_read` is the one gate of every full-document read: it asks the policy in force (``policy.py``), logs
the receipt, and raises :class:`AccessRefusedError` (403, naming the receipt) when the policy refuses. The receipt is
a salted document (``node_adapter.encoding``), so its digest, the leaf that goes on chain, reveals nothing guessable
(a reader, a document, a time).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from consortium_portal import policy
from consortium_portal.anchor import anchored_batches
from consortium_portal.auth import Principal
from consortium_portal.errors import ForbiddenError, InvalidInputError
from consortium_portal.models import MAX_PURPOSE, AccessReceipt
from node_adapter.encoding import SaltedDocument, canonical_json

RECEIPT_FORMAT = "access-receipt/1"
DEFAULT_PURPOSE = "not stated"
"""The purpose a receipt records when the reader states none (``X-Access-Purpose`` or ``?purpose=``)."""


class AccessRefusedError(ForbiddenError):
    """The data-sharing policy refuses the read (403); its receipt is logged all the same."""

    def __init__(self, message: str, *, receipt: str, policy_version: int) -> None:
        super().__init__(message)
        self.receipt = receipt
        self.policy_version = policy_version

    def extra(self) -> dict[str, Any]:
        return {"receipt": self.receipt, "policy_version": self.policy_version}


@dataclass(frozen=True)
class Reader:
    """Who reads, why, and when (chain time and block of the request)."""

    principal: Principal
    purpose: str
    now: int
    block: int
    membership: str
    """The Membership contract's address: policies are approved by its proposals."""


def purpose_of(stated: str | None) -> str:
    """The purpose a reader stated, checked (printable, at most 200 characters), or the default."""
    if stated is None or not stated.strip():
        return DEFAULT_PURPOSE
    text = " ".join(stated.split())
    if len(text) > MAX_PURPOSE or not text.isprintable():
        raise InvalidInputError(f"the access purpose is printable text of at most {MAX_PURPOSE} characters")
    return text


class ReceiptPublic(BaseModel):
    id: int
    digest: str
    document_digest: str
    document_kind: str
    owner_member_id: int | None
    reader_member_id: int
    account: str
    via: str
    purpose: str
    allowed: bool
    reason: str
    policy_version: int
    policy_digest: str
    at: int = Field(description="Chain time of the read.")
    at_block: int
    batch_id: int | None = Field(description="The Merkle batch it is anchored in on chain (None: not yet).")
    receipt: dict[str, Any] = Field(description="The salted receipt: it hashes to digest.")


def check_read(engine: Engine, reader: Reader, target: policy.Target) -> AccessReceipt:
    """Decide ``reader``'s read of ``target`` by the policy in force and log its receipt; raise
    :class:`AccessRefusedError` when the policy refuses it. Every full-document read of the portal passes here."""
    force = policy.in_force(engine, reader.membership)
    principal = reader.principal
    with Session(engine) as session:
        ties = policy.ties_of(session, principal.member_id, target)
    verdict = policy.decide(force.policy, roles=principal.roles, kind=target.kind, ties=ties, now=reader.now)
    receipt = _log(engine, reader, target, force, verdict)
    if not verdict.allowed:
        raise AccessRefusedError(
            f"{verdict.reason} (the refusal is logged: access receipt {receipt.digest})",
            receipt=receipt.digest,
            policy_version=force.policy.version,
        )
    return receipt


def _log(
    engine: Engine, reader: Reader, target: policy.Target, force: policy.PolicyInForce, verdict: policy.Verdict
) -> AccessReceipt:
    principal = reader.principal
    document: dict[str, Any] = {
        "format": RECEIPT_FORMAT,
        "reader": {
            "member_id": principal.member_id,
            "account": principal.account,
            "via": principal.via,
            "api_key_id": principal.api_key_id,
        },
        "document": {"digest": target.digest, "kind": target.kind, "owner_member_id": target.owner_member_id},
        "at": reader.now,
        "at_block": reader.block,
        "purpose": reader.purpose,
        "decision": "allowed" if verdict.allowed else "refused",
        "reason": verdict.reason,
        "rule": verdict.rule,
        "policy": {"version": force.policy.version, "digest": force.digest, "approved": force.approved},
    }
    salted = SaltedDocument.create(document)
    row = AccessReceipt(
        digest="0x" + salted.digest.hex(),
        document_digest=target.digest,
        document_kind=target.kind,
        owner_member_id=target.owner_member_id,
        reader_member_id=principal.member_id,
        account=principal.account,
        via=principal.via,
        api_key_id=principal.api_key_id,
        purpose=reader.purpose,
        allowed=verdict.allowed,
        reason=verdict.reason,
        policy_version=force.policy.version,
        policy_digest=force.digest,
        at=reader.now,
        at_block=reader.block,
        receipt=canonical_json(salted.salted_document()).decode(),
    )
    with Session(engine, expire_on_commit=False) as session:
        session.add(row)
        session.commit()
    return row


def list_receipts(
    *,
    engine: Engine,
    principal: Principal,
    document: str | None = None,
    reader_member_id: int | None = None,
    limit: int = 200,
    before: int | None = None,
) -> list[ReceiptPublic]:
    """The receipts of reads of the caller's member's documents (who read them, when, why, allowed or not), newest
    first; ``before`` (a receipt id) pages back."""
    statement = select(AccessReceipt).where(AccessReceipt.owner_member_id == principal.member_id)
    if document is not None:
        statement = statement.where(AccessReceipt.document_digest == document.lower())
    if reader_member_id is not None:
        statement = statement.where(AccessReceipt.reader_member_id == reader_member_id)
    if before is not None:
        statement = statement.where(col(AccessReceipt.id) < before)
    with Session(engine) as session:
        rows = session.exec(statement.order_by(col(AccessReceipt.id).desc()).limit(limit)).all()
    batches = anchored_batches(engine, [r.id for r in rows if r.id is not None])
    return [public(row, batches.get(row.id or 0)) for row in rows]


def public(row: AccessReceipt, batch_id: int | None) -> ReceiptPublic:
    assert row.id is not None
    return ReceiptPublic(
        **row.model_dump(exclude={"receipt", "created_at"}), batch_id=batch_id, receipt=json.loads(row.receipt)
    )
