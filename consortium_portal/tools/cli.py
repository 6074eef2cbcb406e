"""``consortium portal ...``: the portal's commands, and its part of ``consortium up`` (see pyproject.toml)."""

from __future__ import annotations

import contextlib
import json
import signal
import sys
import threading
from pathlib import Path
from typing import Annotated

import typer
import uvicorn
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from consortium.supervisor import ServiceSpec, http_ready
from consortium_portal.app import create_app
from consortium_portal.context import PortalContext
from consortium_portal.settings import PortalSettings
from consortium_portal.tools.devsetup import approve_dev_policy, register_dev_kinds
from node_adapter.runtime import Runtime
from node_adapter.settings import DEV_CHAIN_IDS, NodeAdapterSettings, get_settings

app = typer.Typer(help="The members' API and web portal.", no_args_is_help=True)
console = Console()


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface [default: PORTAL_HOST or 127.0.0.1].")] = None,
    port: Annotated[int | None, typer.Option(help="Port [default: PORTAL_PORT or 8700].")] = None,
    background: Annotated[
        bool,
        typer.Option(
            help="Follow the chain into the read model and send the outbox; with several workers on one database, "
            "only one may (the others: --no-background)."
        ),
    ] = True,
    dev_setup: Annotated[
        bool,
        typer.Option(help="On a dev chain, register the portal's attestation kinds by a dev governance vote first."),
    ] = False,
    log_level: Annotated[str, typer.Option(help="uvicorn's log level (warning leaves out the access log).")] = "info",
) -> None:
    """Serve the portal (and follow the chain into its read model) until Ctrl-C."""
    settings = PortalSettings()
    context = PortalContext.open(settings, get_settings())
    if (
        dev_setup
        and context.connection.chain_id in DEV_CHAIN_IDS
        and register_dev_kinds(context.connection, context.suite)
    ):
        console.print("registered the portal's attestation kinds by a dev governance vote")
    if (
        dev_setup
        and context.connection.chain_id in DEV_CHAIN_IDS
        and approve_dev_policy(context.connection, context.suite)
    ):
        console.print("approved the default data-sharing policy by a dev governance vote")
    if background:
        context.start_background()
    try:
        uvicorn.run(create_app(context), host=host or settings.host, port=port or settings.port, log_level=log_level)
    finally:
        context.stop_background()


