"""Governance on a local dev chain, where time can be moved forward (Anvil and Ganache).

On a real consortium chain a proposal waits out its voting period and execution delay in real time; on a dev chain
``pass_proposal`` proposes, votes with every given governor, moves the clock past the delay and executes, so setting up
a demo or a benchmark takes seconds. Nothing here runs against a real network: it refuses any chain id but the dev ones.
"""

from __future__ import annotations

from collections.abc import Sequence

from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.contract import Contract
from web3.types import RPCEndpoint

from node_adapter.chainutil import send_and_wait
from node_adapter.errors import ChainError
from node_adapter.settings import DEV_CHAIN_IDS


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
