"""Node keys, enode URLs, the QBFT ``extraData`` and the genesis file, in the formats Besu reads.

The genesis ``extraData`` of a QBFT network whose validators are chosen by block headers is, per Besu's QBFT
documentation, ``RLP([32 bytes vanity, [validator addresses], no vote, round = 0, no seals])``: a list of the 32
zero bytes, the list of 20-byte addresses, an empty list, the integer 0 (RLP ``0x80``) and an empty list.
"""

from __future__ import annotations

import ipaddress
import re
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import rlp
from eth_keys.datatypes import PrivateKey, PublicKey
from web3 import Web3

from node_adapter.exceptions import NodeAdapterError

VANITY = bytes(32)
SECP256K1_ORDER = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
QBFT_MIX_HASH = "0x63746963616c2062797a616e74696e65206661756c7420746f6c6572616e6365"
"""The mixHash that identifies an Istanbul-family (IBFT 2.0 / QBFT) genesis block."""

_ENODE = re.compile(r"^enode://(?P<id>[0-9a-fA-F]{128})@(?P<host>[^:/?#]+|\[[0-9a-fA-F:.]+\]):(?P<port>\d{1,5})")


class BesuConfigError(NodeAdapterError, ValueError):
    """A members file, a generated network or a Besu value is malformed or inconsistent (says what and where)."""


@dataclass(frozen=True)
class NodeKey:
    """A node's secp256k1 key: its enode id is the public key, its validator address the key's address."""

    private_key: bytes

    @classmethod
    def generate(cls) -> NodeKey:
        while True:
            raw = secrets.token_bytes(32)
            if 0 < int.from_bytes(raw) < SECP256K1_ORDER:
                return cls(raw)

    @classmethod
    def from_file_text(cls, text: str) -> NodeKey:
        """A key as Besu keeps it in its key file: the private key in hex (with or without ``0x``)."""
        try:
            raw = bytes.fromhex(text.strip().removeprefix("0x"))
        except ValueError:
            raw = b""
        if len(raw) != 32 or not 0 < int.from_bytes(raw) < SECP256K1_ORDER:
            raise BesuConfigError("the node key file does not hold a 32-byte secp256k1 private key in hex")
        return cls(raw)

    def file_text(self) -> str:
        return "0x" + self.private_key.hex() + "\n"

    @property
    def public_key_hex(self) -> str:
        """The 64-byte public key without the 0x04 prefix: the node id in its enode URL."""
        return PrivateKey(self.private_key).public_key.to_bytes().hex()

    @property
    def address(self) -> str:
        """The validator address (checksummed)."""
        return str(PrivateKey(self.private_key).public_key.to_checksum_address())

    def enode(self, host: str, port: int) -> str:
        return enode_url(self.public_key_hex, host, port)


def enode_url(node_id: str, host: str, port: int) -> str:
    """``enode://<id>@<host>:<port>`` (IPv6 hosts in brackets)."""
    try:
        if ipaddress.ip_address(host).version == 6:
            host = f"[{host}]"
    except ValueError:
        pass
    return f"enode://{node_id.lower()}@{host}:{port}"


@dataclass(frozen=True)
class Enode:
    """A parsed enode URL: node id (lowercase hex), host and listening port."""

    node_id: str
    host: str
    port: int

    @classmethod
    def parse(cls, url: str) -> Enode:
        match = _ENODE.match(url.strip())
        if match is None:
            raise BesuConfigError(f"{url!r} is not an enode URL (enode://<128 hex digits>@<host>:<port>)")
        port = int(match["port"])
        if not 0 < port < 65536:
            raise BesuConfigError(f"{url!r} has port {port}, outside 1-65535")
        query = urlsplit(url.strip()).query
        if query and query != f"discport={port}" and not query.startswith("discport="):
            raise BesuConfigError(f"{url!r} has an unexpected query {query!r}")
        return cls(match["id"].lower(), match["host"].strip("[]").lower(), port)

    def __str__(self) -> str:
        return enode_url(self.node_id, self.host, self.port)

    @property
    def address(self) -> str:
        """The address of the node's key (its validator address)."""
        return str(PublicKey(bytes.fromhex(self.node_id)).to_checksum_address())


def canonical_enode(url: str) -> str:
    """The comparable form of an enode URL: lowercase id and host, no ``discport`` query."""
    return str(Enode.parse(url))


def is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


# ---------------------------------------------------------------------------------------------------- extraData


def encode_extra_data(validators: list[str]) -> str:
    """The genesis ``extraData`` naming ``validators`` (in the order given), as 0x-hex."""
    addresses = [_address_bytes(v) for v in validators]
    encoded: bytes = rlp.encode([VANITY, addresses, [], b"", []])
    return "0x" + encoded.hex()


def decode_extra_data(extra_data: str) -> list[str]:
    """The validators named by a genesis ``extraData`` (checksummed); a clear error for anything else."""
    try:
        decoded = rlp.decode(bytes.fromhex(extra_data.removeprefix("0x")))
    except (ValueError, rlp.exceptions.DecodingError) as exc:
        raise BesuConfigError(f"extraData is not RLP: {exc}") from exc
    if not isinstance(decoded, list) or len(decoded) != 5:
        raise BesuConfigError("extraData is not the 5-item QBFT list (vanity, validators, vote, round, seals)")
    vanity, validators, vote, round_, seals = decoded
    if not isinstance(vanity, bytes) or len(vanity) != 32:
        raise BesuConfigError("extraData does not start with 32 bytes of vanity data")
    if not isinstance(validators, list) or not all(isinstance(v, bytes) and len(v) == 20 for v in validators):
        raise BesuConfigError("extraData's validators are not a list of 20-byte addresses")
    if vote != [] or round_ != b"" or seals != []:
        raise BesuConfigError("a genesis extraData carries no vote, round 0 and no seals")
    return [str(Web3.to_checksum_address(v)) for v in validators]


def _address_bytes(address: str) -> bytes:
    try:
        raw = bytes.fromhex(address.removeprefix("0x"))
    except ValueError:
        raw = b""
    if len(raw) != 20:
        raise BesuConfigError(f"{address!r} is not a 20-byte address")
    return raw


# ---------------------------------------------------------------------------------------------------- genesis


def qbft_genesis(
    *,
    chain_id: int,
    validators: list[str],
    block_period_seconds: int,
    request_timeout_seconds: int,
    epoch_length: int,
    gas_limit: int,
    timestamp: int | None = None,
) -> dict[str, Any]:
    """A QBFT genesis for a free-gas network: validators in the header (sorted ascending, as Besu lists them),
    London rules from block 0 with a zero base fee, nothing allocated (gas costs nothing)."""
    ordered = sorted((str(Web3.to_checksum_address(v)) for v in validators), key=str.lower)
    return {
        "config": {
            "chainId": chain_id,
            "berlinBlock": 0,
            "londonBlock": 0,
            "zeroBaseFee": True,
            "qbft": {
                "blockperiodseconds": block_period_seconds,
                "epochlength": epoch_length,
                "requesttimeoutseconds": request_timeout_seconds,
            },
        },
        "nonce": "0x0",
        "timestamp": hex(int(time.time()) if timestamp is None else timestamp),
        "gasLimit": hex(gas_limit),
        "difficulty": "0x1",
        "mixHash": QBFT_MIX_HASH,
        "coinbase": "0x" + "00" * 20,
        "alloc": {},
        "extraData": encode_extra_data(ordered),
        "number": "0x0",
        "gasUsed": "0x0",
        "parentHash": "0x" + "00" * 32,
    }
