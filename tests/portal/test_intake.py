"""Document intake through the portal: upload a page, OCR, review, DMV cross-checks, attest, banks see the flags."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import httpx
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils.crypto import keccak
from PIL import Image
from sqlmodel import Session

from consortium_portal.intake.crosscheck import ORACLE_RECORDS
from consortium_portal.tools.papers import generate, wrong_check_digit
from node_adapter.encoding import SaltedDocument, canonical_json, subject_id
from oracle.pipeline import create_oracle_schema
from oracle.store import Anchor, SourceRecord
from tests.portal.conftest import PortalRig

DOCUMENT = generate(7, 1)[0]
"""A Chinese registration certificate whose VIN Tesseract reads right (tests/portal/test_intake_ocr.py)."""
VIN = DOCUMENT.truth.vin or ""


def _dmv(portal: PortalRig, source: str, type_: str, at: datetime, body: dict[str, object]) -> None:
    """A record in the oracle's document store, as the oracle keeps it."""
    engine = portal.context.engine
    create_oracle_schema(engine)
    salted = SaltedDocument.create({"source": source, "type": type_, "vin": VIN, **body})
    with Session(engine) as session:
        session.add(
            SourceRecord(
                source=source,
                event_id=f"{type_}-{at.timestamp()}",
                vin=VIN,
                subject="0x" + subject_id(VIN, portal.context.subject_key).hex(),
                type=type_,
                occurred_at=at,
                anchor=Anchor.BATCH,
                document=canonical_json(salted.salted_document()).decode(),
                digest="0x" + salted.digest.hex(),
            )
        )
        session.commit()


def _scan(client: httpx.Client, content: bytes, content_type: str = "image/png") -> httpx.Response:
    return client.post(
        "/api/v1/intake/scans", content=content, headers={"Content-Type": content_type, "X-File-Name": "cert.png"}
    )


def test_the_oracle_record_columns_the_portal_reads_are_the_oracles() -> None:
    for column in ORACLE_RECORDS.columns:
        assert column.name in SourceRecord.model_fields, column.name


def test_scan_review_cross_check_and_attest_with_flags_banks_see(portal: PortalRig) -> None:
    _dmv(portal, "dmv", "registration", datetime(2020, 1, 2, tzinfo=UTC), {"owner_name": "赵强", "plate": "京A00001"})
    _dmv(portal, "telematics", "odometer", datetime(2021, 6, 1, tzinfo=UTC), {"odometer_km": 50_000})
    png = DOCUMENT.png()
    with portal.as_member("insurer") as insurer:
        scanned = _scan(insurer, png)
        assert scanned.status_code == 201, scanned.text
        result = scanned.json()
        assert result["file_digest"] == "0x" + keccak(png).hex()  # the original is kept off chain by its digest
        assert result["fields"]["vin"] == VIN
        assert result["fields"]["doc_type"] == "registration_certificate"
        assert result["vin_problem"] is None
        assert result["cross_check"]["dmv_records"] == 1
        assert _scan(insurer, png).json()["id"] == result["id"]  # the same page again: the same scan

        review = {
            "doc_type": "registration_certificate",
            "vin": VIN,
            "owner_name": "王伟",
            "plate": "京A00001",
            "date": "2022-03-01",
            "mileage_km": 20_000,
        }
        refused = insurer.post(f"/api/v1/intake/scans/{result['id']}/attestation", json=review)
        assert refused.status_code == 409, refused.text
        body = refused.json()
        assert body["error"] == "dmv_mismatch"
        assert {m["code"] for m in body["mismatches"]} == {"owner_mismatch", "mileage_rollback"}
        assert "赵强" not in refused.text  # the registered owner's name is not given away

        anyway = insurer.post(
            f"/api/v1/intake/scans/{result['id']}/attestation", json=review | {"attest_despite_mismatches": True}
        )
        assert anyway.status_code == 201, anyway.text
        prepared = anyway.json()
        assert prepared["flags"] == ["mileage_rollback", "owner_mismatch"]
        document = prepared["attestation"]["document"]
        assert document["kind"] == "scanned_document"
        assert document["record"]["dmv_flags"] == ["mileage_rollback", "owner_mismatch"]
        assert document["record"]["file_digest"] == result["file_digest"]
        typed = prepared["attestation"]["typed_data"]
        signed = Account.sign_message(encode_typed_data(full_message=typed), portal.accounts["insurer"].key)
        relayed = insurer.post(
            f"/api/v1/attestations/{prepared['attestation']['id']}/signature",
            json={"signature": "0x" + signed.signature.hex()},
        )
        assert relayed.status_code == 200, relayed.text
    portal.worker.drain()
    portal.context.indexer().sync()
    with portal.as_member("bank") as bank:
        report = bank.get(f"/api/v1/vehicles/{VIN}").json()
    (fact,) = [a for a in report["attestations"] if a["uid"] == prepared["attestation"]["digest"]]
    assert fact["flags"] == ["mileage_rollback", "owner_mismatch"]
    assert fact["kind"] == 7


def test_bad_intake_input_gets_clear_4xx(portal: PortalRig) -> None:
    blank = io.BytesIO()
    Image.new("L", (800, 600), 255).save(blank, format="PNG")
    with portal.as_member("insurer") as insurer:
        not_image = _scan(insurer, b"%PDF-1.7 a contract", "image/png")
        assert not_image.status_code == 415
        assert "not an image" in not_image.json()["message"]
        wrong_type = _scan(insurer, b"hello", "text/plain")
        assert wrong_type.status_code == 415
        unreadable = _scan(insurer, blank.getvalue())
        assert unreadable.status_code == 422
        assert unreadable.json()["error"] == "unreadable_image"
        assert "no text could be read" in unreadable.json()["message"]
        huge = _scan(insurer, b"\x89PNG\r\n\x1a\n" + b"\0" * (11 << 20))
        assert huge.status_code == 413
        scanned = _scan(insurer, DOCUMENT.png()).json()
        review = {"doc_type": "registration_certificate", "vin": wrong_check_digit(VIN), "date": "2022-03-01"}
        bad_vin = insurer.post(f"/api/v1/intake/scans/{scanned['id']}/attestation", json=review)
        assert bad_vin.status_code == 422
        assert "check digit" in bad_vin.json()["message"]
        assert insurer.get("/api/v1/intake/scans/999999").status_code == 404
    with portal.as_member("dealer") as dealer:  # the data-sharing policy keeps another member's scan from it
        refused = dealer.get(f"/api/v1/intake/scans/{scanned['id']}")
        assert (refused.status_code, refused.json()["error"]) == (403, "forbidden")
        assert "intake_scan" in refused.json()["message"]


def test_an_impossible_date_is_refused(portal: PortalRig) -> None:
    with portal.as_member("insurer") as insurer:
        scanned = _scan(insurer, DOCUMENT.png()).json()
        review = {"doc_type": "repair_bill", "vin": VIN, "date": "2022-13-45", "mileage_km": 10}
        refused = insurer.post(f"/api/v1/intake/scans/{scanned['id']}/attestation", json=review)
        assert refused.status_code == 422
        assert "date" in refused.json()["message"]
