"""The Clique genesis: the founding signers in ``extraData``, the fork rules, the block period, the funded signers.

Clique (EIP-225) keeps its signer list in the header's ``extraData``: 32 bytes of vanity data, then on checkpoint
blocks (the genesis is one) the 20-byte signer addresses in ascending order, then a 65-byte seal, all zero in the
genesis. Fork rules go up to London at block 0 and stop there: the contracts are compiled for the Paris EVM, and geth
1.13 refuses Shanghai on a chain that has not gone through the merge, which a Clique chain never does.
"""

from __future__ import annotations

import time
from typing import Any

from web3 import Web3

from consortium.network.errors import NetworkStateError
from node_adapter.settings import DEV_CHAIN_IDS

VANITY = bytes(32)
SEAL = bytes(65)
DEFAULT_CHAIN_ID = 5151
DEFAULT_PERIOD = 2
DEFAULT_GAS_LIMIT = 30_000_000
EPOCH = 30_000
"""Blocks between checkpoints (where votes are reset and the signer list is written into the header)."""
SIGNER_BALANCE_WEI = 10**6 * 10**18
"""What each founding signer is given in the genesis (one million ether of a chain whose ether has no price)."""

FORKS_AT_ZERO = (
    "homesteadBlock",
    "eip150Block",
    "eip155Block",
    "eip158Block",
    "byzantiumBlock",
    "constantinopleBlock",
    "petersburgBlock",
    "istanbulBlock",
    "muirGlacierBlock",
    "berlinBlock",
    "londonBlock",
    "arrowGlacierBlock",
    "grayGlacierBlock",
)


def sorted_signers(signers: list[str]) -> list[str]:
    """Checksummed addresses in ascending byte order, as Clique lists them."""
    checksummed = [str(Web3.to_checksum_address(s)) for s in signers]
    if len(set(checksummed)) != len(checksummed):
        raise NetworkStateError(f"the signers repeat an address: {checksummed}")
    return sorted(checksummed, key=lambda a: bytes.fromhex(a[2:]))


def extra_data(signers: list[str]) -> str:
    """The genesis ``extraData`` naming ``signers`` (sorted here), as 0x-hex."""
    if not signers:
        raise NetworkStateError("a Clique network needs at least one signer")
    addresses = b"".join(bytes.fromhex(a[2:]) for a in sorted_signers(signers))
    return "0x" + (VANITY + addresses + SEAL).hex()


def signers_of(extra: str) -> list[str]:
    """The signers a checkpoint header's ``extraData`` names (checksummed, in its order)."""
    raw = bytes.fromhex(extra.removeprefix("0x"))
    body = raw[len(VANITY) : len(raw) - len(SEAL)]
    if len(raw) < len(VANITY) + len(SEAL) or len(body) % 20:
        raise NetworkStateError(f"extraData of {len(raw)} bytes is not 32 + 20*n + 65 bytes")
    return [str(Web3.to_checksum_address(body[i : i + 20])) for i in range(0, len(body), 20)]


def genesis(
    *,
    chain_id: int,
    signers: list[str],
    period: int = DEFAULT_PERIOD,
    gas_limit: int = DEFAULT_GAS_LIMIT,
    timestamp: int | None = None,
) -> dict[str, Any]:
    """A Clique genesis (geth's format) sealed by ``signers``, each funded with :data:`SIGNER_BALANCE_WEI`."""
    if chain_id in DEV_CHAIN_IDS:
        raise NetworkStateError(
            f"chain id {chain_id} is a local dev chain's (the system accepts raw dev keys there); choose another"
        )
    if period < 1:
        raise NetworkStateError(f"the block period is {period} s; Clique needs at least 1 s")
    return {
        "config": {
            "chainId": chain_id,
            **dict.fromkeys(FORKS_AT_ZERO, 0),
            "clique": {"period": period, "epoch": EPOCH},
        },
        "nonce": "0x0",
        "timestamp": hex(int(time.time()) if timestamp is None else timestamp),
        "extraData": extra_data(signers),
        "gasLimit": hex(gas_limit),
        "difficulty": "0x1",
        "mixHash": "0x" + "00" * 32,
        "coinbase": "0x" + "00" * 20,
        "alloc": {a.lower().removeprefix("0x"): {"balance": hex(SIGNER_BALANCE_WEI)} for a in sorted_signers(signers)},
        "number": "0x0",
        "gasUsed": "0x0",
        "parentHash": "0x" + "00" * 32,
    }
