"""A vehicle's risk inputs from what the oracle has stored (and the consortium's attestations in the read model).

| input | from |
|---|---|
| ``crash_events`` | telematics ``crash`` records |
| ``odometer_inconsistencies`` | the oracle's odometer-rollback alerts |
| ``geofence_exits`` | the oracle's geofence-exit alerts |
| ``speeding_share``, ``night_share`` | the latest ``position_window`` positions with the ignition on (above 120 km/h;
  between 22:00 and 06:00 China time) |
| ``violation_points`` | DMV ``violation`` records |
| ``estimated_value_cny`` | the residual-value estimator (make, model, year, mileage, condition, regional index) |
| ``outstanding_cny`` | the latest balance the loans feed reported for the vehicle's loan; 0 with no loan |
| ``index_volatility`` | the regional index's updates (annualised standard deviation of log moves, 5 updates at least) |
| ``accidents_unrated``, ``repairs_minor``, ``maintenance_regularity`` | member attestations in the read model
  (``rm_attestation``): accident (kind 5), repair (kind 4) and inspection (kind 1) records, not revoked |

What no source gives is left out, so the score says it is partial: the T-Box feed has no harsh braking or
acceleration events, and the severity of an accident or repair is in the member's document, which the oracle does
not hold (an accident attestation counts as unrated, a repair as minor).
"""

from __future__ import annotations

import itertools
import json
import math
import statistics
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import inspect
from sqlmodel import Session, col, func, select

from node_adapter.readmodel import AttestationView
from oracle.pipeline import Oracle
from oracle.store import LoanLink, SourceRecord, VehicleState

SPEED_LIMIT_KMH = 120.0
LOCAL_TIME = timedelta(hours=8)
ACCIDENT_KIND, REPAIR_KIND, INSPECTION_KIND = 5, 4, 1
VOLATILITY_UPDATES = 90
MIN_VOLATILITY_UPDATES = 5
RECORDS_PER_INPUT = 50
"""At most this many records are named behind one input (the newest)."""

Put = Callable[[str, Any, list[str]], None]


def _payload(record: SourceRecord) -> dict[str, Any]:
    payload = json.loads(record.document).get("payload")
    return payload if isinstance(payload, dict) else {}


def _records(session: Session, vin: str, *, source: str, types: tuple[str, ...]) -> list[SourceRecord]:
    return list(
        session.exec(
            select(SourceRecord)
            .where(SourceRecord.vin == vin, SourceRecord.source == source, col(SourceRecord.type).in_(types))
            .order_by(col(SourceRecord.id))
        ).all()
    )


def evidence_mark(session: Session, vin: str) -> int:
    """The newest record the oracle holds about the vehicle: a score older than it is out of date."""
    return int(session.exec(select(func.max(SourceRecord.id)).where(SourceRecord.vin == vin)).one() or 0)


def vehicle_inputs(
    oracle: Oracle, session: Session, state: VehicleState, *, position_window: int = 500
) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """The risk inputs of a vehicle and, per input, the digests of the records it was computed from."""
    vin = state.vin
    inputs: dict[str, Any] = {}
    records: dict[str, list[str]] = {}

    def put(name: str, value: Any, behind: list[str]) -> None:
        inputs[name] = value
        if behind:
            records[name] = behind[-RECORDS_PER_INPUT:]

    crashes = _records(session, vin, source="telematics", types=("crash",))
    put("crash_events", len(crashes), [r.digest for r in crashes])
    rollbacks = _records(session, vin, source="oracle", types=("alert.odometer_rollback",))
    put("odometer_inconsistencies", len(rollbacks), [r.digest for r in rollbacks])
    exits = _records(session, vin, source="oracle", types=("alert.geofence_exit",))
    put("geofence_exits", len(exits), [r.digest for r in exits])
    violations = _records(session, vin, source="dmv", types=("violation",))
    put("violation_points", sum(int(_payload(r).get("points", 0)) for r in violations), [r.digest for r in violations])
    _driving(session, vin, position_window, put)
    _market(oracle, session, state, put)
    _attestations(oracle, session, state, put)
    return inputs, records


