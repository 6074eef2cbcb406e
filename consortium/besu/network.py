"""The members file an operator writes (TOML) and the network manifest generated from it (``network.json``).

The members file names the network (chain id, block period, images) and each founding member: where its node is
reached, whether it validates, whether it is an initial governor, the accounts it brings (or none: one is made for
it), how many portal workers it runs and which oracle feeds. Ports a member leaves out are chosen so that members on
the same host never collide. The manifest is public (no key in it): every member's enode, validator address,
accounts and relayer, the ports, and the validator set; the allowlist job reads it to know which node is whose.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from web3 import Web3

from consortium.besu.qbft import BesuConfigError, Enode, is_ip
from node_adapter.settings import DEV_CHAIN_IDS

NAME = re.compile(r"^[a-z][a-z0-9-]{0,39}$")
"""Names of networks, members, oracle sources and roles (they become file and service names)."""
MAX_PORTAL_WORKERS = 9
BFT_MIN_VALIDATORS = 4
"""QBFT tolerates f faulty validators out of 3f + 1: below four it tolerates none."""

Port = Annotated[int, Field(ge=1024, le=65535)]
Address = Annotated[str, Field(min_length=42, max_length=42)]


def _slug(name: str) -> str:
    if not NAME.match(name):
        raise ValueError(f"{name!r}: lowercase letters, digits and '-', starting with a letter")
    return name


Slug = Annotated[str, AfterValidator(_slug)]


def _checksummed(value: str, where: str) -> str:
    if not Web3.is_address(value):
        raise ValueError(f"{where}: {value!r} is not an account address (0x and 40 hex digits)")
    return str(Web3.to_checksum_address(value))


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NetworkSpec(_Strict):
    """``[network]`` of the members file: the chain every member's node runs."""

    name: Slug
    """The network's name: deployments are recorded under it (``NODE_ADAPTER_NETWORK``)."""
    chain_id: int = Field(gt=0, lt=2**53)
    block_period_seconds: int = Field(default=2, ge=1, le=60)
    request_timeout_seconds: int = Field(default=4, ge=1, le=600)
    epoch_length: int = Field(default=30_000, ge=100)
    gas_limit: int = Field(default=50_000_000, ge=5_000_000, le=2**53)
    tx_pool_max_future_by_sender: int = Field(default=200, ge=1, le=10_000)
    """Besu's cap on queued future nonces per sender (``tx-pool-max-future-by-sender``)."""
    max_in_flight: int = Field(default=64, ge=1, le=1000)
    """``NODE_ADAPTER_MAX_IN_FLIGHT`` of every worker; must stay below the pool's cap per sender."""
    besu_image: str = "hyperledger/besu:25.10.0"
    postgres_image: str = "postgres:16"
    nginx_image: str = "nginx:1.27"
    app_image: str = "vehicle-evidence-consortium:0.1.0"
    """Built from this repository with ``docker build -f deploy/Dockerfile -t <app_image> .``."""

    @field_validator("chain_id")
    @classmethod
    def _not_dev(cls, chain_id: int) -> int:
        if chain_id in DEV_CHAIN_IDS:
            raise ValueError(f"chain id {chain_id} is a local dev chain's (raw dev keys are accepted there)")
        return chain_id

    @model_validator(mode="after")
    def _in_flight_below_pool_cap(self) -> NetworkSpec:
        if self.max_in_flight >= self.tx_pool_max_future_by_sender:
            raise ValueError(
                f"max_in_flight ({self.max_in_flight}) must stay below tx_pool_max_future_by_sender "
                f"({self.tx_pool_max_future_by_sender}): Besu drops a sender's nonces beyond that cap"
            )
        return self


class OracleSpec(_Strict):
    """A member's oracle worker: the sources it reads and the roles it signs for (``ORACLE_*``)."""

    sources: list[Slug] = Field(min_length=1)
    signers: list[Slug] = Field(min_length=1)
    """Oracle roles (``bank``, ``dmv``, ``telematics``, ``price-1`` ...): one account each, made for the member and
    admitted as the member's accounts."""
    source_urls: dict[str, str] = Field(default_factory=dict)
    bank_names: list[str] = Field(default_factory=list)

    @field_validator("sources", "signers")
    @classmethod
    def _unique(cls, names: list[str]) -> list[str]:
        if len(set(names)) != len(names):
            raise ValueError(f"{names}: listed twice")
        return names


