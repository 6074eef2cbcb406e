"""Generating a Besu QBFT network for the members: the files are complete and consistent, read back independently
(RLP, TOML, YAML, keys), and the checker catches each kind of inconsistency an operator's edit could introduce."""

from __future__ import annotations

import json
import os
import stat
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import rlp
import yaml
from eth_account import Account
from typer.testing import CliRunner
from web3 import Web3

from consortium.besu.check import check_network
from consortium.besu.cli import app as besu_app
from consortium.besu.generate import add_member, generate_network
from consortium.besu.network import MembersFile, MemberSpec, NetworkManifest
from consortium.besu.qbft import BesuConfigError, Enode, NodeKey, decode_extra_data, encode_extra_data
from node_adapter.toolchain import project_root

SCRYPT_N = 1024
"""Keystores cheap to make in tests; the command line defaults to eth-account's 2**18."""
BROUGHT = Account.create().address
MEMBERS: dict[str, Any] = {
    "network": {"name": "vec-test", "chain_id": 20260, "max_in_flight": 50, "tx_pool_max_future_by_sender": 150},
    "members": [
        {"name": "bank-a", "host": "127.0.0.1", "governor": True,
         "oracle": {"sources": ["loans"], "signers": ["bank"], "bank_names": ["Bank A"]}},
        {"name": "dealer-b", "host": "127.0.0.1", "governor": True, "portal_workers": 3},
        {"name": "insurer-c", "host": "127.0.0.1", "accounts": [BROUGHT]},
        {"name": "dmv", "host": "127.0.0.1", "oracle": {"sources": ["dmv"], "signers": ["dmv"]}},
        {"name": "shop-e", "host": "10.0.0.5", "validator": False},
    ],
}  # fmt: skip


def _generate(tmp_path: Path, members: dict[str, Any] | None = None) -> tuple[Path, NetworkManifest]:
    out = tmp_path / "net"
    return out, generate_network(MembersFile.model_validate(members or MEMBERS), out, scrypt_n=SCRYPT_N)


def _env(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if line and not line.startswith("#"))


@pytest.fixture(scope="module")
def network(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, NetworkManifest]:
    return _generate(tmp_path_factory.mktemp("besu"))


# ---------------------------------------------------------------------------------------------- extraData


def test_extra_data_matches_besus_documented_example() -> None:
    validators = [
        "0x4592c8e45706cc08b8f44b11e43cba0cfc5892cb",
        "0x06e23768a0f59cf365e18c2e0c89e151bcdedc70",
        "0xc5327f96ee02d7bcbc1bf1236b8c15148971e1de",
        "0xab5e7f4061c605820d3744227eed91ff8e2c8908",
    ]
    documented = (
        "0xf87aa00000000000000000000000000000000000000000000000000000000000000000f854944592c8e45706cc08b8f44b11e43cb"
        "a0cfc5892cb9406e23768a0f59cf365e18c2e0c89e151bcdedc7094c5327f96ee02d7bcbc1bf1236b8c15148971e1de94ab5e7f40"
        "61c605820d3744227eed91ff8e2c8908c080c0"
    )
    assert encode_extra_data(validators) == documented
    assert [v.lower() for v in decode_extra_data(documented)] == validators
    assert encode_extra_data([]) == "0xe5a00000000000000000000000000000000000000000000000000000000000000000c0c080c0"


@pytest.mark.parametrize(
    ("extra", "problem"),
    [
        ("0xzz", "not RLP"),
        ("0x" + rlp.encode([bytes(32), [], []]).hex(), "5-item"),
        ("0x" + rlp.encode([bytes(31), [], [], b"", []]).hex(), "32 bytes of vanity"),
        ("0x" + rlp.encode([bytes(32), [bytes(19)], [], b"", []]).hex(), "20-byte addresses"),
        ("0x" + rlp.encode([bytes(32), [], [], b"\x01", []]).hex(), "round 0"),
    ],
)
def test_malformed_extra_data_is_a_clear_error(extra: str, problem: str) -> None:
    with pytest.raises(BesuConfigError, match=problem):
        decode_extra_data(extra)


