"""Proof bundles: every on-chain fact shown about one vehicle, in a JSON file anyone can check against any node.

A bank gets a bundle from the portal (:func:`build_bundle` makes it from the SQL read model) and checks it offline,
with no portal involved, against any node of the chain (:func:`verify_bundle`, ``consortium verify-bundle FILE --rpc
URL``). Verification uses JSON-RPC only: views of the three contracts, transaction receipts, logs and blocks.

Each fact of the bundle comes out ``confirmed`` (the chain says what the bundle says), ``changed`` (the chain said so
at ``generated_at_block`` and says otherwise now, e.g. a record revoked since: the bundle was true when made) or
``failed`` (the chain never said so: a wrong digest, attester, block, proof or status; the reason names the fact).
What a fact was at ``generated_at_block`` is read from the contracts' events up to that block, so verification needs
no archive node: event logs are kept by every node.

    bundle = build_bundle(session=session, suite=suite, subject=subject)
    Path("bundle.json").write_text(bundle.model_dump_json(indent=2))
    report = verify_bundle(load_bundle(Path("bundle.json")), connection)
    report.verdict  # "confirmed", "changed" or "failed"
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from functools import cache, partial
from pathlib import Path
from typing import Annotated, Any, Final, Literal, TypeAlias, TypeVar

from eth_typing import HexStr
from eth_utils.address import is_address, to_checksum_address
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, computed_field
from sqlmodel import Session, col, select
from web3 import Web3
from web3.exceptions import TransactionNotFound, Web3Exception
from web3.types import FilterParams, TxReceipt

from node_adapter.clients import (
    CollateralClient,
    ContractClient,
    MembershipClient,
    RegistryClient,
    Suite,
    contract_spec,
    decode_event_args,
)
from node_adapter.connection import CONNECTION_ERRORS, ChainConnection
from node_adapter.encoding import SaltedDocument
from node_adapter.exceptions import (
    BundleChainMismatchError,
    BundleError,
    BundleFormatError,
    ChainUnavailableError,
    EncodingError,
    NodeAdapterError,
)
from node_adapter.indexer import IndexerCheckpoint
from node_adapter.merkle import MerkleTree, batch_leaf, process_proof
from node_adapter.readmodel import (
    CASE_STATES,
    LIEN_STATUSES,
    REPORT_EVENTS,
    AttestationView,
    BatchView,
    CaseTransitionView,
    CaseView,
    DisputeView,
    LoanView,
    ReportView,
)

BUNDLE_VERSION: Final = "vehicle-evidence-bundle/1"
ZERO_HEX: Final = "0x" + "00" * 32

T = TypeVar("T")

# ------------------------------------------------------------------------------------------------------------- errors


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


# ---------------------------------------------------------------------------------------------------------- report

Outcome: TypeAlias = Literal["confirmed", "changed", "failed"]
FactKind: TypeAlias = Literal[
    "chain",
    "contract",
    "attestation",
    "batch_record",
    "loan",
    "case",
    "case_transition",
    "report",
    "receipt",
    "receipt_batch",
    "receipts_complete",
]
Value: TypeAlias = str | int | None


class Change(BaseModel):
    """A value as the bundle states it (true at ``generated_at_block``) and as the chain says now."""

    model_config = ConfigDict(frozen=True)

    then: Value
    now: Value


class FactCheck(BaseModel):
    """What the chain says of one fact: ``reason`` for a failure, ``changes`` for a fact that changed since."""

    model_config = ConfigDict(frozen=True)

    fact: str
    kind: FactKind
    outcome: Outcome
    reason: str | None = None
    changes: dict[str, Change] = {}


class BundleReport(BaseModel):
    """Every fact of a bundle checked against one node; ``verdict`` is the worst outcome."""

    model_config = ConfigDict(frozen=True)

    chain_id: int
    subject: str
    generated_at_block: int
    checked_at_block: int
    checks: list[FactCheck]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def verdict(self) -> Outcome:
        outcomes = {check.outcome for check in self.checks}
        return "failed" if "failed" in outcomes else "changed" if "changed" in outcomes else "confirmed"

    def counts(self) -> dict[Outcome, int]:
        """How many facts came out confirmed, changed and failed."""
        counts: dict[Outcome, int] = {"confirmed": 0, "changed": 0, "failed": 0}
        for check in self.checks:
            counts[check.outcome] += 1
        return counts


# -------------------------------------------------------------------------------------------------------- building


class BatchRecordRef(BaseModel):
    """A record of a Merkle batch about the bundle's subject: its batch, digest and proof (the caller knows them)."""

    model_config = ConfigDict(frozen=True)

    batch_id: int
    digest: Hex32
    proof: list[Hex32]


def _hex(value: bytes | str) -> str:
    return ("0x" + value.hex() if isinstance(value, bytes) else value).lower()


