"""The value types of the typed clients: role bits and flags, the contracts' enums, and the frozen models views return.

Everything here is plain data, mirroring ``contracts/src``: :class:`Role` and :class:`KindFlag` bits, the state enums
(:class:`ProposalState`, :class:`CaseState`, ...), the reason and kind codes the contracts record as given
(:class:`RevokeReason`, :class:`AlertKind`, :class:`DmvEventKind`), the off-chain :class:`AnchorState` of a Merkle
batch, the :class:`ChainModel` views (snake_case fields validated from dicts keyed by the ABI's names), the
consortium's :data:`STANDARD_TERMS` and the :class:`EventLog` a write's receipt is decoded into. Nothing here talks to
a node.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, IntFlag, StrEnum
from typing import Any, TypeAlias

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

Bytes32: TypeAlias = bytes | str
"""A ``bytes32`` argument: exactly 32 bytes, or their 0x-hex spelling."""

HexBytesLike: TypeAlias = bytes | str
"""A ``bytes`` argument: bytes, or their 0x-hex spelling."""

ZERO_BYTES32 = b"\0" * 32
ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"


# ------------------------------------------------------------------------------------------------- roles and flags


class Role(IntFlag):
    """Role bits, as in ``contracts/src/libraries/Roles.sol``."""

    DEALER = 1 << 0
    INSURER = 1 << 1
    REPAIR_SHOP = 1 << 2
    BANK = 1 << 3
    DISPOSAL_AGENCY = 1 << 4
    DMV_ORACLE = 1 << 5
    TELEMATICS_ORACLE = 1 << 6
    PRICE_ORACLE = 1 << 7
    GOVERNOR = 1 << 8


def role_names(roles: int) -> tuple[str, ...]:
    """Names of the roles set in a mask, lowest bit first (``("DEALER", "BANK")``); undefined bits are left out."""
    return tuple(str(role.name) for role in Role if roles & role)


class KindFlag(IntFlag):
    """Attestation kind flags, as in ``EvidenceRegistry``."""

    ODOMETER = 1
    ROLLBACK_REJECT = 2


# -------------------------------------------------------------------------------------------------------- enums


class MemberStatus(IntEnum):
    NONE = 0
    ACTIVE = 1
    SUSPENDED = 2
    EXPELLED = 3


class ProposalState(IntEnum):
    NONE = 0
    ACTIVE = 1
    CANCELED = 2
    DEFEATED = 3
    QUEUED = 4
    READY = 5
    EXPIRED = 6
    EXECUTED = 7


class DisputeState(IntEnum):
    NONE = 0
    OPEN = 1
    UPHELD = 2
    REJECTED = 3


class PointsReason(IntEnum):
    ATTESTATION = 0
    CORROBORATION = 1
    BATCH = 2
    CLAWBACK = 3
    SLASH = 4
    DISPUTE_REWARD = 5


class LienStatus(IntEnum):
    NONE = 0
    PENDING = 1
    ACTIVE = 2
    RELEASED = 3


class CaseState(IntEnum):
    NONE = 0
    WATCH = 1
    TRIGGERED = 2
    CURED = 3
    REPOSSESSION_ORDERED = 4
    REPOSSESSED = 5
    APPRAISED = 6
    AUCTIONED = 7
    SETTLED = 8
    FROZEN = 9


class Cause(IntEnum):
    """Why a rule fired; a case records its causes as a mask of ``1 << cause``."""

    OVERDUE_WATCH = 0
    OVERDUE_BREACH = 1
    VALUE_RISE = 2
    VALUE_DROP = 3
    LOAN_TO_VALUE = 4
    TELEMATICS_WATCH = 5
    TELEMATICS_BREACH = 6
    DMV_SEIZURE = 7
    DMV_TRANSFER_ATTEMPT = 8
    DMV_SCRAPPING = 9
    RISK_WARNING = 10


class Severity(IntEnum):
    LOW = 0
    MEDIUM = 1
    HIGH = 2
    CRITICAL = 3


class AlertKind(IntEnum):
    """The ``alertKind`` codes telematics oracles report (the contract records them as given)."""

    GEOFENCE_EXIT = 1
    GPS_LOSS = 2
    ODOMETER_ROLLBACK = 3
    CRASH = 4
    TAMPER = 5


class AnchorState(StrEnum):
    """Where a Merkle batch built off chain stands: its anchoring write pending, or how it ended."""

    PENDING = "pending"
    CONFIRMED = "confirmed"
    MISNUMBERED = "misnumbered"
    """Anchored under another batch id than the one its leaves were built for: revoked, its records batched again."""
    FAILED = "failed"


@dataclass(frozen=True)
class AnchorOutcome:
    """How a batch's anchoring write ended (``RegistryClient.settle_anchor``)."""

    state: AnchorState
    batch_id: int | None
    note: str | None


class RevokeReason(IntEnum):
    """The consortium's reason codes for revoking a record (the contract records them as given)."""

    ERROR = 1
    """Recorded in error (a wrong vehicle, a misnumbered batch)."""
    SUPERSEDED = 2
    """Corrected by a newer record of the same kind."""
    WITHDRAWN = 3
    """No longer vouched for by its attester (the facts behind it changed)."""


class DmvEventKind(IntEnum):
    SEIZURE = 0
    TRANSFER_ATTEMPT = 1
    SCRAPPING = 2
    LIEN_RELEASED = 3


