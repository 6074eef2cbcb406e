"""Every table of the portal, with the shapes of the sign-in API.

Sign-in challenges, sessions and API keys (secrets stored only as hashes); the records members attest and the
applications to join; kept files; the evidence of members' writes and of case steps; intake scans; the data-sharing
policy's versions; the access receipts and the Merkle batches they are anchored in. The services beside this module
hold the logic over them (``auth.py``, ``attest.py``, ``files.py``, ``records.py``, ``case_actions.py``,
``intake/service.py``, ``policy.py``, ``receipts.py``, ``anchor.py``); ``context.create_portal_schema`` creates them.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel
from pydantic import Field as PydanticField
from sqlalchemy import Column, LargeBinary, Text
from sqlmodel import Field, SQLModel

from node_adapter.anchoring import BatchRow
from node_adapter.db import utcnow


class SignInChallenge(SQLModel, table=True):
    """A one-time sign-in message the portal issued for an account."""

    __tablename__ = "portal_challenge"

    nonce: str = Field(primary_key=True, max_length=64)
    account: str = Field(max_length=42, index=True)
    message: str = Field(sa_column=Column(Text, nullable=False))
    expires_at: datetime
    used_at: datetime | None = None


class PortalSession(SQLModel, table=True):
    """A signed-in account; the token is given to the member once and kept here as its SHA-256."""

    __tablename__ = "portal_session"

    token_hash: str = Field(primary_key=True, max_length=64)
    account: str = Field(max_length=42, index=True)
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    ended_at: datetime | None = None


class Scope(StrEnum):
    READ = "read"
    """Reads only (verify, look up)."""
    WRITE = "write"
    """Reads and writes (attest, report)."""


class ApiKey(SQLModel, table=True):
    """A machine client's key, bound to a member's account and a scope; the key is kept as its SHA-256."""

    __tablename__ = "portal_api_key"

    id: int | None = Field(default=None, primary_key=True)
    key_hash: str = Field(max_length=64, unique=True)
    prefix: str = Field(max_length=16)
    """The key's first characters, to recognise it in a list."""
    name: str = Field(max_length=100)
    account: str = Field(max_length=42, index=True)
    member_id: int = Field(index=True)
    scope: Scope = Field(max_length=8)
    created_at: datetime = Field(default_factory=utcnow)
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None


# ---------------------------------------------------------------------------------------------------- API shapes


class ChallengeRequest(BaseModel):
    address: str = PydanticField(description="The account that will sign, 0x-prefixed (any case).")


class ChallengeIssued(BaseModel):
    message: str = PydanticField(description="Sign exactly this text (EIP-191 personal_sign).")
    nonce: str
    expires_at: datetime


class SignInRequest(BaseModel):
    message: str = PydanticField(max_length=4000)
    signature: str = PydanticField(max_length=200, description="0x-hex, 65 bytes.")


class SessionIssued(BaseModel):
    token: str = PydanticField(description="Send as 'Authorization: Bearer <token>' (also set as a cookie).")
    expires_at: datetime
    account: str
    member_id: int
    roles: list[str]


class Me(BaseModel):
    account: str
    member_id: int
    roles: list[str]
    via: str = PydanticField(description="session or api-key")
    scope: Scope


class ApiKeyCreate(BaseModel):
    name: str = PydanticField(min_length=1, max_length=100)
    scope: Scope = Scope.READ


class ApiKeyIssued(BaseModel):
    id: int
    key: str = PydanticField(description="Shown once: send as 'X-API-Key: <key>'.")
    name: str
    scope: Scope


class ApiKeyPublic(BaseModel):
    id: int
    prefix: str
    name: str
    scope: Scope
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None


class DocumentStatus(StrEnum):
    PREPARED = "prepared"
    """Validated, salted and stored; waiting for the attester's signature (or its own transaction)."""
    RELAYED = "relayed"
    """The signed attestation is in the outbox on its way to the chain."""
    CONFIRMED = "confirmed"
    FAILED = "failed"


class PortalDocument(SQLModel, table=True):
    """A record a member attests through the portal: the salted document and where its attestation stands."""

    __tablename__ = "portal_document"

    id: int | None = Field(default=None, primary_key=True)
    digest: str = Field(max_length=66, unique=True)
    kind: int
    subject: str = Field(max_length=66, index=True)
    vin: str = Field(max_length=17)
    member_id: int = Field(index=True)
    account: str = Field(max_length=42)
    document: str = Field(sa_column=Column(Text, nullable=False))
    """The salted document (canonical JSON)."""
    ref: str | None = Field(default=None, max_length=66)
    expiry: int = 0
    reading: int | None = None
    nonce: int
    deadline: int
    status: DocumentStatus = Field(default=DocumentStatus.PREPARED, max_length=16)
    outbox_key: str | None = Field(default=None, max_length=200)
    idempotency_key: str | None = Field(default=None, max_length=200, index=True)
    """The client's ``Idempotency-Key`` of the prepare request: the same key returns the same record."""
    note: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime = Field(default_factory=utcnow)


