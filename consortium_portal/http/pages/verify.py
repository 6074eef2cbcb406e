"""The verify page (``/verify``): what the chain says about a vehicle, with its risk score."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from consortium_portal.errors import PortalError
from consortium_portal.http.deps import ContextDep, SignedInDep
from consortium_portal.http.render import page
from consortium_portal.risk_view import verify_values
from consortium_portal.vehicles import vehicle_report

router = APIRouter(include_in_schema=False)


@router.get("/verify", response_class=HTMLResponse)
def verify(request: Request, context: ContextDep, principal: SignedInDep, vin: str | None = None) -> Response:
    if not vin:
        return page(request, "verify.html", principal)
    try:
        _block, now = context.head()
        report = vehicle_report(
            engine=context.engine, vin=vin, key=context.subject_key, now=now, indexer=context.indexer_name
        )
    except PortalError as exc:
        return page(request, "verify.html", principal, status=exc.status, vin=vin, error=str(exc))
    risk = verify_values(engine=context.engine, suite=context.suite, vin=vin, key=context.subject_key)
    return page(request, "verify.html", principal, vin=report.vin, report=report, **risk)