def causes_of(mask: int) -> tuple[Cause, ...]:
    """The causes set in a case's ``causes`` mask."""
    return tuple(cause for cause in Cause if mask & (1 << cause))


# ------------------------------------------------------------------------------------------------------- models


class ChainModel(BaseModel):
    """A value read from the chain: frozen, snake_case fields, validated from dicts keyed by the ABI's names."""

    model_config = ConfigDict(frozen=True, alias_generator=to_camel, validate_by_name=True, validate_by_alias=True)


class Member(ChainModel):
    """A consortium member (``IMembership.Member``)."""

    status: MemberStatus
    roles: int
    metadata_digest: str
    accounts: tuple[str, ...]

    @property
    def role_names(self) -> tuple[str, ...]:
        return role_names(self.roles)


class Authorization(ChainModel):
    """What ``authorize(account)`` answers: the account's active member and its roles, or (0, 0)."""

    member_id: int
    roles: int

    @property
    def role_names(self) -> tuple[str, ...]:
        return role_names(self.roles)


class Proposal(ChainModel):
    """A governance proposal (``IMembership.Proposal``); its state comes from ``MembershipClient.state``."""

    proposer: str
    vote_start: int
    vote_end: int
    eta: int
    for_votes: int
    against_votes: int
    eligible_voters: int
    quorum_bps: int
    canceled: bool
    executed: bool
    description_digest: str
    targets: tuple[str, ...]
    calldatas: tuple[str, ...]


class GovernanceParameters(ChainModel):
    quorum_bps: int
    voting_period: int
    execution_delay: int
    grace_period: int


class Kind(ChainModel):
    """An attestation kind (``IEvidenceRegistry.Kind``)."""

    roles: int
    weight: int
    flags: int
    active: bool
    exists: bool

    @property
    def role_names(self) -> tuple[str, ...]:
        return role_names(self.roles)


class KindView(ChainModel):
    """A kind with its schema digest, as ``getKind`` returns them."""

    kind: Kind
    schema_digest: str


class Record(ChainModel):
    """A single record (``IEvidenceRegistry.Record``); all zero when unknown."""

    attester: str
    time: int
    expiry: int
    kind: int

    @property
    def exists(self) -> bool:
        return self.attester != ZERO_ADDRESS


class RecordView(ChainModel):
    """A record with the uid it refers to (0x00..00 when none), as ``getRecord`` returns them."""

    record: Record
    ref: str


class Revocation(ChainModel):
    time: int
    reason: int
    superseded_by: str


class Batch(ChainModel):
    root: str
    attester: str
    time: int
    kind: int
    count: int
    revoked_at: int
    uri_digest: str


class Dispute(ChainModel):
    uid: str
    disputer_member: int
    attester_member: int
    opened_at: int
    state: DisputeState
    evidence_digest: str


class PointsParameters(ChainModel):
    corroboration_bonus: int
    slash_multiplier: int
    disputer_reward: int


class LoanTerms(ChainModel):
    """A loan's terms (``ICollateralManager.LoanTerms``); also the ``terms`` argument of ``register_loan``."""

    max_overdue_days: int
    watch_overdue_days: int
    max_ltv_bps: int
    value_move_bps: int
    cure_period: int
    step_deadline: int


STANDARD_TERMS = LoanTerms(
    max_overdue_days=90,
    watch_overdue_days=30,
    max_ltv_bps=10_000,
    value_move_bps=0,
    cure_period=30 * 86_400,
    step_deadline=7 * 86_400,
)
"""The consortium's standard loan terms: watch at 30 days overdue, trigger at 90, the default ±8% value band
(``value_move_bps`` 0), 30 days to cure, 7 days per disposal step."""


class Loan(ChainModel):
    """A loan (``ICollateralManager.Loan``); ``last_value`` is the latest published median (the baseline until
    ``last_valued_at``, 0 until then, says one was published)."""

    subject: str
    principal: int
    outstanding: int
    baseline_value: int
    last_value: int
    bank_member_id: int
    lien_status: LienStatus
    registered_at: int
    days_overdue: int
    last_valued_at: int
    terms: LoanTerms
    case_id: int


class Case(ChainModel):
    loan_id: int
    state: CaseState
    frozen_from: CaseState
    escalated: bool
    causes: int
    agency_member_id: int
    triggered_at: int
    deadline: int
    frozen_at: int
    appraised_value: int
    sale_price: int

    @property
    def cause_list(self) -> tuple[Cause, ...]:
        return causes_of(self.causes)


class Parameters(ChainModel):
    """The collateral governance parameters (``ICollateralManager.Parameters``); also ``encode_set_parameters``'s."""

    default_value_move_bps: int
    risk_watch_score: int
    min_cure_period: int
    min_step_deadline: int
    risk_reporter_roles: int


class ValuationPolicy(ChainModel):
    """How valuations are aggregated (``ICollateralManager.ValuationPolicy``); also ``encode_set_valuation_policy``'s.

    ``quorum`` fresh observations (one per price oracle member, at most ``maxAge`` seconds old) publish their median.
    """

    quorum: int
    max_age: int


class Valuation(ChainModel):
    """A subject's published (median) value and when it was published, as ``valuationOf`` returns them."""

    value: int
    updated_at: int


class EventLog(BaseModel):
    """A decoded event of a write's receipt; ``args`` keyed by the ABI names, values as :func:`abi_to_python` gives."""

    model_config = ConfigDict(frozen=True)

    contract: str
    name: str
    args: dict[str, Any]
    log_index: int
    block_number: int
    tx_hash: str
