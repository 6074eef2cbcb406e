"""Refitting the score on outcomes in the read model, built on a real chain: loans registered, scored and anchored, then
cured, disposed of or left to run clean through the collateral contract, indexed, and calibrated on; and recomputing an
anchored score by its digest."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, col, select
from typer.testing import CliRunner
from web3 import Web3

from node_adapter.clients import STANDARD_TERMS, CaseState
from node_adapter.dev.devchain import increase_time
from node_adapter.dev.localchain import DEV_MNEMONIC, LocalChain, dev_accounts
from node_adapter.outbox import Outbox, OutboxTx
from node_adapter.settings import get_settings
from node_adapter.shared.risk import CalibrationResult, RiskCalibrationRun, RiskScoreRow, create_risk_schema
from oracle.risk.cli import app
from oracle.risk.job import RISK_MODEL_KIND, RISK_SCORE_KIND, anchor_model, score_row
from oracle.risk.model import compute_score, get_model, load_parameters
from oracle.risk.outcomes import RiskCalibrator, refit
from oracle.risk.portfolio import SimulatedLoan, simulate_portfolio
from oracle.risk.settings import RiskSettings
from oracle.service import OracleService
from oracle.tools.devsetup import DEV_AGENCY
from tests.oracle.conftest import OracleRig, make_rig

TERMS = STANDARD_TERMS.model_copy(update={"cure_period": 3 * 86_400})
PLAN = {"disposal": 16, "cured": 8, "clean": 24}
"""Loans of each outcome the read model gets (drawn from the simulated portfolio's loans of that outcome)."""


@dataclass
class Book:
    rig: OracleRig
    models_dir: Path
    loans: dict[int, SimulatedLoan]
    late: int
    """A loan that went to disposal whose only score was anchored after its case was triggered."""
    pending: int
    """A loan whose case is still in progress."""


def _send(rig: OracleRig, tag: str, items: list[Any], write: Callable[[Outbox, str, Any], OutboxTx]) -> list[OutboxTx]:
    """Queue ``write(outbox, key, item)`` for each item, run them to confirmation, return them confirmed."""
    outbox = rig.oracle.outbox
    keys = [write(outbox, f"test:{tag}:{n}", item).idempotency_key for n, item in enumerate(items)]
    rig.service.worker.drain()
    return [tx.raise_for_status() for tx in outbox.wait_all(keys)]


@pytest.fixture
def book(chain: LocalChain, w3: Web3, tmp_path: Path) -> Iterator[Book]:
    for rig in make_rig(chain, w3, tmp_path, fleet=1):
        yield _build(rig, w3, tmp_path / "models")


def _build(rig: OracleRig, w3: Web3, models_dir: Path) -> Book:
    create_risk_schema(rig.engine)  # the oracle's risk job creates it; here the scores are made by hand
    portfolio = simulate_portfolio(3, 900)
    chosen = [loan for outcome, n in PLAN.items() for loan in [p for p in portfolio if p.outcome == outcome][:n]]
    extra = [p for p in portfolio if p.outcome == "disposal"][PLAN["disposal"] : PLAN["disposal"] + 2]
    chosen += extra  # the late-scored disposal, and the case left in progress
    collateral, registry = rig.suite.collateral, rig.suite.registry
    bank, dmv, telematics = (rig.oracle.signers[n].address for n in ("bank", "dmv", "telematics"))
    subjects = [rig.oracle.subject(f"LSVCAL{n:011d}") for n in range(len(chosen))]

    def register(outbox: Outbox, key: str, subject: str) -> OutboxTx:
        return collateral.register_loan(
            outbox,
            key=key,
            sender=bank,
            subject=subject,
            principal=100_000,
            outstanding=50_000,
            baseline_value=200_000,
            terms=TERMS,
            evidence_digest="0x" + "01" * 32,
        )

    ids = [collateral.loan_id_of(tx) for tx in _send(rig, "register", subjects, register)]
    _send(
        rig,
        "lien",
        ids,
        lambda o, k, i: collateral.confirm_lien(o, key=k, sender=dmv, loan_id=i, evidence_digest="0x" + "02" * 32),
    )

    model = get_model(RiskSettings().model_version)
    now = datetime.now(UTC)
    rows = [
        score_row(
            vin=f"LSVCAL{n:011d}",
            subject=s,
            inputs=loan.inputs,
            records={},
            result=compute_score(loan.inputs, model),
            at=now,
        )
        for n, (s, loan) in enumerate(zip(subjects, chosen, strict=True))
    ]
    with Session(rig.engine) as session:
        session.add_all(rows)
        session.commit()
        for row in rows:
            session.refresh(row)

    def anchor(outbox: Outbox, key: str, row: RiskScoreRow) -> OutboxTx:
        return registry.attest(
            outbox, key=key, sender=telematics, subject=row.subject, kind=RISK_SCORE_KIND, digest=row.digest
        )

    def repayment(days: int) -> Callable[[Outbox, str, int], OutboxTx]:
        return lambda o, k, i: collateral.report_repayment(
            o, key=k, sender=bank, loan_id=i, days_overdue=days, outstanding=50_000, evidence_digest="0x" + "03" * 32
        )

    def repossess(outbox: Outbox, key: str, loan_id: int) -> OutboxTx:
        case_id = collateral.get_loan(loan_id).case_id
        return collateral.order_repossession(
            outbox, key=key, sender=bank, case_id=case_id, agency_member_id=agency, evidence_digest="0x" + "04" * 32
        )

    late, pending = ids[-2], ids[-1]
    anchor_model(rig.engine, rig.oracle.outbox, registry, sender=telematics, model=model)  # as the risk job does
    _send(rig, "score", rows[:-2] + rows[-1:], anchor)
    overdue = [i for i, loan in zip(ids, chosen, strict=True) if loan.outcome in ("disposal", "cured")]
    _send(rig, "overdue", overdue, repayment(120))  # a breach: each case is triggered
    cured = [i for i, loan in zip(ids, chosen, strict=True) if loan.outcome == "cured"]
    _send(rig, "cure", cured, repayment(0))
    _send(rig, "late-score", rows[-2:-1], anchor)  # anchored only after its case was triggered
    increase_time(w3, TERMS.cure_period + 1)
    agency = rig.suite.membership.member_of(dev_accounts(DEV_AGENCY + 1, DEV_MNEMONIC)[DEV_AGENCY].address)
    disposed = [i for i in overdue if i not in cured and i != pending]
    _send(rig, "repossess", disposed, repossess)
    assert collateral.get_case(collateral.get_loan(disposed[0]).case_id).state == CaseState.REPOSSESSION_ORDERED
    assert collateral.get_case(collateral.get_loan(pending).case_id).state == CaseState.TRIGGERED
    increase_time(w3, 181 * 86_400)  # the loans never triggered have now run clean long enough
    rig.runtime.indexer().sync()
    return Book(rig, models_dir, dict(zip(ids, chosen, strict=True)), late, pending)


def _settings(book: Book, **values: Any) -> RiskSettings:
    defaults: dict[str, Any] = {"calibration_min_outcomes": 40, "calibration_min_each": 10}
    return RiskSettings(models_dir=book.models_dir, **(defaults | values))


def _refit(book: Book, settings: RiskSettings) -> Any:
    rig = book.rig
    return refit(
        engine=rig.engine,
        outbox=rig.oracle.outbox,
        suite=rig.suite,
        sender=rig.oracle.signers["telematics"].address,
        settings=settings,
        models_dir=book.models_dir,
    )


def test_a_refit_on_the_read_models_outcomes_is_published_anchored_and_reported(book: Book) -> None:
    rig = book.rig
    report = _refit(book, _settings(book))
    assert report.result == CalibrationResult.PUBLISHED, report.message
    assert report.counts == {**PLAN, "pending": 1, "without_score": 1}
    model = report.model
    assert model is not None
    assert model.version.startswith("r1.rm.n48.")
    figures = model.calibration
    assert (figures.loans, figures.train + figures.held_out, figures.held_out) == (48, 48, 14)
    assert figures.bad_rate == round(16 / 48, 4)
    assert 0.0 <= figures.auc <= 1.0
    assert 0.0 <= figures.baseline_auc <= 1.0
    assert 0.0 < figures.ks <= 1.0
    assert "read model outcomes" in figures.data
    assert "simulators'" in figures.data, "a dev chain's loans are said to be simulated"
    assert report.file == book.models_dir / f"{model.version}.json"
    assert load_parameters(report.file).digest == model.digest
    assert get_model(model.version, (book.models_dir,)).digest == model.digest, "the scorer can use the new version"

    rig.service.worker.drain()
    record = rig.suite.registry.get_record(model.digest).record
    assert (record.kind, record.attester) == (RISK_MODEL_KIND, rig.oracle.signers["telematics"].address)

    again = _refit(book, _settings(book))
    assert again.result == CalibrationResult.UNCHANGED, "the same outcomes give the same model: nothing new"
    assert again.model is not None
    assert again.model.digest == model.digest
    assert rig.oracle.outbox.backlog().get("queued", 0) == 0, "nothing is anchored twice"

    refused = _refit(book, _settings(book, calibration_min_outcomes=60))
    assert refused.result == CalibrationResult.REFUSED
    assert "too few outcomes" in refused.message
    assert "48 loans" in refused.message
    assert "at least 60" in refused.message
    assert refused.model is None
    assert sorted(p.name for p in book.models_dir.iterdir()) == [f"{model.version}.json"]
    with Session(rig.engine) as session:
        runs = session.exec(select(RiskCalibrationRun).order_by(col(RiskCalibrationRun.id))).all()
    assert [r.result for r in runs] == ["published", "unchanged", "refused"]
    assert json.loads(runs[-1].counts)["disposal"] == 16

    # the oracle service runs the same refit as a job of its own, on a monthly calendar
    settings = _settings(book, calibration_min_outcomes=45)
    calibrator = RiskCalibrator(
        rig.engine, rig.oracle.outbox, rig.suite, rig.oracle.signers["telematics"].address, settings
    )
    trigger = settings.calibration_trigger()
    assert trigger is not None
    service = OracleService(rig.oracle, rig.service.worker, calibration=(calibrator, trigger))
    assert "risk:calibrate" not in service.steps, "settling the feeds never refits"
    assert service.run("risk:calibrate") == 0, "the same outcomes publish nothing new"
    assert rig.oracle.status()["feeds"]["risk:calibrate"]["failures"] == 0
    with Session(rig.engine) as session:
        last = session.exec(select(RiskCalibrationRun).order_by(col(RiskCalibrationRun.id).desc())).first()
    assert last is not None
    assert (last.result, last.model_version) == ("unchanged", model.version)
    service.start()
    try:
        assert service._scheduler is not None
        job = service._scheduler.get_job("risk:calibrate")
        assert job is not None
        assert str(job.trigger) == "cron[month='*', day='1', day_of_week='*', hour='3', minute='0']"
        assert (job.next_run_time.day, job.next_run_time.hour, job.next_run_time.minute) == (1, 3, 0)
        assert job.misfire_grace_time == 86_400
    finally:
        service.stop()


def test_the_command_refits_and_recomputes_an_anchored_score_by_its_digest(
    book: Book, monkeypatch: pytest.MonkeyPatch
) -> None:
    rig = book.rig
    node = rig.runtime.settings
    for name, value in {
        "NODE_ADAPTER_RPC_URLS": json.dumps(node.rpc_urls),
        "NODE_ADAPTER_STATE_DIR": str(node.state_dir),
        "NODE_ADAPTER_NETWORK": node.network,
        "ORACLE_RISK_MODELS_DIR": str(book.models_dir),
    }.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    runner = CliRunner()
    try:
        refused = runner.invoke(app, ["calibrate", "--from-read-model", "--min-outcomes", "500", "--json"])
        assert refused.exit_code == 1, refused.output
        assert json.loads(refused.stdout)["result"] == "refused"

        done = runner.invoke(app, ["calibrate", "--from-read-model", "--min-outcomes", "40", "--min-each", "10"])
        assert done.exit_code == 0, done.output
        assert "published" in done.stdout
        assert "read model outcomes" in done.stdout
        [written] = list(book.models_dir.iterdir())
        digest = load_parameters(written).digest
        assert rig.suite.registry.get_record(digest).record.kind == RISK_MODEL_KIND, "the command waits for it"

        with Session(rig.engine) as session:
            scores = {r.subject: r for r in session.exec(select(RiskScoreRow)).all()}
        loan = next(iter(book.loans))
        anchored = scores[rig.suite.collateral.get_loan(loan).subject]
        checked = runner.invoke(app, ["recompute", anchored.digest, "--json"])
        assert checked.exit_code == 0, checked.output
        result = json.loads(checked.stdout)
        assert result["matches"] is True
        assert result["recomputed_score"] == anchored.score
        assert result["chain"]["kind"] == RISK_SCORE_KIND
        assert result["chain"]["attester"] == rig.oracle.signers["telematics"].address

        never = scores[rig.suite.collateral.get_loan(book.late).subject]
        with Session(rig.engine) as session:  # a score that was kept but never anchored
            row = session.get(RiskScoreRow, never.id)
            assert row is not None
            unanchored = score_row(
                vin=row.vin,
                subject=row.subject,
                inputs=json.loads(row.document)["inputs"],
                records={},
                result=compute_score(json.loads(row.document)["inputs"], get_model(row.model_version)),
                at=datetime.now(UTC),
            )
            session.add(unanchored)
            session.commit()
            session.refresh(unanchored)
        missing = runner.invoke(app, ["recompute", unanchored.digest])
        assert missing.exit_code == 1
        assert "not anchored" in missing.stdout
        assert "DOES NOT MATCH" in missing.stdout

        unknown = runner.invoke(app, ["recompute", "0x" + "ee" * 32])
        assert "no risk score with digest" in str(unknown.exception)
    finally:
        get_settings.cache_clear()
