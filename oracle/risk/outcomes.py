"""Calibration against outcomes in the read model: the loans that were cured, went to disposal, or ran clean.

A loan of the read model (``rm_loan``) gets its outcome from its cases and their steps (``rm_case``,
``rm_case_transition``) and from the DMV's reports (``rm_report``):

- ``disposal``: a case of the loan reached ``repossession_ordered`` (or a step after it);
- ``cured``: a case of the loan was cured, and none went to disposal;
- ``clean``: no case of the loan was ever triggered, and the loan has been on the books ``clean_after`` seconds of
  chain time with its lien active, or the DMV released its lien (repaid);
- left out (``pending``): a case still in progress, a loan younger than ``clean_after``, a loan whose lien was never
  confirmed or that was cancelled.

A loan's inputs are those of its vehicle's latest score anchored (a kind-205 attestation in the read model, neither
revoked nor invalidated) before the outcome was known: before the block its case was first triggered, or, for a loan
that ran clean, by now. The score document is read from ``oracle_risk_score`` and must hash to the anchored digest.
A loan without such a score is left out (``without_score``).

The refit is :func:`oracle.risk.calibration.calibrate` on those loans (weights fitted on 70%, AUC and KS of the score
and of the static rules on the 30% held out). Its version names what it was fitted on, ``r1.rm.n<loans>.<10 hex
digits of the outcomes' digest>``: the same outcomes give the same version and the same file, so running it again
publishes nothing new. With too few outcomes it refuses and says what it found.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from eth_utils.crypto import keccak
from sqlalchemy import inspect
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from node_adapter.clients import DmvEventKind, Suite
from node_adapter.encoding import SaltedDocument, canonical_json
from node_adapter.exceptions import EncodingError
from node_adapter.outbox import Outbox
from node_adapter.readmodel import AttestationView, CaseTransitionView, CaseView, LoanView, ReportView
from node_adapter.settings import DEV_CHAIN_IDS
from node_adapter.shared.risk import (
    CalibrationResult,
    RiskCalibrationRun,
    RiskModelRow,
    RiskScoreRow,
    create_risk_schema,
)
from oracle.risk.calibration import calibrate
from oracle.risk.job import RISK_SCORE_KIND, anchor_model
from oracle.risk.model import FAMILY, ModelParameters, RiskModelError, load_parameters
from oracle.risk.settings import RiskSettings

logger = logging.getLogger(__name__)

Outcome = Literal["disposal", "cured", "clean"]
OUTCOMES: tuple[Outcome, ...] = ("disposal", "cured", "clean")
DISPOSAL_STATES = frozenset({"repossession_ordered", "repossessed", "appraised", "auctioned", "settled"})
DAY = 86_400


class CalibrationRefused(RiskModelError):
    """The read model does not hold enough outcomes to refit the weights (says what it holds and what is needed)."""


@dataclass(frozen=True)
class LoanOutcome:
    """A loan whose outcome is known, with the inputs of the score anchored before it was."""

    loan_id: int
    subject: str
    outcome: Outcome
    score_digest: str
    inputs: dict[str, Any]


@dataclass
class Outcomes:
    loans: list[LoanOutcome] = field(default_factory=list)
    pending: int = 0
    """Loans whose outcome is not known yet (or never will be: cancelled)."""
    without_score: int = 0
    """Loans with an outcome but no score anchored before it."""

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = dict.fromkeys(OUTCOMES, 0)
        for loan in self.loans:
            counts[loan.outcome] += 1
        return {**counts, "pending": self.pending, "without_score": self.without_score}

    def digest(self, seed: int) -> str:
        """What a refit on these outcomes is fitted on (the score digests commit to the inputs)."""
        loans = [[loan.loan_id, loan.outcome, loan.score_digest] for loan in self.loans]
        return keccak(canonical_json({"family": FAMILY, "seed": seed, "loans": loans})).hex()


def read_outcomes(engine: Engine, *, now: int, block_time: Callable[[int], int], clean_after: float) -> Outcomes:
    """The loans of the read model whose outcome is known, each with its anchored score's inputs (``now`` and
    ``block_time``: the chain's time, and a block's)."""
    with Session(engine, expire_on_commit=False) as session:
        if not inspect(session.connection()).has_table(LoanView.__tablename__):
            raise CalibrationRefused(
                "no read model in this database: index the chain into it first (consortium index, or the portal)"
            )
        loans = session.exec(select(LoanView).order_by(col(LoanView.loan_id))).all()
        case_loan = {case.case_id: case.loan_id for case in session.exec(select(CaseView)).all()}
        steps = session.exec(select(CaseTransitionView).order_by(col(CaseTransitionView.id))).all()
        dmv_reports = session.exec(select(ReportView).where(ReportView.report == "dmv")).all()
        anchored = _anchored_scores(session)
    reached: dict[int, dict[str, int]] = {}  # loan -> state -> first block it was reached in
    for step in steps:
        states = reached.setdefault(case_loan.get(step.case_id, 0), {})
        states.setdefault(step.to_state, step.block_number)
    repaid = {
        report.loan_id
        for report in dmv_reports
        if int(json.loads(report.detail).get("eventKind", -1)) == DmvEventKind.LIEN_RELEASED
    }
    outcomes = Outcomes()
    for loan in loans:
        states = reached.get(loan.loan_id, {})
        outcome: Outcome | None
        cutoff: int | None = None  # the score must be anchored before this block
        if DISPOSAL_STATES & states.keys():
            outcome, cutoff = "disposal", states.get("triggered")
        elif "cured" in states:
            outcome, cutoff = "cured", states.get("triggered")
        elif "triggered" in states:
            outcome = None  # a case in progress
        elif loan.lien_status == "released":
            outcome = "clean" if loan.loan_id in repaid else None  # repaid, or cancelled before its lien was active
        elif loan.lien_status == "active" and now - block_time(loan.registered_block) >= clean_after:
            outcome = "clean"
        else:
            outcome = None
        if outcome is None:
            outcomes.pending += 1
            continue
        score = _score_before(anchored.get(loan.subject, []), cutoff)
        if score is None:
            outcomes.without_score += 1
            continue
        digest, inputs = score
        outcomes.loans.append(LoanOutcome(loan.loan_id, loan.subject, outcome, digest, inputs))
    return outcomes


def _anchored_scores(session: Session) -> dict[str, list[tuple[int, RiskScoreRow]]]:
    """Per subject, the scores anchored on chain (by the block of their attestation), oldest first."""
    rows = session.exec(
        select(RiskScoreRow, AttestationView.block_number)
        .join(AttestationView, col(AttestationView.uid) == col(RiskScoreRow.digest))
        .where(
            AttestationView.kind == RISK_SCORE_KIND,
            col(AttestationView.revoked_at).is_(None),
            col(AttestationView.invalidated).is_(False),
        )
        .order_by(col(AttestationView.block_number), col(RiskScoreRow.id))
    ).all()
    out: dict[str, list[tuple[int, RiskScoreRow]]] = {}
    for row, block in rows:
        out.setdefault(row.subject, []).append((block, row))
    return out


def _score_before(scores: list[tuple[int, RiskScoreRow]], cutoff: int | None) -> tuple[str, dict[str, Any]] | None:
    """The newest score anchored before ``cutoff`` (any, without one) whose document hashes to its digest."""
    for block, row in reversed(scores):
        if cutoff is not None and block >= cutoff:
            continue
        try:
            document = json.loads(row.document)
            intact = SaltedDocument.from_salted(document, bytes.fromhex(row.digest[2:])).verify()
        except (ValueError, EncodingError):
            intact = False
        if not intact or not isinstance(document.get("inputs"), dict):
            logger.warning("score %s does not hash to its anchored digest: left out of the calibration", row.digest)
            continue
        return row.digest, document["inputs"]
    return None


def calibrate_outcomes(
    outcomes: Outcomes, *, seed: int, min_outcomes: int, min_each: int, data: str
) -> ModelParameters:
    """Refit the weights on ``outcomes`` (``data`` says what they are); :class:`CalibrationRefused` with too few."""
    counts = outcomes.counts()
    total, bad = len(outcomes.loans), counts["disposal"]
    if total < min_outcomes or bad < min_each or total - bad < min_each:
        raise CalibrationRefused(
            f"too few outcomes to refit the weights: {total} loans with an outcome and an anchored score "
            f"({counts['disposal']} went to disposal, {counts['cured']} cured, {counts['clean']} ran clean); "
            f"needed: at least {min_outcomes}, of which {min_each} went to disposal and {min_each} did not "
            f"(also found: {counts['pending']} without an outcome yet, {counts['without_score']} without a score "
            "anchored before their outcome)"
        )
    version = f"r1.rm.n{total}.{outcomes.digest(seed)[:10]}"
    try:
        return calibrate(
            [loan.inputs for loan in outcomes.loans],
            [loan.outcome == "disposal" for loan in outcomes.loans],
            version=version,
            data=data,
            seed=seed,
        )
    except ValueError as exc:  # e.g. the held-out loans are all of one outcome
        raise CalibrationRefused(f"the outcomes do not allow a refit: {exc}") from exc


@dataclass
class RefitReport:
    """What one calibration against the read model did."""

    result: CalibrationResult
    message: str
    counts: dict[str, int]
    model: ModelParameters | None = None
    file: Path | None = None

    def as_json(self) -> dict[str, Any]:
        report: dict[str, Any] = {"result": str(self.result), "message": self.message, "outcomes": self.counts}
        if self.model is not None:
            report |= {
                "version": self.model.version,
                "digest": self.model.digest,
                **self.model.calibration.model_dump(),
                "file": str(self.file),
            }
        return report


def refit(
    *, engine: Engine, outbox: Outbox, suite: Suite, sender: str, settings: RiskSettings, models_dir: Path
) -> RefitReport:
    """Refit on the read model's outcomes, write ``models_dir/<version>.json``, anchor its digest (kind 206, through
    the outbox, by ``sender``), and record the run in ``risk_calibration_run``. Refusing is a result, not an error."""
    create_risk_schema(engine)
    connection = suite.registry.connection
    chain_id = connection.chain_id

    @functools.cache
    def block_time(number: int | str) -> int:
        return int(connection.call(lambda w3: w3.eth.get_block(number)["timestamp"]))  # type: ignore[arg-type]

    counts: dict[str, int] = {}
    try:
        outcomes = read_outcomes(
            engine,
            now=block_time("latest"),
            block_time=block_time,
            clean_after=settings.calibration_clean_after_days * DAY,
        )
        counts = outcomes.counts()
        data = (
            f"read model outcomes on chain {chain_id}: {len(outcomes.loans)} loans ({counts['disposal']} went to "
            f"disposal, {counts['cured']} cured, {counts['clean']} ran clean) with the inputs of their anchored scores"
        )
        if chain_id in DEV_CHAIN_IDS:
            data += "; a dev chain: the loans are the simulators', not real loans"
        model = calibrate_outcomes(
            outcomes,
            seed=settings.calibration_seed,
            min_outcomes=settings.calibration_min_outcomes,
            min_each=settings.calibration_min_each,
            data=data,
        )
    except CalibrationRefused as exc:
        report = RefitReport(CalibrationResult.REFUSED, str(exc), counts)
    else:
        with Session(engine) as session:
            known = session.get(RiskModelRow, model.version) is not None
        path = _write(models_dir, model)
        anchor_model(engine, outbox, suite.registry, sender=sender, model=model)
        figures = model.calibration
        message = (
            f"model {model.version}: AUC {figures.auc} and KS {figures.ks} on {figures.held_out} held-out loans, "
            f"against {figures.baseline_auc} and {figures.baseline_ks} for the static rules"
        )
        if known:
            report = RefitReport(CalibrationResult.UNCHANGED, f"{message} (already published)", counts, model, path)
        else:
            report = RefitReport(CalibrationResult.PUBLISHED, message, counts, model, path)
    with Session(engine) as session:
        session.add(
            RiskCalibrationRun(
                result=report.result,
                model_version=report.model.version if report.model is not None else None,
                message=report.message,
                counts=json.dumps(report.counts),
            )
        )
        session.commit()
    logger.info("risk calibration against the read model: %s: %s", report.result, report.message)
    return report


def _write(directory: Path, model: ModelParameters) -> Path:
    """``directory/<version>.json``, written once (atomically); an existing file must hold the same parameters."""
    path = directory / f"{model.version}.json"
    if path.is_file():
        if load_parameters(path).digest != model.digest:
            raise RiskModelError(f"{path} holds other parameters under version {model.version}: move it away")
        return path
    directory.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".json.partial")
    partial.write_text(model.model_dump_json(indent=2) + "\n")
    partial.replace(path)
    return path


class RiskCalibrator:
    """The oracle service's monthly job (``risk:calibrate``): :func:`refit` with the oracle's parts."""

    def __init__(self, engine: Engine, outbox: Outbox, suite: Suite, sender: str, settings: RiskSettings) -> None:
        if settings.models_dir is None:
            raise RiskModelError("the calibration needs a directory to write models to (ORACLE_RISK_MODELS_DIR)")
        self.engine, self.outbox, self.suite, self.sender = engine, outbox, suite, sender
        self.settings = settings
        self.models_dir = settings.models_dir

    def run(self) -> int:
        """1 when a new model was published, else 0 (refusals and repeats are recorded, not raised)."""
        report = refit(
            engine=self.engine,
            outbox=self.outbox,
            suite=self.suite,
            sender=self.sender,
            settings=self.settings,
            models_dir=self.models_dir,
        )
        return 1 if report.result == CalibrationResult.PUBLISHED else 0
