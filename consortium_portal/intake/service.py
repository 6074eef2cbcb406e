"""Document intake: a photo or scan of a vehicle's papers -> OCR -> the member reviews the fields -> attestation.

1. ``scan``: the image is checked (a PNG or JPEG, at most ``MAX_PIXELS``, some text on it), kept off chain as a
   file (``files.py``: its keccak digest goes into the record), read by Tesseract, its fields extracted, the VIN
   checked, and the fields compared with the DMV's records of the vehicle (``crosscheck.py``). The same image
   again answers the same scan.
2. ``attest_scan``: the member sends the fields as reviewed and corrected. The VIN must be valid (check digit
   included), the fields are compared with the DMV again, and a mismatch is refused (409, listing each) unless the
   member attests anyway (``attest_despite_mismatches``): then every mismatch's code goes into the record's
   ``dmv_flags``, bound by its digest, and banks see the flags next to the attestation in the verify view. The
   record (kind ``scanned_document``) is prepared through the attest flow (``attest.prepare``); the member signs it
   there as any record.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from pydantic import BaseModel, Field, field_validator
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from consortium_portal import attest, files
from consortium_portal.auth import Principal
from consortium_portal.errors import InvalidInputError, NotFoundError, PortalError
from consortium_portal.intake.crosscheck import CrossCheck, Mismatch, cross_check, dmv_facts
from consortium_portal.intake.fields import DocType, ExtractedFields, vin_problem
from consortium_portal.intake.ocr import open_image, read_page
from consortium_portal.kinds import SCANNED_DOCUMENT
from consortium_portal.models import IntakeScan
from consortium_portal.policy import Target
from consortium_portal.receipts import Reader, check_read
from node_adapter.clients import Suite
from node_adapter.encoding import subject_id, validate_vin


class DmvMismatchError(PortalError):
    status = 409
    code = "dmv_mismatch"

    def __init__(self, message: str, mismatches: list[Mismatch]) -> None:
        super().__init__(message)
        self.mismatches = mismatches

    def extra(self) -> dict[str, Any]:
        return {"mismatches": [m.model_dump() for m in self.mismatches]}


class ScanResult(BaseModel):
    id: int
    file_digest: str
    fields: ExtractedFields = Field(description="What OCR read: review and correct before attesting.")
    vin_problem: str | None = Field(description="What is wrong with the VIN as read (None: valid).")
    cross_check: CrossCheck | None = Field(description="The fields against the DMV's records (when the VIN is valid).")
    document_digest: str | None = None
    text: str = Field(description="Tesseract's text of the page.")


class ReviewedFields(BaseModel):
    """The fields as the member confirms them."""

    doc_type: DocType
    vin: str = Field(max_length=40)
    plate: str | None = Field(default=None, max_length=16)
    owner_name: str | None = Field(default=None, max_length=100)
    date: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$", description="The document's date, YYYY-MM-DD.")
    amount_cny: int | None = Field(default=None, ge=0, le=100_000_000)
    mileage_km: int | None = Field(default=None, ge=0, le=3_000_000)
    lien_holder: str | None = Field(default=None, max_length=100)

    @field_validator("date")
    @classmethod
    def _real_date(cls, value: str) -> str:
        date.fromisoformat(value)  # a ValueError is a 422 saying so
        return value

    attest_despite_mismatches: bool = Field(
        default=False, description="Attest although the DMV's records disagree: each mismatch is flagged."
    )


class IntakeAttestation(BaseModel):
    scan_id: int
    cross_check: CrossCheck
    flags: list[str]
    attestation: attest.PreparedAttestation


def scan(
    *, engine: Engine, principal: Principal, key: bytes, content: bytes, content_type: str, name: str
) -> ScanResult:
    """Read an uploaded page (see the module doc)."""
    principal.require_write()
    image = open_image(content)
    kept = files.upload(
        engine=engine, principal=principal, name=name or "scan", content_type=content_type, content=content
    )
    with Session(engine) as session:
        existing = session.exec(
            select(IntakeScan).where(IntakeScan.member_id == principal.member_id, IntakeScan.file_digest == kept.digest)
        ).first()
    if existing is not None:
        return _result(engine, existing, key)
    reading = read_page(image)
    row = IntakeScan(
        member_id=principal.member_id,
        file_digest=kept.digest,
        content_type=kept.content_type,
        text=reading.text,
        fields=reading.fields.model_dump_json(),
        ms=reading.ms,
    )
    with Session(engine, expire_on_commit=False) as session:
        session.add(row)
        session.commit()
    return _result(engine, row, key)


def get_scan(*, engine: Engine, reader: Reader, key: bytes, scan_id: int) -> ScanResult:
    """A scan with what OCR read on it, for those the data-sharing policy lets read it (by default its member);
    every read leaves an access receipt."""
    with Session(engine) as session:
        row = session.get(IntakeScan, scan_id)
    if row is None:
        raise NotFoundError(f"no page {scan_id} was scanned")
    vin = ExtractedFields.model_validate_json(row.fields).vin
    subjects = ("0x" + subject_id(vin, key).hex(),) if vin is not None and vin_problem(vin) is None else ()
    check_read(engine, reader, Target("intake_scan", row.file_digest, row.member_id, subjects))
    return _result(engine, row, key)


def attest_scan(
    *,
    engine: Engine,
    suite: Suite,
    principal: Principal,
    key: bytes,
    scan_id: int,
    review: ReviewedFields,
    now: int,
    idempotency_key: str | None = None,
) -> IntakeAttestation:
    """Prepare the reviewed fields as a ``scanned_document`` record (see the module doc)."""
    principal.require_write()
    row = _own(engine, principal, scan_id)
    try:
        vin = validate_vin(review.vin, check_digit=True)
    except ValueError as exc:
        raise InvalidInputError(f"not a valid VIN: {exc}") from None
    check = _cross_check(
        engine,
        key,
        vin,
        doc_type=review.doc_type,
        owner_name=review.owner_name,
        plate=review.plate,
        lien_holder=review.lien_holder,
        mileage_km=review.mileage_km,
        on=review.date,
    )
    if check.mismatches and not review.attest_despite_mismatches:
        raise DmvMismatchError(
            "the DMV's records disagree: "
            + "; ".join(f"{m.field}: {m.message}" for m in check.mismatches)
            + " (correct the fields, or attest anyway with attest_despite_mismatches: the record is then flagged)",
            check.mismatches,
        )
    flags = sorted({m.code for m in check.mismatches})
    record: dict[str, Any] = {
        "doc_type": review.doc_type.value,
        "issued_on": review.date,
        "plate": review.plate,
        "owner_name": review.owner_name,
        "amount_cny": review.amount_cny,
        "mileage_km": review.mileage_km,
        "lien_holder": review.lien_holder,
        "file_digest": row.file_digest,
        "content_type": row.content_type,
        "dmv_flags": flags,
    }
    prepared = attest.prepare(
        engine=engine,
        suite=suite,
        principal=principal,
        request=attest.AttestRequest(vin=vin, kind=SCANNED_DOCUMENT, record=record),
        key=key,
        now=now,
        idempotency_key=idempotency_key,
    )
    with Session(engine) as session:
        fresh = session.get(IntakeScan, scan_id)
        assert fresh is not None
        fresh.document_digest, fresh.flags = prepared.digest, json.dumps(flags)
        session.add(fresh)
        session.commit()
    return IntakeAttestation(scan_id=scan_id, cross_check=check, flags=flags, attestation=prepared)


def _cross_check(engine: Engine, key: bytes, vin: str, **fields: Any) -> CrossCheck:
    return cross_check(dmv_facts(engine, vin, "0x" + subject_id(vin, key).hex()), **fields)


def _own(engine: Engine, principal: Principal, scan_id: int) -> IntakeScan:
    with Session(engine) as session:
        row = session.get(IntakeScan, scan_id)
    if row is None or row.member_id != principal.member_id:
        raise NotFoundError(f"this member scanned no page {scan_id}")
    return row


def _result(engine: Engine, row: IntakeScan, key: bytes) -> ScanResult:
    assert row.id is not None
    fields = ExtractedFields.model_validate_json(row.fields)
    problem = vin_problem(fields.vin) if fields.vin else "no VIN was found on the page"
    check = None
    if problem is None and fields.vin is not None:
        check = _cross_check(
            engine,
            key,
            fields.vin,
            doc_type=fields.doc_type,
            owner_name=fields.owner_name,
            plate=fields.plate,
            lien_holder=None,
            mileage_km=fields.mileage_km,
            on=fields.date,
        )
    return ScanResult(
        id=row.id,
        file_digest=row.file_digest,
        fields=fields,
        vin_problem=problem,
        cross_check=check,
        document_digest=row.document_digest,
        text=row.text,
    )
