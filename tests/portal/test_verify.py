"""Verifying a vehicle and a document, over real HTTP, against what happened on a real chain."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from web3 import Web3

from node_adapter.bundle import parse_bundle, verify_bundle
from node_adapter.clients import AlertKind, Severity
from node_adapter.dev.devchain import increase_time
from node_adapter.encoding import SaltedDocument, subject_id
from tests.portal.conftest import CLAIM, INSPECTION, PortalRig

VIN = "LSVJETH80N5183294"
OTHER_VIN = "LVGBM53K1AG000001"


def _attest(
    rig: PortalRig,
    who: str,
    kind: int,
    document: dict[str, Any],
    *,
    reading: int | None = None,
    ref: str | None = None,
    expiry: int = 0,
) -> str:
    salted = SaltedDocument.create(document)
    uid = "0x" + salted.digest.hex()
    subject = subject_id(VIN, rig.context.subject_key)
    sender = rig.accounts[who].address
    extra = {"ref": ref} if ref else {}
    if reading is None:
        rig.write(
            lambda outbox, key: rig.suite.registry.attest(
                outbox, key=key, sender=sender, subject=subject, kind=kind, digest=uid, expiry=expiry, **extra
            )
        )
    else:
        rig.write(
            lambda outbox, key: rig.suite.registry.attest_reading(
                outbox,
                key=key,
                sender=sender,
                subject=subject,
                kind=kind,
                digest=uid,
                expiry=expiry,
                reading=reading,
                **extra,
            )
        )
    return uid


def test_a_bank_sees_the_vehicle_state_with_every_record_marked(portal: PortalRig, w3: Web3) -> None:
    now = w3.eth.get_block("latest")["timestamp"]
    first = _attest(portal, "dealer", INSPECTION, {"odometer_km": 12_000, "result": "pass"}, reading=12_000)
    second = _attest(portal, "dealer", INSPECTION, {"odometer_km": 18_000}, reading=18_000)
    rolled = _attest(portal, "dealer", INSPECTION, {"odometer_km": 9_000}, reading=9_000)
    claim = _attest(portal, "insurer", CLAIM, {"claim": "rear bumper"}, ref=second)
    revoked = _attest(portal, "insurer", CLAIM, {"claim": "typo"})
    expiring = _attest(portal, "insurer", CLAIM, {"cover": "30 days"}, expiry=now + 3600)
    disputed = _attest(portal, "insurer", CLAIM, {"note": "contested"})
    sender = portal.accounts
    portal.write(
        lambda o, k: portal.suite.registry.revoke(o, key=k, sender=sender["insurer"].address, uid=revoked, reason=1)
    )
    portal.write(
        lambda o, k: portal.suite.registry.open_dispute(
            o, key=k, sender=sender["bank"].address, uid=disputed, evidence_digest="0x" + "ee" * 32
        )
    )
    subject = subject_id(VIN, portal.context.subject_key)
    loan_id = portal.lend(VIN)
    portal.alert(VIN, AlertKind.GEOFENCE_EXIT, Severity.HIGH)
    increase_time(w3, 7200)  # the 1-hour cover has expired
    portal.context.indexer().sync()

    with portal.as_member("bank") as bank:
        response = bank.get(f"/api/v1/vehicles/{VIN.lower()}")
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["vin"] == VIN
    assert report["subject"] == "0x" + subject.hex()
    assert report["lien_status"] == "active"
    status = {a["uid"]: a["status"] for a in report["attestations"]}
    assert status == {
        first: "valid",
        second: "valid",
        rolled: "valid",
        claim: "valid",
        revoked: "revoked",
        expiring: "expired",
        disputed: "disputed",
    }
    assert {a["uid"]: a["attester"] for a in report["attestations"]}[claim] == sender["insurer"].address
    assert report["attestations_by_kind"][str(CLAIM)] == {"valid": 1, "revoked": 1, "expired": 1, "disputed": 1}
    assert report["attestations_by_kind"][str(INSPECTION)] == {"valid": 3}
    assert [(p["reading"], p["rollback"]) for p in report["odometer"]] == [
        (12_000, False),
        (18_000, False),
        (9_000, True),
    ]
    [alert] = report["alerts"]
    assert (alert["alert"], alert["severity"], alert["open"]) == ("geofence_exit", "high", True)
    [loan] = report["loans"]
    assert (loan["loan_id"], loan["lien_status"], loan["active"], loan["outstanding"]) == (
        loan_id,
        "active",
        True,
        "400000",
    )
    [case] = loan["cases"]
    assert case["state"] == "triggered"
    assert [(s["from_state"], s["to_state"]) for s in case["steps"]] == [("none", "triggered")]
    assert report["as_of_block"] == w3.eth.block_number


def test_unknown_and_invalid_vins(portal: PortalRig) -> None:
    with portal.as_member("bank") as bank:
        unknown = bank.get(f"/api/v1/vehicles/{OTHER_VIN}")
        assert unknown.status_code == 404
        assert OTHER_VIN not in unknown.json()["message"]  # a VIN is personal data: never whole in a message
        for bad in ("SHORT", "LSVJETH80N518329I", "LSVJETH80N5183294X"):
            response = bank.get(f"/api/v1/vehicles/{bad}")
            assert response.status_code == 422, bad
            assert "not a VIN" in response.json()["message"]


def test_a_document_is_authentic_while_its_record_is_valid(portal: PortalRig) -> None:
    document = {"odometer_km": 31_000, "result": "pass", "workshop": "Pudong Service 3"}
    salted = SaltedDocument.create(document)
    subject = subject_id(VIN, portal.context.subject_key)
    dealer = portal.accounts["insurer"].address
    uid = "0x" + salted.digest.hex()
    portal.write(
        lambda o, k: portal.suite.registry.attest(o, key=k, sender=dealer, subject=subject, kind=CLAIM, digest=uid)
    )
    with portal.as_member("bank") as bank:
        good = bank.post("/api/v1/documents/verify", json={"document": salted.salted_document()}).json()
        assert (good["found"], good["valid"], good["status"], good["attester"]) == (True, True, "valid", dealer)
        assert good["digest"] == uid
        forged = dict(salted.salted_document(), odometer_km=21_000)
        assert bank.post("/api/v1/documents/verify", json={"document": forged}).json()["found"] is False
        by_digest = bank.post("/api/v1/documents/verify", json={"digest": uid.upper().replace("0X", "0x")}).json()
        assert by_digest["found"] is True
        unsalted = bank.post("/api/v1/documents/verify", json={"document": document})
        assert unsalted.status_code == 422
        assert "_salt" in unsalted.json()["message"]
        assert bank.post("/api/v1/documents/verify", json={}).status_code == 422
        assert bank.post("/api/v1/documents/verify", json={"digest": "0x12"}).status_code == 422
    portal.write(lambda o, k: portal.suite.registry.revoke(o, key=k, sender=dealer, uid=uid, reason=2))
    with portal.as_member("bank") as bank:
        revoked = bank.post("/api/v1/documents/verify", json={"document": salted.salted_document()}).json()
    assert (revoked["found"], revoked["valid"], revoked["status"]) == (True, False, "revoked")


def test_a_cached_report_follows_new_blocks_and_expiries(portal: PortalRig, w3: Web3) -> None:
    now = w3.eth.get_block("latest")["timestamp"]
    cover = _attest(portal, "insurer", CLAIM, {"cover": "one hour"}, expiry=now + 3600)
    with portal.as_member("bank") as bank:
        first = bank.get(f"/api/v1/vehicles/{VIN}").json()
        assert bank.get(f"/api/v1/vehicles/{VIN}").json() == first  # served again, unchanged
        assert [a["status"] for a in first["attestations"]] == ["valid"]
        increase_time(w3, 7200)  # an empty block: the read model has nothing new, but the cover has expired
        expired = bank.get(f"/api/v1/vehicles/{VIN}").json()
        assert [(a["uid"], a["status"]) for a in expired["attestations"]] == [(cover, "expired")]
        claim = _attest(portal, "insurer", CLAIM, {"claim": "windscreen"})  # a new record, indexed
        latest = bank.get(f"/api/v1/vehicles/{VIN}").json()
    assert [a["uid"] for a in latest["attestations"]] == [cover, claim]
    assert latest["as_of_block"] > first["as_of_block"]


def test_the_exported_bundle_verifies_offline_against_the_node(portal: PortalRig, w3: Web3, tmp_path: Path) -> None:
    first = _attest(portal, "dealer", INSPECTION, {"odometer_km": 12_000}, reading=12_000)
    claim = _attest(portal, "insurer", CLAIM, {"claim": "rear bumper"}, ref=first)
    with portal.as_member("bank") as bank:
        response = bank.get(f"/api/v1/vehicles/{VIN}/bundle")
        assert response.status_code == 200, response.text
        assert "attachment" in response.headers["content-disposition"]
        assert bank.get(f"/api/v1/vehicles/{OTHER_VIN}/bundle").status_code == 404
    bundle = parse_bundle(response.content)
    assert {a.uid for a in bundle.attestations} == {first, claim}
    assert verify_bundle(bundle, w3).verdict == "confirmed"
    path = tmp_path / "vehicle.bundle.json"
    path.write_bytes(response.content)
    checked = subprocess.run(
        [
            sys.executable,
            "-m",
            "consortium.cli",
            "verify-bundle",
            str(path),
            "--rpc",
            portal.context.runtime.settings.rpc_urls[0],
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    insurer = portal.accounts["insurer"].address
    portal.write(lambda o, k: portal.suite.registry.revoke(o, key=k, sender=insurer, uid=claim, reason=1))
    assert verify_bundle(bundle, w3).verdict == "changed"  # true when exported, revoked since
