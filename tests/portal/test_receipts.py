"""Access receipts: every full-document read, allowed or refused, logged with who, what, when, why and the policy
version; listed for the document's member; anchored in Merkle batches; a receipts bundle verifies offline."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from eth_account import Account
from web3 import Web3

from consortium_portal.anchor import RECEIPT_KIND, ReceiptAnchorer
from consortium_portal.models import ReceiptBatch
from node_adapter.bundle import parse_bundle, verify_bundle
from node_adapter.dev.chainutil import send_and_wait
from node_adapter.dev.localchain import LocalChain
from node_adapter.encoding import SaltedDocument
from tests.portal.conftest import PortalRig

VIN = "LSVJETH80N5183294"
INSPECTION = {"inspected_on": "2026-11-01", "odometer_km": 41_200, "result": "pass", "inspector": "W. Chen"}
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64


def _inspection(rig: PortalRig) -> str:
    with rig.as_member("dealer") as dealer:
        prepared = dealer.post("/api/v1/attestations", json={"vin": VIN, "kind": 1, "record": INSPECTION})
    assert prepared.status_code == 201, prepared.text
    digest: str = prepared.json()["digest"]
    return digest


def _anchor(rig: PortalRig, anchorer: ReceiptAnchorer) -> int:
    """One batch of the receipts waiting, to the chain and into the read model; how many receipts it took."""
    batched = anchorer.run_once()
    rig.worker.drain()
    assert anchorer.run_once() == 0  # follows the batch to its confirmation
    rig.context.indexer().sync()
    return batched


def test_every_read_allowed_or_refused_leaves_a_receipt_its_member_lists(portal: PortalRig) -> None:
    digest = _inspection(portal)
    url = f"/api/v1/documents/{digest}"
    bank_member = portal.suite.membership.member_of(portal.accounts["bank"].address)
    dealer_member = portal.suite.membership.member_of(portal.accounts["dealer"].address)
    with portal.as_member("dealer") as dealer, portal.as_member("bank") as bank:
        assert dealer.get(url, headers={"X-Access-Purpose": "annual audit"}).status_code == 200
        refused = bank.get(url, params={"purpose": "pre-loan check"})
        assert refused.status_code == 403
        portal.lend(VIN)
        assert bank.get(url).status_code == 200
        long = bank.get(url, headers={"X-Access-Purpose": "x" * 201})
        assert long.status_code == 422
        kept = dealer.post("/api/v1/files", content=PNG, headers={"Content-Type": "image/png", "X-File-Name": "a.png"})
        file_digest = kept.json()["digest"]
        assert bank.get(f"/api/v1/files/{file_digest}").status_code == 403  # no record names the file
        listed = dealer.get("/api/v1/access-receipts").json()
        assert bank.get("/api/v1/access-receipts").json() == []  # the bank's own documents were read by no one
        mine = {"document": digest, "reader_member_id": bank_member}
        only_bank = dealer.get("/api/v1/access-receipts", params=mine).json()
    assert [(r["document_kind"], r["reader_member_id"], r["allowed"], r["purpose"]) for r in listed] == [
        ("file", bank_member, False, "not stated"),
        ("inspection", bank_member, True, "not stated"),
        ("inspection", bank_member, False, "pre-loan check"),
        ("inspection", dealer_member, True, "annual audit"),
    ]
    assert [r["id"] for r in only_bank] == [listed[1]["id"], listed[2]["id"]]
    assert refused.json()["receipt"] == listed[2]["digest"]
    for row in listed:
        assert row["owner_member_id"] == dealer_member
        assert (row["policy_version"], row["batch_id"]) == (1, None)
        assert SaltedDocument.from_salted(row["receipt"], bytes.fromhex(row["digest"][2:])).verify()
        assert row["receipt"]["reader"]["account"] == row["account"]
        assert row["receipt"]["decision"] == ("allowed" if row["allowed"] else "refused")
    assert listed[2]["reason"].startswith("under policy version 1, a inspection document may be read only by")
    assert listed[1]["reason"].startswith("rule 1: a BANK that is the bank of a loan on the vehicle")


def test_receipts_are_anchored_in_batches_and_a_receipts_bundle_verifies_offline(
    portal: PortalRig, chain: LocalChain, tmp_path: Path
) -> None:
    read, unread = _inspection(portal), _inspection(portal)
    url = f"/api/v1/documents/{read}"
    with portal.as_member("bank") as bank:
        assert bank.get(url, params={"purpose": "credit decision"}).status_code == 403
        portal.lend(VIN)
        assert bank.get(url, params={"purpose": "credit decision"}).status_code == 200
    with portal.as_member("dealer") as dealer:
        assert dealer.get(f"/api/v1/documents/{unread}").status_code == 200
        status = dealer.get("/api/v1/access-receipts/status").json()
        assert (status["receipts"], status["waiting"], status["problem"]) == (3, 3, None)
        anchorer = portal.context.anchorer()
        assert _anchor(portal, anchorer) == 3
        listed = dealer.get("/api/v1/access-receipts", params={"document": read}).json()
        batch_id = listed[0]["batch_id"]
        assert batch_id is not None
        assert [r["batch_id"] for r in listed] == [batch_id, batch_id]
        assert portal.suite.registry.get_batch(batch_id).kind == RECEIPT_KIND
        assert dealer.get("/api/v1/access-receipts/status").json()["anchored"] == 3
        answer = dealer.get("/api/v1/access-receipts/bundle", params={"document": read})
        assert answer.status_code == 200, answer.text
        empty = dealer.get("/api/v1/access-receipts/bundle", params={"document": "0x" + "ab" * 32})
        assert empty.status_code == 404
        assert dealer.get(f"/api/v1/documents/{read}").status_code == 200  # a read after the bundle: not in it
    with portal.as_member("bank") as bank:  # only the document's member gets its receipts bundle
        assert bank.get("/api/v1/access-receipts/bundle", params={"document": read}).status_code == 404
    bundle = parse_bundle(answer.content)
    assert bundle.subject == read
    assert [r.receipt["purpose"] for r in bundle.receipts] == ["credit decision", "credit decision"]
    assert [r.receipt["decision"] for r in bundle.receipts] == ["refused", "allowed"]
    assert len(bundle.receipt_batches) == 1
    assert len(bundle.receipt_batches[0].leaves) == 3
    report = verify_bundle(bundle, Web3(Web3.HTTPProvider(chain.url)))
    assert report.verdict == "confirmed", [c for c in report.checks if c.outcome != "confirmed"]
    assert {c.kind for c in report.checks} >= {"receipt", "receipt_batch", "receipts_complete"}

    path = tmp_path / "receipts.bundle.json"
    path.write_bytes(answer.content)
    env = os.environ | {"NODE_ADAPTER_STATE_DIR": str(tmp_path / "cli-state")}
    cli = [sys.executable, "-m", "consortium.cli", "verify-bundle", str(path), "--rpc", chain.url, "--json"]
    result = subprocess.run(cli, capture_output=True, text=True, env=env, check=False, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1])["verdict"] == "confirmed"

    data: dict[str, Any] = json.loads(answer.content)
    left_out = data | {"receipts": data["receipts"][:1]}
    report = verify_bundle(parse_bundle(json.dumps(left_out)), Web3(Web3.HTTPProvider(chain.url)))
    failed = {c.kind: c.reason for c in report.checks if c.outcome == "failed"}
    assert "leaves out" in str(failed["receipt_batch"])
    altered = json.loads(answer.content)
    altered["receipts"][1]["receipt"]["purpose"] = "routine"
    report = verify_bundle(parse_bundle(json.dumps(altered)), Web3(Web3.HTTPProvider(chain.url)))
    assert "does not hash to its digest" in str({c.kind: c.reason for c in report.checks}["receipt"])
    no_batches = data | {"receipt_batches": [], "receipts": []}
    report = verify_bundle(parse_bundle(json.dumps(no_batches)), Web3(Web3.HTTPProvider(chain.url)))
    assert report.verdict == "failed"
    assert "are left out" in str({c.kind: c.reason for c in report.checks}["receipts_complete"])


def test_a_batch_anchored_under_another_id_is_revoked_and_its_receipts_batched_again(
    portal: PortalRig, w3: Web3, chain: LocalChain
) -> None:
    digest = _inspection(portal)
    with portal.as_member("dealer") as dealer:
        assert dealer.get(f"/api/v1/documents/{digest}").status_code == 200
    anchorer = portal.context.anchorer()
    assert anchorer.run_once() == 1  # built for the next batch id, queued
    other = Account.from_key(chain.accounts[1].private_key)  # another governor anchors first
    registry = portal.suite.registry
    data = registry.calldata("anchorBatch", RECEIPT_KIND, "0x" + "77" * 32, 1, "0x" + "00" * 32)
    send_and_wait(w3, other, {"from": other.address, "to": registry.address, "data": "0x" + data.hex()})
    portal.worker.drain()
    assert anchorer.run_once() == 1  # finds it misnumbered: revokes it and batches its receipt again
    portal.worker.drain()
    assert anchorer.run_once() == 0  # the new batch confirmed
    portal.context.indexer().sync()
    from sqlmodel import Session, col, select  # noqa: PLC0415

    with Session(portal.context.engine) as session:
        first, second = session.exec(select(ReceiptBatch).order_by(col(ReceiptBatch.id))).all()
    assert (first.status, first.chain_batch_id) == ("misnumbered", first.expected_batch_id + 1)
    assert registry.get_batch(first.expected_batch_id + 1).revoked_at > 0
    assert (second.status, second.chain_batch_id) == ("confirmed", first.expected_batch_id + 2)
    with portal.as_member("dealer") as dealer:
        (receipt,) = dealer.get("/api/v1/access-receipts").json()
    assert receipt["batch_id"] == first.expected_batch_id + 2


def test_receipts_wait_while_the_portals_account_may_not_anchor(portal: PortalRig) -> None:
    digest = _inspection(portal)
    with portal.as_member("dealer") as dealer:
        assert dealer.get(f"/api/v1/documents/{digest}").status_code == 200
    context = portal.context
    dealer_account = portal.accounts["dealer"].address
    anchorer = ReceiptAnchorer(
        engine=context.engine,
        suite=context.suite,
        outbox=context.runtime.outbox,
        sender=dealer_account,
        batch_size=10,
    )
    assert anchorer.run_once() == 0
    assert anchorer.problem is not None
    assert f"the portal's account {dealer_account} holds none of the roles" in anchorer.problem
    assert "(GOVERNOR)" in anchorer.problem
    assert context.anchorer().cannot_anchor() is None  # the portal's own account is a governor's here
