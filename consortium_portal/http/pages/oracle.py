"""The oracle page (``/oracle``): the feeds' health, and a vehicle's valuations drawn against their band."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from consortium_portal import oracle_view
from consortium_portal.errors import PortalError
from consortium_portal.http.deps import ContextDep, SignedInDep
from consortium_portal.http.render import page
from consortium_portal.vehicles import subject_of

router = APIRouter(include_in_schema=False)


@router.get("/oracle", response_class=HTMLResponse)
def oracle_page(request: Request, context: ContextDep, principal: SignedInDep, vin: str | None = None) -> Response:
    feeds = oracle_view.feeds(engine=context.engine)
    try:
        charts = []
        if vin:
            _vin, subject = subject_of(vin, context.subject_key)
            charts = [
                _chart(series)
                for series in oracle_view.valuations(engine=context.engine, suite=context.suite, subject=subject)
            ]
    except PortalError as exc:
        return page(
            request, "oracle.html", principal, status=exc.status, feeds=feeds, charts=[], vin=vin, error=str(exc)
        )
    return page(request, "oracle.html", principal, feeds=feeds, charts=charts, vin=vin)


def _chart(series: oracle_view.LoanValuations, width: int = 600, height: int = 200) -> dict[str, Any]:
    """An SVG line of the published medians, with the band around the baseline shaded (drawn in the template)."""
    medians = [p for p in series.points if p.median]
    values = [p.value for p in medians] + [series.band_low, series.band_high]
    low, high = min(values), max(values)
    span = max(1, high - low)
    pad = 10

    def y(value: int) -> float:
        return round(height - pad - (value - low) / span * (height - 2 * pad), 1)

    step = (width - 2 * pad) / max(1, len(medians) - 1)
    dots = [
        {"x": round(pad + i * step, 1), "y": y(p.value), "outside": not series.band_low <= p.value <= series.band_high}
        for i, p in enumerate(medians)
    ]
    return {
        "loan_id": series.loan_id,
        "width": width,
        "height": height,
        "band_top": y(series.band_high),
        "band_height": round(y(series.band_low) - y(series.band_high), 1),
        "baseline_y": y(series.baseline_value),
        "points": " ".join(f"{d['x']},{d['y']}" for d in dots),
        "dots": dots,
        "baseline": series.baseline_value,
        "band_low": series.band_low,
        "band_high": series.band_high,
        "bps": series.value_move_bps,
        "medians": len(medians),
    }
