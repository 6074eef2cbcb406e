"""Governance on a local dev chain, where time can be moved forward (Anvil and Ganache).

On a real consortium chain a proposal waits out its voting period and execution delay in real time; on a dev chain
``pass_proposal`` proposes, votes with every given governor, moves the clock past the delay and executes, so setting up
a demo or a benchmark takes seconds. Nothing here runs against a real network: it refuses any chain id but the dev ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.contract import Contract
from web3.types import RPCEndpoint

from node_adapter.clients.types import Role
from node_adapter.dev.chainutil import send_and_wait
from node_adapter.dev.localchain import DEV_MNEMONIC, dev_accounts
from node_adapter.exceptions import ChainError
from node_adapter.settings import DEV_CHAIN_IDS


@dataclass(frozen=True)
class DevMember:
    """Who a dev account plays on a dev chain: its index on the dev mnemonic, a label, an organisation, a role."""

    index: int
    label: str
    organisation: str
    role: Role
    joins: str
    """How it becomes a member: ``deployment`` (an initial governor), ``oracle`` (the oracle's dev setup, at the
    first ``make up``) or ``demo`` (``consortium demo``)."""

    def account(self) -> LocalAccount:
        """The account, with its (public, dev-only) key."""
        key = dev_accounts(self.index + 1, DEV_MNEMONIC)[self.index].private_key
        account: LocalAccount = Account.from_key(key)
        return account


DEV_MEMBERS: tuple[DevMember, ...] = (
    DevMember(0, "governor-1", "Consortium governor 1", Role.GOVERNOR, "deployment"),
    DevMember(1, "governor-2", "Consortium governor 2", Role.GOVERNOR, "deployment"),
    DevMember(2, "governor-3", "Consortium governor 3", Role.GOVERNOR, "deployment"),
    DevMember(3, "bank", "Pudong Commercial Bank", Role.BANK, "oracle"),
    DevMember(4, "dmv", "Municipal Vehicle Administration (DMV oracle)", Role.DMV_ORACLE, "oracle"),
    DevMember(5, "telematics", "T-Box telematics oracle", Role.TELEMATICS_ORACLE, "oracle"),
    DevMember(6, "price-1", "Price oracle 1 (dealer association index)", Role.PRICE_ORACLE, "oracle"),
    DevMember(7, "price-2", "Price oracle 2 (auction house index)", Role.PRICE_ORACLE, "oracle"),
    DevMember(8, "price-3", "Price oracle 3 (used-car platform index)", Role.PRICE_ORACLE, "oracle"),
    DevMember(9, "agency", "Eastern Vehicle Disposal Agency", Role.DISPOSAL_AGENCY, "oracle"),
    DevMember(10, "dealer-1", "Huangpu Motors", Role.DEALER, "demo"),
    DevMember(11, "dealer-2", "Minhang Auto Mall", Role.DEALER, "demo"),
    DevMember(12, "insurer", "Anxin Property Insurance", Role.INSURER, "demo"),
    DevMember(13, "repair-shop", "Xinhua Repair Works", Role.REPAIR_SHOP, "demo"),
)
"""Every dev account's part on a dev chain. Anvil funds the first ten at genesis; ``consortium demo`` funds the
rest from account 0. The public test mnemonic's keys: never use them on a real network."""

DEV_WALLET_SIZE = len(DEV_MEMBERS)
"""How many dev accounts the portal's dev wallet offers (dev chains only)."""


def dev_member(label: str) -> DevMember:
    """The dev account that plays ``label`` (``bank``, ``dealer-1`` ...)."""
    for member in DEV_MEMBERS:
        if member.label == label:
            return member
    raise KeyError(f"no dev account plays {label!r}; the labels are {[m.label for m in DEV_MEMBERS]}")


def increase_time(w3: Web3, seconds: int) -> None:
    """Move the dev chain's clock forward and mine a block."""
    if w3.eth.chain_id not in DEV_CHAIN_IDS:
        raise ChainError(f"refusing to move the clock of chain {w3.eth.chain_id}: not a dev chain")
    w3.provider.make_request(RPCEndpoint("evm_increaseTime"), [seconds])
    w3.provider.make_request(RPCEndpoint("evm_mine"), [])


def pass_proposal(
    w3: Web3,
    membership: Contract,
    *,
    governors: Sequence[LocalAccount],
    targets: Sequence[str],
    calldatas: Sequence[bytes | str],
    description: str,
) -> int:
    """Propose, vote for with every governor in ``governors``, wait out the delay and execute; returns the id."""
    proposer = governors[0]
    description_digest = Web3.keccak(text=description)
    propose = membership.functions.propose(list(targets), list(calldatas), description_digest)
    proposal_id = int(propose.call({"from": proposer.address}))
    send_and_wait(w3, proposer, propose.build_transaction({"from": proposer.address}))
    for governor in governors:
        vote = membership.functions.castVote(proposal_id, True)
        send_and_wait(w3, governor, vote.build_transaction({"from": governor.address}))
    _quorum, voting_period, execution_delay, _grace = membership.functions.governanceParameters().call()
    increase_time(w3, int(voting_period) + int(execution_delay) + 1)
    execute = membership.functions.execute(proposal_id)
    send_and_wait(w3, proposer, execute.build_transaction({"from": proposer.address, "gas": 5_000_000}))
    return proposal_id
