"""The allowlist job against the real contract suite on Anvil, pushing to stand-ins of two Besu nodes' PERM API
(tests/besu_perm.py: Besu itself cannot run here). Members are admitted, suspended and expelled on chain by
governance; each pass must leave both nodes' allowlists as the chain says, and a second pass must change nothing."""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from eth_account.signers.local import LocalAccount
from typer.testing import CliRunner
from web3 import Web3
from web3.contract import Contract
from web3.types import RPCEndpoint

from consortium.besu.allowlists import BesuPermissions, SyncReport, sync_allowlists
from consortium.besu.cli import app as besu_app
from consortium.besu.generate import generate_network
from consortium.besu.network import MembersFile, NetworkManifest
from consortium.besu.qbft import canonical_enode
from consortium.cli import app as core_app
from node_adapter.artifacts import load_artifact
from node_adapter.clients import MembershipClient, MemberStatus, Role
from node_adapter.deploy import load_deployment
from node_adapter.dev.localchain import LocalChain, free_port
from node_adapter.exceptions import NodeAdapterError
from node_adapter.runtime import Runtime
from node_adapter.settings import NodeAdapterSettings, get_settings
from tests.besu_perm import FakeBesuPermissions
from tests.chain_helpers import as_governance

NAMES = ["gov-a", "gov-b", "gov-c", "dealer", "bank", "agency"]
"""Manifest members, each bringing one dev account (in this order): the three governors validate."""


@dataclass
class Setup:
    w3: Web3
    membership: MembershipClient
    contract: Contract
    manifest: NetworkManifest
    accounts: dict[str, LocalAccount]
    nodes: list[FakeBesuPermissions]

    def sync(self, *, dry_run: bool = False) -> SyncReport:
        clients = [BesuPermissions(node.url) for node in self.nodes]
        return sync_allowlists(self.membership, self.manifest, clients, dry_run=dry_run)

    def govern(self, function: str, *args: object) -> None:
        as_governance(self.w3, self.contract, getattr(self.contract.functions, function)(*args))

    def admit(self, account: LocalAccount, roles: int) -> int:
        self.govern("admitMember", [account.address], int(roles), Web3.keccak(text=account.address))
        return self.membership.member_of(account.address)

    def allowed_accounts(self, *names: str) -> set[str]:
        """The accounts and relayers of the named manifest members, lowercase."""
        return {
            a.lower() for n in names for a in (*self.manifest.member(n).accounts, *self.manifest.member(n).relayers)
        }

    def enodes(self, *names: str) -> set[str]:
        return {canonical_enode(self.manifest.member(n).enode) for n in names}


@pytest.fixture
def setup(chain: LocalChain, w3: Web3, tmp_path: Path) -> Iterator[Setup]:
    runtime = Runtime.open(
        NodeAdapterSettings(rpc_urls=[chain.url], chain_id=chain.chain_id, state_dir=tmp_path / "state", network="besu")
    )
    deployment, _ = runtime.deploy()  # dev governors: dev accounts 0, 1 and 2
    accounts = {name: chain.accounts[i] for i, name in enumerate(NAMES)}
    members = MembersFile.model_validate({
        "network": {"name": "besu-test", "chain_id": 20260},
        "members": [
            {"name": name, "host": "127.0.0.1", "accounts": [accounts[name].address],
             "validator": name.startswith("gov"), "governor": name.startswith("gov")}
            for name in NAMES
        ],
    })  # fmt: skip
    manifest = generate_network(members, tmp_path / "net", scrypt_n=1024)
    nodes = []
    for name in ("gov-a", "dealer"):  # a validator's node and another member's
        besu = tmp_path / "net" / "members" / name / "besu"
        bootnodes = tomllib.loads((besu / "config.toml").read_text())["bootnodes"]
        nodes.append(FakeBesuPermissions(besu / "permissions_config.toml", fixed_nodes=bootnodes))
    address = deployment.address("Membership")
    contract = w3.eth.contract(address=address, abi=load_artifact("Membership").abi)
    for node in nodes:
        node.__enter__()
    try:
        yield Setup(w3, MembershipClient(runtime.connection, address), contract, manifest, accounts, nodes)
    finally:
        for node in nodes:
            node.__exit__()
        runtime.engine.dispose()


