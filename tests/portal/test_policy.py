"""The data-sharing policy: the default's grants for every role and kind, relationships and their durations, policy
files, and a new version approved by governance taking effect at the next read."""

from __future__ import annotations

import json
from typing import Any

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils.crypto import keccak
from sqlmodel import Session
from web3 import Web3

from consortium_portal.errors import InvalidInputError
from consortium_portal.policy import (
    DAY,
    DOCUMENT_KINDS,
    RECORD_KINDS,
    RELATIONSHIPS,
    ROLE_NAMES,
    Target,
    Tie,
    decide,
    default_policy,
    parse_policy,
    ties_of,
)
from node_adapter.clients import AlertKind, DmvEventKind, Role, Severity
from node_adapter.dev.chainutil import send_and_wait
from node_adapter.dev.devchain import increase_time
from node_adapter.dev.localchain import LocalChain
from node_adapter.encoding import canonical_json, subject_id
from tests.portal.conftest import PortalRig

VIN = "LSVJETH80N5183294"
INSPECTION = {"inspected_on": "2026-11-01", "odometer_km": 41_200, "result": "pass", "inspector": "W. Chen"}
NOW = 1_800_000_000
EVIDENCE = "0x" + "04" * 32

VEHICLE = (*RECORD_KINDS, "file")
"""What a vehicle's lender and agency read: its attested records and their files."""
OWNED = (*VEHICLE, "intake_scan", "dispute_evidence", "loan_evidence", "repayment_evidence")
GOVERNED = ("dispute_evidence", "loan_evidence", "repayment_evidence", "membership_application")


def _expected(role: str, kind: str) -> set[str]:
    """The relationships under which the default policy lets a member with ``role`` read a ``kind``."""
    granted = set()
    if kind in OWNED:
        granted.add("own")
    if role == "BANK" and kind in VEHICLE:
        granted.add("lender")
    if role == "DISPOSAL_AGENCY" and kind in VEHICLE:
        granted.add("assigned_agency")
    if kind == "dispute_evidence":
        granted.add("disputed_attester")
    if role == "GOVERNOR" and kind in GOVERNED:
        granted |= set(RELATIONSHIPS)  # governors need no relationship to these
    return granted


@pytest.mark.parametrize("kind", DOCUMENT_KINDS)
@pytest.mark.parametrize("role", ROLE_NAMES)
def test_the_default_policy_grants_each_role_each_kind_as_the_table_says(role: str, kind: str) -> None:
    policy = default_policy()
    roles = int(Role[role])
    expected = _expected(role, kind)
    for relationship in RELATIONSHIPS:
        verdict = decide(policy, roles=roles, kind=kind, ties=[Tie(relationship)], now=NOW)
        assert verdict.allowed == (relationship in expected), (role, kind, relationship, verdict.reason)
        if not verdict.allowed:
            assert f"under policy version 1, a {kind} document may be read only by" in verdict.reason
    unrelated = decide(policy, roles=roles, kind=kind, ties=[], now=NOW)
    assert unrelated.allowed == (role == "GOVERNOR" and kind in GOVERNED)


@pytest.mark.parametrize(
    ("relationship", "role", "days"), [("lender", Role.BANK, 90), ("assigned_agency", Role.DISPOSAL_AGENCY, 30)]
)
def test_access_lasts_the_policys_days_after_the_loan_or_case_closes(relationship: str, role: Role, days: int) -> None:
    policy = default_policy()
    closed = NOW - 10 * DAY

    def allowed(ties: list[Tie], now: int) -> bool:
        return decide(policy, roles=int(role), kind="inspection", ties=ties, now=now).allowed

    assert allowed([Tie(relationship)], NOW)  # open
    assert allowed([Tie(relationship, closed)], closed + days * DAY)  # the last second
    assert not allowed([Tie(relationship, closed)], closed + days * DAY + 1)
    assert allowed([Tie(relationship, closed), Tie(relationship)], closed + 365 * DAY)  # another loan still open
    other = Role.DISPOSAL_AGENCY if role == Role.BANK else Role.BANK
    assert not decide(policy, roles=int(other), kind="inspection", ties=[Tie(relationship)], now=NOW).allowed


def _policy_doc(**rule: Any) -> dict[str, Any]:
    base = {"kinds": ["inspection"], "roles": ["BANK"], "relationship": "lender"}
    return {"version": 2, "title": "test", "rules": [base | rule]}