@app.command("policy")
def policy_command(
    file: Annotated[
        Path | None, typer.Argument(help="A data-sharing policy file (TOML, or JSON) [default: the repository's].")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """A data-sharing policy's version, digest and rules: the digest governors approve by proposal, computed here
    from the file, as the portal does (exit 2 for a malformed file, saying what is wrong)."""
    from consortium_portal.errors import InvalidInputError  # noqa: PLC0415
    from consortium_portal.policy import default_policy, load_policy_file  # noqa: PLC0415

    try:
        policy = default_policy() if file is None else load_policy_file(file)
    except (InvalidInputError, OSError) as exc:
        console.print(f"[red]{escape(str(exc))}[/]", soft_wrap=True)
        raise typer.Exit(2) from None
    if as_json:
        print(json.dumps({"version": policy.version, "digest": policy.digest, "description": policy.canonical()}))
        return
    console.print(f"version {policy.version}: {escape(policy.title)}")
    console.print(f"digest {policy.digest} (the approving proposal's description digest)")
    for rule in policy.rules:
        console.print(f"- {', '.join(rule.kinds)}: {escape(rule.describe())}")


def up_services(node_settings: NodeAdapterSettings) -> list[ServiceSpec]:
    """``consortium up``'s service of the portal: ``consortium portal serve`` as a process, its kinds registered on a
    dev chain, the access log left out of the console."""
    settings = PortalSettings()
    url = settings.url()
    return [
        ServiceSpec(
            name="portal",
            command=[
                sys.executable,
                "-m",
                "consortium.cli",
                "portal",
                "serve",
                "--dev-setup",
                "--log-level",
                "warning",
            ],
            ready=http_ready(f"{settings.local_url()}/health"),
            ready_timeout=120.0,  # on a new dev chain it first registers its kinds by a governance vote
            order=30,
            banner=f"portal at {url} (API docs at {url}/docs; sign in with a member's dev account)",
            links={"portal": f"{url}/", "API docs": f"{url}/docs"},
        )
    ]


def demo(
    fresh: Annotated[
        bool,
        typer.Option(
            "--fresh",
            help="Play on a fresh chain and portal of the demo's own (free ports; state in <state dir>/demo, wiped).",
        ),
    ] = False,
    serve: Annotated[
        bool, typer.Option(help="With --fresh: keep that chain and portal running after the story, until Ctrl-C.")
    ] = True,
) -> None:
    """Play the consortium's story for a visitor to follow in the portal: members admitted by vote, two cars sold and
    financed, liens, attestations, a loan 95 days overdue and cured, a value drop, a repossession through to
    settlement, points, and a false record slashed. Plays on the running system (`make up`); idempotent: a second
    run finds every step done and changes nothing."""
    from consortium_portal.tools import demo as story  # noqa: PLC0415 (only this command needs it)

    node = get_settings()
    if not fresh:
        portal = PortalSettings()
        story.require_running_portal(portal, node)
        runtime = Runtime.open(node)
        stage = story.Stage(runtime, portal, indexed_by="the portal of `make up`")
        ending = story.play(stage, console)
        story.print_ending(console, stage, ending, portal.url())
        return
    with story.fresh_system(node) as system:
        console.print(f"fresh chain at {system.chain.url}; portal at {system.portal.url()}; state in "
                      f"{system.runtime.settings.state_dir}", soft_wrap=True, highlight=False)  # fmt: skip
        stage = story.Stage(system.runtime, system.portal, indexed_by="the demo's own portal")
        ending = story.play(stage, console)
        story.print_ending(console, stage, ending, system.portal.url())
        console.print(story.COMPLETE)
        if serve:
            stop = threading.Event()
            for signum in (signal.SIGINT, signal.SIGTERM):
                signal.signal(signum, lambda *_: stop.set())
            console.print("the fresh chain and its portal keep running: Ctrl-C stops them (their state goes with them)")
            stop.wait()


def bench(
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    records: Annotated[int, typer.Option(help="Records about the one vehicle verified.")] = 200,
    clients: Annotated[int, typer.Option(help="Concurrent client processes.")] = 4,
    requests: Annotated[int, typer.Option(help="Requests in all.")] = 2000,
) -> None:
    """Latency and throughput of verifying a VIN with many records, with concurrent clients (fresh Anvil node)."""
    from consortium_portal.tools.bench import verify_report  # noqa: PLC0415

    with console.status("preparing a vehicle on a fresh node ...") if not as_json else contextlib.nullcontext():
        report = verify_report(records=records, clients=clients, requests=requests)
    if as_json:
        print(json.dumps(report))
        return
    table = Table(title=f"GET /api/v1/vehicles/{{vin}} with {records} records, {clients} clients")
    table.add_column("figure")
    table.add_column("value", justify="right")
    for key, value in report.items():
        table.add_row(key, str(value))
    console.print(table)


def bench_scale(
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    sizes: Annotated[
        str, typer.Option(help="Record counts to measure at, comma-separated (each adds to the one before).")
    ] = "1000,10000,100000",
    records_per_vehicle: Annotated[int, typer.Option(help="Records about each vehicle.")] = 10,
    batch_size: Annotated[int, typer.Option(help="Records in each Merkle batch.")] = 1000,
    samples: Annotated[int, typer.Option(help="Vehicles and documents verified at each size.")] = 100,
) -> None:
    """How cost grows with the number of records: gas per record (single attestations, Merkle batches), the read
    model's rebuild, and verifying a VIN and a document through the portal, at each size (one fresh Anvil node)."""
    from consortium_portal.tools.scale import scale_report  # noqa: PLC0415

    try:
        counts = [int(part.replace("_", "")) for part in sizes.split(",") if part.strip()]
    except ValueError:
        raise typer.BadParameter(f"sizes are comma-separated record counts, e.g. 1000,10000; got {sizes!r}") from None
    progress = Console(stderr=True)

    def say(line: str) -> None:
        progress.print(line, highlight=False, soft_wrap=True)

    report = scale_report(sizes=counts, records_per_vehicle=records_per_vehicle, batch_size=batch_size,
                          samples=samples, say=say)  # fmt: skip
    if as_json:
        print(json.dumps(report))
        return
    points = report["points"]
    table = Table(title=f"cost by number of records ({records_per_vehicle} a vehicle, batches of {batch_size})")
    table.add_column("figure")
    for point in points:
        table.add_column(f"{point['records']:,}", justify="right")
    for figure in points[0]:
        if figure != "records":
            table.add_row(figure, *(str(point.get(figure, "")) for point in points))
    console.print(table)
    console.print(f"loading: {report['load_method']}")


def bench_ocr(
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    documents: Annotated[int, typer.Option(min=1, help="Generated documents read.")] = 56,
    seed: Annotated[int, typer.Option(help="Seed of the generated documents.")] = 7,
) -> None:
    """OCR intake over generated registration certificates, invoices, repair bills and policies (Chinese and
    English): field accuracy, exact VINs, milliseconds per page."""
    from consortium_portal.tools.ocr_bench import ocr_report  # noqa: PLC0415

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
