"""Membership through the portal: an organisation applies, governors propose, vote and execute from their own
wallets with the transactions the portal prepares, and the new member signs in; suspensions; who is refused what."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount
from web3 import Web3

from consortium_portal.models import Scope
from node_adapter.dev.chainutil import send_and_wait
from node_adapter.dev.devchain import increase_time
from node_adapter.dev.localchain import LocalChain
from node_adapter.encoding import SaltedDocument
from tests.portal.conftest import PortalRig

LICENCE = b"%PDF-1.7 business licence of Pudong Motors Ltd."


def _signed(rig: PortalRig, account: LocalAccount) -> dict[str, str]:
    """A challenge for ``account``, signed by it."""
    with rig.http() as http:
        message = http.post("/api/v1/auth/challenge", json={"address": account.address}).json()["message"]
    signature = Account.sign_message(encode_defunct(text=message), account.key).signature.hex()
    return {"message": message, "signature": "0x" + signature}


def _application(rig: PortalRig, *accounts: LocalAccount, **fields: Any) -> dict[str, Any]:
    return {
        "name": "Pudong Motors",
        "roles": ["DEALER", "REPAIR_SHOP"],
        "documents": [{"name": "licence.pdf", "content_base64": base64.b64encode(LICENCE).decode()}],
        "accounts": [_signed(rig, a) for a in accounts],
    } | fields


def _send(rig: PortalRig, w3: Web3, governor: LocalAccount, answer: httpx.Response) -> None:
    """Send a prepared transaction from the governor's wallet, then index it."""
    assert answer.status_code == 200, answer.text
    tx = answer.json()
    send_and_wait(w3, governor, {"to": tx["to"], "data": tx["data"], "from": governor.address})
    rig.context.indexer().sync()


@pytest.fixture
def governors(portal: PortalRig, chain: LocalChain) -> list[LocalAccount]:
    """The three governors (dev accounts 0-2), also known to the rig as governor, governor1, governor2."""
    keys = [Account.from_key(a.private_key) for a in chain.accounts[:3]]
    portal.accounts |= {"governor1": keys[1], "governor2": keys[2]}
    return keys


def _vote(rig: PortalRig, w3: Web3, governors: list[LocalAccount], proposal_id: int) -> None:
    """Two governors of three vote for, through the portal's vote transactions."""
    for name, governor in (("governor", governors[0]), ("governor1", governors[1])):
        with rig.as_member(name) as client:
            _send(rig, w3, governor, client.post(f"/api/v1/proposals/{proposal_id}/vote", json={"support": True}))


def _pass(rig: PortalRig, w3: Web3, governors: list[LocalAccount], proposal_id: int) -> None:
    """Two governors vote for; the voting period and the execution delay pass."""
    _vote(rig, w3, governors, proposal_id)
    parameters = rig.suite.membership.governance_parameters()
    increase_time(w3, parameters.voting_period + parameters.execution_delay + 1)


