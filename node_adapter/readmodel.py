"""The SQL read model: tables folded from contract events by :mod:`node_adapter.indexer`.

Every table here can be dropped and rebuilt from the chain (``consortium index --rebuild``); nothing else writes them.
"""

from __future__ import annotations

import json

from sqlalchemy import Column, Text
from sqlmodel import Field, Session, SQLModel

from node_adapter.indexer import ChainEvent, HandlerProjection

MEMBER_STATUSES = ("none", "active", "suspended", "expelled")


class MemberView(SQLModel, table=True):
    """A consortium member as the chain last said."""

    __tablename__ = "rm_member"

    member_id: int = Field(primary_key=True)
    status: str = Field(max_length=16)
    roles: int
    metadata_digest: str = Field(max_length=66)
    admitted_block: int
    updated_block: int


class MemberAccountView(SQLModel, table=True):
    """A signing account bound to a member."""

    __tablename__ = "rm_member_account"

    account: str = Field(primary_key=True, max_length=42)
    member_id: int = Field(index=True)
    bound_block: int


def _admitted(session: Session, event: ChainEvent) -> None:
    args = event.values
    session.add(
        MemberView(
            member_id=int(args["memberId"]),
            status="active",
            roles=int(args["roles"]),
            metadata_digest=args["metadataDigest"],
            admitted_block=event.block_number,
            updated_block=event.block_number,
        )
    )


def _member(session: Session, event: ChainEvent) -> MemberView:
    member = session.get(MemberView, int(event.values["memberId"]))
    if member is None:  # an event about a member the log never admitted: the log is incomplete
        raise LookupError(f"{event.event} for unknown member {event.values['memberId']} in block {event.block_number}")
    member.updated_block = event.block_number
    session.add(member)
    return member


def _roles_changed(session: Session, event: ChainEvent) -> None:
    _member(session, event).roles = int(event.values["roles"])


def _status_changed(session: Session, event: ChainEvent) -> None:
    _member(session, event).status = MEMBER_STATUSES[int(event.values["to"])]


def _metadata_changed(session: Session, event: ChainEvent) -> None:
    _member(session, event).metadata_digest = event.values["metadataDigest"]


def _account_added(session: Session, event: ChainEvent) -> None:
    session.merge(
        MemberAccountView(
            account=event.values["account"], member_id=int(event.values["memberId"]), bound_block=event.block_number
        )
    )


def _account_removed(session: Session, event: ChainEvent) -> None:
    row = session.get(MemberAccountView, event.values["account"])
    if row is not None:
        session.delete(row)


class ProposalView(SQLModel, table=True):
    """A governors' proposal: its calls, its voting window and the votes cast. Its state (``Queued``, ``Ready``,
    ``Expired``...) depends on the time: ask ``Membership.state``."""

    __tablename__ = "rm_proposal"

    proposal_id: int = Field(primary_key=True)
    proposer: str = Field(max_length=42)
    description_digest: str = Field(max_length=66, index=True)
    targets: str = Field(sa_column=Column(Text, nullable=False))
    """JSON list of the called contracts' addresses."""
    calldatas: str = Field(sa_column=Column(Text, nullable=False))
    """JSON list of the calls' 0x-hex calldata."""
    vote_start: int
    vote_end: int
    for_votes: int = 0
    against_votes: int = 0
    canceled: bool = False
    executed: bool = False
    created_block: int


def _proposal_created(session: Session, event: ChainEvent) -> None:
    v = event.values
    session.add(
        ProposalView(
            proposal_id=int(v["proposalId"]),
            proposer=v["proposer"],
            description_digest=v["descriptionDigest"],
            targets=json.dumps(v["targets"]),
            calldatas=json.dumps(v["calldatas"]),
            vote_start=int(v["voteStart"]),
            vote_end=int(v["voteEnd"]),
            created_block=event.block_number,
        )
    )


def _proposal(session: Session, event: ChainEvent) -> ProposalView:
    proposal = session.get(ProposalView, int(event.values["proposalId"]))
    if proposal is None:
        raise LookupError(
            f"{event.event} for unknown proposal {event.values['proposalId']} in block {event.block_number}"
        )
    session.add(proposal)
    return proposal


def _vote_cast(session: Session, event: ChainEvent) -> None:
    proposal = _proposal(session, event)
    if event.values["support"]:
        proposal.for_votes += 1
    else:
        proposal.against_votes += 1


def _proposal_canceled(session: Session, event: ChainEvent) -> None:
    _proposal(session, event).canceled = True


