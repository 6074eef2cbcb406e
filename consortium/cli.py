"""The ``consortium`` command line: what an operator and a developer do day to day."""

from __future__ import annotations

import contextlib
import inspect
import json
import logging
import os
import shlex
import shutil
import signal
import sys
import threading
import time
from collections.abc import Callable
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from consortium.network.cli import app as network_app
from consortium.up import print_chain, run_up
from node_adapter.bundle import load_bundle, verify_bundle
from node_adapter.connection import ChainConnection
from node_adapter.dev.localchain import LocalChain, RunFile
from node_adapter.exceptions import NodeAdapterError
from node_adapter.progress import progress_bar
from node_adapter.runtime import Runtime
from node_adapter.settings import get_settings

if TYPE_CHECKING:
    from consortium.bench.report import BenchRun, BenchSpec

console = Console()
err_console = Console(stderr=True)

app = typer.Typer(
    name="consortium",
    help="Vehicle Evidence Consortium: build the contracts, run a local chain, operate the system.",
    no_args_is_help=True,
    add_completion=False,
)
chain_app = typer.Typer(help="Start, inspect and stop the local development chain.", no_args_is_help=True)
app.add_typer(chain_app, name="chain")
artifacts_app = typer.Typer(help="The committed contract artifacts.", no_args_is_help=True)
app.add_typer(artifacts_app, name="artifacts")
bench_app = typer.Typer(help="Benchmarks that print figures (each on a fresh local node).", no_args_is_help=True)
app.add_typer(bench_app, name="bench")
app.add_typer(network_app, name="network")

Backend = Annotated[str, typer.Option(help="Local node: anvil (default) or ganache.")]
Port = Annotated[
    int | None, typer.Option(help="Port the node listens on [default: NODE_ADAPTER_DEV_CHAIN_PORT or 8545].")
]
StateDir = Annotated[
    Path | None, typer.Option(help="Where the chain's state is kept between runs [default: .state/ in the checkout].")
]
Fresh = Annotated[bool, typer.Option("--fresh", help="Start from genesis: forget the state kept from earlier runs.")]
BlockTime = Annotated[
    float | None, typer.Option(help="Seconds between blocks (interval mining); default: one block per transaction.")
]


