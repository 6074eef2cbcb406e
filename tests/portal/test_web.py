"""The web pages in real headless Chromium (Debian's chromium, driven by Playwright), on a phone-sized screen."""

from __future__ import annotations

import json

from eth_account import Account
from eth_account.messages import encode_defunct
from playwright.sync_api import Page
from web3 import Web3

from node_adapter.clients import AlertKind, Severity
from node_adapter.dev.devchain import increase_time
from node_adapter.dev.localchain import LocalChain
from node_adapter.encoding import SaltedDocument, subject_id
from tests.portal.conftest import PortalRig, sign_in_as

VIN = "LSVJETH80N5183294"
CLAIM = {"incident_on": "2026-10-02", "amount_cny": 8_400, "status": "paid", "description": "rear bumper, parking"}


def _sign_in(page: Page, portal: PortalRig, who: str) -> None:
    sign_in_as(page, portal.url, portal.accounts[who].address)


def _fits_the_screen(page: Page) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"))


def test_an_insurer_signs_in_attests_and_a_bank_verifies_the_vin(page: Page, portal: PortalRig) -> None:
    _sign_in(page, portal, "insurer")
    page.goto(portal.url + "/attest")
    page.select_option("#kind", value="2")
    page.fill("#vin", VIN)
    page.fill("#record", json.dumps(CLAIM))
    page.click("text=Prepare")
    page.wait_for_url("**/attest/*")
    assert page.inner_text("#status") == "prepared"
    digest = page.inner_text("#digest")
    page.click("text=Sign with my dev account's key")
    page.wait_for_url("**/attest/*")
    assert page.inner_text("#status") == "relayed"
    portal.worker.drain()
    portal.context.indexer().sync()
    page.reload()
    assert page.inner_text("#status") == "confirmed"
    assert _fits_the_screen(page)
    page.click("text=sign out")
    _sign_in(page, portal, "bank")
    page.fill("#vin", VIN.lower())
    page.click("button:has-text('Verify')")
    page.wait_for_selector("#attestations")
    row = page.locator("#attestations tr", has_text=digest)
    assert row.locator("td").nth(1).inner_text() == "valid"
    assert page.inner_text("#lien") == "none"
    assert _fits_the_screen(page)


def test_bad_input_in_the_pages_is_shown_not_crashed(page: Page, portal: PortalRig) -> None:
    _sign_in(page, portal, "insurer")
    page.goto(portal.url + "/verify?vin=NOT-A-VIN")
    assert "not a VIN" in page.inner_text("[role=alert]")
    page.goto(portal.url + "/attest")
    page.fill("#vin", VIN)
    page.fill("#record", "{not json")
    page.click("text=Prepare")
    assert "not JSON" in page.inner_text("[role=alert]")
    page.select_option("#kind", value="1")
    page.fill("#vin", VIN)
    page.fill("#record", json.dumps(CLAIM))
    page.click("text=Prepare")
    assert "needs one of the roles" in page.inner_text("[role=alert]")


def test_a_bank_follows_its_case_on_the_board(page: Page, portal: PortalRig) -> None:
    portal.lend(VIN)
    portal.alert(VIN, AlertKind.GEOFENCE_EXIT, Severity.HIGH)
    _sign_in(page, portal, "bank")
    page.goto(portal.url + "/cases")
    page.click("#cases a")
    page.wait_for_selector("#steps")
    assert page.inner_text("#state") == "triggered"
    assert "triggered" in page.inner_text("#steps")
    _sign_in_as_another = page.context.new_page()
    _sign_in_as_another.goto(portal.url + "/cases")
    assert "/cases" in _sign_in_as_another.url  # the session cookie is the browser's
    _sign_in_as_another.close()


def test_pages_need_a_session(page: Page, portal: PortalRig) -> None:
    for path in ("/verify", "/attest", "/cases"):
        page.goto(portal.url + path)
        assert page.url.rstrip("/") == portal.url  # sent to sign in