def _proposal_executed(session: Session, event: ChainEvent) -> None:
    _proposal(session, event).executed = True


def membership_projection() -> HandlerProjection:
    """Members and their accounts, and the governors' proposals, from Membership's events."""
    return HandlerProjection(
        [MemberView, MemberAccountView, ProposalView],
        {
            ("Membership", "ProposalCreated"): _proposal_created,
            ("Membership", "VoteCast"): _vote_cast,
            ("Membership", "ProposalCanceled"): _proposal_canceled,
            ("Membership", "ProposalExecuted"): _proposal_executed,
            ("Membership", "MemberAdmitted"): _admitted,
            ("Membership", "MemberRolesChanged"): _roles_changed,
            ("Membership", "MemberStatusChanged"): _status_changed,
            ("Membership", "MemberMetadataChanged"): _metadata_changed,
            ("Membership", "AccountAdded"): _account_added,
            ("Membership", "AccountRemoved"): _account_removed,
        },
    )


# ---------------------------------------------------------------- evidence registry

LIEN_STATUSES = ("none", "pending", "active", "released")
CASE_STATES = (
    "none",
    "watch",
    "triggered",
    "cured",
    "repossession_ordered",
    "repossessed",
    "appraised",
    "auctioned",
    "settled",
    "frozen",
)
DISPUTE_STATES = ("none", "open", "upheld", "rejected")


class KindView(SQLModel, table=True):
    """An attestation kind."""

    __tablename__ = "rm_kind"

    kind: int = Field(primary_key=True)
    schema_digest: str = Field(max_length=66)
    roles: int
    weight: int
    flags: int
    active: bool = True


class AttestationView(SQLModel, table=True):
    """A single attestation and what happened to it since."""

    __tablename__ = "rm_attestation"

    uid: str = Field(primary_key=True, max_length=66)
    subject: str = Field(max_length=66, index=True)
    kind: int = Field(index=True)
    attester: str = Field(max_length=42, index=True)
    ref: str | None = Field(default=None, max_length=66)
    expiry: int = 0
    block_number: int
    block_time: int
    tx_hash: str = Field(max_length=66)
    reading: str | None = None
    rollback: bool = False
    revoked_at: int | None = None
    revoke_reason: int | None = None
    superseded_by: str | None = Field(default=None, max_length=66)
    invalidated: bool = False


class BatchView(SQLModel, table=True):
    """A Merkle batch of records."""

    __tablename__ = "rm_batch"

    batch_id: int = Field(primary_key=True)
    kind: int
    attester: str = Field(max_length=42, index=True)
    root: str = Field(max_length=66)
    count: int
    uri_digest: str = Field(max_length=66)
    block_number: int
    tx_hash: str = Field(max_length=66)
    revoked_at: int | None = None


class DisputeView(SQLModel, table=True):
    """A dispute over a record."""

    __tablename__ = "rm_dispute"

    dispute_id: int = Field(primary_key=True)
    uid: str = Field(max_length=66, index=True)
    disputer_member: int
    evidence_digest: str = Field(max_length=66)
    state: str = Field(max_length=16)
    opened_block: int
    resolved_block: int | None = None


class PointsView(SQLModel, table=True):
    """A member's credit points (a decimal string: balances are unbounded integers on chain)."""

    __tablename__ = "rm_points"

    member_id: int = Field(primary_key=True)
    points: str = "0"


class PointsEntryView(SQLModel, table=True):
    """One change of a member's points, with its reason: the member's history."""

    __tablename__ = "rm_points_entry"

    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(index=True)
    delta: str
    reason: str = Field(max_length=24)
    """``attestation``, ``corroboration``, ``batch``, ``clawback``, ``slash``, ``dispute_reward``."""
    ref: str = Field(max_length=66)
    """The record (uid or batch) or dispute the change is about."""
    block_number: int
    block_time: int
    tx_hash: str = Field(max_length=66)


POINTS_REASONS = ("attestation", "corroboration", "batch", "clawback", "slash", "dispute_reward")


def _hex_or_none(value: str) -> str | None:
    return None if int(value, 16) == 0 else value


def _kind_registered(session: Session, event: ChainEvent) -> None:
    v = event.values
    session.merge(
        KindView(
            kind=int(v["kind"]),
            schema_digest=v["schemaDigest"],
            roles=int(v["roles"]),
            weight=int(v["weight"]),
            flags=int(v["flags"]),
        )
    )


