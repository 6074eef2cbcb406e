"""Membership applications: an organisation that is not a member yet asks to join, and the governors see where its
application stands.

1. ``apply``: the organisation names itself, the roles it asks for and its documents, and proves it controls each
   signing account with a signed sign-in challenge (the same checks as signing in: the message the portal issued,
   unexpired, signed by its account, its nonce burned so a replay is refused; but no membership is asked for). An
   account already bound to a member is refused: an account belongs to one member, ever. The application file
   (salted canonical JSON of the name, roles, accounts and the documents' digests) hashes to the ``metadataDigest``
   the member will be admitted with.
2. ``application_status``: ``submitted`` until a governor proposes the admission, then the proposal's state from the
   chain (``voting``, ``queued``, ``ready``, ``defeated``, ``expired``, ``canceled``), and ``admitted`` once executed,
   with the accounts bound to a member that carries the application's digest.

The admission proposal is found in the read model by its description digest and checked call for call against the
admission this application asks for, so a proposal that merely reuses the digest is not taken for it.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from web3 import Web3

from consortium_portal.auth import check_signed_challenge
from consortium_portal.errors import ConflictError, InvalidInputError, NotFoundError, SignInError
from consortium_portal.models import MembershipApplication, SignInChallenge
from consortium_portal.policy import Target
from consortium_portal.receipts import Reader, check_read
from node_adapter.clients import MembershipClient, ProposalState, Role, role_names
from node_adapter.db import utcnow
from node_adapter.encoding import SaltedDocument, canonical_json
from node_adapter.exceptions import EncodingError
from node_adapter.readmodel import MemberView, ProposalView

MAX_DOCUMENTS = 10
MAX_ACCOUNTS = 10


class SignedChallenge(BaseModel):
    message: str = Field(max_length=4000, description="A challenge from POST /api/v1/auth/challenge, unchanged.")
    signature: str = Field(max_length=200, description="The account's EIP-191 signature of it, 0x-hex.")


class DocumentUpload(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    content_base64: str = Field(min_length=1, description="The file, base64 (the portal's body limit applies).")


class ApplicationCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200, description="The organisation's name.")
    roles: list[str] = Field(min_length=1, max_length=len(Role), description='Role names, e.g. ["DEALER"].')
    documents: list[DocumentUpload] = Field(default_factory=list, max_length=MAX_DOCUMENTS)
    accounts: list[SignedChallenge] = Field(
        min_length=1, max_length=MAX_ACCOUNTS, description="One signed challenge per signing account."
    )


class ApplicationStatus(StrEnum):
    SUBMITTED = "submitted"
    """No admission proposal yet."""
    VOTING = "voting"
    QUEUED = "queued"
    """Passed; the execution delay is running."""
    READY = "ready"
    """Executable by anyone."""
    DEFEATED = "defeated"
    EXPIRED = "expired"
    CANCELED = "canceled"
    ADMITTED = "admitted"
    """Executed: the accounts are bound to a member with the application's metadata digest."""
    EXECUTED = "executed"
    """Executed, but the accounts' member no longer carries the application's digest (changed since)."""


PROPOSAL_STATUS = {
    ProposalState.ACTIVE: ApplicationStatus.VOTING,
    ProposalState.QUEUED: ApplicationStatus.QUEUED,
    ProposalState.READY: ApplicationStatus.READY,
    ProposalState.DEFEATED: ApplicationStatus.DEFEATED,
    ProposalState.EXPIRED: ApplicationStatus.EXPIRED,
    ProposalState.CANCELED: ApplicationStatus.CANCELED,
}


class DocumentPublic(BaseModel):
    name: str
    digest: str = Field(description="keccak-256 of the content.")
    size: int
    content_base64: str | None = Field(default=None, description="The content (in a single application's view).")


class ApplicationPublic(BaseModel):
    id: int
    name: str
    roles: list[str]
    accounts: list[str]
    documents: list[DocumentPublic]
    metadata_digest: str = Field(description="The application file's digest: the admitted member's metadataDigest.")
    description: str
    description_digest: str = Field(description="The admission proposal's descriptionDigest.")
    status: ApplicationStatus
    proposal_id: int | None
    member_id: int | None
    created_at: datetime


