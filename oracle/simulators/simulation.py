"""The shared simulation behind the four source simulators: a simulated clock, per-source event feeds and state.

Nothing here knows about HTTP. ``Simulation.advance`` moves the clock and produces the periodic data of every source
(telematics reports every ``report_interval`` seconds; DMV violations, market index moves, comparable sales and loan
repayments once a simulated day, at 00:00 UTC); ``Simulation.apply`` injects a scenario. All randomness comes from
per-source ``random.Random`` instances seeded from the fleet seed, so the same seed and the same calls give the same
events, byte for byte.

Each source has one append-only feed. An event is ``{"seq", "id", "vin", "type", "occurred_at", "payload"}``: ``seq``
is its position in the feed (1, 2, ...) and the cursor; ``id`` identifies the event (a re-emitted duplicate keeps its
``id`` under a new ``seq``). Fault scenarios can make the next events malformed on purpose, in a stated way.
"""

from __future__ import annotations

import math
import pickle
import random
import threading
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from oracle.reference import CAR_MODELS, REGIONS, REGIONS_BY_CODE, Region
from oracle.simulators.fleet import (
    SIMULATION_EPOCH,
    Fleet,
    Loan,
    Vehicle,
    depreciated_value,
    generate_fleet,
    make_vin,
)

Source = Literal["dmv", "telematics", "market", "loans"]
SOURCES: tuple[Source, ...] = ("dmv", "telematics", "market", "loans")
MalformedKind = Literal["missing_vin", "bad_vin", "bad_timestamp", "wrong_type", "missing_payload", "out_of_range"]
OUT_OF_RANGE = -1_000_000_000
"""What ``out_of_range`` puts in every number of a payload: no reading, price or count can be that."""
MAX_ADVANCE_SECONDS = 31 * 86_400
MAX_PAGE = 1000


class SimulatorError(Exception):
    """Root of the simulator errors."""


class ScenarioError(SimulatorError, ValueError):
    """A scenario that cannot be applied: unknown target, wrong source, or a state that does not allow it (HTTP 422)."""


class CursorError(SimulatorError, ValueError):
    """A feed cursor that is not one this feed handed out (HTTP 422)."""


class NotFoundError(SimulatorError, LookupError):
    """No such vehicle, loan or region (HTTP 404)."""


# ---------------------------------------------------------------------------------------------------- scenarios