def test_an_applicant_is_voted_in_and_signs_in(portal: PortalRig, w3: Web3, governors: list[LocalAccount]) -> None:
    first, second = Account.create(), Account.create()
    body = _application(portal, first, second)
    with portal.http() as anyone:
        applied = anyone.post("/api/v1/applications", json=body)
        assert applied.status_code == 201, applied.text
        replayed = anyone.post("/api/v1/applications", json=body)
    application = applied.json()
    assert (application["status"], application["roles"]) == ("submitted", ["DEALER", "REPAIR_SHOP"])
    assert application["accounts"] == [first.address, second.address]
    [document] = application["documents"]
    assert document["digest"] == "0x" + bytes(Web3.keccak(LICENCE)).hex()
    salted = SaltedDocument.from_salted(application["application"], bytes.fromhex(application["metadata_digest"][2:]))
    assert salted.verify()
    assert salted.document["documents"] == [{"name": "licence.pdf", "digest": document["digest"]}]
    assert application["description_digest"] == "0x" + bytes(Web3.keccak(text=application["description"])).hex()
    assert (replayed.status_code, replayed.json()["error"]) == (401, "sign_in_refused")  # the challenges served once
    app_url = f"/api/v1/applications/{application['id']}"

    with portal.as_member("dealer") as dealer:
        assert dealer.get("/api/v1/applications").status_code == 403
    with portal.as_member("governor") as governor:
        [listed] = governor.get("/api/v1/applications").json()
        assert (listed["id"], listed["status"], listed["documents"][0]["content_base64"]) == (
            application["id"], "submitted", None,
        )  # fmt: skip
        assert governor.get(app_url).json()["documents"][0]["content_base64"] == body["documents"][0]["content_base64"]
        _send(portal, w3, governors[0], governor.post(f"{app_url}/proposal"))
        voting = governor.get(app_url).json()
        assert voting["status"] == "voting"
        again = governor.post(f"{app_url}/proposal")
        assert (again.status_code, again.json()["error"]) == (409, "conflict")
        [proposal] = governor.get("/api/v1/proposals").json()
        assert (proposal["proposal_id"], proposal["application_id"], proposal["state"]) == (
            voting["proposal_id"], application["id"], "active",
        )  # fmt: skip
        assert proposal["calls"][0]["function"] == "admitMember"
        assert proposal["calls"][0]["args"]["metadataDigest"] == application["metadata_digest"]
        assert (proposal["voted"], proposal["can_vote"]) == (False, True)
        assert proposal["vote_end"] < proposal["executable_at"] < proposal["expires_at"]

    proposal_id = voting["proposal_id"]
    _vote(portal, w3, governors, proposal_id)
    parameters = portal.suite.membership.governance_parameters()
    increase_time(w3, parameters.voting_period + 1)
    with portal.as_member("governor") as governor:
        assert governor.get(app_url).json()["status"] == "queued"
        early = governor.post(f"/api/v1/proposals/{proposal_id}/execute")
        assert (early.status_code, early.json()["error"]) == (409, "MembershipUnexpectedProposalState")
        increase_time(w3, parameters.execution_delay)
        assert governor.get(app_url).json()["status"] == "ready"
        twice = governor.post(f"/api/v1/proposals/{proposal_id}/vote", json={"support": False})
        assert (twice.status_code, twice.json()["error"]) == (409, "MembershipUnexpectedProposalState")
        assert governor.get("/api/v1/proposals").json()[0]["state"] == "ready"
        _send(portal, w3, governors[0], governor.post(f"/api/v1/proposals/{proposal_id}/execute"))
        admitted = governor.get(app_url).json()
        assert governor.get("/api/v1/proposals").json() == []
    assert (admitted["status"], admitted["proposal_id"]) == ("admitted", proposal_id)

    portal.accounts["pudong"] = second
    with portal.as_member("pudong") as member:
        me = member.get("/api/v1/me").json()
        directory = {m["member_id"]: m for m in member.get("/api/v1/members").json()}
    assert (me["member_id"], me["roles"]) == (admitted["member_id"], ["DEALER", "REPAIR_SHOP"])
    entry = directory[me["member_id"]]
    assert (entry["name"], entry["status"], entry["accounts"], entry["application_id"]) == (
        "Pudong Motors", "active", [first.address, second.address], application["id"],
    )  # fmt: skip
    assert directory[1]["roles"] == ["GOVERNOR"]
    assert directory[1]["name"] is None  # admitted without an application through the portal