def _proves(proof: Sequence[str], root: str, batch_id: int, subject: str, digest: str) -> bool:
    """Whether ``proof`` leads from the leaf of (batch, subject, digest) to ``root`` (all 0x-hex)."""
    leaf = batch_leaf(batch_id, bytes.fromhex(subject[2:]), bytes.fromhex(digest[2:]))
    return _hex(process_proof((bytes.fromhex(p[2:]) for p in proof), leaf)) == root.lower()


def _about(suite: Suite, subject: str, block: int) -> dict[str, Any]:
    """What every bundle says first: the chain, its contracts, the subject, when and as of which block."""
    contracts = BundleContracts(
        membership=suite.membership.address,
        evidence_registry=suite.registry.address,
        collateral_manager=suite.collateral.address,
    )
    return {
        "chain_id": suite.registry.chain_id,
        "contracts": contracts,
        "subject": subject,
        "generated_at": datetime.now(UTC),
        "generated_at_block": block,
    }


def _head_of_read_model(session: Session, suite: Suite) -> int:
    """The last block both the chain and the read model have: the block the bundle describes."""
    head = suite.registry.connection.call(lambda w3: w3.eth.block_number)
    indexed = session.exec(
        select(IndexerCheckpoint.block_number).where(IndexerCheckpoint.chain_id == suite.registry.chain_id)
    ).all()
    return min(head, max(indexed)) if indexed else head


def _attestation_facts(session: Session, suite: Suite, subject: str, block_time: int) -> list[AttestationFact]:
    rows = session.exec(
        select(AttestationView)
        .where(AttestationView.subject == subject)
        .order_by(col(AttestationView.block_number), col(AttestationView.uid))
    ).all()
    statuses: dict[str, AttestationStatus] = {}

    def status_of(uid: str) -> AttestationStatus:
        if uid not in statuses:
            row = session.get(AttestationView, uid)
            if row is None:
                raise BundleError(f"record {uid} is referred to but not in the read model: index the chain first")
            open_dispute = session.exec(
                select(DisputeView.dispute_id).where(DisputeView.uid == uid, DisputeView.state == "open")
            ).first()
            statuses[uid] = attestation_status(
                invalidated=row.invalidated,
                revoked=row.revoked_at is not None,
                expired=row.expiry != 0 and row.expiry <= block_time,
                reference_valid=row.ref is None or status_of(row.ref) in VALID_STATUSES,
                disputed=open_dispute is not None,
            )
        return statuses[uid]

    facts = []
    for row in rows:
        status = status_of(row.uid)
        if (status in VALID_STATUSES) != suite.registry.is_valid(row.uid):
            raise BundleError(
                f"the read model says record {row.uid} is {status}, the registry's isValid does not agree: "
                "index the chain (consortium index) and build again"
            )
        same_names = row.model_dump(include=set(AttestationFact.model_fields))
        facts.append(AttestationFact.model_validate({**same_names, "attested_at": row.block_time, "status": status}))
    return facts


def _batch_facts(session: Session, subject: str, refs: Sequence[BatchRecordRef]) -> list[BatchRecordFact]:
    facts = []
    for ref in refs:
        batch = session.get(BatchView, ref.batch_id)
        if batch is None:
            raise BundleError(f"batch {ref.batch_id} is not in the read model: index the chain first")
        if not _proves(ref.proof, batch.root, ref.batch_id, subject, ref.digest):
            raise BundleError(f"the proof of record {ref.digest} does not lead to the root of batch {ref.batch_id}")
        facts.append(
            BatchRecordFact(
                batch_id=ref.batch_id,
                kind=batch.kind,
                subject=subject,
                digest=ref.digest,
                proof=ref.proof,
                attester=batch.attester,
                block_number=batch.block_number,
                tx_hash=batch.tx_hash,
                status="revoked" if batch.revoked_at is not None else "valid",
            )
        )
    return facts


