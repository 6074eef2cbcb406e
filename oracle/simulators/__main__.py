import typer

from oracle.cli import simulators

typer.run(simulators)