def test_node_key_file_and_enode_round_trip() -> None:
    key = NodeKey.generate()
    assert NodeKey.from_file_text(key.file_text()) == key
    enode = Enode.parse(key.enode("10.1.2.3", 30310) + "?discport=30310")
    assert (enode.host, enode.port, enode.address) == ("10.1.2.3", 30310, key.address)
    for bad in ("0x1234", "0x" + "00" * 32, "nothex"):
        with pytest.raises(BesuConfigError, match="private key"):
            NodeKey.from_file_text(bad)
    with pytest.raises(BesuConfigError, match="not an enode URL"):
        Enode.parse("enode://abc@1.2.3.4:30303")


# ---------------------------------------------------------------------------------------------- generated files


def test_every_validator_in_the_genesis_has_a_member_node_whose_key_gives_it(
    network: tuple[Path, NetworkManifest],
) -> None:
    out, manifest = network
    genesis = json.loads((out / "genesis.json").read_text())
    decoded = rlp.decode(bytes.fromhex(genesis["extraData"][2:]))
    validators = [Web3.to_checksum_address(v) for v in decoded[1]]
    assert validators == sorted(validators, key=str.lower)
    assert len(validators) == 4  # shop-e does not validate
    assert genesis["config"]["qbft"] == {"blockperiodseconds": 2, "epochlength": 30000, "requesttimeoutseconds": 4}
    assert genesis["config"]["zeroBaseFee"] is True
    assert genesis["mixHash"].startswith("0x63746963616c")
    by_address = {}
    for member_dir in (out / "members").iterdir():
        key = NodeKey.from_file_text((member_dir / "secrets" / "node.key").read_text())
        by_address[key.address] = member_dir
        config = tomllib.loads((member_dir / "besu" / "config.toml").read_text())
        enode = Enode.parse(manifest.member(member_dir.name).enode)
        assert (enode.node_id, enode.host, enode.port) == (key.public_key_hex, config["p2p-host"], config["p2p-port"])
        assert json.loads((member_dir / "besu" / "genesis.json").read_text()) == genesis
    for validator in validators:
        assert validator in by_address, f"validator {validator} has no node configuration"


def test_node_configuration_enables_local_permissioning_and_free_gas(network: tuple[Path, NetworkManifest]) -> None:
    out, manifest = network
    validator_enodes = {m.enode for m in manifest.members if m.validator}
    for member in manifest.members:
        config = tomllib.loads((out / "members" / member.name / "besu" / "config.toml").read_text())
        assert {"PERM", "QBFT", "ETH", "NET", "WEB3"} <= set(config["rpc-http-api"])
        assert config["rpc-http-host"] == "127.0.0.1"
        assert config["permissions-accounts-config-file-enabled"] is True
        assert config["permissions-nodes-config-file-enabled"] is True
        assert config["permissions-accounts-config-file"] == config["permissions-nodes-config-file"]
        assert config["min-gas-price"] == 0
        assert config["tx-pool-min-gas-price"] == 0
        assert config["tx-pool-max-future-by-sender"] == 150
        assert set(config["bootnodes"]) == validator_enodes - {member.enode}


def test_allowlists_hold_every_member_account_and_node(network: tuple[Path, NetworkManifest]) -> None:
    out, manifest = network
    expected_accounts = {a.lower() for m in manifest.members for a in (*m.accounts, *m.relayers)}
    expected_nodes = {m.enode for m in manifest.members}
    assert BROUGHT in manifest.member("insurer-c").accounts
    bank = manifest.member("bank-a")
    assert bank.oracle is not None
    assert bank.oracle.signers["bank"] in bank.accounts
    for member in manifest.members:
        permissions = tomllib.loads((out / "members" / member.name / "besu" / "permissions_config.toml").read_text())
        assert set(permissions["accounts-allowlist"]) == expected_accounts
        assert set(permissions["nodes-allowlist"]) == expected_nodes
        config = tomllib.loads((out / "members" / member.name / "besu" / "config.toml").read_text())
        assert set(config["bootnodes"]) <= set(permissions["nodes-allowlist"])


