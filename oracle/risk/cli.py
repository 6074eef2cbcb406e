"""``consortium risk ...`` (score, calibrate, recompute) and ``consortium bench risk``.

Every figure these commands print about discrimination comes from the simulated portfolio
(:mod:`oracle.risk.portfolio`), not from real loans, and they say so in their output; but for
``calibrate --from-read-model``, whose ``data`` line says what the outcomes were (a dev chain's are simulated too).
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from eth_account.signers.local import LocalAccount
from sqlmodel import Session

from node_adapter.clients import Suite
from node_adapter.encoding import SaltedDocument
from node_adapter.outbox import Outbox
from node_adapter.runtime import Runtime
from node_adapter.settings import NodeAdapterSettings, get_settings
from node_adapter.shared.risk import CalibrationResult, score_by_digest
from oracle.risk.calibration import calibrate_simulated
from oracle.risk.job import RISK_MODEL_KIND, RISK_SCORE_KIND, anchor_model, model_key
from oracle.risk.model import (
    DEFAULT_MODEL_VERSION,
    RiskModelError,
    compute_score,
    get_model,
    recompute,
)
from oracle.risk.outcomes import RefitReport, refit
from oracle.risk.settings import RiskSettings
from oracle.settings import OracleSettings

DIGEST = re.compile(r"0x[0-9a-fA-F]{64}")
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
def calibrate(  # noqa: PLR0917 (typer options)
    seed: Annotated[
        int | None, typer.Option(help="Seed of the held-out split (and of the simulated portfolio); default 7.")
    ] = None,
    loans: Annotated[int, typer.Option(help="Loans in the simulated portfolio.")] = 4000,
    out: Annotated[Path | None, typer.Option(help="Directory to write <version>.json to.")] = None,
    from_read_model: Annotated[
        bool,
        typer.Option(
            "--from-read-model",
            help="Refit on the outcomes of the loans in the read model (cured, disposal, ran clean) instead, write "
            "the file to --out (default: ORACLE_RISK_MODELS_DIR, else <state dir>/risk-models) and anchor its digest "
            "on chain (kind 206). Exit 1 when there are too few outcomes.",
        ),
    ] = False,
    min_outcomes: Annotated[
        int | None, typer.Option(help="With --from-read-model: outcomes needed (ORACLE_RISK_CALIBRATION_MIN_OUTCOMES).")
    ] = None,
    min_each: Annotated[
        int | None,
        typer.Option(help="With --from-read-model: of which disposals and others, each (..._MIN_EACH)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Refit the weights (on the simulated portfolio, or on the read model's outcomes), report AUC and KS on held-out
    loans against the static rules, write the parameters."""
    if from_read_model:
        overrides = {
            "calibration_seed": seed,
            "calibration_min_outcomes": min_outcomes,
            "calibration_min_each": min_each,
        }
        refit_report = refit_from_read_model(
            out=out, overrides={key: value for key, value in overrides.items() if value is not None}
        )
        _print_report(refit_report.as_json(), as_json=as_json, note=None)
        if refit_report.result == CalibrationResult.REFUSED:
            raise typer.Exit(1)
        return
    params = calibrate_simulated(seed if seed is not None else 7, loans)
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


def refit_from_read_model(*, out: Path | None, overrides: dict[str, Any]) -> RefitReport:
    """:func:`refit` on the configured network's database and chain, signed by the risk signer; waits for the
    model's anchoring (kind 206) to be final."""
    node_settings = get_settings()
    settings = RiskSettings().model_copy(update=overrides).with_state_dir(node_settings.state_dir)
    runtime = Runtime.open(node_settings)
    suite = Suite.from_deployment(runtime.connection, runtime.deployment())
    signer = risk_signer(settings.signer, runtime.is_dev_chain())
    report = refit(
        engine=runtime.engine,
        outbox=runtime.outbox,
        suite=suite,
        sender=signer.address,
        settings=settings,
        models_dir=out or settings.models_dir or node_settings.state_dir / "risk-models",
    )
    if report.model is not None:
        worker = runtime.worker([signer])
        key = model_key(report.model.digest)
        deadline = time.monotonic() + 120
        while not _final(runtime.outbox, key):
            if time.monotonic() > deadline:
                raise TimeoutError(f"the anchoring of model {report.model.version} is not final after 120 s")
            if worker.run_once() == 0:
                time.sleep(0.05)
        anchor_model(runtime.engine, runtime.outbox, suite.registry, sender=signer.address, model=report.model)
    return report


def _final(outbox: Outbox, key: str) -> bool:
    tx = outbox.get(key)
    return tx is not None and tx.status.final


