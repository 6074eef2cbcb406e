"""Valuations: every financed vehicle valued for each price reporter, a report queued when the estimate moved beyond
``deviation_bps`` or the reporter's heartbeat expired.

The estimate comes from the residual-value estimator (``oracle.residual``) on the facts the oracle knows about the
vehicle (make, model and year from the DMV, mileage and condition from the T-Box, the regional index from the market)
and the new price of its model (``NEW_PRICES``, from the catalogue in ``oracle.reference``).
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlmodel import Session, col, select

from oracle.pipeline.context import CENTS, OracleContext, aware
from oracle.reference import CAR_MODELS
from oracle.residual import VehicleFacts
from oracle.store import Anchor, FeedCursor, LoanLink, RegionIndex, ValuationMark, VehicleState

NEW_PRICES: dict[tuple[str, str], int] = {(c.make, c.model): c.new_price_cny for c in CAR_MODELS}
"""New prices by make and model: the catalogue of the simulated market (a deployment loads its provider's)."""


def price_roles(count: int) -> list[str]:
    return [f"price-{n}" for n in range(1, count + 1)]


class Valuation:
    """The ``valuations`` job, and the estimate the other parts (a loan's baseline, the risk score) ask for."""

    def __init__(self, context: OracleContext) -> None:
        self.context = context

    def value(self) -> int:
        """Queue a valuation report per price reporter for every financed vehicle whose estimate moved or whose
        heartbeat expired; the number queued.

        The heartbeat counts in the chain's time, the clock the contract judges a report's age by: the oracle's own
        clock may run apart from the chain's, and a chain that runs ahead would otherwise find every valuation stale
        (``CollateralStaleValuation``) while the oracle, by its own clock, saw no reason to report again.
        """
        settings = self.context.settings
        estimator = self.context.estimator
        now = self.context.clock()
        chain_now = self.chain_time()
        queued = 0
        roles = price_roles(settings.price_reporters)
        with Session(self.context.engine, expire_on_commit=False) as session:
            links = session.exec(select(LoanLink).where(col(LoanLink.chain_loan_id).is_not(None))).all()
            on = self.market_day(session)
            for link in links:
                state = session.get(VehicleState, link.vin)
                facts = self.facts(session, state, on)
                if state is None or facts is None:
                    continue
                estimate = estimator.estimate(facts)
                for role in roles:
                    mark = session.get(ValuationMark, (role, link.vin))
                    if mark is not None:
                        moved = abs(estimate - mark.value_cny) * 10_000 > settings.deviation_bps * mark.value_cny
                        expired = (chain_now - aware(mark.reported_at)).total_seconds() >= settings.heartbeat  # type: ignore[operator]
                        if not moved and not expired:
                            continue
                    count = 1 if mark is None else mark.count + 1
                    record = self.context.store_record(
                        session,
                        source="oracle",
                        event_id=f"valuation:{role}:{link.vin}:{count}",
                        seq=None,
                        vin=link.vin,
                        type_="valuation",
                        occurred_at=now,
                        body={
                            "reporter": role,
                            "value_cny": round(estimate, 2),
                            "model_version": estimator.version,
                            "facts": facts.model_dump(mode="json"),
                        },
                        anchor=Anchor.BATCH,
                    )
                    self.context.queue_action(session, record, "valuation", role, value=round(estimate * CENTS))
                    if mark is None:
                        mark = ValuationMark(role=role, vin=link.vin, value_cny=estimate, reported_at=chain_now)
                    mark.value_cny, mark.reported_at, mark.count = estimate, chain_now, count
                    session.add(mark)
                    queued += 1
            session.commit()
        return queued

    def estimate(self, session: Session, vin: str) -> tuple[float, VehicleFacts] | None:
        """A vehicle's residual-value estimate now and the facts it rests on (None while they are not known)."""
        facts = self.facts(session, session.get(VehicleState, vin), self.market_day(session))
        return None if facts is None else (self.context.estimator.estimate(facts), facts)

    def chain_time(self) -> datetime:
        """The time of the chain's latest block."""
        connection = self.context.suite.collateral.connection
        timestamp = connection.call(lambda w3: int(w3.eth.get_block("latest")["timestamp"]))
        return datetime.fromtimestamp(timestamp, UTC)

    def market_day(self, session: Session) -> date:
        """The date valuations are made for: the market source's clock (the wall clock before it has reported)."""
        cursor = session.get(FeedCursor, "market")
        moment = aware(cursor.source_time) if cursor is not None else None
        return (moment or self.context.clock()).date()

    def facts(self, session: Session, state: VehicleState | None, on: date) -> VehicleFacts | None:
        """What the estimator needs about a vehicle, on ``on`` (None while make, model and year are not known)."""
        if state is None or state.make is None or state.model is None or state.year is None:
            return None
        new_price = NEW_PRICES.get((state.make, state.model))
        if new_price is None:
            return None
        index = session.get(RegionIndex, state.region or "")
        return VehicleFacts(
            new_price_cny=new_price,
            model_year=state.year,
            on=on,
            odometer_km=state.odometer_km or 0.0,
            regional_index=index.index if index is not None else 100.0,
            condition=state.condition,
        )
