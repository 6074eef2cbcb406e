"""Credit points and the case board, and who may see what: every route and role pair that must be refused."""

from __future__ import annotations

from typing import Any

import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data
from web3 import Web3

from node_adapter.clients import STANDARD_TERMS, AlertKind, Severity
from node_adapter.dev.chainutil import send_and_wait
from node_adapter.dev.devchain import increase_time
from node_adapter.encoding import SaltedDocument, subject_id
from tests.portal.conftest import CLAIM, PortalRig

VIN = "LSVJETH80N5183294"
RECORD = {"incident_on": "2026-10-02", "amount_cny": 8_400, "status": "paid", "description": "rear bumper"}


def _claim(rig: PortalRig, text: str) -> str:
    uid = "0x" + SaltedDocument.create({"claim": text}).digest.hex()
    insurer = rig.accounts["insurer"].address
    subject = subject_id(VIN, rig.context.subject_key)
    rig.write(lambda o, k: rig.suite.registry.attest(o, key=k, sender=insurer, subject=subject, kind=CLAIM, digest=uid))
    return uid


def _case(rig: PortalRig) -> int:
    """A loan on VIN whose tamper alert opened a case; its id."""
    loan_id = rig.lend(VIN)
    rig.alert(VIN, AlertKind.TAMPER, Severity.CRITICAL)
    return rig.suite.collateral.get_loan(loan_id).case_id


def test_points_leaderboard_history_and_rules(portal: PortalRig) -> None:
    first = _claim(portal, "one")
    _claim(portal, "two")
    insurer = portal.accounts["insurer"].address
    portal.write(lambda o, k: portal.suite.registry.revoke(o, key=k, sender=insurer, uid=first, reason=1))
    with portal.as_member("dealer") as dealer:
        me = dealer.get("/api/v1/me").json()
        board = dealer.get("/api/v1/points").json()
        insurer_id = board[0]["member_id"]
        history = dealer.get(f"/api/v1/points/{insurer_id}").json()
        rules = dealer.get("/api/v1/points/rules").json()
        assert dealer.get(f"/api/v1/points/{me['member_id']}").status_code == 404  # never held points
    assert board == [{"member_id": insurer_id, "points": 10}]
    assert history["points"] == 10
    assert [(h["reason"], h["delta"]) for h in history["history"]] == [
        ("attestation", 10),
        ("attestation", 10),
        ("clawback", -10),
    ]
    assert history["history"][2]["ref"] == first
    assert {k["kind"]: k["weight"] for k in rules["kinds"]}[CLAIM] == 10
    assert rules["slash_multiplier"] >= 1


def test_the_case_board_shows_each_party_its_cases(portal: PortalRig) -> None:
    case_id = _case(portal)
    with portal.as_member("bank") as bank:
        [card] = bank.get("/api/v1/cases").json()
        assert (card["case_id"], card["state"]) == (case_id, "triggered")
        assert bank.get("/api/v1/cases", params={"state": "settled"}).json() == []
        timeline = bank.get(f"/api/v1/cases/{case_id}").json()
        assert [(s["from_state"], s["to_state"]) for s in timeline["steps"]] == [("none", "triggered")]
        assert timeline["steps"][0]["evidence_digest"] == "0x" + "03" * 32
    with portal.as_member("governor") as governor:
        assert [c["case_id"] for c in governor.get("/api/v1/cases").json()] == [case_id]
        assert governor.get(f"/api/v1/cases/{case_id}").status_code == 200
    with portal.as_member("agency") as agency:  # not assigned (yet): sees nothing
        assert agency.get("/api/v1/cases").json() == []
        assert agency.get("/api/v1/cases/999").status_code == 404


def _prepared_claim(rig: PortalRig) -> dict[str, Any]:
    with rig.as_member("insurer") as insurer:
        prepared: dict[str, Any] = insurer.post(
            "/api/v1/attestations", json={"vin": VIN, "kind": 2, "record": RECORD}
        ).json()
        typed = prepared["typed_data"]
        signature = Account.sign_message(encode_typed_data(full_message=typed), rig.accounts["insurer"].key)
        insurer.post(
            f"/api/v1/attestations/{prepared['id']}/signature", json={"signature": "0x" + signature.signature.hex()}
        )
    rig.worker.drain()
    rig.context.indexer().sync()
    return prepared


