"""What a source event must look like before the oracle accepts it: pydantic models, one per source and type.

``parse_event`` turns a raw event (a dict as the provider sent it) into a :class:`SourceEvent` with a typed payload,
or raises :class:`RecordRejected` with a reason that says what was wrong. Payloads are validated strictly (a number
sent as a string is refused, not converted), and every value has the range a real reading can have, so a
malformed or out-of-range record is quarantined instead of reaching a contract rule.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, ValidationError, field_validator

from node_adapter.encoding import validate_vin
from node_adapter.exceptions import EncodingError
from oracle.settings import SourceName


class RecordRejected(ValueError):
    """A source record the oracle cannot accept; ``reason`` is a short code, the message says what was wrong."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class _Payload(BaseModel):
    model_config = ConfigDict(strict=True, extra="allow", frozen=True)


Latitude = Annotated[float, Field(ge=-90, le=90)]
Longitude = Annotated[float, Field(ge=-180, le=180)]
Cny = Annotated[int, Field(ge=0, le=100_000_000)]


# ---------------------------------------------------------------------------------------------------- DMV


class Registration(_Payload):
    plate: str = Field(min_length=1, max_length=20)
    make: str = Field(min_length=1, max_length=60)
    model: str = Field(min_length=1, max_length=60)
    year: int = Field(ge=1980, le=2100)
    region: str = Field(min_length=1, max_length=10)
    owner_id: str = Field(min_length=1, max_length=60)


class LienChange(_Payload):
    lien_id: str = Field(min_length=1, max_length=60)
    bank: str = Field(min_length=1, max_length=60)
    loan_ref: str = Field(min_length=1, max_length=60)


class Violation(_Payload):
    code: str = Field(min_length=1, max_length=20)
    fine_cny: Cny
    points: int = Field(ge=0, le=12)


class Seizure(_Payload):
    authority: str = Field(min_length=1, max_length=200)
    reason: str = Field(min_length=1, max_length=500)


class TransferAttempt(_Payload):
    outcome: Literal["blocked", "completed"]
    reason: str | None = None


# ---------------------------------------------------------------------------------------------------- telematics


class Position(_Payload):
    lat: Latitude
    lon: Longitude
    speed_kmh: float = Field(ge=0, le=400)
    heading_deg: float = Field(ge=0, le=360)
    ignition: StrictBool


class Odometer(_Payload):
    odometer_km: float = Field(ge=0, le=3_000_000)


class Ignition(_Payload):
    on: StrictBool


class Crash(_Payload):
    severity: Literal["minor", "moderate", "severe"]
    delta_v_kmh: float = Field(ge=0, le=300)
    airbag_deployed: StrictBool
    lat: Latitude
    lon: Longitude


class Tamper(_Payload):
    kind: Literal["power_cut", "tbox_removed", "signal_jamming", "firmware_modified"]


# ---------------------------------------------------------------------------------------------------- market


class IndexUpdate(_Payload):
    region: str = Field(min_length=1, max_length=10)
    index: float = Field(gt=0, le=10_000)
    previous: float = Field(gt=0, le=10_000)


class ComparableSale(_Payload):
    make: str = Field(min_length=1, max_length=60)
    model: str = Field(min_length=1, max_length=60)
    year: int = Field(ge=1980, le=2100)
    region: str = Field(min_length=1, max_length=10)
    price_cny: int = Field(gt=0, le=100_000_000)
    odometer_km: float = Field(ge=0, le=3_000_000)


# ---------------------------------------------------------------------------------------------------- loans


class LoanOpened(_Payload):
    loan_ref: str = Field(min_length=1, max_length=60)
    bank: str = Field(min_length=1, max_length=60)
    principal_cny: int = Field(gt=0, le=100_000_000)


class Repayment(_Payload):
    """Any report of a loan's repayment status (payment received or missed, arrears growing or cleared)."""

    loan_ref: str = Field(min_length=1, max_length=60)
    outstanding_cny: Cny
    days_overdue: int = Field(default=0, ge=0, le=3650)


class LoanClosed(_Payload):
    loan_ref: str = Field(min_length=1, max_length=60)


