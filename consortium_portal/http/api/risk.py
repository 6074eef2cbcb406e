"""The risk score (``/api/v1``): a vehicle's, a loan's, an anchored score's document, the models' calibration; thin
routes over risk_view.py (the vehicle's score is also on the verify page; the risk pages are ``http/pages/risk.py``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from consortium_portal import risk_view
from consortium_portal.http.deps import API, ContextDep, PrincipalDep, RowId

router = APIRouter(prefix=API, tags=["risk"])


@router.get("/vehicles/{vin}/risk")
def vehicle_risk(vin: str, _principal: PrincipalDep, context: ContextDep) -> risk_view.VehicleRisk:
    """The vehicle's latest risk score (0-100, higher is safer) with each dimension's contribution, its features and
    the records behind it, the inputs and where its anchoring (kind 205) stands; its history; and the risk warnings
    its loans received (any active member)."""
    return risk_view.vehicle_risk(engine=context.engine, suite=context.suite, vin=vin, key=context.subject_key)


@router.get("/loans/{loan_id}/risk")
def loan_risk(loan_id: RowId, principal: PrincipalDep, context: ContextDep) -> risk_view.LoanRisk:
    """A loan's risk: its vehicle's latest score while the loan is active, the score's history, and the risk warnings
    the loan received (the loan's bank and the governors)."""
    return risk_view.loan_risk(engine=context.engine, suite=context.suite, principal=principal, loan_id=loan_id)


@router.get("/risk/scores/{digest}")
def score_document(digest: str, _principal: PrincipalDep, context: ContextDep) -> dict[str, Any]:
    """An anchored score's document with its salt: its digest is the one on chain, and ``consortium risk recompute
    FILE`` recomputes the score from its inputs and model version."""
    return risk_view.score_document(engine=context.engine, digest=digest)


@router.get("/risk/models")
def calibration_report(_principal: PrincipalDep, context: ContextDep) -> risk_view.CalibrationReport:
    """Every risk model published, with its digest, its anchoring (kind 206) and the figures of its calibration (AUC
    and KS on held-out loans against the static rules, and the data they come from); the latest refits."""
    return risk_view.calibration_report(engine=context.engine)
