"""Attesting through the portal: validate, salt, digest, store; the attester signs; the portal relays.

1. ``prepare``: the record is validated against its kind's schema (kinds.py), wrapped with the VIN and kind, salted
   and digested exactly as every member computes digests (``node_adapter.encoding``), and stored. The answer holds
   the EIP-712 message to sign (``Attest``, or ``AttestReading`` for kinds with an odometer reading) and the
   transaction the attester may send itself instead.
2. ``relay``: the attester's signature is checked here (signer, nonce still unused, deadline), then the attestation
   goes through the outbox as ``attestBySig`` / ``attestReadingBySig`` from the portal's relayer account, attributed
   to the signer on chain.
3. ``status``: prepared, relayed, confirmed (the record is on chain) or failed (with the contract's reason).

Nothing is attested without the attester's signature: the portal holds no member's key.
"""

from __future__ import annotations

import json
from typing import Any

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils.exceptions import ValidationError as EthValidationError
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from consortium_portal.auth import Principal
from consortium_portal.errors import ConflictError, ForbiddenError, InvalidInputError, NotFoundError
from consortium_portal.files import require_own_file
from consortium_portal.kinds import CATALOGUE, KindSpec
from consortium_portal.models import DocumentStatus, PortalDocument
from consortium_portal.policy import Target
from consortium_portal.receipts import Reader, check_read
from node_adapter.clients import Suite
from node_adapter.encoding import SaltedDocument, canonical_json, subject_id, validate_vin
from node_adapter.exceptions import EncodingError
from node_adapter.outbox import Outbox, TxStatus
from node_adapter.readmodel import AttestationView

ZERO_REF = "0x" + "00" * 32
"""No reference, as the 0x-hex the EIP-712 message and the API carry."""

SIGNATURE_WINDOW = 86_400
"""Seconds an attester has to sign a prepared record."""


class AttestRequest(BaseModel):
    vin: str = Field(description="The vehicle's VIN (check digit verified).")
    kind: int = Field(ge=0, lt=2**16, description="The kind id (see GET /api/v1/kinds).")
    record: dict[str, Any] = Field(description="The record, as the kind's schema says.")
    ref: str | None = Field(default=None, description="A record this one refers to or corrects (its digest).")
    expiry: int = Field(
        default=0, ge=0, lt=2**40, description="Unix time after which the record is no longer valid; 0: never."
    )


class PreparedAttestation(BaseModel):
    id: int
    digest: str
    kind: int
    kind_name: str
    subject: str
    status: DocumentStatus
    document: dict[str, Any] = Field(description="The salted document: keep it, it is what the digest proves.")
    typed_data: dict[str, Any] = Field(description="The EIP-712 message to sign for the portal to relay.")
    transaction: dict[str, str] = Field(description="The attestation as a transaction the attester may send itself.")
    note: str | None = None


class RelayRequest(BaseModel):
    signature: str = Field(max_length=200)


def prepare(
    *,
    engine: Engine,
    suite: Suite,
    principal: Principal,
    request: AttestRequest,
    key: bytes,
    now: int,
    idempotency_key: str | None = None,
) -> PreparedAttestation:
    """Validate and store a record for ``principal`` to attest."""
    principal.require_write()
    spec = CATALOGUE.get(request.kind)
    if spec is None:
        known = ", ".join(f"{k} ({s.name})" for k, s in CATALOGUE.items())
        raise InvalidInputError(f"unknown kind {request.kind}; the kinds are {known}")
    principal.require(int(spec.roles), f"attesting a {spec.name}")
    _check_kind_on_chain(suite, spec, principal)
    try:
        vin = validate_vin(request.vin, check_digit=True)
    except EncodingError as exc:
        raise InvalidInputError(f"not a valid VIN: {exc}") from None
    try:
        record = spec.record.model_validate(request.record)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'record'}: {e['msg']}" for e in exc.errors()[:5])
        raise InvalidInputError(f"the {spec.name} record does not match its schema: {problems}") from None
    file_digest = getattr(record, "file_digest", None)
    if file_digest is not None:
        require_own_file(engine, principal, file_digest)
    ref = _check_ref(suite, request.ref)
    if request.expiry and request.expiry <= now:
        raise InvalidInputError("expiry lies in the past (chain time)")
    if idempotency_key:
        with Session(engine) as session:
            existing = session.exec(
                select(PortalDocument).where(
                    PortalDocument.member_id == principal.member_id, PortalDocument.idempotency_key == idempotency_key
                )
            ).first()
        if existing is not None:
            return _prepared(existing, suite, spec)
    subject = "0x" + subject_id(vin, key).hex()
    salted = SaltedDocument.create({"kind": spec.name, "vin": vin, "record": record.model_dump(mode="json")})
    row = PortalDocument(
        digest="0x" + salted.digest.hex(),
        kind=spec.kind,
        subject=subject,
        vin=vin,
        member_id=principal.member_id,
        account=principal.account,
        document=canonical_json(salted.salted_document()).decode(),
        ref=ref,
        expiry=request.expiry,
        reading=spec.reading(record),
        nonce=suite.registry.nonces(principal.account),
        deadline=now + SIGNATURE_WINDOW,
        idempotency_key=idempotency_key,
    )
    with Session(engine, expire_on_commit=False) as session:
        session.add(row)
        session.commit()
    return _prepared(row, suite, spec)


