"""A loan's outcome and the score it is calibrated with, read from a read model on each SQL backend: every rule of
oracle/risk/outcomes.py, with the rows the indexer and the risk job would write."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from node_adapter.readmodel import AttestationView, CaseTransitionView, CaseView, LoanView, ReportView
from node_adapter.shared.risk import create_risk_schema, score_by_digest
from oracle.risk.job import RISK_SCORE_KIND, score_row
from oracle.risk.model import compute_score, get_model
from oracle.risk.outcomes import CalibrationRefused, calibrate_outcomes, read_outcomes
from oracle.risk.portfolio import simulate_portfolio
from oracle.risk.settings import RiskSettings

DAY = 86_400
NOW = 1_900_000_000
OLD, YOUNG = 1, 90
"""Blocks: one registered 300 days ago, one 10 days ago."""
BLOCK_TIMES = {OLD: NOW - 300 * DAY, YOUNG: NOW - 10 * DAY}


class ReadModel:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.inputs = [loan.inputs for loan in simulate_portfolio(5, 40)]
        self.model = get_model(RiskSettings().model_version)
        self.cases = 0

    def loan(
        self, loan_id: int, *, lien: str = "active", block: int = OLD, steps: tuple[tuple[str, int], ...] = ()
    ) -> str:
        """A loan whose case went through ``steps`` (state, block); its subject."""
        subject = "0x" + f"{loan_id:064x}"
        rows: list[Any] = [
            LoanView(
                loan_id=loan_id,
                subject=subject,
                bank_member_id=1,
                principal="100",
                outstanding="50",
                baseline_value="200",
                lien_status=lien,
                registered_block=block,
            )
        ]
        if steps:
            self.cases += 1
            rows.append(
                CaseView(
                    case_id=self.cases,
                    loan_id=loan_id,
                    state=steps[-1][0],
                    opened_block=steps[0][1],
                    updated_block=steps[-1][1],
                )
            )
            previous = "none"
            for state, at in steps:
                rows.append(
                    CaseTransitionView(
                        case_id=self.cases,
                        from_state=previous,
                        to_state=state,
                        evidence_digest="0x" + "00" * 32,
                        block_number=at,
                        block_time=at,
                        tx_hash="0x" + "00" * 32,
                    )
                )
                previous = state
        self._add(rows)
        return subject

    def score(self, subject: str, at: int, *, revoked: bool = False, tamper: bool = False) -> str:
        """A score of the vehicle, anchored in block ``at``; its digest."""
        inputs = self.inputs[int(subject, 16) % len(self.inputs)]
        row = score_row(
            vin="LSVCAL00000000001",
            subject=subject,
            inputs=inputs,
            records={},
            result=compute_score(inputs, self.model),
            at=datetime.now(UTC),
        )
        if tamper:
            row.document = row.document.replace('"score":', '"score": 1', 1)
        attestation = AttestationView(
            uid=row.digest,
            subject=subject,
            kind=RISK_SCORE_KIND,
            attester="0x" + "11" * 20,
            block_number=at,
            block_time=at,
            tx_hash="0x" + "00" * 32,
            revoked_at=at + 1 if revoked else None,
        )
        digest = row.digest
        self._add([row, attestation])
        return digest

    def repaid(self, loan_id: int, subject: str) -> None:
        self._add(
            [
                ReportView(
                    subject=subject,
                    loan_id=loan_id,
                    report="dmv",
                    detail=json.dumps({"eventKind": 3}),
                    evidence_digest="0x" + "00" * 32,
                    block_number=60,
                    block_time=60,
                    tx_hash="0x" + "00" * 32,
                )
            ]
        )

    def _add(self, rows: list[Any]) -> None:
        with Session(self.engine) as session:
            session.add_all(rows)
            session.commit()


@pytest.fixture
def read_model(engine: Engine) -> ReadModel:
    create_risk_schema(engine)
    return ReadModel(engine)


def test_each_loan_gets_its_outcome_and_the_score_anchored_before_it(read_model: ReadModel) -> None:
    rm = read_model
    disposal = rm.loan(1, steps=(("watch", 15), ("triggered", 20), ("repossession_ordered", 25)))
    rm.score(disposal, 10)
    newest_before = rm.score(disposal, 18)
    rm.score(disposal, 21)  # after the breach: it would leak the outcome
    cured = rm.loan(2, steps=(("triggered", 20), ("cured", 22)))
    cured_score = rm.score(cured, 10)
    clean = rm.loan(3)
    clean_score = rm.score(clean, 5)
    rm.score(rm.loan(4, block=YOUNG), 95)  # too young to have run clean
    repaid = rm.loan(5, lien="released")
    rm.repaid(5, repaid)
    repaid_score = rm.score(repaid, 5)
    rm.score(rm.loan(6, lien="released"), 5)  # released without the DMV's repayment: cancelled
    rm.score(rm.loan(7, steps=(("triggered", 20),)), 10)  # a case in progress
    rm.score(rm.loan(8, steps=(("triggered", 20), ("repossession_ordered", 30))), 21)  # scored after the breach only
    rm.score(rm.loan(9), 5, revoked=True)  # its only score was revoked
    rm.score(rm.loan(10), 5, tamper=True)  # its stored document does not hash to the anchored digest
    watched = rm.loan(11, steps=(("watch", 12), ("none", 14)))  # a watch cleared is not a breach
    watched_score = rm.score(watched, 5)
    rm.score(rm.loan(12, lien="pending", block=OLD), 5)  # a lien the DMV never confirmed

    outcomes = read_outcomes(rm.engine, now=NOW, block_time=BLOCK_TIMES.__getitem__, clean_after=180 * DAY)

    found = {loan.loan_id: (loan.outcome, loan.score_digest) for loan in outcomes.loans}
    assert found == {
        1: ("disposal", newest_before),
        2: ("cured", cured_score),
        3: ("clean", clean_score),
        5: ("clean", repaid_score),
        11: ("clean", watched_score),
    }
    assert outcomes.counts() == {"disposal": 1, "cured": 1, "clean": 3, "pending": 4, "without_score": 3}
    with Session(rm.engine) as session:
        row = score_by_digest(session, newest_before)
    assert row is not None
    document = json.loads(row.document)
    assert next(loan for loan in outcomes.loans if loan.loan_id == 1).inputs == document["inputs"]


def test_a_refit_refuses_too_few_outcomes_and_is_named_by_the_outcomes_it_was_fitted_on(read_model: ReadModel) -> None:
    rm = read_model
    for n in range(1, 41):
        steps = (("triggered", 20), ("repossession_ordered", 25)) if n % 3 == 0 else ()
        rm.score(rm.loan(n, steps=steps), 10)
    outcomes = read_outcomes(rm.engine, now=NOW, block_time=BLOCK_TIMES.__getitem__, clean_after=180 * DAY)
    assert outcomes.counts()["disposal"] == 13

    with pytest.raises(CalibrationRefused, match=r"40 loans .* needed: at least 41, of which 10 went to disposal"):
        calibrate_outcomes(outcomes, seed=7, min_outcomes=41, min_each=10, data="test")
    with pytest.raises(CalibrationRefused, match=r"13 went to disposal"):
        calibrate_outcomes(outcomes, seed=7, min_outcomes=10, min_each=14, data="test")
    model = calibrate_outcomes(outcomes, seed=7, min_outcomes=40, min_each=10, data="test")
    again = calibrate_outcomes(outcomes, seed=7, min_outcomes=40, min_each=10, data="test")
    assert model.version.startswith("r1.rm.n40.")
    assert (again.version, again.digest) == (model.version, model.digest), "same outcomes, same model"
    assert calibrate_outcomes(outcomes, seed=8, min_outcomes=40, min_each=10, data="test").version != model.version
    assert sum(model.points.values()) == 10_000
    assert model.calibration.held_out == 12
