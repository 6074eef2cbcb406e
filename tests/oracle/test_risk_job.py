"""The risk job on a real chain: scores anchored as their own kind, the model anchored, warnings put cases on watch."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from eth_utils.crypto import keccak
from sqlmodel import Session, col, select
from web3 import Web3

from node_adapter.clients import CaseState, Cause
from node_adapter.dev.localchain import LocalChain
from node_adapter.encoding import SaltedDocument
from node_adapter.shared.risk import AnchorStatus, RiskModelRow, RiskScoreRow
from oracle.risk.job import RISK_MODEL_KIND, RISK_SCORE_KIND
from oracle.risk.model import get_model, recompute
from oracle.risk.settings import RiskSettings
from oracle.store import LoanLink
from tests.oracle.conftest import OracleRig, make_rig, set_watch_score


@pytest.fixture
def risk_rig(chain: LocalChain, w3: Web3, tmp_path: Path) -> Iterator[OracleRig]:
    yield from make_rig(chain, w3, tmp_path, fleet=8, risk=RiskSettings(anchor_threshold=50))


def _rows(rig: OracleRig) -> list[RiskScoreRow]:
    with Session(rig.engine) as session:
        return list(session.exec(select(RiskScoreRow).order_by(col(RiskScoreRow.id))).all())


def test_scores_are_anchored_recomputable_and_warn_the_collateral_contract(risk_rig: OracleRig) -> None:
    rig = risk_rig
    set_watch_score(rig, 10_000)  # every score is under it: every financed vehicle gets a warning
    rig.service.settle()
    rows = _rows(rig)
    assert rows, "every vehicle is scored"
    registry, collateral = rig.suite.registry, rig.suite.collateral
    model = get_model(RiskSettings().model_version)
    signer = rig.oracle.signers["telematics"].address
    model_record = registry.get_record(model.digest).record
    assert (model_record.kind, model_record.attester) == (RISK_MODEL_KIND, signer)
    with Session(rig.engine) as session:
        published = session.get(RiskModelRow, model.version)
    assert published is not None, "the model is published for others (the portal) to read"
    assert (published.status, published.digest) == (AnchorStatus.CONFIRMED, model.digest)
    assert "0x" + keccak(published.parameters.encode()).hex() == model.digest

    for row in rows:
        assert row.status == AnchorStatus.CONFIRMED, row  # the first score of each vehicle is anchored
        record = registry.get_record(row.digest).record
        assert (record.kind, record.attester) == (RISK_SCORE_KIND, signer)
        document = json.loads(row.document)
        assert document["subject"] == row.subject
        assert SaltedDocument.from_salted(document, bytes.fromhex(row.digest[2:])).verify()
        assert document["model_version"] == model.version
        assert document["score"] == row.score
        assert sum(d["contribution"] for d in document["dimensions"]) == row.score
        check = recompute(document)
        assert check.matches, check.problems
        assert row.partial, "the T-Box feed gives no harsh-driving events: the oracle's scores say they are partial"
        assert "harsh_driving" in document["imputed"]

    with Session(rig.engine) as session:
        financed = session.exec(select(LoanLink).where(col(LoanLink.chain_loan_id).is_not(None))).all()
    assert financed
    for link in financed:
        loan = collateral.get_loan(link.chain_loan_id)  # type: ignore[arg-type]
        row = next(r for r in rows if r.vin == link.vin)
        assert row.warning == "confirmed", row.warning
        case = collateral.get_case(loan.case_id)
        assert case.state == CaseState.WATCH, "a risk warning puts the case on watch, never triggers it"
        assert Cause.RISK_WARNING in case.cause_list
    unfinanced = [r for r in rows if r.vin not in {link.vin for link in financed}]
    assert all(r.warning == "none: no loan with an active lien on the vehicle" for r in unfinanced)


def test_a_change_is_anchored_only_beyond_the_threshold(risk_rig: OracleRig) -> None:
    rig = risk_rig
    rig.service.settle()
    first = {r.vin: r for r in _rows(rig)}
    assert rig.service.run("risk") == 0, "no new evidence, nothing to score again"

    vin_a, vin_b = sorted(first)[:2]
    scorer_settings = rig.service.steps["risk"].__self__.settings  # type: ignore[attr-defined]
    assert scorer_settings.anchor_threshold == 50
    rig.scenario("telematics", scenario="crash", vin=vin_a, severity="severe")
    rig.advance(60)
    rig.service.settle()
    after_a = [r for r in _rows(rig) if r.vin == vin_a]
    assert len(after_a) == 2, "new evidence gives a new score in the history"
    assert after_a[-1].score < after_a[0].score
    assert after_a[-1].status == AnchorStatus.NOT_ANCHORED, "a move under 50 points is kept, not anchored"

    rig.service.steps["risk"].__self__.settings = RiskSettings(anchor_threshold=0.5)  # type: ignore[attr-defined]
    rig.scenario("telematics", scenario="crash", vin=vin_b, severity="severe")
    rig.advance(60)
    rig.service.settle()
    after_b = [r for r in _rows(rig) if r.vin == vin_b]
    assert after_b[-1].score <= first[vin_b].score - 50
    assert after_b[-1].status == AnchorStatus.CONFIRMED
    assert rig.suite.registry.get_record(after_b[-1].digest).record.kind == RISK_SCORE_KIND
