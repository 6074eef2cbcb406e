"""Members' own writes from the web pages, in real headless Chromium: revoke and supersede a record, dispute another
member's, a bank's loan book (register a loan, report repayment), attest a file."""

from __future__ import annotations

import json
import re
import struct
import zlib
from pathlib import Path

import httpx
from playwright.sync_api import Page

from node_adapter.clients import RevokeReason
from tests.portal.conftest import CLAIM, INSPECTION, PortalRig, sign_in_as

VIN = "LSVJETH80N5183294"


def _sign_in(page: Page, portal: PortalRig, who: str) -> None:
    sign_in_as(page, portal.url, portal.accounts[who].address)


def _settle(portal: PortalRig, page: Page) -> None:
    """Let the outbox send what the page queued, index it, and show the page again."""
    portal.worker.drain()
    portal.context.indexer().sync()
    page.reload()


def _status(portal: PortalRig, uid: str) -> str:
    with portal.as_member("bank") as bank:
        report = bank.get(f"/api/v1/vehicles/{VIN}").json()
    return {a["uid"]: a["status"] for a in report["attestations"]}[uid]


def test_an_attester_revokes_one_record_and_supersedes_another_from_its_records_page(
    page: Page, portal: PortalRig
) -> None:
    wrong = portal.attest("insurer", VIN, CLAIM, "claim 7781, amount typed wrong")
    mistaken = portal.attest("insurer", VIN, CLAIM, "claim for another car")
    right = portal.attest("insurer", VIN, CLAIM, "claim 7781")
    _sign_in(page, portal, "insurer")
    page.goto(portal.url + "/records")
    assert page.locator("#records tr").count() == 4  # the header and three records

    row = page.locator("#records tr", has_text=mistaken)
    row.locator("summary").click()
    row.locator("select").select_option(str(int(RevokeReason.ERROR)))
    row.locator("button").click()
    page.wait_for_url("**/records")
    row = page.locator("#records tr", has_text=wrong)
    row.locator("summary").click()
    row.locator("select").select_option(str(int(RevokeReason.SUPERSEDED)))
    row.locator("input[name=superseded_by]").fill(right)
    row.locator("button").click()
    _settle(portal, page)

    assert "revoked" in page.locator("#records tr", has_text=mistaken).inner_text()
    assert right in page.locator("#records tr", has_text=wrong).inner_text()  # revoked, superseded by the correction
    statuses = [_status(portal, uid) for uid in (wrong, mistaken, right)]
    assert statuses == ["revoked", "revoked", "valid"]
    assert portal.suite.registry.get_revocation(wrong).superseded_by == right


def test_a_record_is_revoked_only_by_its_attester_and_superseded_only_by_its_kind(
    page: Page, portal: PortalRig
) -> None:
    claim = portal.attest("insurer", VIN, CLAIM, "claim 7781")
    inspection = portal.attest("dealer", VIN, INSPECTION, "inspection")
    _sign_in(page, portal, "dealer")
    answer = page.request.post(portal.url + f"/records/{claim}/revoke", form={"reason": "1"})
    assert answer.status == 403
    assert "only the account that attested" in answer.text()
    page.goto(portal.url + "/records")
    row = page.locator("#records tr", has_text=inspection)
    row.locator("summary").click()
    row.locator("input[name=superseded_by]").fill(claim)
    row.locator("button").click()
    assert "same kind" in page.inner_text("[role=alert]")
    row = page.locator("#records tr", has_text=inspection)
    row.locator("summary").click()
    row.locator("input[name=superseded_by]").fill("0x1234")
    row.locator("button").click()
    assert "32 bytes of 0x-hex" in page.inner_text("[role=alert]")
    portal.worker.drain()
    portal.context.indexer().sync()
    assert (_status(portal, claim), _status(portal, inspection)) == ("valid", "valid")  # nothing was sent


