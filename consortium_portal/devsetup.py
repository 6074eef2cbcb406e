"""On a local dev chain, the portal's kinds are registered by one governance vote when ``consortium up`` starts it.

On a real consortium governance registers each kind with its schema's digest (``GET /api/v1/kinds`` lists them);
on a dev chain the first two dev governors vote it through at once. Idempotent.
"""

from __future__ import annotations

from eth_account import Account

from consortium_portal.kinds import CATALOGUE
from node_adapter.artifacts import load_artifact
from node_adapter.clients import KindFlag, Suite
from node_adapter.connection import ChainConnection
from node_adapter.devchain import pass_proposal
from node_adapter.errors import ChainError
from node_adapter.localchain import DEV_MNEMONIC, dev_accounts
from node_adapter.settings import DEV_CHAIN_IDS

WEIGHT = 10
"""Points per record of each kind on a dev chain."""


def register_dev_kinds(connection: ChainConnection, suite: Suite) -> int:
    """Register the catalogue's missing kinds; how many were registered."""
    if connection.chain_id not in DEV_CHAIN_IDS:
        raise ChainError(f"refusing to register dev kinds on chain {connection.chain_id}: not a dev chain")
    calls = []
    for spec in CATALOGUE.values():
        if suite.registry.get_kind(spec.kind).kind.exists:
            continue
        flags = KindFlag.ODOMETER if spec.odometer else 0
        calls.append(
            suite.registry.calldata("registerKind", spec.kind, spec.schema_digest, int(spec.roles), WEIGHT, int(flags))
        )
    if calls:
        governors = [Account.from_key(a.private_key) for a in dev_accounts(3, DEV_MNEMONIC)]
        w3 = connection.w3
        membership = w3.eth.contract(address=suite.membership.address, abi=load_artifact("Membership").abi)
        pass_proposal(
            w3,
            membership,
            governors=governors,
            targets=[suite.registry.address] * len(calls),
            calldatas=calls,
            description="the portal's attestation kinds",
        )
    return len(calls)
