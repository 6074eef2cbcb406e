"""Generate every file a member needs to run its part of the network, from a members file.

Layout of the output directory (never inside a repository: it holds private keys)::

    network.json                 the public manifest (consortium.besu.network)
    genesis.json                 the QBFT genesis
    secrets/consortium.key       the consortium's subject key (every member gets a copy)
    members/<name>/
        compose.yaml  .env       Besu, PostgreSQL, portal workers behind nginx, the oracle, the allowlist job
        network.json             a copy of the manifest (the allowlist job reads it)
        besu/config.toml  besu/genesis.json  besu/permissions_config.toml
        nginx.conf
        env/*.env                the environment of each service (0600: the database URL holds its password)
        secrets/                 node.key, keystores and their password, postgres.password, consortium.key (0700/0600)
        state/                   NODE_ADAPTER_STATE_DIR: the deployment manifest goes here

Inside the containers the member's directory is mounted at ``/member``; Besu's configuration at ``/etc/besu``.
Generating is not idempotent by design: it makes new keys, so it refuses a directory that already holds a network
(``add_member`` extends one).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomli_w
import yaml
from eth_account import Account

from consortium.besu.network import (
    DEFAULT_PORTS,
    MemberManifest,
    MembersFile,
    MemberSpec,
    NetworkManifest,
    NetworkSpec,
    OracleManifest,
    Ports,
    assign_ports,
    port_collisions,
)
from consortium.besu.qbft import BesuConfigError, NodeKey, is_ip, qbft_genesis

CONTAINER_MEMBER_DIR = "/member"
CONTAINER_BESU_DIR = "/etc/besu"
CONTAINER_BESU_DATA = "/var/lib/besu"
CONTAINER_SECRETS = f"{CONTAINER_MEMBER_DIR}/secrets"
RPC_APIS = ["ETH", "NET", "WEB3", "QBFT", "PERM", "ADMIN", "TXPOOL"]
DB_USER = DB_NAME = "consortium"
DEFAULT_SCRYPT_N = 2**18
"""eth-account's default scrypt work factor for keystores (about a second to decrypt)."""


def _inside_repository(path: Path) -> Path | None:
    for parent in [path, *path.parents]:
        if (parent / ".git").exists():
            return parent
    return None


def _prepare_output(out_dir: Path) -> Path:
    out_dir = out_dir.resolve()
    repo = _inside_repository(out_dir)
    if repo is not None:
        raise BesuConfigError(
            f"{out_dir} is inside the repository {repo}: the generated files hold private keys, which never go into "
            "a repository; choose a directory outside it"
        )
    if (out_dir / "network.json").exists():
        raise BesuConfigError(
            f"{out_dir} already holds a network (network.json): generating again would make new keys and a new "
            "chain; use a new directory, or `consortium besu add-member` to extend this one"
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    return out_dir


def private_dir(path: Path) -> Path:
    """Create ``path`` (and its parents) as a folder its owner alone may enter."""
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o700)
    return path