class ApplicationDetail(ApplicationPublic):
    application: dict[str, Any] = Field(description="The salted application file: it hashes to metadata_digest.")


@dataclass(frozen=True)
class Standing:
    status: ApplicationStatus
    proposal_id: int | None = None
    member_id: int | None = None


def description_of(row: MembershipApplication) -> str:
    """The admission proposal's description (its keccak-256 is the proposal's ``descriptionDigest``)."""
    roles = ", ".join(role_names(row.roles))
    return f"Admit {row.name} ({roles}): membership application {row.metadata_digest}"


def admission(membership: MembershipClient, row: MembershipApplication) -> tuple[list[str], list[str]]:
    """The admission proposal's targets and calldatas (0x-hex): ``admitMember(accounts, roles, metadataDigest)``."""
    call = membership.encode_admit_member(
        accounts=json.loads(row.accounts), roles=row.roles, metadata_digest=row.metadata_digest
    )
    return [membership.address], ["0x" + call.hex()]


# ---------------------------------------------------------------------------------------------------- applying


def apply(*, engine: Engine, membership: MembershipClient, request: ApplicationCreate) -> ApplicationDetail:
    """Check the signed challenges and the request, burn the challenges' nonces and store the application."""
    roles = _roles(request.roles)
    documents = [_document(d) for d in request.documents]
    proofs = _proofs(engine, request.accounts)
    accounts = [account for account, _nonce in proofs]
    for account in accounts:
        member_id = membership.bound_member_of(account)
        if member_id:
            raise ConflictError(
                f"{account} is bound to member {member_id}: an account belongs to one member, ever; "
                "apply with accounts of your own that no member uses"
            )
    try:
        salted = SaltedDocument.create(
            {
                "name": request.name,
                "roles": list(role_names(roles)),
                "accounts": accounts,
                "documents": [{"name": d["name"], "digest": d["digest"]} for d in documents],
            }
        )
    except EncodingError as exc:
        problem = str(exc).encode("utf-8", "backslashreplace").decode()  # the message may quote the bad text
        raise InvalidInputError(f"the application cannot be encoded: {problem}") from None
    row = MembershipApplication(
        name=request.name,
        roles=roles,
        accounts=json.dumps(accounts),
        documents=json.dumps(documents),
        application=canonical_json(salted.salted_document()).decode(),
        metadata_digest="0x" + salted.digest.hex(),
        description_digest="",
    )
    row.description_digest = "0x" + bytes(Web3.keccak(text=description_of(row))).hex()
    with Session(engine, expire_on_commit=False) as session:
        for _account, nonce in proofs:  # burn every nonce, or none: of two concurrent uses of one, one wins
            used = session.connection().execute(
                update(SignInChallenge)
                .where(col(SignInChallenge.nonce) == nonce, col(SignInChallenge.used_at).is_(None))
                .values(used_at=utcnow())
            )
            if used.rowcount != 1:
                session.rollback()
                raise SignInError("this challenge was already used: ask for a new one")
        session.add(row)
        session.commit()
    return _detail(row, Standing(ApplicationStatus.SUBMITTED))


def _roles(names: list[str]) -> int:
    unknown = sorted({name for name in names if name not in Role.__members__})
    if unknown:
        raise InvalidInputError(f"unknown roles {unknown}: roles are {list(Role.__members__)}")
    mask = 0
    for name in names:
        mask |= Role[name]
    return mask