def _kind_updated(session: Session, event: ChainEvent) -> None:
    v = event.values
    kind = session.get(KindView, int(v["kind"]))
    if kind is None:
        raise LookupError(f"KindUpdated for unknown kind {v['kind']} in block {event.block_number}")
    kind.roles, kind.weight, kind.flags, kind.active = int(v["roles"]), int(v["weight"]), int(v["flags"]), v["active"]
    session.add(kind)


def _attested(session: Session, event: ChainEvent) -> None:
    v = event.values
    account = session.get(MemberAccountView, v["attester"])
    if account is None:  # only an active member's account can attest: the log is incomplete
        raise LookupError(f"Attested by unbound account {v['attester']} in block {event.block_number}")
    _add_points(session, account.member_id, int(v["points"]))
    if int(v["points"]):
        _points_entry(session, event, account.member_id, int(v["points"]), reason="attestation", ref=v["uid"])
    session.add(
        AttestationView(
            uid=v["uid"],
            subject=v["subject"],
            kind=int(v["kind"]),
            attester=v["attester"],
            ref=_hex_or_none(v["ref"]),
            expiry=int(v["expiry"]),
            block_number=event.block_number,
            block_time=event.block_time,
            tx_hash=event.tx_hash,
        )
    )


def _attestation(session: Session, uid: str, event: ChainEvent) -> AttestationView:
    row = session.get(AttestationView, uid)
    if row is None:
        raise LookupError(f"{event.event} for unknown record {uid} in block {event.block_number}")
    return row


def _odometer(session: Session, event: ChainEvent) -> None:
    row = _attestation(session, event.values["uid"], event)
    row.reading, row.rollback = str(event.values["reading"]), bool(event.values["rollback"])
    session.add(row)


def _revoked(session: Session, event: ChainEvent) -> None:
    v = event.values
    row = _attestation(session, v["uid"], event)
    row.revoked_at, row.revoke_reason, row.superseded_by = (
        event.block_time,
        int(v["reason"]),
        _hex_or_none(v["supersededBy"]),
    )
    session.add(row)


def _batch_anchored(session: Session, event: ChainEvent) -> None:
    v = event.values
    session.add(
        BatchView(
            batch_id=int(v["batchId"]),
            kind=int(v["kind"]),
            attester=v["attester"],
            root=v["root"],
            count=int(v["count"]),
            uri_digest=v["uriDigest"],
            block_number=event.block_number,
            tx_hash=event.tx_hash,
        )
    )


def _batch_revoked(session: Session, event: ChainEvent) -> None:
    batch = session.get(BatchView, int(event.values["batchId"]))
    if batch is None:
        raise LookupError(f"BatchRevoked for unknown batch {event.values['batchId']}")
    batch.revoked_at = event.block_time
    session.add(batch)


def _dispute_opened(session: Session, event: ChainEvent) -> None:
    v = event.values
    session.add(
        DisputeView(
            dispute_id=int(v["disputeId"]),
            uid=v["uid"],
            disputer_member=int(v["disputerMember"]),
            evidence_digest=v["evidenceDigest"],
            state="open",
            opened_block=event.block_number,
        )
    )


def _dispute_resolved(session: Session, event: ChainEvent) -> None:
    v = event.values
    dispute = session.get(DisputeView, int(v["disputeId"]))
    if dispute is None:
        raise LookupError(f"DisputeResolved for unknown dispute {v['disputeId']}")
    dispute.state, dispute.resolved_block = ("upheld" if v["upheld"] else "rejected"), event.block_number
    session.add(dispute)
    if v["upheld"]:
        row = _attestation(session, v["uid"], event)
        row.invalidated = True
        session.add(row)


def _add_points(session: Session, member_id: int, delta: int) -> None:
    row = session.get(PointsView, member_id) or PointsView(member_id=member_id)
    row.points = str(int(row.points) + delta)
    session.add(row)


def _points_changed(session: Session, event: ChainEvent) -> None:
    v = event.values
    _add_points(session, int(v["memberId"]), int(v["delta"]))
    reason = POINTS_REASONS[int(v["reason"])]
    _points_entry(session, event, int(v["memberId"]), int(v["delta"]), reason=reason, ref=v["ref"])


def _points_entry(session: Session, event: ChainEvent, member_id: int, delta: int, *, reason: str, ref: str) -> None:
    session.add(
        PointsEntryView(
            member_id=member_id,
            delta=str(delta),
            reason=reason,
            ref=ref,
            block_number=event.block_number,
            block_time=event.block_time,
            tx_hash=event.tx_hash,
        )
    )


