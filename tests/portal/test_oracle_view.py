"""The oracle as members see it in the portal: feed health, and valuations against the band the contract acts on."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from eth_account import Account
from eth_account.messages import encode_defunct
from playwright.sync_api import Page
from sqlmodel import Session, col, select
from web3 import Web3

from consortium.serving import BackgroundServer
from consortium_portal.app import create_app
from consortium_portal.context import PortalContext
from consortium_portal.settings import PortalSettings
from node_adapter.dev.localchain import LocalChain, free_port
from oracle.store import LoanLink, VehicleState
from tests.oracle.conftest import OracleRig, make_rig
from tests.portal.conftest import sign_in_as


@pytest.fixture
def both(chain: LocalChain, w3: Web3, tmp_path: Path) -> Iterator[tuple[OracleRig, str]]:
    for rig in make_rig(chain, w3, tmp_path):
        port = free_port()
        context = PortalContext.open(PortalSettings(port=port), rig.runtime.settings)
        with BackgroundServer(create_app(context), port=port, name="portal") as server:
            yield rig, server.url


def _bank_session(rig: OracleRig, url: str) -> httpx.Client:
    bank = rig.oracle.signers["bank"]
    with httpx.Client(base_url=url, timeout=30) as http:
        message = http.post("/api/v1/auth/challenge", json={"address": bank.address}).json()["message"]
        signature = "0x" + Account.sign_message(encode_defunct(text=message), bank.key).signature.hex()
        token = http.post("/api/v1/auth/session", json={"message": message, "signature": signature}).json()["token"]
    return httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30)


def test_feed_health_and_valuations_with_their_band(both: tuple[OracleRig, str]) -> None:
    rig, url = both
    rig.service.settle()
    rig.scenario("telematics", scenario="fail", requests=12)
    rig.advance(600)
    deadline = time.monotonic() + 30
    while rig.oracle.status()["feeds"]["ingest:telematics"]["failures"] < 3:
        rig.service.run("ingest:telematics")
        assert time.monotonic() < deadline
        time.sleep(0.05)
    rig.service.publish_health()
    with _bank_session(rig, url) as bank:
        failing = {f["feed"]: f for f in bank.get("/api/v1/oracle/feeds").json()}["ingest:telematics"]
    assert failing["healthy"] is False
    assert "HTTP 503" in failing["last_error"]
    time.sleep(1.0)
    rig.service.settle(tolerate_failures=True)
    with Session(rig.engine) as session:
        link = session.exec(select(LoanLink).where(col(LoanLink.chain_loan_id).is_not(None))).first()
        assert link is not None
        region = session.get(VehicleState, link.vin).region  # type: ignore[union-attr]
    rig.scenario("market", scenario="price_shock", region=region, percent=-9)
    rig.service.settle()
    rig.service.publish_health()
    PortalContext.open(PortalSettings(), rig.runtime.settings).indexer().sync()
    with _bank_session(rig, url) as bank:
        feeds = {f["feed"]: f for f in bank.get("/api/v1/oracle/feeds").json()}
        [series] = bank.get(f"/api/v1/vehicles/{link.vin}/valuations").json()
        assert bank.get("/api/v1/vehicles/LVGBM53K1AG000001/valuations").status_code == 404
    assert set(feeds) >= {"ingest:dmv", "ingest:telematics", "ingest:market", "ingest:loans", "dispatch", "anchor"}
    assert feeds["ingest:dmv"]["healthy"] is True
    assert feeds["ingest:telematics"]["healthy"] is True  # recovered
    assert feeds["ingest:dmv"]["stale_s"] >= 0
    assert feeds["ingest:telematics"]["detail"]["records"] > 0
    assert series["value_move_bps"] == 800
    baseline = series["baseline_value"]
    assert (series["band_low"], series["band_high"]) == (baseline - baseline * 8 // 100, baseline + baseline * 8 // 100)
    medians = [p["value"] for p in series["points"] if p["median"]]
    reports = [p for p in series["points"] if not p["median"]]
    assert len(reports) % 3 == 0  # three price oracles report each time
    assert len({p["reporter_member_id"] for p in reports}) == 3
    assert medians[0] >= series["band_low"] > medians[-1]  # the shock took the median below the band


def test_the_oracle_page_draws_the_value_against_its_band(both: tuple[OracleRig, str], page: Page) -> None:
    rig, url = both
    rig.service.settle()
    with Session(rig.engine) as session:
        link = session.exec(select(LoanLink).where(col(LoanLink.chain_loan_id).is_not(None))).first()
        assert link is not None
        region = session.get(VehicleState, link.vin).region  # type: ignore[union-attr]
    rig.scenario("market", scenario="price_shock", region=region, percent=-9)
    rig.service.settle()
    rig.service.publish_health()
    PortalContext.open(PortalSettings(), rig.runtime.settings).indexer().sync()
    sign_in_as(page, url, rig.oracle.signers["bank"].address)
    page.click("text=Oracle")
    assert "ok" in page.locator("#feeds tr", has_text="ingest:dmv").inner_text()
    page.fill("#vin", link.vin)
    page.click("button:has-text('Show')")
    chart = page.locator("svg[id^=chart-]").first
    assert chart.locator("polyline").get_attribute("points")
    outside = chart.locator("circle[fill='#a4161a']")
    assert outside.count() >= 1  # the median after the shock is drawn outside the band
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