def test_a_bank_disputes_a_record_from_the_verify_page(page: Page, portal: PortalRig) -> None:
    claim = portal.attest("insurer", VIN, CLAIM, "claim for a crash that never happened")
    _sign_in(page, portal, "bank")
    page.goto(portal.url + f"/verify?vin={VIN}")
    page.locator("#attestations tr", has_text=claim).locator("a:text-is('dispute')").click()
    page.click("text=Open the dispute")  # no evidence: the browser asks for it
    assert "/dispute" in page.url
    page.fill("#why", "photos of an undamaged bumper, taken 2026-10-03")
    page.click("text=Open the dispute")
    assert claim in page.inner_text("#disputed")
    portal.worker.drain()
    portal.context.indexer().sync()
    assert _status(portal, claim) == "disputed"
    dispute = portal.suite.registry.get_dispute(portal.suite.registry.open_dispute_of(claim))
    for who in ("bank", "insurer", "governor"):  # who wrote it, whose record it disputes, who resolves it
        with portal.as_member(who) as member:
            kept = member.get(f"/api/v1/evidence/{dispute.evidence_digest}")
        assert kept.status_code == 200, (who, kept.text)
        assert kept.json()["evidence"] == {"why": "photos of an undamaged bumper, taken 2026-10-03"}
    with portal.as_member("dealer") as dealer:
        assert dealer.get(f"/api/v1/evidence/{dispute.evidence_digest}").status_code == 403

    page.click("text=sign out")
    _sign_in(page, portal, "insurer")
    page.goto(portal.url + f"/verify?vin={VIN}")
    assert (
        page.locator("#attestations tr", has_text=claim).locator("a:text-is('dispute')").count() == 0
    )  # its own record
    answer = page.request.post(portal.url + f"/records/{claim}/dispute", form={"why": "mine"})
    assert answer.status == 403


def test_a_bank_registers_a_loan_and_reports_a_missed_payment_from_the_loans_page(
    page: Page, portal: PortalRig
) -> None:
    _sign_in(page, portal, "bank")
    page.goto(portal.url + "/loans")
    page.fill("#vin", VIN)
    page.fill("#principal", "500000")
    page.fill("#outstanding", "600000")  # more than the principal
    page.fill("#baseline_value", "1000000")
    page.click("text=Register the loan")
    assert "exceeds the principal" in page.inner_text("[role=alert]")
    page.fill("#vin", VIN)
    page.fill("#principal", "500000")
    page.fill("#outstanding", "400000")
    page.fill("#baseline_value", "1,000,000")
    page.fill("#note", "loan file LF-2026-0042")
    page.click("text=Register the loan")
    page.wait_for_url("**/loans")
    _settle(portal, page)
    row = page.locator("#loans tr", has_text=VIN)
    assert "pending" in row.inner_text()  # until the DMV confirms the lien
    loan_id = int(row.locator("td").first.inner_text())
    loan = portal.suite.collateral.get_loan(loan_id)
    assert (loan.principal, loan.outstanding, loan.baseline_value) == (500_000, 400_000, 1_000_000)
    assert loan.terms.max_overdue_days == 90
    assert loan.terms.cure_period == 30 * 86_400

    assert row.locator("summary").count() == 0  # no repayment to report before the lien is confirmed
    answer = page.request.post(
        portal.url + f"/loans/{loan_id}/repayment", form={"days_overdue": "1", "outstanding": "1"}
    )
    assert answer.status == 409
    assert "the contract refuses this: CollateralUnexpectedLienStatus" in answer.text()
    dmv = portal.accounts["dmv"].address
    portal.write(
        lambda o, k: portal.suite.collateral.confirm_lien(
            o, key=k, sender=dmv, loan_id=loan_id, evidence_digest="0x" + "02" * 32
        )
    )
    page.reload()
    row = page.locator("#loans tr", has_text=VIN)
    assert "active" in row.inner_text()
    row.locator("summary").click()
    row.locator("input[name=days_overdue]").fill("forty")
    row.locator("button").click()
    assert "days overdue must be a whole number" in page.inner_text("[role=alert]")
    row = page.locator("#loans tr", has_text=VIN)
    row.locator("summary").click()
    row.locator("input[name=days_overdue]").fill("45")
    row.locator("button").click()
    page.wait_for_url("**/loans")
    _settle(portal, page)
    row = page.locator("#loans tr", has_text=VIN)
    assert row.locator("td").nth(4).inner_text() == "45"
    row.locator("td").nth(5).locator("a").click()  # past watch_overdue_days: a case on watch
    assert page.inner_text("#state") == "watch"


