"""The state folder of a local network: what was decided once (``network.json``, ``genesis.json``) and each member's
folder with its keys.

Layout (``.state/network/`` by default; 0700 folders, 0600 secrets)::

    network.json               chain id, block period, and per member: name, signer address, enode, ports
    genesis.json               the Clique genesis every node was initialised with
    run.json                   while ``consortium network up`` runs: its process id and its nodes' (``down`` reads it)
    members/<name>/
        node.key               the node's secp256k1 key (so its enode never changes), hex as geth reads it
        keystore/signer.json   the signer account, an encrypted keystore (Web3 Secret Storage, scrypt)
        password               the keystore's password
        config.toml            geth's configuration file: listen address and the static peers
        data/                  geth's data folder (the chain)
        geth.log               what geth printed

Keys are made once, when the folder is created; everything after that reads them.
"""

from __future__ import annotations

import json
import logging
import secrets
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from eth_account import Account

from consortium.besu.generate import DEFAULT_SCRYPT_N, private_dir, write_new_keystore, write_private
from consortium.besu.qbft import NodeKey
from consortium.network import clique
from consortium.network.errors import NetworkStateError
from consortium.network.tool import GETH_VERSION

logger = logging.getLogger(__name__)

HOST = "127.0.0.1"
DEFAULT_NODES = 4
DEFAULT_RPC_PORT = 8645
"""JSON-RPC of the first member's node; the others follow (8645, 8646, ...): clear of a dev chain's 8545."""
DEFAULT_P2P_PORT = 30403
DEFAULT_AUTH_PORT = 28645
"""geth 1.13 always listens for the engine API (unused by Clique), so each node is given a port for it too."""

NETWORK_FILE = "network.json"
GENESIS_FILE = "genesis.json"
RUN_FILE = "run.json"


@dataclass(frozen=True)
class Ports:
    """The TCP ports of one node, all on loopback."""

    rpc: int
    p2p: int
    auth: int


def consecutive_ports(
    nodes: int, *, rpc: int = DEFAULT_RPC_PORT, p2p: int = DEFAULT_P2P_PORT, auth: int = DEFAULT_AUTH_PORT
) -> list[Ports]:
    """Ports of ``nodes`` nodes, each kind counting up from its first port."""
    return [Ports(rpc + i, p2p + i, auth + i) for i in range(nodes)]


@dataclass(frozen=True)
class Member:
    """One member's node as the network knows it (public facts only)."""

    name: str
    signer: str
    """The address the node seals blocks with (its account in ``keystore/``)."""
    enode: str
    ports: Ports

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.ports.rpc}"


@dataclass(frozen=True)
class NetworkPlan:
    """``network.json``: what the network was created with. It never changes afterwards."""

    chain_id: int
    period: int
    gas_limit: int
    geth_version: str
    members: tuple[Member, ...]

    @property
    def signers(self) -> list[str]:
        """The founding signers, in Clique's order."""
        return clique.sorted_signers([m.signer for m in self.members])

    @property
    def urls(self) -> list[str]:
        return [m.url for m in self.members]

    def member(self, name: str) -> Member:
        for member in self.members:
            if member.name == name:
                return member
        raise NetworkStateError(f"the network has no member {name!r} (it has {[m.name for m in self.members]})")

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> NetworkPlan:
        members = tuple(
            Member(name=m["name"], signer=m["signer"], enode=m["enode"], ports=Ports(**m["ports"]))
            for m in data["members"]
        )
        return cls(
            chain_id=int(data["chain_id"]),
            period=int(data["period"]),
            gas_limit=int(data["gas_limit"]),
            geth_version=str(data["geth_version"]),
            members=members,
        )


class MemberFolder:
    """The folder of one member's node. Its ``repr`` names the folder only; the password is read when needed."""

    __slots__ = ("root",)

    def __init__(self, root: Path) -> None:
        self.root = root

    def __repr__(self) -> str:
        return f"MemberFolder({str(self.root)!r})"

    @property
    def node_key_file(self) -> Path:
        return self.root / "node.key"

    @property
    def keystore_dir(self) -> Path:
        return self.root / "keystore"

    @property
    def keystore_file(self) -> Path:
        return self.keystore_dir / "signer.json"

    @property
    def password_file(self) -> Path:
        return self.root / "password"

    @property
    def config_file(self) -> Path:
        return self.root / "config.toml"

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def log_file(self) -> Path:
        return self.root / "geth.log"

    def initialised(self) -> bool:
        """Whether geth's data folder holds a chain (``geth init`` has run)."""
        return (self.data_dir / "geth" / "chaindata").is_dir()

    def node_key(self) -> NodeKey:
        return NodeKey.from_file_text(self.node_key_file.read_text())

    def signer_key(self) -> bytes:
        """The signer's private key, decrypted from its keystore (for tools that sign with it; never logged)."""
        keystore = json.loads(self.keystore_file.read_text())
        return bytes(Account.decrypt(keystore, self.password_file.read_text().strip()))


