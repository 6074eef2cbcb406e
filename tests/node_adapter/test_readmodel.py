"""The read model built from the main flow's events equals what the chain says, and survives a rebuild."""

from __future__ import annotations

import json
from pathlib import Path

from sqlmodel import Session, col, select
from web3 import Web3

from node_adapter.dev.localchain import LocalChain
from node_adapter.readmodel import (
    AttestationView,
    CaseTransitionView,
    CaseView,
    KindView,
    LoanView,
    MemberView,
    PointsView,
    ProposalView,
    ReportView,
)
from node_adapter.runtime import Runtime
from node_adapter.settings import NodeAdapterSettings
from tests.contracts.test_main_flow import SUBJECT, run_main_flow


def _snapshot(runtime: Runtime) -> dict[str, list[object]]:
    with Session(runtime.engine) as session:
        return {
            table.__name__: [row.model_dump() for row in session.exec(select(table)).all()]
            for table in (MemberView, KindView, AttestationView, PointsView, LoanView, CaseView, ProposalView)
        } | {
            "reports": [
                (r.loan_id, r.report, r.detail, r.evidence_digest, r.block_number)
                for r in session.exec(select(ReportView).order_by(col(ReportView.id))).all()
            ],
            "transitions": [
                (t.case_id, t.from_state, t.to_state, t.evidence_digest, t.block_number)
                for t in session.exec(select(CaseTransitionView).order_by(col(CaseTransitionView.id))).all()
            ],
        }


def test_read_model_follows_the_main_flow(chain: LocalChain, w3: Web3, tmp_path: Path) -> None:
    flow = run_main_flow(chain, w3, tmp_path)
    runtime = Runtime.open(
        NodeAdapterSettings(rpc_urls=[chain.url], chain_id=chain.chain_id, state_dir=tmp_path, network="flow")
    )
    indexer = runtime.indexer()
    assert indexer.sync() > 0
    with Session(runtime.engine) as session:
        members = session.exec(select(MemberView)).all()
        assert len(members) == 8
        [proposal] = session.exec(select(ProposalView)).all()  # the one that formed the consortium
        assert (proposal.for_votes, proposal.against_votes, proposal.executed, proposal.canceled) == (3, 0, True, False)
        assert len(json.loads(proposal.calldatas)) == len(json.loads(proposal.targets)) == 6
        attestation = session.get(AttestationView, "0x" + flow.inspection_uid.hex())
        assert attestation is not None
        assert attestation.subject == "0x" + SUBJECT.hex()
        assert not attestation.invalidated
        points = session.get(PointsView, flow.dealer_id)
        assert points is not None
        assert points.points == "10"
        loan = session.get(LoanView, flow.loan_id)
        assert loan is not None
        assert (loan.lien_status, loan.last_value, loan.case_id) == ("released", "910000", flow.case_id)
        case = session.get(CaseView, flow.case_id)
        assert case is not None
        assert (case.state, case.agency_member_id, case.appraised_value, case.sale_price) == (
            "settled", flow.agency_id, "900000", "880000",
        )  # fmt: skip
        steps = [
            (t.from_state, t.to_state)
            for t in session.exec(
                select(CaseTransitionView)
                .where(CaseTransitionView.case_id == flow.case_id)
                .order_by(col(CaseTransitionView.id))
            ).all()
        ]
    assert steps == [
        ("none", "triggered"),
        ("triggered", "repossession_ordered"),
        ("repossession_ordered", "repossessed"),
        ("repossessed", "appraised"),
        ("appraised", "auctioned"),
        ("auctioned", "settled"),
    ]
    with Session(runtime.engine) as session:
        reports = session.exec(
            select(ReportView).where(ReportView.loan_id == flow.loan_id).order_by(col(ReportView.id))
        )
        assert [(r.report, json.loads(r.detail)) for r in reports] == [
            ("valuation", {"value": 910000}),
            ("valuation_median", {"value": 910000, "reporters": 1}),
        ]
    before = _snapshot(runtime)
    indexer.rebuild()
    assert _snapshot(runtime) == before