def relay(
    *,
    engine: Engine,
    suite: Suite,
    outbox: Outbox,
    relayer: str,
    principal: Principal,
    document_id: int,
    signature: str,
    now: int,
) -> PreparedAttestation:
    """Check the attester's signature and send the attestation through the outbox (idempotent once relayed)."""
    principal.require_write()
    row = _own(engine, principal, document_id)
    spec = CATALOGUE[row.kind]
    if row.status != DocumentStatus.PREPARED:
        return status(engine=engine, suite=suite, outbox=outbox, principal=principal, document_id=document_id)
    typed = typed_data(row, suite)
    try:
        signer = Account.recover_message(encode_typed_data(full_message=typed), signature=signature)
    except (ValueError, TypeError, EthValidationError) as exc:
        raise InvalidInputError(f"the signature cannot be read: {exc}") from None
    if signer != row.account:
        raise InvalidInputError("the signature is not by the account that prepared the record")
    if row.deadline < now:
        raise ConflictError("the signing window has passed: prepare the record again")
    if suite.registry.nonces(row.account) != row.nonce:
        raise ConflictError("the account's nonce moved on since this record was prepared: prepare it again")
    key = f"portal:attest:{row.id}"
    common: dict[str, Any] = {
        "key": key,
        "sender": relayer,
        "subject": row.subject,
        "kind": row.kind,
        "digest": row.digest,
        "ref": row.ref or ZERO_REF,
        "expiry": row.expiry,
        "attester": row.account,
        "deadline": row.deadline,
        "signature": signature,
    }
    if row.reading is None:
        suite.registry.attest_by_sig(outbox, **common)
    else:
        suite.registry.attest_reading_by_sig(outbox, reading=row.reading, **common)
    with Session(engine, expire_on_commit=False) as session:
        fresh = session.get(PortalDocument, row.id)
        assert fresh is not None
        fresh.status, fresh.outbox_key = DocumentStatus.RELAYED, key
        session.add(fresh)
        session.commit()
    return _prepared(fresh, suite, spec)


def sign_and_relay(
    *,
    engine: Engine,
    suite: Suite,
    outbox: Outbox,
    relayer: str,
    principal: Principal,
    document_id: int,
    private_key: str,
    now: int,
) -> PreparedAttestation:
    """Sign a prepared record with the attester's key and relay it: what a dev account does on a dev chain (the
    pages' dev wallet, ``consortium demo``); a member's own wallet signs instead everywhere else."""
    prepared = status(engine=engine, suite=suite, outbox=outbox, principal=principal, document_id=document_id)
    signed = Account.sign_message(encode_typed_data(full_message=prepared.typed_data), private_key)
    return relay(
        engine=engine,
        suite=suite,
        outbox=outbox,
        relayer=relayer,
        principal=principal,
        document_id=document_id,
        signature="0x" + signed.signature.hex(),
        now=now,
    )