def write_private(path: Path, text: str) -> None:
    """Create ``path`` readable by its owner only, before anything is written to it."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    path.chmod(0o600)


def write_new_keystore(path: Path, password: str, *, scrypt_n: int = DEFAULT_SCRYPT_N) -> str:
    """Make a new account, write it to ``path`` as an encrypted keystore (0600); returns its address."""
    account = Account.create()
    encrypted = Account.encrypt(account.key, password, kdf="scrypt", iterations=scrypt_n)
    write_private(path, json.dumps(encrypted))
    return str(account.address)


@dataclass
class _Keystore:
    address: str
    file_name: str


class _MemberSecrets:
    """The keys of one member, written into its ``secrets/`` directory as they are made."""

    def __init__(self, directory: Path, scrypt_n: int) -> None:
        self.directory = private_dir(directory)
        self.scrypt_n = scrypt_n
        self.password = secrets.token_urlsafe(32)
        write_private(directory / "keystore.password", self.password + "\n")
        write_private(directory / "postgres.password", secrets.token_urlsafe(24) + "\n")

    def node_key(self) -> NodeKey:
        key = NodeKey.generate()
        write_private(self.directory / "node.key", key.file_text())
        return key

    def keystore(self, name: str) -> _Keystore:
        file_name = f"{name}.keystore.json"
        address = write_new_keystore(self.directory / file_name, self.password, scrypt_n=self.scrypt_n)
        return _Keystore(address, file_name)


def _member_manifest(spec: MemberSpec, ports: Ports, member_dir: Path, scrypt_n: int) -> MemberManifest:
    keys = _MemberSecrets(member_dir / "secrets", scrypt_n)
    node_key = keys.node_key()
    accounts = list(spec.accounts) or [keys.keystore("member").address]
    oracle = None
    if spec.oracle is not None:
        signers = {role: keys.keystore(f"oracle-{role}").address for role in spec.oracle.signers}
        accounts += [a for a in signers.values() if a not in accounts]
        oracle = OracleManifest(
            sources=spec.oracle.sources,
            signers=signers,
            source_urls=spec.oracle.source_urls,
            bank_names=spec.oracle.bank_names,
        )
    return MemberManifest(
        name=spec.name,
        host=spec.host,
        enode=node_key.enode(spec.host, ports.p2p),
        node_address=node_key.address,
        validator=spec.validator,
        governor=spec.governor,
        accounts=accounts,
        relayers=[keys.keystore("relayer").address],
        ports=ports,
        portal_url=spec.portal_url or f"http://{spec.host}:{ports.portal}",
        oracle=oracle,
    )


def generate_network(members_file: MembersFile, out_dir: Path, *, scrypt_n: int = DEFAULT_SCRYPT_N) -> NetworkManifest:
    """Make the keys and write every file of a new network into ``out_dir``; returns its manifest."""
    ports = assign_ports(members_file.members)
    collisions = port_collisions([(m.name, m.host, ports[m.name]) for m in members_file.members])
    if collisions:
        raise BesuConfigError("ports collide (name other ports in the members file):\n  " + "\n  ".join(collisions))
    out_dir = _prepare_output(out_dir)
    members_dir = out_dir / "members"
    members = [
        _member_manifest(spec, ports[spec.name], members_dir / spec.name, scrypt_n) for spec in members_file.members
    ]
    manifest = NetworkManifest(
        network=members_file.network,
        validators=sorted((m.node_address for m in members if m.validator), key=str.lower),
        members=members,
        operators=members_file.operators,
        dns=any(not is_ip(m.host) for m in members),
    )
    spec = manifest.network
    genesis = qbft_genesis(
        chain_id=spec.chain_id,
        validators=manifest.validators,
        block_period_seconds=spec.block_period_seconds,
        request_timeout_seconds=spec.request_timeout_seconds,
        epoch_length=spec.epoch_length,
        gas_limit=spec.gas_limit,
    )
    (out_dir / "genesis.json").write_text(json.dumps(genesis, indent=2) + "\n")
    consortium_key = "0x" + secrets.token_bytes(32).hex() + "\n"
    write_private(private_dir(out_dir / "secrets") / "consortium.key", consortium_key)
    manifest.save(out_dir / "network.json")
    for member in members:
        write_member_files(manifest, member, out_dir)
    return manifest


def add_member(out_dir: Path, spec: MemberSpec, *, scrypt_n: int = DEFAULT_SCRYPT_N) -> NetworkManifest:
    """Add a member (and its node, not a validator) to a generated network; returns the updated manifest.

    Its node joins the nodes allowlists as soon as the updated manifest reaches the other members' allowlist jobs;
    its accounts join the accounts allowlists once the governors have admitted it on chain.
    """
    out_dir = out_dir.resolve()
    manifest = NetworkManifest.load(out_dir / "network.json")
    if any(m.name == spec.name for m in manifest.members):
        raise BesuConfigError(f"the network already has a member named {spec.name!r}")
    if spec.validator:
        raise BesuConfigError(
            "a member added to a running network joins as a non-validator (validator = false); the validators "
            "then vote its node in with qbft_proposeValidatorVote (docs/operator.md)"
        )
    taken = {a for m in manifest.members for a in (*m.accounts, *m.relayers)}
    if taken & set(spec.accounts):
        raise BesuConfigError(f"accounts {sorted(taken & set(spec.accounts))} already belong to another member")
    on_host = [m for m in manifest.members if m.host == spec.host]
    shifted = spec.model_copy(update={k: v for k, v in _free_ports(spec, len(on_host)).items() if v is not None})
    (ports,) = assign_ports([shifted]).values()
    collisions = port_collisions(
        [*((m.name, m.host, m.ports) for m in manifest.members), (spec.name, spec.host, ports)]
    )
    if collisions:
        raise BesuConfigError("ports collide (set the new member's ports explicitly):\n  " + "\n  ".join(collisions))
    if (out_dir / "members" / spec.name).exists():
        raise BesuConfigError(f"{out_dir / 'members' / spec.name} already exists")
    member = _member_manifest(shifted, ports, out_dir / "members" / spec.name, scrypt_n)
    manifest = manifest.model_copy(
        update={"members": [*manifest.members, member], "dns": manifest.dns or not is_ip(member.host)}
    )
    manifest.save(out_dir / "network.json")
    write_member_files(manifest, member, out_dir)
    permissions = tomli_w.dumps(initial_permissions(manifest))
    for other in manifest.members:
        directory = out_dir / "members" / other.name
        if directory.exists():  # the copy their allowlist jobs read, and allowlists for nodes not started yet
            shutil.copyfile(out_dir / "network.json", directory / "network.json")
            (directory / "besu" / "permissions_config.toml").write_text(permissions)
    return manifest


def _free_ports(spec: MemberSpec, rank: int) -> dict[str, int | None]:
    """The ports a new member gets on a host that already has ``rank`` members (unless it names its own)."""
    return {
        "p2p_port": spec.p2p_port or DEFAULT_PORTS["p2p"] + rank,
        "rpc_port": spec.rpc_port or DEFAULT_PORTS["rpc"] + rank,
        "metrics_port": spec.metrics_port or DEFAULT_PORTS["metrics"] + rank,
        "postgres_port": spec.postgres_port or DEFAULT_PORTS["postgres"] + rank,
        "portal_port": spec.portal_port or DEFAULT_PORTS["portal"] + 10 * rank,
    }


# ---------------------------------------------------------------------------------------------------- per member


def write_member_files(manifest: NetworkManifest, member: MemberManifest, out_dir: Path) -> None:
    """Write a member's configuration next to its secrets (which ``_member_manifest`` wrote)."""
    directory = out_dir / "members" / member.name
    secrets_dir = directory / "secrets"
    shutil.copyfile(out_dir / "secrets" / "consortium.key", secrets_dir / "consortium.key")
    (secrets_dir / "consortium.key").chmod(0o600)
    besu_dir = directory / "besu"
    besu_dir.mkdir(parents=True, exist_ok=True)
    (directory / "state").mkdir(exist_ok=True)
    shutil.copyfile(out_dir / "genesis.json", besu_dir / "genesis.json")
    shutil.copyfile(out_dir / "network.json", directory / "network.json")
    (besu_dir / "config.toml").write_text(tomli_w.dumps(besu_config(manifest, member)))
    (besu_dir / "permissions_config.toml").write_text(tomli_w.dumps(initial_permissions(manifest)))
    (directory / "nginx.conf").write_text(nginx_config(member))
    env_dir = private_dir(directory / "env")
    password = (secrets_dir / "postgres.password").read_text().strip()
    own_keystore = (secrets_dir / "member.keystore.json").exists()
    for name, variables in service_environments(manifest, member, password, own_keystore=own_keystore).items():
        text = "".join(f"{key}={value}\n" for key, value in variables.items())
        write_private(
            env_dir / f"{name}.env", text or "# NODE_ADAPTER_KEYSTORE_PATH=<a keystore of your own account>\n"
        )
    (directory / ".env").write_text(
        f"# docker compose variables; run the containers as the owner of secrets/\nMEMBER_UID={os.getuid()}\n"
        f"MEMBER_GID={os.getgid()}\n"
    )
    (directory / "compose.yaml").write_text(
        f"# {member.name}: its Besu node, PostgreSQL, portal and oracle workers (generated; see docs/operator.md)\n"
        + yaml.dump(compose_file(manifest, member), Dumper=_PlainDumper, sort_keys=False, width=120)
    )