class MembershipApplication(SQLModel, table=True):
    """An organisation's application to join: who it is, the roles it asks for, the accounts it proved it controls
    and its documents. The application file (salted canonical JSON) hashes to the ``metadataDigest`` the member is
    admitted with, so the chain's member record points back to it."""

    __tablename__ = "portal_application"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    roles: int
    """The role mask asked for."""
    accounts: str = Field(sa_column=Column(Text, nullable=False))
    """JSON list of the signing accounts (checksummed), each proven by a signed challenge."""
    documents: str = Field(sa_column=Column(Text, nullable=False))
    """JSON list of ``{name, digest, size, content_base64}``; the digest is the content's keccak-256."""
    application: str = Field(sa_column=Column(Text, nullable=False))
    """The application file with its ``_salt`` (canonical JSON): name, roles, accounts and the documents' digests."""
    metadata_digest: str = Field(max_length=66, unique=True)
    """The application file's digest: the ``metadataDigest`` the member is admitted with."""
    description_digest: str = Field(max_length=66, index=True)
    """The digest of the admission proposal's description."""
    created_at: datetime = Field(default_factory=utcnow)


# ---------------------------------------------------------------------------------------------------- kept documents


class PortalFile(SQLModel, table=True):
    """A file a member uploaded to attest (``files.py``): its keccak digest goes into the record."""

    __tablename__ = "portal_file"

    digest: str = Field(primary_key=True, max_length=66)
    member_id: int = Field(index=True)
    name: str = Field(max_length=200)
    content_type: str = Field(max_length=40)
    size: int
    content: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)


class WriteEvidence(SQLModel, table=True):
    """The evidence document behind a write the portal prepared (revocation reason, dispute, loan, repayment)."""

    __tablename__ = "portal_write_evidence"

    digest: str = Field(primary_key=True, max_length=66)
    member_id: int = Field(index=True)
    write: str = Field(max_length=32)
    document: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)


class CaseEvidence(SQLModel, table=True):
    """The evidence document of a case step the portal prepared (the digest on chain is its proof)."""

    __tablename__ = "portal_case_evidence"

    digest: str = Field(primary_key=True, max_length=66)
    case_id: int = Field(index=True)
    member_id: int
    action: str = Field(max_length=32)
    document: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)


class IntakeScan(SQLModel, table=True):
    """An uploaded page, what OCR read on it, and the record attested from it (``intake/service.py``); the verify
    read shows its ``flags`` next to that record's attestation (``vehicles.py``)."""

    __tablename__ = "portal_intake_scan"

    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(index=True)
    file_digest: str = Field(max_length=66, index=True)
    content_type: str = Field(max_length=40)
    text: str = Field(sa_column=Column(Text, nullable=False))
    """Tesseract's text."""
    fields: str = Field(sa_column=Column(Text, nullable=False))
    """The fields as read (JSON of ExtractedFields)."""
    ms: float = 0.0
    document_digest: str | None = Field(default=None, max_length=66, index=True)
    """The digest of the record attested from it (the attestation's uid once on chain)."""
    flags: str = Field(default="[]", sa_column=Column(Text, nullable=False))
    """JSON list of the DMV mismatch codes the member attested despite."""
    created_at: datetime = Field(default_factory=utcnow)


# ---------------------------------------------------------------------------------------------------- data-sharing


class PolicyVersion(SQLModel, table=True):
    """A policy the portal knows: the default, and each one a governor put forward for approval."""

    __tablename__ = "portal_policy"

    digest: str = Field(primary_key=True, max_length=66)
    version: int
    title: str = Field(max_length=200)
    document: str = Field(sa_column=Column(Text, nullable=False))
    """The canonical JSON (it hashes to ``digest``)."""
    submitted_by: str = Field(max_length=42)
    """The governor's account that put it forward, or ``default``."""
    created_at: datetime = Field(default_factory=utcnow)


MAX_PURPOSE = 200
"""The longest access purpose a reader may state (``receipts.purpose_of``)."""


class AccessReceipt(SQLModel, table=True):
    """One read of a full document. Rows are only ever added: nothing in the portal updates or deletes them (the
    batches they are anchored in are kept beside them, ``anchor.py``)."""

    __tablename__ = "portal_access_receipt"

    id: int | None = Field(default=None, primary_key=True)
    digest: str = Field(max_length=66, unique=True)
    """The receipt's digest (keccak of its salted canonical JSON): its leaf in a Merkle batch."""
    document_digest: str = Field(max_length=66, index=True)
    document_kind: str = Field(max_length=40)
    owner_member_id: int | None = Field(default=None, index=True)
    """The member the document belongs to (who may list its receipts)."""
    reader_member_id: int = Field(index=True)
    account: str = Field(max_length=42)
    via: str = Field(max_length=16)
    api_key_id: int | None = None
    purpose: str = Field(max_length=MAX_PURPOSE)
    allowed: bool
    reason: str = Field(sa_column=Column(Text, nullable=False))
    policy_version: int
    policy_digest: str = Field(max_length=66)
    at: int
    """Chain time of the read."""
    at_block: int
    receipt: str = Field(sa_column=Column(Text, nullable=False))
    """The salted receipt (canonical JSON): it hashes to ``digest``."""
    created_at: datetime = Field(default_factory=utcnow)


class ReceiptBatch(BatchRow, table=True):
    """A Merkle batch of receipts, built for the batch id the registry is expected to give it (``anchor.py``; the
    columns every anchored batch has come from :class:`node_adapter.anchoring.BatchRow`)."""

    __tablename__ = "portal_receipt_batch"


class ReceiptInBatch(SQLModel, table=True):
    """Which batch a receipt is in (a receipt of a failed batch leaves it, to go in a later one)."""

    __tablename__ = "portal_receipt_in_batch"

    receipt_id: int = Field(primary_key=True)
    batch_row_id: int = Field(index=True)
