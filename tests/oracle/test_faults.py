"""Faults: a source down, the chain node down, the oracle killed mid-batch; afterwards every record is on chain
exactly once and nothing is lost."""

from __future__ import annotations

import time
from pathlib import Path

from sqlmodel import Session, select
from web3 import Web3

from node_adapter.clients import CaseState, Cause
from node_adapter.connection import connect
from node_adapter.dev.localchain import LocalChain, free_port
from oracle.store import BatchStatus, FeedHealth, LoanLink
from tests.oracle.conftest import (
    OracleRig,
    assert_all_on_chain,
    batches,
    emitted,
    kill_oracle_mid_batch,
    make_rig,
    stored,
)


def _health(rig: OracleRig, name: str) -> FeedHealth:
    with Session(rig.engine) as session:
        health = session.get(FeedHealth, name)
    assert health is not None
    return health


def _first_financed(rig: OracleRig) -> LoanLink:
    with Session(rig.engine) as session:
        link = session.exec(select(LoanLink).where(LoanLink.chain_loan_id != None)).first()  # noqa: E711
    assert link is not None
    return link


def test_a_source_down_for_a_while_backs_off_shows_unhealthy_and_loses_nothing(rig: OracleRig) -> None:
    rig.service.settle()
    rig.scenario("telematics", scenario="fail", requests=12)  # three runs of four attempts each
    rig.advance(900)
    deadline = time.monotonic() + 30
    while _health(rig, "ingest:telematics").failures < 3:
        rig.service.run("ingest:telematics")
        assert time.monotonic() < deadline
        time.sleep(0.05)
    health = _health(rig, "ingest:telematics")
    assert "answered HTTP 503" in (health.last_error or "")
    assert health.next_attempt_at is not None
    feed = rig.oracle.status()["feeds"]["ingest:telematics"]
    assert feed["healthy"] is False
    assert rig.oracle.status()["feeds"]["ingest:dmv"]["healthy"] is True  # the other sources carry on
    assert rig.service.run("ingest:telematics") == 0  # backing off: not even tried
    time.sleep(1.0)
    rig.service.settle(tolerate_failures=True)
    assert _health(rig, "ingest:telematics").failures == 0
    assert stored(rig, "telematics") == emitted(rig, "telematics")
    assert_all_on_chain(rig, verify_every=50)


def test_the_chain_node_down_for_a_while(tmp_path: Path) -> None:
    node = LocalChain(port=free_port(), state_dir=tmp_path / "chain")
    node.start()
    try:
        w3: Web3 = connect(node.url, expected_chain_id=node.chain_id)
        rigs = make_rig(node, w3, tmp_path)
        rig = next(rigs)
        try:
            rig.service.settle()
            link = _first_financed(rig)
            node.stop()
            rig.scenario("loans", scenario="missed_payment", loan=link.loan_ref, days_overdue=95)
            rig.advance(900)
            for _ in range(5):
                rig.service.run_once()
                time.sleep(0.1)
            assert _health(rig, "dispatch").failures > 0
            assert "ChainUnavailable" in (_health(rig, "dispatch").last_error or "")
            assert stored(rig, "loans") == emitted(rig, "loans")  # reading the sources went on
            node.start()
            time.sleep(1.0)
            rig.service.settle(tolerate_failures=True)
            loan = rig.suite.collateral.get_loan(link.chain_loan_id)  # type: ignore[arg-type]
            case = rig.suite.collateral.get_case(loan.case_id)
            assert (case.state, case.cause_list) == (CaseState.TRIGGERED, (Cause.OVERDUE_BREACH,))
            assert_all_on_chain(rig, verify_every=50)
        finally:
            rigs.close()
    finally:
        node.stop()


def test_the_oracle_killed_mid_batch_resumes_without_loss_or_repetition(rig: OracleRig, tmp_path: Path) -> None:
    rig.advance(4 * 3600)  # some two thousand T-Box readings waiting to be read
    kill_oracle_mid_batch(rig, tmp_path / "oracle.log", batch_size=150)
    for source in ("dmv", "telematics", "market", "loans"):
        assert stored(rig, source) == emitted(rig, source), source
    counts = assert_all_on_chain(rig, verify_every=20)
    assert counts["batched"] >= stored(rig, "telematics") > 1000
    chain_batches = rig.suite.registry.batch_count()
    assert chain_batches == batches(rig, BatchStatus.CONFIRMED) + batches(rig, BatchStatus.MISNUMBERED)
