"""Bad data from a source, each handled as the pipeline's rules say (oracle/pipeline/): nothing dropped silently."""

from __future__ import annotations

import json

import pytest
from sqlmodel import Session, select

from oracle.store import ChainAction, FeedCursor, FeedHealth, LoanLink, Quarantined, RecordStatus, SourceRecord
from tests.oracle.conftest import OracleRig, assert_all_on_chain


def _quarantined(rig: OracleRig, source: str) -> list[Quarantined]:
    with Session(rig.engine) as session:
        return list(session.exec(select(Quarantined).where(Quarantined.source == source)).all())


def _records(rig: OracleRig, **where: object) -> list[SourceRecord]:
    with Session(rig.engine) as session:
        statement = select(SourceRecord)
        for name, value in where.items():
            statement = statement.where(getattr(SourceRecord, name) == value)
        return list(session.exec(statement).all())


@pytest.mark.parametrize(
    ("kind", "reason", "says"),
    [
        ("missing_vin", "malformed", "no 'vin'"),
        ("bad_vin", "bad_vin", "check digit"),
        ("bad_timestamp", "bad_timestamp", "occurred_at"),
        ("wrong_type", "malformed", "payload"),
        ("missing_payload", "malformed", "no 'payload'"),
        ("out_of_range", "out_of_range", "greater than or equal"),
    ],
)
def test_malformed_and_out_of_range_records_are_quarantined_with_the_reason(
    rig: OracleRig, kind: str, reason: str, says: str
) -> None:
    rig.service.settle()
    before = len(_records(rig, source="telematics"))
    rig.scenario("telematics", scenario="malformed", kind=kind, count=2)
    rig.advance(300)
    rig.service.settle()
    bad = _quarantined(rig, "telematics")
    assert [q.reason for q in bad] == [reason, reason]
    assert all(says in q.message for q in bad), [q.message for q in bad]
    assert all(json.loads(q.raw)["seq"] == q.seq for q in bad)  # the raw record is kept as it came
    stored = {r.seq for r in _records(rig, source="telematics")}
    assert not stored & {q.seq for q in bad}
    assert len(stored) > before  # the good records of the same page went through
    with Session(rig.engine) as session:
        health = session.get(FeedHealth, "ingest:telematics")
        cursor = session.get(FeedCursor, "telematics")
    assert health is not None
    assert health.quarantined == 2
    assert cursor is not None
    assert int(cursor.cursor) == max(stored | {q.seq for q in bad if q.seq})  # nothing left behind, nothing skipped
    assert rig.oracle.status()["quarantined"] == {reason: 2}
    assert_all_on_chain(rig, verify_every=50)


def test_a_duplicated_record_is_stored_and_anchored_once(rig: OracleRig) -> None:
    rig.service.settle()
    [event_id] = rig.scenario("dmv", scenario="duplicate")["event_ids"]
    rig.service.settle()
    assert len(_records(rig, source="dmv", event_id=event_id)) == 1
    with Session(rig.engine) as session:
        health = session.get(FeedHealth, "ingest:dmv")
    assert health is not None
    assert health.duplicates == 1
    assert_all_on_chain(rig, verify_every=50)


def test_an_out_of_order_record_is_kept_as_evidence_but_not_acted_on(rig: OracleRig) -> None:
    rig.service.settle()
    with Session(rig.engine) as session:
        link = session.exec(select(LoanLink).where(LoanLink.chain_loan_id != None)).first()  # noqa: E711
    assert link is not None
    rig.scenario("loans", scenario="missed_payment", loan=link.loan_ref, days_overdue=45)
    rig.advance(86_400)  # the next day: 46 days overdue
    rig.service.settle()
    [late_id] = rig.scenario("loans", scenario="out_of_order", seconds=2 * 86_400, vin=link.vin)["event_ids"]
    rig.service.settle()
    [late] = _records(rig, source="loans", event_id=late_id)
    assert late.status == RecordStatus.LATE
    with Session(rig.engine) as session:
        assert session.exec(select(ChainAction).where(ChainAction.record_id == late.id)).first() is None
    assert rig.suite.collateral.get_loan(link.chain_loan_id).days_overdue == 46  # type: ignore[arg-type]
    assert_all_on_chain(rig, verify_every=50)


def test_a_stale_record_is_quarantined(rig: OracleRig) -> None:
    rig.service.settle()
    vin = _records(rig, source="telematics", type="odometer")[0].vin
    [stale_id] = rig.scenario("telematics", scenario="out_of_order", seconds=8 * 86_400, vin=vin)["event_ids"]
    rig.service.settle()
    [stale] = _quarantined(rig, "telematics")
    assert (stale.event_id, stale.reason) == (stale_id, "stale")
    assert "older than the newest telematics record" in stale.message
    assert not _records(rig, source="telematics", event_id=stale_id)
