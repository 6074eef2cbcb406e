"""``consortium oracle ...``: the oracle's commands, registered with the ``consortium`` CLI as a plugin.

node_adapter must not import the oracle, so the oracle adds itself through the ``consortium.commands`` entry point
(and ``consortium bench oracle`` through ``consortium.bench``; see pyproject.toml). It is a tool surface: ``run``
starts the running oracle (``oracle.service``), the other commands read its database, measure it or serve the
simulators.
"""

from __future__ import annotations

import contextlib
import json
import signal
import sys
import threading
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

import typer
import uvicorn
from rich.console import Console
from rich.table import Table

from consortium.supervisor import ServiceSpec, http_ready, output_ready
from node_adapter.db import make_engine
from node_adapter.progress import progress_bar
from node_adapter.settings import NodeAdapterSettings, get_settings
from oracle.pipeline import create_oracle_schema, oracle_status
from oracle.service import open_service
from oracle.settings import OracleSettings
from oracle.simulators.apps import create_app
from oracle.simulators.server import SimulatorServer
from oracle.simulators.simulation import Simulation
from oracle.tools.holdout import held_out_error

app = typer.Typer(
    help="The oracle: off-chain data feeds of DMV, telematics, market and loan data into the contracts.",
    no_args_is_help=True,
)
console = Console()

RUNNING = "oracle running"
"""What ``consortium oracle run`` prints once its jobs run (``consortium up`` waits for it)."""
CONSORTIUM = [sys.executable, "-m", "consortium.cli"]
"""The ``consortium`` command line of this interpreter."""


@app.command()
def run(
    once: Annotated[bool, typer.Option("--once", help="Run every job until nothing moves, then exit.")] = False,
    setup_dev: Annotated[
        bool, typer.Option(help="On a dev chain, admit the oracle's dev members and register its kinds first.")
    ] = True,
) -> None:
    """Run the oracle's jobs (one per source and feed) and its outbox worker until Ctrl-C."""
    service = open_service(get_settings(), OracleSettings(), setup_dev=setup_dev)
    if once:
        with progress_bar(console, "reading, writing and anchoring batches") as progress:
            rounds = service.settle(tolerate_failures=True, progress=progress)
        console.print(f"settled after {rounds} rounds")
        _print_status(service.oracle.status())
        return
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    service.start()
    console.print(f"{RUNNING} (jobs: {', '.join(service.steps)}); Ctrl-C stops it")
    stop.wait()
    console.print("stopping: waiting for running jobs ...")
    service.stop()
    service.oracle.close()


def up_services(node_settings: NodeAdapterSettings) -> list[ServiceSpec]:
    """``consortium up``'s services of the oracle: the simulators (unless ``ORACLE_SIMULATE`` is off) and the
    oracle's jobs, each a process (``consortium oracle simulators``, ``consortium oracle run``)."""
    settings = OracleSettings()
    specs: list[ServiceSpec] = []
    if settings.simulate:
        url = urlsplit(settings.simulators_url)
        host, port = url.hostname or "127.0.0.1", url.port or 80
        state_file = node_settings.state_dir / "simulators" / "simulation.pickle"
        options = {"host": host, "port": port, "seed": settings.simulator_seed, "fleet": settings.simulator_fleet,
                   "speed": settings.simulator_speed, "state-file": state_file}  # fmt: skip
        specs.append(
            ServiceSpec(
                name="simulators",
                command=[*CONSORTIUM, "oracle", "simulators", *(f"--{k}={v}" for k, v in options.items())],
                ready=http_ready(f"http://{host}:{port}/health"),
                order=10,
                banner=f"simulators (DMV, telematics, market, loans) at {settings.simulators_url}/<source>, "
                f"clock x{settings.simulator_speed:g}",
            )
        )
    specs.append(
        ServiceSpec(
            name="oracle",
            command=[*CONSORTIUM, "oracle", "run"],
            ready=output_ready(RUNNING),
            ready_timeout=180.0,  # on a new dev chain it first admits its members by a governance vote
            order=20,
            stop_timeout=60.0,  # it lets running jobs finish
            banner=f"oracle jobs running every {settings.interval:g} s (`consortium oracle status` shows them)",
        )
    )
    return specs