def folder_of(state_dir: Path, name: str) -> MemberFolder:
    return MemberFolder(state_dir / "members" / name)


def load_plan(state_dir: Path) -> NetworkPlan | None:
    """The network recorded in ``state_dir``, or ``None`` when there is none."""
    path = state_dir / NETWORK_FILE
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise NetworkStateError(f"{path} cannot be read: {exc}") from exc
    try:
        return NetworkPlan.from_json(data)
    except (KeyError, TypeError, ValueError) as exc:
        raise NetworkStateError(f"{path} is not a network file of this project: {exc}") from exc


def create_network(
    state_dir: Path,
    *,
    nodes: int = DEFAULT_NODES,
    period: int = clique.DEFAULT_PERIOD,
    chain_id: int = clique.DEFAULT_CHAIN_ID,
    gas_limit: int = clique.DEFAULT_GAS_LIMIT,
    ports: list[Ports] | None = None,
    scrypt_n: int = DEFAULT_SCRYPT_N,
) -> NetworkPlan:
    """Make every member's keys and the genesis in ``state_dir`` (which must hold no network yet)."""
    if load_plan(state_dir) is not None:
        raise NetworkStateError(f"{state_dir} already holds a network ({NETWORK_FILE})")
    if nodes < 1:
        raise NetworkStateError(f"a network needs at least one node, not {nodes}")
    ports = ports if ports is not None else consecutive_ports(nodes)
    if len(ports) != nodes:
        raise NetworkStateError(f"{len(ports)} sets of ports for {nodes} nodes")
    every_port = [p for set_ in ports for p in (set_.rpc, set_.p2p, set_.auth)]
    if len(set(every_port)) != len(every_port) or not all(0 < p < 65536 for p in every_port):
        raise NetworkStateError(f"the nodes' ports must be distinct and within 1-65535: {ports}")
    members_dir = state_dir / "members"
    if members_dir.exists():  # a creation that stopped before writing network.json: nothing ever ran with it
        logger.warning("removing the unfinished network in %s", members_dir)
        shutil.rmtree(members_dir)
    private_dir(state_dir)
    private_dir(members_dir)
    members = [_create_member(state_dir, f"member-{i + 1}", p, scrypt_n) for i, p in enumerate(ports)]
    plan = NetworkPlan(
        chain_id=chain_id, period=period, gas_limit=gas_limit, geth_version=GETH_VERSION, members=tuple(members)
    )
    spec = clique.genesis(chain_id=chain_id, signers=plan.signers, period=period, gas_limit=gas_limit)
    (state_dir / GENESIS_FILE).write_text(json.dumps(spec, indent=2) + "\n")
    tmp = state_dir / f"{NETWORK_FILE}.tmp"
    tmp.write_text(json.dumps(plan.to_json(), indent=2) + "\n")
    tmp.replace(state_dir / NETWORK_FILE)
    logger.info("created a %d-node network in %s", nodes, state_dir, extra={"chain_id": chain_id})
    return plan


def _create_member(state_dir: Path, name: str, ports: Ports, scrypt_n: int) -> Member:
    folder = folder_of(state_dir, name)
    private_dir(folder.root)
    key = NodeKey.generate()
    write_private(folder.node_key_file, key.private_key.hex() + "\n")  # geth reads 64 hex digits, no 0x
    password = secrets.token_urlsafe(32)
    write_private(folder.password_file, password + "\n")
    private_dir(folder.keystore_dir)
    signer = write_new_keystore(folder.keystore_file, password, scrypt_n=scrypt_n)
    return Member(name=name, signer=signer, enode=key.enode(HOST, ports.p2p), ports=ports)


def node_config(plan: NetworkPlan, member: Member) -> dict[str, Any]:
    """geth's ``--config`` file of ``member``: loopback only, no discovery, every other member a static, trusted peer.

    ``MaxPeers`` is half the members (at least 1), with every connection its own to dial (``DialRatio`` 1): geth's
    legacy sync starts only with ``min(5, MaxPeers)`` peers (else it waits for its 10 s forced cycle), and a node
    restarted into a stalled Clique network sees just ``floor(N/2)`` live peers, the others of the quorum it completes.
    Members are trusted, so the limit never refuses one of them; at start a node dials up to twice ``MaxPeers``
    peers at once, which covers every other member.
    """
    others = [m.enode for m in plan.members if m.name != member.name]
    return {
        "Node": {
            "P2P": {
                "ListenAddr": f"{HOST}:{member.ports.p2p}",
                "NoDiscovery": True,
                "BootstrapNodes": [],
                "BootstrapNodesV5": [],
                "StaticNodes": others,
                "TrustedNodes": others,
                "MaxPeers": max(1, len(plan.members) // 2),
                "DialRatio": 1,
            }
        }
    }
