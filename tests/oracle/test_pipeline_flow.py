"""End to end on a real Anvil node: simulator -> oracle -> contracts, which open disposal cases by themselves."""

from __future__ import annotations

from sqlmodel import Session, select

from node_adapter.clients import AlertKind, CaseState, Cause, LienStatus
from oracle.store import ActionStatus, ChainAction, LoanLink, SourceRecord, VehicleState
from tests.oracle.conftest import OracleRig, assert_all_on_chain


def _financed(rig: OracleRig) -> list[tuple[LoanLink, VehicleState]]:
    with Session(rig.engine) as session:
        links = session.exec(
            select(LoanLink).where(LoanLink.chain_loan_id.is_not(None)).order_by(LoanLink.loan_ref)
        ).all()  # type: ignore[union-attr, arg-type]
        return [(link, session.get(VehicleState, link.vin)) for link in links]  # type: ignore[misc]


def _case_of(rig: OracleRig, link: LoanLink) -> tuple[CaseState, tuple[Cause, ...]]:
    loan = rig.suite.collateral.get_loan(link.chain_loan_id)  # type: ignore[arg-type]
    if loan.case_id == 0:
        return CaseState.NONE, ()
    case = rig.suite.collateral.get_case(loan.case_id)
    return case.state, case.cause_list


def test_loans_registered_liens_confirmed_and_every_record_on_chain_once(rig: OracleRig) -> None:
    rig.advance(3600)  # a simulated hour of T-Box reports
    rig.service.settle()
    financed = _financed(rig)
    assert len(financed) >= 3, rig.oracle.status()
    for link, _state in financed:
        loan = rig.suite.collateral.get_loan(link.chain_loan_id)  # type: ignore[arg-type]
        assert loan.lien_status == LienStatus.ACTIVE
        assert loan.subject == rig.oracle.subject(link.vin)
        assert _case_of(rig, link) == (CaseState.NONE, ())
    counts = assert_all_on_chain(rig)
    assert counts["single"] >= 2 * len(financed)
    assert counts["batched"] > 12 * 12 * 2
    with Session(rig.engine) as session:
        failed = session.exec(select(ChainAction).where(ChainAction.status == ActionStatus.FAILED)).all()
        waiting = session.exec(select(ChainAction).where(ChainAction.status == ActionStatus.WAITING)).all()
    assert not waiting, [(a.key, a.note) for a in waiting]  # nothing waits for a loan that will never come
    assert all(a.action == "register_loan" and "CollateralInvalidAmounts" in (a.note or "") for a in failed)


def test_price_shock_beyond_eight_percent_opens_a_case_by_itself(rig: OracleRig) -> None:
    rig.service.settle()
    financed = _financed(rig)
    region = financed[0][1].region
    rig.scenario("market", scenario="price_shock", region=region, percent=-9)
    rig.service.settle()
    for link, state in financed:
        case_state, causes = _case_of(rig, link)
        if state.region == region:
            assert case_state == CaseState.TRIGGERED, link.loan_ref
            assert Cause.VALUE_DROP in causes, link.loan_ref
        else:
            assert case_state == CaseState.NONE, link.loan_ref
    assert_all_on_chain(rig, verify_every=25)


def test_small_price_move_opens_nothing(rig: OracleRig) -> None:
    rig.service.settle()
    link, state = _financed(rig)[0]
    rig.scenario("market", scenario="price_shock", region=state.region, percent=-5)
    rig.service.settle()
    assert _case_of(rig, link) == (CaseState.NONE, ())
    assert (
        rig.suite.collateral.get_loan(link.chain_loan_id).last_value
        < rig.suite.collateral.get_loan(  # type: ignore[arg-type]
            link.chain_loan_id  # type: ignore[arg-type]
        ).baseline_value
    )


def test_missed_payment_beyond_the_allowed_days_triggers_and_a_cure_closes_the_case(rig: OracleRig) -> None:
    rig.service.settle()
    link, _state = _financed(rig)[0]
    rig.scenario("loans", scenario="missed_payment", loan=link.loan_ref, days_overdue=45)
    rig.service.settle()
    assert _case_of(rig, link) == (CaseState.WATCH, (Cause.OVERDUE_WATCH,))
    rig.scenario("loans", scenario="missed_payment", loan=link.loan_ref, days_overdue=95)
    rig.service.settle()
    state, causes = _case_of(rig, link)
    assert state == CaseState.TRIGGERED
    assert Cause.OVERDUE_BREACH in causes
    rig.scenario("loans", scenario="cure", loan=link.loan_ref)
    rig.service.settle()
    assert _case_of(rig, link)[0] == CaseState.CURED
    assert rig.suite.collateral.get_loan(link.chain_loan_id).days_overdue == 0  # type: ignore[arg-type]
    assert_all_on_chain(rig, verify_every=25)


def test_geofence_exit_is_an_alert_with_evidence_and_a_case(rig: OracleRig) -> None:
    rig.service.settle()
    link, _state = _financed(rig)[1]
    rig.scenario("telematics", scenario="geofence_exit", vin=link.vin)
    rig.advance(600)  # two more reports from outside the region: still one alert
    rig.service.settle()
    state, causes = _case_of(rig, link)
    assert state == CaseState.TRIGGERED
    assert causes == (Cause.TELEMATICS_BREACH,)
    with Session(rig.engine) as session:
        alerts = session.exec(
            select(SourceRecord).where(SourceRecord.vin == link.vin, SourceRecord.type == "alert.geofence_exit")
        ).all()
    assert len(alerts) == 1
    assert f'"alert_code":{int(AlertKind.GEOFENCE_EXIT)}' in alerts[0].document
    assert '"severity":"HIGH"' in alerts[0].document
    assert '"box":[' in alerts[0].document
    assert_all_on_chain(rig, verify_every=25)