def status(
    *, engine: Engine, suite: Suite, outbox: Outbox, principal: Principal, document_id: int
) -> PreparedAttestation:
    """Where the member's attestation stands (confirmed once the record is on chain)."""
    row = _own(engine, principal, document_id)
    update: tuple[DocumentStatus, str | None] | None = None
    if row.status in (DocumentStatus.PREPARED, DocumentStatus.RELAYED):
        with Session(engine) as session:
            indexed = session.get(AttestationView, row.digest) is not None
        if indexed or suite.registry.get_record(row.digest).record.exists:
            update = (DocumentStatus.CONFIRMED, None)
        elif row.status == DocumentStatus.RELAYED and row.outbox_key:
            tx = outbox.get(row.outbox_key)
            if tx is not None and tx.status in (TxStatus.REVERTED, TxStatus.FAILED):
                update = (DocumentStatus.FAILED, tx.error_name or tx.error_message)
    if update is not None:
        with Session(engine, expire_on_commit=False) as session:
            fresh = session.get(PortalDocument, row.id)
            assert fresh is not None
            fresh.status, fresh.note = update
            session.add(fresh)
            session.commit()
            row = fresh
    return _prepared(row, suite, CATALOGUE[row.kind])


def read_document(*, engine: Engine, reader: Reader, digest: str) -> dict[str, Any]:
    """The salted document behind ``digest``, for those the data-sharing policy lets read it (``policy.py``: by
    default the attester's member, a bank lending on the vehicle, the agency assigned to its case). Every read,
    allowed or refused (403), leaves an access receipt (the digest on chain is public; its content is not)."""
    with Session(engine) as session:
        row = session.exec(select(PortalDocument).where(PortalDocument.digest == digest.lower())).first()
    if row is None:
        raise NotFoundError("the portal holds no document with this digest")
    check_read(engine, reader, Target(CATALOGUE[row.kind].name, row.digest, row.member_id, (row.subject,)))
    document: dict[str, Any] = json.loads(row.document)
    return document


def typed_data(row: PortalDocument, suite: Suite) -> dict[str, Any]:
    """The EIP-712 message the attester signs for ``row``: ``Attest``, or ``AttestReading`` when it carries a
    reading (the registry's ``attestBySig`` and ``attestReadingBySig``)."""
    return suite.registry.attest_typed_data(
        subject=row.subject,
        kind=row.kind,
        digest=row.digest,
        ref=row.ref or ZERO_REF,
        expiry=row.expiry,
        nonce=row.nonce,
        deadline=row.deadline,
        reading=row.reading,
    )


def _prepared(row: PortalDocument, suite: Suite, spec: KindSpec) -> PreparedAttestation:
    assert row.id is not None
    ref = row.ref or ZERO_REF
    if row.reading is not None:
        data = suite.registry.calldata("attestReading", row.subject, row.kind, row.digest, ref, row.expiry, row.reading)
    else:
        data = suite.registry.calldata("attest", row.subject, row.kind, row.digest, ref, row.expiry)
    return PreparedAttestation(
        id=row.id,
        digest=row.digest,
        kind=row.kind,
        kind_name=spec.name,
        subject=row.subject,
        status=row.status,
        document=json.loads(row.document),
        typed_data=typed_data(row, suite),
        transaction={"to": suite.registry.address, "data": "0x" + data.hex()},
        note=row.note,
    )


def _own(engine: Engine, principal: Principal, document_id: int) -> PortalDocument:
    with Session(engine) as session:
        row = session.get(PortalDocument, document_id)
    if row is None or row.member_id != principal.member_id:
        raise NotFoundError(f"this member prepared no record {document_id}")
    return row


def _check_kind_on_chain(suite: Suite, spec: KindSpec, principal: Principal) -> None:
    view = suite.registry.get_kind(spec.kind)
    if not view.kind.exists or not view.kind.active:
        raise ConflictError(f"kind {spec.kind} ({spec.name}) is not registered and active on chain")
    if view.schema_digest.lower() != spec.schema_digest:
        raise ConflictError(
            f"kind {spec.kind} is registered on chain with another schema than the portal's "
            f"{spec.name} schema ({spec.schema_digest})"
        )
    if not view.kind.roles & principal.roles:
        raise ForbiddenError(f"on chain, kind {spec.kind} may be attested by {', '.join(view.kind.role_names)} only")


def _check_ref(suite: Suite, ref: str | None) -> str | None:
    if ref is None:
        return None
    text = ref.lower()
    if len(text) != 66 or not text.startswith("0x") or any(c not in "0123456789abcdef" for c in text[2:]):
        raise InvalidInputError("ref is the digest of a record: 32 bytes of 0x-hex")
    if not suite.registry.get_record(text).record.exists:
        raise InvalidInputError("ref names no record on chain")
    return text
