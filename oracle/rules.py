"""Telematics anomaly rules: from a vehicle's readings to alerts, each with its evidence and a severity.

- geofence exit (code 1): a position outside the vehicle's registration region, once per exit. High.
- GPS loss (2): odometer reports keep coming but no position for ``gps_loss_limit`` seconds. Medium.
- odometer rollback (3): a reading below the highest one by more than ``rollback_tolerance_km``. High.
- crash (4): a crash event; minor, moderate, severe: Medium, High, Critical.
- tamper (5): power cut or signal jamming: High; T-Box removed or firmware modified: Critical.

The contract treats Medium as a warning (watch) and High or Critical as a breach (ICollateralManager.sol). The rules
are pure: they read and update a :class:`VehicleState` and return alerts; the pipeline stores and reports them.
Geofences are the registration regions' boxes (``oracle.reference.REGIONS``: the regions of the simulated fleet; a
deployment with real vehicles loads its own).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from node_adapter.clients import AlertKind, Severity
from oracle.models import Crash, Odometer, Position, SourceEvent, Tamper
from oracle.reference import REGIONS_BY_CODE
from oracle.store import VehicleState


@dataclass(frozen=True)
class Alert:
    kind: AlertKind
    severity: Severity
    occurred_at: datetime
    evidence: dict[str, Any]
    """What the alert rests on: the triggering record's id and the values compared."""


CRASH_SEVERITY = {"minor": Severity.MEDIUM, "moderate": Severity.HIGH, "severe": Severity.CRITICAL}
TAMPER_SEVERITY = {
    "power_cut": Severity.HIGH,
    "signal_jamming": Severity.HIGH,
    "tbox_removed": Severity.CRITICAL,
    "firmware_modified": Severity.CRITICAL,
}
_CONDITION_AFTER_CRASH = {"minor": "good", "moderate": "fair", "severe": "poor"}
"""A minor crash leaves the condition as it was; the valuation then follows the worse condition."""
_CONDITION_RANK = {"excellent": 0, "good": 1, "fair": 2, "poor": 3}


def apply_reading(
    state: VehicleState, event: SourceEvent, *, gps_loss_limit: int, rollback_tolerance_km: float
) -> list[Alert]:
    """Update ``state`` with one telematics record (in time order) and return the alerts it raises."""
    at = event.occurred_at
    payload = event.payload
    alerts: list[Alert] = []
    base = {"record": event.id, "at": at.isoformat()}
    if isinstance(payload, Position):
        region = REGIONS_BY_CODE.get(state.region or "")
        inside = region is None or region.contains(payload.lat, payload.lon)
        if not inside and not state.outside and region is not None:
            alerts.append(
                Alert(
                    AlertKind.GEOFENCE_EXIT,
                    Severity.HIGH,
                    at,
                    {
                        **base,
                        "lat": payload.lat,
                        "lon": payload.lon,
                        "region": region.code,
                        "box": [region.lat_min, region.lat_max, region.lon_min, region.lon_max],
                    },
                )
            )
        state.outside = not inside
        state.last_position_at = at
        state.gps_lost = False
    elif isinstance(payload, Odometer):
        reading = payload.odometer_km
        if state.odometer_km is not None and reading < state.odometer_km - rollback_tolerance_km:
            alerts.append(
                Alert(
                    AlertKind.ODOMETER_ROLLBACK,
                    Severity.HIGH,
                    at,
                    {**base, "reading_km": reading, "highest_km": state.odometer_km},
                )
            )
        else:
            state.odometer_km = max(reading, state.odometer_km or 0.0)
        last = state.last_position_at
        if last is not None and not state.gps_lost and (at - _aware(last, at)).total_seconds() > gps_loss_limit:
            state.gps_lost = True
            alerts.append(
                Alert(
                    AlertKind.GPS_LOSS,
                    Severity.MEDIUM,
                    at,
                    {**base, "last_position_at": _aware(last, at).isoformat(), "limit_s": gps_loss_limit},
                )
            )
    elif isinstance(payload, Crash):
        alerts.append(
            Alert(
                AlertKind.CRASH,
                CRASH_SEVERITY[payload.severity],
                at,
                {
                    **base,
                    "severity": payload.severity,
                    "delta_v_kmh": payload.delta_v_kmh,
                    "airbag_deployed": payload.airbag_deployed,
                },
            )
        )
        worse = _CONDITION_AFTER_CRASH[payload.severity]
        if _CONDITION_RANK[worse] > _CONDITION_RANK.get(state.condition, 1):
            state.condition = worse
    elif isinstance(payload, Tamper):
        alerts.append(Alert(AlertKind.TAMPER, TAMPER_SEVERITY[payload.kind], at, {**base, "kind": payload.kind}))
    state.last_report_at = at
    return alerts


def _aware(moment: datetime, like: datetime) -> datetime:
    """Databases may hand a stored time back without its zone (SQLite); all times here are UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=like.tzinfo)