def _document(upload: DocumentUpload) -> dict[str, Any]:
    try:
        content = base64.b64decode(upload.content_base64, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInputError(f"document {upload.name!r}: content_base64 is not base64") from None
    return {
        "name": upload.name,
        "digest": "0x" + bytes(Web3.keccak(content)).hex(),
        "size": len(content),
        "content_base64": base64.b64encode(content).decode(),
    }


def _proofs(engine: Engine, challenges: list[SignedChallenge]) -> list[tuple[str, str]]:
    """(account, nonce) of each signed challenge, checked as a sign-in checks it (the nonces are burned later)."""
    proofs = []
    for signed in challenges:
        challenge = check_signed_challenge(engine=engine, message=signed.message, signature=signed.signature)
        proofs.append((challenge.account, challenge.nonce))
    if len({account for account, _nonce in proofs}) != len(proofs):
        raise InvalidInputError("each account is proven once: one signed challenge per account")
    return proofs


# ---------------------------------------------------------------------------------------------------- governors' view


def list_applications(*, engine: Engine, membership: MembershipClient) -> list[ApplicationPublic]:
    """Every application, newest first, each with where it stands now."""
    with Session(engine) as session:
        rows = session.exec(select(MembershipApplication).order_by(col(MembershipApplication.id).desc())).all()
        standings = [application_status(session=session, membership=membership, row=row) for row in rows]
    return [_public(row, standing) for row, standing in zip(rows, standings, strict=True)]


def get_application(
    *, engine: Engine, membership: MembershipClient, reader: Reader, application_id: int
) -> ApplicationDetail:
    """An application with its documents, for those the data-sharing policy lets read membership files (by default
    governors); every read leaves an access receipt (the admitted member is the file's owner)."""
    with Session(engine) as session:
        row = session.get(MembershipApplication, application_id)
        if row is None:
            raise NotFoundError(f"no application {application_id}")
        owner = session.exec(
            select(MemberView.member_id).where(MemberView.metadata_digest == row.metadata_digest)
        ).first()
    check_read(engine, reader, Target("membership_application", row.metadata_digest, owner))
    with Session(engine) as session:
        standing = application_status(session=session, membership=membership, row=row)
    return _detail(row, standing)


def find_application(*, engine: Engine, application_id: int) -> MembershipApplication:
    with Session(engine) as session:
        row = session.get(MembershipApplication, application_id)
    if row is None:
        raise NotFoundError(f"no application {application_id}")
    return row


def application_status(*, session: Session, membership: MembershipClient, row: MembershipApplication) -> Standing:
    """Where an application stands: its admission proposal's live state, or ``admitted``."""
    targets, calldatas = admission(membership, row)
    proposals = [
        p
        for p in session.exec(
            select(ProposalView).where(ProposalView.description_digest == row.description_digest)
        ).all()
        if json.loads(p.targets) == targets and json.loads(p.calldatas) == calldatas
    ]
    if not proposals:
        return Standing(ApplicationStatus.SUBMITTED)
    proposal = max(proposals, key=lambda p: (p.executed, p.proposal_id))  # the one that admitted, else the latest
    state = membership.state(proposal.proposal_id)
    if state != ProposalState.EXECUTED:
        return Standing(PROPOSAL_STATUS.get(state, ApplicationStatus.SUBMITTED), proposal.proposal_id)
    member_id = membership.member_of(json.loads(row.accounts)[0])
    admitted = member_id and membership.get_member(member_id).metadata_digest.lower() == row.metadata_digest
    status = ApplicationStatus.ADMITTED if admitted else ApplicationStatus.EXECUTED
    return Standing(status, proposal.proposal_id, member_id or None)


def _public(row: MembershipApplication, standing: Standing, *, contents: bool = False) -> ApplicationPublic:
    assert row.id is not None
    return ApplicationPublic(
        id=row.id,
        name=row.name,
        roles=list(role_names(row.roles)),
        accounts=json.loads(row.accounts),
        documents=[
            DocumentPublic(
                name=d["name"],
                digest=d["digest"],
                size=d["size"],
                content_base64=d["content_base64"] if contents else None,
            )
            for d in json.loads(row.documents)
        ],
        metadata_digest=row.metadata_digest,
        description=description_of(row),
        description_digest=row.description_digest,
        status=standing.status,
        proposal_id=standing.proposal_id,
        member_id=standing.member_id,
        created_at=row.created_at,
    )


def _detail(row: MembershipApplication, standing: Standing) -> ApplicationDetail:
    return ApplicationDetail(
        **_public(row, standing, contents=True).model_dump(), application=json.loads(row.application)
    )
