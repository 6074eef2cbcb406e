"""``consortium besu ...``: generate a Besu QBFT network for the members, check it, keep its allowlists in step.

Registered with the ``consortium`` CLI through the ``consortium.commands`` entry point (pyproject.toml).
"""

from __future__ import annotations

import json
import logging
import signal
import threading
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from consortium.besu.allowlists import BesuPermissions, SyncReport, sync_allowlists
from consortium.besu.check import check_network
from consortium.besu.generate import DEFAULT_SCRYPT_N, add_member, generate_network
from consortium.besu.network import BFT_MIN_VALIDATORS, MembersFile, MemberSpec, NetworkManifest, OracleSpec
from consortium.besu.qbft import BesuConfigError
from node_adapter.clients import MembershipClient
from node_adapter.connection import ChainConnection
from node_adapter.deploy import load_deployment
from node_adapter.exceptions import ChainUnavailableError, DeploymentError, NodeAdapterError
from node_adapter.settings import get_settings

app = typer.Typer(
    help="Run the consortium on Hyperledger Besu (QBFT, one node per member): generate, check, keep allowlists.",
    no_args_is_help=True,
)
console = Console()
err_console = Console(stderr=True)
logger = logging.getLogger(__name__)

ScryptN = Annotated[
    int, typer.Option(help="scrypt work factor of the keystores made (a power of two; lower only for rehearsals).")
]


def _scrypt(n: int) -> int:
    if n < 2**10 or n & (n - 1):
        raise BesuConfigError(f"--scrypt-n {n}: a power of two, at least 1024")
    return n


@app.command()
def generate(
    members: Annotated[Path, typer.Option(help="The members file (TOML; see deploy/members.example.toml).")],
    out: Annotated[Path, typer.Option(help="A new directory outside any repository: it receives private keys.")],
    scrypt_n: ScryptN = DEFAULT_SCRYPT_N,
) -> None:
    """Make the keys and every file of a new network: genesis, node configurations, allowlists, compose files."""
    spec = MembersFile.load(members)
    with console.status("making keys and writing the network ..."):
        manifest = generate_network(spec, out, scrypt_n=_scrypt(scrypt_n))
    _print_manifest(manifest, out)
    problems = check_network(out)
    for problem in problems:
        err_console.print(f"[yellow]check:[/yellow] {problem}")


def _print_manifest(manifest: NetworkManifest, out: Path) -> None:
    table = Table(title=f"network {manifest.network.name!r}, chain id {manifest.network.chain_id}")
    for column in ("member", "validator", "governor", "node", "accounts", "portal"):
        table.add_column(column, overflow="fold")
    for m in manifest.members:
        node = f"{m.host}:{m.ports.p2p}\n{m.node_address}"
        table.add_row(m.name, "yes" if m.validator else "", "yes" if m.governor else "", node,
                      "\n".join(m.accounts), m.portal_url)  # fmt: skip
    console.print(table)
    console.print(f"written to {out.resolve()}; each members/<name>/ goes to its member (secrets/ by a secure channel)")
    if len(manifest.validators) < BFT_MIN_VALIDATORS:
        console.print(f"[yellow]{len(manifest.validators)} validator(s): QBFT survives a failure from four on[/yellow]")
    governors = " ".join(f"--governor {g}" for g in manifest.governors())
    console.print(f"deploy, once the nodes run: consortium deploy {governors}")


@app.command("add-member")
def add_member_command(  # noqa: PLR0917 (typer options)
    network_dir: Annotated[Path, typer.Option("--network-dir", help="The directory `generate` wrote.")],
    name: Annotated[str, typer.Option(help="The new member's name (lowercase, digits, '-').")],
    host: Annotated[str, typer.Option(help="Where the other nodes reach its node (IP or DNS name).")],
    account: Annotated[
        list[str] | None, typer.Option(help="An account it brings (repeat); none: one is made for it.")
    ] = None,
    portal_workers: Annotated[int, typer.Option(help="Portal workers it runs.")] = 2,
    oracle_source: Annotated[list[str] | None, typer.Option(help="An oracle source it reads (repeat).")] = None,
    oracle_signer: Annotated[list[str] | None, typer.Option(help="An oracle role it signs for (repeat).")] = None,
    scrypt_n: ScryptN = DEFAULT_SCRYPT_N,
) -> None:
    """Add a member's node (not a validator) to a generated network; hand the new network.json to every member."""
    oracle = None
    if oracle_source or oracle_signer:
        oracle = OracleSpec(sources=oracle_source or [], signers=oracle_signer or [])
    try:
        spec = MemberSpec(name=name, host=host, validator=False, accounts=account or [],
                          portal_workers=portal_workers, oracle=oracle)  # fmt: skip
    except ValueError as exc:
        raise BesuConfigError(f"the new member: {exc}") from None
    manifest = add_member(network_dir, spec, scrypt_n=_scrypt(scrypt_n))
    member = manifest.member(name)
    console.print(f"added {name}: node {member.enode}")
    console.print(f"accounts to admit it with: {', '.join(member.accounts)}")
    console.print(f"hand {network_dir / 'network.json'} to every member (their allowlist job reads it)")


