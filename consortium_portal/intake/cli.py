"""``consortium bench ocr``: registered through the ``consortium.bench`` entry point (see pyproject.toml)."""

from __future__ import annotations

import contextlib
import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

console = Console()


def bench(
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    documents: Annotated[int, typer.Option(min=1, help="Generated documents read.")] = 56,
    seed: Annotated[int, typer.Option(help="Seed of the generated documents.")] = 7,
) -> None:
    """OCR intake over generated registration certificates, invoices, repair bills and policies (Chinese and
    English): field accuracy, exact VINs, milliseconds per page."""
    from consortium_portal.intake.bench import ocr_report  # noqa: PLC0415

    waiting = console.status(f"reading {documents} generated documents ...")
    with waiting if not as_json else contextlib.nullcontext():
        report = ocr_report(documents=documents, seed=seed)
    if as_json:
        print(json.dumps(report))
        return
    table = Table(title=f"OCR intake over {documents} generated documents (seed {seed})")
    table.add_column("figure")
    table.add_column("value", justify="right")
    for key, value in report.items():
        table.add_row(key, json.dumps(value) if isinstance(value, dict) else str(value))
    console.print(table)