@app.command()
def status(as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False) -> None:
    """Each feed's last success, lag and failures, the backlog, and the quarantined records (from the database)."""
    engine = make_engine(get_settings().effective_database_url)
    create_oracle_schema(engine)
    report = oracle_status(engine, OracleSettings())
    if as_json:
        print(json.dumps(report))
        return
    _print_status(report)


def _print_status(report: dict[str, Any]) -> None:
    table = Table(title="oracle feeds")
    for column in ("feed", "health", "last success", "lag s", "records", "dup", "quarantined", "last error"):
        table.add_column(column)
    for name, feed in sorted(report["feeds"].items()):
        health = "[green]ok[/green]" if feed.get("healthy", True) else f"[red]failing x{feed['failures']}[/red]"
        table.add_row(name, health, str(feed.get("last_success") or "-"), str(feed.get("lag_s") or "-"),
                      str(feed.get("records", "-")), str(feed.get("duplicates", "-")),
                      str(feed.get("quarantined", "-")), str(feed.get("last_error") or ""))  # fmt: skip
    console.print(table)
    backlog = report["backlog"]
    console.print(f"actions: {backlog['actions'] or 'none'}; records waiting for a batch: "
                  f"{backlog['unbatched_records']}; outbox: {backlog['outbox'] or 'empty'}")  # fmt: skip
    console.print(f"batches: {report['batches'] or 'none'}; quarantined: {report['quarantined'] or 'none'}")


@app.command()
def residual(
    seed: Annotated[int, typer.Option(help="Seed of the simulated market.")] = 7,
    held_out: Annotated[float, typer.Option(help="Share of the latest sales held out for measuring.")] = 0.3,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Fit the residual-value estimator on simulated sales and print its error on held-out ones."""
    report = held_out_error(seed, held_out_share=held_out)
    if as_json:
        print(json.dumps(report))
        return
    for key, value in report.items():
        typer.echo(f"{key:<20} {value}")
    typer.echo("(figures from simulated data: the market simulator's comparable sales, not a real market)")


@app.command()
def simulators(  # noqa: PLR0917 (typer options)
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port of the one server for all four sources.")] = 8600,
    seed: Annotated[int, typer.Option(help="Seed of the fleet and of every feed (same seed, same data).")] = 7,
    fleet: Annotated[int, typer.Option(help="Number of vehicles.")] = 200,
    report_interval: Annotated[int, typer.Option(help="Simulated seconds between T-Box reports.")] = 300,
    speed: Annotated[
        float | None, typer.Option(help="Run the simulated clock by itself at this many seconds per second.")
    ] = None,
    state_file: Annotated[
        Path | None,
        typer.Option(
            help="With --speed: resume the simulation from this file, and save it there (every minute, on exit)."
        ),
    ] = None,
) -> None:
    """Serve the DMV, telematics, market and loan-servicing simulators under /dmv, /telematics, /market, /loans."""
    if speed is None:
        simulation = Simulation(seed, fleet, report_interval=report_interval)
        uvicorn.run(create_app(simulation), host=host, port=port, log_level="info")
        return
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    with SimulatorServer(
        seed, fleet, port, host=host, report_interval=report_interval, speed=speed, state_file=state_file
    ) as server:
        console.print(f"simulators at {server.url}/<source>, clock x{speed:g}; Ctrl-C stops them")
        stop.wait()


def bench(
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    samples: Annotated[int, typer.Option(help="Geofence exits timed (one vehicle each).")] = 20,
    fleet: Annotated[int, typer.Option(help="Vehicles in the simulated fleet.")] = 60,
    hours: Annotated[int, typer.Option(help="Simulated hours of T-Box readings for the throughput figure.")] = 6,
) -> None:
    """Alert latency (simulator anomaly to case on chain) and telematics readings per second through batches."""
    from oracle.tools.bench import oracle_report  # noqa: PLC0415

    with console.status("running the oracle on a fresh node ...") if not as_json else contextlib.nullcontext():
        report = oracle_report(samples=samples, fleet=fleet, hours=hours)
    if as_json:
        print(json.dumps(report))
        return
    table = Table(title="oracle on Anvil (automine)")
    table.add_column("figure")
    table.add_column("value", justify="right")
    for key, value in report.items():
        table.add_row(key, str(value))
    console.print(table)
    console.print("(figures from simulated data: the simulators' fleet, not real vehicles)")