class _PlainDumper(yaml.SafeDumper):
    """YAML without anchors and aliases: each service reads on its own."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def besu_config(manifest: NetworkManifest, member: MemberManifest) -> dict[str, Any]:
    """The member's Besu configuration file (``--config-file``): QBFT free-gas node with local permissioning."""
    permissions = f"{CONTAINER_BESU_DIR}/permissions_config.toml"
    config: dict[str, Any] = {
        "data-path": CONTAINER_BESU_DATA,
        "genesis-file": f"{CONTAINER_BESU_DIR}/genesis.json",
        "node-private-key-file": f"{CONTAINER_SECRETS}/node.key",
        "identity": member.name,
        "p2p-enabled": True,
        "p2p-host": member.host,
        "p2p-interface": "0.0.0.0",  # noqa: S104 (peers connect from other machines)
        "p2p-port": member.ports.p2p,
        "discovery-enabled": True,
        "bootnodes": [e for e in manifest.bootnodes() if e != member.enode],
        "rpc-http-enabled": True,
        "rpc-http-host": "127.0.0.1",
        "rpc-http-port": member.ports.rpc,
        "rpc-http-api": RPC_APIS,
        "host-allowlist": ["localhost", "127.0.0.1"],
        "revert-reason-enabled": True,
        "min-gas-price": 0,
        "tx-pool": "layered",
        "tx-pool-min-gas-price": 0,
        "tx-pool-max-future-by-sender": manifest.network.tx_pool_max_future_by_sender,
        "permissions-nodes-config-file-enabled": True,
        "permissions-nodes-config-file": permissions,
        "permissions-accounts-config-file-enabled": True,
        "permissions-accounts-config-file": permissions,
        "metrics-enabled": True,
        "metrics-host": "127.0.0.1",
        "metrics-port": member.ports.metrics,
        "sync-mode": "FULL",
    }
    if manifest.dns:
        config["Xdns-enabled"] = True
        config["Xdns-update-enabled"] = True
    return config


