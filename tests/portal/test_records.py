"""Members' own writes prepared by the portal: revoke and supersede, dispute, register a loan, report repayment."""

from __future__ import annotations

from typing import Any

import httpx
from web3 import Web3

from node_adapter.dev.chainutil import send_and_wait
from node_adapter.encoding import subject_id
from tests.portal.conftest import CLAIM, INSPECTION, TERMS, PortalRig

VIN = "LSVJETH80N5183294"


def _attest(rig: PortalRig, who: str, kind: int, text: str) -> str:
    return rig.attest(who, VIN, kind, text)


def _send(rig: PortalRig, w3: Web3, who: str, answer: httpx.Response) -> dict[str, Any]:
    assert answer.status_code == 200, answer.text
    prepared: dict[str, Any] = answer.json()
    account = rig.accounts[who]
    send_and_wait(
        w3,
        account,
        {"to": prepared["transaction"]["to"], "data": prepared["transaction"]["data"], "from": account.address},
    )
    rig.context.indexer().sync()
    return prepared


def _status(rig: PortalRig, uid: str) -> str:
    with rig.as_member("bank") as bank:
        report = bank.get(f"/api/v1/vehicles/{VIN}").json()
    return {a["uid"]: a["status"] for a in report["attestations"]}[uid]


def test_an_attester_supersedes_its_record_and_only_it_may(portal: PortalRig, w3: Web3) -> None:
    wrong = _attest(portal, "insurer", CLAIM, "claim 7781, amount typed wrong")
    right = _attest(portal, "insurer", CLAIM, "claim 7781")
    other_kind = _attest(portal, "dealer", INSPECTION, "inspection")
    with portal.as_member("dealer") as dealer:
        assert dealer.post(f"/api/v1/attestations/{wrong}/revocation", json={"reason": 1}).status_code == 403
    with portal.as_member("insurer") as insurer:
        assert (
            insurer.post(
                f"/api/v1/attestations/{wrong}/revocation", json={"reason": 1, "superseded_by": other_kind}
            ).status_code
            == 422
        )
        assert insurer.post("/api/v1/attestations/0x12/revocation", json={"reason": 1}).status_code == 422
        assert insurer.post(f"/api/v1/attestations/0x{'ab' * 32}/revocation", json={"reason": 1}).status_code == 404
        _send(
            portal,
            w3,
            "insurer",
            insurer.post(f"/api/v1/attestations/{wrong}/revocation", json={"reason": 3, "superseded_by": right}),
        )
        again = insurer.post(f"/api/v1/attestations/{wrong}/revocation", json={"reason": 3})
        assert again.status_code == 422
    assert _status(portal, wrong) == "revoked"
    assert portal.suite.registry.get_revocation(wrong).superseded_by == right


def test_a_member_disputes_another_members_record_with_evidence(portal: PortalRig, w3: Web3) -> None:
    claim = _attest(portal, "insurer", CLAIM, "claim for a crash that never happened")
    with portal.as_member("insurer") as insurer:
        assert insurer.post(f"/api/v1/attestations/{claim}/dispute", json={"evidence": {}}).status_code == 403
    with portal.as_member("bank") as bank:
        prepared = _send(
            portal,
            w3,
            "bank",
            bank.post(
                f"/api/v1/attestations/{claim}/dispute", json={"evidence": {"photos": "undamaged bumper, 2026-10-03"}}
            ),
        )
    assert prepared["evidence"]["evidence"] == {"photos": "undamaged bumper, 2026-10-03"}
    assert _status(portal, claim) == "disputed"
    dispute = portal.suite.registry.get_dispute(portal.suite.registry.open_dispute_of(claim))
    assert dispute.evidence_digest == prepared["evidence_digest"]


def test_a_bank_registers_a_loan_and_reports_a_missed_payment_that_triggers_a_case(portal: PortalRig, w3: Web3) -> None:
    body = {
        "vin": VIN,
        "principal": 500_000,
        "outstanding": 400_000,
        "baseline_value": 1_000_000,
        "terms": TERMS.model_dump(),
        "evidence": {"contract": "LN-2026-0042"},
    }
    with portal.as_member("dealer") as dealer:
        assert dealer.post("/api/v1/loans", json=body).status_code == 403
    with portal.as_member("bank") as bank:
        assert bank.post("/api/v1/loans", json=body | {"outstanding": 600_000}).status_code == 422
        assert bank.post("/api/v1/loans", json=body | {"vin": "LSVJETH80N5183295"}).status_code == 422
        _send(portal, w3, "bank", bank.post("/api/v1/loans", json=body))
    loan_id = portal.suite.collateral.active_loan_of(subject_id(VIN, portal.context.subject_key))
    assert portal.suite.collateral.get_loan(loan_id).lien_status.name == "PENDING"
    dmv = portal.accounts["dmv"].address
    portal.write(
        lambda o, k: portal.suite.collateral.confirm_lien(
            o, key=k, sender=dmv, loan_id=loan_id, evidence_digest="0x" + "02" * 32
        )
    )
    with portal.as_member("agency") as agency:
        assert (
            agency.post(
                f"/api/v1/loans/{loan_id}/repayment", json={"days_overdue": 95, "outstanding": 400_000}
            ).status_code
            == 403
        )
    with portal.as_member("bank") as bank:
        _send(
            portal,
            w3,
            "bank",
            bank.post(f"/api/v1/loans/{loan_id}/repayment", json={"days_overdue": 95, "outstanding": 400_000}),
        )
        [card] = bank.get("/api/v1/cases").json()
    assert card["state"] == "triggered"
