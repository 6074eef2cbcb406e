"""Is a generated network complete and consistent? Run after generating, after editing any file, and before starting.

Each problem is one line naming the file and what disagrees with what: the genesis validators against the members'
node keys, enode URLs against keys and ports, allowlists against members, chain ids and ports in every environment
file against the genesis and the node configurations, colliding ports, secrets readable by others.
"""

from __future__ import annotations

import json
import stat
import tomllib
from pathlib import Path
from typing import Any

import yaml

from consortium.besu.generate import CONTAINER_MEMBER_DIR, CONTAINER_SECRETS, RPC_APIS
from consortium.besu.network import (
    BFT_MIN_VALIDATORS,
    MemberManifest,
    NetworkManifest,
    port_collisions,
)
from consortium.besu.qbft import BesuConfigError, Enode, NodeKey, canonical_enode, decode_extra_data

REQUIRED_ENV = ("common", "portal")


class _Problems(list[str]):
    def need(self, condition: bool, problem: str) -> bool:
        if not condition:
            self.append(problem)
        return condition


def _read_toml(path: Path, problems: _Problems) -> dict[str, Any] | None:
    try:
        return tomllib.loads(path.read_text())
    except FileNotFoundError:
        problems.append(f"{path}: missing")
    except (OSError, tomllib.TOMLDecodeError) as exc:
        problems.append(f"{path}: unreadable ({exc})")
    return None


def _read_env(path: Path, problems: _Problems) -> dict[str, str] | None:
    try:
        lines = path.read_text().splitlines()
    except FileNotFoundError:
        problems.append(f"{path}: missing")
        return None
    values = {}
    for line in lines:
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def check_network(out_dir: Path) -> list[str]:
    """Every problem found in the generated network at ``out_dir`` (empty: complete and consistent)."""
    problems = _Problems()
    try:
        manifest = NetworkManifest.load(out_dir / "network.json")
    except BesuConfigError as exc:
        return [str(exc)]
    try:
        genesis = json.loads((out_dir / "genesis.json").read_text())
    except (OSError, json.JSONDecodeError) as exc:
        return [f"{out_dir / 'genesis.json'}: unreadable ({exc})"]
    chain_id = genesis.get("config", {}).get("chainId")
    problems.need(
        chain_id == manifest.network.chain_id,
        f"genesis.json: chain id {chain_id} but network.json says {manifest.network.chain_id}",
    )
    problems.need("qbft" in genesis.get("config", {}), "genesis.json: no qbft section in config")
    try:
        validators = decode_extra_data(str(genesis.get("extraData", "")))
    except BesuConfigError as exc:
        problems.append(f"genesis.json: {exc}")
        validators = []
    by_node = {m.node_address: m for m in manifest.members}
    for validator in validators:
        problems.need(
            validator in by_node and by_node[validator].validator,
            f"genesis.json: validator {validator} is no member's validating node",
        )
    declared = {m.node_address for m in manifest.members if m.validator}
    problems.need(
        set(validators) == declared == set(manifest.validators),
        f"genesis.json: validators {sorted(validators)} differ from the validating members' nodes {sorted(declared)}",
    )
    if len(validators) < BFT_MIN_VALIDATORS:
        problems.append(
            f"genesis.json: {len(validators)} validator(s); QBFT needs {BFT_MIN_VALIDATORS} to survive one failure"
        )
    problems += port_collisions([(m.name, m.host, m.ports) for m in manifest.members])
    for member in manifest.members:
        _check_member(out_dir, manifest, genesis, member, problems)
    return list(problems)