LOAN = {"vin": VIN, "principal": 2, "outstanding": 1, "baseline_value": 3, "terms": STANDARD_TERMS.model_dump()}
REFUSED = [
    # (who, method, path, body): each must get 403
    ("dealer", "GET", "/api/v1/cases", None),
    ("insurer", "GET", "/api/v1/cases", None),
    ("price", "GET", "/api/v1/cases", None),
    ("dealer", "GET", "/api/v1/cases/{case}", None),
    ("insurer", "GET", "/api/v1/cases/{case}", None),
    ("agency", "GET", "/api/v1/cases/{case}", None),
    ("dealer", "POST", "/api/v1/attestations", {"vin": VIN, "kind": 2, "record": RECORD}),
    ("bank", "POST", "/api/v1/attestations", {"vin": VIN, "kind": 2, "record": RECORD}),
    ("governor", "POST", "/api/v1/attestations", {"vin": VIN, "kind": 2, "record": RECORD}),
    ("insurer", "POST", "/api/v1/attestations", {"vin": VIN, "kind": 1, "record": {}}),
    ("dmv", "POST", "/api/v1/attestations", {"vin": VIN, "kind": 5, "record": {}}),
    ("dealer", "GET", "/api/v1/documents/{digest}", None),
    ("agency", "GET", "/api/v1/documents/{digest}", None),
    ("governor", "GET", "/api/v1/documents/{digest}", None),
    ("dealer", "GET", "/api/v1/loans", None),
    ("agency", "GET", "/api/v1/loans", None),
    ("governor", "GET", "/api/v1/loans", None),
    ("insurer", "POST", "/api/v1/loans", LOAN),
    ("dmv", "POST", "/api/v1/loans", LOAN),
    ("dealer", "POST", "/api/v1/loans/{loan}/repayment", {"days_overdue": 0, "outstanding": 1}),
    ("agency", "POST", "/api/v1/loans/{loan}/repayment", {"days_overdue": 0, "outstanding": 1}),
    ("bank", "POST", "/api/v1/attestations/{digest}/revocation", {"reason": 1}),
    ("dealer", "POST", "/api/v1/attestations/{digest}/revocation", {"reason": 1}),
    ("insurer", "POST", "/api/v1/attestations/{digest}/dispute", {"evidence": {"why": "its own record"}}),
]


@pytest.fixture
def scene(portal: PortalRig) -> dict[str, Any]:
    """A case on the vehicle (the bank lends on it) and an insurer's claim document."""
    prepared = _prepared_claim(portal)
    case_id = _case(portal)
    return {"case": case_id, "loan": portal.suite.collateral.get_case(case_id).loan_id, "digest": prepared["digest"]}


def test_every_route_and_role_pair_that_must_be_refused_is(portal: PortalRig, scene: dict[str, Any]) -> None:
    sessions: dict[str, Any] = {}
    try:
        for who, method, path, body in REFUSED:
            if who not in sessions:
                sessions[who] = portal.as_member(who)
            url = path.format(**scene)
            response = sessions[who].request(method, url, json=body)
            assert response.status_code == 403, (who, method, url, response.text)
            assert response.json()["error"] == "forbidden"
        with portal.as_member("bank") as bank:  # the same routes are open to those they are for
            assert bank.get(f"/api/v1/cases/{scene['case']}").status_code == 200
            assert bank.get(f"/api/v1/documents/{scene['digest']}").status_code == 200
    finally:
        for client in sessions.values():
            client.close()


def test_case_actions_are_prepared_for_the_party_and_sent_from_its_wallet(portal: PortalRig, w3: Web3) -> None:
    case_id = _case(portal)
    increase_time(w3, 3 * 86_400 + 1)
    with portal.as_member("agency") as agency:
        agency_id = agency.get("/api/v1/me").json()["member_id"]
        refused = agency.post(
            f"/api/v1/cases/{case_id}/actions",
            json={"action": "record_repossession", "evidence": {"note": "not yet ours"}},
        )
        assert refused.status_code == 403
    with portal.as_member("dealer") as dealer:
        assert (
            dealer.post(f"/api/v1/cases/{case_id}/actions", json={"action": "clear_watch", "evidence": {}}).status_code
            == 403
        )
    with portal.as_member("bank") as bank:
        missing = bank.post(f"/api/v1/cases/{case_id}/actions", json={"action": "order_repossession", "evidence": {}})
        assert missing.status_code == 422
        prepared = bank.post(
            f"/api/v1/cases/{case_id}/actions",
            json={
                "action": "order_repossession",
                "agency_member_id": agency_id,
                "evidence": {"report": "field visit 2026-11-20"},
            },
        ).json()
    assert prepared["evidence"]["evidence"] == {"report": "field visit 2026-11-20"}
    bank_account = portal.accounts["bank"]
    send_and_wait(
        w3,
        bank_account,
        {"to": prepared["transaction"]["to"], "data": prepared["transaction"]["data"], "from": bank_account.address},
    )
    case = portal.suite.collateral.get_case(case_id)
    assert (case.state.name, case.agency_member_id) == ("REPOSSESSION_ORDERED", agency_id)
    portal.context.indexer().sync()
    with portal.as_member("agency") as agency:  # assigned now: sees the case and may record its steps
        timeline = agency.get(f"/api/v1/cases/{case_id}").json()
        assert timeline["steps"][-1]["evidence_digest"] == prepared["evidence_digest"]
        assert (
            agency.post(
                f"/api/v1/cases/{case_id}/actions", json={"action": "record_repossession", "evidence": {}}
            ).status_code
            == 201
        )