@app.callback()
def _configure(verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log more.")] = False) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )


@app.command()
def doctor(as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False) -> None:
    """Say, for each tool the system and its tests use, whether it is installed, its version and how to install it.

    Exits 1 when something `make test` needs is missing.
    """
    from consortium.doctor import main as doctor_main  # noqa: PLC0415 (standard library only, also run without .venv)

    raise typer.Exit(doctor_main(["--json"] if as_json else []))


@app.command()
def build() -> None:
    """Compile contracts/src and write the committed artifacts (node_adapter/artifacts/)."""
    from node_adapter.build import build_artifacts  # noqa: PLC0415 (py-solc-x is only needed here)

    with console.status("compiling contracts/src ..."):
        written = build_artifacts()
    console.print(f"wrote {len(written)} files to {written[-1].parent}")


@artifacts_app.command("check")
def artifacts_check() -> None:
    """Exit non-zero when the committed artifacts are stale against contracts/src."""
    from node_adapter.build import stale_artifacts  # noqa: PLC0415 (py-solc-x is only needed here)

    reasons = stale_artifacts()
    if reasons:
        for reason in reasons:
            err_console.print(f"[red]stale:[/red] {reason}")
        err_console.print("run `consortium build` (or `make artifacts`) and commit node_adapter/artifacts/")
        raise typer.Exit(1)
    console.print("artifacts are up to date with contracts/src")


def _make_chain(
    backend: str, port: int | None, state_dir: Path | None, fresh: bool, block_time: float | None
) -> LocalChain:
    settings = get_settings()
    directory = (state_dir or settings.state_dir) / "chain" / backend
    if fresh and directory.exists():
        shutil.rmtree(directory)
    return LocalChain(
        backend=backend,  # type: ignore[arg-type]  # validated by LocalChain
        host=settings.dev_chain_host,
        port=port or settings.dev_chain_port,
        block_time=block_time if block_time is not None else settings.dev_chain_block_time,
        state_dir=directory,
    )


def _serve(
    chain: LocalChain,
    state_dir: Path | None,
    banner: str,
    on_start: Callable[[LocalChain], None] | None = None,
    on_stop: Callable[[], None] | None = None,
) -> None:
    """Start ``chain``, record it, print where it is, and run until Ctrl-C / SIGTERM / `consortium chain down`."""
    run_file = RunFile(state_dir or get_settings().state_dir)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    run_file.ensure_none_running()
    with chain, run_file.record(chain, os.getpid()) as info:
        print_chain(console, chain, info)
        if on_start is not None:
            on_start(chain)
        console.print(banner)
        console.print("Ctrl-C (or `make down` elsewhere) stops it.")
        try:
            while not stop.wait(1.0):
                if not chain.is_running():
                    err_console.print(f"[red]the {chain.backend} node exited[/red]; its output:\n{chain.log_tail()}")
                    raise typer.Exit(1)
        except KeyboardInterrupt:
            pass
        finally:
            console.print("stopping ...")
            if on_stop is not None:
                on_stop()
    console.print("stopped")


@chain_app.command("up")
def chain_up(
    backend: Backend = "anvil",
    port: Port = None,
    state_dir: StateDir = None,
    fresh: Fresh = False,
    block_time: BlockTime = None,
) -> None:
    """Run a local chain in the foreground until Ctrl-C."""
    _serve(_make_chain(backend, port, state_dir, fresh, block_time), state_dir, "")


@chain_app.command("status")
def chain_status(state_dir: StateDir = None) -> None:
    """Say whether a local chain started by `consortium chain up` / `consortium up` is running."""
    info = RunFile(state_dir or get_settings().state_dir).read()
    if info is None:
        console.print("no local chain is running")
        raise typer.Exit(1)
    console.print(f"local {info.backend} chain at {info.url} (chain id {info.chain_id}, pid {info.pid})")


@chain_app.command("down")
def chain_down(state_dir: StateDir = None, timeout: float = 90.0) -> None:
    """Stop the local chain started by `consortium chain up` / `consortium up`."""
    run_file = RunFile(state_dir or get_settings().state_dir)
    info = run_file.read()
    if info is None:
        console.print("no local chain is running")
        return
    os.kill(info.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not run_file.path.exists():  # the supervisor removes it once the node has stopped
            console.print(f"stopped the local chain at {info.url}")
            return
        time.sleep(0.2)
    err_console.print(f"[red]pid {info.pid} did not stop within {timeout:.0f} s[/red]")
    raise typer.Exit(1)


@app.command()
def up(
    backend: Backend = "anvil",
    port: Port = None,
    state_dir: StateDir = None,
    fresh: Fresh = False,
    block_time: BlockTime = None,
) -> None:
    """Run the system on embedded defaults: the local chain with the contract suite deployed, and every service
    (simulators, oracle, portal) as a supervised process; Ctrl-C stops them all."""
    chain = _make_chain(backend, port, state_dir, fresh, block_time)
    settings = get_settings().model_copy(
        update={"rpc_urls": [chain.url], "chain_id": chain.chain_id, "state_dir": state_dir or get_settings().state_dir}
    )
    raise typer.Exit(run_up(chain, settings, console))


@app.command()
def deploy(
    governor: Annotated[
        list[str] | None,
        typer.Option(help="Initial governor account (repeat); default on a dev chain: 3 dev accounts."),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Deploy again even if a live deployment is recorded.")] = False,
) -> None:
    """Deploy the contract suite to the configured network (NODE_ADAPTER_RPC_URLS) and record its manifest."""
    runtime = Runtime.open(get_settings())
    with progress_bar(console, "deploying the contract suite") as progress:
        deployment, deployed = runtime.deploy(governor, reuse=not force, progress=progress)
    console.print(
        f"{'deployed' if deployed else 'already deployed'} on {deployment.network!r} (chain {deployment.chain_id})"
    )
    for name, contract in deployment.contracts.items():
        console.print(f"  {name:<18} {contract.address}  block {contract.block_number}")


@app.command()
def status(as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False) -> None:
    """What is deployed where, node health, the outbox backlog."""
    runtime = Runtime.open(get_settings())
    nodes = [
        {"url": n.url, "healthy": n.healthy, "block": n.block_number, "latency_ms": n.latency_ms, "error": n.last_error}
        for n in runtime.connection.health()
    ]
    lag: int | None = None
    try:
        deployment: dict[str, object] | None = runtime.deployment().model_dump(mode="json")
        lag = runtime.indexer().lag()
    except NodeAdapterError as exc:
        deployment = {"error": str(exc)}
    report = {"network": runtime.settings.network, "nodes": nodes, "deployment": deployment,
              "outbox": runtime.outbox.backlog(), "indexer_lag_blocks": lag}  # fmt: skip
    if as_json:
        console.print_json(json.dumps(report))
        return
    for node in nodes:
        state = "[green]up[/green]" if node["healthy"] else f"[red]down[/red] ({node['error']})"
        console.print(f"node {node['url']}: {state}, block {node['block']}")
    console.print(f"outbox: {report['outbox'] or 'empty'}; indexer lag: {lag} blocks")
    console.print_json(json.dumps(deployment))


@app.command()
def index(
    rebuild: Annotated[
        bool, typer.Option("--rebuild", help="Drop the read model and rebuild it from the chain.")
    ] = False,
    follow: Annotated[bool, typer.Option("--follow", help="Keep indexing new blocks until Ctrl-C.")] = False,
) -> None:
    """Index the deployed contracts' events into the SQL read model (members, records, loans, cases, points)."""
    indexer = Runtime.open(get_settings()).indexer()
    with progress_bar(console, "rebuilding the read model" if rebuild else "indexing") as progress:
        applied = indexer.rebuild(progress=progress) if rebuild else indexer.sync(progress=progress)
    checkpoint = indexer.checkpoint()
    console.print(f"applied {applied} events; indexed up to block {checkpoint.block_number if checkpoint else '-'}")
    while follow:
        try:
            if indexer.run_once() == 0:
                time.sleep(1.0)
        except KeyboardInterrupt:
            break


@app.command("verify-bundle")
def verify_bundle_command(
    file: Annotated[Path, typer.Argument(help="The proof bundle (JSON) to check.")],
    rpc: Annotated[str, typer.Option(help="JSON-RPC URL of any node of the bundle's chain.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Check every fact of a vehicle's proof bundle against a chain node: exit 0 when all are confirmed, 1 when any
    failed, 3 when none failed but some changed since the bundle was made (2: an unreadable bundle, a wrong chain)."""
    bundle = load_bundle(file)
    with console.status(f"checking {file} against {rpc} ...") if not as_json else contextlib.nullcontext():
        report = verify_bundle(bundle, ChainConnection([rpc], timeout=get_settings().rpc_timeout))
    if as_json:
        print(json.dumps(report.model_dump(mode="json")))
    else:
        made, now = report.generated_at_block, report.checked_at_block
        table = Table(
            title=f"bundle of subject {report.subject} (block {made}) on chain {report.chain_id} at block {now}"
        )
        table.add_column("fact", overflow="fold")
        table.add_column("outcome")
        table.add_column("detail", overflow="fold")
        colours = {"confirmed": "green", "changed": "yellow", "failed": "red"}
        for check in report.checks:
            table.add_row(
                escape(check.fact), f"[{colours[check.outcome]}]{check.outcome}[/]", escape(check.reason or "")
            )
        console.print(table)
        counts = ", ".join(f"{n} {outcome}" for outcome, n in report.counts().items())
        console.print(f"verdict: [{colours[report.verdict]}]{report.verdict}[/] ({counts})")
    raise typer.Exit({"confirmed": 0, "failed": 1, "changed": 3}[report.verdict])


@bench_app.command("throughput")
def bench_throughput(
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    block_time: Annotated[float, typer.Option(help="Seconds between blocks; 0 mines a block per transaction.")] = 1.0,
    pipelined: Annotated[int, typer.Option(help="Writes sent through the outbox.")] = 1000,
    batch_records: Annotated[int, typer.Option(help="Records in the Merkle batch.")] = 20_000,
) -> None:
    """Writes per second: send-wait-send against the outbox pipeline, Merkle batches, the indexer (fresh Anvil)."""
    from consortium.bench.throughput import throughput_report  # noqa: PLC0415

    with console.status("measuring on a fresh node ...") if not as_json else contextlib.nullcontext():
        report = throughput_report(block_time=block_time, pipelined=pipelined, batch_records=batch_records)
    if as_json:
        print(json.dumps(report))
        return
    table = Table(title=f"throughput on Anvil (block time {block_time} s)")
    table.add_column("figure")
    table.add_column("value", justify="right")
    for key, value in report.items():
        table.add_row(key, f"{value:,.2f}")
    console.print(table)


@bench_app.command("gas")
def bench_gas(
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    backend: Backend = "anvil",
) -> None:
    """Gas of an attestation and of batch anchoring, ours against EAS 1.9.0, on one fresh local node."""
    from consortium.bench.throughput import gas_report  # noqa: PLC0415 (compiles EAS on first use)

    with console.status("deploying both suites on a fresh node ...") if not as_json else contextlib.nullcontext():
        report = gas_report(backend=backend)
    if as_json:
        print(json.dumps(report))
        return
    table = Table(title=f"gas on {backend} (whole transactions, 21k base included)")
    table.add_column("figure")
    table.add_column("gas", justify="right")
    for key, value in report.items():
        table.add_row(key, f"{value:,.4f}" if key.startswith("ratio") else f"{value:,.1f}")
    console.print(table)


@bench_app.command("all")
def bench_all(  # noqa: PLR0917 (typer options)
    out: Annotated[
        Path | None, typer.Option(help="Directory of the report [default: .state/bench/report in the checkout].")
    ] = None,
    only: Annotated[list[str] | None, typer.Option(help="Run only this benchmark (repeat).")] = None,
    skip: Annotated[list[str] | None, typer.Option(help="Leave this benchmark out (repeat).")] = None,
    sizes: Annotated[
        str | None, typer.Option(help="Record counts for the benchmarks that take --sizes, e.g. 1000,10000.")
    ] = None,
    args: Annotated[
        list[str] | None,
        typer.Option("--args", help="More arguments for one benchmark as NAME=ARGS (repeat): 'oracle=--samples 5'."),
    ] = None,
    timeout: Annotated[float, typer.Option(help="Seconds a benchmark may take before it is stopped.")] = 3600.0,
) -> None:
    """Run every benchmark (one after the other, each in its own process) and write one report: JSON with every
    figure, the machine and the commit; a Markdown table; SVG charts. A benchmark that fails is recorded, not fatal;
    the exit code is 1 when any did not succeed."""
    from consortium.bench.report import BenchReportError, plan, run_all  # noqa: PLC0415

    try:
        planned = plan(_bench_specs(), only=only or [], skip=skip or [], sizes=sizes, extra=args or [])
    except BenchReportError as exc:
        raise typer.BadParameter(str(exc)) from None
    directory = out or get_settings().state_dir / "bench" / "report"
    command = ["consortium", "bench", "all", *sys.argv[3:]]

    def started(name: str, extra: list[str]) -> None:
        shown = shlex.join(["consortium", "bench", name, "--json", *extra])
        err_console.print(f"[bold]{escape(shown)}[/bold] ...", highlight=False)

    def done(run: BenchRun) -> None:
        colour = "green" if run.status == "ok" else "red"
        err_console.print(f"  {run.name}: [{colour}]{run.status}[/{colour}] in {run.seconds:,.1f} s")

    def echo(name: str, line: str) -> None:
        err_console.print(f"  [dim]{escape(name)}:[/dim] {escape(line)}", highlight=False, soft_wrap=True)

    report, written = run_all(planned, out=directory, command=command, timeout=timeout,
                              on_start=started, on_done=done, echo=echo)  # fmt: skip
    table = Table(title=f"benchmarks ({report['seconds']:,.0f} s)")
    for column in ("bench", "status", "seconds"):
        table.add_column(column)
    for name, run in report["benches"].items():
        table.add_row(name, run["status"], f"{run['seconds']:,.1f}")
    console.print(table)
    console.print(f"report: {written[1]} (figures: {written[0]})")
    failed = [name for name, run in report["benches"].items() if run["status"] != "ok"]
    if failed:
        err_console.print(f"[red]not succeeded:[/red] {', '.join(failed)} (see the report)")
        raise typer.Exit(1)


_unavailable_plugins: dict[tuple[str, str], str] = {}
"""Plugins whose entry point failed to load, by (group, name): why."""


def _bench_specs() -> list[BenchSpec]:
    """Every ``consortium bench NAME`` but ``all``, with the parameters it takes; plugins that failed to load too."""
    from consortium.bench.report import BenchSpec  # noqa: PLC0415

    specs = []
    for command in bench_app.registered_commands:
        name = command.name or (command.callback.__name__ if command.callback else "")
        if name and name != "all" and command.callback is not None:
            specs.append(BenchSpec(name, frozenset(inspect.signature(command.callback).parameters)))
    specs += [
        BenchSpec(name, unavailable=reason)
        for (group, name), reason in _unavailable_plugins.items()
        if group == "consortium.bench" and name not in {s.name for s in specs}
    ]
    return specs


def _add_command(name: str, obj: typer.Typer | Callable[..., None]) -> None:
    """A command group (a Typer app) as ``consortium NAME ...``, or a function as the command ``consortium NAME``."""
    if isinstance(obj, typer.Typer):
        app.add_typer(obj, name=name)
    else:
        app.command(name)(obj)


def _add_plugins() -> None:
    """Add the subcommands other packages register: command groups or single commands under the
    ``consortium.commands`` entry point, benchmarks (``consortium bench NAME``) under ``consortium.bench``."""
    for group, add, prefix in (
        ("consortium.commands", _add_command, "consortium"),
        ("consortium.bench", lambda name, obj: bench_app.command(name)(obj), "consortium bench"),
    ):
        for entry in entry_points(group=group):
            try:
                add(entry.name, entry.load())
            except Exception as exc:  # a broken plugin must not take the core commands down with it
                _unavailable_plugins[(group, entry.name)] = f"{type(exc).__name__}: {exc}"
                err_console.print(f"[yellow]warning:[/yellow] `{prefix} {entry.name}` is unavailable: {exc}")


def main() -> None:
    """Entry point of the ``consortium`` script: known errors become one clear line and exit code 2."""
    _add_plugins()
    try:
        app()
    except NodeAdapterError as exc:
        err_console.print(f"[red]error:[/red] {exc}")
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