def test_dmv_seizure_and_transfer_attempt_trigger_and_a_lien_release_closes_the_loan(rig: OracleRig) -> None:
    rig.service.settle()
    (seized, _), (transferred, _), (repaid, _) = _financed(rig)[:3]
    rig.scenario("dmv", scenario="dmv_seizure", vin=seized.vin)
    rig.scenario("dmv", scenario="transfer_attempt", vin=transferred.vin)
    rig.scenario("dmv", scenario="lien_release", vin=repaid.vin)
    rig.service.settle()
    assert _case_of(rig, seized) == (CaseState.TRIGGERED, (Cause.DMV_SEIZURE,))
    assert _case_of(rig, transferred) == (CaseState.TRIGGERED, (Cause.DMV_TRANSFER_ATTEMPT,))
    loan = rig.suite.collateral.get_loan(repaid.chain_loan_id)  # type: ignore[arg-type]
    assert loan.lien_status == LienStatus.RELEASED
    assert rig.suite.collateral.active_loan_of(rig.oracle.subject(repaid.vin)) == 0
    assert_all_on_chain(rig, verify_every=50)


def test_a_minor_crash_puts_the_loan_on_watch_and_a_severe_one_triggers(rig: OracleRig) -> None:
    rig.service.settle()
    (minor, _), (severe, _) = _financed(rig)[:2]
    rig.scenario("telematics", scenario="crash", vin=minor.vin, severity="minor")
    rig.scenario("telematics", scenario="crash", vin=severe.vin, severity="severe")
    rig.service.settle()
    assert _case_of(rig, minor) == (CaseState.WATCH, (Cause.TELEMATICS_WATCH,))
    state, causes = _case_of(rig, severe)
    assert state == CaseState.TRIGGERED
    # the crash is a breach, and the vehicle is now valued in poor condition (25% less): a value drop too
    assert set(causes) >= {Cause.TELEMATICS_BREACH, Cause.VALUE_DROP}
    with Session(rig.engine) as session:
        condition = session.get(VehicleState, severe.vin).condition  # type: ignore[union-attr]
    assert condition == "poor"


def test_the_pipeline_on_each_database(rig_on: OracleRig) -> None:
    rig = rig_on
    rig.advance(1800)
    rig.service.settle()
    link, state = _financed(rig)[0]
    rig.scenario("market", scenario="price_shock", region=state.region, percent=-12)
    rig.scenario("telematics", scenario="malformed", kind="wrong_type", count=1)
    rig.advance(300)
    rig.service.settle()
    assert _case_of(rig, link)[0] == CaseState.TRIGGERED
    assert rig.oracle.status()["quarantined"] == {"malformed": 1}
    assert_all_on_chain(rig, verify_every=25)


def test_the_on_chain_value_is_the_median_so_one_outlying_reporter_cannot_open_a_case(rig: OracleRig) -> None:
    rig.service.settle()
    collateral = rig.suite.collateral
    assert (collateral.valuation_policy().quorum, rig.oracle.settings.price_reporters) == (2, 3)
    link, state = _financed(rig)[0]
    subject = rig.oracle.subject(link.vin)
    honest = collateral.valuation_of(subject).value
    rogue = rig.oracle.signers["price-3"].address
    tx = collateral.report_valuation(rig.oracle.outbox, key="rogue-report", sender=rogue, subject=subject,
                                     value=honest // 2, evidence_digest="0x" + "ab" * 32)  # fmt: skip
    rig.service.settle()
    assert collateral.events(rig.oracle.outbox.wait(tx.idempotency_key), "ValuationReported")
    assert _case_of(rig, link) == (CaseState.NONE, ())  # median of (v, v, v/2) is v
    assert collateral.valuation_of(subject).value == honest
    rig.scenario("market", scenario="price_shock", region=state.region, percent=-9)
    rig.service.settle()  # all three honest reporters report the fall: the median moves
    assert _case_of(rig, link)[0] == CaseState.TRIGGERED
    assert collateral.valuation_of(subject).value < honest * 92 // 100


class _Scrap:
    """Values every car at 1 yuan: every loan is under water, so the contract refuses to register any."""

    version = "scrap-v1"

    def estimate(self, facts: object) -> float:
        return 1.0


def test_a_lien_of_a_loan_the_chain_refused_is_not_waited_for(rig: OracleRig) -> None:
    rig.oracle.estimator = _Scrap()
    rig.service.settle()
    with Session(rig.engine) as session:
        actions = session.exec(select(ChainAction)).all()
    registers = [a for a in actions if a.action == "register_loan"]
    liens = [a for a in actions if a.action == "confirm_lien"]
    assert registers
    assert {(a.status, a.note) for a in registers} == {(ActionStatus.FAILED, "reverted: CollateralInvalidAmounts")}
    assert liens
    assert {(a.status, a.note) for a in liens} == {
        (ActionStatus.SKIPPED, "the bank's loan was not registered on chain: no lien to confirm")
    }
    assert_all_on_chain(rig, verify_every=50)  # the lien records went into batches instead
