"""Typed clients of the deployed suite: views as frozen pydantic models, writes as outbox rows.

Each client wraps one contract (``MembershipClient``, ``RegistryClient``, ``CollateralClient``) at an address, with the
ABI from the committed artifacts. Everything is driven by that ABI:

* **Arguments** are checked against the ABI types before anything leaves the process: a ``bytes32`` must be exactly
  32 bytes (or 0x-hex of 32 bytes), a ``uint16`` an ``int`` in ``0..65535``, an ``address`` a valid (checksummed or
  lower-case) address, a struct a model, a mapping or a sequence of its components. A wrong argument raises
  :class:`ContractArgumentError` naming the function and the argument (``terms.max_ltv_bps``); the outbox is not
  touched.
* **Views** go through :meth:`ChainConnection.call` (failover between member nodes); the returned ABI values are turned
  into plain Python by :func:`abi_to_python` (structs become dicts keyed by the ABI component names, recursively; bytes
  become 0x-hex strings; addresses are checksummed) and validated into the models below, whose snake_case fields are
  the ABI names. A view that reverts raises the decoded custom error (``CollateralUnknownLoan``).
* **Writes** are recorded in the :class:`Outbox` with the caller's idempotency key and sender and returned as the
  :class:`OutboxTx` row; a worker signs and sends them. ``row.raise_for_status()`` on the final row raises the decoded
  revert. Ids a write creates (a proposal, a loan, a batch, a dispute) are read from its events
  (``proposal_id_of(row)``).
* **Calldata** for governance proposals comes from typed ``encode_<function>`` methods (one per governance-only
  function) or from the generic :meth:`ContractClient.calldata`. Governance-only functions (``admitMember``,
  ``registerKind``, ``setParameters``, ...) can only be executed by a passed proposal, so they have encoders and no
  write methods.

    suite = Suite.from_deployment(runtime.connection, runtime.deployment())
    row = suite.membership.propose(
        outbox, key="proposal/kinds-v1", sender=governor,
        targets=[suite.registry.address],
        calldatas=[suite.registry.encode_register_kind(kind=1, schema_digest=schema, roles=Role.DEALER, weight=10)],
        description_digest=Web3.keccak(text="inspection kind"),
    )
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import IntEnum, IntFlag, StrEnum
from functools import cache
from typing import Any, ClassVar, TypeAlias

from eth_abi.abi import decode, encode
from eth_abi.exceptions import DecodingError
from eth_typing import ChecksumAddress, HexStr
from eth_utils.address import is_address, to_checksum_address
from eth_utils.crypto import keccak
from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel, to_snake
from web3.exceptions import ContractLogicError

from node_adapter.artifacts import load_artifact
from node_adapter.connection import ChainConnection
from node_adapter.contract_errors import abi_type, decode_revert, revert_data_of
from node_adapter.deploy import Deployment
from node_adapter.exceptions import (
    ArtifactError,
    ContractArgumentError,
    UnexpectedResultError,
)
from node_adapter.outbox import Outbox, OutboxTx, TxStatus

Bytes32: TypeAlias = bytes | str
"""A ``bytes32`` argument: exactly 32 bytes, or their 0x-hex spelling."""

HexBytesLike: TypeAlias = bytes | str
"""A ``bytes`` argument: bytes, or their 0x-hex spelling."""

ZERO_BYTES32 = b"\0" * 32
ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"

_HEX = re.compile(r"0x(?:[0-9a-fA-F]{2})*")


# ------------------------------------------------------------------------------------------------------------- errors


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


# ------------------------------------------------------------------------------------------------- ABI machinery


@dataclass(frozen=True)
class AbiFunction:
    """One function of a contract's ABI."""

    contract: str
    name: str
    inputs: tuple[dict[str, Any], ...]
    outputs: tuple[dict[str, Any], ...]
    mutability: str
    selector: bytes

    @property
    def signature(self) -> str:
        return f"{self.name}({','.join(abi_type(i) for i in self.inputs)})"

    @property
    def read_only(self) -> bool:
        return self.mutability in ("view", "pure")

    @property
    def qualified_name(self) -> str:
        return f"{self.contract}.{self.name}"


@dataclass(frozen=True)
class ContractSpec:
    """A contract's functions by name and by selector, and its events by topic, from its artifact."""

    name: str
    functions: Mapping[str, AbiFunction]
    selectors: Mapping[bytes, AbiFunction]
    events: Mapping[bytes, dict[str, Any]]


@cache
def contract_spec(name: str) -> ContractSpec:
    """The functions and events of a committed artifact (overloaded functions are refused: we declare none)."""
    functions: dict[str, AbiFunction] = {}
    events: dict[bytes, dict[str, Any]] = {}
    for entry in load_artifact(name).abi:
        if entry.get("type") == "function":
            if entry["name"] in functions:
                raise ArtifactError(f"{name}.{entry['name']} is overloaded; the typed clients do not support that")
            inputs = tuple(entry.get("inputs", []))
            functions[entry["name"]] = AbiFunction(
                contract=name,
                name=entry["name"],
                inputs=inputs,
                outputs=tuple(entry.get("outputs", [])),
                mutability=str(entry.get("stateMutability", "nonpayable")),
                selector=keccak(text=f"{entry['name']}({','.join(abi_type(i) for i in inputs)})")[:4],
            )
        elif entry.get("type") == "event" and not entry.get("anonymous"):
            types = ",".join(abi_type(i) for i in entry.get("inputs", []))
            events[keccak(text=f"{entry['name']}({types})")] = entry
    return ContractSpec(name, functions, {f.selector: f for f in functions.values()}, events)


