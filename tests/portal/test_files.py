"""Files kept by the portal and attested by their digest: types, sizes, access."""

from __future__ import annotations

import httpx
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils.crypto import keccak

from tests.portal.conftest import PortalRig

VIN = "LSVJETH80N5183294"
PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n" + b"x" * 2000
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 100


def _upload(client: httpx.Client, content: bytes, content_type: str, name: str = "registration.pdf") -> httpx.Response:
    return client.post(
        "/api/v1/files",
        content=content,
        headers={"Content-Type": content_type, "X-File-Name": name},
    )


def test_a_scan_is_kept_attested_by_its_digest_and_read_by_the_lending_bank(portal: PortalRig) -> None:
    with portal.as_member("insurer") as insurer:
        uploaded = _upload(insurer, PDF, "application/pdf")
        assert uploaded.status_code == 201, uploaded.text
        kept = uploaded.json()
        assert (kept["digest"], kept["size"]) == ("0x" + keccak(PDF).hex(), len(PDF))
        assert _upload(insurer, PDF, "application/pdf").json() == kept  # same file
        record = {
            "title": "policy 2026-PD-0042",
            "issued_on": "2026-01-05",
            "file_digest": kept["digest"],
            "content_type": "application/pdf",
        }
        prepared = insurer.post("/api/v1/attestations", json={"vin": VIN, "kind": 6, "record": record}).json()
        assert prepared["document"]["record"]["file_digest"] == kept["digest"]
        signed = Account.sign_message(
            encode_typed_data(full_message=prepared["typed_data"]), portal.accounts["insurer"].key
        )
        insurer.post(
            f"/api/v1/attestations/{prepared['id']}/signature", json={"signature": "0x" + signed.signature.hex()}
        )
        portal.worker.drain()
        assert insurer.get(f"/api/v1/files/{kept['digest']}").content == PDF
    with portal.as_member("bank") as bank:
        assert bank.get(f"/api/v1/files/{kept['digest']}").status_code == 403  # not lending on the vehicle yet
    portal.lend(VIN)
    with portal.as_member("bank") as bank:
        download = bank.get(f"/api/v1/files/{kept['digest']}")
        assert (download.status_code, download.content) == (200, PDF)
        assert download.headers["content-type"] == "application/pdf"
    with portal.as_member("dealer") as dealer:
        assert dealer.get(f"/api/v1/files/{kept['digest']}").status_code == 403
        assert dealer.get(f"/api/v1/files/0x{'00' * 32}").status_code == 404


def test_bad_uploads_get_clear_4xx(portal: PortalRig) -> None:
    with portal.as_member("insurer") as insurer:
        wrong_type = _upload(insurer, b"MZ\x90\x00 an executable", "application/x-msdownload")
        assert wrong_type.status_code == 415
        assert "not kept" in wrong_type.json()["message"]
        disguised = _upload(insurer, b"MZ\x90\x00 an executable", "application/pdf")
        assert disguised.status_code == 415
        assert "not a application/pdf file" in disguised.json()["message"]
        huge = _upload(insurer, b"%PDF-" + b"0" * (11 << 20), "application/pdf")
        assert huge.status_code == 413
        assert _upload(insurer, PNG, "image/png", name="").status_code == 422
        record = {"title": "x", "issued_on": "2026-01-05", "file_digest": "0x" + "ab" * 32, "content_type": "image/png"}
        unknown = insurer.post("/api/v1/attestations", json={"vin": VIN, "kind": 6, "record": record})
        assert unknown.status_code == 422
        assert "POST /api/v1/files first" in unknown.json()["message"]
    with portal.as_member("dealer") as dealer:  # a file another member keeps cannot be attested by this one
        png = _upload(dealer, PNG, "image/png", name="photo.png").json()
    with portal.as_member("insurer") as insurer:
        record = {"title": "x", "issued_on": "2026-01-05", "file_digest": png["digest"], "content_type": "image/png"}
        assert insurer.post("/api/v1/attestations", json={"vin": VIN, "kind": 6, "record": record}).status_code == 422