class MemberSpec(_Strict):
    """``[[members]]`` of the members file: one founding member and its node."""

    name: Slug
    host: str = Field(min_length=1, max_length=253)
    """The address other members' nodes reach this node at (an IP, or a DNS name: then DNS support is enabled)."""
    validator: bool = True
    governor: bool = False
    """Its first account is an initial governor (``consortium deploy --governor``)."""
    accounts: list[str] = Field(default_factory=list)
    """Accounts the member brings (it holds their keys); empty: one account is made for it (a keystore)."""
    portal_workers: int = Field(default=2, ge=1, le=MAX_PORTAL_WORKERS)
    portal_url: str = ""
    """Where its members reach its portal; empty: ``http://<host>:<portal port>``."""
    oracle: OracleSpec | None = None
    p2p_port: Port | None = None
    rpc_port: Port | None = None
    metrics_port: Port | None = None
    postgres_port: Port | None = None
    portal_port: Port | None = None
    """The public port (nginx); the workers listen on the ports right after it."""

    @field_validator("host")
    @classmethod
    def _host(cls, host: str) -> str:
        if not is_ip(host) and not re.match(r"^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$", host):
            raise ValueError(f"{host!r} is neither an IP address nor a DNS name")
        return host.lower()

    @field_validator("accounts")
    @classmethod
    def _accounts(cls, accounts: list[str]) -> list[str]:
        checked = [_checksummed(a, "accounts") for a in accounts]
        if len(set(checked)) != len(checked):
            raise ValueError("an account is listed twice")
        return checked


class MembersFile(_Strict):
    """The whole members file."""

    network: NetworkSpec
    members: list[MemberSpec] = Field(min_length=1)
    operators: list[str] = Field(default_factory=list)
    """Accounts every node accepts transactions from whatever the Membership contract says (keep it empty, or to a
    deployer that is not a member)."""

    @field_validator("operators")
    @classmethod
    def _operators(cls, accounts: list[str]) -> list[str]:
        return [_checksummed(a, "operators") for a in accounts]

    @model_validator(mode="after")
    def _consistent(self) -> MembersFile:
        names = [m.name for m in self.members]
        if len(set(names)) != len(names):
            raise ValueError(f"member names must be unique: {sorted(n for n in names if names.count(n) > 1)}")
        if not any(m.validator for m in self.members):
            raise ValueError("no member runs a validator: QBFT needs at least one (four to tolerate a fault)")
        if not any(m.governor for m in self.members):
            raise ValueError("no member is a governor: name at least one (governor = true)")
        seen: dict[str, str] = {}
        for member in self.members:
            for account in member.accounts:
                if account in seen:
                    raise ValueError(f"account {account} is listed by both {seen[account]} and {member.name}")
                seen[account] = member.name
        return self

    @classmethod
    def load(cls, path: Path) -> MembersFile:
        """Read a members file (TOML); every problem is one clear error naming the field."""
        return _load(cls, path, "the members file", tomllib.loads, (tomllib.TOMLDecodeError, "TOML"))


Model = TypeVar("Model", bound=BaseModel)


def _load(
    model: type[Model],
    path: Path,
    what: str,
    parse: Callable[[str], Any],
    language: tuple[type[ValueError], str],
) -> Model:
    error, name = language
    try:
        data = parse(path.read_text())
    except OSError as exc:
        raise BesuConfigError(f"cannot read {what} {path}: {exc.strerror}") from exc
    except error as exc:
        raise BesuConfigError(f"{what} {path} is not {name}: {exc}") from exc
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise BesuConfigError(f"{what} {path}:\n{_explain(exc)}") from None


def _explain(exc: ValidationError) -> str:
    lines = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error["loc"]) or "(file)"
        lines.append(f"  {where}: {error['msg'].removeprefix('Value error, ')}")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------------- ports