def build_bundle(
    *, session: Session, suite: Suite, subject: bytes | str, batch_records: Sequence[BatchRecordRef] = ()
) -> ProofBundle:
    """The bundle of every fact the read model holds about ``subject``, with the batch records given.

    Records, loans (with their cases and reports) come from the read model; each record's status is computed from it
    and checked against the registry's ``isValid`` (a disagreement means the read model lags: :class:`BundleError`).
    ``batch_records`` are the batch records about the subject the caller knows of (the oracle or the portal keeps
    which off-chain record is in which batch); each proof is checked against its batch's root.
    """
    subject_hex = _hex(subject)
    block = _head_of_read_model(session, suite)
    block_time = int(suite.registry.connection.call(lambda w3: w3.eth.get_block(block)["timestamp"]))
    loans = session.exec(select(LoanView).where(LoanView.subject == subject_hex).order_by(col(LoanView.loan_id))).all()
    loan_ids = [loan.loan_id for loan in loans]
    cases = session.exec(
        select(CaseView).where(col(CaseView.loan_id).in_(loan_ids)).order_by(col(CaseView.case_id))
    ).all()
    reports = session.exec(
        select(ReportView).where(ReportView.subject == subject_hex).order_by(col(ReportView.id))
    ).all()

    def transitions(case_id: int) -> list[CaseTransitionFact]:
        rows = session.exec(
            select(CaseTransitionView).where(CaseTransitionView.case_id == case_id).order_by(col(CaseTransitionView.id))
        ).all()
        return [
            CaseTransitionFact.model_validate(t.model_dump(include=set(CaseTransitionFact.model_fields))) for t in rows
        ]

    return ProofBundle(
        **_about(suite, subject_hex, block),
        attestations=_attestation_facts(session, suite, subject_hex, block_time),
        batch_records=_batch_facts(session, subject_hex, batch_records),
        loans=[LoanFact.model_validate(loan.model_dump(include=set(LoanFact.model_fields))) for loan in loans],
        cases=[
            CaseFact(
                case_id=case.case_id, loan_id=case.loan_id, state=case.state, transitions=transitions(case.case_id)
            )
            for case in cases
        ],
        reports=[
            ReportFact(
                loan_id=r.loan_id,
                report=r.report,
                reporter_member_id=r.reporter_member_id,
                detail=json.loads(r.detail),
                evidence_digest=r.evidence_digest,
                block_number=r.block_number,
                tx_hash=r.tx_hash,
            )
            for r in reports
        ],
    )


class ReceiptRef(BaseModel):
    """An access receipt the caller logged and anchored: the salted receipt, its digest, its batch and proof."""

    model_config = ConfigDict(frozen=True)

    receipt: dict[str, Any]
    digest: Hex32
    batch_id: int
    proof: list[Hex32]