def risk_signer(name: str, dev_chain: bool) -> LocalAccount:
    """The account that anchors for the risk score: a dev account on a dev chain, else its keystore
    (``ORACLE_SIGNERS``)."""
    from oracle.service import load_signers  # noqa: PLC0415 (the service imports this package)
    from oracle.tools.devsetup import dev_signers  # noqa: PLC0415 (dev chains only)

    oracle_settings = OracleSettings()
    signers = load_signers(oracle_settings) if oracle_settings.signers or not dev_chain else dev_signers()
    if name not in signers:
        raise RiskModelError(f"the risk signer {name!r} (ORACLE_RISK_SIGNER) is not one of the oracle's signers")
    return signers[name]


@app.command(name="recompute")
def recompute_command(
    document: Annotated[
        str,
        typer.Argument(
            help="An anchored score document (a JSON file, as stored off chain), or a score's digest (0x...): the "
            "document is then looked up in the database and its attestation checked on chain.",
            metavar="DOCUMENT|DIGEST",
        ),
    ],
    model: Annotated[str | None, typer.Option(help="Recompute with this model version instead of its own.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Recompute an anchored score from its inputs and model version; exit 1 when it does not match (or, by digest,
    when the chain does not hold its attestation and its model's)."""
    node_settings = get_settings()
    dirs = RiskSettings().with_state_dir(node_settings.state_dir).model_dirs()
    chain: dict[str, Any] | None = None
    if DIGEST.fullmatch(document) and not Path(document).exists():
        data, chain = anchored_score(node_settings, document.lower())
    else:
        data = _read_json(Path(document))
        if not isinstance(data, dict):
            raise RiskModelError(f"{document} must hold a JSON object (a score document)")
    result = recompute(data, version=model, extra_dirs=dirs)
    if chain is not None and chain["problems"]:
        result = result.model_copy(update={"matches": False, "problems": result.problems + chain["problems"]})
    if as_json:
        print(json.dumps(result.model_dump(mode="json") | ({"chain": chain} if chain is not None else {})))
    else:
        verdict = "matches" if result.matches else "DOES NOT MATCH"
        typer.echo(f"anchored {result.anchored_score} (model {result.anchored_version}), recomputed "
                   f"{result.recomputed_score} (model {result.recomputed_version}): {verdict}")  # fmt: skip
        if chain is not None and not chain["problems"]:
            typer.echo(f"  on chain: attested by {chain['attester']} at {chain['time']} (kind {RISK_SCORE_KIND}); "
                       f"model digest attested (kind {RISK_MODEL_KIND})")  # fmt: skip
        for problem in result.problems:
            typer.echo(f"  {problem}")
    if not result.matches:
        raise typer.Exit(1)


def anchored_score(node_settings: NodeAdapterSettings, digest: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """A score document by its digest from the database, and what the chain says: the attestation of the digest
    (kind 205, still valid) and of the model digest the document names (kind 206). Problems are listed, not raised;
    a digest the database does not hold is an error."""
    runtime = Runtime.open(node_settings)
    registry = Suite.from_deployment(runtime.connection, runtime.deployment()).registry
    with Session(runtime.engine) as session:
        row = score_by_digest(session, digest)
    if row is None:
        raise RiskModelError(f"no risk score with digest {digest} in this database")
    document = json.loads(row.document)
    problems: list[str] = []
    if not SaltedDocument.from_salted(document, bytes.fromhex(digest[2:])).verify():
        problems.append("the stored document does not hash to its digest: it was altered")
    record = registry.get_record(digest).record
    if not record.exists:
        problems.append("not anchored: the chain holds no record with this digest")
    elif record.kind != RISK_SCORE_KIND:
        problems.append(f"the chain's record with this digest is of kind {record.kind}, not {RISK_SCORE_KIND}")
    elif not registry.is_valid(digest):
        problems.append("the score's attestation is no longer valid (revoked or invalidated)")
    model_digest = str(document.get("model_digest", ""))
    model_record = registry.get_record(model_digest).record if DIGEST.fullmatch(model_digest) else None
    if model_record is None or not model_record.exists or model_record.kind != RISK_MODEL_KIND:
        problems.append(f"the model's digest {model_digest} is not attested on chain (kind {RISK_MODEL_KIND})")
    chain = {"attester": record.attester, "time": record.time, "kind": record.kind, "problems": problems}
    return {key: value for key, value in document.items() if key != "_salt"}, chain


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


def _print_report(report: dict[str, Any], *, as_json: bool, note: str | None = SIMULATED_NOTE) -> None:
    """A figures report as one JSON object, or one line per figure with the note that the data are simulated (a
    read-model report names its data in its ``data`` line instead)."""
    if as_json:
        print(json.dumps(report))
        return
    width = max(len(key) for key in report) + 2
    for key, value in report.items():
        typer.echo(f"{key:<{width}} {value}")
    if note:
        typer.echo(note)