@cache  # ABI names are few and fixed; calldata() asks for each on every call
def _python_name(abi_name: str) -> str:
    return to_snake(abi_name.strip("_"))


def _describe(value: Any) -> str:
    """A value's type and size for error messages: integers are shown, bytes and strings never (they may be private)."""
    if isinstance(value, bytes | bytearray):
        return f"{len(value)} bytes"
    if isinstance(value, str):
        if _HEX.fullmatch(value):
            return f"0x-hex of {(len(value) - 2) // 2} bytes"
        if _HEX.fullmatch("0x" + value):
            return f"{len(value)} hex digits without the 0x prefix"
        return f"a string of {len(value)} characters"
    if isinstance(value, bool):
        return "a bool"
    if isinstance(value, int):
        return f"{value}"
    if isinstance(value, Sequence):
        return f"a {type(value).__name__} of {len(value)} items"
    return f"a {type(value).__name__}"


def _bytes_of(value: Any) -> bytes | None:
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    if isinstance(value, str) and _HEX.fullmatch(value):
        return bytes.fromhex(value[2:])
    return None


def _is_sequence(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, str | bytes | bytearray)


def abi_from_python(param: Mapping[str, Any], value: Any, *, function: str, path: str) -> Any:
    """Check ``value`` against the ABI parameter ``param`` and return what ``eth_abi.encode`` takes.

    Raises :class:`ContractArgumentError` naming ``function`` and the argument's ``path``.
    """
    kind = str(param["type"])

    def refuse(expected: str) -> ContractArgumentError:
        return ContractArgumentError(function, path, f"must be {expected}, got {_describe(value)}")

    if kind.endswith("]"):
        inner_kind, _, size = kind[:-1].rpartition("[")
        if not _is_sequence(value):
            raise refuse(f"a sequence ({kind})")
        if size and len(value) != int(size):
            raise refuse(f"a sequence of exactly {size} items ({kind})")
        inner = {**param, "type": inner_kind}
        return [abi_from_python(inner, item, function=function, path=f"{path}[{i}]") for i, item in enumerate(value)]
    if kind == "tuple":
        return _tuple_from_python(param, value, function=function, path=path)
    if kind == "address":
        raw = "0x" + value.hex() if isinstance(value, bytes | bytearray) and len(value) == 20 else value
        if not isinstance(raw, str) or not raw.startswith("0x") or not is_address(raw):
            raise refuse("an address (0x + 40 hex digits, checksummed or lower-case)")
        return to_checksum_address(raw)
    if kind == "bool":
        if not isinstance(value, bool):
            raise refuse("a bool")
        return value
    if kind == "string":
        if not isinstance(value, str):
            raise refuse("a str")
        return value
    if kind.startswith("bytes"):
        data = _bytes_of(value)
        if kind == "bytes":
            if data is None:
                raise refuse("bytes or 0x-hex")
            return data
        width = int(kind[len("bytes") :])
        if data is None or len(data) != width:
            raise refuse(f"{kind}: exactly {width} bytes (or 0x-hex of {width} bytes)")
        return data
    if kind.startswith(("uint", "int")):
        signed = kind.startswith("int")
        bits = int(kind[3 if signed else 4 :] or 256)
        low, high = (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if signed else (0, 2**bits - 1)
        if not isinstance(value, int) or isinstance(value, bool):
            raise refuse(f"an int ({kind})")
        if not low <= value <= high:
            raise refuse(f"{kind}, {low}..{high}")
        return int(value)
    raise ContractArgumentError(function, path, f"has ABI type {kind}, which the typed clients do not encode")


def _tuple_from_python(param: Mapping[str, Any], value: Any, *, function: str, path: str) -> tuple[Any, ...]:
    components: list[dict[str, Any]] = list(param["components"])
    names = [str(c["name"]) for c in components]
    if isinstance(value, BaseModel):
        fields = type(value).model_fields
        missing = [n for n in names if _python_name(n) not in fields]
        if missing:
            raise ContractArgumentError(
                function, path, f"must be a {_struct_name(param)}, got a {type(value).__name__} without {missing}"
            )
        items = [getattr(value, _python_name(n)) for n in names]
    elif isinstance(value, Mapping):
        known = {*names, *(_python_name(n) for n in names)}
        unknown = sorted(str(k) for k in value if k not in known)
        if unknown:
            raise ContractArgumentError(function, path, f"has unknown fields {unknown} (expected {names})")
        items = []
        for n in names:
            if n in value:
                items.append(value[n])
            elif _python_name(n) in value:
                items.append(value[_python_name(n)])
            else:
                raise ContractArgumentError(function, f"{path}.{_python_name(n)}", "is missing")
    elif _is_sequence(value):
        if len(value) != len(components):
            raise ContractArgumentError(
                function, path, f"must have {len(components)} components {names}, got {len(value)}"
            )
        items = list(value)
    else:
        raise ContractArgumentError(
            function,
            path,
            f"must be a {_struct_name(param)} (a model, a mapping or a sequence), got {_describe(value)}",
        )
    return tuple(
        abi_from_python(c, item, function=function, path=f"{path}.{_python_name(c['name'])}")
        for c, item in zip(components, items, strict=True)
    )


def _struct_name(param: Mapping[str, Any]) -> str:
    internal = str(param.get("internalType", "struct"))
    return internal.removeprefix("struct ").split(".")[-1]


def abi_to_python(param: Mapping[str, Any], value: Any) -> Any:
    """An ABI value as plain Python, recursively: structs (web3's tuples) become dicts keyed by the ABI component
    names, arrays lists, bytes 0x-hex strings, addresses checksummed strings; integers and bools stay as they are."""
    kind = str(param["type"])
    if kind.endswith("]"):
        inner = {**param, "type": kind[: kind.rindex("[")]}
        return [abi_to_python(inner, item) for item in value]
    if kind == "tuple":
        components = param["components"]
        if isinstance(value, Mapping):
            return {c["name"]: abi_to_python(c, value[c["name"]]) for c in components}
        return {c["name"]: abi_to_python(c, item) for c, item in zip(components, value, strict=True)}
    if kind == "address":
        return to_checksum_address(value)
    if kind.startswith("bytes"):
        return "0x" + bytes(value).hex()
    return value


def _named(params: Sequence[Mapping[str, Any]], values: Sequence[Any]) -> dict[str, Any]:
    return {p["name"] or f"output{i}": abi_to_python(p, v) for i, (p, v) in enumerate(zip(params, values, strict=True))}


# ------------------------------------------------------------------------------------------------------- clients


class ContractClient:
    """A deployed contract: typed views and writes are built on :meth:`calldata`, :meth:`call` and :meth:`submit`."""

    contract_name: ClassVar[str]

    def __init__(self, connection: ChainConnection, address: str) -> None:
        self.connection = connection
        self.address: ChecksumAddress = abi_from_python(
            {"type": "address"}, address, function=type(self).__name__, path="address"
        )
        self.spec = contract_spec(self.contract_name)
        self.abi = load_artifact(self.contract_name).abi
        self._chain_id: int | None = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.address})"

    @property
    def chain_id(self) -> int:
        """The chain id writes are recorded for (asked once)."""
        if self._chain_id is None:
            self._chain_id = self.connection.chain_id
        return self._chain_id

    def function(self, name: str) -> AbiFunction:
        """The ABI function ``name`` (its Solidity name)."""
        try:
            return self.spec.functions[name]
        except KeyError:
            raise ArtifactError(f"{self.contract_name} has no function {name!r}") from None

    # ------------------------------------------------------------------ encoding

    def calldata(self, fn_name: str, *args: Any, **kwargs: Any) -> bytes:
        """The calldata of ``fn_name(args)``, checked against the ABI; keywords by ABI or snake_case name.

        ``registry.calldata("registerKind", 1, schema, Role.DEALER, 10, 0)`` for a proposal.
        """
        fn = self.function(fn_name)
        where = fn.qualified_name
        if len(args) > len(fn.inputs):
            raise ContractArgumentError(where, "arguments", f"take at most {len(fn.inputs)}, got {len(args)}")
        values: list[Any] = []
        names = [str(p["name"]) for p in fn.inputs]
        accepted = {*names, *(_python_name(n) for n in names)}
        unknown = sorted(k for k in kwargs if k not in accepted)
        if unknown:
            raise ContractArgumentError(where, "arguments", f"have unknown names {unknown} (expected {names})")
        for index, param in enumerate(fn.inputs):
            name, python_name = str(param["name"]), _python_name(str(param["name"]))
            given = [k for k in (name, python_name) if k in kwargs]
            if index < len(args):
                if given:
                    raise ContractArgumentError(where, python_name, "is given both by position and by name")
                value = args[index]
            elif given:
                value = kwargs[given[0]]
            else:
                raise ContractArgumentError(where, python_name or f"argument {index}", "is missing")
            values.append(abi_from_python(param, value, function=where, path=python_name or f"argument {index}"))
        return fn.selector + encode([abi_type(p) for p in fn.inputs], values)

    def decode_calldata(self, data: bytes | str) -> tuple[str, dict[str, Any]]:
        """The function and arguments (by ABI name, as plain Python) of calldata for this contract."""
        raw = _bytes_of(data)
        if raw is None or len(raw) < 4:
            raise ContractArgumentError(self.contract_name, "calldata", f"must be bytes, got {_describe(data)}")
        fn = self.spec.selectors.get(raw[:4])
        if fn is None:
            raise ContractArgumentError(
                self.contract_name, "calldata", f"selector 0x{raw[:4].hex()} is not one of ours"
            )
        return fn.name, _named(fn.inputs, decode([abi_type(p) for p in fn.inputs], raw[4:]))

    # ------------------------------------------------------------------ reads

    def call(self, fn_name: str, *args: Any, **kwargs: Any) -> Any:
        """Call a view through the connection (with failover) and return its result as plain Python.

        One output is returned as is (a struct as a dict), several as a dict by output name. A revert raises the
        decoded custom error.
        """
        fn = self.function(fn_name)
        data = HexStr("0x" + self.calldata(fn_name, *args, **kwargs).hex())
        to = self.address
        try:
            raw = bytes(self.connection.call(lambda w3: w3.eth.call({"to": to, "data": data})))
        except ContractLogicError as exc:
            raise decode_revert(revert_data_of(exc)) from exc
        try:
            values = decode([abi_type(p) for p in fn.outputs], raw)
        except DecodingError as exc:
            raise UnexpectedResultError(
                f"{fn.qualified_name} at {self.address} answered {len(raw)} bytes the ABI cannot decode ({exc}): "
                "is the suite deployed on this chain?"
            ) from exc
        if len(fn.outputs) == 1:
            return abi_to_python(fn.outputs[0], values[0])
        return _named(fn.outputs, values)

    # ------------------------------------------------------------------ writes

    def try_write(self, sender: str, data: bytes | str) -> None:
        """Run the write ``data`` as a call from ``sender`` on the latest block: raise the decoded custom error the
        contract would answer, so a write it would refuse is refused before anyone signs or sends it."""
        raw = _bytes_of(data)
        if raw is None:
            raise ContractArgumentError(self.contract_name, "data", f"must be bytes, got {_describe(data)}")
        call = {"from": to_checksum_address(sender), "to": self.address, "data": HexStr("0x" + raw.hex())}
        try:
            self.connection.call(lambda w3: w3.eth.call(call))  # type: ignore[arg-type]
        except ContractLogicError as exc:
            raise decode_revert(revert_data_of(exc)) from exc

    def submit(
        self,
        outbox: Outbox,
        *,
        key: str,
        sender: str,
        data: bytes | str,
        purpose: str | None = None,
        gas_limit: int | None = None,
    ) -> OutboxTx:
        """Record a write of ``data`` (calldata of a state-changing function of this contract) in the outbox."""
        raw = _bytes_of(data)
        fn = self.spec.selectors.get(raw[:4]) if raw is not None else None
        if raw is None or fn is None or fn.read_only:
            raise ContractArgumentError(
                self.contract_name, "data", "must be calldata of a state-changing function of this contract"
            )
        account = abi_from_python({"type": "address"}, sender, function=fn.qualified_name, path="sender")
        return outbox.submit(
            key=key,
            chain_id=self.chain_id,
            sender=account,
            to=self.address,
            data=raw,
            gas_limit=gas_limit,
            purpose=purpose or fn.qualified_name,
        )

    def _write(
        self, outbox: Outbox, key: str, sender: str, fn_name: str, *args: Any, gas_limit: int | None = None
    ) -> OutboxTx:
        data = self.calldata(fn_name, *args)
        return self.submit(outbox, key=key, sender=sender, data=data, gas_limit=gas_limit)

    # ------------------------------------------------------------------ events

    def events(self, tx: OutboxTx, name: str | None = None) -> list[EventLog]:
        """The events this contract emitted in a confirmed write (only those called ``name`` if given).

        Raises the decoded revert for a reverted write, and :class:`UnexpectedResultError` for one not mined yet
        (pass the row from ``outbox.wait(key)``, not the one ``submit`` returned).
        """
        tx.raise_for_status()
        tx_hash = tx.tx_hash
        if tx_hash is None or tx.block_number is None:
            raise UnexpectedResultError(
                f"write {tx.idempotency_key!r} is {tx.status}, not mined: wait for it (outbox.wait(key)) first"
            )
        receipt = self.connection.call(lambda w3: w3.eth.get_transaction_receipt(HexStr(tx_hash)))
        found = []
        for log in receipt["logs"]:
            if to_checksum_address(log["address"]) != self.address or not log["topics"]:
                continue
            entry = self.spec.events.get(bytes(log["topics"][0]))
            if entry is None or (name is not None and entry["name"] != name):
                continue
            found.append(
                EventLog(
                    contract=self.contract_name,
                    name=entry["name"],
                    args=decode_event_args(entry, [bytes(t) for t in log["topics"][1:]], bytes(log["data"])),
                    log_index=int(log["logIndex"]),
                    block_number=int(log["blockNumber"]),
                    tx_hash="0x" + bytes(log["transactionHash"]).hex(),
                )
            )
        return found

    def _created_id(self, tx: OutboxTx, event: str, arg: str) -> int:
        logs = self.events(tx, event)
        if len(logs) != 1:
            raise UnexpectedResultError(f"write {tx.idempotency_key!r} emitted {len(logs)} {event} events, not one")
        return int(logs[0].args[arg])