def registry_projection() -> HandlerProjection:
    """Kinds, attestations, batches, disputes and points, from the EvidenceRegistry's events."""
    registry = "EvidenceRegistry"
    return HandlerProjection(
        [KindView, AttestationView, BatchView, DisputeView, PointsView, PointsEntryView],
        {
            (registry, "KindRegistered"): _kind_registered,
            (registry, "KindUpdated"): _kind_updated,
            (registry, "Attested"): _attested,
            (registry, "OdometerRecorded"): _odometer,
            (registry, "Revoked"): _revoked,
            (registry, "BatchAnchored"): _batch_anchored,
            (registry, "BatchRevoked"): _batch_revoked,
            (registry, "DisputeOpened"): _dispute_opened,
            (registry, "DisputeResolved"): _dispute_resolved,
            (registry, "PointsChanged"): _points_changed,
        },
    )


# ---------------------------------------------------------------- collateral and disposal


class LoanView(SQLModel, table=True):
    """A loan against a vehicle (amounts as decimal strings, in the smallest currency unit)."""

    __tablename__ = "rm_loan"

    loan_id: int = Field(primary_key=True)
    subject: str = Field(max_length=66, index=True)
    bank_member_id: int = Field(index=True)
    principal: str
    outstanding: str
    baseline_value: str
    last_value: str | None = None  # the latest published (median) valuation
    days_overdue: int = 0
    lien_status: str = Field(default="pending", max_length=16)
    case_id: int | None = None
    registered_block: int


class CaseView(SQLModel, table=True):
    """A disposal case and where it stands."""

    __tablename__ = "rm_case"

    case_id: int = Field(primary_key=True)
    loan_id: int = Field(index=True)
    state: str = Field(default="none", max_length=24)
    agency_member_id: int | None = None
    deadline: int | None = None
    appraised_value: str | None = None
    sale_price: str | None = None
    escalations: int = 0
    opened_block: int
    updated_block: int


class CaseTransitionView(SQLModel, table=True):
    """One step of a case, with its evidence: the case's timeline."""

    __tablename__ = "rm_case_transition"

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(index=True)
    from_state: str = Field(max_length=24)
    to_state: str = Field(max_length=24)
    evidence_digest: str = Field(max_length=66)
    block_number: int
    block_time: int
    tx_hash: str = Field(max_length=66)


class ReportView(SQLModel, table=True):
    """A report on a financed vehicle (repayment, valuation, telematics alert, DMV event, risk warning): its history."""

    __tablename__ = "rm_report"

    id: int | None = Field(default=None, primary_key=True)
    subject: str = Field(max_length=66, index=True)
    loan_id: int = Field(index=True)
    report: str = Field(max_length=24)
    """``repayment``, ``valuation`` (one reporter's), ``valuation_median`` (published), ``alert``, ``dmv``, ``risk``."""
    reporter_member_id: int | None = None
    detail: str = Field(sa_column=Column(Text, nullable=False))
    """JSON of what was reported (days overdue and outstanding; value; alert kind and severity; event; score)."""
    evidence_digest: str = Field(max_length=66)
    block_number: int
    block_time: int
    tx_hash: str = Field(max_length=66)


REPORT_EVENTS: dict[str, tuple[str, tuple[str, ...]]] = {
    # CollateralManager event: (report name in rm_report, the event's arguments kept as its detail)
    "RepaymentReported": ("repayment", ("daysOverdue", "outstanding")),
    "ValuationReported": ("valuation", ("value",)),
    "ValuationAggregated": ("valuation_median", ("value", "reporters")),
    "TelematicsAlertReported": ("alert", ("alertKind", "severity")),
    "DmvEventReported": ("dmv", ("eventKind",)),
    "RiskWarningReported": ("risk", ("score",)),
}


def _report(session: Session, event: ChainEvent) -> None:
    v = event.values
    name, fields = REPORT_EVENTS[event.event]
    reporter = v.get("reporterMemberId")
    session.add(
        ReportView(
            subject=v["subject"],
            loan_id=int(v["loanId"]),
            report=name,
            reporter_member_id=int(reporter) if reporter is not None else None,
            detail=json.dumps({field: v[field] for field in fields}),
            evidence_digest=v["evidenceDigest"],
            block_number=event.block_number,
            block_time=event.block_time,
            tx_hash=event.tx_hash,
        )
    )


