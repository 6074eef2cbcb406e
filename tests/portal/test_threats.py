"""Attacks one member can make on another through the portal, done as the attacker would (docs/threat-model.md).

Each test is named after the item of the security review it closes and failed before its fix.
"""

from __future__ import annotations

from web3 import Web3
from web3.types import RPCEndpoint

from node_adapter.clients import ZERO_BYTES32, DmvEventKind
from node_adapter.encoding import SaltedDocument, subject_id
from tests.portal.conftest import PortalRig
from tests.portal.test_attest import CLAIM, _relay_and_confirm

ZERO = "0x" + ZERO_BYTES32.hex()
SQUATTED_VIN = "LFV2A21K7N3041175"
FINANCED_VIN = "LGBH52E03NY230318"


def _claim_on(portal: PortalRig, vin: str) -> str:
    """The insurer attests a claim on ``vin`` through the portal; the digest of its full document."""
    with portal.as_member("insurer") as insurer:
        prepared = insurer.post("/api/v1/attestations", json={"vin": vin, "kind": 2, "record": CLAIM}).json()
        _relay_and_confirm(portal, insurer, prepared, "insurer")
    return str(prepared["digest"])


def test_item_1_an_unconfirmed_lien_opens_no_documents_before_or_after_its_cancel(portal: PortalRig) -> None:
    """A bank registers a loan on a vehicle it does not finance (the DMV never confirms it), reads the vehicle's full
    documents, cancels, and would keep reading for the days after close: refused at every step."""
    digest = _claim_on(portal, SQUATTED_VIN)
    loan_id = portal.lend(SQUATTED_VIN, confirm=False)  # the squat: registerLoan needs no confirmation
    with portal.as_member("bank") as bank:
        squatting = bank.get(f"/api/v1/documents/{digest}")
    assert squatting.status_code == 403, squatting.text
    bank_account = portal.accounts["bank"].address
    portal.write(
        lambda o, k: portal.suite.collateral.cancel_loan(
            o, key=k, sender=bank_account, loan_id=loan_id, evidence_digest="0x" + "03" * 32
        )
    )
    with portal.as_member("bank") as bank:
        after_cancel = bank.get(f"/api/v1/documents/{digest}")
    assert after_cancel.status_code == 403, "a lien that was never active must not open the after-close days"


def test_item_1_a_confirmed_lien_reads_and_keeps_its_after_close_days(portal: PortalRig) -> None:
    """The defence refuses the squatter only: the real lender reads while its lien is active and, per the policy's
    days after close, once the DMV released it."""
    digest = _claim_on(portal, FINANCED_VIN)
    loan_id = portal.lend(FINANCED_VIN)
    with portal.as_member("bank") as bank:
        assert bank.get(f"/api/v1/documents/{digest}").status_code == 200
    dmv = portal.accounts["dmv"].address
    portal.write(
        lambda o, k: portal.suite.collateral.report_dmv_event(
            o,
            key=k,
            sender=dmv,
            subject=subject_id(FINANCED_VIN, portal.context.subject_key),
            event_kind=DmvEventKind.LIEN_RELEASED,
            evidence_digest="0x" + "04" * 32,
        )
    )
    assert portal.suite.collateral.get_loan(loan_id).lien_status.name.lower() == "released"
    with portal.as_member("bank") as bank:
        assert bank.get(f"/api/v1/documents/{digest}").status_code == 200  # within the 90 days after close


def test_low_no_secret_in_the_portal_context_repr(portal: PortalRig) -> None:
    """A traceback or a debug log that prints the context must not carry the consortium key or a signing key."""
    shown = repr(portal.context) + str(portal.context)
    context = portal.context
    secrets = [context.subject_key, bytes(context.relayer.key), *(bytes(a.key) for a in portal.accounts.values())]
    for secret in secrets:
        assert secret.hex() not in shown
        assert repr(secret) not in shown  # bytes as a dataclass repr shows them


def test_low_pages_and_downloads_refuse_framing_and_sniffing(portal: PortalRig) -> None:
    """Another site may not frame the sign-in or write forms (clickjacking); a download is never sniffed."""
    with portal.http() as visitor:
        page = visitor.get("/")
    with portal.as_member("bank") as bank:
        api = bank.get("/api/v1/kinds")
    for response in (page, api):
        assert response.headers["x-frame-options"] == "DENY"
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
        assert response.headers["x-content-type-options"] == "nosniff"


def _attest_claim(portal: PortalRig, vin: str, *, ref: str = ZERO, expiry: int = 0) -> str:
    """The insurer attests a claim on ``vin`` straight on chain (referring to ``ref``, expiring at ``expiry``)."""
    uid = "0x" + SaltedDocument.create({"claim": CLAIM, "vin": vin, "ref": ref}).digest.hex()
    insurer = portal.accounts["insurer"].address
    subject = subject_id(vin, portal.context.subject_key)
    portal.write(
        lambda o, k: portal.suite.registry.attest(
            o, key=k, sender=insurer, subject=subject, kind=2, digest=uid, ref=ref, expiry=expiry
        )
    )
    return uid


def _portal_status(portal: PortalRig, vin: str, uid: str) -> str:
    portal.context.indexer().sync()
    with portal.as_member("bank") as bank:
        report = bank.get(f"/api/v1/vehicles/{vin}")
    assert report.status_code == 200, report.text
    return str(next(a["status"] for a in report.json()["attestations"] if a["uid"] == uid))


def test_low_a_record_is_expired_at_its_expiry_second_as_on_chain(portal: PortalRig, w3: Web3) -> None:
    """At the block whose time is a record's expiry the registry holds it invalid; the portal told a bank "valid"."""
    expiry = int(w3.eth.get_block("latest")["timestamp"]) + 1_000
    uid = _attest_claim(portal, SQUATTED_VIN, expiry=expiry)
    w3.provider.make_request(RPCEndpoint("evm_setNextBlockTimestamp"), [expiry])
    w3.provider.make_request(RPCEndpoint("evm_mine"), [])
    assert int(w3.eth.get_block("latest")["timestamp"]) == expiry
    assert portal.suite.registry.is_valid(uid) is False
    assert _portal_status(portal, SQUATTED_VIN, uid) == "expired"


def test_low_deep_reference_chains_are_judged_as_on_chain(portal: PortalRig) -> None:
    """A record whose references run 70 records deep, or across other vehicles' records, is valid on chain; the
    portal called it invalid_ref (a depth cut at 64, and references loaded one step beyond the vehicle)."""
    uid = ZERO
    for _ in range(70):
        uid = _attest_claim(portal, FINANCED_VIN, ref=uid)
    assert portal.suite.registry.is_valid(uid) is True
    assert _portal_status(portal, FINANCED_VIN, uid) == "valid"
    far = _attest_claim(portal, "LSGBC5348NG210487")  # another vehicle's record, two vehicles away
    near = _attest_claim(portal, "LFMAP86C7N0170392", ref=far)
    head = _attest_claim(portal, SQUATTED_VIN, ref=near)
    assert portal.suite.registry.is_valid(head) is True
    assert _portal_status(portal, SQUATTED_VIN, head) == "valid"