def _check_member(
    out_dir: Path, manifest: NetworkManifest, genesis: dict[str, Any], member: MemberManifest, problems: _Problems
) -> None:
    directory = out_dir / "members" / member.name
    if not problems.need(directory.is_dir(), f"{directory}: missing (member {member.name} has no node configuration)"):
        return
    enode = member.parsed_enode
    _check_keys(directory, member, enode, problems)
    config = _read_toml(directory / "besu" / "config.toml", problems)
    permissions = _read_toml(directory / "besu" / "permissions_config.toml", problems)
    where = f"{directory / 'besu' / 'config.toml'}"
    if config is not None:
        problems.need(config.get("p2p-port") == enode.port, f"{where}: p2p-port is not the port of its enode")
        problems.need(config.get("p2p-host") == member.host, f"{where}: p2p-host is not the host of its enode")
        problems.need(
            config.get("rpc-http-port") == member.ports.rpc, f"{where}: rpc-http-port is not {member.ports.rpc}"
        )
        apis = set(config.get("rpc-http-api", []))
        problems.need(set(RPC_APIS) <= apis, f"{where}: rpc-http-api lacks {sorted(set(RPC_APIS) - apis)}")
        for kind in ("nodes", "accounts"):
            problems.need(
                config.get(f"permissions-{kind}-config-file-enabled") is True,
                f"{where}: local {kind} permissioning is not enabled",
            )
        problems.need(config.get("min-gas-price") == 0, f"{where}: min-gas-price must be 0 on a free-gas network")
        problems.need(
            config.get("tx-pool-max-future-by-sender") == manifest.network.tx_pool_max_future_by_sender,
            f"{where}: tx-pool-max-future-by-sender differs from the network's",
        )
        expected_bootnodes = {canonical_enode(e) for e in manifest.bootnodes()} - {canonical_enode(member.enode)}
        bootnodes = {canonical_enode(e) for e in config.get("bootnodes", [])}
        problems.need(bootnodes == expected_bootnodes, f"{where}: bootnodes are not the other validators' enodes")
        if permissions is not None:
            allowed = {canonical_enode(e) for e in permissions.get("nodes-allowlist", [])}
            problems.need(bootnodes <= allowed, f"{where}: a bootnode is missing from the nodes allowlist")
    if permissions is not None:
        ppath = directory / "besu" / "permissions_config.toml"
        accounts = {a.lower() for a in permissions.get("accounts-allowlist", [])}
        nodes = {canonical_enode(e) for e in permissions.get("nodes-allowlist", [])}
        for other in manifest.members:
            missing = [a for a in (*other.accounts, *other.relayers) if a.lower() not in accounts]
            problems.need(not missing, f"{ppath}: accounts of {other.name} missing: {missing}")
            problems.need(canonical_enode(other.enode) in nodes, f"{ppath}: the node of {other.name} is missing")
    _check_genesis_copy(out_dir, directory, genesis, problems)
    _check_environment(directory, manifest, member, config, problems)
    _check_compose(directory, member, problems)


def _check_keys(directory: Path, member: MemberManifest, enode: Enode, problems: _Problems) -> None:
    secrets = directory / "secrets"
    if not problems.need(secrets.is_dir(), f"{secrets}: missing"):
        return
    problems.need(stat.S_IMODE(secrets.stat().st_mode) == 0o700, f"{secrets}: must be readable by its owner only")
    for path in secrets.iterdir():
        problems.need(stat.S_IMODE(path.stat().st_mode) == 0o600, f"{path}: must be readable by its owner only (0600)")
    try:
        key = NodeKey.from_file_text((secrets / "node.key").read_text())
    except FileNotFoundError:
        problems.append(f"{secrets / 'node.key'}: missing")
        return
    except BesuConfigError as exc:
        problems.append(f"{secrets / 'node.key'}: {exc}")
        return
    problems.need(key.public_key_hex == enode.node_id, f"{member.name}: its enode URL does not match its node key")
    problems.need(key.address == member.node_address, f"{member.name}: node_address is not its node key's address")
    for path in secrets.glob("*.keystore.json"):
        try:
            address = "0x" + str(json.loads(path.read_text())["address"]).lower().removeprefix("0x")
        except (OSError, ValueError, KeyError, TypeError):
            problems.append(f"{path}: not a keystore")
            continue
        known = {a.lower() for a in (*member.accounts, *member.relayers)}
        problems.need(address in known, f"{path}: holds {address}, which is none of {member.name}'s accounts")


def _check_genesis_copy(out_dir: Path, directory: Path, genesis: dict[str, Any], problems: _Problems) -> None:
    copy = directory / "besu" / "genesis.json"
    try:
        problems.need(json.loads(copy.read_text()) == genesis, f"{copy}: differs from {out_dir / 'genesis.json'}")
    except FileNotFoundError:
        problems.append(f"{copy}: missing")
    except (OSError, json.JSONDecodeError) as exc:
        problems.append(f"{copy}: unreadable ({exc})")


def _container_path(directory: Path, path: str) -> Path:
    return directory / Path(path).relative_to(CONTAINER_MEMBER_DIR)