def _pairs(leaves: Sequence[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
    return [(bytes.fromhex(subject[2:]), bytes.fromhex(digest[2:])) for subject, digest in leaves]


def build_receipt_bundle(
    *,
    session: Session,
    suite: Suite,
    subject: bytes | str,
    receipt_kind: int,
    receipts: Sequence[ReceiptRef],
    leaves: Mapping[int, Sequence[tuple[str, str]]],
) -> ProofBundle:
    """The receipts bundle of one document (``subject``: its digest): the receipts about it with their proofs, and
    every batch of ``receipt_kind`` the read model holds up to the bundle's block (not revoked), each with all its
    leaves from ``leaves`` (batch id -> ``(document digest, receipt digest)`` in order; the caller keeps them).

    :class:`BundleError` when a batch's leaves are unknown or do not make its root, or a proof does not lead to it.
    """
    subject_hex = _hex(subject)
    block = _head_of_read_model(session, suite)
    batches = session.exec(
        select(BatchView)
        .where(BatchView.kind == receipt_kind, BatchView.block_number <= block, col(BatchView.revoked_at).is_(None))
        .order_by(col(BatchView.batch_id))
    ).all()
    batch_facts = []
    for batch in batches:
        batch_leaves = leaves.get(batch.batch_id)
        if batch_leaves is None:
            raise BundleError(f"the leaves of receipt batch {batch.batch_id} (by {batch.attester}) are not known here")
        if _hex(MerkleTree.of_records(batch.batch_id, _pairs(batch_leaves)).root) != batch.root.lower():
            raise BundleError(f"the leaves kept for receipt batch {batch.batch_id} do not make its root")
        same = batch.model_dump(include=set(ReceiptBatchFact.model_fields))
        batch_facts.append(ReceiptBatchFact.model_validate({**same, "leaves": batch_leaves}))
    receipt_facts = []
    for ref in receipts:
        anchored = session.get(BatchView, ref.batch_id)
        if anchored is None or anchored.block_number > block:
            continue  # anchored after the read model's block: a later bundle shows it
        if not _proves(ref.proof, anchored.root, ref.batch_id, subject_hex, ref.digest):
            raise BundleError(f"the proof of receipt {ref.digest} does not lead to the root of batch {ref.batch_id}")
        same = anchored.model_dump(include={"kind", "attester", "block_number", "tx_hash"})
        status = "revoked" if anchored.revoked_at is not None else "valid"
        receipt_facts.append(ReceiptFact.model_validate({**ref.model_dump(), **same, "status": status}))
    return ProofBundle(
        **_about(suite, subject_hex, block),
        receipts=receipt_facts,
        receipt_batches=batch_facts,
        receipt_kind=receipt_kind,
    )


# ------------------------------------------------------------------------------------------------------ verifying


class _GivenWeb3(ChainConnection):
    """A connection to the one node behind a given :class:`Web3` (no failover): its errors become ChainErrors."""

    def __init__(self, w3: Web3) -> None:
        super().__init__([str(getattr(w3.provider, "endpoint_uri", None) or "the given Web3 provider")])
        self._given = w3

    def call(self, fn: Callable[[Web3], T]) -> T:
        try:
            return fn(self._given)
        except CONNECTION_ERRORS as exc:
            raise ChainUnavailableError(f"the chain node at {self.urls[0]} does not answer: {exc}") from exc


class _Log(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    args: dict[str, Any]
    block_number: int
    tx_hash: str


@cache
def _event_topics(contract: str) -> dict[str, str]:
    return {entry["name"]: "0x" + topic.hex() for topic, entry in contract_spec(contract).events.items()}


def _topic(value: int | str) -> str:
    return "0x" + value.to_bytes(32, "big").hex() if isinstance(value, int) else value.lower()


def _same(a: object, b: object) -> bool:
    """Event values and bundle values compared as text: hex case and int-versus-decimal-string do not matter."""
    return str(a).lower() == str(b).lower()


def _mismatches(source: str, *fields: tuple[str, object, object]) -> list[str | None]:
    """What ``source`` records otherwise than the bundle, of ``(field, on chain, in the bundle)``."""
    return [
        f"{source} records {field} {chain}, not {claimed}"
        for field, chain, claimed in fields
        if not _same(chain, claimed)
    ]


def _decoded(client: ContractClient, logs: Sequence[Mapping[str, Any]]) -> list[_Log]:
    found = []
    for log in logs:
        if to_checksum_address(log["address"]) != client.address or not log["topics"]:
            continue
        entry = client.spec.events.get(bytes(log["topics"][0]))
        if entry is not None:
            found.append(
                _Log(
                    name=entry["name"],
                    args=decode_event_args(entry, [bytes(t) for t in log["topics"][1:]], bytes(log["data"])),
                    block_number=int(log["blockNumber"]),
                    tx_hash="0x" + bytes(log["transactionHash"]).hex(),
                )
            )
    return found


class _Verifier:
    """Checks one bundle's facts against one node, as of ``head`` (now) and ``bundle.generated_at_block`` (then)."""

    def __init__(self, bundle: ProofBundle, connection: ChainConnection, head: int) -> None:
        self.bundle = bundle
        self.connection = connection
        self.head = head
        self.made = bundle.generated_at_block
        contracts = bundle.contracts
        self.suite = Suite(
            membership=MembershipClient(connection, contracts.membership),
            registry=RegistryClient(connection, contracts.evidence_registry),
            collateral=CollateralClient(connection, contracts.collateral_manager),
        )
        self._block_times: dict[int, int] = {}

    # ------------------------------------------------------------------ chain access

    def block_time(self, number: int) -> int:
        if number not in self._block_times:
            self._block_times[number] = int(self.connection.call(lambda w3: w3.eth.get_block(number)["timestamp"]))
        return self._block_times[number]

    def logs(
        self, client: ContractClient, names: Sequence[str], *topics: int | str | None, to_block: int
    ) -> list[_Log]:
        """The events ``names`` of ``client`` up to ``to_block`` whose indexed arguments match ``topics``."""
        signatures = _event_topics(client.contract_name)
        params: FilterParams = {
            "address": client.address,
            "fromBlock": 0,
            "toBlock": to_block,
            "topics": [
                [HexStr(signatures[n]) for n in names],
                *(None if t is None else HexStr(_topic(t)) for t in topics),
            ],
        }
        return _decoded(client, self.connection.call(lambda w3: w3.eth.get_logs(params)))

    def receipt_event(
        self, client: ContractClient, tx_hash: str, block_number: int, event: str, expected: Mapping[str, object]
    ) -> str | None:
        """Why the receipt of ``tx_hash`` does not hold ``event`` of ``client`` with ``expected`` in ``block_number``;
        None when it does."""
        try:
            receipt: TxReceipt = self.connection.call(lambda w3: w3.eth.get_transaction_receipt(HexStr(tx_hash)))
        except TransactionNotFound:
            return f"no transaction {tx_hash} on this chain"
        if receipt["status"] != 1:
            return f"transaction {tx_hash} reverted"
        if receipt["blockNumber"] != block_number:
            return f"transaction {tx_hash} is in block {receipt['blockNumber']}, not {block_number}"
        for log in _decoded(client, receipt["logs"]):
            if log.name == event and all(_same(log.args[k], v) for k, v in expected.items()):
                return None
        shown = ", ".join(f"{k}={v}" for k, v in expected.items())
        return f"transaction {tx_hash} has no {event}({shown}) event of the {client.contract_name}"

    # ------------------------------------------------------------------ judging

    def judge(
        self,
        fact: str,
        kind: FactKind,
        *,
        problems: Sequence[str | None],
        claimed: Mapping[str, Value] | None = None,
        now: Callable[[], Mapping[str, Value]] = dict,
        then: Callable[[], Mapping[str, Value]] = dict,
    ) -> FactCheck:
        """Failed on any problem, or when the ``claimed`` values are not what the chain said at the bundle's block
        (``then``); changed when the chain says otherwise ``now``; confirmed otherwise. A fact that cannot change (a
        report, a transition) claims nothing beyond what its ``problems`` checked."""
        claimed = claimed or {}
        reasons = [p for p in problems if p]
        if reasons:
            return FactCheck(fact=fact, kind=kind, outcome="failed", reason="; ".join(reasons))
        past = then() if claimed else {}
        wrong = [
            f"{k} was {past[k]} at block {self.made}, not {v}" for k, v in claimed.items() if not _same(past[k], v)
        ]
        if wrong:
            return FactCheck(fact=fact, kind=kind, outcome="failed", reason="; ".join(wrong))
        current = now() if claimed else {}
        changes = {k: Change(then=v, now=current[k]) for k, v in claimed.items() if not _same(current[k], v)}
        if not changes:
            return FactCheck(fact=fact, kind=kind, outcome="confirmed")
        shown = ", ".join(f"{k} {c.then} -> {c.now}" for k, c in changes.items())
        return FactCheck(
            fact=fact, kind=kind, outcome="changed", reason=f"changed since block {self.made}: {shown}", changes=changes
        )

    def judge_status(
        self,
        fact: str,
        kind: FactKind,
        *,
        problems: Sequence[str | None],
        claimed: str,
        status_at: Callable[[int], str],
        valid_now: tuple[str, Callable[[], bool]],
    ) -> FactCheck:
        """:meth:`judge` of a status read from events at a block (``status_at``); the status now must agree with
        the contract's own validity view (``valid_now``: its name and a call of it)."""

        def now() -> dict[str, Value]:
            status = status_at(self.head)
            view, is_valid = valid_now
            if (status in VALID_STATUSES) != is_valid():
                raise BundleError(f"the registry's events say {status}, its {view} does not agree")
            return {"status": status}

        return self.judge(
            fact,
            kind,
            problems=problems,
            claimed={"status": claimed},
            now=now,
            then=lambda: {"status": status_at(self.made)},
        )

    def guarded(self, fact: str, kind: FactKind, check: Callable[[str], FactCheck]) -> FactCheck:
        """``check(fact)``, with a contract revert or a malformed answer as the fact's failure (an unreachable node is
        not a fact's failure: it propagates)."""
        try:
            return check(fact)
        except ChainUnavailableError:
            raise
        except (NodeAdapterError, Web3Exception) as exc:
            return FactCheck(fact=fact, kind=kind, outcome="failed", reason=str(exc))

    # ------------------------------------------------------------------ facts

    def status_at(self, uid: str, block: int, depth: int = 0) -> AttestationStatus:
        """A record's status at ``block`` from the registry's events (and its expiry against the block's time)."""
        registry = self.suite.registry
        view = registry.get_record(uid)
        revoked = self.logs(registry, ["Revoked"], uid, to_block=block)
        disputes = self.logs(registry, ["DisputeOpened", "DisputeResolved"], None, uid, to_block=block)
        resolved = {int(d.args["disputeId"]): bool(d.args["upheld"]) for d in disputes if d.name == "DisputeResolved"}
        opened = {int(d.args["disputeId"]) for d in disputes if d.name == "DisputeOpened"}
        ref = view.ref.lower()
        return attestation_status(
            invalidated=any(resolved.values()),
            revoked=bool(revoked),
            expired=view.record.expiry != 0 and view.record.expiry <= self.block_time(block),
            reference_valid=ref == ZERO_HEX or depth > 32 or self.status_at(ref, block, depth + 1) in VALID_STATUSES,
            disputed=bool(opened - resolved.keys()),
        )

    def attestation(self, name: str, *, fact: AttestationFact) -> FactCheck:
        registry = self.suite.registry
        view = registry.get_record(fact.uid)
        record = view.record
        problems: list[str | None] = []
        if not record.exists:
            problems.append(f"the registry has no record {fact.uid}")
        else:
            ref = None if view.ref.lower() == ZERO_HEX else view.ref.lower()
            problems += _mismatches(
                "the registry",
                ("attester", record.attester, fact.attester),
                ("kind", record.kind, fact.kind),
                ("time", record.time, fact.attested_at),
                ("expiry", record.expiry, fact.expiry),
                ("ref", ref, fact.ref),
            )
            if record.time != self.block_time(fact.block_number):
                problems.append(f"it was not attested in block {fact.block_number}")
        expected = {
            "subject": self.bundle.subject,
            "kind": fact.kind,
            "attester": fact.attester,
            "uid": fact.uid,
            "ref": fact.ref or ZERO_HEX,
            "expiry": fact.expiry,
        }
        problems.append(self.receipt_event(registry, fact.tx_hash, fact.block_number, "Attested", expected))
        if fact.reading is not None:
            reading = {"subject": self.bundle.subject, "uid": fact.uid, "reading": fact.reading}
            problems.append(self.receipt_event(registry, fact.tx_hash, fact.block_number, "OdometerRecorded", reading))
        return self.judge_status(
            name,
            "attestation",
            problems=problems,
            claimed=fact.status,
            status_at=partial(self.status_at, fact.uid),
            valid_now=("isValid", partial(registry.is_valid, fact.uid)),
        )

    def batch_record(
        self,
        name: str,
        *,
        fact: BatchRecordFact,
        kind: FactKind = "batch_record",
        problems: Sequence[str | None] = (),
    ) -> FactCheck:
        registry = self.suite.registry
        batch = registry.get_batch(fact.batch_id)
        problems = list(problems)
        if fact.subject != self.bundle.subject:
            problems.append(f"it is about subject {fact.subject}, not the bundle's")
        if not _same(batch.attester, fact.attester) or batch.kind != fact.kind:
            problems.append(f"batch {fact.batch_id} is of kind {batch.kind} by {batch.attester}")
        if not _proves(fact.proof, batch.root, fact.batch_id, fact.subject, fact.digest):
            problems.append(f"the Merkle proof does not lead to the root of batch {fact.batch_id}")
        anchored = {"batchId": fact.batch_id, "kind": fact.kind, "attester": fact.attester, "root": batch.root}
        problems.append(self.receipt_event(registry, fact.tx_hash, fact.block_number, "BatchAnchored", anchored))

        def status_at(block: int) -> str:
            return "revoked" if self.logs(registry, ["BatchRevoked"], fact.batch_id, to_block=block) else "valid"

        verify = partial(registry.verify_batch_record, fact.batch_id, fact.subject, fact.digest, fact.proof)
        return self.judge_status(
            name,
            kind,
            problems=problems,
            claimed=fact.status,
            status_at=status_at,
            valid_now=("verifyBatchRecord", verify),
        )

    def receipt(self, name: str, *, fact: ReceiptFact) -> FactCheck:
        """An access receipt: it hashes to its digest, is about the bundle's document, and is in its batch."""
        problems: list[str | None] = []
        document = fact.receipt.get("document")
        about = document.get("digest") if isinstance(document, dict) else None
        if not isinstance(about, str) or about.lower() != self.bundle.subject:
            problems.append(f"the receipt is about document {about}, not the bundle's {self.bundle.subject}")
        try:
            if not SaltedDocument.from_salted(fact.receipt, bytes.fromhex(fact.digest[2:])).verify():
                problems.append("the receipt (with its _salt) does not hash to its digest")
        except EncodingError as exc:
            problems.append(f"the receipt cannot be digested: {exc}")
        same = fact.model_dump(include=set(BatchRecordFact.model_fields))
        record = BatchRecordFact.model_validate({**same, "subject": self.bundle.subject})
        return self.batch_record(name, fact=record, kind="receipt", problems=problems)

    def receipt_batch(self, name: str, *, fact: ReceiptBatchFact) -> FactCheck:
        """A batch of receipts with all its leaves: they make its root, and every receipt in it about the bundle's
        document is one the bundle shows."""
        registry = self.suite.registry
        batch = registry.get_batch(fact.batch_id)
        problems: list[str | None] = []
        if not _same(batch.attester, fact.attester) or batch.kind != fact.kind:
            problems.append(f"batch {fact.batch_id} is of kind {batch.kind} by {batch.attester}")
        if batch.count != len(fact.leaves):
            problems.append(f"batch {fact.batch_id} holds {batch.count} leaves, the bundle lists {len(fact.leaves)}")
        elif _hex(MerkleTree.of_records(fact.batch_id, _pairs(fact.leaves)).root) != batch.root.lower():
            problems.append(f"the leaves do not make the root of batch {fact.batch_id}")
        shown = {r.digest for r in self.bundle.receipts if r.batch_id == fact.batch_id}
        left_out = [d for s, d in fact.leaves if s == self.bundle.subject and d not in shown]
        if left_out:
            problems.append(f"it holds receipts about the document the bundle leaves out: {', '.join(left_out)}")
        anchored = {"batchId": fact.batch_id, "kind": fact.kind, "attester": fact.attester, "root": batch.root}
        problems.append(self.receipt_event(registry, fact.tx_hash, fact.block_number, "BatchAnchored", anchored))
        return self.judge(name, "receipt_batch", problems=problems)

    def receipts_complete(self, name: str, *, kind: int) -> FactCheck:
        """Every batch of receipts anchored up to the bundle's block (and not revoked by then) is in the bundle."""
        registry = self.suite.registry
        anchored = [
            int(log.args["batchId"]) for log in self.logs(registry, ["BatchAnchored"], None, kind, to_block=self.made)
        ]
        revoked = {int(log.args["batchId"]) for log in self.logs(registry, ["BatchRevoked"], to_block=self.made)}
        listed = {b.batch_id for b in self.bundle.receipt_batches}
        missing = [batch_id for batch_id in anchored if batch_id not in listed and batch_id not in revoked]
        problems: list[str | None] = []
        if missing:
            problems.append(f"batches {missing} of kind {kind} were anchored by block {self.made} and are left out")
        other = [b.batch_id for b in self.bundle.receipt_batches if b.kind != kind]
        if other:
            problems.append(f"batches {other} are not of kind {kind}")
        return self.judge(name, "receipts_complete", problems=problems)

    def loan_at(self, loan_id: int, block: int) -> dict[str, Value]:
        """A loan's changing fields at ``block``, folded from the events that change them."""
        names = ["LoanRegistered", "LienStatusChanged", "RepaymentReported", "ValuationAggregated", "RulesFired"]
        state: dict[str, Value] = {
            "lien_status": "none",
            "outstanding": "0",
            "days_overdue": 0,
            "last_value": None,
            "case_id": None,
        }
        for log in self.logs(self.suite.collateral, names, loan_id, to_block=block):
            a = log.args
            if log.name == "LoanRegistered":
                state.update(lien_status="pending", outstanding=str(a["outstanding"]))
            elif log.name == "LienStatusChanged":
                state["lien_status"] = LIEN_STATUSES[int(a["to"])]
            elif log.name == "RepaymentReported":
                state.update(days_overdue=int(a["daysOverdue"]), outstanding=str(a["outstanding"]))
            elif log.name == "ValuationAggregated":
                state["last_value"] = str(a["value"])
            else:
                state["case_id"] = int(a["caseId"])
        return state

    def loan(self, name: str, *, fact: LoanFact) -> FactCheck:
        loan = self.suite.collateral.get_loan(fact.loan_id)
        problems = _mismatches(
            "the CollateralManager",
            ("subject", loan.subject, self.bundle.subject),
            ("bank_member_id", loan.bank_member_id, fact.bank_member_id),
            ("principal", loan.principal, fact.principal),
            ("baseline_value", loan.baseline_value, fact.baseline_value),
        )
        claimed: dict[str, Value] = {
            "lien_status": fact.lien_status,
            "outstanding": fact.outstanding,
            "days_overdue": fact.days_overdue,
            "last_value": fact.last_value,
            "case_id": fact.case_id,
        }
        now: dict[str, Value] = {
            "lien_status": LIEN_STATUSES[loan.lien_status],
            "outstanding": str(loan.outstanding),
            "days_overdue": loan.days_overdue,
            "last_value": str(loan.last_value) if loan.last_valued_at else None,
            "case_id": loan.case_id or None,
        }
        return self.judge(
            name,
            "loan",
            problems=problems,
            claimed=claimed,
            now=lambda: now,
            then=lambda: self.loan_at(fact.loan_id, self.made),
        )

    def case(self, name: str, *, fact: CaseFact) -> FactCheck:
        collateral = self.suite.collateral
        case = collateral.get_case(fact.case_id)
        problems: list[str | None] = []
        if case.loan_id != fact.loan_id:
            problems.append(f"case {fact.case_id} is about loan {case.loan_id}, not {fact.loan_id}")
        changes = self.logs(collateral, ["CaseStateChanged"], fact.case_id, to_block=self.made)
        listed = {(t.block_number, t.tx_hash, t.from_state, t.to_state) for t in fact.transitions}
        for log in changes:
            step = (CASE_STATES[int(log.args["from"])], CASE_STATES[int(log.args["to"])])
            if (log.block_number, log.tx_hash, *step) not in listed:
                problems.append(
                    f"the bundle leaves out its transition {step[0]} -> {step[1]} in block {log.block_number}"
                )
        state_then = CASE_STATES[int(changes[-1].args["to"])] if changes else "none"
        return self.judge(
            name,
            "case",
            problems=problems,
            claimed={"state": fact.state},
            now=lambda: {"state": CASE_STATES[case.state]},
            then=lambda: {"state": state_then},
        )

    def transition(self, name: str, *, case_id: int, fact: CaseTransitionFact) -> FactCheck:
        expected = {
            "caseId": case_id,
            "from": CASE_STATES.index(fact.from_state),
            "to": CASE_STATES.index(fact.to_state),
            "evidenceDigest": fact.evidence_digest,
        }
        problem = self.receipt_event(
            self.suite.collateral, fact.tx_hash, fact.block_number, "CaseStateChanged", expected
        )
        return self.judge(name, "case_transition", problems=[problem])

    def report(self, name: str, *, fact: ReportFact) -> FactCheck:
        event = {report: event for event, (report, _) in REPORT_EVENTS.items()}[fact.report]
        expected: dict[str, object] = {
            "loanId": fact.loan_id,
            "subject": self.bundle.subject,
            "evidenceDigest": fact.evidence_digest,
            **fact.detail,
        }
        if fact.reporter_member_id is not None:
            expected["reporterMemberId"] = fact.reporter_member_id
        problem = self.receipt_event(self.suite.collateral, fact.tx_hash, fact.block_number, event, expected)
        return self.judge(name, "report", problems=[problem])

    def all_facts(self) -> list[FactCheck]:
        b = self.bundle
        planned: list[tuple[str, FactKind, Callable[[str], FactCheck]]] = [
            (f"attestation {f.uid}", "attestation", partial(self.attestation, fact=f)) for f in b.attestations
        ]
        planned += [
            (f"batch record {f.digest} in batch {f.batch_id}", "batch_record", partial(self.batch_record, fact=f))
            for f in b.batch_records
        ]
        planned += [(f"loan {f.loan_id}", "loan", partial(self.loan, fact=f)) for f in b.loans]
        for case in b.cases:
            planned.append((f"case {case.case_id}", "case", partial(self.case, fact=case)))
            planned += [
                (
                    f"case {case.case_id} transition {t.from_state} -> {t.to_state} (block {t.block_number})",
                    "case_transition",
                    partial(self.transition, case_id=case.case_id, fact=t),
                )
                for t in case.transitions
            ]
        planned += [
            (f"report {f.report} of loan {f.loan_id} (block {f.block_number})", "report", partial(self.report, fact=f))
            for f in b.reports
        ]
        planned += [
            (f"access receipt {f.digest} in batch {f.batch_id}", "receipt", partial(self.receipt, fact=f))
            for f in b.receipts
        ]
        planned += [
            (f"receipt batch {f.batch_id}", "receipt_batch", partial(self.receipt_batch, fact=f))
            for f in b.receipt_batches
        ]
        if b.receipt_kind is not None:
            planned.append(
                (
                    f"every receipt batch of kind {b.receipt_kind} up to block {b.generated_at_block}",
                    "receipts_complete",
                    partial(self.receipts_complete, kind=b.receipt_kind),
                )
            )
        return [self.guarded(name, kind, check) for name, kind, check in planned]


def _code(w3: Web3, *, address: str) -> bytes:
    return bytes(w3.eth.get_code(to_checksum_address(address)))


def _connection(node: ChainConnection | Web3) -> ChainConnection:
    return node if isinstance(node, ChainConnection) else _GivenWeb3(node)


def verify_bundle(bundle: ProofBundle, node: ChainConnection | Web3) -> BundleReport:
    """Check every fact of ``bundle`` against the chain behind ``node`` (JSON-RPC only).

    Raises :class:`BundleChainMismatchError` when the node is of another chain, and ``ChainUnavailableError`` when it
    does not answer; every other problem is a fact's ``failed`` outcome with its reason.
    """
    connection = _connection(node)
    actual = connection.chain_id
    if actual != bundle.chain_id:
        raise BundleChainMismatchError(connection.current_url, bundle.chain_id, actual)
    head = int(connection.call(lambda w3: w3.eth.block_number))
    checks = [FactCheck(fact=f"chain {actual}", kind="chain", outcome="confirmed")]
    if bundle.generated_at_block > head:
        reason = f"the bundle describes block {bundle.generated_at_block}; the chain ends at {head}"
        checks[0] = FactCheck(fact=f"chain {actual}", kind="chain", outcome="failed", reason=reason)
    for name, address in bundle.contracts.model_dump().items():
        code = connection.call(partial(_code, address=address))
        checks.append(
            FactCheck(fact=f"contract {name} {address}", kind="contract", outcome="confirmed")
            if code
            else FactCheck(
                fact=f"contract {name} {address}", kind="contract", outcome="failed", reason="no code at that address"
            )
        )
    if all(check.outcome == "confirmed" for check in checks):
        checks += _Verifier(bundle, connection, head).all_facts()
    return BundleReport(
        chain_id=actual,
        subject=bundle.subject,
        generated_at_block=bundle.generated_at_block,
        checked_at_block=head,
        checks=checks,
    )


__all__ = [
    "BUNDLE_VERSION",
    "AttestationFact",
    "AttestationStatus",
    "BatchRecordFact",
    "BatchRecordRef",
    "BundleChainMismatchError",
    "BundleContracts",
    "BundleError",
    "BundleFormatError",
    "BundleReport",
    "CaseFact",
    "CaseTransitionFact",
    "Change",
    "FactCheck",
    "LoanFact",
    "ProofBundle",
    "ReceiptBatchFact",
    "ReceiptFact",
    "ReceiptRef",
    "ReportFact",
    "attestation_status",
    "build_bundle",
    "build_receipt_bundle",
    "load_bundle",
    "parse_bundle",
    "verify_bundle",
]
