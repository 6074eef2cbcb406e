"""The access log and intake pages in real headless Chromium: a member sees who read its documents (and why) and the
policy in force; a member uploads a scan, reviews what OCR read, sees the DMV's disagreement and attests anyway."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from playwright.sync_api import Page

from tests.portal.conftest import PortalRig, sign_in_as
from tests.portal.test_intake import DOCUMENT, _dmv
from tests.portal.test_intake import VIN as SCANNED_VIN

VIN = "LSVJETH80N5183294"
INSPECTION = {"inspected_on": "2026-11-01", "odometer_km": 41_200, "result": "pass", "inspector": "W. Chen"}


def test_a_member_sees_who_read_its_documents_and_why_on_the_access_page(
    page: Page, portal: PortalRig, tmp_path: Path
) -> None:
    with portal.as_member("dealer") as dealer:
        digest = dealer.post("/api/v1/attestations", json={"vin": VIN, "kind": 1, "record": INSPECTION}).json()[
            "digest"
        ]
    portal.lend(VIN)
    with portal.as_member("bank") as bank:
        assert bank.get(f"/api/v1/documents/{digest}", headers={"X-Access-Purpose": "credit decision"}).is_success
    anchorer = portal.context.anchorer()
    assert anchorer.run_once() == 1
    portal.worker.drain()
    anchorer.run_once()
    with portal.as_member("insurer") as insurer:  # a refused read is listed too
        assert insurer.get(f"/api/v1/documents/{digest}", params={"purpose": "curiosity"}).status_code == 403

    sign_in_as(page, portal.url, portal.accounts["dealer"].address)
    page.click("text=Access log")
    page.wait_for_url("**/access")
    rows = page.locator("#receipts li.receipt")
    assert rows.count() == 2
    newest, oldest = rows.nth(0).inner_text(), rows.nth(1).inner_text()
    assert newest.startswith("refused: member")
    assert "for “curiosity”" in newest
    assert "not anchored yet" in newest
    assert oldest.startswith("allowed: member")
    assert "for “credit decision”" in oldest
    assert re.search(r"anchored in batch \d+", oldest)
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \(block \d+\)", oldest)
    assert "not yet approved by governance" in page.inner_text("#policy")
    assert "1 of 2 receipts" in page.inner_text("#anchoring")
    assert "(1 batch)" in page.inner_text("#anchoring")
    page.screenshot(path=str(tmp_path / "access.png"), full_page=True)
    rows.nth(1).locator("a").click()
    page.wait_for_url(f"**/access?document={digest}")
    assert page.get_attribute("#bundle", "href") == f"/api/v1/access-receipts/bundle?document={digest}"


def test_a_member_reviews_a_scan_sees_the_dmv_disagree_and_attests_anyway(
    page: Page, portal: PortalRig, tmp_path: Path
) -> None:
    _dmv(portal, "dmv", "registration", datetime(2020, 1, 2, tzinfo=UTC), {"owner_name": "赵强", "plate": "京A00001"})
    scan = tmp_path / "certificate.png"
    scan.write_bytes(DOCUMENT.png())
    sign_in_as(page, portal.url, portal.accounts["insurer"].address)
    page.click("text=Intake")
    page.set_input_files("#file", str(scan))
    page.click("text=Upload and read")
    page.wait_for_url(re.compile(r"/intake/\d+$"))
    assert page.input_value("#vin") == SCANNED_VIN
    assert page.input_value("#doc_type") == "registration_certificate"
    assert page.evaluate("document.getElementById('page').naturalWidth") > 0  # the kept image, shown to its member
    page.screenshot(path=str(tmp_path / "intake.png"), full_page=True)
    page.fill("#owner_name", "王伟")
    page.fill("#plate", "京A00001")
    page.fill("#date", "2022-03-01")
    page.click("text=Prepare the record")
    assert "owner_mismatch" in page.inner_text("#mismatches")
    assert "赵强" not in page.content()  # the registered owner is not given away
    assert page.input_value("#owner_name") == "王伟"  # what the member typed is kept
    page.check("input[name=attest_despite_mismatches]")
    page.click("text=Prepare the record")
    page.wait_for_url(re.compile(r"/attest/\d+$"))
    page.click("text=Sign with my dev account's key")
    portal.worker.drain()
    portal.context.indexer().sync()
    page.reload()
    assert page.inner_text("#status") == "confirmed"
    with portal.as_member("bank") as bank:
        report = bank.get(f"/api/v1/vehicles/{SCANNED_VIN}").json()
    (fact,) = [a for a in report["attestations"] if a["kind"] == 7]
    assert fact["flags"] == ["owner_mismatch"]
    with portal.as_member("insurer") as insurer:  # viewing the scan was a read of its own, with its purpose
        purposes = {(r["document_kind"], r["purpose"]) for r in insurer.get("/api/v1/access-receipts").json()}
    assert ("intake_scan", "intake review") in purposes


def test_bad_input_on_the_intake_page_is_shown_not_crashed(page: Page, portal: PortalRig, tmp_path: Path) -> None:
    text = tmp_path / "notes.png"
    text.write_text("not an image at all")
    sign_in_as(page, portal.url, portal.accounts["insurer"].address)
    page.goto(portal.url + "/intake")
    page.set_input_files("#file", str(text))
    page.click("text=Upload and read")
    assert "not an image" in page.inner_text("[role=alert]")
    scan = tmp_path / "certificate.png"
    scan.write_bytes(DOCUMENT.png())
    page.set_input_files("#file", str(scan))
    page.click("text=Upload and read")
    page.wait_for_url(re.compile(r"/intake/\d+$"))
    scan_id = page.url.rsplit("/", 1)[1]
    page.fill("#vin", SCANNED_VIN[:8] + ("0" if SCANNED_VIN[8] != "0" else "1") + SCANNED_VIN[9:])
    page.fill("#mileage_km", "about 20k")
    page.click("text=Prepare the record")
    assert "mileage km must be a whole number" in page.inner_text("[role=alert]")
    page.fill("#mileage_km", "")
    page.click("text=Prepare the record")
    assert "check digit" in page.inner_text("[role=alert]")
    answer = page.request.post(
        portal.url + "/intake",
        multipart={"file": {"name": "big.png", "mimeType": "image/png", "buffer": b"\x89PNG" + b"0" * (11 << 20)}},
    )
    assert answer.status == 413
    page.goto(portal.url + "/sign-out")
    sign_in_as(page, portal.url, portal.accounts["dealer"].address)
    page.goto(f"{portal.url}/intake/{scan_id}")  # another member's scan: the policy refuses it
    assert "intake_scan" in page.inner_text("[role=alert]")