def decode_event_args(entry: Mapping[str, Any], topics: Sequence[bytes], data: bytes) -> dict[str, Any]:
    """The arguments of a log of the ABI event ``entry`` (topics after the signature, and data), as plain Python."""
    inputs = list(entry.get("inputs", []))
    plain = iter(decode([abi_type(p) for p in inputs if not p.get("indexed")], data))
    indexed = iter(topics)
    args: dict[str, Any] = {}
    for param in inputs:
        if not param.get("indexed"):
            args[param["name"]] = abi_to_python(param, next(plain))
            continue
        topic, kind = next(indexed), abi_type(param)
        if kind in ("string", "bytes") or kind.endswith("]") or kind.startswith("("):
            args[param["name"]] = "0x" + topic.hex()  # an indexed dynamic value is stored as its hash
        else:
            args[param["name"]] = abi_to_python(param, decode([kind], topic)[0])
    return args


class MembershipClient(ContractClient):
    """``Membership``: members, roles and the governors' proposals."""

    contract_name = "Membership"

    # ------------------------------------------------------------------ views

    def authorize(self, account: str) -> Authorization:
        """The active member ``account`` signs for and its roles; (0, 0) for unknown, suspended or expelled."""
        return Authorization.model_validate(self.call("authorize", account))

    def has_any_role(self, account: str, roles: int) -> bool:
        return bool(self.call("hasAnyRole", account, roles))

    def member_of(self, account: str) -> int:
        """The member ``account`` is bound to, whatever its status (0 when unbound)."""
        return int(self.call("memberOf", account))

    def bound_member_of(self, account: str) -> int:
        """The member ``account`` is or was bound to (0 when never bound): accounts are bound to one member, ever."""
        return int(self.call("boundMemberOf", account))

    def get_member(self, member_id: int) -> Member:
        return Member.model_validate(self.call("getMember", member_id))

    def member_count(self) -> int:
        return int(self.call("memberCount"))

    def active_governor_count(self) -> int:
        return int(self.call("activeGovernorCount"))

    def state(self, proposal_id: int) -> ProposalState:
        return ProposalState(self.call("state", proposal_id))

    def get_proposal(self, proposal_id: int) -> Proposal:
        return Proposal.model_validate(self.call("getProposal", proposal_id))

    def has_voted(self, proposal_id: int, member_id: int) -> bool:
        return bool(self.call("hasVoted", proposal_id, member_id))

    def governance_parameters(self) -> GovernanceParameters:
        return GovernanceParameters.model_validate(self.call("governanceParameters"))

    def proposal_count(self) -> int:
        return int(self.call("proposalCount"))

    def proposal_expiry(self, proposal_id: int) -> int:
        return int(self.call("proposalExpiry", proposal_id))

    def can_vote(self, proposal_id: int, member_id: int) -> bool:
        return bool(self.call("canVote", proposal_id, member_id))

    # ------------------------------------------------------------------ writes

    def propose(
        self,
        outbox: Outbox,
        *,
        key: str,
        sender: str,
        targets: Sequence[str],
        calldatas: Sequence[HexBytesLike],
        description_digest: Bytes32,
    ) -> OutboxTx:
        """Propose calls (``targets[i]`` with ``calldatas[i]``); only an active governor's account."""
        return self._write(outbox, key, sender, "propose", targets, calldatas, description_digest)

    def cast_vote(self, outbox: Outbox, *, key: str, sender: str, proposal_id: int, support: bool) -> OutboxTx:
        return self._write(outbox, key, sender, "castVote", proposal_id, support)

    def cancel(self, outbox: Outbox, *, key: str, sender: str, proposal_id: int) -> OutboxTx:
        return self._write(outbox, key, sender, "cancel", proposal_id)

    def execute(
        self, outbox: Outbox, *, key: str, sender: str, proposal_id: int, gas_limit: int | None = None
    ) -> OutboxTx:
        """Execute a passed proposal (anyone); ``gas_limit`` overrides the estimate for large proposals."""
        return self._write(outbox, key, sender, "execute", proposal_id, gas_limit=gas_limit)

    def proposal_id_of(self, tx: OutboxTx) -> int:
        """The id of the proposal a confirmed ``propose`` write created."""
        return self._created_id(tx, "ProposalCreated", "proposalId")

    # ------------------------------------------------------------------ governance calldata

    def encode_admit_member(self, *, accounts: Sequence[str], roles: int, metadata_digest: Bytes32) -> bytes:
        return self.calldata("admitMember", accounts, roles, metadata_digest)

    def encode_set_roles(self, *, member_id: int, roles: int) -> bytes:
        return self.calldata("setRoles", member_id, roles)

    def encode_set_metadata(self, *, member_id: int, metadata_digest: Bytes32) -> bytes:
        return self.calldata("setMetadata", member_id, metadata_digest)

    def encode_suspend(self, *, member_id: int) -> bytes:
        return self.calldata("suspend", member_id)

    def encode_reinstate(self, *, member_id: int) -> bytes:
        return self.calldata("reinstate", member_id)

    def encode_expel(self, *, member_id: int) -> bytes:
        return self.calldata("expel", member_id)

    def encode_add_account(self, *, member_id: int, account: str) -> bytes:
        return self.calldata("addAccount", member_id, account)

    def encode_remove_account(self, *, member_id: int, account: str) -> bytes:
        return self.calldata("removeAccount", member_id, account)

    def encode_set_governance_parameters(
        self, *, quorum_bps: int, voting_period: int, execution_delay: int, grace_period: int
    ) -> bytes:
        return self.calldata("setGovernanceParameters", quorum_bps, voting_period, execution_delay, grace_period)


