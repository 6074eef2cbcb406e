"""``consortium portal ...``: the portal's commands, and its part of ``consortium up`` (see pyproject.toml)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
import uvicorn
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from consortium_portal.app import PortalContext, create_app
from consortium_portal.devsetup import approve_dev_policy, register_dev_kinds
from consortium_portal.settings import PortalSettings
from node_adapter.serving import BackgroundServer
from node_adapter.settings import DEV_CHAIN_IDS, NodeAdapterSettings

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
) -> None:
    """Serve the portal (and follow the chain into its read model) until Ctrl-C."""
    settings = PortalSettings()
    uvicorn.run(create_app(index=background), host=host or settings.host, port=port or settings.port, log_level="info")


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


def serve_for_up(node_settings: NodeAdapterSettings, say: Callable[[str], None]) -> Callable[[], None]:
    """``consortium up``'s hook: serve the portal next to the chain, indexing it; returns what stops it."""
    settings = PortalSettings()
    context = PortalContext.open(settings, node_settings)
    if context.connection.chain_id in DEV_CHAIN_IDS and register_dev_kinds(context.connection, context.suite):
        say("registered the portal's attestation kinds by a dev governance vote")
    if context.connection.chain_id in DEV_CHAIN_IDS and approve_dev_policy(context.connection, context.suite):
        say("approved the default data-sharing policy by a dev governance vote")
    context.start_background()
    server = BackgroundServer(create_app(context), host=settings.host, port=settings.port, name="portal")
    try:
        server.start()
    except BaseException:
        context.stop_background()
        raise
    say(f"portal at {server.url} (API docs at {server.url}/docs; sign in with a member's dev account)")

    def stop() -> None:
        server.stop()
        context.stop_background()

    return stop


def bench(
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    records: Annotated[int, typer.Option(help="Records about the one vehicle verified.")] = 200,
    clients: Annotated[int, typer.Option(help="Concurrent client processes.")] = 4,
    requests: Annotated[int, typer.Option(help="Requests in all.")] = 2000,
) -> None:
    """Latency and throughput of verifying a VIN with many records, with concurrent clients (fresh Anvil node)."""
    from consortium_portal.bench import verify_report  # noqa: PLC0415

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