@app.command()
def check(
    network_dir: Annotated[Path, typer.Argument(help="The directory `generate` wrote.")],
) -> None:
    """Say whether a generated network is complete and consistent (exit 1 when not)."""
    problems = check_network(network_dir)
    for problem in problems:
        err_console.print(f"[red]problem:[/red] {problem}")
    if problems:
        raise typer.Exit(1)
    console.print(f"{network_dir}: complete and consistent")


def _membership(address: str | None, connection: ChainConnection) -> MembershipClient:
    if address is not None:
        return MembershipClient(connection, address)
    settings = get_settings()
    deployment = load_deployment(settings.state_dir / "deployments", settings.network)
    return MembershipClient(connection, deployment.address("Membership"))


def _print_report(report: SyncReport, as_json: bool) -> None:
    if as_json:
        print(json.dumps({
            "members": [{"name": s.name, "member_id": s.member_id, "status": s.status.name.lower()}
                        for s in report.desired.members],
            "warnings": list(report.desired.warnings),
            "nodes": [vars(n) for n in report.nodes],
        }))  # fmt: skip
        return
    for node in report.nodes:
        if node.error:
            err_console.print(f"[red]{node.url}[/red]: {node.error}")
            continue
        changes = [f"+{len(node.added_accounts)}/-{len(node.removed_accounts)} accounts",
                   f"+{len(node.added_nodes)}/-{len(node.removed_nodes)} nodes"]  # fmt: skip
        console.print(f"{node.url}: {', '.join(changes) if node.changed else 'in step'}")
        for enode in node.fixed_nodes:
            err_console.print(f"[yellow]{node.url}[/yellow]: {enode} should go but is a bootnode or static node "
                              "of this node: remove it from its config.toml and restart it")  # fmt: skip
    for warning in report.desired.warnings:
        err_console.print(f"[yellow]warning:[/yellow] {warning}")


@app.command("sync-allowlists")
def sync_allowlists_command(  # noqa: PLR0917 (typer options)
    network: Annotated[Path, typer.Option(help="The network manifest (network.json).")],
    node: Annotated[
        list[str] | None, typer.Option(help="A node's JSON-RPC URL with PERM enabled (repeat) [default: RPC_URLS].")
    ] = None,
    membership: Annotated[
        str | None, typer.Option(help="The Membership contract [default: this network's deployment manifest].")
    ] = None,
    follow: Annotated[
        bool, typer.Option("--follow", help="Keep going every --interval seconds until stopped.")
    ] = False,
    interval: Annotated[float, typer.Option(help="Seconds between passes with --follow.")] = 15.0,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Say what would change; change nothing.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object per pass.")] = False,
) -> None:
    """Bring each node's account and node allowlists in step with the Membership contract (exit 1 if a node
    could not be brought in step)."""
    settings = get_settings()
    manifest = NetworkManifest.load(network)
    urls = node or settings.rpc_urls
    nodes = [BesuPermissions(url, timeout=settings.rpc_timeout) for url in urls]
    connection = ChainConnection(settings.rpc_urls, expected_chain_id=manifest.network.chain_id,
                                 timeout=settings.rpc_timeout)  # fmt: skip
    stop = threading.Event()
    if follow:
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
    while True:
        try:
            report = sync_allowlists(_membership(membership, connection), manifest, nodes, dry_run=dry_run)
            _print_report(report, as_json)
            ok = report.ok
        except (DeploymentError, ChainUnavailableError, BesuConfigError) as exc:
            if not follow:
                raise
            err_console.print(f"[yellow]nothing pushed this pass:[/yellow] {exc}")
            ok = False
        except NodeAdapterError as exc:
            if not follow:
                raise
            logger.exception("allowlist pass failed")
            err_console.print(f"[red]pass failed:[/red] {exc}")
            ok = False
        if not follow:
            if not ok:
                raise typer.Exit(1)
            return
        if stop.wait(interval):
            return