def test_applications_that_cannot_be_taken_are_refused(portal: PortalRig) -> None:
    applicant = Account.create()
    with portal.http() as anyone:
        bound = anyone.post("/api/v1/applications", json=_application(portal, applicant, portal.accounts["dealer"]))
        assert (bound.status_code, bound.json()["error"]) == (409, "conflict")
        assert portal.accounts["dealer"].address in bound.json()["message"]
        roles = anyone.post("/api/v1/applications", json=_application(portal, applicant, roles=["DEALER", "PILOT"]))
        assert (roles.status_code, roles.json()["error"]) == (422, "invalid_input")
        assert "PILOT" in roles.json()["message"]
        files = [{"name": f"page-{i}.pdf", "content_base64": "UERG"} for i in range(11)]
        too_many = anyone.post("/api/v1/applications", json=_application(portal, applicant, documents=files))
        assert too_many.status_code == 422
        broken = anyone.post(
            "/api/v1/applications",
            json=_application(portal, applicant, documents=[{"name": "x.pdf", "content_base64": "not base64!"}]),
        )
        assert broken.status_code == 422
        assert anyone.post("/api/v1/applications", json=_application(portal)).status_code == 422  # no account
        twice = anyone.post("/api/v1/applications", json=_application(portal, applicant, applicant))
        assert twice.status_code == 422
        forged = _signed(portal, applicant) | {"signature": _signed(portal, Account.create())["signature"]}
        refused = anyone.post("/api/v1/applications", json=_application(portal) | {"accounts": [forged]})
        assert (refused.status_code, refused.json()["error"]) == (401, "sign_in_refused")
        big = [{"name": "scan.pdf", "content_base64": base64.b64encode(b"x" * (1 << 20)).decode()}]
        assert anyone.post("/api/v1/applications", json=_application(portal, applicant, documents=big)).status_code == (
            413
        )
        # nothing above burned the applicant's challenge for good: it applies once all is in order
        assert anyone.post("/api/v1/applications", json=_application(portal, applicant)).status_code == 201


def test_a_suspended_member_is_refused_by_the_portal(
    portal: PortalRig, w3: Web3, governors: list[LocalAccount]
) -> None:
    with portal.as_member("dealer") as dealer:
        dealer_id = dealer.get("/api/v1/me").json()["member_id"]
        with portal.as_member("governor") as governor:
            prepared = governor.post(f"/api/v1/members/{dealer_id}/proposal", json={"action": "suspend", "reason": "x"})
            assert prepared.json()["description"] == f"Suspend member {dealer_id}: x"
            assert governor.post(f"/api/v1/members/{dealer_id}/proposal", json={"action": "reinstate"}).status_code == (
                409
            )  # it is active
            assert governor.post("/api/v1/members/999/proposal", json={"action": "expel"}).status_code == 404
            _send(portal, w3, governors[0], prepared)
            [proposal] = governor.get("/api/v1/proposals").json()
            assert proposal["calls"][0]["function"] == "suspend"
            assert proposal["application_id"] is None
            _pass(portal, w3, governors, proposal["proposal_id"])
            _send(portal, w3, governors[0], governor.post(f"/api/v1/proposals/{proposal['proposal_id']}/execute"))
            directory = {m["member_id"]: m for m in governor.get("/api/v1/members").json()}
            assert directory[dealer_id]["status"] == "suspended"
            reinstate = governor.post(f"/api/v1/members/{dealer_id}/proposal", json={"action": "reinstate"})
            assert reinstate.status_code == 200
        refused = dealer.get("/api/v1/me")
    assert (refused.status_code, refused.json()["error"]) == (403, "forbidden")


def test_a_canceled_admission_may_be_proposed_again(portal: PortalRig, w3: Web3, governors: list[LocalAccount]) -> None:
    with portal.http() as anyone:
        application = anyone.post("/api/v1/applications", json=_application(portal, Account.create())).json()
    app_url = f"/api/v1/applications/{application['id']}"
    with portal.as_member("governor") as governor:
        _send(portal, w3, governors[0], governor.post(f"{app_url}/proposal"))
        first = governor.get(app_url).json()["proposal_id"]
        with portal.as_member("governor1") as other:  # only the proposer cancels
            not_theirs = other.post(f"/api/v1/proposals/{first}/cancel")
            assert (not_theirs.status_code, not_theirs.json()["error"]) == (403, "MembershipNotProposer")
        _send(portal, w3, governors[0], governor.post(f"/api/v1/proposals/{first}/cancel"))
        assert governor.get(app_url).json()["status"] == "canceled"
        assert governor.get("/api/v1/proposals").json() == []
        _send(portal, w3, governors[0], governor.post(f"{app_url}/proposal"))
        again = governor.get(app_url).json()
    assert (again["status"], again["proposal_id"]) == ("voting", first + 1)