PAYLOADS: dict[SourceName, dict[str, type[_Payload]]] = {
    "dmv": {
        "registration": Registration,
        "lien_registered": LienChange,
        "lien_released": LienChange,
        "violation": Violation,
        "seizure": Seizure,
        "transfer_attempt": TransferAttempt,
    },
    "telematics": {"position": Position, "odometer": Odometer, "ignition": Ignition, "crash": Crash, "tamper": Tamper},
    "market": {"index_update": IndexUpdate, "comparable_sale": ComparableSale},
    "loans": {
        "loan_opened": LoanOpened,
        "payment_received": Repayment,
        "payment_missed": Repayment,
        "overdue_update": Repayment,
        "arrears_cleared": Repayment,
        "loan_closed": LoanClosed,
    },
}
"""Every event type the oracle understands, per source; any other type is quarantined as unknown."""

VIN_OPTIONAL: frozenset[tuple[str, str]] = frozenset({("market", "index_update")})
"""Event types that are not about one vehicle."""


class SourceEvent(BaseModel):
    """A validated event: the provider's envelope and its typed payload."""

    model_config = ConfigDict(frozen=True)

    source: SourceName
    seq: int = Field(ge=1)
    id: str = Field(min_length=1, max_length=100)
    vin: str | None
    type: str
    occurred_at: datetime
    payload: _Payload
    raw: dict[str, Any] = Field(repr=False)

    @field_validator("occurred_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("a timestamp needs a time zone (UTC, 'Z')")
        return value.astimezone(UTC)


def parse_event(source: SourceName, raw: Any) -> SourceEvent:
    """Validate one raw event of ``source``; :class:`RecordRejected` says why it cannot be accepted."""
    if not isinstance(raw, dict):
        raise RecordRejected("malformed", f"an event is a JSON object, not {type(raw).__name__}")
    seq = raw.get("seq")
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 1:
        raise RecordRejected("malformed", "the event has no positive integer 'seq'")
    event_id = raw.get("id")
    if not isinstance(event_id, str) or not event_id:
        raise RecordRejected("malformed", "the event has no 'id'")
    kind = raw.get("type")
    types = PAYLOADS[source]
    if kind not in types:
        raise RecordRejected("unknown_type", f"{source} event type {kind!r} is not one the oracle knows")
    if "vin" not in raw:
        raise RecordRejected("malformed", "the event has no 'vin' field")
    vin = raw["vin"]
    if vin is None:
        if (source, kind) not in VIN_OPTIONAL:
            raise RecordRejected("malformed", f"a {source} {kind} event must name a vehicle (vin is null)")
    elif not isinstance(vin, str):
        raise RecordRejected("malformed", f"'vin' is a string, not {type(vin).__name__}")
    else:
        try:
            vin = validate_vin(vin, check_digit=True)
        except EncodingError as exc:
            raise RecordRejected("bad_vin", f"the VIN is not valid: {exc}") from None
    if "payload" not in raw or not isinstance(raw["payload"], dict):
        raise RecordRejected("malformed", "the event has no 'payload' object")
    try:
        payload = types[kind].model_validate(raw["payload"])
    except ValidationError as exc:
        raise RecordRejected(_reason(exc), f"{source} {kind} payload: {_summary(exc)}") from None
    try:
        return SourceEvent(
            source=source,
            seq=seq,
            id=event_id,
            vin=vin,
            type=kind,
            occurred_at=raw.get("occurred_at"),
            payload=payload,
            raw=raw,
        )
    except ValidationError as exc:
        raise RecordRejected("bad_timestamp", f"occurred_at: {_summary(exc)}") from None


class LoanStatusView(BaseModel):
    """A loan as the bank's core system reports it now (``GET /v1/loans/{loan_ref}``)."""

    loan_ref: str
    outstanding_cny: int = Field(ge=0, le=100_000_000)
    days_overdue: int = Field(ge=0, le=3650)


def parse_loan_status(raw: Any) -> LoanStatusView:
    """Validate the core system's answer; :class:`RecordRejected` if it is not a loan status."""
    try:
        return LoanStatusView.model_validate(raw)
    except ValidationError as exc:
        raise RecordRejected("malformed", f"loan status: {_summary(exc)}") from None


def _reason(exc: ValidationError) -> str:
    kinds = {error["type"] for error in exc.errors()}
    ranges = {"greater_than", "greater_than_equal", "less_than", "less_than_equal", "too_short", "too_long"}
    return "out_of_range" if kinds and kinds <= ranges else "malformed"


def _summary(exc: ValidationError) -> str:
    """Where and what, without repeating the offending values (they may be personal data)."""
    parts = []
    for error in exc.errors()[:5]:
        where = ".".join(str(p) for p in error["loc"]) or "value"
        parts.append(f"{where}: {error['msg']}")
    more = len(exc.errors()) - 5
    return "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")
