"""The oracle's scheduler and valuation cadence, running for real."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, select

from node_adapter.contract_errors import error_class
from node_adapter.db import make_engine, utcnow
from node_adapter.dev.devchain import increase_time
from oracle.service import STORE_RETRY, OutageTolerantJobStore
from oracle.store import ChainAction, FeedHealth, LoanLink, VehicleState
from tests.oracle.conftest import OracleRig

CollateralStaleValuation = error_class("CollateralStaleValuation")


def _valuations(rig: OracleRig) -> int:
    with Session(rig.engine) as session:
        return len(session.exec(select(ChainAction.id).where(ChainAction.action == "valuation")).all())


def test_valuations_are_reported_on_deviation_or_heartbeat_only(rig: OracleRig) -> None:
    heard: list[tuple[int, int, str]] = []
    rig.service.settle(progress=lambda *told: heard.append(told))
    done, most, what = heard[-1]
    assert done == most > 0  # all the work seen waiting (records for a batch, writes) is done
    assert what.startswith("0 records for a batch, 0 writes")
    first = _valuations(rig)
    assert first > 0
    assert first % 3 == 0  # one per price reporter
    assert rig.oracle.value() == 0  # nothing moved, heartbeat not due
    with Session(rig.engine) as session:
        link = session.exec(select(LoanLink).where(LoanLink.chain_loan_id != None)).first()  # noqa: E711
        assert link is not None
        region = session.get(VehicleState, link.vin).region  # type: ignore[union-attr]
    rig.scenario("market", scenario="price_shock", region=region, percent=0.5)
    rig.service.settle()
    assert _valuations(rig) == first  # half a percent: under the 1% deviation
    rig.scenario("market", scenario="price_shock", region=region, percent=2)
    rig.service.settle()
    moved = _valuations(rig) - first
    assert moved > 0
    assert moved % 3 == 0  # two and a half percent from the last report: every reporter reports again
    heartbeat = rig.oracle.settings.heartbeat
    later = utcnow() + timedelta(seconds=heartbeat + 1)
    rig.oracle.clock = lambda: later
    assert rig.oracle.value() == 0  # the heartbeat counts in chain time: the oracle's clock alone moves nothing
    increase_time(rig.w3, heartbeat + 1)
    with Session(rig.engine) as session:
        financed = len(session.exec(select(LoanLink.loan_ref).where(LoanLink.chain_loan_id != None)).all())  # noqa: E711
    assert rig.oracle.value() == 3 * financed  # the heartbeat: every reporter reports every vehicle again


def test_valuations_stay_fresh_when_the_chain_clock_runs_ahead_of_the_oracle(rig: OracleRig) -> None:
    """The contract ages a valuation by the chain's clock: four chain days on (beyond its three-day limit) while the
    oracle's own clock moved seconds, every financed vehicle still has a fresh valuation once the oracle has run."""
    rig.service.settle()
    subjects = [rig.suite.collateral.get_loan(loan_id).subject for loan_id in _financed(rig)]
    assert subjects
    increase_time(rig.w3, 4 * 86_400)
    for subject in subjects:
        with pytest.raises(CollateralStaleValuation):
            rig.suite.collateral.valuation_of(subject)
    rig.service.settle()
    assert all(rig.suite.collateral.valuation_of(subject).value > 0 for subject in subjects)


def _financed(rig: OracleRig) -> list[int]:
    with Session(rig.engine) as session:
        links = session.exec(select(LoanLink).where(LoanLink.chain_loan_id != None)).all()  # noqa: E711
    return [link.chain_loan_id for link in links if link.chain_loan_id is not None]


def test_the_scheduler_runs_every_job_and_keeps_one_entry_per_job_across_restarts(rig: OracleRig) -> None:
    for _run in range(2):
        started = utcnow()
        rig.service.start()
        try:
            deadline = time.monotonic() + 60
            while True:
                with Session(rig.engine) as session:
                    fresh = {
                        h.feed
                        for h in session.exec(select(FeedHealth)).all()
                        if h.last_success is not None and h.last_success.replace(tzinfo=started.tzinfo) >= started
                    }
                if fresh >= set(rig.service.steps):
                    break
                assert time.monotonic() < deadline, f"jobs that never ran: {set(rig.service.steps) - fresh}"
                time.sleep(0.1)
        finally:
            rig.service.stop()
        with rig.engine.connect() as connection:
            jobs = sorted(row[0] for row in connection.execute(text("SELECT id FROM oracle_jobs")))
        assert jobs == sorted(rig.service.steps)


def test_the_job_table_outlives_a_database_outage(tmp_path: Path) -> None:
    """A write of a job's next run time, or a read of the earliest one, that fails with the database away would end
    APScheduler's thread for good; the oracle's job store logs it and answers a retry instead."""
    engine = make_engine(f"sqlite:///{tmp_path / 'jobs.sqlite3'}")
    store = OutageTolerantJobStore(engine=engine, tablename="oracle_jobs")
    scheduler = BackgroundScheduler(jobstores={"default": store}, timezone=UTC)
    scheduler.add_job("oracle.service:run_job", "interval", seconds=5, args=["dmv"], id="dmv")
    scheduler.start(paused=True)
    try:
        job = scheduler.get_job("dmv")
        with engine.begin() as connection:
            connection.execute(text("ALTER TABLE oracle_jobs RENAME TO oracle_jobs_away"))  # the table is unreachable
        store.update_job(job)  # no exception
        retry = store.get_next_run_time()
        assert retry is not None
        assert timedelta(0) < retry - datetime.now(UTC) <= timedelta(seconds=STORE_RETRY)
        with pytest.raises(OperationalError):  # what APScheduler's own store raises here
            SQLAlchemyJobStore.get_next_run_time(store)
    finally:
        scheduler.shutdown(wait=False)
