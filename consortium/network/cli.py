"""``consortium network up|status|down``: the local geth Clique network of several member nodes."""

from __future__ import annotations

import json
import shutil
import signal
import threading
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from consortium.network.errors import NetworkError, NetworkRunningError
from consortium.network.layout import (
    DEFAULT_AUTH_PORT,
    DEFAULT_P2P_PORT,
    DEFAULT_RPC_PORT,
    NETWORK_FILE,
    NetworkPlan,
    consecutive_ports,
    load_plan,
)
from consortium.network.network import (
    CliqueNetwork,
    NodeStatus,
    RunFile,
    geth_processes,
    network_status,
    status_json,
    stop_network,
)
from node_adapter.settings import get_settings

console = Console()
err_console = Console(stderr=True)

app = typer.Typer(
    help="A proof-of-authority (geth Clique) network of member nodes on this machine.", no_args_is_help=True
)

StateDir = Annotated[
    Path | None,
    typer.Option(help="Where the network's keys and chains are kept (default .state/network in the checkout)."),
]


def _state_dir(state_dir: Path | None) -> Path:
    return (state_dir or get_settings().state_dir / "network").expanduser().resolve()


def _describe(plan: NetworkPlan) -> str:
    return f"{len(plan.members)} nodes, chain id {plan.chain_id}, a block every {plan.period} s"


@app.command("up")
def up(  # noqa: PLR0917 (typer options)
    nodes: Annotated[
        int | None, typer.Option(min=1, help="Member nodes, each a signer (default 4; a new network only).")
    ] = None,
    period: Annotated[
        int | None, typer.Option(min=1, help="Seconds between blocks (clique.period) (default 2; a new network only).")
    ] = None,
    state_dir: StateDir = None,
    fresh: Annotated[bool, typer.Option("--fresh", help="Forget the kept network: new keys, a new chain.")] = False,
    chain_id: Annotated[int | None, typer.Option(help="Chain id of a new network (default 5151).")] = None,
    rpc_port: Annotated[int, typer.Option(help="JSON-RPC port of the first node of a new network.")] = DEFAULT_RPC_PORT,
    p2p_port: Annotated[int, typer.Option(help="p2p port of the first node of a new network.")] = DEFAULT_P2P_PORT,
    auth_port: Annotated[
        int, typer.Option(help="Engine API port of the first node of a new network (geth opens it; Clique uses none).")
    ] = DEFAULT_AUTH_PORT,
) -> None:
    """Run the network in the foreground until Ctrl-C (or `consortium network down` elsewhere).

    The first run creates it in the state folder (keys, genesis); later runs start the same nodes on the kept chains.
    """
    directory = _state_dir(state_dir)
    run_file = RunFile(directory)
    run_file.ensure_none_running()
    if fresh and directory.exists():
        if geth_processes(directory):
            raise NetworkRunningError(f"geth processes still use {directory}: `consortium network down` first")
        shutil.rmtree(directory)
    size = nodes or (len(plan.members) if (plan := load_plan(directory)) else 4)
    ports = consecutive_ports(size, rpc=rpc_port, p2p=p2p_port, auth=auth_port)
    with console.status(f"starting the network in {directory} ..."):
        network = CliqueNetwork.open(directory, nodes=nodes, period=period, chain_id=chain_id, ports=ports)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    started = time.monotonic()
    with console.status("starting the nodes ..."):
        network.up()
    with run_file.record(network):
        try:
            with console.status("waiting for the first block ..."):
                head = network.wait_new_block(timeout=10.0 * network.plan.period + 30.0)
        except BaseException:
            network.down()
            raise
        console.print(
            f"network of {_describe(network.plan)} in {directory}: block {head} sealed "
            f"{time.monotonic() - started:.1f} s after the start"
        )
        _print_status(network_status(network.plan))
        console.print(
            f"NODE_ADAPTER_RPC_URLS='{json.dumps(network.urls)}' NODE_ADAPTER_CHAIN_ID={network.plan.chain_id}",
            soft_wrap=True,
        )
        console.print("Ctrl-C (or `consortium network down` elsewhere) stops it.")
        reported: set[str] = set()
        try:
            while not stop.wait(1.0):
                for node in network.nodes:
                    if not node.is_running() and node.name not in reported:
                        reported.add(node.name)
                        err_console.print(
                            f"[red]{node.name}'s geth exited[/red]; the others run on. Its log "
                            f"({node.folder.log_file}):\n{node.log_tail(10)}"
                        )
                if len(reported) == len(network.nodes):
                    raise typer.Exit(1)
        except KeyboardInterrupt:
            pass
        finally:
            console.print("stopping ...")
            network.down()
    console.print("stopped; the chains are kept (`consortium network up` resumes them)")


@app.command("status")
def status(
    state_dir: StateDir = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Each node: whether it answers, its head block, its peers, whether it is a signer and seals.

    Exits 1 when no node answers.
    """
    directory = _state_dir(state_dir)
    plan = load_plan(directory)
    if plan is None:
        raise NetworkError(f"{directory} holds no network ({NETWORK_FILE}); `consortium network up` creates one")
    statuses = network_status(plan)
    if as_json:
        print(json.dumps(status_json(directory, plan, statuses), indent=2))
    else:
        run = RunFile(directory).read()
        where = f"run by pid {run['pid']}" if run else "no `consortium network up` runs for it"
        console.print(f"network of {_describe(plan)} in {directory} ({where})")
        _print_status(statuses)
    if not any(s.running for s in statuses):
        raise typer.Exit(1)


@app.command("down")
def down(
    state_dir: StateDir = None,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the nodes to stop.")] = 60.0,
) -> None:
    """Stop the network of the state folder (its chains and keys are kept)."""
    directory = _state_dir(state_dir)
    started = time.monotonic()
    stopped = stop_network(directory, timeout=timeout)
    if not stopped:
        console.print(f"no network of {directory} is running")
        return
    console.print(f"stopped {', '.join(stopped)} in {time.monotonic() - started:.1f} s")


def _print_status(statuses: list[NodeStatus]) -> None:
    table = Table()
    for column in ("node", "url", "state", "block", "peers", "signer", "sealing"):
        table.add_column(column)
    for s in statuses:
        state = "[green]running[/green]" if s.running else "[red]not answering[/red]"
        table.add_row(
            s.name, s.url, state, *(("-" if v is None else str(v)) for v in (s.block, s.peers, s.signer, s.sealing))
        )
    console.print(table)
