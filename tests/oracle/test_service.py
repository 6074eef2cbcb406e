"""The oracle's scheduler and valuation cadence, running for real."""

from __future__ import annotations

import time
from datetime import timedelta

from sqlalchemy import text
from sqlmodel import Session, select

from oracle.store import ChainAction, FeedHealth, LoanLink, VehicleState, utcnow
from tests.oracle.conftest import OracleRig


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
    later = utcnow() + timedelta(seconds=rig.oracle.settings.heartbeat + 1)
    rig.oracle.clock = lambda: later
    with Session(rig.engine) as session:
        financed = len(session.exec(select(LoanLink.loan_ref).where(LoanLink.chain_loan_id != None)).all())  # noqa: E711
    assert rig.oracle.value() == 3 * financed  # the heartbeat: every reporter reports every vehicle again


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
