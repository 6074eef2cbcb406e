"""What the oracle does, as members see it: each feed's health (published by the oracle into ``service_health``) and
each financed vehicle's valuations against the band beyond which the contract acts."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from pydantic import BaseModel, Field
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from consortium_portal.errors import NotFoundError
from node_adapter.clients import Suite
from node_adapter.readmodel import LoanView, ReportView
from node_adapter.shared.health import read

BPS = 10_000


class FeedHealthPublic(BaseModel):
    service: str
    feed: str
    healthy: bool
    last_success: datetime | None
    stale_s: float | None = Field(description="Seconds since the feed's last success.")
    failures: int
    last_error: str | None
    detail: dict[str, object]
    published_at: datetime


class ValuationPoint(BaseModel):
    time: int
    block_number: int
    value: int
    median: bool = Field(description="The published median (true) or one price oracle's report.")
    reporter_member_id: int | None


class LoanValuations(BaseModel):
    loan_id: int
    baseline_value: int
    value_move_bps: int
    band_low: int = Field(description="A published value strictly below this is a value drop: a breach.")
    band_high: int = Field(description="A published value strictly above this is a value rise: a warning.")
    points: list[ValuationPoint]


def feeds(*, engine: Engine) -> list[FeedHealthPublic]:
    now = datetime.now(UTC)
    out = []
    for row in read(engine):
        last = (
            row.last_success.replace(tzinfo=UTC)
            if row.last_success and row.last_success.tzinfo is None
            else row.last_success
        )
        out.append(
            FeedHealthPublic(
                service=row.service,
                feed=row.feed,
                healthy=row.healthy,
                last_success=last,
                stale_s=round((now - last).total_seconds(), 1) if last else None,
                failures=row.failures,
                last_error=row.last_error,
                detail=json.loads(row.detail),
                published_at=row.published_at,
            )
        )
    return out


def valuations(*, engine: Engine, suite: Suite, subject: str) -> list[LoanValuations]:
    with Session(engine) as session:
        loans = session.exec(select(LoanView).where(LoanView.subject == subject).order_by(col(LoanView.loan_id))).all()
        reports = session.exec(
            select(ReportView)
            .where(ReportView.subject == subject, col(ReportView.report).in_(("valuation", "valuation_median")))
            .order_by(col(ReportView.id))
        ).all()
    if not loans:
        raise NotFoundError("no loan was ever registered on this vehicle")
    out = []
    for loan in loans:
        bps = suite.collateral.value_move_bps_of(loan.loan_id)
        baseline = int(loan.baseline_value)
        points = [
            ValuationPoint(
                time=r.block_time,
                block_number=r.block_number,
                value=int(json.loads(r.detail)["value"]),
                median=r.report == "valuation_median",
                reporter_member_id=r.reporter_member_id,
            )
            for r in reports
            if r.loan_id == loan.loan_id
        ]
        out.append(
            LoanValuations(
                loan_id=loan.loan_id,
                baseline_value=baseline,
                value_move_bps=bps,
                band_low=baseline - baseline * bps // BPS,
                band_high=baseline + baseline * bps // BPS,
                points=points,
            )
        )
    return out
