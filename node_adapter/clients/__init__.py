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
  become 0x-hex strings; addresses are checksummed) and validated into the models of ``types``, whose snake_case
  fields are the ABI names. A view that reverts raises the decoded custom error (``CollateralUnknownLoan``).
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

The package's modules, each one job (inside ``node_adapter``, import from them, not from this ``__init__``, which
imports them all):

* ``types``: the value types: :class:`Role` and :class:`KindFlag` bits, the contracts' enums, :class:`AnchorState`,
  :class:`RevokeReason`, the frozen view models (:class:`Member`, :class:`Loan`, ...), :data:`STANDARD_TERMS` and
  :class:`EventLog`.
* ``abi``: the ABI machinery: :func:`contract_spec`, :func:`abi_from_python` (argument checking),
  :func:`abi_to_python` and :func:`decode_event_args`.
* ``base``: :class:`ContractClient`, what every client shares: calldata, calls, ``try_write``, writes through the
  outbox, events of a write.
* ``membership``, ``registry``, ``collateral``: one client per contract (:class:`MembershipClient`,
  :class:`RegistryClient`, the credit points included, :class:`CollateralClient`).
* ``suite``: :class:`Suite`, the three clients of one deployment.

This ``__init__`` re-exports the names callers use, so ``from node_adapter.clients import Role, Suite`` works as it
did when the package was one module.
"""

from node_adapter.clients.abi import (
    AbiFunction,
    abi_from_python,
    abi_to_python,
    contract_spec,
    decode_event_args,
)
from node_adapter.clients.base import ContractClient
from node_adapter.clients.collateral import CollateralClient
from node_adapter.clients.membership import MembershipClient
from node_adapter.clients.registry import RegistryClient
from node_adapter.clients.suite import Suite
from node_adapter.clients.types import (
    STANDARD_TERMS,
    ZERO_BYTES32,
    AlertKind,
    AnchorState,
    Authorization,
    Batch,
    Bytes32,
    Case,
    CaseState,
    Cause,
    Dispute,
    DisputeState,
    DmvEventKind,
    EventLog,
    GovernanceParameters,
    Kind,
    KindFlag,
    KindView,
    LienStatus,
    Loan,
    LoanTerms,
    Member,
    MemberStatus,
    Parameters,
    PointsParameters,
    PointsReason,
    Proposal,
    ProposalState,
    Record,
    RecordView,
    Revocation,
    RevokeReason,
    Role,
    Severity,
    Valuation,
    ValuationPolicy,
    causes_of,
    role_names,
)
from node_adapter.exceptions import ContractArgumentError, UnexpectedResultError

__all__ = [
    "STANDARD_TERMS",
    "ZERO_BYTES32",
    "AbiFunction",
    "AlertKind",
    "AnchorState",
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
    "RevokeReason",
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