GOVERNOR_ROUTES = [
    # (method, path, body): governors only
    ("GET", "/api/v1/applications", None),
    ("GET", "/api/v1/applications/{application}", None),
    ("POST", "/api/v1/applications/{application}/proposal", None),
    ("GET", "/api/v1/proposals", None),
    ("POST", "/api/v1/proposals/{proposal}/vote", {"support": True}),
    ("POST", "/api/v1/proposals/{proposal}/execute", None),
    ("POST", "/api/v1/proposals/{proposal}/cancel", None),
    ("POST", "/api/v1/members/{member}/proposal", {"action": "suspend"}),
]
WRITES = [route for route in GOVERNOR_ROUTES if route[0] == "POST"]


def test_every_governor_route_refuses_everyone_else(portal: PortalRig, w3: Web3, governors: list[LocalAccount]) -> None:
    with portal.http() as anyone:
        application = anyone.post("/api/v1/applications", json=_application(portal, Account.create())).json()
    with portal.as_member("governor") as governor:
        _send(portal, w3, governors[0], governor.post(f"/api/v1/applications/{application['id']}/proposal"))
        proposal = governor.get("/api/v1/proposals").json()[0]["proposal_id"]
        key = governor.post("/api/v1/api-keys", json={"name": "dashboard", "scope": Scope.READ}).json()["key"]
    ids = {"application": application["id"], "proposal": proposal, "member": 4}
    for who in ("dealer", "bank", "insurer", "agency"):
        with portal.as_member(who) as member:
            for method, path, body in GOVERNOR_ROUTES:
                response = member.request(method, path.format(**ids), json=body)
                assert response.status_code == 403, (who, method, path, response.text)
                assert response.json()["error"] == "forbidden"
    with portal.http(**{"X-API-Key": key}) as read_only:  # a governor's read-only key reads but prepares nothing
        for method, path, body in WRITES:
            response = read_only.request(method, path.format(**ids), json=body)
            assert (response.status_code, response.json()["message"]) == (403, "this API key is read-only"), path
        assert read_only.get("/api/v1/proposals").status_code == 200
    with portal.http() as anyone:  # and without signing in, 401
        for method, path, body in GOVERNOR_ROUTES:
            assert anyone.request(method, path.format(**ids), json=body).status_code == 401
        assert anyone.get("/api/v1/members").status_code == 401


def test_governors_change_the_reward_rules_by_proposal(
    portal: PortalRig, w3: Web3, governors: list[LocalAccount]
) -> None:
    with portal.as_member("insurer") as insurer:
        assert insurer.post("/api/v1/points/rules/proposal", json={"slash_multiplier": 5}).status_code == 403
    with portal.as_member("governor") as governor:
        assert governor.post("/api/v1/points/rules/proposal", json={}).status_code == 422
        assert governor.post("/api/v1/points/rules/proposal", json={"kind": 2}).status_code == 422
        assert governor.post("/api/v1/points/rules/proposal", json={"kind": 99, "weight": 1}).status_code == 404
        answer = governor.post(
            "/api/v1/points/rules/proposal",
            json={"slash_multiplier": 5, "kind": 2, "weight": 20, "reason": "claims are costly"},
        )
        assert "slash multiplier 5" in answer.json()["description"]
        _send(portal, w3, governors[0], answer)
        [open_proposal] = governor.get("/api/v1/proposals").json()
    _vote(portal, w3, governors, open_proposal["proposal_id"])
    parameters = w3.eth.contract(address=portal.suite.membership.address, abi=portal.suite.membership.abi)
    voting_period, execution_delay = parameters.functions.governanceParameters().call()[1:3]
    increase_time(w3, voting_period + execution_delay + 1)
    with portal.as_member("governor") as governor:
        _send(portal, w3, governors[0], governor.post(f"/api/v1/proposals/{open_proposal['proposal_id']}/execute"))
        rules = governor.get("/api/v1/points/rules").json()
    assert rules["slash_multiplier"] == 5
    assert {k["kind"]: k["weight"] for k in rules["kinds"]}[2] == 20
