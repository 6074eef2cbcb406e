"""Routes of the risk score: the API (``/api/v1/.../risk``, ``/api/v1/risk/...``) and the pages (a loan's risk, the
calibration report); the vehicle's score is on the verify page. Thin: the services are in :mod:`risk_view`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from consortium_portal import risk_view, web
from consortium_portal.api import ContextDep, PrincipalDep, RowId, get_context
from consortium_portal.errors import PortalError

router = APIRouter()


@router.get("/api/v1/vehicles/{vin}/risk", tags=["risk"])
def vehicle_risk(vin: str, _principal: PrincipalDep, context: ContextDep) -> risk_view.VehicleRisk:
    """The vehicle's latest risk score (0-100, higher is safer) with each dimension's contribution, its features and
    the records behind it, the inputs and where its anchoring (kind 205) stands; its history; and the risk warnings
    its loans received (any active member)."""
    return risk_view.vehicle_risk(engine=context.engine, suite=context.suite, vin=vin, key=context.subject_key)


@router.get("/api/v1/loans/{loan_id}/risk", tags=["risk"])
def loan_risk(loan_id: RowId, principal: PrincipalDep, context: ContextDep) -> risk_view.LoanRisk:
    """A loan's risk: its vehicle's latest score while the loan is active, the score's history, and the risk warnings
    the loan received (the loan's bank and the governors)."""
    return risk_view.loan_risk(engine=context.engine, suite=context.suite, principal=principal, loan_id=loan_id)


@router.get("/api/v1/risk/scores/{digest}", tags=["risk"])
def score_document(digest: str, _principal: PrincipalDep, context: ContextDep) -> dict[str, Any]:
    """An anchored score's document with its salt: its digest is the one on chain, and ``consortium risk recompute
    FILE`` recomputes the score from its inputs and model version."""
    return risk_view.score_document(engine=context.engine, digest=digest)


@router.get("/api/v1/risk/models", tags=["risk"])
def calibration_report(_principal: PrincipalDep, context: ContextDep) -> risk_view.CalibrationReport:
    """Every risk model published, with its digest, its anchoring (kind 206) and the figures of its calibration (AUC
    and KS on held-out loans against the static rules, and the data they come from); the latest refits."""
    return risk_view.calibration_report(engine=context.engine)


# ---------------------------------------------------------------------------------------------------- pages


@router.get("/risk/models", response_class=HTMLResponse, include_in_schema=False)
def models_page(request: Request) -> Response:
    context = get_context(request)
    principal = web._principal(request, context)
    if principal is None:
        return web._to_sign_in()
    return web._page(request, "risk_models.html", principal, report=risk_view.calibration_report(engine=context.engine))


@router.get("/loans/{loan_id}/risk", response_class=HTMLResponse, include_in_schema=False)
def loan_page(request: Request, loan_id: RowId) -> Response:
    context = get_context(request)
    principal = web._principal(request, context)
    if principal is None:
        return web._to_sign_in()
    try:
        risk = risk_view.loan_risk(engine=context.engine, suite=context.suite, principal=principal, loan_id=loan_id)
    except PortalError as exc:
        return web._page(request, "risk_loan.html", principal, status=exc.status, loan_id=loan_id, error=str(exc))
    chart = risk_view.history_chart(risk.history, risk.watch_score) if risk.history else None
    return web._page(request, "risk_loan.html", principal, loan_id=loan_id, loan=risk, risk_chart=chart)