def test_the_loans_page_is_a_banks(page: Page, portal: PortalRig) -> None:
    _sign_in(page, portal, "dealer")
    assert "Loans" not in page.inner_text("header")
    answer = page.request.get(portal.url + "/loans")
    assert answer.status == 403
    assert "needs one of the roles BANK" in answer.text()
    answer = page.request.post(portal.url + "/loans", form={"vin": VIN, "principal": "1", "outstanding": "1"})
    assert answer.status == 403


def _png(path: Path) -> Path:
    """A small real PNG (one grey pixel), written with the standard library."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00\x80")) + chunk(b"IEND", b"")
    )
    return path


def test_a_dealer_attests_a_scanned_document_from_the_attest_page(
    page: Page, portal: PortalRig, tmp_path: Path
) -> None:
    scan = _png(tmp_path / "registration.png")
    _sign_in(page, portal, "dealer")
    page.goto(portal.url + "/attest")
    page.set_input_files("#file", str(scan))
    page.click("text=Upload")
    assert "registration.png" in page.inner_text("#kept")
    record = json.loads(page.input_value("#record"))
    assert record["content_type"] == "image/png"
    assert record["file_digest"].startswith("0x")
    assert page.locator("#kind option:checked").inner_text().endswith("(DEALER, INSURER, REPAIR_SHOP, BANK)")
    page.fill("#vin", VIN)
    page.fill("#record", json.dumps(record | {"issued_on": "2026-09-30"}))
    page.click("button:has-text('Prepare')")
    page.wait_for_url(re.compile(r"/attest/\d+$"))
    page.click("text=Sign with my dev account's key")
    _settle(portal, page)
    assert page.inner_text("#status") == "confirmed"
    with portal.as_member("dealer") as dealer:
        kept = dealer.get(f"/api/v1/files/{record['file_digest']}")
    assert kept.content == scan.read_bytes()


def test_an_upload_that_is_not_a_kept_type_is_refused_with_its_reason(
    page: Page, portal: PortalRig, tmp_path: Path
) -> None:
    text = tmp_path / "notes.png"
    text.write_text("not an image at all")
    _sign_in(page, portal, "dealer")
    page.goto(portal.url + "/attest")
    page.set_input_files("#file", str(text))
    page.click("text=Upload")
    assert "bytes are not a image/png file" in page.inner_text("[role=alert]")
    answer = page.request.post(
        portal.url + "/attest/file",
        multipart={"file": {"name": "big.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-" + b"0" * (11 << 20)}},
    )
    assert answer.status == 413


def test_the_record_and_loan_lists_through_the_api(portal: PortalRig) -> None:
    uid = portal.attest("insurer", VIN, CLAIM, "claim 7781")
    loan_id = portal.lend(VIN)
    with portal.as_member("insurer") as insurer:
        mine = insurer.get("/api/v1/records").json()
        assert [(r["uid"], r["kind_name"], r["revoked"]) for r in mine] == [(uid, "insurance_claim", False)]
        assert insurer.get("/api/v1/loans").status_code == 403
    with portal.as_member("bank") as bank:
        assert bank.get("/api/v1/records").json() == []
        book = bank.get("/api/v1/loans").json()
    assert [(loan["loan_id"], loan["lien_status"], loan["outstanding"]) for loan in book] == [
        (loan_id, "active", 400_000)
    ]
    with httpx.Client(base_url=portal.url) as anonymous:
        assert anonymous.get("/api/v1/records").status_code == 401
