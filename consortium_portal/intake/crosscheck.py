"""Cross-checks of a document's fields against what the DMV oracle and the chain know of the vehicle.

The DMV facts come from the oracle's document store (the ``oracle_record`` table in the shared database: the salted
DMV and telematics records whose digests the oracle anchored). The portal does not import the oracle; it reads
those rows by the columns declared in :data:`ORACLE_RECORDS` (a test keeps them in step with ``oracle.store``).
Odometer readings attested on chain come from the read model.

Checks, each a :class:`Mismatch` when it fails:

| field        | against                                                                                     |
|--------------|---------------------------------------------------------------------------------------------|
| owner_name   | the registered owner (the DMV registration, moved on by completed transfers)                 |
| plate        | the registered plate                                                                         |
| lien_holder  | the banks holding active liens (registered and not released); a sale while a lien is active |
| mileage_km   | the readings before the document's date (no lower) and after it (no higher), within 100 km  |

A mismatch names the field and what is wrong, never the DMV's value (an uploader learns no one's name from it).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from pydantic import BaseModel
from sqlalchemy import Column, DateTime, MetaData, String, Table, Text, inspect, select
from sqlalchemy.engine import Engine
from sqlmodel import Session
from sqlmodel import select as sql_select

from consortium_portal.intake.fields import DocType
from node_adapter.readmodel import AttestationView

ORACLE_RECORDS: Final = Table(
    "oracle_record",
    MetaData(),
    Column("vin", String(17)),
    Column("source", String(20)),
    Column("type", String(40)),
    Column("occurred_at", DateTime),
    Column("document", Text),
)
"""The columns of the oracle's document store this module reads (declared here, owned by ``oracle.store``)."""

MILEAGE_TOLERANCE_KM: Final = 100


class Mismatch(BaseModel):
    field: str
    code: str
    message: str


class CrossCheck(BaseModel):
    dmv_records: int
    """DMV records of the vehicle the oracle holds (0: nothing to compare the owner, plate and liens with)."""
    readings: int
    """Odometer readings compared with (telematics and attested)."""
    mismatches: list[Mismatch]


@dataclass
class DmvFacts:
    records: int = 0
    owner: str | None = None
    plate: str | None = None
    liens: dict[str, str] = field(default_factory=dict)
    """Active liens: lien id -> bank."""
    readings: list[tuple[datetime, float]] = field(default_factory=list)


def _norm(text: str) -> str:
    return "".join(text.split()).replace("·", "").replace("-", "").upper()


def dmv_facts(engine: Engine, vin: str, subject: str) -> DmvFacts:
    """What the oracle and the chain know of the vehicle."""
    facts = DmvFacts()
    with Session(engine) as session:
        if inspect(engine).has_table("oracle_record"):
            rows = session.execute(
                select(
                    ORACLE_RECORDS.c.source,
                    ORACLE_RECORDS.c.type,
                    ORACLE_RECORDS.c.occurred_at,
                    ORACLE_RECORDS.c.document,
                )
                .where(ORACLE_RECORDS.c.vin == vin, ORACLE_RECORDS.c.source.in_(("dmv", "telematics")))
                .order_by(ORACLE_RECORDS.c.occurred_at)
            ).all()
            for source, type_, occurred_at, document in rows:
                _fold(facts, source, type_, _aware(occurred_at), json.loads(document))
        for reading, block_time in session.exec(
            sql_select(AttestationView.reading, AttestationView.block_time).where(
                AttestationView.subject == subject,
                AttestationView.reading != None,  # noqa: E711 (SQL IS NOT NULL)
            )
        ).all():
            if reading is not None:
                facts.readings.append((datetime.fromtimestamp(block_time, UTC), float(reading)))
    return facts


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _fold(facts: DmvFacts, source: str, type_: str, at: datetime, doc: dict[str, Any]) -> None:
    if source == "telematics":
        if type_ == "odometer" and isinstance(doc.get("odometer_km"), int | float):
            facts.readings.append((at, float(doc["odometer_km"])))
        return
    facts.records += 1
    if type_ == "registration":
        facts.owner, facts.plate = doc.get("owner_name"), doc.get("plate")
    elif type_ == "transfer_attempt" and doc.get("outcome") == "completed":
        facts.owner = doc.get("to_owner")
    elif type_ == "lien_registered":
        facts.liens[str(doc.get("lien_id"))] = str(doc.get("bank"))
    elif type_ == "lien_released":
        facts.liens.pop(str(doc.get("lien_id")), None)


def cross_check(
    facts: DmvFacts,
    *,
    doc_type: DocType | None,
    owner_name: str | None,
    plate: str | None,
    lien_holder: str | None,
    mileage_km: int | None,
    on: str | None,
) -> CrossCheck:
    """The document's fields against ``facts``."""
    found: list[Mismatch] = []
    if owner_name and facts.owner and _norm(owner_name) != _norm(facts.owner):
        found.append(Mismatch(field="owner_name", code="owner_mismatch", message=_OWNER_MESSAGE[doc_type]))
    if plate and facts.plate and _norm(plate) != _norm(facts.plate):
        found.append(Mismatch(field="plate", code="plate_mismatch", message="the plate is not the registered plate"))
    holders = {_norm(bank) for bank in facts.liens.values()}
    if lien_holder and _norm(lien_holder) not in holders:
        found.append(
            Mismatch(
                field="lien_holder",
                code="lien_mismatch",
                message="the DMV records no active lien by this lien holder"
                if holders
                else "the DMV records no active lien on the vehicle",
            )
        )
    if doc_type == DocType.INVOICE and holders:
        found.append(
            Mismatch(
                field="lien_holder",
                code="sale_under_lien",
                message="a sale of a vehicle the DMV records an active lien on",
            )
        )
    if mileage_km is not None and on is not None:
        when = datetime.fromisoformat(on).replace(tzinfo=UTC)
        before = [km for at, km in facts.readings if at.date() <= when.date()]
        after = [km for at, km in facts.readings if at.date() > when.date()]
        if before and mileage_km + MILEAGE_TOLERANCE_KM < max(before):
            found.append(
                Mismatch(
                    field="mileage_km",
                    code="mileage_rollback",
                    message=f"lower than a reading of {max(before):,.0f} km recorded before the document's date",
                )
            )
        if after and mileage_km - MILEAGE_TOLERANCE_KM > min(after):
            found.append(
                Mismatch(
                    field="mileage_km",
                    code="mileage_ahead",
                    message=f"higher than a reading of {min(after):,.0f} km recorded after the document's date",
                )
            )
    return CrossCheck(dmv_records=facts.records, readings=len(facts.readings), mismatches=found)


_OWNER_MESSAGE: Final[dict[DocType | None, str]] = {
    DocType.REGISTRATION: "the owner is not the owner the DMV has registered",
    DocType.INVOICE: "the buyer is not the owner the DMV has registered (a transfer not yet registered?)",
    DocType.REPAIR: "the customer is not the registered owner",
    DocType.INSURANCE: "the insured is not the registered owner",
    None: "the name is not the registered owner",
}
