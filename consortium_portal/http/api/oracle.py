"""What the oracle published (``/api/v1``): its feeds' health and a vehicle's valuations; thin routes over
oracle_view.py."""

from __future__ import annotations

from fastapi import APIRouter

from consortium_portal import oracle_view
from consortium_portal.http.deps import API, ContextDep, PrincipalDep
from consortium_portal.vehicles import subject_of

router = APIRouter(prefix=API, tags=["oracle"])


@router.get("/oracle/feeds")
def oracle_feeds(_principal: PrincipalDep, context: ContextDep) -> list[oracle_view.FeedHealthPublic]:
    """Each oracle feed's health, last success, staleness, failures and quarantined records, as the oracle last
    published them."""
    return oracle_view.feeds(engine=context.engine)


@router.get("/vehicles/{vin}/valuations")
def vehicle_valuations(vin: str, _principal: PrincipalDep, context: ContextDep) -> list[oracle_view.LoanValuations]:
    """Every loan's baseline, every price oracle's report and every published median, with the band beyond which the
    contract acts (the loan's value-move threshold around its baseline)."""
    _vin, subject = subject_of(vin, context.subject_key)
    return oracle_view.valuations(engine=context.engine, suite=context.suite, subject=subject)
