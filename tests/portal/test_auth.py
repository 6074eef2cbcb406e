"""Signing in with a chain account, sessions, API keys, rights from the chain, rate limits: over real HTTP."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct
from sqlmodel import Session
from web3 import Web3

from consortium_portal.http.api import router
from consortium_portal.models import SignInChallenge
from node_adapter.db import utcnow
from node_adapter.dev.localchain import LocalChain
from tests.chain_helpers import as_governance
from tests.portal.conftest import PortalRig, make_portal


def _challenge(rig: PortalRig, address: str) -> str:
    with rig.http() as http:
        issued = http.post("/api/v1/auth/challenge", json={"address": address})
    assert issued.status_code == 200, issued.text
    message: str = issued.json()["message"]
    return message


def _sign(account: object, message: str) -> str:
    return "0x" + Account.sign_message(encode_defunct(text=message), account.key).signature.hex()  # type: ignore[attr-defined]


def _session(rig: PortalRig, message: str, signature: str) -> tuple[int, dict[str, object]]:
    with rig.http() as http:
        response = http.post("/api/v1/auth/session", json={"message": message, "signature": signature})
    return response.status_code, response.json()


def test_a_member_signs_in_and_the_portal_knows_its_roles_from_the_chain(portal: PortalRig) -> None:
    bank = portal.accounts["bank"]
    message = _challenge(portal, bank.address.lower())
    assert f"wants you to sign in with your Ethereum account:\n{bank.address}\n" in message
    assert f"Chain ID: {portal.context.connection.chain_id}" in message
    assert "Nonce: " in message
    assert "Expiration Time: " in message
    status, body = _session(portal, message, _sign(bank, message))
    assert status == 200, body
    assert (body["account"], body["roles"]) == (bank.address, ["BANK"])
    with portal.http(Authorization=f"Bearer {body['token']}") as http:
        me = http.get("/api/v1/me").json()
    assert me == {
        "account": bank.address,
        "member_id": body["member_id"],
        "roles": ["BANK"],
        "via": "session",
        "scope": "write",
    }
    with portal.http() as http:  # the cookie works as well as the header
        http.cookies.set("portal_session", str(body["token"]))
        assert http.get("/api/v1/me").status_code == 200


def test_a_replayed_signature_is_refused(portal: PortalRig) -> None:
    dealer = portal.accounts["dealer"]
    message = _challenge(portal, dealer.address)
    signature = _sign(dealer, message)
    assert _session(portal, message, signature)[0] == 200
    status, body = _session(portal, message, signature)
    assert status == 401
    assert "already used" in str(body["message"])


def test_an_expired_challenge_is_refused(portal: PortalRig) -> None:
    dealer = portal.accounts["dealer"]
    message = _challenge(portal, dealer.address)
    nonce = message.split("Nonce: ")[1].split("\n")[0]
    with Session(portal.context.engine) as session:
        challenge = session.get(SignInChallenge, nonce)
        assert challenge is not None
        challenge.expires_at = utcnow() - timedelta(seconds=1)
        session.add(challenge)
        session.commit()
    status, body = _session(portal, message, _sign(dealer, message))
    assert status == 401
    assert "expired" in str(body["message"])


@pytest.mark.parametrize(
    ("tamper", "says"),
    [
        (lambda m: m.replace("Chain ID: ", "Chain ID: 9"), "unknown challenge"),
        (lambda m: m.replace("Nonce: ", "Nonce: 00"), "unknown challenge"),
        (lambda m: m.replace("\nNonce: ", "\nNonce-less: "), "no nonce"),
    ],
)
def test_a_changed_message_is_refused(portal: PortalRig, tamper: object, says: str) -> None:
    dealer = portal.accounts["dealer"]
    message = tamper(_challenge(portal, dealer.address))  # type: ignore[operator]
    status, body = _session(portal, message, _sign(dealer, message))
    assert status == 401
    assert says in str(body["message"])


def test_a_signature_by_another_account_or_garbage_is_refused(portal: PortalRig) -> None:
    message = _challenge(portal, portal.accounts["dealer"].address)
    status, body = _session(portal, message, _sign(portal.accounts["bank"], message))
    assert status == 401
    assert "not by the account" in str(body["message"])
    status, body = _session(portal, message, "0x1234")
    assert status == 401
    assert "cannot be read" in str(body["message"])


def test_an_account_that_is_no_member_cannot_sign_in(portal: PortalRig) -> None:
    outsider = portal.accounts["outsider"]
    message = _challenge(portal, outsider.address)
    status, body = _session(portal, message, _sign(outsider, message))
    assert status == 403
    assert "not an account of an active member" in str(body["message"])


def test_bad_addresses_get_a_clear_422(portal: PortalRig) -> None:
    with portal.http() as http:
        for address in ("0x1234", "not an address", ""):
            response = http.post("/api/v1/auth/challenge", json={"address": address})
            assert response.status_code == 422, address
        assert http.post("/api/v1/auth/challenge", json={}).status_code == 422


def test_a_suspension_on_chain_takes_effect_at_the_next_request(portal: PortalRig, w3: Web3) -> None:
    token = portal.sign_in("dealer")
    with portal.http(Authorization=f"Bearer {token}") as http:
        me = http.get("/api/v1/me").json()
        membership = w3.eth.contract(address=portal.suite.membership.address, abi=portal.suite.membership.abi)
        as_governance(w3, membership, membership.functions.suspend(me["member_id"]))
        refused = http.get("/api/v1/me")
        assert refused.status_code == 403
        assert "no longer an account of an active member" in refused.json()["message"]
        as_governance(w3, membership, membership.functions.reinstate(me["member_id"]))
        assert http.get("/api/v1/me").status_code == 200


def test_signing_out_ends_the_session(portal: PortalRig) -> None:
    token = portal.sign_in("bank")
    with portal.http(Authorization=f"Bearer {token}") as http:
        assert http.delete("/api/v1/auth/session").status_code == 204
        assert http.get("/api/v1/me").status_code == 401


def test_api_keys_are_bound_to_the_member_and_their_scope(portal: PortalRig) -> None:
    with portal.as_member("bank") as bank:
        read = bank.post("/api/v1/api-keys", json={"name": "scoring robot"})
        write = bank.post("/api/v1/api-keys", json={"name": "core system", "scope": "write"})
        assert (read.status_code, write.status_code) == (201, 201)
        listed = bank.get("/api/v1/api-keys").json()
        assert [k["name"] for k in listed] == ["scoring robot", "core system"]
        assert all("key" not in k for k in listed)
    with portal.http(**{"X-API-Key": read.json()["key"]}) as robot:
        me = robot.get("/api/v1/me").json()
        assert (me["via"], me["scope"], me["roles"]) == ("api-key", "read", ["BANK"])
        assert robot.post("/api/v1/api-keys", json={"name": "another"}).status_code == 403  # keys make no keys
        assert robot.delete(f"/api/v1/api-keys/{write.json()['id']}").status_code == 403  # read-only
    with portal.as_member("dealer") as dealer:  # another member cannot see or revoke them
        assert dealer.get("/api/v1/api-keys").json() == []
        assert dealer.delete(f"/api/v1/api-keys/{read.json()['id']}").status_code == 404
    with portal.as_member("bank") as bank:
        revoked = bank.delete(f"/api/v1/api-keys/{read.json()['id']}")
        assert revoked.status_code == 200
        assert revoked.json()["revoked_at"] is not None
        assert bank.delete(f"/api/v1/api-keys/{read.json()['id']}").status_code == 200  # idempotent
    with portal.http(**{"X-API-Key": read.json()["key"]}) as robot:
        assert robot.get("/api/v1/me").status_code == 401
    with portal.http(**{"X-API-Key": "vec_made_up"}) as stranger:
        assert stranger.get("/api/v1/me").status_code == 401


def test_every_member_route_refuses_a_caller_without_credentials(portal: PortalRig) -> None:
    open_routes = {("POST", "/api/v1/auth/challenge"), ("POST", "/api/v1/auth/session")}
    checked = 0
    with portal.http() as http:
        for route in router.routes:
            path = getattr(route, "path", "")
            for method in getattr(route, "methods", set()):
                if not path.startswith("/api/") or (method, path) in open_routes:
                    continue
                url = path.replace("{vin}", "LSVJETH80N5183294").replace("{key_id}", "1")
                response = http.request(method, url, json={})
                assert response.status_code == 401, (method, path, response.text)
                assert response.json()["error"] == "not_signed_in"
                checked += 1
    assert checked >= 6


def test_requests_beyond_the_member_rate_get_429_with_retry_after(chain: LocalChain, w3: Web3, tmp_path: Path) -> None:
    for rig in make_portal(chain, w3, tmp_path, member_rate=5):
        with rig.as_member("bank") as bank:
            statuses = [bank.get("/api/v1/me").status_code for _ in range(6)]
            limited = bank.get("/api/v1/me")
        assert statuses == [200] * 5 + [429]
        assert limited.status_code == 429
        assert int(limited.headers["Retry-After"]) >= 1
        assert "requests a minute for this member" in limited.json()["message"]
        with rig.as_member("dealer") as dealer:  # another member has its own budget
            assert dealer.get("/api/v1/me").status_code == 200
