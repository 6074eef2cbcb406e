"""Attesting through the portal: validate, salt, store; the member signs; the portal relays; access to documents."""

from __future__ import annotations

from typing import Any

from eth_account import Account
from eth_account.messages import encode_typed_data
from web3 import Web3

from node_adapter.dev.chainutil import send_and_wait
from node_adapter.encoding import SaltedDocument, subject_id
from tests.portal.conftest import PortalRig

VIN = "LSVJETH80N5183294"
CLAIM = {"incident_on": "2026-10-02", "amount_cny": 8_400, "status": "paid", "description": "rear bumper, parking"}
INSPECTION = {"inspected_on": "2026-11-01", "odometer_km": 41_200, "result": "pass", "inspector": "W. Chen"}


def _sign(rig: PortalRig, who: str, typed: dict[str, Any]) -> str:
    signed = Account.sign_message(encode_typed_data(full_message=typed), rig.accounts[who].key)
    return "0x" + signed.signature.hex()


def _relay_and_confirm(rig: PortalRig, client: Any, prepared: dict[str, Any], who: str) -> dict[str, Any]:
    relayed = client.post(
        f"/api/v1/attestations/{prepared['id']}/signature", json={"signature": _sign(rig, who, prepared["typed_data"])}
    )
    assert relayed.status_code == 200, relayed.text
    assert relayed.json()["status"] == "relayed"
    rig.worker.drain()
    rig.context.indexer().sync()
    status = client.get(f"/api/v1/attestations/{prepared['id']}").json()
    assert status["status"] == "confirmed", (status["status"], status["note"])
    return status


def test_an_insurer_attests_a_claim_signed_in_the_browser_and_relayed_by_the_portal(portal: PortalRig) -> None:
    with portal.as_member("insurer") as insurer:
        kinds = {k["name"]: k for k in insurer.get("/api/v1/kinds").json()}
        assert kinds["insurance_claim"]["registered"] is True
        assert "amount_cny" in kinds["insurance_claim"]["schema"]["properties"]
        response = insurer.post("/api/v1/attestations", json={"vin": VIN, "kind": 2, "record": CLAIM})
        assert response.status_code == 201, response.text
        prepared = response.json()
        assert prepared["status"] == "prepared"
        document = prepared["document"]
        assert document["record"] == CLAIM
        assert document["vin"] == VIN
        assert SaltedDocument.from_salted(document, bytes.fromhex(prepared["digest"][2:])).verify()
        assert prepared["typed_data"]["message"]["digest"] == prepared["digest"]
        assert prepared["typed_data"]["domain"]["verifyingContract"] == portal.suite.registry.address
        status = _relay_and_confirm(portal, insurer, prepared, "insurer")
        again = insurer.post(f"/api/v1/attestations/{prepared['id']}/signature", json={"signature": "0x00"})
        assert again.json()["status"] == "confirmed"  # relaying again changes nothing
    record = portal.suite.registry.get_record(prepared["digest"]).record
    assert record.attester == portal.accounts["insurer"].address  # the signer's record, not the relayer's
    assert portal.suite.registry.is_valid(prepared["digest"])
    assert status["digest"] == prepared["digest"]
    with portal.as_member("bank") as bank:  # the bank verifies the record by VIN and the document by its content
        report = bank.get(f"/api/v1/vehicles/{VIN}").json()
        assert [(a["uid"], a["status"]) for a in report["attestations"]] == [(prepared["digest"], "valid")]
        check = bank.post("/api/v1/documents/verify", json={"document": document}).json()
        assert (check["found"], check["valid"]) == (True, True)


def test_an_inspection_with_its_odometer_reading_is_signed_and_relayed(portal: PortalRig) -> None:
    with portal.as_member("dealer") as dealer:
        prepared = dealer.post("/api/v1/attestations", json={"vin": VIN, "kind": 1, "record": INSPECTION}).json()
        assert prepared["typed_data"]["primaryType"] == "AttestReading"
        assert prepared["typed_data"]["message"]["reading"] == 41_200
        _relay_and_confirm(portal, dealer, prepared, "dealer")
    subject = subject_id(VIN, portal.context.subject_key)
    assert portal.suite.registry.last_reading(subject) == 41_200
    assert portal.suite.registry.get_record(prepared["digest"]).record.attester == portal.accounts["dealer"].address
    with portal.as_member("bank") as bank:
        [point] = bank.get(f"/api/v1/vehicles/{VIN}").json()["odometer"]
    assert (point["reading"], point["uid"]) == (41_200, prepared["digest"])


def test_the_attester_may_send_the_prepared_transaction_itself(portal: PortalRig, w3: Web3) -> None:
    with portal.as_member("dealer") as dealer:
        prepared = dealer.post("/api/v1/attestations", json={"vin": VIN, "kind": 1, "record": INSPECTION}).json()
        account = portal.accounts["dealer"]
        tx = {"to": prepared["transaction"]["to"], "data": prepared["transaction"]["data"], "from": account.address}
        send_and_wait(w3, account, tx)
        portal.context.indexer().sync()
        assert dealer.get(f"/api/v1/attestations/{prepared['id']}").json()["status"] == "confirmed"
    subject = subject_id(VIN, portal.context.subject_key)
    assert portal.suite.registry.last_reading(subject) == 41_200