def test_environment_files_match_the_genesis_and_the_node(network: tuple[Path, NetworkManifest]) -> None:
    out, manifest = network
    chain_id = json.loads((out / "genesis.json").read_text())["config"]["chainId"]
    for member in manifest.members:
        directory = out / "members" / member.name
        config = tomllib.loads((directory / "besu" / "config.toml").read_text())
        common = _env(directory / "env" / "common.env")
        assert int(common["NODE_ADAPTER_CHAIN_ID"]) == chain_id == 20260
        assert common["NODE_ADAPTER_CONFIRMATIONS"] == "0"
        assert common["NODE_ADAPTER_FREE_GAS"] == "true"
        assert int(common["NODE_ADAPTER_MAX_IN_FLIGHT"]) < config["tx-pool-max-future-by-sender"]
        assert json.loads(common["NODE_ADAPTER_RPC_URLS"]) == [f"http://127.0.0.1:{config['rpc-http-port']}"]
        assert f"@127.0.0.1:{member.ports.postgres}/" in common["NODE_ADAPTER_DATABASE_URL"]
        password = (directory / "secrets" / "postgres.password").read_text().strip()
        assert f":{password}@" in common["NODE_ADAPTER_DATABASE_URL"]
        relayer = json.loads((directory / "secrets" / "relayer.keystore.json").read_text())
        keystore_password = (directory / "secrets" / "keystore.password").read_text().strip()
        assert Account.from_key(Account.decrypt(relayer, keystore_password)).address == member.relayers[0]
        portal = _env(directory / "env" / "portal.env")
        assert portal["NODE_ADAPTER_KEYSTORE_PATH"] == "/member/secrets/relayer.keystore.json"
        assert portal["PORTAL_DEV_SIGNING"] == "false"
    oracle = _env(out / "members" / "bank-a" / "env" / "oracle.env")
    assert json.loads(oracle["ORACLE_SIGNERS"]) == {"bank": "/member/secrets/oracle-bank.keystore.json"}
    assert json.loads(oracle["ORACLE_SOURCES"]) == ["loans"]
    assert oracle["ORACLE_SIMULATE"] == "false"
    assert not (out / "members" / "dealer-b" / "env" / "oracle.env").exists()
    assert "NODE_ADAPTER_KEYSTORE_PATH" not in _env(out / "members" / "insurer-c" / "env" / "cli.env")


def test_ports_do_not_collide_on_a_shared_host(network: tuple[Path, NetworkManifest]) -> None:
    out, manifest = network
    claimed: dict[tuple[str, int], str] = {}
    for member in manifest.members:
        directory = out / "members" / member.name
        config = tomllib.loads((directory / "besu" / "config.toml").read_text())
        compose = yaml.safe_load((directory / "compose.yaml").read_text())
        ports = [config["p2p-port"], config["rpc-http-port"], config["metrics-port"], member.ports.postgres]
        ports += [int(s["command"][s["command"].index("--port") + 1])
                  for name, s in compose["services"].items() if name.startswith("portal-")]  # fmt: skip
        ports.append(member.ports.portal)
        for port in ports:
            assert (member.host, port) not in claimed, f"{member.name} and {claimed[(member.host, port)]} on {port}"
            claimed[(member.host, port)] = member.name
    assert manifest.member("shop-e").ports.p2p == manifest.member("bank-a").ports.p2p == 30303  # other host


def test_compose_runs_every_service_with_its_files(network: tuple[Path, NetworkManifest]) -> None:
    out, _ = network
    directory = out / "members" / "dealer-b"
    compose = yaml.safe_load((directory / "compose.yaml").read_text())
    services = compose["services"]
    assert {"besu", "postgres", "portal-1", "portal-2", "portal-3", "nginx", "allowlists"} <= set(services)
    assert "oracle" not in services
    assert "--no-background" not in services["portal-1"]["command"]
    assert all("--no-background" in services[f"portal-{i}"]["command"] for i in (2, 3))
    assert services["allowlists"]["command"][:3] == ["consortium", "besu", "sync-allowlists"]
    for service in services.values():
        for env_file in service.get("env_file", []):
            assert (directory / env_file).exists()
    assert "&id" not in (directory / "compose.yaml").read_text()  # no YAML anchors: each service reads alone


