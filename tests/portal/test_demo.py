"""``consortium demo`` played on a fresh Anvil with its own portal: the end state on chain and through the portal API,
and a second run that changes nothing."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from rich.console import Console
from sqlalchemy import func
from sqlmodel import Session, select

from consortium_portal.tools.demo import CAR_1, CAR_2, STORY_MEMBERS, Stage, fresh_system, play
from node_adapter.clients import CaseState, DisputeState, LienStatus, PointsReason
from node_adapter.dev.devchain import dev_member
from node_adapter.dev.localchain import free_port
from node_adapter.outbox import OutboxTx
from node_adapter.settings import NodeAdapterSettings
from tests.portal.conftest import sign_in

pytestmark = pytest.mark.slow


def _outbox_rows(stage: Stage) -> int:
    with Session(stage.engine) as session:
        return int(session.exec(select(func.count()).select_from(OutboxTx)).one())


def test_the_demo_plays_the_story_on_a_fresh_chain_and_a_second_run_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PORTAL_PORT", str(free_port()))
    output = io.StringIO()
    console = Console(file=output, width=200)
    with fresh_system(NodeAdapterSettings(state_dir=tmp_path)) as system:
        stage = Stage(system.runtime, system.portal, indexed_by="the test's portal")
        ending = play(stage, console)
        suite = stage.suite
        registry, collateral, membership = suite.registry, suite.collateral, suite.membership

        # every organisation of the story was admitted by vote, with its role
        for label in STORY_MEMBERS:
            member = dev_member(label)
            assert membership.authorize(member.account().address).roles == int(member.role), label

        # car 1: value drop -> repossession -> appraisal -> auction -> settled, lien released
        case_1 = collateral.get_case(ending.cases[CAR_1.label])
        loan_1 = collateral.get_loan(ending.loans[CAR_1.label])
        assert case_1.state == CaseState.SETTLED
        assert [c.name for c in case_1.cause_list] == ["VALUE_DROP"]
        assert case_1.agency_member_id == stage.member_id("agency")
        assert (case_1.appraised_value, case_1.sale_price) == (221_000_00, 228_500_00)
        assert loan_1.lien_status == LienStatus.RELEASED
        assert (loan_1.baseline_value - loan_1.last_value) * 10_000 > loan_1.baseline_value * 800  # beyond 8%

        # car 2: 95 days overdue -> triggered -> cured, lien still active
        case_2 = collateral.get_case(ending.cases[CAR_2.label])
        loan_2 = collateral.get_loan(ending.loans[CAR_2.label])
        assert case_2.state == CaseState.CURED
        assert "OVERDUE_BREACH" in [c.name for c in case_2.cause_list]
        assert (loan_2.lien_status, loan_2.days_overdue) == (LienStatus.ACTIVE, 0)

        # the false record: disputed by the insurer, upheld, invalidated; the dealer slashed, the insurer rewarded
        dispute = registry.get_dispute(ending.dispute_id)
        assert dispute.state == DisputeState.UPHELD
        assert dispute.uid == ending.false_record
        assert (dispute.attester_member, dispute.disputer_member) == (
            stage.member_id("dealer-2"),
            stage.member_id("insurer"),
        )
        assert registry.is_invalidated(ending.false_record)
        assert not registry.is_valid(ending.false_record)
        rules = registry.points_parameters()
        weight = registry.get_kind(1).kind.weight  # every portal kind has the dev weight
        assert ending.points["dealer-2"] == max(0, 3 * weight - rules.slash_multiplier * weight)
        assert ending.points["insurer"] == 2 * weight + rules.corroboration_bonus + rules.disputer_reward
        assert ending.points["repair-shop"] == 2 * weight
        assert ending.points["dealer-1"] == 2 * weight
        for label, points in ending.points.items():
            assert registry.points_of(stage.member_id(label)) == points

        # the same, through the portal's API, as a visitor signed in as the bank and as a governor sees it
        url = system.portal.local_url()
        stage.indexed(stage.runtime.connection.call(lambda w3: int(w3.eth.block_number)))
        bank = {"Authorization": f"Bearer {sign_in(url, stage.accounts['bank'])}"}
        governor = {"Authorization": f"Bearer {sign_in(url, stage.accounts['governor-1'])}"}
        with httpx.Client(base_url=url, timeout=30) as http:
            cases = {c["case_id"]: c["state"] for c in http.get("/api/v1/cases", headers=bank).json()}
            assert cases == {ending.cases[CAR_1.label]: "settled", ending.cases[CAR_2.label]: "cured"}
            timeline = http.get(f"/api/v1/cases/{ending.cases[CAR_1.label]}", headers=bank).json()
            assert [s["to_state"] for s in timeline["steps"]][-5:] == [
                "repossession_ordered", "repossessed", "appraised", "auctioned", "settled",
            ]  # fmt: skip
            report = http.get(f"/api/v1/vehicles/{CAR_1.vin}", headers=bank).json()
            statuses = {a["uid"]: a["status"] for a in report["attestations"]}
            assert statuses[ending.false_record] == "invalidated"
            valid = sum(status == "valid" for status in statuses.values())
            assert valid == 6  # inspection, sale, two accident records, claim, repair
            board = {e["member_id"]: e["points"] for e in http.get("/api/v1/points", headers=governor).json()}
            for label, points in ending.points.items():
                assert board.get(stage.member_id(label), 0) == points, label
            slash = http.get(f"/api/v1/points/{stage.member_id('dealer-2')}", headers=governor).json()
            assert [e["reason"] for e in slash["history"]][-1] == PointsReason.SLASH.name.lower()
            members = {m["name"] for m in http.get("/api/v1/members", headers=governor).json()}
            assert {dev_member(label).organisation for label in STORY_MEMBERS} <= members

        text = output.getvalue()
        assert text.count("✓") == 16
        assert "(done earlier)" not in text

        # a second run finds every step done: no new write, the same ending
        rows = _outbox_rows(stage)
        again = io.StringIO()
        assert play(stage, Console(file=again, width=200)) == ending
        assert _outbox_rows(stage) == rows
        assert again.getvalue().count("(done earlier)") == 15  # every step but the points, which only looks


def test_the_demo_refuses_to_play_without_a_running_portal(tmp_path: Path) -> None:
    env = {**os.environ, "NODE_ADAPTER_STATE_DIR": str(tmp_path), "PORTAL_PORT": str(free_port()), "COLUMNS": "200"}
    result = subprocess.run(
        [sys.executable, "-m", "consortium.cli", "demo"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "no portal answers at http://127.0.0.1:" in result.stderr
    assert "consortium demo --fresh" in result.stderr
    assert "Traceback" not in result.stderr