def _assert_nodes_allow(setup: Setup, accounts: set[str], enodes: set[str]) -> None:
    for node in setup.nodes:
        assert set(node.accounts) == accounts, node.url
        assert {canonical_enode(e) for e in node.node_urls()} == enodes, node.url
        saved = tomllib.loads(node.file.read_text())  # Besu keeps its allowlists in the permissions file
        assert set(saved["accounts-allowlist"]) == accounts
        assert {canonical_enode(e) for e in saved["nodes-allowlist"]} == enodes


def test_allowlists_follow_admission_suspension_and_expulsion(setup: Setup) -> None:
    everyone = setup.enodes(*NAMES)
    governors = setup.allowed_accounts("gov-a", "gov-b", "gov-c")
    assert all(setup.allowed_accounts(*NAMES) == set(node.accounts) for node in setup.nodes)  # as generated

    first = setup.sync()  # only the governors are members yet: the others' accounts go, their nodes stay
    assert first.ok
    _assert_nodes_allow(setup, governors, everyone)
    assert sorted(first.nodes[0].removed_accounts) == sorted(setup.allowed_accounts("dealer", "bank", "agency"))
    states = {s.name: s for s in first.desired.members}
    assert states["dealer"].status is MemberStatus.NONE
    assert states["gov-b"].status is MemberStatus.ACTIVE

    dealer_id = setup.admit(setup.accounts["dealer"], Role.DEALER)
    bank_id = setup.admit(setup.accounts["bank"], Role.BANK)
    admitted = setup.sync()
    _assert_nodes_allow(setup, governors | setup.allowed_accounts("dealer", "bank"), everyone)
    assert sorted(admitted.nodes[1].added_accounts) == sorted(setup.allowed_accounts("dealer", "bank"))

    writes = [list(node.writes) for node in setup.nodes]
    again = setup.sync()  # idempotent: nothing to change, nothing sent
    assert not any(n.changed for n in again.nodes)
    assert [node.writes for node in setup.nodes] == writes

    agency_id = setup.admit(setup.accounts["agency"], Role.DISPOSAL_AGENCY)
    setup.govern("suspend", bank_id)
    setup.govern("expel", agency_id)
    setup.govern("expel", setup.membership.member_of(setup.accounts["gov-c"].address))
    report = setup.sync()
    assert report.ok
    # the suspended bank keeps its node but not its accounts; the expelled agency loses both; the expelled gov-c's
    # node is a bootnode of both nodes, which Besu will not drop: it stays, reported, with a validator warning
    expected_accounts = setup.allowed_accounts("gov-a", "gov-b", "dealer")
    _assert_nodes_allow(setup, expected_accounts, everyone - setup.enodes("agency"))
    for node in report.nodes:
        assert node.fixed_nodes == [setup.manifest.member("gov-c").enode]
        assert [canonical_enode(e) for e in node.removed_nodes] == sorted(setup.enodes("agency"))
    assert any("gov-c is expelled" in w and "qbft_proposeValidatorVote" in w for w in report.desired.warnings)
    assert {s.name: s.status for s in report.desired.members}["bank"] is MemberStatus.SUSPENDED
    assert dealer_id != bank_id

    setup.govern("reinstate", bank_id)
    setup.sync()
    _assert_nodes_allow(setup, expected_accounts | setup.allowed_accounts("bank"), everyone - setup.enodes("agency"))


def test_a_member_the_manifest_does_not_know_gets_its_accounts_and_a_warning(setup: Setup, chain: LocalChain) -> None:
    stranger = chain.accounts[7]
    setup.admit(stranger, Role.REPAIR_SHOP)
    report = setup.sync()
    assert stranger.address.lower() in setup.nodes[0].accounts
    assert any("names no node of it" in w for w in report.desired.warnings)


def test_a_dry_run_changes_nothing_and_an_unreachable_node_does_not_stop_the_others(setup: Setup) -> None:
    before = [(list(n.accounts), n.node_urls()) for n in setup.nodes]
    report = setup.sync(dry_run=True)
    assert report.nodes[0].removed_accounts  # what would go
    assert [(list(n.accounts), n.node_urls()) for n in setup.nodes] == before
    assert all(not n.writes for n in setup.nodes)

    gone = BesuPermissions(f"http://127.0.0.1:{free_port()}", timeout=2)
    result = sync_allowlists(setup.membership, setup.manifest, [gone, BesuPermissions(setup.nodes[0].url)])
    assert not result.ok
    assert result.nodes[0].error is not None
    assert "perm_getAccountsAllowlist" in result.nodes[0].error
    assert result.nodes[1].error is None
    assert result.nodes[1].changed