def test_secrets_are_readable_by_their_owner_only(network: tuple[Path, NetworkManifest]) -> None:
    out, _ = network
    for directory in [out / "secrets", *(p / "secrets" for p in (out / "members").iterdir())]:
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700
        for path in directory.iterdir():
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    for env in (out / "members").glob("*/env/*.env"):
        assert stat.S_IMODE(env.stat().st_mode) == 0o600, env
    keys = {(out / "members" / m / "secrets" / "consortium.key").read_text() for m in ("bank-a", "dmv")}
    assert keys == {(out / "secrets" / "consortium.key").read_text()}
    assert "PRIVATE" not in (out / "network.json").read_text().upper()
    node_key = (out / "members" / "dmv" / "secrets" / "node.key").read_text().strip()
    assert all(node_key[2:] not in p.read_text() for p in out.rglob("*") if p.is_file() and p.name != "node.key")


def test_the_checker_finds_the_fresh_network_consistent(network: tuple[Path, NetworkManifest]) -> None:
    assert check_network(network[0]) == []


def _edit_env(member: str, key: str, value: str) -> Callable[[Path], None]:
    def edit(out: Path) -> None:
        path = out / "members" / member / "env" / "common.env"
        values = _env(path)
        values[key] = value
        path.write_text("".join(f"{k}={v}\n" for k, v in values.items()))

    return edit


def _edit_toml(member: str, file: str, change: Callable[[dict[str, Any]], None]) -> Callable[[Path], None]:
    import tomli_w  # noqa: PLC0415

    def edit(out: Path) -> None:
        path = out / "members" / member / "besu" / file
        data = tomllib.loads(path.read_text())
        change(data)
        path.write_text(tomli_w.dumps(data))

    return edit


def _drop_validator(out: Path) -> None:
    path = out / "genesis.json"
    genesis = json.loads(path.read_text())
    genesis["extraData"] = encode_extra_data(decode_extra_data(genesis["extraData"])[1:])
    path.write_text(json.dumps(genesis))


@pytest.mark.parametrize(
    ("tamper", "problem"),
    [
        (_edit_env("dmv", "NODE_ADAPTER_CHAIN_ID", "20261"), "is not the genesis chain id"),
        (_edit_env("bank-a", "NODE_ADAPTER_MAX_IN_FLIGHT", "500"), "not below the pool's cap"),
        (_edit_env("bank-a", "NODE_ADAPTER_CONFIRMATIONS", "12"), "CONFIRMATIONS must be 0"),
        (lambda out: (out / "members" / "dealer-b" / "besu" / "config.toml").unlink(), "config.toml: missing"),
        (_edit_toml("dmv", "config.toml", lambda c: c.update({"p2p-port": 30399})), "not the port of its enode"),
        (_edit_toml("dmv", "config.toml", lambda c: c["rpc-http-api"].remove("PERM")), "lacks ['PERM']"),
        (
            _edit_toml("bank-a", "permissions_config.toml", lambda p: p["nodes-allowlist"].pop(1)),
            "the node of dealer-b is missing",
        ),
        (
            _edit_toml("bank-a", "permissions_config.toml", lambda p: p["accounts-allowlist"].pop(0)),
            "accounts of bank-a missing",
        ),
        (_drop_validator, "differ from the validating members' nodes"),
        (lambda out: (out / "members" / "dmv" / "secrets" / "node.key").chmod(0o644), "owner only"),
        (
            lambda out: (out / "members" / "dmv" / "secrets" / "node.key").write_text(NodeKey.generate().file_text()),
            "does not match its node key",
        ),
    ],
)
def test_the_checker_reports_each_inconsistency(tmp_path: Path, tamper: Callable[[Path], None], problem: str) -> None:
    out, _ = _generate(tmp_path)
    tamper(out)
    problems = check_network(out)
    assert any(problem in p for p in problems), problems


