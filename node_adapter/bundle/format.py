"""The proof bundle file format: the models of a bundle and its facts, and reading a bundle file.

A bundle is a JSON object (:class:`ProofBundle`, version :data:`BUNDLE_VERSION`) of frozen models that forbid any
field the format does not define; :func:`parse_bundle` and :func:`load_bundle` read one and raise
:class:`BundleFormatError` naming the first wrong field. The record statuses (:data:`AttestationStatus`,
:func:`attestation_status`) and the leaf and proof helpers (``to_hex``, ``proves``, ``leaf_pairs``) are here because
building and verifying a bundle both need them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Final, Literal, TypeAlias

from eth_utils.address import is_address, to_checksum_address
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from node_adapter.exceptions import BundleFormatError
from node_adapter.merkle import batch_leaf, process_proof
from node_adapter.readmodel import CASE_STATES, LIEN_STATUSES, REPORT_EVENTS

BUNDLE_VERSION: Final = "vehicle-evidence-bundle/1"

# -------------------------------------------------------------------------------------------------------- statuses

AttestationStatus: TypeAlias = Literal["valid", "disputed", "reference_invalid", "expired", "revoked", "invalidated"]
"""What the chain says of a record: ``valid`` and ``disputed`` (an open dispute) pass ``isValid``; the others do not.
``reference_invalid``: the record it refers to (``ref``) is not valid any more, so neither is this one."""

VALID_STATUSES: Final = frozenset({"valid", "disputed"})

BatchStatus: TypeAlias = Literal["valid", "revoked"]


def attestation_status(
    *, invalidated: bool, revoked: bool, expired: bool, reference_valid: bool, disputed: bool
) -> AttestationStatus:
    """One record's status from what is known of it, the most final first (as ``isValid`` weighs them)."""
    if invalidated:
        return "invalidated"
    if revoked:
        return "revoked"
    if expired:
        return "expired"
    if not reference_valid:
        return "reference_invalid"
    return "disputed" if disputed else "valid"


# ---------------------------------------------------------------------------------------------------------- models


def _lower_hex(value: object) -> object:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    return value.lower() if isinstance(value, str) else value


def _checksummed(value: str) -> str:
    if not is_address(value):
        raise ValueError("must be an address (0x + 40 hex digits)")
    return to_checksum_address(value)


def _one_of(names: tuple[str, ...]) -> Callable[[str], str]:
    def check(value: str) -> str:
        if value not in names:
            raise ValueError(f"must be one of {', '.join(names)}")
        return value

    return check


Hex32 = Annotated[str, BeforeValidator(_lower_hex), Field(pattern=r"^0x[0-9a-f]{64}$")]
"""A ``bytes32`` (a subject, digest, uid, tx hash) as lower-case 0x-hex; bytes are accepted and turned into it."""
Address = Annotated[str, AfterValidator(_checksummed)]
Amount = Annotated[str, Field(pattern=r"^[0-9]+$")]
"""An unbounded non-negative integer as a decimal string (JSON numbers lose precision beyond 2**53)."""
Count = Annotated[int, Field(ge=0)]
CaseStateName = Annotated[str, AfterValidator(_one_of(CASE_STATES))]
LienStatusName = Annotated[str, AfterValidator(_one_of(LIEN_STATUSES))]
ReportName = Annotated[str, AfterValidator(_one_of(tuple(name for name, _ in REPORT_EVENTS.values())))]


