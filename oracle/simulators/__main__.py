import typer

from oracle.tools.cli import simulators

typer.run(simulators)
