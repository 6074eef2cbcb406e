"""The risk score's shared tables, read as the portal reads them, on each SQL backend."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session

from node_adapter.shared.risk import (
    AnchorStatus,
    CalibrationResult,
    RiskCalibrationRun,
    RiskModelRow,
    RiskScoreRow,
    calibration_runs,
    create_risk_schema,
    latest_scores,
    published_models,
    score_by_digest,
    score_history,
    scores_per_model,
)

START = datetime(2026, 11, 1, tzinfo=UTC)


def _score(n: int, subject: str, score: int, version: str = "r1.a") -> RiskScoreRow:
    return RiskScoreRow(
        vin=f"VIN{n:014d}",
        subject=subject,
        computed_at=START + timedelta(hours=n),
        score=score,
        partial=False,
        model_version=version,
        document="{}",
        digest="0x" + f"{n:064x}",
    )


def test_history_latest_scores_models_and_runs(engine: Engine) -> None:
    create_risk_schema(engine)
    create_risk_schema(engine)  # idempotent
    a, b, c = ("0x" + ch * 64 for ch in "abc")
    with Session(engine) as session:
        session.add_all([_score(1, a, 5000), _score(2, b, 7000), _score(3, a, 4500), _score(4, a, 4000, "r1.b")])
        session.add_all([
            RiskModelRow(version="r1.a", digest="0x" + "01" * 32, parameters="{}", status=AnchorStatus.CONFIRMED,
                         published_at=START),
            RiskModelRow(version="r1.b", digest="0x" + "02" * 32, parameters="{}", published_at=START + timedelta(1)),
        ])  # fmt: skip
        session.add_all([
            RiskCalibrationRun(result=CalibrationResult.REFUSED, message="too few", ran_at=START),
            RiskCalibrationRun(result=CalibrationResult.PUBLISHED, model_version="r1.b", message="ok",
                               ran_at=START + timedelta(1)),
        ])  # fmt: skip
        session.commit()

    with Session(engine) as session:
        assert [r.score for r in score_history(session, a)] == [5000, 4500, 4000]
        assert [r.score for r in score_history(session, a, limit=2)] == [4500, 4000], "the newest, oldest first"
        latest = latest_scores(session, [a, b, c])
        assert {s: r.score for s, r in latest.items()} == {a: 4000, b: 7000}
        assert latest_scores(session, []) == {}
        found = score_by_digest(session, "0x" + f"{3:064X}".upper())
        assert found is not None
        assert found.score == 4500
        assert score_by_digest(session, "0x" + "ff" * 32) is None
        assert [m.version for m in published_models(session)] == ["r1.b", "r1.a"]
        assert scores_per_model(session) == {"r1.a": 3, "r1.b": 1}
        assert [r.result for r in calibration_runs(session)] == ["published", "refused"]
