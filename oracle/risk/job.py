"""Scoring the oracle's vehicles on a schedule and on new evidence; anchoring a change beyond a threshold.

:class:`RiskScorer` ``run()`` is one job of the oracle service (``risk``), safe to run again at any time:

1. the model in use is anchored once: an attestation of kind :data:`RISK_MODEL_KIND` whose digest is the parameters
   file's digest (unsalted, so anyone holding the file can check it), about the subject :data:`MODEL_SUBJECT`;
2. every vehicle with evidence newer than its last score, or not scored for ``rescore_interval``, is scored again
   (``oracle_risk_score`` keeps every distinct score: the history);
3. a score that moved at least ``anchor_threshold`` points from the vehicle's last anchored one (or the first) is
   anchored: its salted document (inputs, records, breakdown, model version and digest) is stored and its digest
   attested under kind :data:`RISK_SCORE_KIND`; when the vehicle carries a loan with an active lien and the score
   is under the contract's ``riskWatchScore``, ``reportRiskWarning`` cites the same digest, and the contract puts the
   case on watch (never triggers it).

Writes go through the outbox under keys derived from the document's digest, so a restart writes nothing twice.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from eth_utils.crypto import keccak
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from node_adapter.clients import LienStatus, RegistryClient, Role
from node_adapter.encoding import SaltedDocument, canonical_json
from node_adapter.outbox import Outbox, TxStatus
from node_adapter.shared.risk import AnchorStatus, RiskModelRow, RiskScoreRow, create_risk_schema
from oracle.pipeline import REPORT_GAS_LIMIT, Oracle
from oracle.risk.evidence import evidence_mark, vehicle_inputs
from oracle.risk.model import (
    ModelParameters,
    RiskModelError,
    RiskScore,
    compute_score,
    get_model,
    score_document,
)
from oracle.risk.settings import RiskSettings
from oracle.store import LoanLink, VehicleState

logger = logging.getLogger(__name__)

RISK_SCORE_KIND = 205
"""Attestation kind of an anchored risk score (its digest: the salted score document's)."""
RISK_MODEL_KIND = 206
"""Attestation kind of a risk model's parameters file (its digest: the file's canonical digest)."""
RISK_KIND_ROLES = {RISK_SCORE_KIND: Role.TELEMATICS_ORACLE, RISK_MODEL_KIND: Role.TELEMATICS_ORACLE}
"""Who may attest the risk kinds on a dev chain (the telematics oracle signs for the risk score there)."""
MODEL_SUBJECT = "0x" + keccak(b"consortium.risk.model").hex()
"""The subject the models are attested about (not a vehicle)."""


class RiskScorer:
    """The ``risk`` job of the oracle service."""

    def __init__(self, oracle: Oracle, settings: RiskSettings | None = None) -> None:
        self.oracle = oracle
        self.settings = settings or RiskSettings()
        self.model: ModelParameters = get_model(self.settings.model_version, self.settings.model_dirs())
        if self.settings.signer not in oracle.signers:
            raise ValueError(f"the risk signer {self.settings.signer!r} is not one of the oracle's signers")
        self.sender = oracle.signers[self.settings.signer].address
        create_risk_schema(oracle.engine)

    # ------------------------------------------------------------------------------------------------ the job

    def run(self) -> int:
        """Anchor the model, follow anchored scores, score the vehicles that need it; how much moved."""
        registry = self.oracle.suite.registry
        if not all(registry.get_kind(kind).kind.exists for kind in RISK_KIND_ROLES):
            logger.warning("risk kinds %s are not registered on chain: scores are kept but not anchored",
                           sorted(RISK_KIND_ROLES))  # fmt: skip
            return self._anchor_model(anchor=False) + self._score_all(anchor=False)
        moved = self._anchor_model() + self._follow_models() + self._follow()
        return moved + self._score_all(anchor=True) + self._late_warnings()

    def _anchor_model(self, *, anchor: bool = True) -> int:
        oracle = self.oracle
        return anchor_model(
            oracle.engine, oracle.outbox, oracle.suite.registry, sender=self.sender, model=self.model, anchor=anchor
        )

    def _follow_models(self) -> int:
        """Models published by a calibration: their rows follow their anchoring."""
        with Session(self.oracle.engine, expire_on_commit=False) as session:
            rows = session.exec(select(RiskModelRow).where(RiskModelRow.status == AnchorStatus.QUEUED)).all()
        moved = 0
        for row in rows:
            tx = self.oracle.outbox.get(model_key(row.digest))
            if tx is None or not tx.status.final:
                continue
            row.status = _status(tx.status)
            with Session(self.oracle.engine) as session:
                session.add(row)
                session.commit()
            moved += 1
        return moved

    def _follow(self) -> int:
        moved = 0
        with Session(self.oracle.engine, expire_on_commit=False) as session:
            rows = session.exec(select(RiskScoreRow).where(RiskScoreRow.status == AnchorStatus.QUEUED)).all()
        for row in rows:
            tx = self.oracle.outbox.get(_attest_key(row.digest))
            if tx is None:  # stopped between storing the score and writing it: write it now
                self._write(row)
                continue
            status = _status(tx.status)
            warning = self.oracle.outbox.get(_warning_key(row.digest))
            if warning is not None and warning.status.final:
                row.warning = "confirmed" if warning.status == TxStatus.CONFIRMED else (
                    f"failed: {warning.error_name or warning.error_message or warning.status}"
                )  # fmt: skip
            if status == AnchorStatus.QUEUED or (warning is not None and not warning.status.final):
                continue
            row.status = status
            with Session(self.oracle.engine) as session:
                session.add(row)
                session.commit()
            moved += 1
        return moved

    def _score_all(self, *, anchor: bool) -> int:
        now = self.oracle.clock()
        stored = 0
        with Session(self.oracle.engine, expire_on_commit=False) as session:
            vehicles = session.exec(select(VehicleState).order_by(col(VehicleState.vin))).all()
        for state in vehicles:
            with Session(self.oracle.engine, expire_on_commit=False) as session:
                mark = evidence_mark(session, state.vin)
                last = _latest(session, state.vin)
                if (
                    last is not None
                    and last.evidence_mark == mark
                    and last.model_version == self.model.version
                    and now - _aware(last.checked_at) < timedelta(seconds=self.settings.rescore_interval)
                ):
                    continue
                inputs, records = vehicle_inputs(
                    self.oracle, session, state, position_window=self.settings.position_window
                )
                result = compute_score(inputs, self.model, records)
                if last is not None and last.model_version == self.model.version and _same(last, inputs, result.score):
                    last.evidence_mark, last.checked_at = mark, now
                    session.add(last)
                    session.commit()
                    continue
                anchored = _latest(session, state.vin, anchored=True)
                due = anchor and (
                    anchored is None
                    or abs(result.score - anchored.score) >= round(self.settings.anchor_threshold * 100)
                )
                row = score_row(
                    vin=state.vin,
                    subject=state.subject,
                    inputs=inputs,
                    records=records,
                    result=result,
                    at=now,
                    evidence_mark=mark,
                    queued=due,
                )
                session.add(row)
                session.commit()
            if due:
                self._write(row)
            stored += 1
        return stored

    def _late_warnings(self) -> int:
        """A vehicle whose score was anchored before its loan reached the chain (or its lien became active) gets the
        warning of that score once the loan is there: the contract then sees the score the loan started with."""
        moved = 0
        with Session(self.oracle.engine, expire_on_commit=False) as session:
            vins = session.exec(select(LoanLink.vin).where(col(LoanLink.chain_loan_id).is_not(None))).all()
            rows = [_latest(session, vin, anchored=True) for vin in sorted(set(vins))]
        for row in rows:
            if row is None or row.status != AnchorStatus.CONFIRMED or not (row.warning or "").startswith(_NO_LOAN):
                continue
            warning = self._warning(row)
            if warning == row.warning:
                continue
            row.warning = warning
            if warning == "queued":
                row.status = AnchorStatus.QUEUED  # followed until the warning is final
            with Session(self.oracle.engine) as session:
                session.add(row)
                session.commit()
            moved += 1
        return moved

    # ------------------------------------------------------------------------------------------------ chain

    def _write(self, row: RiskScoreRow) -> None:
        """Attest the score's digest, and report a risk warning when the contract would act on it."""
        self.oracle.suite.registry.attest(
            self.oracle.outbox,
            key=_attest_key(row.digest),
            sender=self.sender,
            subject=row.subject,
            kind=RISK_SCORE_KIND,
            digest=row.digest,
        )
        warning = self._warning(row)
        with Session(self.oracle.engine) as session:
            stored = session.get(RiskScoreRow, row.id)
            assert stored is not None
            stored.warning = warning
            session.add(stored)
            session.commit()

    def _warning(self, row: RiskScoreRow) -> str:
        collateral = self.oracle.suite.collateral
        loan_id = collateral.active_loan_of(row.subject)
        if not loan_id or collateral.get_loan(loan_id).lien_status != LienStatus.ACTIVE:
            return _NO_LOAN
        parameters = collateral.parameters()
        if row.score >= parameters.risk_watch_score:
            return f"none: score at or above the watch score {parameters.risk_watch_score}"
        if not self.oracle.suite.membership.has_any_role(self.sender, parameters.risk_reporter_roles):
            return "none: the risk signer holds no role governance allows to report risk warnings"
        collateral.submit(
            self.oracle.outbox,
            key=_warning_key(row.digest),
            sender=self.sender,
            data=collateral.calldata("reportRiskWarning", row.subject, row.score, row.digest),
            gas_limit=REPORT_GAS_LIMIT,
        )
        return "queued"


def anchor_model(
    engine: Engine,
    outbox: Outbox,
    registry: RegistryClient,
    *,
    sender: str,
    model: ModelParameters,
    anchor: bool = True,
) -> int:
    """Publish a model in ``risk_model`` (its parameters, for anyone to read) and anchor its digest once, as an
    attestation of kind :data:`RISK_MODEL_KIND` about :data:`MODEL_SUBJECT` (``anchor``); the row follows the write.
    1 when the row changed. A version names one parameters file: another digest under a published version is refused.
    """
    with Session(engine, expire_on_commit=False) as session:
        row = session.get(RiskModelRow, model.version)
    if row is not None and row.digest != model.digest:
        raise RiskModelError(
            f"model {model.version} was published with digest {row.digest}; these parameters have {model.digest}: "
            "give a new calibration a new version"
        )
    if row is not None and row.status == AnchorStatus.CONFIRMED:
        return 0
    status = AnchorStatus.NOT_ANCHORED
    if anchor:
        key = model_key(model.digest)
        tx = outbox.get(key) or registry.attest(
            outbox, key=key, sender=sender, subject=MODEL_SUBJECT, kind=RISK_MODEL_KIND, digest=model.digest
        )
        status = _status(tx.status)
    if row is not None and row.status == status:
        return 0
    with Session(engine) as session:
        stored = session.get(RiskModelRow, model.version) or RiskModelRow(
            version=model.version, digest=model.digest, parameters=model.canonical().decode()
        )
        stored.status = status
        session.add(stored)
        session.commit()
    return 1


def score_row(
    *,
    vin: str,
    subject: str,
    inputs: dict[str, Any],
    records: dict[str, list[str]],
    result: RiskScore,
    at: datetime,
    evidence_mark: int = 0,
    queued: bool = False,
) -> RiskScoreRow:
    """A score as the history keeps it: its document (inputs, records, breakdown, model), salted, and its digest;
    ``queued``: to be anchored."""
    document = SaltedDocument.create(
        score_document(
            inputs=inputs,
            records=records,
            result=result,
            vin=vin,
            subject=subject,
            computed_at=at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        )
    )
    return RiskScoreRow(
        vin=vin,
        subject=subject,
        computed_at=at,
        checked_at=at,
        score=result.score,
        partial=result.partial,
        model_version=result.model_version,
        evidence_mark=evidence_mark,
        document=canonical_json(document.salted_document()).decode(),
        digest="0x" + document.digest.hex(),
        status=AnchorStatus.QUEUED if queued else AnchorStatus.NOT_ANCHORED,
    )


def model_key(digest: str) -> str:
    """The outbox key of a model's anchoring."""
    return f"oracle:risk-model:{digest}"


_NO_LOAN = "none: no loan with an active lien on the vehicle"


def _attest_key(digest: str) -> str:
    return f"oracle:risk-score:{digest}"


def _warning_key(digest: str) -> str:
    return f"oracle:risk-warning:{digest}"


def _status(tx_status: TxStatus | None) -> AnchorStatus:
    if tx_status is None or not tx_status.final:
        return AnchorStatus.QUEUED
    return AnchorStatus.CONFIRMED if tx_status == TxStatus.CONFIRMED else AnchorStatus.FAILED


def _latest(session: Session, vin: str, *, anchored: bool = False) -> RiskScoreRow | None:
    query = select(RiskScoreRow).where(RiskScoreRow.vin == vin)
    if anchored:
        query = query.where(RiskScoreRow.status != AnchorStatus.NOT_ANCHORED)
    return session.exec(query.order_by(col(RiskScoreRow.id).desc())).first()


def _same(row: RiskScoreRow, inputs: dict[str, Any], score: int) -> bool:
    return row.score == score and json.loads(row.document).get("inputs") == json.loads(json.dumps(inputs))


def _aware(moment: datetime) -> datetime:
    """Times are stored in UTC; SQLite hands them back without a zone."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