def _driving(session: Session, vin: str, window: int, put: Put) -> None:
    positions = session.exec(
        select(SourceRecord)
        .where(SourceRecord.vin == vin, SourceRecord.source == "telematics", SourceRecord.type == "position")
        .order_by(col(SourceRecord.id).desc())
        .limit(window)
    ).all()
    driving = [(r, _payload(r)) for r in positions]
    driving = [(r, p) for r, p in driving if p.get("ignition")]
    if not driving:
        return  # no driving seen: the shares stay missing (partial), not zero
    speeding = [r.digest for r, p in driving if float(p.get("speed_kmh", 0)) > SPEED_LIMIT_KMH]
    night = [r.digest for r, _ in driving if not 6 <= (_utc(r.occurred_at) + LOCAL_TIME).hour < 22]
    put("speeding_share", round(len(speeding) / len(driving), 4), speeding)
    put("night_share", round(len(night) / len(driving), 4), night)


def _market(oracle: Oracle, session: Session, state: VehicleState, put: Put) -> None:
    estimate = oracle.estimate(session, state.vin)
    if estimate is not None:
        put("estimated_value_cny", round(estimate[0], 2), [])
    links = session.exec(select(LoanLink).where(LoanLink.vin == state.vin)).all()
    if not links:
        put("outstanding_cny", 0, [])
    else:
        refs = {link.loan_ref for link in links}
        balances = [
            (r, _payload(r))
            for r in _records(
                session,
                state.vin,
                source="loans",
                types=("loan_opened", "payment_received", "payment_missed", "overdue_update", "arrears_cleared"),
            )
        ]
        balances = [(r, p) for r, p in balances if p.get("loan_ref") in refs]
        if balances:
            record, payload = balances[-1]
            amount = payload.get("outstanding_cny", payload.get("principal_cny"))
            put("outstanding_cny", amount, [record.digest])
    if state.region is None:
        return
    updates = [
        (r, _payload(r))
        for r in session.exec(
            select(SourceRecord)
            .where(SourceRecord.source == "market", SourceRecord.type == "index_update")
            .order_by(col(SourceRecord.id).desc())
            .limit(VOLATILITY_UPDATES * 20)
        ).all()
    ]
    mine = [(r, p) for r, p in updates if p.get("region") == state.region][:VOLATILITY_UPDATES]
    if len(mine) < MIN_VOLATILITY_UPDATES:
        return
    moves = [math.log(float(p["index"]) / float(p["previous"])) for _, p in mine]
    times = sorted(_utc(r.occurred_at) for r, _ in mine)
    spacing = statistics.median((b - a).total_seconds() for a, b in itertools.pairwise(times)) or 86_400
    per_year = 365 * 86_400 / spacing
    put("index_volatility", round(statistics.pstdev(moves) * math.sqrt(per_year), 4), [r.digest for r, _ in mine])


def _attestations(oracle: Oracle, session: Session, state: VehicleState, put: Put) -> None:
    if not inspect(session.connection()).has_table(AttestationView.__tablename__):
        return  # no read model in this database: the health inputs stay missing (partial)
    rows = session.exec(
        select(AttestationView).where(
            AttestationView.subject == state.subject,
            col(AttestationView.kind).in_((ACCIDENT_KIND, REPAIR_KIND, INSPECTION_KIND)),
            col(AttestationView.revoked_at).is_(None),
            col(AttestationView.invalidated).is_(False),
        )
    ).all()
    by_kind = {kind: [r.uid for r in rows if r.kind == kind] for kind in (ACCIDENT_KIND, REPAIR_KIND, INSPECTION_KIND)}
    for name in ("accidents_minor", "accidents_moderate", "accidents_severe"):
        put(name, 0, [])
    put("accidents_unrated", len(by_kind[ACCIDENT_KIND]), by_kind[ACCIDENT_KIND])
    put("repairs_minor", len(by_kind[REPAIR_KIND]), by_kind[REPAIR_KIND])
    put("repairs_major", 0, [])
    if state.year is not None:
        years = max(1.0, oracle.clock().year - state.year)
        put("maintenance_regularity", round(min(1.0, len(by_kind[INSPECTION_KIND]) / years), 4),
            by_kind[INSPECTION_KIND])  # fmt: skip


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