def _check_environment(
    directory: Path,
    manifest: NetworkManifest,
    member: MemberManifest,
    config: dict[str, Any] | None,
    problems: _Problems,
) -> None:
    env_dir = directory / "env"
    if not problems.need(env_dir.is_dir(), f"{env_dir}: missing"):
        return
    names = [*REQUIRED_ENV, "oracle"] if member.oracle is not None else list(REQUIRED_ENV)
    merged: dict[str, str] = {}
    for name in names:
        path = env_dir / f"{name}.env"
        values = _read_env(path, problems)
        if values is None:
            continue
        problems.need(stat.S_IMODE(path.stat().st_mode) == 0o600, f"{path}: must be readable by its owner only")
        merged.update(values)
        for key, value in values.items():
            if value.startswith(CONTAINER_SECRETS + "/") and not _container_path(directory, value).exists():
                problems.append(f"{path}: {key} names {value}, which the member's directory lacks")
    if "NODE_ADAPTER_CHAIN_ID" not in merged:
        problems.append(f"{env_dir}: NODE_ADAPTER_CHAIN_ID is not set")
        return
    where = f"{env_dir / 'common.env'}"
    problems.need(
        merged["NODE_ADAPTER_CHAIN_ID"] == str(manifest.network.chain_id),
        f"{where}: NODE_ADAPTER_CHAIN_ID {merged['NODE_ADAPTER_CHAIN_ID']} is not the genesis chain id "
        f"{manifest.network.chain_id}",
    )
    problems.need(merged.get("NODE_ADAPTER_CONFIRMATIONS") == "0", f"{where}: QBFT is final: CONFIRMATIONS must be 0")
    problems.need(merged.get("NODE_ADAPTER_FREE_GAS") == "true", f"{where}: the network is free-gas: FREE_GAS=true")
    problems.need(merged.get("NODE_ADAPTER_NETWORK") == manifest.network.name, f"{where}: NETWORK is not the network")
    in_flight = int(merged.get("NODE_ADAPTER_MAX_IN_FLIGHT", "64"))
    cap = int(config.get("tx-pool-max-future-by-sender", 200)) if config else 200
    problems.need(in_flight < cap, f"{where}: MAX_IN_FLIGHT {in_flight} is not below the pool's cap per sender {cap}")
    urls = json.loads(merged.get("NODE_ADAPTER_RPC_URLS", "[]"))
    rpc_port = config.get("rpc-http-port") if config else member.ports.rpc
    problems.need(
        urls == [f"http://127.0.0.1:{rpc_port}"], f"{where}: RPC_URLS {urls} is not the member's node (port {rpc_port})"
    )
    problems.need(
        f"@127.0.0.1:{member.ports.postgres}/" in merged.get("NODE_ADAPTER_DATABASE_URL", ""),
        f"{where}: DATABASE_URL is not the member's PostgreSQL (port {member.ports.postgres})",
    )


def _check_compose(directory: Path, member: MemberManifest, problems: _Problems) -> None:
    path = directory / "compose.yaml"
    try:
        compose = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        problems.append(f"{path}: missing")
        return
    except (OSError, yaml.YAMLError) as exc:
        problems.append(f"{path}: unreadable ({exc})")
        return
    services = compose.get("services", {}) if isinstance(compose, dict) else {}
    expected = {
        "besu",
        "postgres",
        "nginx",
        "allowlists",
        *(f"portal-{i + 1}" for i in range(len(member.ports.workers))),
    }
    if member.oracle is not None:
        expected.add("oracle")
    problems.need(expected <= set(services), f"{path}: services {sorted(expected - set(services))} missing")
    for name, service in services.items():
        for env_file in service.get("env_file", []):
            problems.need((directory / env_file).exists(), f"{path}: {name} reads {env_file}, which is missing")
        for volume in service.get("volumes", []):
            source = str(volume).split(":", 1)[0]
            if source.startswith("./") and not source.startswith("./data"):
                problems.need((directory / source).exists(), f"{path}: {name} mounts {source}, which is missing")
    ports = {str(p) for p in member.ports.workers}
    commands = {" ".join(map(str, s.get("command", []))) for n, s in services.items() if n.startswith("portal-")}
    served = {c.split("--port ")[1].split()[0] for c in commands if "--port " in c}
    problems.need(served == ports, f"{path}: portal workers serve ports {sorted(served)}, not {sorted(ports)}")
    nginx = directory / "nginx.conf"
    if problems.need(nginx.exists(), f"{nginx}: missing"):
        text = nginx.read_text()
        problems.need(
            all(f"127.0.0.1:{p};" in text for p in member.ports.workers) and f"listen {member.ports.portal};" in text,
            f"{nginx}: does not front the portal workers on port {member.ports.portal}",
        )
    copy = directory / "network.json"
    problems.need(copy.exists(), f"{copy}: missing (the allowlist job reads it)")
