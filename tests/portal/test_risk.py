"""The risk score in the portal: scores made by the oracle's risk job on a real chain, read over real HTTP and in the
browser (the portal reads the oracle's published tables and the read model; it imports nothing of the oracle)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
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
from node_adapter.encoding import SaltedDocument
from node_adapter.shared.risk import RiskScoreRow
from oracle.risk.model import get_model, recompute
from oracle.risk.settings import RiskSettings
from oracle.store import LoanLink, SourceRecord
from tests.oracle.conftest import OracleRig, make_rig, set_watch_score
from tests.portal.conftest import sign_in_as


@dataclass
class Scored:
    rig: OracleRig
    url: str
    vin: str
    """A financed vehicle scored twice: before and after a severe crash."""
    loan_id: int


@pytest.fixture
def scored(chain: LocalChain, w3: Web3, tmp_path: Path) -> Iterator[Scored]:
    for rig in make_rig(chain, w3, tmp_path, fleet=6, risk=RiskSettings(anchor_threshold=0.5)):
        set_watch_score(rig, 10_000)  # every score is under it: a financed vehicle's loan gets a risk warning
        rig.service.settle()
        with Session(rig.engine) as session:
            link = session.exec(select(LoanLink).where(col(LoanLink.chain_loan_id).is_not(None))).first()
        assert link is not None
        assert link.chain_loan_id is not None
        rig.scenario("telematics", scenario="crash", vin=link.vin, severity="severe")
        rig.advance(60)
        rig.service.settle()
        port = free_port()
        context = PortalContext.open(PortalSettings(port=port), rig.runtime.settings)
        context.indexer().sync()
        with BackgroundServer(create_app(context), port=port, name="portal") as server:
            yield Scored(rig, server.url, link.vin, link.chain_loan_id)


def _session(rig: OracleRig, url: str, who: str) -> httpx.Client:
    account = rig.oracle.signers[who]
    with httpx.Client(base_url=url, timeout=30) as http:
        message = http.post("/api/v1/auth/challenge", json={"address": account.address}).json()["message"]
        signature = "0x" + Account.sign_message(encode_defunct(text=message), account.key).signature.hex()
        token = http.post("/api/v1/auth/session", json={"message": message, "signature": signature}).json()["token"]
    return httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30)


def _rows(rig: OracleRig, vin: str) -> list[RiskScoreRow]:
    with Session(rig.engine) as session:
        return list(session.exec(select(RiskScoreRow).where(RiskScoreRow.vin == vin).order_by(col(RiskScoreRow.id))))


def test_the_api_gives_the_score_its_breakdown_history_anchoring_and_the_loans_warnings(scored: Scored) -> None:
    rig, vin = scored.rig, scored.vin
    rows = _rows(rig, vin)
    assert len(rows) >= 2, "a score before the crash and one after"
    with Session(rig.engine) as session:
        crash = session.exec(select(SourceRecord).where(SourceRecord.vin == vin, SourceRecord.type == "crash")).first()
    assert crash is not None
    with _session(rig, scored.url, "bank") as bank:
        risk = bank.get(f"/api/v1/vehicles/{vin.lower()}/risk")
        assert risk.status_code == 200, risk.text
        body = risk.json()
        loan = bank.get(f"/api/v1/loans/{scored.loan_id}/risk").json()
        document = bank.get(f"/api/v1/risk/scores/{body['latest']['digest']}").json()
        models = bank.get("/api/v1/risk/models").json()
        assert bank.get("/api/v1/vehicles/LVGBM53K1AG000001/risk").status_code == 404
        assert bank.get("/api/v1/vehicles/NOT-A-VIN/risk").status_code == 422
        assert bank.get("/api/v1/risk/scores/0x1234").status_code == 422
        assert bank.get("/api/v1/risk/scores/0x" + "ab" * 32).status_code == 404
        assert bank.get("/api/v1/loans/999999/risk").status_code == 404
    with _session(rig, scored.url, "dmv") as dmv:
        assert dmv.get(f"/api/v1/loans/{scored.loan_id}/risk").status_code == 403, "not the loan's bank"
        assert dmv.get(f"/api/v1/vehicles/{vin}/risk").status_code == 200, "any member verifies a vehicle"
    assert httpx.get(f"{scored.url}/api/v1/vehicles/{vin}/risk").status_code == 401

    latest = body["latest"]
    assert body["vin"] == vin
    assert latest["score_hundredths"] == rows[-1].score
    assert latest["score"] == rows[-1].score / 100
    assert sum(d["contribution"] for d in latest["dimensions"]) == latest["score_hundredths"]
    assert sum(d["points"] for d in latest["dimensions"]) == 10_000
    for dimension in latest["dimensions"]:
        costs = sum(f["penalty"] for f in dimension["features"])
        assert dimension["points"] - costs == dimension["contribution"], dimension
    health = next(d for d in latest["dimensions"] if d["dimension"] == "health")
    assert crash.digest in health["records"], "the crash is one of the records behind the health dimension"
    assert crash.digest in latest["records"]["crash_events"]
    assert latest["partial"] is True
    assert "harsh_driving" in latest["imputed"]
    assert latest["intact"] is True
    assert latest["anchoring"]["on_chain"] is True
    assert latest["anchoring"]["block_number"] > 0
    assert [p["score"] for p in body["history"]] == [r.score / 100 for r in rows]
    assert body["history"][-1]["score"] < body["history"][0]["score"], "a severe crash lowers the score"
    assert [p["anchored"] for p in body["history"]] == [r.status == "confirmed" for r in rows]
    assert body["history"][0]["anchored"]
    assert body["history"][-1]["anchored"]
    assert body["watch_score"] == 100.0
    assert {w["loan_id"] for w in body["warnings"]} == {scored.loan_id}
    assert latest["digest"] in {w["evidence_digest"] for w in body["warnings"]}

    assert loan["score"]["digest"] == latest["digest"]
    assert loan["lien_status"] == "active"
    assert [w["evidence_digest"] for w in loan["warnings"]] == [w["evidence_digest"] for w in body["warnings"]]

    salted = SaltedDocument.from_salted(document, bytes.fromhex(latest["digest"][2:]))
    assert salted.verify(), "the document handed out is the one whose digest is on chain"
    check = recompute(salted.document)
    assert check.matches, check.problems

    model = get_model(RiskSettings().model_version)
    [report] = [m for m in models["models"] if m["version"] == model.version]
    assert report["digest"] == model.digest
    assert report["simulated"] is True
    assert "simulated" in report["calibration"]["data"]
    assert "simulated" in models["note"]
    assert report["calibration"] == model.calibration.model_dump()
    assert report["calibration"]["auc"] > report["calibration"]["baseline_auc"]
    assert report["anchoring"]["on_chain"] is True
    assert report["scores"] >= len(rows)
    assert sum(report["points"].values()) == 10_000


def test_the_pages_show_the_breakdown_the_history_chart_and_the_calibration_report(scored: Scored, page: Page) -> None:
    rig, vin = scored.rig, scored.vin
    rows = _rows(rig, vin)
    sign_in_as(page, scored.url, rig.oracle.signers["bank"].address)
    page.fill("#vin", vin)
    page.click("button:has-text('Verify')")
    page.wait_for_selector("#risk")
    assert page.inner_text("#risk-score") == f"{rows[-1].score / 100:.2f}"
    contributions = [
        float(page.inner_text(f"#risk-{name} .contribution")) for name in ("health", "behaviour", "market")
    ]
    assert round(sum(contributions), 2) == rows[-1].score / 100, "the breakdown adds up to the score"
    assert "crashes" in page.inner_text("#risk-health")
    assert page.is_visible("#risk-partial")
    chart = page.locator("#risk-chart")
    assert chart.locator("circle.anchored").count() == sum(r.status == "confirmed" for r in rows)
    assert chart.locator("circle").count() == len(rows)
    points = chart.locator("polyline").get_attribute("points")
    assert points is not None
    assert len(points.split()) == len(rows)
    first_y, last_y = (float(p.split(",")[1]) for p in (points.split()[0], points.split()[-1]))
    assert last_y > first_y, "the lower score after the crash is drawn lower"
    assert chart.locator("line.watch").count() == 1
    assert rows[-1].digest in page.inner_text("#risk-warnings")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")

    page.click("text=Loans")
    link = page.locator(f"#loans a[href='/loans/{scored.loan_id}/risk']")
    assert link.inner_text().startswith(f"{rows[-1].score / 100:.2f}")
    link.click()
    page.wait_for_selector("#risk-breakdown")
    assert page.inner_text("#risk-score") == f"{rows[-1].score / 100:.2f}"
    assert rows[-1].digest in page.inner_text("#risk-warnings")

    page.click("text=Risk models")
    model = get_model(RiskSettings().model_version)
    escaped = model.version.replace(".", "\\.")
    row = page.locator(f"#model-{escaped}")
    assert row.locator(".auc").inner_text() == str(model.calibration.auc)
    assert row.locator(".baseline-auc").inner_text() == str(model.calibration.baseline_auc)
    assert "simulated data" in row.locator(".data").inner_text()
    assert "not from real loans" in page.inner_text("#data-note")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