def test_bad_records_get_clear_422s(portal: PortalRig) -> None:
    with portal.as_member("insurer") as insurer:
        cases = [
            ({"vin": VIN, "kind": 99, "record": CLAIM}, "unknown kind 99"),
            ({"vin": "LSVJETH80N5183295", "kind": 2, "record": CLAIM}, "check digit"),
            ({"vin": VIN, "kind": 2, "record": {**CLAIM, "amount_cny": "8400"}}, "amount_cny"),
            ({"vin": VIN, "kind": 2, "record": {**CLAIM, "colour": "red"}}, "colour"),
            ({"vin": VIN, "kind": 2, "record": {**CLAIM, "incident_on": "yesterday"}}, "incident_on"),
            ({"vin": VIN, "kind": 2, "record": CLAIM, "ref": "0x" + "ab" * 32}, "names no record"),
            ({"vin": VIN, "kind": 2, "record": CLAIM, "expiry": 1}, "expiry lies in the past"),
        ]
        for body, says in cases:
            response = insurer.post("/api/v1/attestations", json=body)
            assert response.status_code == 422, body
            assert says in response.json()["message"], response.json()


def test_roles_scopes_and_signatures_are_enforced(portal: PortalRig) -> None:
    with portal.as_member("dealer") as dealer:
        refused = dealer.post("/api/v1/attestations", json={"vin": VIN, "kind": 2, "record": CLAIM})
        assert refused.status_code == 403
        assert "INSURER" in refused.json()["message"]
    with portal.as_member("insurer") as insurer:
        key = insurer.post("/api/v1/api-keys", json={"name": "read only"}).json()["key"]
        prepared = insurer.post("/api/v1/attestations", json={"vin": VIN, "kind": 2, "record": CLAIM}).json()
        forged = insurer.post(
            f"/api/v1/attestations/{prepared['id']}/signature",
            json={"signature": _sign(portal, "bank", prepared["typed_data"])},
        )
        assert forged.status_code == 422
        assert "not by the account" in forged.json()["message"]
    with portal.http(**{"X-API-Key": key}) as robot:
        read_only = robot.post("/api/v1/attestations", json={"vin": VIN, "kind": 2, "record": CLAIM})
        assert read_only.status_code == 403
    with portal.as_member("bank") as bank:  # another member cannot see or relay the insurer's record
        assert bank.get(f"/api/v1/attestations/{prepared['id']}").status_code == 404


def test_a_prepare_with_the_same_idempotency_key_answers_the_same_record(portal: PortalRig) -> None:
    with portal.as_member("insurer") as insurer:
        first = insurer.post(
            "/api/v1/attestations",
            json={"vin": VIN, "kind": 2, "record": CLAIM},
            headers={"Idempotency-Key": "claim-7781"},
        ).json()
        second = insurer.post(
            "/api/v1/attestations",
            json={"vin": VIN, "kind": 2, "record": CLAIM},
            headers={"Idempotency-Key": "claim-7781"},
        ).json()
        third = insurer.post("/api/v1/attestations", json={"vin": VIN, "kind": 2, "record": CLAIM}).json()
    assert (second["id"], second["digest"]) == (first["id"], first["digest"])
    assert third["digest"] != first["digest"]  # a new salt: a new record


def test_a_stale_nonce_asks_to_prepare_again(portal: PortalRig) -> None:
    with portal.as_member("insurer") as insurer:
        first = insurer.post("/api/v1/attestations", json={"vin": VIN, "kind": 2, "record": CLAIM}).json()
        second = insurer.post("/api/v1/attestations", json={"vin": VIN, "kind": 2, "record": CLAIM}).json()
        _relay_and_confirm(portal, insurer, first, "insurer")  # uses the nonce both were prepared with
        stale = insurer.post(
            f"/api/v1/attestations/{second['id']}/signature",
            json={"signature": _sign(portal, "insurer", second["typed_data"])},
        )
    assert stale.status_code == 409
    assert "prepare it again" in stale.json()["message"]


def test_a_document_is_readable_by_its_attester_and_the_lending_bank_only(portal: PortalRig) -> None:
    with portal.as_member("insurer") as insurer:
        prepared = insurer.post("/api/v1/attestations", json={"vin": VIN, "kind": 2, "record": CLAIM}).json()
        _relay_and_confirm(portal, insurer, prepared, "insurer")
        assert insurer.get(f"/api/v1/documents/{prepared['digest']}").json() == prepared["document"]
    with portal.as_member("bank") as bank:
        before = bank.get(f"/api/v1/documents/{prepared['digest']}")
        assert before.status_code == 403
    portal.lend(VIN)  # a lien the DMV confirmed: lending (a pending one is not: tests/portal/test_threats.py)
    with portal.as_member("bank") as bank:
        assert bank.get(f"/api/v1/documents/{prepared['digest']}").json() == prepared["document"]
    with portal.as_member("dealer") as dealer:
        assert dealer.get(f"/api/v1/documents/{prepared['digest']}").status_code == 403
        assert dealer.get(f"/api/v1/documents/0x{'00' * 32}").status_code == 404
