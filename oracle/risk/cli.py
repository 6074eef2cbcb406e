"""``consortium risk ...`` (score, calibrate, recompute) and ``consortium bench risk``.

Every figure these commands print about discrimination comes from the simulated portfolio
(:mod:`oracle.risk.portfolio`), not from real loans: they say so in their output.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from oracle.risk.calibration import calibrate_simulated
from oracle.risk.model import (
    DEFAULT_MODEL_VERSION,
    RiskModelError,
    compute_score,
    get_model,
    recompute,
)
from oracle.risk.settings import RiskSettings

SIMULATED_NOTE = "(figures from simulated data: the simulated portfolio of oracle.risk.portfolio, not real loans)"

app = typer.Typer(
    help="The dynamic vehicle risk score: score inputs, calibrate the model, recompute anchored scores.",
    no_args_is_help=True,
)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except OSError as exc:
        raise RiskModelError(f"cannot read {path}: {exc.strerror}") from exc
    except ValueError as exc:
        raise RiskModelError(f"{path} is not JSON: {exc}") from exc


@app.command()
def score(
    inputs: Annotated[Path, typer.Argument(help="A JSON object of the score's inputs (see docs/risk.md).")],
    model: Annotated[str | None, typer.Option(help="Model version (default: ORACLE_RISK_MODEL_VERSION).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Score a vehicle's inputs and show each dimension's contribution."""
    settings = RiskSettings()
    params = get_model(model or settings.model_version, settings.model_dirs())
    data = _read_json(inputs)
    if not isinstance(data, dict):
        raise RiskModelError(f"{inputs} must hold a JSON object of inputs")
    result = compute_score(data, params)
    if as_json:
        print(json.dumps(result.model_dump(mode="json")))
        return
    typer.echo(f"score {result.value:.2f} / 100 (model {result.model_version}){' PARTIAL' if result.partial else ''}")
    for dim in result.dimensions:
        typer.echo(f"  {dim.dimension:<10} {dim.contribution / 100:6.2f} of {dim.points / 100:6.2f}")
    for feature, why in result.imputed.items():
        typer.echo(f"  imputed {feature}: {why}")


@app.command()
def calibrate(
    seed: Annotated[int, typer.Option(help="Seed of the simulated portfolio and of the held-out split.")] = 7,
    loans: Annotated[int, typer.Option(help="Loans in the simulated portfolio.")] = 4000,
    out: Annotated[Path | None, typer.Option(help="Directory to write <version>.json to.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Refit the weights on the simulated portfolio, report AUC and KS on held-out loans, write the parameters."""
    params = calibrate_simulated(seed, loans)
    written = None
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        written = out / f"{params.version}.json"
        written.write_text(params.model_dump_json(indent=2) + "\n")
    report = {
        "version": params.version,
        "digest": params.digest,
        **params.calibration.model_dump(),
        "file": str(written),
    }
    _print_report(report, as_json=as_json)


@app.command(name="recompute")
def recompute_command(
    document: Annotated[Path, typer.Argument(help="An anchored score document (JSON, as stored off chain).")],
    model: Annotated[str | None, typer.Option(help="Recompute with this model version instead of its own.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Recompute an anchored score from its inputs and model version; exit 1 when it does not match."""
    data = _read_json(document)
    if not isinstance(data, dict):
        raise RiskModelError(f"{document} must hold a JSON object (a score document)")
    result = recompute(data, version=model, extra_dirs=RiskSettings().model_dirs())
    if as_json:
        print(json.dumps(result.model_dump(mode="json")))
    else:
        verdict = "matches" if result.matches else "DOES NOT MATCH"
        typer.echo(f"anchored {result.anchored_score} (model {result.anchored_version}), recomputed "
                   f"{result.recomputed_score} (model {result.recomputed_version}): {verdict}")  # fmt: skip
        for problem in result.problems:
            typer.echo(f"  {problem}")
    if not result.matches:
        raise typer.Exit(1)


def bench(
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    seed: Annotated[int, typer.Option(help="Seed of the simulated portfolio.")] = 7,
    loans: Annotated[int, typer.Option(help="Loans in the simulated portfolio.")] = 4000,
) -> None:
    """Calibrate on the simulated portfolio: AUC and KS of the score and of the static rules on held-out loans."""
    params = calibrate_simulated(seed, loans)
    figures = params.calibration
    shipped = None
    if params.version == DEFAULT_MODEL_VERSION:
        shipped = params.digest == get_model(DEFAULT_MODEL_VERSION).digest
    report = {
        "data": f"simulated portfolio, seed {seed}, {loans} loans (not real loans)",
        "auc": figures.auc,
        "ks": figures.ks,
        "baseline_auc": figures.baseline_auc,
        "baseline_ks": figures.baseline_ks,
        "held_out": figures.held_out,
        "bad_rate": figures.bad_rate,
        "model_version": params.version,
        "model_digest": params.digest,
        "matches_shipped_model": shipped,
    }
    _print_report(report, as_json=as_json)


def _print_report(report: dict[str, Any], *, as_json: bool) -> None:
    """A figures report as one JSON object, or one line per figure with the note that the data are simulated."""
    if as_json:
        print(json.dumps(report))
        return
    width = max(len(key) for key in report) + 2
    for key, value in report.items():
        typer.echo(f"{key:<{width}} {value}")
    typer.echo(SIMULATED_NOTE)