def test_a_policy_without_duration_ends_access_when_the_loan_closes() -> None:
    policy = parse_policy(_policy_doc())
    assert decide(policy, roles=int(Role.BANK), kind="inspection", ties=[Tie("lender")], now=NOW).allowed
    assert not decide(policy, roles=int(Role.BANK), kind="inspection", ties=[Tie("lender", NOW)], now=NOW).allowed


@pytest.mark.parametrize(
    ("rule", "said"),
    [
        ({"kinds": ["passport"]}, "unknown kinds ['passport']"),
        ({"roles": ["BANKER"]}, "unknown roles ['BANKER']"),
        ({"relationship": "friend"}, "relationship"),
        ({"relationship": "own", "days_after_close": 5}, "days_after_close applies to assigned_agency and lender"),
        ({"days_after_close": -1}, "days_after_close"),
        ({"extra": 1}, "extra"),
    ],
)
def test_a_malformed_policy_is_refused_saying_what_is_wrong(rule: dict[str, Any], said: str) -> None:
    with pytest.raises(InvalidInputError, match="not a valid data-sharing policy") as raised:
        parse_policy(_policy_doc(**rule))
    assert said in str(raised.value)
    with pytest.raises(InvalidInputError, match="not TOML"):
        parse_policy("version = ")


def test_the_digest_is_the_keccak_of_the_canonical_json_whatever_the_file_format() -> None:
    policy = default_policy()
    assert policy.digest == "0x" + keccak(canonical_json(policy.document())).hex()
    assert parse_policy(json.loads(policy.canonical())).digest == policy.digest  # the JSON form
    assert Web3.keccak(text=policy.canonical()).hex() == policy.digest[2:]  # what a proposal's description hashes to
    changed = parse_policy(policy.document() | {"title": "another"})
    assert changed.digest != policy.digest


# -------------------------------------------------------------------------------------------------- through the portal


def _inspection(rig: PortalRig) -> dict[str, Any]:
    with rig.as_member("dealer") as dealer:
        prepared = dealer.post("/api/v1/attestations", json={"vin": VIN, "kind": 1, "record": INSPECTION})
    assert prepared.status_code == 201, prepared.text
    document: dict[str, Any] = prepared.json()
    return document


def _release_lien(rig: PortalRig) -> None:
    dmv = rig.accounts["dmv"].address
    subject = subject_id(VIN, rig.context.subject_key)
    rig.write(
        lambda o, k: rig.suite.collateral.report_dmv_event(
            o,
            key=k,
            sender=dmv,
            subject=subject,
            event_kind=DmvEventKind.LIEN_RELEASED,
            evidence_digest="0x" + "04" * 32,
        )
    )


def test_a_bank_reads_while_it_lends_and_90_days_after_the_loan_closes(portal: PortalRig, w3: Web3) -> None:
    prepared = _inspection(portal)
    url = f"/api/v1/documents/{prepared['digest']}"
    with portal.as_member("bank") as bank:
        assert bank.get(url).status_code == 403  # no loan on the vehicle
        portal.lend(VIN)
        assert bank.get(url).json() == prepared["document"]
        _release_lien(portal)
        assert portal.suite.collateral.get_loan(1).lien_status == 3  # released
        increase_time(w3, 89 * 86_400)
        assert bank.get(url).status_code == 200  # closed 89 days ago
        increase_time(w3, 2 * 86_400)
        refused = bank.get(url)
    assert refused.status_code == 403
    assert "until 90 days after it closes" in refused.json()["message"]
    assert refused.json()["policy_version"] == 1