def _loan(session: Session, event: ChainEvent) -> LoanView:
    loan = session.get(LoanView, int(event.values["loanId"]))
    if loan is None:
        raise LookupError(f"{event.event} for unknown loan {event.values['loanId']} in block {event.block_number}")
    return loan


def _case(session: Session, event: ChainEvent) -> CaseView:
    case = session.get(CaseView, int(event.values["caseId"]))
    if case is None:
        raise LookupError(f"{event.event} for unknown case {event.values['caseId']} in block {event.block_number}")
    case.updated_block = event.block_number
    return case


def _loan_registered(session: Session, event: ChainEvent) -> None:
    v = event.values
    session.add(
        LoanView(
            loan_id=int(v["loanId"]),
            subject=v["subject"],
            bank_member_id=int(v["bankMemberId"]),
            principal=str(v["principal"]),
            outstanding=str(v["outstanding"]),
            baseline_value=str(v["baselineValue"]),
            registered_block=event.block_number,
        )
    )


def _lien_changed(session: Session, event: ChainEvent) -> None:
    loan = _loan(session, event)
    loan.lien_status = LIEN_STATUSES[int(event.values["to"])]
    session.add(loan)


def _repayment(session: Session, event: ChainEvent) -> None:
    _report(session, event)
    loan = _loan(session, event)
    loan.days_overdue, loan.outstanding = int(event.values["daysOverdue"]), str(event.values["outstanding"])
    session.add(loan)


def _valuation_aggregated(session: Session, event: ChainEvent) -> None:
    """The loan's value is the published median; a single report (``ValuationReported``) below the quorum is not."""
    _report(session, event)
    loan = _loan(session, event)
    loan.last_value = str(event.values["value"])
    session.add(loan)


def _case_opened(session: Session, event: ChainEvent) -> None:
    case_id, loan_id = int(event.values["caseId"]), int(event.values["loanId"])
    session.add(
        CaseView(case_id=case_id, loan_id=loan_id, opened_block=event.block_number, updated_block=event.block_number)
    )
    loan = session.get(LoanView, loan_id)
    if loan is not None:
        loan.case_id = case_id
        session.add(loan)


def _case_state(session: Session, event: ChainEvent) -> None:
    v = event.values
    case = _case(session, event)
    case.state = CASE_STATES[int(v["to"])]
    session.add(case)
    session.add(
        CaseTransitionView(
            case_id=case.case_id,
            from_state=CASE_STATES[int(v["from"])],
            to_state=case.state,
            evidence_digest=v["evidenceDigest"],
            block_number=event.block_number,
            block_time=event.block_time,
            tx_hash=event.tx_hash,
        )
    )


def _agency_assigned(session: Session, event: ChainEvent) -> None:
    case = _case(session, event)
    case.agency_member_id, case.deadline = int(event.values["agencyMemberId"]), int(event.values["deadline"])
    session.add(case)


def _appraisal(session: Session, event: ChainEvent) -> None:
    case = _case(session, event)
    case.appraised_value = str(event.values["appraisedValue"])
    session.add(case)


def _auction(session: Session, event: ChainEvent) -> None:
    case = _case(session, event)
    case.sale_price = str(event.values["salePrice"])
    session.add(case)


def _escalated(session: Session, event: ChainEvent) -> None:
    case = _case(session, event)
    case.escalations += 1
    session.add(case)


def collateral_projection() -> HandlerProjection:
    """Loans, cases, every case transition and every report, from the CollateralManager's events."""
    manager = "CollateralManager"
    return HandlerProjection(
        [LoanView, CaseView, CaseTransitionView, ReportView],
        {
            (manager, "ValuationReported"): _report,
            (manager, "TelematicsAlertReported"): _report,
            (manager, "DmvEventReported"): _report,
            (manager, "RiskWarningReported"): _report,
            (manager, "LoanRegistered"): _loan_registered,
            (manager, "LienStatusChanged"): _lien_changed,
            (manager, "RepaymentReported"): _repayment,
            (manager, "ValuationAggregated"): _valuation_aggregated,
            (manager, "CaseOpened"): _case_opened,
            (manager, "CaseStateChanged"): _case_state,
            (manager, "AgencyAssigned"): _agency_assigned,
            (manager, "AppraisalRecorded"): _appraisal,
            (manager, "AuctionRecorded"): _auction,
            (manager, "CaseEscalated"): _escalated,
        },
    )


def all_projections() -> list[HandlerProjection]:
    """Every read model of the suite."""
    return [membership_projection(), registry_projection(), collateral_projection()]
