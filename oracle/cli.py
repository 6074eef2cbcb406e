"""``consortium oracle ...``: the oracle's commands, registered with the ``consortium`` CLI as a plugin.

node_adapter must not import the oracle, so the oracle adds itself through the ``consortium.commands`` entry point
(pyproject.toml). For now it serves the data-source simulators; the feeds (`run`, `status`) come next.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer
import uvicorn

from oracle.residual import held_out_error
from oracle.simulators.apps import create_app
from oracle.simulators.simulation import Simulation

app = typer.Typer(
    help="The oracle: off-chain data feeds (today: the data-source simulators, the residual-value estimator).",
    no_args_is_help=True,
)


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
def simulators(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port of the one server for all four sources.")] = 8600,
    seed: Annotated[int, typer.Option(help="Seed of the fleet and of every feed (same seed, same data).")] = 7,
    fleet: Annotated[int, typer.Option(help="Number of vehicles.")] = 200,
    report_interval: Annotated[int, typer.Option(help="Simulated seconds between T-Box reports.")] = 300,
) -> None:
    """Serve the DMV, telematics, market and loan-servicing simulators under /dmv, /telematics, /market, /loans."""
    simulation = Simulation(seed, fleet, report_interval=report_interval)
    uvicorn.run(create_app(simulation), host=host, port=port, log_level="info")