def test_a_node_changed_under_the_job_is_read_again(setup: Setup) -> None:
    node = setup.nodes[0]
    client = BesuPermissions(node.url)
    dealer = setup.accounts["dealer"].address.lower()
    original = client.remove_accounts

    raced: list[str] = []

    def racing_remove(accounts: list[str]) -> None:  # another writer removes one of them first, once
        if not raced:
            raced.append(dealer)
            node.call("perm_removeAccountsFromAllowlist", [[dealer]])
        original(accounts)

    client.remove_accounts = racing_remove  # type: ignore[method-assign]
    report = sync_allowlists(setup.membership, setup.manifest, [client])
    assert report.ok
    assert raced == [dealer]
    assert dealer not in node.accounts
    assert set(node.accounts) == setup.allowed_accounts("gov-a", "gov-b", "gov-c")


def test_a_wrong_membership_address_pushes_nothing(setup: Setup) -> None:
    registry_without_members = MembershipClient(setup.membership.connection, "0x" + "42" * 20)  # no code there
    with pytest.raises(NodeAdapterError):
        sync_allowlists(registry_without_members, setup.manifest, [BesuPermissions(setup.nodes[0].url)])
    assert all(not n.writes for n in setup.nodes)


def test_the_operator_flow_from_generated_keys_to_allowlists_through_the_commands(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """generate -> `consortium deploy` signed by a generated governor keystore on a chain with the network's chain
    id -> `consortium besu sync-allowlists` -> admit a member -> the next pass adds it."""
    members = MembersFile.model_validate({
        "network": {"name": "besu-cli", "chain_id": 20260},
        "members": [{"name": f"gov-{c}", "host": "127.0.0.1", "governor": True} for c in "abcd"]
        + [{"name": "late", "host": "127.0.0.1", "validator": False}],
    })  # fmt: skip
    out = tmp_path / "net"
    manifest = generate_network(members, out, scrypt_n=1024)
    secrets = out / "members" / "gov-a" / "secrets"
    with LocalChain(backend="anvil", port=free_port(), chain_id=20260) as node:
        w3 = Web3(Web3.HTTPProvider(node.url))
        for governor in manifest.governors():  # Anvil charges gas; a Besu free-gas network would not
            w3.provider.make_request(RPCEndpoint("anvil_setBalance"), [governor, hex(10**20)])
        for key, value in {
            "RPC_URLS": f'["{node.url}"]', "CHAIN_ID": "20260", "NETWORK": "besu-cli",
            "STATE_DIR": str(tmp_path / "state"), "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
            "KEYSTORE_PATH": str(secrets / "member.keystore.json"),
            "KEYSTORE_PASSWORD_FILE": str(secrets / "keystore.password"),
        }.items():  # fmt: skip
            monkeypatch.setenv(f"NODE_ADAPTER_{key}", value)
        get_settings.cache_clear()
        runner = CliRunner()
        governors = [arg for g in manifest.governors() for arg in ("--governor", g)]
        deployed = runner.invoke(core_app, ["deploy", *governors])
        assert deployed.exit_code == 0, deployed.output
        deployment = load_deployment(tmp_path / "state" / "deployments", "besu-cli")
        besu = out / "members" / "gov-a" / "besu"
        bootnodes = tomllib.loads((besu / "config.toml").read_text())["bootnodes"]
        with FakeBesuPermissions(besu / "permissions_config.toml", fixed_nodes=bootnodes) as fake:
            command = ["sync-allowlists", "--network", str(out / "network.json"), "--node", fake.url, "--json"]
            first = runner.invoke(besu_app, command)
            assert first.exit_code == 0, first.output
            late = manifest.member("late")
            assert late.accounts[0].lower() not in fake.accounts  # not admitted yet
            assert manifest.member("gov-d").accounts[0].lower() in fake.accounts
            contract = w3.eth.contract(address=deployment.address("Membership"), abi=load_artifact("Membership").abi)
            as_governance(w3, contract, contract.functions.admitMember(late.accounts, int(Role.DEALER), b"\x01" * 32))
            second = runner.invoke(besu_app, command)
            assert second.exit_code == 0, second.output
            assert {a.lower() for a in (*late.accounts, *late.relayers)} <= set(fake.accounts)
            assert '"status": "active"' in second.output
        unreachable = runner.invoke(besu_app, [*command[:3], "--node", f"http://127.0.0.1:{free_port()}"])
        assert unreachable.exit_code == 1
    get_settings.cache_clear()