def initial_permissions(manifest: NetworkManifest) -> dict[str, list[str]]:
    """The allowlists a node starts with: every member's accounts and relayers, the operators, every node. Once the
    contracts are deployed, the allowlist job keeps them in step with the Membership contract."""
    accounts = [*manifest.operators]
    for member in manifest.members:
        accounts += [*member.accounts, *member.relayers]
    unique = list(dict.fromkeys(a.lower() for a in accounts))
    return {"accounts-allowlist": unique, "nodes-allowlist": [m.enode for m in manifest.members]}


def nginx_config(member: MemberManifest) -> str:
    servers = "".join(f"    server 127.0.0.1:{port};\n" for port in member.ports.workers)
    return (
        "# the portal workers of this member behind one port (add TLS here or in front of it)\n"
        "events {}\n"
        "http {\n"
        "  upstream portal {\n" + servers + "  }\n"
        "  server {\n"
        f"    listen {member.ports.portal};\n"
        "    client_max_body_size 12m;\n"
        "    location / {\n"
        "      proxy_pass http://portal;\n"
        "      proxy_set_header Host $host;\n"
        "      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n"
        "      proxy_set_header X-Forwarded-Proto $scheme;\n"
        "    }\n"
        "  }\n"
        "}\n"
    )


def database_url(member: MemberManifest, password: str) -> str:
    return f"postgresql+psycopg://{DB_USER}:{password}@127.0.0.1:{member.ports.postgres}/{DB_NAME}"


def service_environments(
    manifest: NetworkManifest, member: MemberManifest, postgres_password: str, *, own_keystore: bool
) -> dict[str, dict[str, str]]:
    """Environment files by name: ``common`` for every service, then one per kind of service. ``own_keystore``:
    the generator made the member's account (else the member points ``cli.env`` at a keystore of its own)."""
    out = Path(CONTAINER_SECRETS)
    spec: NetworkSpec = manifest.network
    common = {
        "NODE_ADAPTER_RPC_URLS": json.dumps([f"http://127.0.0.1:{member.ports.rpc}"]),
        "NODE_ADAPTER_CHAIN_ID": str(spec.chain_id),
        "NODE_ADAPTER_NETWORK": spec.name,
        "NODE_ADAPTER_CONFIRMATIONS": "0",
        "NODE_ADAPTER_FREE_GAS": "true",
        "NODE_ADAPTER_MAX_IN_FLIGHT": str(spec.max_in_flight),
        "NODE_ADAPTER_DATABASE_URL": database_url(member, postgres_password),
        "NODE_ADAPTER_STATE_DIR": f"{CONTAINER_MEMBER_DIR}/state",
        "NODE_ADAPTER_CONSORTIUM_KEY_FILE": str(out / "consortium.key"),
        "NODE_ADAPTER_KEYSTORE_PASSWORD_FILE": str(out / "keystore.password"),
    }
    environments = {
        "common": common,
        "portal": {
            "NODE_ADAPTER_KEYSTORE_PATH": str(out / "relayer.keystore.json"),
            "PORTAL_HOST": "127.0.0.1",
            "PORTAL_PUBLIC_URL": member.portal_url,
            "PORTAL_DEV_SIGNING": "false",
        },
        "cli": {"NODE_ADAPTER_KEYSTORE_PATH": str(out / "member.keystore.json")} if own_keystore else {},
    }
    if member.oracle is not None:
        oracle = member.oracle
        environments["oracle"] = {
            "ORACLE_SIMULATE": "false",
            "ORACLE_SOURCES": json.dumps(oracle.sources),
            "ORACLE_SIGNERS": json.dumps({role: str(out / f"oracle-{role}.keystore.json") for role in oracle.signers}),
            "ORACLE_KEYSTORE_PASSWORD_FILE": str(out / "keystore.password"),
            "ORACLE_SOURCE_URLS": json.dumps(oracle.source_urls),
            "ORACLE_BANK_NAMES": json.dumps(oracle.bank_names),
        }
    return environments