def test_collisions_and_bad_members_files_are_refused_with_the_field_named(tmp_path: Path) -> None:
    colliding = json.loads(json.dumps(MEMBERS))
    colliding["members"][1]["rpc_port"] = 8545  # bank-a's default
    with pytest.raises(BesuConfigError, match=r"port 8545 on 127\.0\.0\.1: bank-a rpc and dealer-b rpc"):
        _generate(tmp_path, colliding)
    assert not (tmp_path / "net" / "network.json").exists()
    cases = [
        ({"network": {"name": "x", "chain_id": 31337}}, "network.chain_id: chain id 31337 is a local dev chain"),
        ({"network": {"name": "x", "chain_id": 7, "max_in_flight": 200}}, "must stay below"),
        ({"members": [{"name": "a", "host": "h"}, {"name": "a", "host": "h", "governor": True}]}, "unique"),
        ({"members": [{"name": "a", "host": "h", "validator": False, "governor": True}]}, "no member runs a validator"),
        ({"members": [{"name": "a", "host": "h", "colour": "red", "governor": True}]}, "members.0.colour"),
        ({"members": [{"name": "a", "host": "h", "governor": True, "accounts": ["0x12"]}]}, "not an account address"),
    ]
    for change, message in cases:
        data = {"network": {"name": "x", "chain_id": 7}, "members": [{"name": "a", "host": "h", "governor": True}]}
        data.update(change)
        path = tmp_path / "members.toml"
        import tomli_w  # noqa: PLC0415

        path.write_text(tomli_w.dumps(data))
        with pytest.raises(BesuConfigError, match=message.replace("(", r"\(").replace("[", r"\[")):
            MembersFile.load(path)


def test_keys_never_go_into_a_repository_and_a_network_is_never_overwritten(tmp_path: Path) -> None:
    with pytest.raises(BesuConfigError, match="inside the repository"):
        generate_network(MembersFile.model_validate(MEMBERS), project_root() / ".besu-test-out", scrypt_n=SCRYPT_N)
    assert not (project_root() / ".besu-test-out").exists()
    out, _manifest = _generate(tmp_path)
    before = (out / "network.json").read_text()
    with pytest.raises(BesuConfigError, match="already holds a network"):
        generate_network(MembersFile.model_validate(MEMBERS), out, scrypt_n=SCRYPT_N)
    assert (out / "network.json").read_text() == before


def test_a_member_added_later_gets_a_node_of_its_own_and_everyone_the_new_manifest(tmp_path: Path) -> None:
    out, before = _generate(tmp_path)
    with pytest.raises(BesuConfigError, match="non-validator"):
        add_member(out, MemberSpec(name="late", host="127.0.0.1"), scrypt_n=SCRYPT_N)
    manifest = add_member(out, MemberSpec(name="late", host="127.0.0.1", validator=False), scrypt_n=SCRYPT_N)
    late = manifest.member("late")
    assert manifest.validators == before.validators
    assert not late.validator
    assert len(late.accounts) == 1
    assert check_network(out) == []
    for member in manifest.members:
        copy = NetworkManifest.load(out / "members" / member.name / "network.json")
        assert copy.member("late").enode == late.enode
    with pytest.raises(BesuConfigError, match="already has a member named 'late'"):
        add_member(out, MemberSpec(name="late", host="127.0.0.1", validator=False), scrypt_n=SCRYPT_N)


def test_generate_and_check_commands(tmp_path: Path) -> None:
    import tomli_w  # noqa: PLC0415

    members = tmp_path / "members.toml"
    members.write_text(tomli_w.dumps(MEMBERS))
    runner = CliRunner()
    out = tmp_path / "cli-net"
    result = runner.invoke(
        besu_app, ["generate", "--members", str(members), "--out", str(out), "--scrypt-n", str(SCRYPT_N)]
    )
    assert result.exit_code == 0, result.output
    assert "consortium deploy --governor" in result.output
    assert "check:" not in result.output
    assert runner.invoke(besu_app, ["check", str(out)]).exit_code == 0
    os.chmod(out / "members" / "bank-a" / "env" / "common.env", 0o644)
    failed = runner.invoke(besu_app, ["check", str(out)])
    assert failed.exit_code == 1
    assert "common.env: must be readable by its owner only" in failed.output
    result = runner.invoke(besu_app, ["generate", "--members", str(members), "--out", str(out), "--scrypt-n", "1000"])
    assert result.exit_code != 0