class BundleModel(BaseModel):
    """A part of a bundle: frozen, and no field the format does not define."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class BundleContracts(BundleModel):
    membership: Address
    evidence_registry: Address
    collateral_manager: Address


class AttestationFact(BundleModel):
    """A single record about the subject (its uid is its digest) and its status at ``generated_at_block``."""

    uid: Hex32
    kind: Count
    attester: Address
    ref: Hex32 | None = None
    expiry: Count = 0
    attested_at: Count
    block_number: Count
    tx_hash: Hex32
    reading: Amount | None = None
    status: AttestationStatus


class BatchRecordFact(BundleModel):
    """A record anchored in a Merkle batch: the leaf of (batch, subject, digest) and its proof to the batch root."""

    batch_id: Count
    kind: Count
    subject: Hex32
    digest: Hex32
    proof: list[Hex32]
    attester: Address
    block_number: Count
    tx_hash: Hex32
    status: BatchStatus = "valid"


class LoanFact(BundleModel):
    """A loan against the subject as it stood at ``generated_at_block`` (amounts in the smallest currency unit)."""

    loan_id: Count
    bank_member_id: Count
    lien_status: LienStatusName
    principal: Amount
    outstanding: Amount
    baseline_value: Amount
    last_value: Amount | None = None
    days_overdue: Count = 0
    case_id: Count | None = None


class CaseTransitionFact(BundleModel):
    from_state: CaseStateName = Field(alias="from")
    to_state: CaseStateName = Field(alias="to")
    evidence_digest: Hex32
    block_number: Count
    tx_hash: Hex32

    model_config = ConfigDict(frozen=True, extra="forbid", validate_by_name=True, serialize_by_alias=True)


class CaseFact(BundleModel):
    """A disposal case of one of the loans, its state and every transition up to ``generated_at_block``."""

    case_id: Count
    loan_id: Count
    state: CaseStateName
    transitions: list[CaseTransitionFact]


class ReportFact(BundleModel):
    """A report on a loan (``report`` as in ``ReportView``), with what it reported (``detail``)."""

    loan_id: Count
    report: ReportName
    reporter_member_id: Count | None = None
    detail: dict[str, int | str]
    evidence_digest: Hex32
    block_number: Count
    tx_hash: Hex32


class ReceiptFact(BundleModel):
    """An access receipt (``receipt``: the salted receipt document, as the portal logged it) anchored in a Merkle
    batch: its leaf is (batch, the read document's digest, the receipt's digest)."""

    receipt: dict[str, Any]
    digest: Hex32
    batch_id: Count
    kind: Count
    proof: list[Hex32]
    attester: Address
    block_number: Count
    tx_hash: Hex32
    status: BatchStatus = "valid"


class ReceiptBatchFact(BundleModel):
    """Every leaf of one batch of access receipts, ``(document digest, receipt digest)``, in order: with them a
    verifier finds every receipt about the bundle's document in the batch, not only those the bundle shows."""

    batch_id: Count
    kind: Count
    attester: Address
    leaves: list[tuple[Hex32, Hex32]]
    block_number: Count
    tx_hash: Hex32


class ProofBundle(BundleModel):
    """Every on-chain fact shown about one vehicle (subject), each checkable against any node of ``chain_id``.

    A receipts bundle is about one document instead: its subject is the document's digest, and it holds the access
    receipts about it (``receipts``), every batch of receipts anchored up to ``generated_at_block``
    (``receipt_batches``, with all their leaves) and their kind (``receipt_kind``), so that a verifier checks both
    that each receipt is on chain and that no other receipt about the document was anchored by then."""

    version: Literal["vehicle-evidence-bundle/1"] = BUNDLE_VERSION
    chain_id: Annotated[int, Field(gt=0)]
    contracts: BundleContracts
    subject: Hex32
    generated_at: datetime
    generated_at_block: Count
    attestations: list[AttestationFact] = []
    batch_records: list[BatchRecordFact] = []
    loans: list[LoanFact] = []
    cases: list[CaseFact] = []
    reports: list[ReportFact] = []
    receipts: list[ReceiptFact] = []
    receipt_batches: list[ReceiptBatchFact] = []
    receipt_kind: Count | None = None
    """When set: ``receipt_batches`` holds every batch of this kind anchored up to ``generated_at_block``."""


def parse_bundle(text: str | bytes) -> ProofBundle:
    """A bundle from its JSON; :class:`BundleFormatError` names the first field that is wrong."""
    try:
        data = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BundleFormatError(f"not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise BundleFormatError(f"a bundle is a JSON object, not {type(data).__name__}")
    if data.get("version") != BUNDLE_VERSION:
        raise BundleFormatError(f"must be {BUNDLE_VERSION!r}, got {data.get('version')!r}", field="version")
    try:
        return ProofBundle.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in first["loc"]).lstrip(".")
        more = f" (and {exc.error_count() - 1} more problems)" if exc.error_count() > 1 else ""
        raise BundleFormatError(f"{first['msg']}{more}", field=where or None) from None


def load_bundle(path: Path) -> ProofBundle:
    """Read and parse a bundle file; :class:`BundleFormatError` when it cannot be read or is malformed."""
    try:
        text = path.read_bytes()
    except OSError as exc:
        raise BundleFormatError(f"cannot read {path}: {exc.strerror or exc}") from None
    return parse_bundle(text)


# ---------------------------------------------------------------------------------------------------- leaves and proofs


def to_hex(value: bytes | str) -> str:
    return ("0x" + value.hex() if isinstance(value, bytes) else value).lower()


def proves(proof: Sequence[str], root: str, batch_id: int, subject: str, digest: str) -> bool:
    """Whether ``proof`` leads from the leaf of (batch, subject, digest) to ``root`` (all 0x-hex)."""
    leaf = batch_leaf(batch_id, bytes.fromhex(subject[2:]), bytes.fromhex(digest[2:]))
    return to_hex(process_proof((bytes.fromhex(p[2:]) for p in proof), leaf)) == root.lower()


def leaf_pairs(leaves: Sequence[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
    return [(bytes.fromhex(subject[2:]), bytes.fromhex(digest[2:])) for subject, digest in leaves]
