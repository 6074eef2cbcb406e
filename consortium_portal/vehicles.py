"""Verifying a vehicle: everything the chain says about it, from the read model, each fact with its status.

A bank asks by VIN; the portal turns the VIN into its subject id with the consortium key (outsiders cannot), then
reads the read model the indexer folds from chain events: attestations by kind and attester (valid, revoked,
expired, disputed or invalidated), the odometer timeline, loans with their lien and case and every step of it, and
the reports (repayments, valuations, telematics alerts, DMV events) behind them. Only chain facts and digests are
shown: no document content, which stays with those allowed to see it.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, Field
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from consortium_portal.errors import InvalidInputError, NotFoundError
from consortium_portal.models import IntakeScan
from node_adapter.clients import AlertKind, DmvEventKind, Severity
from node_adapter.encoding import subject_id, validate_vin
from node_adapter.exceptions import EncodingError
from node_adapter.indexer import IndexerCheckpoint
from node_adapter.readmodel import (
    AttestationView,
    CaseTransitionView,
    CaseView,
    DisputeView,
    LoanView,
    MemberAccountView,
    ReportView,
)

RecordStatus = Literal["valid", "revoked", "expired", "disputed", "invalidated", "invalid_ref"]
CLOSED_CASE_STATES = frozenset({"none", "cured", "settled"})


class AttestationFact(BaseModel):
    uid: str
    kind: int
    attester: str
    attester_member_id: int | None
    ref: str | None
    expiry: int
    time: int
    block_number: int
    tx_hash: str
    reading: int | None
    rollback: bool
    status: RecordStatus
    superseded_by: str | None
    open_dispute: int | None
    flags: list[str] = Field(
        default_factory=list, description="DMV cross-checks the record failed and its attester attested despite"
    )


class OdometerPoint(BaseModel):
    time: int
    reading: int
    uid: str
    rollback: bool
    status: RecordStatus


class ReportFact(BaseModel):
    report: str
    loan_id: int
    reporter_member_id: int | None
    detail: dict[str, object]
    evidence_digest: str
    time: int
    block_number: int
    tx_hash: str


class AlertFact(ReportFact):
    alert: str
    severity: str
    open: bool


class CaseStep(BaseModel):
    from_state: str
    to_state: str
    evidence_digest: str
    time: int
    block_number: int
    tx_hash: str

    @classmethod
    def of(cls, row: CaseTransitionView) -> CaseStep:
        return cls(
            from_state=row.from_state,
            to_state=row.to_state,
            evidence_digest=row.evidence_digest,
            time=row.block_time,
            block_number=row.block_number,
            tx_hash=row.tx_hash,
        )


class CaseFact(BaseModel):
    case_id: int
    state: str
    agency_member_id: int | None
    deadline: int | None
    appraised_value: str | None
    sale_price: str | None
    escalations: int
    steps: list[CaseStep]


class LoanFact(BaseModel):
    loan_id: int
    bank_member_id: int
    lien_status: str
    principal: str
    outstanding: str
    baseline_value: str
    last_value: str | None
    days_overdue: int
    active: bool
    cases: list[CaseFact]


class VehicleReport(BaseModel):
    """What the chain says about one vehicle, as of ``as_of_block`` of the read model."""

    vin: str
    subject: str
    as_of_block: int | None = Field(description="The last block the read model has folded in.")
    lien_status: str = Field(description="The active loan's lien: none, pending or active.")
    attestations: list[AttestationFact]
    attestations_by_kind: dict[int, dict[str, int]] = Field(description="kind -> status -> count")
    odometer: list[OdometerPoint]
    alerts: list[AlertFact]
    reports: list[ReportFact]
    loans: list[LoanFact]


def subject_of(vin: str, key: bytes) -> tuple[str, str]:
    """(normalised VIN, subject id); a clear 422 for anything that is not a VIN."""
    try:
        normalised = validate_vin(vin, check_digit=False)
    except EncodingError as exc:
        raise InvalidInputError(f"not a VIN: {exc}") from None
    return normalised, "0x" + subject_id(normalised, key).hex()


@dataclass
class _Rows:
    attestations: list[AttestationView]
    referenced: dict[str, AttestationView]
    disputes: dict[str, DisputeView]
    members: dict[str, int]
    loans: list[LoanView]
    cases: list[CaseView]
    steps: list[CaseTransitionView]
    reports: list[ReportView]
    as_of_block: int | None


def vehicle_report(
    *, engine: Engine, vin: str, key: bytes, now: float | None = None, indexer: str | None = None
) -> VehicleReport:
    """The vehicle's report; :class:`NotFoundError` when the chain knows nothing of it. ``now`` is the chain's time
    (the latest block's), which expiry is judged by, as the registry's ``isValid`` does; ``indexer`` names the
    read model's indexer whose checkpoint ``as_of_block`` reports."""
    normalised, subject = subject_of(vin, key)
    with Session(engine) as session:
        rows = _load(session, subject, indexer)
    if not rows.attestations and not rows.loans:
        raise NotFoundError(f"the chain holds no record of VIN {normalised[:3]}...{normalised[-4:]}")
    facts = _attestation_facts(rows, int(now if now is not None else time.time()))
    for uid, flags in flags_of(engine, [f.uid for f in facts]).items():  # intake: DMV mismatches attested despite
        next(f for f in facts if f.uid == uid).flags = flags
    by_kind: dict[int, dict[str, int]] = {}
    for fact in facts:
        counts = by_kind.setdefault(fact.kind, {})
        counts[fact.status] = counts.get(fact.status, 0) + 1
    active = next((loan for loan in rows.loans if loan.lien_status in ("pending", "active")), None)
    alerts, reports = _report_facts(rows, active)
    return VehicleReport(
        vin=normalised,
        subject=subject,
        as_of_block=rows.as_of_block,
        lien_status=active.lien_status if active is not None else "none",
        attestations=facts,
        attestations_by_kind=by_kind,
        odometer=[
            OdometerPoint(time=f.time, reading=f.reading, uid=f.uid, rollback=f.rollback, status=f.status)
            for f in facts
            if f.reading is not None
        ],
        alerts=alerts,
        reports=reports,
        loans=_loan_facts(rows, active),
    )


def flags_of(engine: Engine, digests: list[str]) -> dict[str, list[str]]:
    """The DMV flags of the records attested from intake scans among ``digests`` (those that carry any): the
    mismatches with the DMV's records the member attested despite (``intake/service.py`` writes them)."""
    if not digests:
        return {}
    with Session(engine) as session:
        rows = session.exec(
            select(IntakeScan.document_digest, IntakeScan.flags).where(col(IntakeScan.document_digest).in_(digests))
        ).all()
    return {digest: json.loads(flags) for digest, flags in rows if digest is not None and flags != "[]"}


def _load(session: Session, subject: str, indexer: str | None) -> _Rows:
    attestations = list(
        session.exec(
            select(AttestationView)
            .where(AttestationView.subject == subject)
            .order_by(col(AttestationView.block_number))
        ).all()
    )
    uids = [row.uid for row in attestations]
    refs = {row.ref for row in attestations if row.ref} - set(uids)
    loans = list(session.exec(select(LoanView).where(LoanView.subject == subject).order_by(col(LoanView.loan_id))))
    cases = list(
        session.exec(
            select(CaseView)
            .where(col(CaseView.loan_id).in_([loan.loan_id for loan in loans]))
            .order_by(col(CaseView.case_id))
        )
    )
    attesters = {row.attester for row in attestations}
    if indexer is not None:  # the deployment's own indexer
        checkpoint = session.get(IndexerCheckpoint, indexer)
    else:
        checkpoint = session.exec(
            select(IndexerCheckpoint).order_by(col(IndexerCheckpoint.block_number).desc())
        ).first()
    return _Rows(
        attestations=attestations,
        referenced=_referenced(session, refs),
        disputes={
            d.uid: d
            for d in session.exec(
                select(DisputeView).where(col(DisputeView.uid).in_(uids), DisputeView.state == "open")
            )
        },
        members={
            a.account: a.member_id
            for a in session.exec(select(MemberAccountView).where(col(MemberAccountView.account).in_(attesters)))
        },
        loans=loans,
        cases=cases,
        steps=list(
            session.exec(
                select(CaseTransitionView)
                .where(col(CaseTransitionView.case_id).in_([c.case_id for c in cases]))
                .order_by(col(CaseTransitionView.id))
            )
        ),
        reports=list(
            session.exec(select(ReportView).where(ReportView.subject == subject).order_by(col(ReportView.id)))
        ),
        as_of_block=checkpoint.block_number if checkpoint is not None else None,
    )


def _referenced(session: Session, refs: set[str]) -> dict[str, AttestationView]:
    """Every record the vehicle's records refer to, directly or through others (of any vehicle), by uid."""
    found: dict[str, AttestationView] = {}
    wanted = set(refs)
    while wanted:
        rows = session.exec(select(AttestationView).where(col(AttestationView.uid).in_(sorted(wanted)))).all()
        found.update({row.uid: row for row in rows})
        wanted = {row.ref for row in rows if row.ref} - set(found) - wanted
    return found


def _attestation_facts(rows: _Rows, moment: int) -> list[AttestationFact]:
    by_uid = {row.uid: row for row in rows.attestations} | rows.referenced
    statuses: dict[str, RecordStatus] = {}

    def own(row: AttestationView) -> RecordStatus | None:
        """The status the record has by itself (None: valid, unless its references fail)."""
        if row.invalidated:
            return "invalidated"
        if row.revoked_at is not None:
            return "revoked"
        if row.expiry and row.expiry <= moment:  # as the registry's isValid: expired at the expiry second
            return "expired"
        return None

    def status(uid: str) -> RecordStatus:
        # Walk the references to the first record already judged, or the end (no recursion: a chain may be long;
        # a reference points at an older record, so the walk ends, and a uid seen twice ends it too).
        walk: list[str] = []
        seen: set[str] = set()
        at: str | None = uid
        while at is not None and at not in statuses and at not in seen:
            walk.append(at)
            seen.add(at)
            row = by_uid.get(at)
            at = row.ref if row is not None and row.ref else None
        verdict: RecordStatus | None = statuses.get(at) if at is not None else None
        for step in reversed(walk):
            row = by_uid.get(step)
            if row is None:
                result: RecordStatus = "invalid_ref"
            elif (mine := own(row)) is not None:
                result = mine
            elif row.ref and (verdict is None or verdict not in ("valid", "disputed")):
                result = "invalid_ref"
            elif step in rows.disputes:
                result = "disputed"
            else:
                result = "valid"
            statuses[step] = verdict = result
        return statuses[uid]

    return [
        AttestationFact(
            uid=row.uid,
            kind=row.kind,
            attester=row.attester,
            attester_member_id=rows.members.get(row.attester),
            ref=row.ref,
            expiry=row.expiry,
            time=row.block_time,
            block_number=row.block_number,
            tx_hash=row.tx_hash,
            reading=int(row.reading) if row.reading is not None else None,
            rollback=row.rollback,
            status=status(row.uid),
            superseded_by=row.superseded_by,
            open_dispute=rows.disputes[row.uid].dispute_id if row.uid in rows.disputes else None,
        )
        for row in rows.attestations
    ]


def _loan_facts(rows: _Rows, active: LoanView | None) -> list[LoanFact]:
    steps_of: dict[int, list[CaseStep]] = {}
    for step in rows.steps:
        steps_of.setdefault(step.case_id, []).append(CaseStep.of(step))
    cases_of: dict[int, list[CaseFact]] = {}
    for case in rows.cases:
        cases_of.setdefault(case.loan_id, []).append(
            CaseFact(
                case_id=case.case_id,
                state=case.state,
                agency_member_id=case.agency_member_id,
                deadline=case.deadline,
                appraised_value=case.appraised_value,
                sale_price=case.sale_price,
                escalations=case.escalations,
                steps=steps_of.get(case.case_id, []),
            )
        )
    return [
        LoanFact(
            loan_id=loan.loan_id,
            bank_member_id=loan.bank_member_id,
            lien_status=loan.lien_status,
            principal=loan.principal,
            outstanding=loan.outstanding,
            baseline_value=loan.baseline_value,
            last_value=loan.last_value,
            days_overdue=loan.days_overdue,
            active=loan is active,
            cases=cases_of.get(loan.loan_id, []),
        )
        for loan in rows.loans
    ]


def _report_facts(rows: _Rows, active: LoanView | None) -> tuple[list[AlertFact], list[ReportFact]]:
    """The alerts (open: on the active loan since its case, still in progress, opened) and the other reports."""
    open_case = None
    if active is not None and active.case_id is not None:
        open_case = next(
            (c for c in rows.cases if c.case_id == active.case_id and c.state not in CLOSED_CASE_STATES), None
        )
    opened_at = next((s.block_number for s in rows.steps if open_case and s.case_id == open_case.case_id), None)
    alerts: list[AlertFact] = []
    reports: list[ReportFact] = []
    for report in rows.reports:
        detail = json.loads(report.detail)
        fact = ReportFact(
            report=report.report,
            loan_id=report.loan_id,
            reporter_member_id=report.reporter_member_id,
            detail=_named(report.report, detail),
            evidence_digest=report.evidence_digest,
            time=report.block_time,
            block_number=report.block_number,
            tx_hash=report.tx_hash,
        )
        if report.report != "alert":
            reports.append(fact)
            continue
        is_open = (
            active is not None
            and report.loan_id == active.loan_id
            and opened_at is not None
            and report.block_number >= opened_at
        )
        alerts.append(
            AlertFact(
                **fact.model_dump(),
                alert=_alert_name(detail["alertKind"]),
                severity=Severity(int(detail["severity"])).name.lower(),
                open=is_open,
            )
        )
    return alerts, reports


def _alert_name(code: object) -> str:
    try:
        return AlertKind(int(str(code))).name.lower()
    except ValueError:
        return f"code {code}"


def _named(report: str, detail: dict[str, object]) -> dict[str, object]:
    if report == "dmv":
        return {**detail, "event": DmvEventKind(int(str(detail["eventKind"]))).name.lower()}
    return detail