class Ports(_Strict):
    p2p: Port
    rpc: Port
    metrics: Port
    postgres: Port
    portal: Port
    """nginx, in front of the workers."""
    workers: list[Port]
    """One per portal worker."""

    def all(self) -> list[tuple[str, int]]:
        named = [("p2p", self.p2p), ("rpc", self.rpc), ("metrics", self.metrics), ("postgres", self.postgres)]
        named.append(("portal", self.portal))
        named += [(f"portal worker {i + 1}", port) for i, port in enumerate(self.workers)]
        return named


DEFAULT_PORTS = {"p2p": 30303, "rpc": 8545, "metrics": 9545, "postgres": 15432, "portal": 8700}


def assign_ports(members: list[MemberSpec]) -> dict[str, Ports]:
    """Ports of each member: those the file names, the defaults shifted by the member's rank on its host otherwise,
    so that members sharing a host (a rehearsal on one machine) never collide. Collisions the file itself causes are
    reported."""
    rank: dict[str, int] = defaultdict(int)
    result: dict[str, Ports] = {}
    for member in members:
        n = rank[member.host]
        rank[member.host] += 1
        portal = member.portal_port or DEFAULT_PORTS["portal"] + 10 * n
        result[member.name] = Ports(
            p2p=member.p2p_port or DEFAULT_PORTS["p2p"] + n,
            rpc=member.rpc_port or DEFAULT_PORTS["rpc"] + n,
            metrics=member.metrics_port or DEFAULT_PORTS["metrics"] + n,
            postgres=member.postgres_port or DEFAULT_PORTS["postgres"] + n,
            portal=portal,
            workers=[portal + 1 + w for w in range(member.portal_workers)],
        )
    return result


def port_collisions(hosts_and_ports: list[tuple[str, str, Ports]]) -> list[str]:
    """Every (host, port) that two services claim: ``(member, host, ports)`` in, problems out."""
    claimed: dict[tuple[str, int], str] = {}
    problems = []
    for member, host, ports in hosts_and_ports:
        for what, port in ports.all():
            key = (host, port)
            if key in claimed:
                problems.append(f"port {port} on {host}: {claimed[key]} and {member} {what}")
            else:
                claimed[key] = f"{member} {what}"
    return problems


# ---------------------------------------------------------------------------------------------------- manifest


class OracleManifest(_Strict):
    sources: list[str]
    signers: dict[str, Address]
    """Role -> the account that signs for it (one of the member's accounts)."""
    source_urls: dict[str, str] = Field(default_factory=dict)
    bank_names: list[str] = Field(default_factory=list)


class MemberManifest(_Strict):
    name: str
    host: str
    enode: str
    node_address: Address
    """The address of the node key: the validator address when it validates."""
    validator: bool
    governor: bool
    accounts: list[Address] = Field(min_length=1)
    """The accounts the member is (to be) admitted with; the first is its own signing account."""
    relayers: list[Address]
    """Accounts of its portal workers: they relay members' signed writes (no role on chain)."""
    ports: Ports
    portal_url: str
    oracle: OracleManifest | None = None

    @property
    def parsed_enode(self) -> Enode:
        return Enode.parse(self.enode)


class NetworkManifest(_Strict):
    """``network.json``: the public description of the whole network."""

    version: Literal[1] = 1
    network: NetworkSpec
    validators: list[Address]
    members: list[MemberManifest]
    operators: list[Address] = Field(default_factory=list)
    dns: bool = False
    """Some host is a DNS name: Besu's DNS support for enode URLs is on."""

    def member(self, name: str) -> MemberManifest:
        for member in self.members:
            if member.name == name:
                return member
        raise BesuConfigError(f"no member named {name!r} in the network (members: {[m.name for m in self.members]})")

    def bootnodes(self) -> list[str]:
        """The validators' enodes: every node starts from them (and may never drop them from its allowlist)."""
        return [m.enode for m in self.members if m.validator]

    def governors(self) -> list[str]:
        return [m.accounts[0] for m in self.members if m.governor]

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.model_dump(mode="json"), indent=2) + "\n")

    @classmethod
    def load(cls, path: Path) -> NetworkManifest:
        return _load(cls, path, "the network manifest", json.loads, (json.JSONDecodeError, "JSON"))
