"""The risk score as members see it: a vehicle's score, its breakdown and its history; a loan's; the calibration report.

The oracle publishes its scores and models into node_adapter's shared tables (:mod:`node_adapter.shared.risk`); this
module reads them next to the read model, where the chain says what was anchored (a score's digest under kind 205, a
model's under kind 206) and which risk warnings reached a loan. It never imports the oracle: a score document and a
model's parameters are JSON, shown as they were anchored.

Who sees what: a vehicle's score and its breakdown, as its verification, to any active member who asks by VIN (a
bank checks a car before it lends); a loan's, by loan id, to the loan's bank and the governors; the calibration
report to any member.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from consortium_portal.auth import Principal
from consortium_portal.errors import ForbiddenError, InvalidInputError, NotFoundError
from consortium_portal.vehicles import subject_of
from node_adapter.clients import Role, Suite
from node_adapter.encoding import SaltedDocument
from node_adapter.exceptions import EncodingError
from node_adapter.readmodel import AttestationView, LoanView, ReportView
from node_adapter.shared.risk import (
    Calibration,
    RiskScoreRow,
    calibration_runs,
    latest_scores,
    published_models,
    score_by_digest,
    score_history,
    scores_per_model,
)

RISK_SCORE_KIND, RISK_MODEL_KIND = 205, 206
"""Attestation kinds of an anchored score and of a model's parameters (the oracle's ``oracle/risk/job.py``)."""
HUNDREDTHS = 100
SIMULATED_NOTE = (
    "Discrimination figures come from the data each model names. The shipped model's come from a simulated "
    "portfolio (oracle/risk/portfolio.py, from a seed), not from real loans; a refit on a dev chain's read model "
    "is fitted on the simulators' loans."
)


class FeaturePart(BaseModel):
    feature: str
    level: float = Field(description="The feature's risk level in [0, 1].")
    points: int = Field(description="Hundredths of a point the feature can cost.")
    penalty: int = Field(description="Hundredths of a point it cost: round(points x level).")
    imputed: str | None = Field(default=None, description="Why its level is the model's imputation level.")


class DimensionPart(BaseModel):
    dimension: str
    contribution: int = Field(description="Hundredths of a point the dimension adds to the score.")
    points: int = Field(description="Hundredths of a point the dimension can add.")
    features: list[FeaturePart] = Field(description="Empty for scores anchored before features were listed.")
    records: list[str] = Field(
        description="Digests and attestation uids of the records behind the dimension (empty for scores anchored "
        "before each dimension named its records: see the score's records per input)."
    )


class Anchoring(BaseModel):
    """An anchored digest as the chain has it (from the read model)."""

    status: str = Field(description="The oracle's: not_anchored, queued, confirmed or failed.")
    on_chain: bool = Field(description="The read model holds the attestation of the digest (of the expected kind).")
    block_number: int | None = None
    time: int | None = None
    tx_hash: str | None = None
    attester: str | None = None
    revoked: bool = False


class ScoreDetail(BaseModel):
    """One score: its value, its breakdown, the inputs it was computed from, and its anchoring."""

    digest: str
    score: float = Field(description="0-100, higher is safer.")
    score_hundredths: int = Field(description="The score as anchored and as the collateral contract takes it.")
    partial: bool
    imputed: dict[str, str]
    model_version: str
    model_digest: str | None
    computed_at: datetime
    intact: bool = Field(description="The stored document (with its salt) hashes to the digest.")
    anchoring: Anchoring
    dimensions: list[DimensionPart]
    inputs: dict[str, object]
    records: dict[str, list[str]] = Field(description="Per input, the records it was computed from.")
    warning: str | None = Field(description="What became of the risk warning to the collateral contract.")


class HistoryPoint(BaseModel):
    computed_at: datetime
    score: float
    partial: bool
    model_version: str
    digest: str
    anchored: bool


class RiskWarningFact(BaseModel):
    """A risk warning the collateral contract received for a loan (it puts the loan's case on watch)."""

    loan_id: int
    score: float
    evidence_digest: str = Field(description="The digest of the anchored score the warning cites.")
    block_number: int
    time: int
    tx_hash: str


class VehicleRisk(BaseModel):
    vin: str
    subject: str
    watch_score: float = Field(description="Governance's riskWatchScore: under it, a warning puts a loan on watch.")
    latest: ScoreDetail
    history: list[HistoryPoint]
    warnings: list[RiskWarningFact]


class LoanRisk(BaseModel):
    loan_id: int
    subject: str
    lien_status: str
    case_id: int | None
    watch_score: float
    score: ScoreDetail | None = Field(description="The vehicle's latest score (with this loan's balance while active).")
    history: list[HistoryPoint]
    warnings: list[RiskWarningFact] = Field(description="The risk warnings this loan received.")


class ModelReport(BaseModel):
    """A published model with the figures of its calibration."""

    version: str
    digest: str
    simulated: bool = Field(description="Its figures come from simulated data (its calibration's data says so).")
    calibration: Calibration
    points: dict[str, int]
    anchoring: Anchoring
    published_at: datetime
    scores: int = Field(description="Scores computed with this model.")


class CalibrationRunFact(BaseModel):
    ran_at: datetime
    result: str
    model_version: str | None
    message: str
    outcomes: dict[str, int]


class CalibrationReport(BaseModel):
    note: str
    models: list[ModelReport]
    runs: list[CalibrationRunFact]


# ------------------------------------------------------------------------------------------------------------ services


def vehicle_risk(*, engine: Engine, suite: Suite, vin: str, key: bytes) -> VehicleRisk:
    """A vehicle's latest score with its breakdown, its history, and the risk warnings its loans received."""
    normalised, subject = subject_of(vin, key)
    with Session(engine) as session:
        rows = score_history(session, subject)
        if not rows:
            raise NotFoundError(f"no risk score of VIN {normalised[:3]}...{normalised[-4:]} yet")
        detail = _detail(session, rows[-1])
        warnings = _warnings(session, select(ReportView).where(ReportView.subject == subject))
    return VehicleRisk(
        vin=normalised,
        subject=subject,
        watch_score=watch_score(suite),
        latest=detail,
        history=[_point(row) for row in rows],
        warnings=warnings,
    )


def loan_risk(*, engine: Engine, suite: Suite, principal: Principal, loan_id: int) -> LoanRisk:
    """A loan's score (its vehicle's latest while the loan is active) and the warnings it received."""
    with Session(engine) as session:
        loan = session.get(LoanView, loan_id)
        if loan is None:
            raise NotFoundError(f"no loan {loan_id}")
        if loan.bank_member_id != principal.member_id and not principal.roles & Role.GOVERNOR:
            raise ForbiddenError("a loan's risk is visible to the loan's bank and the governors")
        rows = score_history(session, loan.subject)
        active = loan.lien_status in ("pending", "active")
        detail = _detail(session, rows[-1]) if rows and active else None
        warnings = _warnings(session, select(ReportView).where(ReportView.loan_id == loan_id))
    return LoanRisk(
        loan_id=loan.loan_id,
        subject=loan.subject,
        lien_status=loan.lien_status,
        case_id=loan.case_id,
        watch_score=watch_score(suite),
        score=detail,
        history=[_point(row) for row in rows],
        warnings=warnings,
    )


def latest_by_subject(*, engine: Engine, subjects: list[str]) -> dict[str, HistoryPoint]:
    """Each subject's latest score (for a loan book)."""
    with Session(engine) as session:
        return {subject: _point(row) for subject, row in latest_scores(session, subjects).items()}


def score_document(*, engine: Engine, digest: str) -> dict[str, Any]:
    """The salted score document of ``digest``: with it and the model version it names, anyone recomputes the score
    (``consortium risk recompute FILE``) and checks its digest against the chain."""
    if not isinstance(digest, str) or len(digest) != 66 or not digest.startswith("0x"):
        raise InvalidInputError("a score digest is 0x and 64 hex digits")
    with Session(engine) as session:
        row = score_by_digest(session, digest)
    if row is None:
        raise NotFoundError(f"no risk score with digest {digest}")
    document: dict[str, Any] = json.loads(row.document)
    return document


def calibration_report(*, engine: Engine) -> CalibrationReport:
    """Every published model with the figures of its calibration, and the latest refits against the read model."""
    with Session(engine) as session:
        models = published_models(session)
        usage = scores_per_model(session)
        anchors = _attestations(session, [m.digest for m in models], RISK_MODEL_KIND)
        runs = calibration_runs(session)
    reports = []
    for model in models:
        parameters = json.loads(model.parameters)
        figures = Calibration.model_validate(parameters.get("calibration"))
        reports.append(
            ModelReport(
                version=model.version,
                digest=model.digest,
                simulated="simulat" in figures.data,
                calibration=figures,
                points={str(k): int(v) for k, v in dict(parameters.get("points", {})).items()},
                anchoring=_anchoring(str(model.status), anchors.get(model.digest)),
                published_at=_utc(model.published_at),
                scores=usage.get(model.version, 0),
            )
        )
    return CalibrationReport(
        note=SIMULATED_NOTE,
        models=reports,
        runs=[
            CalibrationRunFact(
                ran_at=_utc(run.ran_at),
                result=str(run.result),
                model_version=run.model_version,
                message=run.message,
                outcomes=json.loads(run.counts),
            )
            for run in runs
        ],
    )


def watch_score(suite: Suite) -> float:
    """The collateral contract's ``riskWatchScore``, 0-100."""
    return suite.collateral.parameters().risk_watch_score / HUNDREDTHS


# ------------------------------------------------------------------------------------------------------------ parts


def _detail(session: Session, row: RiskScoreRow) -> ScoreDetail:
    document = json.loads(row.document)
    try:
        intact = SaltedDocument.from_salted(document, bytes.fromhex(row.digest[2:])).verify()
    except (ValueError, EncodingError):
        intact = False
    dimensions = [
        DimensionPart(
            dimension=str(d.get("dimension")),
            contribution=int(d.get("contribution", 0)),
            points=int(d.get("points", 0)),
            features=[FeaturePart.model_validate(f) for f in d.get("features") or []],
            records=[str(r) for r in d.get("records") or []],
        )
        for d in document.get("dimensions") or []
    ]
    anchors = _attestations(session, [row.digest], RISK_SCORE_KIND)
    return ScoreDetail(
        digest=row.digest,
        score=row.score / HUNDREDTHS,
        score_hundredths=row.score,
        partial=row.partial,
        imputed={str(k): str(v) for k, v in dict(document.get("imputed") or {}).items()},
        model_version=row.model_version,
        model_digest=document.get("model_digest"),
        computed_at=_utc(row.computed_at),
        intact=intact,
        anchoring=_anchoring(str(row.status), anchors.get(row.digest)),
        dimensions=dimensions,
        inputs=dict(document.get("inputs") or {}),
        records={str(k): [str(r) for r in v] for k, v in dict(document.get("records") or {}).items()},
        warning=row.warning,
    )


def _point(row: RiskScoreRow) -> HistoryPoint:
    return HistoryPoint(
        computed_at=_utc(row.computed_at),
        score=row.score / HUNDREDTHS,
        partial=row.partial,
        model_version=row.model_version,
        digest=row.digest,
        anchored=str(row.status) == "confirmed",
    )


def _attestations(session: Session, digests: list[str], kind: int) -> dict[str, AttestationView]:
    rows = session.exec(
        select(AttestationView).where(col(AttestationView.uid).in_(digests), AttestationView.kind == kind)
    ).all()
    return {row.uid: row for row in rows}


def _anchoring(status: str, attestation: AttestationView | None) -> Anchoring:
    if attestation is None:
        return Anchoring(status=status, on_chain=False)
    return Anchoring(
        status=status,
        on_chain=True,
        block_number=attestation.block_number,
        time=attestation.block_time,
        tx_hash=attestation.tx_hash,
        attester=attestation.attester,
        revoked=attestation.revoked_at is not None or attestation.invalidated,
    )


def _warnings(session: Session, statement: Any) -> list[RiskWarningFact]:
    rows = session.exec(statement.where(ReportView.report == "risk").order_by(col(ReportView.id))).all()
    return [
        RiskWarningFact(
            loan_id=r.loan_id,
            score=int(json.loads(r.detail)["score"]) / HUNDREDTHS,
            evidence_digest=r.evidence_digest,
            block_number=r.block_number,
            time=r.block_time,
            tx_hash=r.tx_hash,
        )
        for r in rows
    ]


def _utc(moment: datetime) -> datetime:
    """Times are stored in UTC; SQLite hands them back without a zone."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


# ------------------------------------------------------------------------------------------------------------ chart


def history_chart(points: list[HistoryPoint], watch: float, *, width: int = 600, height: int = 200) -> dict[str, Any]:
    """An SVG line of the scores (0-100) over time, the watch score as a dashed line (drawn in the template):
    anchored scores as filled dots, the others hollow."""
    left, pad = 34, 10
    times = [p.computed_at.timestamp() for p in points]
    start, span = min(times), max(times) - min(times)

    def x(moment: float) -> float:
        if span <= 0:
            return round((left + width - pad) / 2, 1)
        return round(left + (moment - start) / span * (width - left - pad), 1)

    def y(value: float) -> float:
        return round(height - pad - value / 100 * (height - 2 * pad), 1)

    dots = [
        {
            "x": x(t),
            "y": y(p.score),
            "anchored": p.anchored,
            "partial": p.partial,
            "label": f"{p.score:.2f} at {p.computed_at:%Y-%m-%d %H:%M} UTC (model {p.model_version})"
            + (", anchored" if p.anchored else "")
            + (", partial" if p.partial else ""),
        }
        for p, t in zip(points, times, strict=True)
    ]
    return {
        "width": width,
        "height": height,
        "left": left,
        "grid": [{"y": y(v), "label": v} for v in (0, 25, 50, 75, 100)],
        "watch_y": y(watch),
        "watch": watch,
        "points": " ".join(f"{d['x']},{d['y']}" for d in dots),
        "dots": dots,
        "first": points[0].computed_at,
        "last": points[-1].computed_at,
    }


def verify_values(*, engine: Engine, suite: Suite, vin: str, key: bytes) -> dict[str, Any]:
    """What the verify page shows of the risk score (nothing when the vehicle was never scored)."""
    try:
        risk = vehicle_risk(engine=engine, suite=suite, vin=vin, key=key)
    except NotFoundError:
        return {}
    return {"risk": risk, "risk_chart": history_chart(risk.history, risk.watch_score)}