class _Scenario(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PriceShock(_Scenario):
    """Move one region's price index by ``percent`` (``-9`` is a 9% fall) at once."""

    scenario: Literal["price_shock"]
    region: str
    percent: float = Field(gt=-100, le=1000)


class GpsLoss(_Scenario):
    """The vehicle's T-Box reports no position for ``seconds`` (odometer reports continue)."""

    scenario: Literal["gps_loss"]
    vin: str
    seconds: int = Field(gt=0, le=MAX_ADVANCE_SECONDS)


class GeofenceExit(_Scenario):
    """The vehicle is now north of its region's box and stays outside it; a position is reported at once."""

    scenario: Literal["geofence_exit"]
    vin: str


class OdometerRollback(_Scenario):
    """The odometer is wound back by ``km``; the lower reading is reported at once."""

    scenario: Literal["odometer_rollback"]
    vin: str
    km: float = Field(gt=0)


class Crash(_Scenario):
    """A crash event; the vehicle then stands still with its ignition off."""

    scenario: Literal["crash"]
    vin: str
    severity: Literal["minor", "moderate", "severe"] = "moderate"


class Tamper(_Scenario):
    """A tamper event from the T-Box."""

    scenario: Literal["tamper"]
    vin: str
    kind: Literal["power_cut", "tbox_removed", "signal_jamming", "firmware_modified"] = "power_cut"


class MissedPayment(_Scenario):
    """The loan is now ``days_overdue`` days overdue; it grows by one each simulated day until the end."""

    scenario: Literal["missed_payment"]
    loan: str
    days_overdue: int = Field(ge=1, le=3650)


class Cure(_Scenario):
    """The borrower pays every arrear: the loan is current again (``arrears_cleared``, days overdue 0)."""

    scenario: Literal["cure"]
    loan: str


class DmvSeizure(_Scenario):
    """The authorities seize the vehicle."""

    scenario: Literal["dmv_seizure"]
    vin: str
    authority: str = "Traffic Police Detachment"
    reason: str = "court enforcement order"


class TransferAttempt(_Scenario):
    """Someone tries to transfer the registration; blocked when a lien is active or the vehicle is seized."""

    scenario: Literal["transfer_attempt"]
    vin: str
    to_owner: str = "unknown buyer"


class LienRelease(_Scenario):
    """The vehicle's active lien is released at the DMV."""

    scenario: Literal["lien_release"]
    vin: str


class Slow(_Scenario):
    """The next ``requests`` requests to this source's ``/v1`` routes are delayed by ``delay_ms``."""

    scenario: Literal["slow"]
    delay_ms: int = Field(gt=0, le=30_000)
    requests: int = Field(default=1, ge=1, le=10_000)


class Fail(_Scenario):
    """The next ``requests`` requests to this source's ``/v1`` routes answer HTTP 503."""

    scenario: Literal["fail"]
    requests: int = Field(default=1, ge=1, le=10_000)


class Malformed(_Scenario):
    """The next ``count`` events this source emits are malformed as ``kind`` says.

    ``missing_vin``: no ``vin`` key; ``bad_vin``: the VIN's check digit is wrong (``"INVALID-VIN"`` where the event has
    no VIN); ``bad_timestamp``: ``occurred_at`` is ``"yesterday"``; ``wrong_type``: every payload value is a string;
    ``missing_payload``: no ``payload`` key; ``out_of_range``: every number of the payload is ``-1_000_000_000``
    (events without a number in their payload are left alone and the next one takes the fault).
    """

    scenario: Literal["malformed"]
    kind: MalformedKind
    count: int = Field(default=1, ge=1, le=10_000)


class Duplicate(_Scenario):
    """Re-emit an event unchanged (same ``id``, ``occurred_at``, payload) under a new ``seq``; the latest by default."""

    scenario: Literal["duplicate"]
    event_id: str | None = None


class OutOfOrder(_Scenario):
    """Emit a copy of the latest event (of ``vin`` if given) with a new ``id`` and ``occurred_at`` ``seconds`` ago."""

    scenario: Literal["out_of_order"]
    seconds: int = Field(gt=0)
    vin: str | None = None


Scenario = Annotated[
    PriceShock
    | GpsLoss
    | GeofenceExit
    | OdometerRollback
    | Crash
    | Tamper
    | MissedPayment
    | Cure
    | DmvSeizure
    | TransferAttempt
    | LienRelease
    | Slow
    | Fail
    | Malformed
    | Duplicate
    | OutOfOrder,
    Field(discriminator="scenario"),
]

SCENARIO_SOURCE: dict[str, Source | None] = {
    "price_shock": "market",
    "gps_loss": "telematics",
    "geofence_exit": "telematics",
    "odometer_rollback": "telematics",
    "crash": "telematics",
    "tamper": "telematics",
    "missed_payment": "loans",
    "cure": "loans",
    "dmv_seizure": "dmv",
    "transfer_attempt": "dmv",
    "lien_release": "dmv",
    "slow": None,
    "fail": None,
    "malformed": None,
    "duplicate": None,
    "out_of_order": None,
}
"""The source each scenario belongs to; ``None`` for faults, which any source takes."""


class ScenarioResult(BaseModel):
    scenario: str
    source: Source
    applied_at: str
    event_ids: list[str]


# ---------------------------------------------------------------------------------------------------- read models


class FeedPage(BaseModel):
    events: list[dict[str, Any]]
    next: str
    has_more: bool


class IndexQuote(BaseModel):
    region: str
    name: str
    index: float
    base: float = 100.0
    as_of: str


class ComparableSale(BaseModel):
    id: str
    vin: str
    make: str
    model: str
    year: int
    region: str
    price_cny: int
    odometer_km: float
    channel: str
    sold_at: str


class LienRecord(BaseModel):
    lien_id: str
    bank: str
    loan_ref: str
    registered_on: str
    released_on: str | None = None


class VehicleRecord(BaseModel):
    vin: str
    plate: str
    make: str
    model: str
    year: int
    region: str
    owner_id: str
    owner_name: str
    registered_on: str
    status: Literal["registered", "seized"]
    liens: list[LienRecord]
    violations: int
    as_of: str


class LoanStatus(BaseModel):
    loan_ref: str
    vin: str
    bank: str
    principal_cny: int
    outstanding_cny: int
    monthly_payment_cny: int
    annual_rate: float
    term_months: int
    due_day: int
    opened_on: str
    status: Literal["current", "overdue", "default", "closed"]
    days_overdue: int
    next_due_on: str | None
    as_of: str


# ---------------------------------------------------------------------------------------------------- internals


def iso(moment: datetime) -> str:
    """``2025-01-01T00:05:00Z``: UTC, second precision."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _corrupt_vin(vin: Any) -> str:
    if not isinstance(vin, str) or len(vin) != 17:
        return "INVALID-VIN"
    wrong = "0" if vin[8] == "X" else str((int(vin[8]) + 1) % 10)
    return vin[:8] + wrong + vin[9:]


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _malform(event: dict[str, Any], kind: MalformedKind) -> None:
    if kind == "missing_vin":
        event.pop("vin", None)
    elif kind == "bad_vin":
        event["vin"] = _corrupt_vin(event.get("vin"))
    elif kind == "bad_timestamp":
        event["occurred_at"] = "yesterday"
    elif kind == "wrong_type":
        event["payload"] = {key: str(value) for key, value in event["payload"].items()}
    elif kind == "out_of_range":
        event["payload"] = {
            key: OUT_OF_RANGE if _is_number(value) else value for key, value in event["payload"].items()
        }
    else:
        event.pop("payload", None)


@dataclass
class Feed:
    """One source's append-only event log, read by cursor (the ``seq`` of the last event read)."""

    source: Source
    events: list[dict[str, Any]] = field(default_factory=list)
    malformed: list[MalformedKind] = field(default_factory=list)
    _ids: dict[str, int] = field(default_factory=dict)

    def emit(self, *, vin: str | None, type: str, occurred_at: datetime, payload: dict[str, Any]) -> dict[str, Any]:
        seq = len(self.events) + 1
        event: dict[str, Any] = {
            "seq": seq,
            "id": f"{self.source}-{seq:08d}",
            "vin": vin,
            "type": type,
            "occurred_at": iso(occurred_at),
            "payload": payload,
        }
        self._ids[event["id"]] = seq
        if self.malformed and (self.malformed[0] != "out_of_range" or any(map(_is_number, payload.values()))):
            _malform(event, self.malformed.pop(0))
        self.events.append(event)
        return event

    def reemit(self, event: dict[str, Any]) -> dict[str, Any]:
        copy = {**event, "seq": len(self.events) + 1}
        self.events.append(copy)
        return copy

    def by_id(self, event_id: str) -> dict[str, Any] | None:
        seq = self._ids.get(event_id)
        return None if seq is None else self.events[seq - 1]

    def page(self, after: str | None, limit: int) -> FeedPage:
        position = self.parse_cursor(after)
        if not 1 <= limit <= MAX_PAGE:
            raise CursorError(f"limit is between 1 and {MAX_PAGE}, not {limit}")
        chunk = [dict(event) for event in self.events[position : position + limit]]
        last = chunk[-1]["seq"] if chunk else position
        return FeedPage(events=chunk, next=str(last), has_more=last < len(self.events))

    def parse_cursor(self, after: str | None) -> int:
        if after is None or after == "":
            return 0
        if not after.isdigit():
            raise CursorError(f"a {self.source} cursor is the 'next' value of an earlier page, not {after!r}")
        position = int(after)
        if position > len(self.events):
            raise CursorError(f"cursor {position} is beyond the end of the {self.source} feed ({len(self.events)})")
        return position


@dataclass
class _Faults:
    slow_requests: int = 0
    delay_ms: int = 0
    fail_requests: int = 0


@dataclass
class _Telemetry:
    lat: float
    lon: float
    odometer_km: float
    ignition: bool = False
    speed_kmh: float = 0.0
    heading_deg: float = 0.0
    gps_lost_until: datetime | None = None
    outside: bool = False
    crashed: bool = False


@dataclass
class _Registration:
    owner_id: str
    owner_name: str
    status: Literal["registered", "seized"] = "registered"
    liens: list[LienRecord] = field(default_factory=list)
    violations: int = 0


@dataclass
class _LoanState:
    loan: Loan
    outstanding: float
    status: Literal["current", "overdue", "default", "closed"] = "current"
    days_overdue: int = 0


_VIOLATIONS = (
    ("1303", "speeding 20-50% over the limit", 200, 6),
    ("1625", "running a red light", 200, 6),
    ("1039", "illegal parking", 150, 0),
    ("1223", "using a phone while driving", 100, 3),
)
_DELTA_V = {"minor": (8.0, 20.0), "moderate": (20.0, 40.0), "severe": (40.0, 75.0)}


def _loan_status(days_overdue: int) -> Literal["current", "overdue", "default"]:
    if days_overdue == 0:
        return "current"
    return "overdue" if days_overdue < 90 else "default"


class Simulation:
    """The state of all four sources over one simulated clock. Thread-safe (one lock around every call)."""

    def __init__(
        self, seed: int, fleet_size: int, *, start: datetime = SIMULATION_EPOCH, report_interval: int = 300
    ) -> None:
        if report_interval < 1:
            raise ValueError(f"the telematics report interval is at least one second, not {report_interval}")
        self.seed = seed
        self.fleet: Fleet = generate_fleet(seed, fleet_size, start=start)
        self.start = start
        self.now = start
        self.report_interval = report_interval
        self._lock = threading.RLock()
        self._rng: dict[Source, random.Random] = {
            source: random.Random(f"{seed}/{source}")  # noqa: S311 (simulated data, not secrets)
            for source in SOURCES
        }
        self.feeds: dict[Source, Feed] = {source: Feed(source) for source in SOURCES}
        self._faults: dict[Source, _Faults] = {source: _Faults() for source in SOURCES}
        self._vehicles: dict[str, Vehicle] = {vehicle.vin: vehicle for vehicle in self.fleet.vehicles}
        self._telemetry = {
            v.vin: _Telemetry(lat=v.home_lat, lon=v.home_lon, odometer_km=v.odometer_km) for v in self.fleet.vehicles
        }
        self._registrations = {v.vin: _Registration(v.owner_id, v.owner_name) for v in self.fleet.vehicles}
        self._loans = {loan.loan_ref: _LoanState(loan, float(loan.outstanding_cny)) for loan in self.fleet.loans}
        self._index = {region.code: 100.0 for region in REGIONS}
        self._sales: list[ComparableSale] = []
        self._next_tick = start + timedelta(seconds=report_interval)
        self._next_day = _midnight(start.date() + timedelta(days=1))
        self._seed_history()

    # ------------------------------------------------------------------------------------------ persistence

    def __getstate__(self) -> dict[str, Any]:
        with self._lock:
            state = dict(self.__dict__)
        del state["_lock"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.RLock()

    def save(self, path: Path) -> None:
        """Write the whole simulation (clock, feeds, scenarios applied) to ``path``, atomically."""
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".tmp")
        with self._lock:
            temporary.write_bytes(pickle.dumps(self))
        temporary.replace(path)

    @classmethod
    def load(cls, path: Path) -> Simulation:
        """A simulation saved by :meth:`save` (a local state file this process wrote, never outside input)."""
        simulation = pickle.loads(path.read_bytes())  # noqa: S301 (our own state file, see above)
        if not isinstance(simulation, cls):
            raise ScenarioError(f"{path} does not hold a saved simulation")
        return simulation

    # ------------------------------------------------------------------------------------------ clock and feeds

    def advance(self, seconds: int) -> dict[Source, int]:
        """Move the clock ``seconds`` forward, producing every periodic event due; the count of events per source."""
        if not 0 < seconds <= MAX_ADVANCE_SECONDS:
            raise ScenarioError(f"advance by 1 to {MAX_ADVANCE_SECONDS} seconds at a time, not {seconds}")
        with self._lock:
            before = {source: len(feed.events) for source, feed in self.feeds.items()}
            target = self.now + timedelta(seconds=seconds)
            while min(self._next_tick, self._next_day) <= target:
                moment = min(self._next_tick, self._next_day)
                self.now = moment
                if moment == self._next_tick:
                    self._telematics_tick()
                    self._next_tick += timedelta(seconds=self.report_interval)
                if moment == self._next_day:
                    self._dmv_day()
                    self._market_day()
                    self._loans_day()
                    self._next_day += timedelta(days=1)
            self.now = target
            return {source: len(feed.events) - before[source] for source, feed in self.feeds.items()}

    def page(self, source: Source, after: str | None, limit: int) -> FeedPage:
        with self._lock:
            return self.feeds[source].page(after, limit)

    def take_fault(self, source: Source) -> tuple[int, bool]:
        """Consume one request's worth of injected faults: (delay in ms, whether to fail with 503)."""
        with self._lock:
            faults = self._faults[source]
            delay = 0
            if faults.slow_requests:
                faults.slow_requests -= 1
                delay = faults.delay_ms
            fail = faults.fail_requests > 0
            if fail:
                faults.fail_requests -= 1
            return delay, fail

    # ------------------------------------------------------------------------------------------ scenarios

    def apply(self, scenario: Scenario, *, source: Source) -> ScenarioResult:
        """Inject ``scenario`` into ``source``; a ScenarioError if it is another source's or its target is unknown."""
        owner = SCENARIO_SOURCE[scenario.scenario]
        if owner is not None and owner != source:
            raise ScenarioError(f"{scenario.scenario!r} is a {owner} scenario; post it to the {owner} simulator")
        with self._lock:
            events = self._apply(scenario, source)
            return ScenarioResult(
                scenario=scenario.scenario, source=source, applied_at=iso(self.now), event_ids=[e["id"] for e in events]
            )

    def _apply(self, scenario: Scenario, source: Source) -> list[dict[str, Any]]:
        feed = self.feeds[source]
        match scenario:
            case PriceShock(region=region, percent=percent):
                return [self._move_index(self._region(region).code, 1 + percent / 100, cause="shock")]
            case GpsLoss(vin=vin, seconds=seconds):
                self._telemetry_of(vin).gps_lost_until = self.now + timedelta(seconds=seconds)
                return []
            case GeofenceExit(vin=vin):
                return self._geofence_exit(vin)
            case OdometerRollback(vin=vin, km=km):
                state = self._telemetry_of(vin)
                if km >= state.odometer_km:
                    raise ScenarioError(f"cannot roll {vin} back by {km} km: its odometer reads {state.odometer_km} km")
                state.odometer_km = round(state.odometer_km - km, 1)
                return [self._emit_odometer(vin, state)]
            case Crash(vin=vin, severity=severity):
                return [self._crash(vin, severity)]
            case Tamper(vin=vin, kind=kind):
                state = self._telemetry_of(vin)
                payload = {"kind": kind, "lat": round(state.lat, 6), "lon": round(state.lon, 6)}
                return [feed.emit(vin=vin, type="tamper", occurred_at=self.now, payload=payload)]
            case MissedPayment(loan=loan_ref, days_overdue=days):
                return [self._missed_payment(loan_ref, days)]
            case Cure(loan=loan_ref):
                return [self._cure(loan_ref)]
            case DmvSeizure(vin=vin, authority=authority, reason=reason):
                return [self._seize(vin, authority, reason)]
            case TransferAttempt(vin=vin, to_owner=to_owner):
                return [self._transfer_attempt(vin, to_owner)]
            case LienRelease(vin=vin):
                return [self._release_lien(vin)]
            case Slow(delay_ms=delay_ms, requests=requests):
                self._faults[source].slow_requests = requests
                self._faults[source].delay_ms = delay_ms
                return []
            case Fail(requests=requests):
                self._faults[source].fail_requests = requests
                return []
            case Malformed(kind=kind, count=count):
                feed.malformed.extend([kind] * count)
                return []
            case Duplicate(event_id=event_id):
                return [feed.reemit(self._pick_event(feed, event_id))]
            case OutOfOrder(seconds=seconds, vin=vin):
                return [self._out_of_order(feed, seconds, vin)]
        raise ScenarioError(f"unknown scenario {scenario!r}")  # pragma: no cover (the union is exhaustive)

    def _pick_event(self, feed: Feed, event_id: str | None) -> dict[str, Any]:
        if event_id is None:
            if not feed.events:
                raise ScenarioError(f"the {feed.source} feed has no event to duplicate yet")
            return feed.events[-1]
        event = feed.by_id(event_id)
        if event is None:
            raise ScenarioError(f"the {feed.source} feed has no event {event_id!r}")
        return event

    def _out_of_order(self, feed: Feed, seconds: int, vin: str | None) -> dict[str, Any]:
        if vin is not None:
            self._vehicle(vin)
        model = next(
            (e for e in reversed(feed.events) if vin is None or e.get("vin") == vin),
            None,
        )
        if model is None:
            raise ScenarioError(f"the {feed.source} feed has no event{' for ' + vin if vin else ''} to send late")
        return feed.emit(
            vin=model.get("vin"),
            type=str(model["type"]),
            occurred_at=self.now - timedelta(seconds=seconds),
            payload=dict(model.get("payload", {})),
        )

    # ------------------------------------------------------------------------------------------ read models

    def index(self, region: str) -> IndexQuote:
        with self._lock:
            code = self._region(region, error=NotFoundError).code
            return IndexQuote(
                region=code, name=REGIONS_BY_CODE[code].name, index=round(self._index[code], 6), as_of=iso(self.now)
            )

    def indices(self) -> list[IndexQuote]:
        return [self.index(region.code) for region in REGIONS]

    def comparables(
        self, *, make: str, model: str, year: int | None = None, region: str | None = None, limit: int = 50
    ) -> list[ComparableSale]:
        """The most recent ``limit`` sales of that make and model (and year, region), newest first."""
        with self._lock:
            hits = [
                sale
                for sale in reversed(self._sales)
                if sale.make.lower() == make.lower()
                and sale.model.lower() == model.lower()
                and (year is None or sale.year == year)
                and (region is None or sale.region == region.upper())
            ]
            return hits[:limit]

    def loan(self, loan_ref: str) -> LoanStatus:
        with self._lock:
            state = self._loans.get(loan_ref)
            if state is None:
                raise NotFoundError(f"no loan {loan_ref!r}")
            return self._loan_status(state)

    def loan_list(self) -> list[LoanStatus]:
        with self._lock:
            return [self._loan_status(state) for state in self._loans.values()]

    def vehicle_record(self, vin: str) -> VehicleRecord:
        with self._lock:
            vehicle = self._vehicles.get(vin.strip().upper())
            if vehicle is None:
                raise NotFoundError(f"no vehicle with VIN {vin!r} is registered")
            registration = self._registrations[vehicle.vin]
            return VehicleRecord(
                vin=vehicle.vin,
                plate=vehicle.plate,
                make=vehicle.make,
                model=vehicle.model,
                year=vehicle.year,
                region=vehicle.region,
                owner_id=registration.owner_id,
                owner_name=registration.owner_name,
                registered_on=vehicle.purchased_on.isoformat(),
                status=registration.status,
                liens=[lien.model_copy() for lien in registration.liens],
                violations=registration.violations,
                as_of=iso(self.now),
            )

    def _loan_status(self, state: _LoanState) -> LoanStatus:
        loan = state.loan
        next_due: str | None = None
        if state.status == "current":
            day = self.now.date()
            if day.day > loan.due_day:
                day = (day.replace(day=1) + timedelta(days=32)).replace(day=1)
            next_due = day.replace(day=loan.due_day).isoformat()
        return LoanStatus(
            loan_ref=loan.loan_ref,
            vin=loan.vin,
            bank=loan.bank,
            principal_cny=loan.principal_cny,
            outstanding_cny=round(state.outstanding),
            monthly_payment_cny=loan.monthly_payment_cny,
            annual_rate=loan.annual_rate,
            term_months=loan.term_months,
            due_day=loan.due_day,
            opened_on=loan.opened_on.isoformat(),
            status=state.status,
            days_overdue=state.days_overdue,
            next_due_on=next_due,
            as_of=iso(self.now),
        )

    # ------------------------------------------------------------------------------------------ lookups

    def _vehicle(self, vin: str) -> Vehicle:
        vehicle = self._vehicles.get(vin.strip().upper())
        if vehicle is None:
            raise ScenarioError(f"no vehicle with VIN {vin!r} in the simulated fleet")
        return vehicle

    def _telemetry_of(self, vin: str) -> _Telemetry:
        return self._telemetry[self._vehicle(vin).vin]

    def _region(self, code: str, *, error: type[SimulatorError] = ScenarioError) -> Region:
        region = REGIONS_BY_CODE.get(code.strip().upper())
        if region is None:
            known = ", ".join(REGIONS_BY_CODE)
            raise error(f"unknown region {code!r}; the regions are {known}")
        return region

    # ------------------------------------------------------------------------------------------ history at start

    def _seed_history(self) -> None:
        dmv, loans = self.feeds["dmv"], self.feeds["loans"]
        history: list[tuple[datetime, int, Vehicle | Loan]] = []
        for order, vehicle in enumerate(self.fleet.vehicles):
            history.append((_midnight(vehicle.purchased_on), order, vehicle))
        for order, loan in enumerate(self.fleet.loans):
            history.append((_midnight(loan.opened_on), len(self.fleet.vehicles) + order, loan))
        for moment, _, item in sorted(history, key=lambda entry: (entry[0], entry[1])):
            if isinstance(item, Vehicle):
                dmv.emit(
                    vin=item.vin,
                    type="registration",
                    occurred_at=moment,
                    payload={
                        "plate": item.plate,
                        "make": item.make,
                        "model": item.model,
                        "year": item.year,
                        "region": item.region,
                        "owner_id": item.owner_id,
                        "owner_name": item.owner_name,
                    },
                )
            else:
                lien = LienRecord(
                    lien_id=f"LIEN-{item.loan_ref[3:]}",
                    bank=item.bank,
                    loan_ref=item.loan_ref,
                    registered_on=item.opened_on.isoformat(),
                )
                self._registrations[item.vin].liens.append(lien)
                dmv.emit(
                    vin=item.vin,
                    type="lien_registered",
                    occurred_at=moment,
                    payload={"lien_id": lien.lien_id, "bank": item.bank, "loan_ref": item.loan_ref},
                )
                loans.emit(
                    vin=item.vin,
                    type="loan_opened",
                    occurred_at=moment,
                    payload={
                        "loan_ref": item.loan_ref,
                        "bank": item.bank,
                        "principal_cny": item.principal_cny,
                        "monthly_payment_cny": item.monthly_payment_cny,
                        "term_months": item.term_months,
                        "due_day": item.due_day,
                    },
                )
        for region in REGIONS:
            self.feeds["market"].emit(
                vin=None,
                type="index_update",
                occurred_at=self.now,
                payload={"region": region.code, "index": 100.0, "previous": 100.0, "change_pct": 0.0, "cause": "base"},
            )
        rng = self._rng["market"]
        combos = sorted({(v.make, v.model, v.year) for v in self.fleet.vehicles})
        past = sorted(
            (self.now - timedelta(seconds=rng.randrange(90 * 86_400)), make, model, year)
            for make, model, year in combos
            for _ in range(3)
        )
        for moment, make, model, year in past:
            self._comparable_sale(make, model, year, moment)
        for vin, state in self._telemetry.items():
            self._emit_position(vin, state)
            self._emit_odometer(vin, state)

    # ------------------------------------------------------------------------------------------ telematics

    def _telematics_tick(self) -> None:
        rng = self._rng["telematics"]
        hours = self.report_interval / 3600
        for vehicle in self.fleet.vehicles:
            state = self._telemetry[vehicle.vin]
            if not state.crashed and rng.random() < 0.15:
                state.ignition = not state.ignition
                self.feeds["telematics"].emit(
                    vin=vehicle.vin, type="ignition", occurred_at=self.now, payload={"on": state.ignition}
                )
            if state.ignition:
                state.speed_kmh = round(rng.uniform(15, 90), 1)
                state.heading_deg = round(rng.uniform(0, 360), 1)
                distance = state.speed_kmh * hours
                self._move(vehicle, state, distance)
                state.odometer_km = round(state.odometer_km + distance, 1)
            else:
                state.speed_kmh = 0.0
            if state.gps_lost_until is None or self.now >= state.gps_lost_until:
                state.gps_lost_until = None
                self._emit_position(vehicle.vin, state)
            self._emit_odometer(vehicle.vin, state)

    def _move(self, vehicle: Vehicle, state: _Telemetry, distance_km: float) -> None:
        heading = math.radians(state.heading_deg)
        lat = state.lat + distance_km / 111.0 * math.cos(heading)
        lon = state.lon + distance_km / (111.0 * math.cos(math.radians(state.lat))) * math.sin(heading)
        region = REGIONS_BY_CODE[vehicle.region]
        if state.outside:
            if not region.contains(lat, lon):
                state.lat, state.lon = lat, lon
            return
        state.lat = min(max(lat, region.lat_min), region.lat_max)
        state.lon = min(max(lon, region.lon_min), region.lon_max)

    def _emit_position(self, vin: str, state: _Telemetry) -> dict[str, Any]:
        return self.feeds["telematics"].emit(
            vin=vin,
            type="position",
            occurred_at=self.now,
            payload={
                "lat": round(state.lat, 6),
                "lon": round(state.lon, 6),
                "speed_kmh": state.speed_kmh,
                "heading_deg": state.heading_deg,
                "ignition": state.ignition,
            },
        )

    def _emit_odometer(self, vin: str, state: _Telemetry) -> dict[str, Any]:
        return self.feeds["telematics"].emit(
            vin=vin, type="odometer", occurred_at=self.now, payload={"odometer_km": state.odometer_km}
        )

    def _geofence_exit(self, vin: str) -> list[dict[str, Any]]:
        vehicle = self._vehicle(vin)
        state = self._telemetry[vehicle.vin]
        region = REGIONS_BY_CODE[vehicle.region]
        state.lat = region.lat_max + self._rng["telematics"].uniform(0.2, 0.5)
        state.outside = True
        if state.gps_lost_until is not None and self.now < state.gps_lost_until:
            return []
        return [self._emit_position(vehicle.vin, state)]

    def _crash(self, vin: str, severity: Literal["minor", "moderate", "severe"]) -> dict[str, Any]:
        vehicle = self._vehicle(vin)
        state = self._telemetry[vehicle.vin]
        low, high = _DELTA_V[severity]
        payload = {
            "severity": severity,
            "delta_v_kmh": round(self._rng["telematics"].uniform(low, high), 1),
            "airbag_deployed": severity != "minor",
            "speed_before_kmh": state.speed_kmh,
            "lat": round(state.lat, 6),
            "lon": round(state.lon, 6),
        }
        state.crashed, state.ignition, state.speed_kmh = True, False, 0.0
        return self.feeds["telematics"].emit(vin=vehicle.vin, type="crash", occurred_at=self.now, payload=payload)

    # ------------------------------------------------------------------------------------------ DMV

    def _dmv_day(self) -> None:
        rng = self._rng["dmv"]
        for vehicle in self.fleet.vehicles:
            if rng.random() < 0.01:
                code, description, fine, points = rng.choice(_VIOLATIONS)
                self._registrations[vehicle.vin].violations += 1
                self.feeds["dmv"].emit(
                    vin=vehicle.vin,
                    type="violation",
                    occurred_at=self.now,
                    payload={
                        "code": code,
                        "description": description,
                        "fine_cny": fine,
                        "points": points,
                        "region": vehicle.region,
                    },
                )

    def _seize(self, vin: str, authority: str, reason: str) -> dict[str, Any]:
        vehicle = self._vehicle(vin)
        registration = self._registrations[vehicle.vin]
        if registration.status == "seized":
            raise ScenarioError(f"{vehicle.vin} is already seized")
        registration.status = "seized"
        return self.feeds["dmv"].emit(
            vin=vehicle.vin,
            type="seizure",
            occurred_at=self.now,
            payload={"authority": authority, "reason": reason, "plate": vehicle.plate},
        )

    def _transfer_attempt(self, vin: str, to_owner: str) -> dict[str, Any]:
        vehicle = self._vehicle(vin)
        registration = self._registrations[vehicle.vin]
        active = [lien for lien in registration.liens if lien.released_on is None]
        reason: str | None = None
        if registration.status == "seized":
            reason = "vehicle is seized"
        elif active:
            reason = f"active lien {active[0].lien_id} held by {active[0].bank}"
        payload = {
            "from_owner": registration.owner_name,
            "to_owner": to_owner,
            "outcome": "blocked" if reason else "completed",
            "reason": reason,
        }
        if reason is None:
            registration.owner_name = to_owner
            registration.owner_id = f"OWN-T-{len(self.feeds['dmv'].events) + 1:08d}"
        return self.feeds["dmv"].emit(vin=vehicle.vin, type="transfer_attempt", occurred_at=self.now, payload=payload)

    def _release_lien(self, vin: str) -> dict[str, Any]:
        vehicle = self._vehicle(vin)
        active = [lien for lien in self._registrations[vehicle.vin].liens if lien.released_on is None]
        if not active:
            raise ScenarioError(f"{vehicle.vin} has no active lien to release")
        lien = active[0]
        lien.released_on = self.now.date().isoformat()
        return self.feeds["dmv"].emit(
            vin=vehicle.vin,
            type="lien_released",
            occurred_at=self.now,
            payload={"lien_id": lien.lien_id, "bank": lien.bank, "loan_ref": lien.loan_ref},
        )

    # ------------------------------------------------------------------------------------------ market

    def _market_day(self) -> None:
        rng = self._rng["market"]
        for region in REGIONS:
            self._move_index(region.code, 1 + rng.gauss(0.0, 0.004), cause="daily")
        combos = sorted({(v.make, v.model, v.year) for v in self.fleet.vehicles})
        for _ in range(max(1, len(combos) // 5)):
            make, model, year = rng.choice(combos)
            self._comparable_sale(make, model, year, self.now)

    def _move_index(self, region: str, factor: float, *, cause: str) -> dict[str, Any]:
        previous = self._index[region]
        self._index[region] = previous * factor
        return self.feeds["market"].emit(
            vin=None,
            type="index_update",
            occurred_at=self.now,
            payload={
                "region": region,
                "index": round(self._index[region], 6),
                "previous": round(previous, 6),
                "change_pct": round((factor - 1) * 100, 6),
                "cause": cause,
            },
        )

    def _comparable_sale(self, make: str, model: str, year: int, moment: datetime) -> None:
        rng = self._rng["market"]
        car = next(c for c in CAR_MODELS if c.make == make and c.model == model)
        vin = make_vin(rng, wmi=car.wmi, year=year, serial=rng.randrange(1_000_000))
        while vin in self._vehicles:
            vin = make_vin(rng, wmi=car.wmi, year=year, serial=rng.randrange(1_000_000))
        region = rng.choice(REGIONS).code
        odometer = round(max(1.0, moment.year - year) * rng.uniform(8_000, 20_000), 1)
        value = depreciated_value(car.new_price_cny, year=year, on=moment.date(), odometer_km=odometer)
        price = round(value * self._index[region] / 100 * rng.uniform(0.93, 1.07), -2)
        channel = rng.choice(("dealer", "auction", "private"))
        event = self.feeds["market"].emit(
            vin=vin,
            type="comparable_sale",
            occurred_at=moment,
            payload={
                "make": make,
                "model": model,
                "year": year,
                "region": region,
                "price_cny": int(price),
                "odometer_km": odometer,
                "channel": channel,
            },
        )
        self._sales.append(
            ComparableSale(
                id=str(event["id"]),
                vin=vin,
                make=make,
                model=model,
                year=year,
                region=region,
                price_cny=int(price),
                odometer_km=odometer,
                channel=channel,
                sold_at=iso(moment),
            )
        )

    # ------------------------------------------------------------------------------------------ loans

    def _loans_day(self) -> None:
        today = self.now.date()
        feed = self.feeds["loans"]
        for state in self._loans.values():
            loan = state.loan
            if state.status == "closed":
                continue
            if state.days_overdue:
                state.days_overdue += 1
                state.status = _loan_status(state.days_overdue)
                feed.emit(vin=loan.vin, type="overdue_update", occurred_at=self.now, payload=self._arrears(state))
            elif today.day == loan.due_day:
                interest = state.outstanding * loan.annual_rate / 12
                amount = min(float(loan.monthly_payment_cny), state.outstanding + interest)
                state.outstanding = max(0.0, state.outstanding + interest - amount)
                feed.emit(
                    vin=loan.vin,
                    type="payment_received",
                    occurred_at=self.now,
                    payload={
                        "loan_ref": loan.loan_ref,
                        "amount_cny": round(amount),
                        "outstanding_cny": round(state.outstanding),
                    },
                )
                if state.outstanding < 1:
                    state.status = "closed"
                    feed.emit(
                        vin=loan.vin, type="loan_closed", occurred_at=self.now, payload={"loan_ref": loan.loan_ref}
                    )

    def _missed_payment(self, loan_ref: str, days: int) -> dict[str, Any]:
        state = self._loans.get(loan_ref.strip())
        if state is None:
            raise ScenarioError(f"no loan {loan_ref!r} in the simulated portfolio")
        if state.status == "closed":
            raise ScenarioError(f"loan {loan_ref} is closed")
        state.days_overdue = days
        state.status = _loan_status(days)
        return self.feeds["loans"].emit(
            vin=state.loan.vin, type="payment_missed", occurred_at=self.now, payload=self._arrears(state)
        )

    def _cure(self, loan_ref: str) -> dict[str, Any]:
        state = self._loans.get(loan_ref.strip())
        if state is None:
            raise ScenarioError(f"no loan {loan_ref!r} in the simulated portfolio")
        if state.days_overdue == 0:
            raise ScenarioError(f"loan {loan_ref} is not overdue")
        state.days_overdue = 0
        state.status = "current"
        return self.feeds["loans"].emit(
            vin=state.loan.vin, type="arrears_cleared", occurred_at=self.now, payload=self._arrears(state)
        )

    def _arrears(self, state: _LoanState) -> dict[str, Any]:
        return {
            "loan_ref": state.loan.loan_ref,
            "days_overdue": state.days_overdue,
            "status": state.status,
            "amount_due_cny": state.loan.monthly_payment_cny * math.ceil(state.days_overdue / 30),
            "outstanding_cny": round(state.outstanding),
        }
