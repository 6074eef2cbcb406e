"""The risk pages: the models' calibration report (``/risk/models``) and a loan's risk (``/loans/{loan_id}/risk``);
the vehicle's score is on the verify page. Thin: the services are in :mod:`consortium_portal.risk_view`."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from consortium_portal import risk_view
from consortium_portal.errors import PortalError
from consortium_portal.http.deps import ContextDep, RowId, SignedInDep
from consortium_portal.http.render import page

router = APIRouter(include_in_schema=False)


@router.get("/risk/models", response_class=HTMLResponse)
def models_page(request: Request, context: ContextDep, principal: SignedInDep) -> Response:
    return page(request, "risk_models.html", principal, report=risk_view.calibration_report(engine=context.engine))


@router.get("/loans/{loan_id}/risk", response_class=HTMLResponse)
def loan_page(request: Request, loan_id: RowId, context: ContextDep, principal: SignedInDep) -> Response:
    try:
        risk = risk_view.loan_risk(engine=context.engine, suite=context.suite, principal=principal, loan_id=loan_id)
    except PortalError as exc:
        return page(request, "risk_loan.html", principal, status=exc.status, loan_id=loan_id, error=str(exc))
    chart = risk_view.history_chart(risk.history, risk.watch_score) if risk.history else None
    return page(request, "risk_loan.html", principal, loan_id=loan_id, loan=risk, risk_chart=chart)