class RegistryClient(ContractClient):
    """``EvidenceRegistry``: attestations, batches, revocations, disputes, kinds and the credit points ledger."""

    contract_name = "EvidenceRegistry"

    # ------------------------------------------------------------------ views

    def is_valid(self, uid: Bytes32) -> bool:
        return bool(self.call("isValid", uid))

    def get_record(self, uid: Bytes32) -> RecordView:
        return RecordView.model_validate(self.call("getRecord", uid))

    def get_revocation(self, uid: Bytes32) -> Revocation:
        return Revocation.model_validate(self.call("getRevocation", uid))

    def is_invalidated(self, uid: Bytes32) -> bool:
        return bool(self.call("isInvalidated", uid))

    def is_rollback_flagged(self, uid: Bytes32) -> bool:
        return bool(self.call("isRollbackFlagged", uid))

    def last_reading(self, subject: Bytes32) -> int:
        return int(self.call("lastReading", subject))

    def get_kind(self, kind: int) -> KindView:
        result = self.call("getKind", kind)
        return KindView(kind=Kind.model_validate(result["output0"]), schema_digest=result["schemaDigest"])

    def get_batch(self, batch_id: int) -> Batch:
        return Batch.model_validate(self.call("getBatch", batch_id))

    def batch_count(self) -> int:
        return int(self.call("batchCount"))

    def batch_leaf(self, batch_id: int, subject: Bytes32, digest: Bytes32) -> str:
        return str(self.call("batchLeaf", batch_id, subject, digest))

    def verify_batch_record(self, batch_id: int, subject: Bytes32, digest: Bytes32, proof: Sequence[Bytes32]) -> bool:
        return bool(self.call("verifyBatchRecord", batch_id, subject, digest, proof))

    def get_dispute(self, dispute_id: int) -> Dispute:
        return Dispute.model_validate(self.call("getDispute", dispute_id))

    def open_dispute_of(self, uid: Bytes32) -> int:
        return int(self.call("openDisputeOf", uid))

    def nonces(self, account: str) -> int:
        return int(self.call("nonces", account))

    def domain_separator(self) -> str:
        return str(self.call("DOMAIN_SEPARATOR"))

    def points_of(self, member_id: int) -> int:
        return int(self.call("pointsOf", member_id))

    def total_points(self) -> int:
        return int(self.call("totalPoints"))

    def points_parameters(self) -> PointsParameters:
        return PointsParameters.model_validate(self.call("pointsParameters"))

    # ------------------------------------------------------------------ writes

    def attest(
        self,
        outbox: Outbox,
        *,
        key: str,
        sender: str,
        subject: Bytes32,
        kind: int,
        digest: Bytes32,
        ref: Bytes32 = ZERO_BYTES32,
        expiry: int = 0,
    ) -> OutboxTx:
        """Attest ``digest`` about ``subject``; the record's uid is ``digest``."""
        return self._write(outbox, key, sender, "attest", subject, kind, digest, ref, expiry)

    def attest_reading(
        self,
        outbox: Outbox,
        *,
        key: str,
        sender: str,
        subject: Bytes32,
        kind: int,
        digest: Bytes32,
        reading: int,
        ref: Bytes32 = ZERO_BYTES32,
        expiry: int = 0,
    ) -> OutboxTx:
        return self._write(outbox, key, sender, "attestReading", subject, kind, digest, ref, expiry, reading)

    def attest_typed_data(
        self,
        *,
        subject: Bytes32,
        kind: int,
        digest: Bytes32,
        ref: Bytes32,
        expiry: int,
        nonce: int,
        deadline: int,
        reading: int | None = None,
    ) -> dict[str, Any]:
        """The EIP-712 message (``eth_signTypedData_v4`` form) an attester signs for :meth:`attest_by_sig`, or, with a
        ``reading``, the ``AttestReading`` one for :meth:`attest_reading_by_sig`."""
        fields = [
            {"name": "subject", "type": "bytes32"},
            {"name": "kind", "type": "uint16"},
            {"name": "digest", "type": "bytes32"},
            {"name": "ref", "type": "bytes32"},
            {"name": "expiry", "type": "uint40"},
        ]
        message: dict[str, Any] = {"subject": subject, "kind": kind, "digest": digest, "ref": ref, "expiry": expiry}
        primary = "Attest"
        if reading is not None:
            primary = "AttestReading"
            fields.append({"name": "reading", "type": "uint64"})
            message["reading"] = reading
        fields += [{"name": "nonce", "type": "uint256"}, {"name": "deadline", "type": "uint256"}]
        return {
            "types": {
                "EIP712Domain": [
                    {"name": "name", "type": "string"},
                    {"name": "version", "type": "string"},
                    {"name": "chainId", "type": "uint256"},
                    {"name": "verifyingContract", "type": "address"},
                ],
                primary: fields,
            },
            "primaryType": primary,
            "domain": {
                "name": "VehicleEvidenceRegistry",
                "version": "1",
                "chainId": self.chain_id,
                "verifyingContract": self.address,
            },
            "message": {**message, "nonce": nonce, "deadline": deadline},
        }

    def attest_by_sig(
        self,
        outbox: Outbox,
        *,
        key: str,
        sender: str,
        subject: Bytes32,
        kind: int,
        digest: Bytes32,
        ref: Bytes32,
        expiry: int,
        attester: str,
        deadline: int,
        signature: HexBytesLike,
    ) -> OutboxTx:
        """Relay an attestation ``attester`` signed (EIP-712 ``Attest``); ``sender`` only pays the gas."""
        args = (subject, kind, digest, ref, expiry, attester, deadline, signature)
        return self._write(outbox, key, sender, "attestBySig", *args)

    def attest_reading_by_sig(
        self,
        outbox: Outbox,
        *,
        key: str,
        sender: str,
        subject: Bytes32,
        kind: int,
        digest: Bytes32,
        ref: Bytes32,
        expiry: int,
        reading: int,
        attester: str,
        deadline: int,
        signature: HexBytesLike,
    ) -> OutboxTx:
        """Relay an odometer reading ``attester`` signed (EIP-712 ``AttestReading``, the nonce ``attest_by_sig``
        uses); ``sender`` only pays the gas."""
        args = (subject, kind, digest, ref, expiry, reading, attester, deadline, signature)
        return self._write(outbox, key, sender, "attestReadingBySig", *args)

    def invalidate_nonce(self, outbox: Outbox, *, key: str, sender: str) -> OutboxTx:
        return self._write(outbox, key, sender, "invalidateNonce")

    def anchor_batch(
        self, outbox: Outbox, *, key: str, sender: str, kind: int, root: Bytes32, count: int, uri_digest: Bytes32
    ) -> OutboxTx:
        return self._write(outbox, key, sender, "anchorBatch", kind, root, count, uri_digest)

    def revoke(
        self,
        outbox: Outbox,
        *,
        key: str,
        sender: str,
        uid: Bytes32,
        reason: int,
        superseded_by: Bytes32 = ZERO_BYTES32,
    ) -> OutboxTx:
        return self._write(outbox, key, sender, "revoke", uid, reason, superseded_by)

    def revoke_batch(self, outbox: Outbox, *, key: str, sender: str, batch_id: int, reason: int) -> OutboxTx:
        return self._write(outbox, key, sender, "revokeBatch", batch_id, reason)

    def open_dispute(
        self, outbox: Outbox, *, key: str, sender: str, uid: Bytes32, evidence_digest: Bytes32
    ) -> OutboxTx:
        return self._write(outbox, key, sender, "openDispute", uid, evidence_digest)

    def settle_anchor(
        self, outbox: Outbox, row: OutboxTx, *, expected_batch_id: int, revoke_key_prefix: str, reason: int
    ) -> AnchorOutcome | None:
        """How the ``anchor_batch`` write ``row`` of a batch built for ``expected_batch_id`` ended (None while it is not
        final). A batch anchored under another id (another anchoring came first) cannot prove its leaves, which
        commit to the expected id: it is revoked here (idempotency key ``revoke_key_prefix`` + the batch id, ``reason``)
        and its records belong in a later batch."""
        if not row.status.final:
            return None
        if row.status != TxStatus.CONFIRMED:
            return AnchorOutcome(AnchorState.FAILED, None, f"{row.status}: {row.error_name or row.error_message}")
        batch_id = self.batch_id_of(row)
        if batch_id == expected_batch_id:
            return AnchorOutcome(AnchorState.CONFIRMED, batch_id, None)
        key = f"{revoke_key_prefix}{batch_id}"
        self.revoke_batch(outbox, key=key, sender=row.sender, batch_id=batch_id, reason=reason)
        note = f"anchored as batch {batch_id}, built for {expected_batch_id}: revoked"
        return AnchorOutcome(AnchorState.MISNUMBERED, batch_id, note)

    def batch_id_of(self, tx: OutboxTx) -> int:
        """The id of the batch a confirmed ``anchor_batch`` write created."""
        return self._created_id(tx, "BatchAnchored", "batchId")

    def dispute_id_of(self, tx: OutboxTx) -> int:
        """The id of the dispute a confirmed ``open_dispute`` write opened."""
        return self._created_id(tx, "DisputeOpened", "disputeId")

    # ------------------------------------------------------------------ governance calldata

    def encode_register_kind(
        self, *, kind: int, schema_digest: Bytes32, roles: int, weight: int, flags: int = 0
    ) -> bytes:
        return self.calldata("registerKind", kind, schema_digest, roles, weight, flags)

    def encode_reset_odometer(self, *, subject: Bytes32, reading: int) -> bytes:
        return self.calldata("resetOdometer", subject, reading)

    def encode_update_kind(self, *, kind: int, roles: int, weight: int, flags: int, active: bool) -> bytes:
        return self.calldata("updateKind", kind, roles, weight, flags, active)

    def encode_resolve_dispute(self, *, dispute_id: int, upheld: bool) -> bytes:
        return self.calldata("resolveDispute", dispute_id, upheld)

    def encode_set_points_parameters(
        self, *, corroboration_bonus: int, slash_multiplier: int, disputer_reward: int
    ) -> bytes:
        return self.calldata("setPointsParameters", corroboration_bonus, slash_multiplier, disputer_reward)


