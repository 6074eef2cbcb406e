"""The telematics anomaly rules on their own: each alert, its severity and its evidence, and what does not fire."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from node_adapter.clients import AlertKind, Severity
from oracle.models import SourceEvent, parse_event
from oracle.reference import REGIONS_BY_CODE
from oracle.rules import apply_reading
from oracle.store import VehicleState

VIN = "LSVJETH80N5183294"
T0 = datetime(2025, 3, 1, tzinfo=UTC)
SHANGHAI = REGIONS_BY_CODE["SH"]
INSIDE = SHANGHAI.centre


def _event(type_: str, payload: dict[str, Any], *, at: datetime = T0, seq: int = 1) -> SourceEvent:
    raw = {
        "seq": seq,
        "id": f"telematics-{seq:08d}",
        "vin": VIN,
        "type": type_,
        "occurred_at": at.isoformat(),
        "payload": payload,
    }
    return parse_event("telematics", raw)


def _position(lat: float, lon: float, **kw: Any) -> SourceEvent:
    payload = {"lat": lat, "lon": lon, "speed_kmh": 40.0, "heading_deg": 90.0, "ignition": True}
    return _event("position", payload, **kw)


def _state() -> VehicleState:
    return VehicleState(vin=VIN, subject="0x" + "11" * 32, region="SH", odometer_km=10_000.0, last_position_at=T0)


def _apply(state: VehicleState, event: SourceEvent) -> list[Any]:
    return apply_reading(state, event, gps_loss_limit=1800, rollback_tolerance_km=0.5)


def test_a_geofence_exit_alerts_once_and_again_after_coming_back() -> None:
    state = _state()
    assert _apply(state, _position(*INSIDE)) == []
    outside = (SHANGHAI.lat_max + 0.3, INSIDE[1])
    [alert] = _apply(state, _position(*outside, seq=2))
    assert (alert.kind, alert.severity) == (AlertKind.GEOFENCE_EXIT, Severity.HIGH)
    assert alert.evidence["record"] == "telematics-00000002"
    assert alert.evidence["region"] == "SH"
    assert alert.evidence["lat"] == outside[0]
    assert _apply(state, _position(*outside, seq=3)) == []  # still outside: no new alert
    assert _apply(state, _position(*INSIDE, seq=4)) == []
    assert [a.kind for a in _apply(state, _position(*outside, seq=5))] == [AlertKind.GEOFENCE_EXIT]


def test_gps_loss_beyond_the_limit_alerts_once_per_loss() -> None:
    state = _state()
    at = T0 + timedelta(seconds=1800)
    assert _apply(state, _event("odometer", {"odometer_km": 10_001.0}, at=at)) == []  # exactly the limit
    [alert] = _apply(state, _event("odometer", {"odometer_km": 10_002.0}, at=at + timedelta(seconds=1), seq=2))
    assert (alert.kind, alert.severity) == (AlertKind.GPS_LOSS, Severity.MEDIUM)
    assert alert.evidence["limit_s"] == 1800
    later = at + timedelta(seconds=600)
    assert _apply(state, _event("odometer", {"odometer_km": 10_003.0}, at=later, seq=3)) == []
    assert _apply(state, _position(*INSIDE, at=later, seq=4)) == []  # the signal is back
    assert state.gps_lost is False


def test_an_odometer_rollback_alerts_and_keeps_the_highest_reading() -> None:
    state = _state()
    assert _apply(state, _event("odometer", {"odometer_km": 9_999.6})) == []  # within the tolerance
    [alert] = _apply(state, _event("odometer", {"odometer_km": 7_000.0}, seq=2))
    assert (alert.kind, alert.severity) == (AlertKind.ODOMETER_ROLLBACK, Severity.HIGH)
    assert (alert.evidence["reading_km"], alert.evidence["highest_km"]) == (7_000.0, 10_000.0)
    assert state.odometer_km == 10_000.0


@pytest.mark.parametrize(
    ("severity", "expected", "condition"),
    [("minor", Severity.MEDIUM, "good"), ("moderate", Severity.HIGH, "fair"), ("severe", Severity.CRITICAL, "poor")],
)
def test_a_crash_alerts_by_its_severity_and_worsens_the_condition(
    severity: str, expected: Severity, condition: str
) -> None:
    state = _state()
    payload = {
        "severity": severity,
        "delta_v_kmh": 30.0,
        "airbag_deployed": True,
        "speed_before_kmh": 50.0,
        "lat": INSIDE[0],
        "lon": INSIDE[1],
    }
    [alert] = _apply(state, _event("crash", payload))
    assert (alert.kind, alert.severity) == (AlertKind.CRASH, expected)
    assert alert.evidence["delta_v_kmh"] == 30.0
    assert state.condition == condition
    _apply(state, _event("crash", {**payload, "severity": "minor"}, seq=2))
    assert state.condition == condition  # a later minor crash never improves the condition


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("power_cut", Severity.HIGH),
        ("signal_jamming", Severity.HIGH),
        ("tbox_removed", Severity.CRITICAL),
        ("firmware_modified", Severity.CRITICAL),
    ],
)
def test_tamper_alerts_by_its_kind(kind: str, expected: Severity) -> None:
    [alert] = _apply(_state(), _event("tamper", {"kind": kind, "lat": INSIDE[0], "lon": INSIDE[1]}))
    assert (alert.kind, alert.severity, alert.evidence["kind"]) == (AlertKind.TAMPER, expected, kind)


def test_ignition_raises_nothing() -> None:
    assert _apply(_state(), _event("ignition", {"on": True})) == []
