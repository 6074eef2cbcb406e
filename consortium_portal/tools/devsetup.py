"""On a local dev chain, the portal's kinds are registered by one governance vote when ``consortium up`` starts it,
and the repository's default data-sharing policy is approved by another.

On a real consortium governance registers each kind with its schema's digest (``GET /api/v1/kinds`` lists them),
the access receipts' batch kind (``anchor.RECEIPT_KIND``, anchored by governors' accounts) and approves each policy
version (``POST /api/v1/policies``); on a dev chain the first three dev governors vote them through at once.
Idempotent.
"""

from __future__ import annotations

from eth_account import Account

from consortium_portal.anchor import RECEIPT_KIND, RECEIPT_KIND_ROLES, RECEIPT_KIND_WEIGHT, RECEIPT_SCHEMA_DIGEST
from consortium_portal.kinds import CATALOGUE
from consortium_portal.policy import default_policy
from node_adapter.artifacts import load_artifact
from node_adapter.clients import KindFlag, Suite
from node_adapter.connection import ChainConnection
from node_adapter.dev.devchain import pass_proposal
from node_adapter.dev.localchain import DEV_MNEMONIC, dev_accounts
from node_adapter.exceptions import ChainError
from node_adapter.settings import DEV_CHAIN_IDS

WEIGHT = 10
"""Points per record of each kind on a dev chain."""


def register_dev_kinds(connection: ChainConnection, suite: Suite) -> int:
    """Register the catalogue's missing kinds and the access receipts' batch kind; how many were registered."""
    _dev_only(connection, "register dev kinds")
    calls = []
    for spec in CATALOGUE.values():
        if suite.registry.get_kind(spec.kind).kind.exists:
            continue
        flags = KindFlag.ODOMETER if spec.odometer else 0
        calls.append(
            suite.registry.calldata("registerKind", spec.kind, spec.schema_digest, int(spec.roles), WEIGHT, int(flags))
        )
    if not suite.registry.get_kind(RECEIPT_KIND).kind.exists:
        calls.append(receipt_kind_call(suite))
    if calls:
        _pass(connection, suite, [suite.registry.address] * len(calls), calls, "the portal's attestation kinds")
    return len(calls)


def receipt_kind_call(suite: Suite) -> bytes:
    """``registerKind`` of the access receipts' batch kind (what governance passes on any chain)."""
    roles, weight = int(RECEIPT_KIND_ROLES), RECEIPT_KIND_WEIGHT
    return suite.registry.calldata("registerKind", RECEIPT_KIND, RECEIPT_SCHEMA_DIGEST, roles, weight, 0)


def approve_dev_policy(connection: ChainConnection, suite: Suite) -> bool:
    """Approve the repository's default data-sharing policy by a dev governance vote, unless a proposal of it was
    executed already; whether it voted."""
    _dev_only(connection, "approve a dev policy")
    policy = default_policy()
    membership = suite.membership
    for proposal_id in range(membership.proposal_count(), 0, -1):
        proposal = membership.get_proposal(proposal_id)
        if proposal.executed and proposal.description_digest.lower() == policy.digest:
            return False
    noop = membership.calldata("proposalCount")
    _pass(connection, suite, [membership.address], [noop], policy.canonical())
    return True


def _dev_only(connection: ChainConnection, what: str) -> None:
    if connection.chain_id not in DEV_CHAIN_IDS:
        raise ChainError(f"refusing to {what} on chain {connection.chain_id}: not a dev chain")


def _pass(connection: ChainConnection, suite: Suite, targets: list[str], calls: list[bytes], description: str) -> None:
    governors = [Account.from_key(a.private_key) for a in dev_accounts(3, DEV_MNEMONIC)]
    w3 = connection.w3
    membership = w3.eth.contract(address=suite.membership.address, abi=load_artifact("Membership").abi)
    pass_proposal(w3, membership, governors=governors, targets=targets, calldatas=calls, description=description)
