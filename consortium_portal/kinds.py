"""The attestation kinds the portal knows: a name, the record's schema, the roles that attest it, whether it carries an
odometer reading. The schema's digest (keccak of its canonical JSON) is what governance registers on chain as the
kind's ``schemaDigest``, so a record the portal validated is a record of the schema the consortium agreed on.

A kind registered on chain with another schema digest than the portal's is refused (the portal would validate
against the wrong schema).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal

from eth_utils.crypto import keccak
from pydantic import BaseModel, ConfigDict, Field

from node_adapter.clients import Role
from node_adapter.encoding import canonical_json

Money = int  # whole yuan


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class Inspection(_Record):
    """A dealer's or repair shop's inspection of the vehicle."""

    inspected_on: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$", description="YYYY-MM-DD")
    odometer_km: int = Field(ge=0, le=3_000_000)
    result: Literal["pass", "advisory", "fail"]
    findings: list[str] = Field(default_factory=list, max_length=50)
    inspector: str = Field(min_length=1, max_length=100)


class Sale(_Record):
    """A dealer's sale of the vehicle."""

    sold_on: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$")
    odometer_km: int = Field(ge=0, le=3_000_000)
    price_cny: Money = Field(gt=0, le=100_000_000)
    channel: Literal["new", "used", "trade_in", "auction"]


class Repair(_Record):
    """A repair shop's work on the vehicle."""

    repaired_on: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$")
    odometer_km: int = Field(ge=0, le=3_000_000)
    work: list[str] = Field(min_length=1, max_length=50)
    parts_cny: Money = Field(ge=0, le=10_000_000)
    labour_cny: Money = Field(ge=0, le=10_000_000)
    accident_related: bool = False


class Accident(_Record):
    """An insurer's or repair shop's account of an accident."""

    occurred_on: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$")
    severity: Literal["minor", "moderate", "severe", "total_loss"]
    description: str = Field(min_length=1, max_length=2000)


class InsuranceClaim(_Record):
    """An insurer's claim settled on the vehicle."""

    incident_on: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$")
    amount_cny: Money = Field(ge=0, le=100_000_000)
    status: Literal["open", "paid", "rejected"]
    description: str = Field(min_length=1, max_length=2000)


class VehicleDocument(_Record):
    """A document about the vehicle kept as a file (a registration certificate, an invoice, a policy): its digest."""

    title: str = Field(min_length=1, max_length=200)
    issued_on: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$")
    file_digest: str = Field(pattern=r"^0x[0-9a-f]{64}$", description="keccak-256 of the file (POST /api/v1/files)")
    content_type: Literal["application/pdf", "image/png", "image/jpeg"]


class ScannedDocument(_Record):
    """A vehicle's paper read by OCR and reviewed by the member (``consortium_portal/intake``): its fields, the kept
    image's digest, and the DMV cross-checks it failed that the member attested despite."""

    doc_type: Literal["registration_certificate", "purchase_invoice", "repair_bill", "insurance_policy"]
    issued_on: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$")
    plate: str | None = Field(default=None, max_length=16)
    owner_name: str | None = Field(default=None, max_length=100)
    amount_cny: Money | None = Field(default=None, ge=0, le=100_000_000)
    mileage_km: int | None = Field(default=None, ge=0, le=3_000_000)
    lien_holder: str | None = Field(default=None, max_length=100)
    file_digest: str = Field(pattern=r"^0x[0-9a-f]{64}$", description="keccak-256 of the image (POST /api/v1/files)")
    content_type: Literal["image/png", "image/jpeg"]
    dmv_flags: list[str] = Field(default_factory=list, max_length=10, description="DMV mismatches attested despite")


SCANNED_DOCUMENT = 7


@dataclass(frozen=True)
class KindSpec:
    kind: int
    name: str
    record: type[_Record]
    roles: Role
    odometer: bool

    @cached_property
    def schema(self) -> dict[str, Any]:
        return self.record.model_json_schema()

    @cached_property
    def schema_digest(self) -> str:
        return "0x" + keccak(canonical_json(self.schema)).hex()

    def reading(self, record: _Record) -> int | None:
        return int(getattr(record, "odometer_km")) if self.odometer else None  # noqa: B009


CATALOGUE: dict[int, KindSpec] = {
    spec.kind: spec
    for spec in (
        KindSpec(1, "inspection", Inspection, Role.DEALER | Role.REPAIR_SHOP, odometer=True),
        KindSpec(2, "insurance_claim", InsuranceClaim, Role.INSURER, odometer=False),
        KindSpec(3, "sale", Sale, Role.DEALER, odometer=True),
        KindSpec(4, "repair", Repair, Role.REPAIR_SHOP, odometer=True),
        KindSpec(5, "accident", Accident, Role.INSURER | Role.REPAIR_SHOP, odometer=False),
        KindSpec(
            6,
            "vehicle_document",
            VehicleDocument,
            Role.DEALER | Role.INSURER | Role.REPAIR_SHOP | Role.BANK,
            odometer=False,
        ),
        KindSpec(
            SCANNED_DOCUMENT,
            "scanned_document",
            ScannedDocument,
            Role.DEALER | Role.INSURER | Role.REPAIR_SHOP | Role.BANK,
            odometer=False,
        ),
    )
}
"""The portal's kinds by id (ids 1-99; 201-204 are the oracle's batch kinds)."""
