"""``consortium up``: the local chain, the contract suite and every service, as child processes of one supervisor.

The chain is started first; once it answers, the suite is deployed (or the live deployment reused) from the
supervisor itself, and the run file (``<state>/chain.json``) records the supervisor, so a second ``make up`` says where
the first one runs and ``make down`` stops it. Then come the services the installed packages contribute through the
``consortium.services`` entry point: a function ``(NodeAdapterSettings) -> list[ServiceSpec]`` per package, each spec
saying how to run the service as a process (command, environment, readiness check, links). node_adapter never imports
those packages: it only runs what they describe.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import threading
from collections.abc import Callable
from importlib.metadata import entry_points
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from consortium.supervisor import RestartPolicy, ServiceSpec, Supervisor, rpc_ready
from node_adapter.clients import Suite, role_names
from node_adapter.dev.devchain import DEV_MEMBERS
from node_adapter.dev.localchain import LocalChain, RunFile, RunInfo
from node_adapter.progress import progress_bar
from node_adapter.runtime import Runtime
from node_adapter.settings import NodeAdapterSettings

SERVICES_GROUP = "consortium.services"

JOINS = {"deployment": "initial governor", "oracle": "admitted by the oracle's dev setup", "demo": "`consortium demo`"}


def child_env(settings: NodeAdapterSettings) -> dict[str, str]:
    """What every child needs to find the chain, the database and the deployment the supervisor set up."""
    env = {
        "NODE_ADAPTER_RPC_URLS": json.dumps(settings.rpc_urls),
        "NODE_ADAPTER_STATE_DIR": str(settings.state_dir.resolve()),
        "NODE_ADAPTER_NETWORK": settings.network,
        "COLUMNS": os.environ.get("COLUMNS", "200"),  # children print to files: do not wrap their lines at 80
    }
    if settings.chain_id is not None:
        env["NODE_ADAPTER_CHAIN_ID"] = str(settings.chain_id)
    return env


def chain_service(chain: LocalChain, on_ready: Callable[[], None]) -> ServiceSpec:
    """The local node as the first, critical child (its output only in its log: a line per transaction)."""
    assert chain.chain_id is not None
    return ServiceSpec(
        name="chain",
        command=chain.command(),
        ready=rpc_ready(chain.url, chain.chain_id),
        ready_timeout=chain.startup_timeout,
        order=0,
        stop_timeout=30.0,  # Anvil writes its state on SIGTERM
        echo=False,
        critical=True,
        on_ready=on_ready,
    )


def plugin_services(settings: NodeAdapterSettings, console: Console) -> list[ServiceSpec]:
    """The services the installed packages contribute (``consortium.services``)."""
    specs: list[ServiceSpec] = []
    for entry in entry_points(group=SERVICES_GROUP):
        try:
            found = entry.load()(settings)
        except Exception as exc:  # a broken plugin must not keep the chain and the others from running
            console.print(f"[yellow]warning:[/yellow] the {entry.name} services are unavailable: {escape(str(exc))}")
            continue
        specs.extend(found)
    return specs


def print_chain(console: Console, chain: LocalChain, info: RunInfo) -> None:
    console.print(
        f"[bold green]local {chain.backend} chain[/bold green] at [bold]{chain.url}[/bold] (chain id {info.chain_id})"
    )
    console.print(f"state kept in {chain.state_dir} (start over with --fresh)")
    console.print("funded dev accounts (the public test mnemonic: never use these keys on a real network):")
    for index, account in enumerate(chain.accounts[:4]):
        # soft_wrap: a narrow or piped terminal must not crop an address or a key
        console.print(f"  {index}  {account.address}  {account.private_key}", soft_wrap=True, highlight=False)


def deploy(console: Console, settings: NodeAdapterSettings) -> None:
    """Deploy the suite unless a live deployment is recorded; say which."""
    with progress_bar(console, "deploying the contract suite") as progress:
        deployment, fresh_deploy = Runtime.open(settings).deploy(progress=progress)
    verb = "deployed" if fresh_deploy else "already deployed (kept from the last run)"
    console.print(f"[bold green]contracts {verb}[/bold green] on network {deployment.network!r}:")
    for name, contract in deployment.contracts.items():
        console.print(f"  {name:<18} {contract.address}")


def print_where_to_go(console: Console, settings: NodeAdapterSettings, supervisor: Supervisor) -> None:
    """The links the services gave, and the dev accounts to sign in with, by role and membership."""
    console.rule("[bold]the system runs[/bold]")
    for label, url in supervisor.links().items():
        console.print(f"  [bold]{label:<10}[/bold] {url}", soft_wrap=True, highlight=False)
    console.print(f"  [bold]{'logs':<10}[/bold] {supervisor.log_dir}/<service>.log", soft_wrap=True, highlight=False)
    runtime = Runtime.open(settings)
    try:
        membership = Suite.from_deployment(runtime.connection, runtime.deployment()).membership
        roles = {m.index: membership.authorize(m.account().address).roles for m in DEV_MEMBERS}
    finally:
        runtime.engine.dispose()
    table = Table(title="sign in on the portal's first page as a dev account", title_justify="left")
    for column in ("#", "plays", "organisation", "address", "member now"):
        table.add_column(column, overflow="fold")
    for member in DEV_MEMBERS:
        held = roles[member.index]
        status = ", ".join(role_names(held)) if held else f"[dim]not yet: joins by {JOINS[member.joins]}[/dim]"
        table.add_row(str(member.index), member.label, member.organisation, member.account().address, status)
    console.print(table)
    console.print("`consortium demo` plays the consortium's story on this chain; Ctrl-C (or `make down`) stops it all.")


def run_up(
    chain: LocalChain, settings: NodeAdapterSettings, console: Console, policy: RestartPolicy | None = None
) -> int:
    """Run the system until SIGINT / SIGTERM; the exit code (1 when the chain had to be given up on)."""
    run_file = RunFile(settings.state_dir)
    run_file.ensure_none_running()
    chain.ensure_port_free()
    if chain.state_dir is not None:
        chain.state_dir.mkdir(parents=True, exist_ok=True)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    with contextlib.ExitStack() as stack:

        def chain_ready() -> None:
            info = stack.enter_context(run_file.record(chain, os.getpid()))
            print_chain(console, chain, info)
            deploy(console, settings)

        specs = [chain_service(chain, chain_ready), *plugin_services(settings, console)]
        supervisor = Supervisor(
            specs, log_dir=log_dir(settings.state_dir), env=child_env(settings), policy=policy, console=console
        )
        code = 0
        try:
            supervisor.start_all(stop)
            if not stop.is_set():
                print_where_to_go(console, settings, supervisor)
                code = supervisor.run(stop)
        finally:
            supervisor.stop_all()
    console.print("stopped")
    return code


def log_dir(state_dir: Path) -> Path:
    """Where the children's logs (and ``services.json``) are kept."""
    return state_dir / "logs"