class CollateralClient(ContractClient):
    """``CollateralManager``: loans, liens, reports and disposal cases."""

    contract_name = "CollateralManager"

    # ------------------------------------------------------------------ views

    def membership(self) -> str:
        return str(self.call("membership"))

    def parameters(self) -> Parameters:
        return Parameters.model_validate(self.call("parameters"))

    def valuation_policy(self) -> ValuationPolicy:
        return ValuationPolicy.model_validate(self.call("valuationPolicy"))

    def max_valuation_reporters(self) -> int:
        """The most price oracle members a loan's valuation remembers, and the highest quorum."""
        return int(self.call("MAX_VALUATION_REPORTERS"))

    def valuation_of(self, subject: Bytes32) -> Valuation:
        """The subject's latest published median value; raises ``CollateralStaleValuation`` when none was published
        or it is older than the policy's ``max_age``, and ``CollateralNoActiveLoan`` without a loan."""
        return Valuation.model_validate(self.call("valuationOf", subject))

    def get_loan(self, loan_id: int) -> Loan:
        """A loan (raises ``CollateralUnknownLoan`` for an unknown id)."""
        return Loan.model_validate(self.call("getLoan", loan_id))

    def active_loan_of(self, subject: Bytes32) -> int:
        return int(self.call("activeLoanOf", subject))

    def value_move_bps_of(self, loan_id: int) -> int:
        return int(self.call("valueMoveBpsOf", loan_id))

    def loan_count(self) -> int:
        return int(self.call("loanCount"))

    def get_case(self, case_id: int) -> Case:
        """A case (raises ``CollateralUnknownCase`` for an unknown id)."""
        return Case.model_validate(self.call("getCase", case_id))

    def state(self, case_id: int) -> CaseState:
        return CaseState(self.call("state", case_id))

    def case_count(self) -> int:
        return int(self.call("caseCount"))

    # ------------------------------------------------------------------ loans and liens

    def register_loan(
        self,
        outbox: Outbox,
        *,
        key: str,
        sender: str,
        subject: Bytes32,
        principal: int,
        outstanding: int,
        baseline_value: int,
        terms: LoanTerms,
        evidence_digest: Bytes32,
    ) -> OutboxTx:
        args = (subject, principal, outstanding, baseline_value, terms, evidence_digest)
        return self._write(outbox, key, sender, "registerLoan", *args)

    def confirm_lien(
        self, outbox: Outbox, *, key: str, sender: str, loan_id: int, evidence_digest: Bytes32
    ) -> OutboxTx:
        return self._write(outbox, key, sender, "confirmLien", loan_id, evidence_digest)

    def cancel_loan(self, outbox: Outbox, *, key: str, sender: str, loan_id: int, evidence_digest: Bytes32) -> OutboxTx:
        return self._write(outbox, key, sender, "cancelLoan", loan_id, evidence_digest)

    def loan_id_of(self, tx: OutboxTx) -> int:
        """The id of the loan a confirmed ``register_loan`` write registered."""
        return self._created_id(tx, "LoanRegistered", "loanId")

    # ------------------------------------------------------------------ reports

    def report_repayment(
        self,
        outbox: Outbox,
        *,
        key: str,
        sender: str,
        loan_id: int,
        days_overdue: int,
        outstanding: int,
        evidence_digest: Bytes32,
    ) -> OutboxTx:
        return self._write(outbox, key, sender, "reportRepayment", loan_id, days_overdue, outstanding, evidence_digest)

    def report_valuation(
        self, outbox: Outbox, *, key: str, sender: str, subject: Bytes32, value: int, evidence_digest: Bytes32
    ) -> OutboxTx:
        return self._write(outbox, key, sender, "reportValuation", subject, value, evidence_digest)

    def report_telematics_alert(
        self,
        outbox: Outbox,
        *,
        key: str,
        sender: str,
        subject: Bytes32,
        alert_kind: int,
        severity: Severity,
        evidence_digest: Bytes32,
    ) -> OutboxTx:
        args = (subject, alert_kind, int(severity), evidence_digest)
        return self._write(outbox, key, sender, "reportTelematicsAlert", *args)

    def report_dmv_event(
        self,
        outbox: Outbox,
        *,
        key: str,
        sender: str,
        subject: Bytes32,
        event_kind: DmvEventKind,
        evidence_digest: Bytes32,
    ) -> OutboxTx:
        return self._write(outbox, key, sender, "reportDmvEvent", subject, int(event_kind), evidence_digest)

    def report_risk_warning(
        self, outbox: Outbox, *, key: str, sender: str, subject: Bytes32, score: int, evidence_digest: Bytes32
    ) -> OutboxTx:
        return self._write(outbox, key, sender, "reportRiskWarning", subject, score, evidence_digest)

    # ------------------------------------------------------------------ disposal cases

    def clear_watch(self, outbox: Outbox, *, key: str, sender: str, case_id: int, evidence_digest: Bytes32) -> OutboxTx:
        return self._write(outbox, key, sender, "clearWatch", case_id, evidence_digest)

    def order_repossession(
        self, outbox: Outbox, *, key: str, sender: str, case_id: int, agency_member_id: int, evidence_digest: Bytes32
    ) -> OutboxTx:
        return self._write(outbox, key, sender, "orderRepossession", case_id, agency_member_id, evidence_digest)

    def record_repossession(
        self, outbox: Outbox, *, key: str, sender: str, case_id: int, evidence_digest: Bytes32
    ) -> OutboxTx:
        return self._write(outbox, key, sender, "recordRepossession", case_id, evidence_digest)

    def record_appraisal(
        self, outbox: Outbox, *, key: str, sender: str, case_id: int, appraised_value: int, evidence_digest: Bytes32
    ) -> OutboxTx:
        return self._write(outbox, key, sender, "recordAppraisal", case_id, appraised_value, evidence_digest)

    def record_auction(
        self, outbox: Outbox, *, key: str, sender: str, case_id: int, sale_price: int, evidence_digest: Bytes32
    ) -> OutboxTx:
        return self._write(outbox, key, sender, "recordAuction", case_id, sale_price, evidence_digest)

    def record_settlement(
        self, outbox: Outbox, *, key: str, sender: str, case_id: int, evidence_digest: Bytes32
    ) -> OutboxTx:
        return self._write(outbox, key, sender, "recordSettlement", case_id, evidence_digest)

    def escalate(self, outbox: Outbox, *, key: str, sender: str, case_id: int) -> OutboxTx:
        return self._write(outbox, key, sender, "escalate", case_id)

    def reassign_agency(
        self, outbox: Outbox, *, key: str, sender: str, case_id: int, agency_member_id: int, evidence_digest: Bytes32
    ) -> OutboxTx:
        return self._write(outbox, key, sender, "reassignAgency", case_id, agency_member_id, evidence_digest)

    def freeze_case(self, outbox: Outbox, *, key: str, sender: str, case_id: int, evidence_digest: Bytes32) -> OutboxTx:
        return self._write(outbox, key, sender, "freezeCase", case_id, evidence_digest)

    # ------------------------------------------------------------------ governance calldata

    def encode_set_parameters(self, *, new_parameters: Parameters) -> bytes:
        return self.calldata("setParameters", new_parameters)

    def encode_set_valuation_policy(self, *, new_policy: ValuationPolicy) -> bytes:
        return self.calldata("setValuationPolicy", new_policy)

    def encode_resolve_freeze(self, *, case_id: int, restore: bool, evidence_digest: Bytes32) -> bytes:
        return self.calldata("resolveFreeze", case_id, restore, evidence_digest)


