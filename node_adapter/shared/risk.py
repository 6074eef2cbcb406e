"""The risk score's shared tables: the oracle writes them, the portal reads them, neither imports the other.

- ``oracle_risk_score`` (the oracle's ``risk`` job writes it): every distinct score of a vehicle, its history, with
  the salted score document whose digest is anchored (kind 205) and where that anchoring stands;
- ``risk_model`` (the ``risk`` job and the calibration): each model the oracle scored with or calibrated, its
  parameters file (with the figures of its calibration) and where the anchoring of its digest (kind 206) stands;
- ``risk_calibration_run`` (the calibration, job and command): each refit against outcomes in the read model, the
  outcomes it found, and the model it published or why it refused.

They live in the shared database next to the read model (as :mod:`node_adapter.shared.health` does for service health).
The score document and the parameters are JSON text: whoever reads them needs no code of the oracle's.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict
from sqlalchemy import Column, Text
from sqlalchemy.engine import Engine
from sqlmodel import Field, Session, SQLModel, col, func, select

from node_adapter.db import create_tables, utcnow


class AnchorStatus(StrEnum):
    NOT_ANCHORED = "not_anchored"
    QUEUED = "queued"
    CONFIRMED = "confirmed"
    FAILED = "failed"


class RiskScoreRow(SQLModel, table=True):
    """A vehicle's score as computed at one time: the history the portal charts, and what was anchored."""

    __tablename__ = "oracle_risk_score"

    id: int | None = Field(default=None, primary_key=True)
    vin: str = Field(max_length=17, index=True)
    subject: str = Field(max_length=66, index=True)
    computed_at: datetime = Field(default_factory=utcnow)
    checked_at: datetime = Field(default_factory=utcnow)
    score: int
    partial: bool
    model_version: str = Field(max_length=60)
    evidence_mark: int = 0
    document: str = Field(sa_column=Column(Text, nullable=False))
    """The salted canonical score document (the digest is over it)."""
    digest: str = Field(max_length=66, unique=True)
    status: AnchorStatus = Field(default=AnchorStatus.NOT_ANCHORED, max_length=16)
    warning: str | None = Field(default=None, sa_column=Column(Text))
    """What became of the risk warning: queued, confirmed, failed: ..., or why none was sent."""


class Calibration(BaseModel):
    """How a model's parameters were obtained, with their held-out figures (the ``calibration`` of a parameters
    file): ``data`` says what they were fitted on (simulated data says so)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    data: str
    seed: int
    loans: int
    train: int
    held_out: int
    bad_rate: float
    auc: float
    ks: float
    baseline_auc: float
    baseline_ks: float


class RiskModelRow(SQLModel, table=True):
    """A risk model the oracle scored with or calibrated, and its anchoring (once per version)."""

    __tablename__ = "risk_model"

    version: str = Field(primary_key=True, max_length=60)
    digest: str = Field(max_length=66)
    parameters: str = Field(sa_column=Column(Text, nullable=False))
    """The parameters file's canonical JSON (its keccak-256 is ``digest``), calibration figures included."""
    status: AnchorStatus = Field(default=AnchorStatus.QUEUED, max_length=16)
    published_at: datetime = Field(default_factory=utcnow)


class CalibrationResult(StrEnum):
    PUBLISHED = "published"
    """A new parameters file was written and its digest anchored."""
    UNCHANGED = "unchanged"
    """The outcomes gave the model already published (same version and digest): nothing new."""
    REFUSED = "refused"
    """Too few outcomes to fit (or no read model): nothing written, the message says why."""


class RiskCalibrationRun(SQLModel, table=True):
    """One refit of the score against outcomes in the read model."""

    __tablename__ = "risk_calibration_run"

    id: int | None = Field(default=None, primary_key=True)
    ran_at: datetime = Field(default_factory=utcnow)
    result: CalibrationResult = Field(max_length=16)
    model_version: str | None = Field(default=None, max_length=60)
    message: str = Field(sa_column=Column(Text, nullable=False))
    counts: str = Field(default="{}", sa_column=Column(Text, nullable=False))
    """JSON: loans by outcome (disposal, cured, clean, pending, without_score)."""


def create_risk_schema(engine: Engine) -> None:
    create_tables(engine, RiskScoreRow, RiskModelRow, RiskCalibrationRun)


# ------------------------------------------------------------------------------------------------------------ reading


def score_history(session: Session, subject: str, *, limit: int = 500) -> list[RiskScoreRow]:
    """The newest ``limit`` scores of a vehicle, oldest first."""
    rows = session.exec(
        select(RiskScoreRow).where(RiskScoreRow.subject == subject).order_by(col(RiskScoreRow.id).desc()).limit(limit)
    ).all()
    return list(reversed(rows))


def latest_scores(session: Session, subjects: list[str]) -> dict[str, RiskScoreRow]:
    """Each subject's newest score (subjects never scored are left out)."""
    if not subjects:
        return {}
    newest = (
        select(func.max(RiskScoreRow.id))
        .where(col(RiskScoreRow.subject).in_(subjects))
        .group_by(col(RiskScoreRow.subject))
    )
    rows = session.exec(select(RiskScoreRow).where(col(RiskScoreRow.id).in_(newest))).all()
    return {row.subject: row for row in rows}


def score_by_digest(session: Session, digest: str) -> RiskScoreRow | None:
    return session.exec(select(RiskScoreRow).where(RiskScoreRow.digest == digest.lower())).first()


def published_models(session: Session) -> list[RiskModelRow]:
    """Every model, newest first."""
    return list(session.exec(select(RiskModelRow).order_by(col(RiskModelRow.published_at).desc())).all())


def scores_per_model(session: Session) -> dict[str, int]:
    """How many scores were computed with each model version."""
    rows = session.exec(
        select(RiskScoreRow.model_version, func.count()).group_by(col(RiskScoreRow.model_version))
    ).all()
    return {version: int(count) for version, count in rows}


def calibration_runs(session: Session, *, limit: int = 20) -> list[RiskCalibrationRun]:
    """The newest calibration runs, newest first."""
    return list(session.exec(select(RiskCalibrationRun).order_by(col(RiskCalibrationRun.id).desc()).limit(limit)).all())