def test_a_bank_orders_repossession_and_the_agency_records_it_from_the_pages(
    page: Page, portal: PortalRig, w3: Web3
) -> None:
    portal.lend(VIN)
    portal.alert(VIN, AlertKind.GEOFENCE_EXIT, Severity.HIGH)
    increase_time(w3, 3 * 86_400 + 1)  # the cure period is over
    with portal.as_member("agency") as agency:
        agency_id = agency.get("/api/v1/me").json()["member_id"]
    _sign_in(page, portal, "bank")
    page.goto(portal.url + "/cases")
    page.click("#cases a")
    page.select_option("#action", value="order_repossession")
    page.fill("#agency", str(agency_id))
    page.fill("#note", "borrower unreachable; vehicle left its region")
    page.click("text=Record this step")
    portal.worker.drain()
    portal.context.indexer().sync()
    page.reload()
    assert page.inner_text("#state") == "repossession_ordered"
    page.click("text=sign out")
    _sign_in(page, portal, "agency")
    page.goto(page.url.replace("/verify", "/cases"))
    page.click("#cases a")
    page.select_option("#action", value="record_repossession")
    page.fill("#note", "collected from the impound lot")
    page.click("text=Record this step")
    portal.worker.drain()
    portal.context.indexer().sync()
    page.reload()
    assert page.inner_text("#state") == "repossessed"
    assert "repossessed" in page.inner_text("#steps")
    page.select_option("#action", value="record_appraisal")
    page.click("text=Record this step")  # no amount
    assert "needs the amount" in page.inner_text("[role=alert]")


def test_governors_propose_vote_and_execute_an_admission_from_the_pages(
    page: Page, portal: PortalRig, chain: LocalChain, w3: Web3
) -> None:
    applicant = Account.create()
    with portal.http() as http:
        message = http.post("/api/v1/auth/challenge", json={"address": applicant.address}).json()["message"]
        signature = "0x" + Account.sign_message(encode_defunct(text=message), applicant.key).signature.hex()
        applied = http.post(
            "/api/v1/applications",
            json={
                "name": "Minhang Repairs",
                "roles": ["REPAIR_SHOP"],
                "documents": [],
                "accounts": [{"message": message, "signature": signature}],
            },
        )
    assert applied.status_code == 201, applied.text
    row = f"#application-{applied.json()['id']}"
    portal.accounts |= {"governor1": Account.from_key(chain.accounts[1].private_key)}

    def settle() -> None:
        portal.worker.drain()
        portal.context.indexer().sync()
        page.goto(portal.url + "/applications")

    _sign_in(page, portal, "governor")
    page.click("text=Applications")
    assert page.inner_text(f"{row} .status") == "submitted"
    page.click(f"{row} >> text=Propose admission")
    settle()
    assert page.inner_text(f"{row} .status") == "voting"
    page.click(f"{row} >> text=Vote for")
    settle()
    page.click("text=sign out")
    _sign_in(page, portal, "governor1")
    page.goto(portal.url + "/applications")
    page.click(f"{row} >> text=Vote for")
    settle()
    voting_period, execution_delay = 3 * 86_400, 86_400
    increase_time(w3, voting_period + execution_delay + 1)
    page.reload()
    assert page.inner_text(f"{row} .status") == "ready"
    page.click(f"{row} >> text=Execute")
    settle()
    assert page.inner_text(f"{row} .status") == "admitted"
    assert portal.suite.membership.member_of(applicant.address) != 0
    page.click("text=sign out")
    _sign_in(page, portal, "dealer")  # a member that governs nothing is refused the page
    page.goto(portal.url + "/applications")
    assert "needs one of the roles GOVERNOR" in page.inner_text("[role=alert]")


def test_the_points_page_shows_the_leaderboard_and_a_members_history(page: Page, portal: PortalRig) -> None:
    insurer = portal.accounts["insurer"].address
    subject = subject_id(VIN, portal.context.subject_key)
    uid = "0x" + SaltedDocument.create({"claim": "points"}).digest.hex()
    portal.write(
        lambda o, k: portal.suite.registry.attest(o, key=k, sender=insurer, subject=subject, kind=2, digest=uid)
    )
    _sign_in(page, portal, "dealer")
    page.click("text=Points")
    page.click("#leaderboard a")
    history = page.inner_text("#history")
    assert "+10" in history
    assert "attestation" in history
    assert uid in history
    assert _fits_the_screen(page)