@dataclass(frozen=True)
class Suite:
    """The three clients of one deployment."""

    membership: MembershipClient
    registry: RegistryClient
    collateral: CollateralClient

    @classmethod
    def from_deployment(cls, connection: ChainConnection, deployment: Deployment) -> Suite:
        """Clients of the contracts a deployment manifest records."""
        return cls(
            membership=MembershipClient(connection, deployment.address("Membership")),
            registry=RegistryClient(connection, deployment.address("EvidenceRegistry")),
            collateral=CollateralClient(connection, deployment.address("CollateralManager")),
        )


__all__ = [
    "ZERO_BYTES32",
    "AbiFunction",
    "AlertKind",
    "Authorization",
    "Batch",
    "Bytes32",
    "Case",
    "CaseState",
    "Cause",
    "CollateralClient",
    "ContractArgumentError",
    "ContractClient",
    "Dispute",
    "DisputeState",
    "DmvEventKind",
    "EventLog",
    "GovernanceParameters",
    "Kind",
    "KindFlag",
    "KindView",
    "LienStatus",
    "Loan",
    "LoanTerms",
    "Member",
    "MemberStatus",
    "MembershipClient",
    "Parameters",
    "PointsParameters",
    "PointsReason",
    "Proposal",
    "ProposalState",
    "Record",
    "RecordView",
    "RegistryClient",
    "Revocation",
    "Role",
    "Severity",
    "Suite",
    "UnexpectedResultError",
    "Valuation",
    "ValuationPolicy",
    "abi_from_python",
    "abi_to_python",
    "causes_of",
    "contract_spec",
    "decode_event_args",
    "role_names",
]