def compose_file(manifest: NetworkManifest, member: MemberManifest) -> dict[str, Any]:
    """docker compose services of a member, all on the host's network (the node's p2p port must be reachable from
    the other members; everything else listens on 127.0.0.1)."""
    app_volumes = [f".:{CONTAINER_MEMBER_DIR}:ro", f"./state:{CONTAINER_MEMBER_DIR}/state"]
    user = "${MEMBER_UID}:${MEMBER_GID}"
    db_ready = {"postgres": {"condition": "service_healthy"}, "besu": {"condition": "service_started"}}

    def app(command: list[str], env: list[str], **extra: Any) -> dict[str, Any]:
        return {
            "image": manifest.network.app_image,
            "network_mode": "host",
            "user": user,
            "command": command,
            "env_file": [f"env/{name}.env" for name in env],
            "volumes": app_volumes,
            "depends_on": db_ready,
            "restart": "unless-stopped",
            **extra,
        }

    services: dict[str, Any] = {
        "besu": {
            "image": manifest.network.besu_image,
            "network_mode": "host",
            "user": user,
            "command": [f"--config-file={CONTAINER_BESU_DIR}/config.toml"],
            "volumes": [
                f"./besu:{CONTAINER_BESU_DIR}",  # writable: Besu saves allowlist changes to permissions_config.toml
                f"./secrets/node.key:{CONTAINER_SECRETS}/node.key:ro",
                f"./data/besu:{CONTAINER_BESU_DATA}",
            ],
            "restart": "unless-stopped",
        },
        "postgres": {
            "image": manifest.network.postgres_image,
            "network_mode": "host",
            "command": ["postgres", "-c", "listen_addresses=127.0.0.1", "-c", f"port={member.ports.postgres}"],
            "environment": {
                "POSTGRES_USER": DB_USER,
                "POSTGRES_DB": DB_NAME,
                "POSTGRES_PASSWORD_FILE": "/run/consortium/postgres.password",
            },
            "volumes": [
                "./data/postgres:/var/lib/postgresql/data",
                "./secrets/postgres.password:/run/consortium/postgres.password:ro",
            ],
            "healthcheck": {
                "test": ["CMD", "pg_isready", "-h", "127.0.0.1", "-p", str(member.ports.postgres), "-U", DB_USER],
                "interval": "5s",
                "retries": 12,
            },
            "restart": "unless-stopped",
        },
    }
    for index, port in enumerate(member.ports.workers):
        command = ["consortium", "portal", "serve", "--port", str(port)]
        if index > 0:  # one worker follows the chain and sends the outbox; the others only serve
            command.append("--no-background")
        services[f"portal-{index + 1}"] = app(command, ["common", "portal"])
    services["nginx"] = {
        "image": manifest.network.nginx_image,
        "network_mode": "host",
        "volumes": ["./nginx.conf:/etc/nginx/nginx.conf:ro"],
        "depends_on": [f"portal-{i + 1}" for i in range(len(member.ports.workers))],
        "restart": "unless-stopped",
    }
    if member.oracle is not None:
        services["oracle"] = app(["consortium", "oracle", "run", "--no-setup-dev"], ["common", "oracle"])
    services["allowlists"] = app(
        ["consortium", "besu", "sync-allowlists", "--network", f"{CONTAINER_MEMBER_DIR}/network.json", "--follow"],
        ["common"],
        depends_on={"besu": {"condition": "service_started"}},
    )
    services["cli"] = app(["consortium", "--help"], ["common", "cli"], profiles=["tools"], restart="no")
    return {"name": f"consortium-{member.name}", "services": services}