def test_the_agency_assigned_to_the_case_reads_until_30_days_after_it_settles(portal: PortalRig, w3: Web3) -> None:
    prepared = _inspection(portal)
    url = f"/api/v1/documents/{prepared['digest']}"
    loan_id = portal.lend(VIN)
    portal.alert(VIN, AlertKind.TAMPER, Severity.CRITICAL)
    case_id = portal.suite.collateral.get_loan(loan_id).case_id
    bank, agency = portal.accounts["bank"].address, portal.accounts["agency"].address
    agency_member = portal.suite.membership.member_of(agency)
    evidence = "0x" + "06" * 32

    def step(name: str, sender: str, **args: int) -> None:
        act = getattr(portal.suite.collateral, name)
        portal.write(lambda o, k: act(o, key=k, sender=sender, case_id=case_id, evidence_digest=evidence, **args))

    with portal.as_member("agency") as reader:
        assert reader.get(url).status_code == 403  # not assigned yet
        increase_time(w3, 3 * 86_400 + 1)  # the cure period
        step("order_repossession", bank, agency_member_id=agency_member)
        assert reader.get(url).json() == prepared["document"]
        step("record_repossession", agency)
        step("record_appraisal", agency, appraised_value=600_000)
        step("record_auction", agency, sale_price=580_000)
        step("record_settlement", agency)
        with Session(portal.context.engine) as session:
            target = Target("inspection", prepared["digest"], None, (prepared["subject"],))
            ties = ties_of(session, agency_member, target)
        assert [t.relationship for t in ties] == ["assigned_agency"]
        assert ties[0].closed_at is not None
        assert reader.get(url).status_code == 200  # settled just now
        increase_time(w3, 31 * 86_400)
        assert reader.get(url).status_code == 403


@pytest.fixture
def governors(chain: LocalChain) -> list[LocalAccount]:
    """The three governors (dev accounts 0-2)."""
    return [Account.from_key(a.private_key) for a in chain.accounts[:3]]


def _send(rig: PortalRig, w3: Web3, governor: LocalAccount, prepared: dict[str, Any]) -> None:
    send_and_wait(
        w3, governor, {"from": governor.address, "to": prepared["to"], "data": prepared["data"], "gas": 1_000_000}
    )
    rig.context.indexer().sync()


def test_a_policy_version_takes_effect_once_governance_executes_its_proposal(
    portal: PortalRig, w3: Web3, governors: list[LocalAccount]
) -> None:
    prepared = _inspection(portal)
    portal.lend(VIN)
    url = f"/api/v1/documents/{prepared['digest']}"
    stricter = {
        "version": 2,
        "title": "Banks read scanned papers only",
        "rules": [
            {"kinds": list(OWNED), "roles": ["ANY"], "relationship": "own"},
            {"kinds": ["scanned_document"], "roles": ["BANK"], "relationship": "lender", "days_after_close": 30},
        ],
    }
    with portal.as_member("governor") as governor, portal.as_member("bank") as bank:
        before = governor.get("/api/v1/policy").json()
        assert (before["version"], before["approved"], before["digest"]) == (1, False, default_policy().digest)
        with portal.as_member("dealer") as dealer:
            refused = dealer.post("/api/v1/policies", json={"policy": stricter})
            assert (refused.status_code, refused.json()["error"]) == (403, "forbidden")
        bad = governor.post("/api/v1/policies", json={"policy": {**stricter, "rules": []}})
        assert bad.status_code == 422
        proposal = governor.post("/api/v1/policies", json={"policy": stricter})
        assert proposal.status_code == 201, proposal.text
        tx = proposal.json()
        digest = parse_policy(stricter).digest
        assert tx["description_digest"] == digest
        assert json.loads(tx["description"])["version"] == 2
        _send(portal, w3, governors[0], tx)
        versions = {v["digest"]: v for v in governor.get("/api/v1/policies").json()}
        assert versions[digest]["status"] == "active"
        assert bank.get(url).status_code == 200  # proposed is not in force
        proposal_id = versions[digest]["proposal_id"]
        membership = portal.suite.membership
        for account in governors:
            vote = membership.calldata("castVote", proposal_id, True)
            _send(portal, w3, account, {"to": membership.address, "data": "0x" + vote.hex()})
        increase_time(w3, 4 * 86_400 + 1)
        assert bank.get(url).status_code == 200  # passed, not executed: still version 1
        _send(portal, w3, governors[0], governor.post(f"/api/v1/proposals/{proposal_id}/execute").json())
        now = governor.get("/api/v1/policy").json()
        assert (now["version"], now["approved"], now["digest"], now["proposal_id"]) == (2, True, digest, proposal_id)
        refused = bank.get(url)
        assert refused.status_code == 403
        assert refused.json()["policy_version"] == 2
        older = governor.post("/api/v1/policies", json={"policy": {**stricter, "title": "older"}})
        assert (older.status_code, "not newer" in older.json()["message"]) == (422, True)
