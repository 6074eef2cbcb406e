"""Credit points and the board of disposal cases, from the read model.

Points are public among members (the leaderboard is how the consortium rewards contributors). A case is visible to
the governors, the bank whose loan it is, and the disposal agency assigned to it.
"""

from __future__ import annotations

from pydantic import BaseModel
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from consortium_portal.auth import Principal
from consortium_portal.errors import ForbiddenError, NotFoundError
from consortium_portal.vehicles import CaseStep
from node_adapter.clients import Role, Suite
from node_adapter.readmodel import CaseTransitionView, CaseView, KindView, LoanView, PointsEntryView, PointsView


class PointsBalance(BaseModel):
    member_id: int
    points: int


class PointsEntry(BaseModel):
    delta: int
    reason: str
    ref: str
    time: int
    block_number: int
    tx_hash: str


class MemberPoints(PointsBalance):
    history: list[PointsEntry]


class KindReward(BaseModel):
    kind: int
    weight: int
    active: bool


class RewardRules(BaseModel):
    """What earns and costs points (the contract's parameters; governance changes them by proposal)."""

    corroboration_bonus: int
    slash_multiplier: int
    disputer_reward: int
    kinds: list[KindReward]


class CaseCard(BaseModel):
    case_id: int
    loan_id: int
    subject: str
    bank_member_id: int
    agency_member_id: int | None
    state: str
    deadline: int | None
    escalations: int
    opened_block: int
    updated_block: int


class CaseTimeline(CaseCard):
    appraised_value: str | None
    sale_price: str | None
    steps: list[CaseStep]


def leaderboard(*, engine: Engine, limit: int) -> list[PointsBalance]:
    with Session(engine) as session:
        rows = session.exec(select(PointsView)).all()
    ranked = sorted(((int(r.points), r.member_id) for r in rows), key=lambda p: (-p[0], p[1]))
    return [PointsBalance(member_id=member, points=points) for points, member in ranked[:limit]]


def member_points(*, engine: Engine, member_id: int) -> MemberPoints:
    with Session(engine) as session:
        row = session.get(PointsView, member_id)
        history = session.exec(
            select(PointsEntryView).where(PointsEntryView.member_id == member_id).order_by(col(PointsEntryView.id))
        ).all()
    if row is None and not history:
        raise NotFoundError(f"member {member_id} has never held points")
    return MemberPoints(
        member_id=member_id,
        points=int(row.points) if row is not None else 0,
        history=[
            PointsEntry(
                delta=int(h.delta),
                reason=h.reason,
                ref=h.ref,
                time=h.block_time,
                block_number=h.block_number,
                tx_hash=h.tx_hash,
            )
            for h in history
        ],
    )


def reward_rules(*, engine: Engine, suite: Suite) -> RewardRules:
    parameters = suite.registry.points_parameters()
    with Session(engine) as session:
        kinds = session.exec(select(KindView).order_by(col(KindView.kind))).all()
    return RewardRules(
        corroboration_bonus=parameters.corroboration_bonus,
        slash_multiplier=parameters.slash_multiplier,
        disputer_reward=parameters.disputer_reward,
        kinds=[KindReward(kind=k.kind, weight=k.weight, active=k.active) for k in kinds],
    )


def cases(*, engine: Engine, principal: Principal, state: str | None) -> list[CaseCard]:
    """The cases the caller may see, newest first, optionally in one state."""
    if not principal.roles & (Role.GOVERNOR | Role.BANK | Role.DISPOSAL_AGENCY):
        raise ForbiddenError("the case board is for governors, banks and disposal agencies")
    with Session(engine) as session:
        statement = select(CaseView, LoanView).where(CaseView.loan_id == LoanView.loan_id)
        if state is not None:
            statement = statement.where(CaseView.state == state)
        if not principal.roles & Role.GOVERNOR:
            statement = statement.where(
                (LoanView.bank_member_id == principal.member_id) | (CaseView.agency_member_id == principal.member_id)
            )
        rows = session.exec(statement.order_by(col(CaseView.case_id).desc())).all()
    return [_card(case, loan) for case, loan in rows]


def case_timeline(*, engine: Engine, principal: Principal, case_id: int) -> CaseTimeline:
    with Session(engine) as session:
        case = session.get(CaseView, case_id)
        loan = session.get(LoanView, case.loan_id) if case is not None else None
        steps = session.exec(
            select(CaseTransitionView).where(CaseTransitionView.case_id == case_id).order_by(col(CaseTransitionView.id))
        ).all()
    if case is None or loan is None:
        raise NotFoundError(f"no case {case_id}")
    party = principal.member_id in (loan.bank_member_id, case.agency_member_id)
    if not party and not principal.roles & Role.GOVERNOR:
        raise ForbiddenError("a case is visible to the governors, the loan's bank and the assigned agency")
    return CaseTimeline(
        **_card(case, loan).model_dump(),
        appraised_value=case.appraised_value,
        sale_price=case.sale_price,
        steps=[CaseStep.of(s) for s in steps],
    )


def _card(case: CaseView, loan: LoanView) -> CaseCard:
    return CaseCard(
        case_id=case.case_id,
        loan_id=case.loan_id,
        subject=loan.subject,
        bank_member_id=loan.bank_member_id,
        agency_member_id=case.agency_member_id,
        state=case.state,
        deadline=case.deadline,
        escalations=case.escalations,
        opened_block=case.opened_block,
        updated_block=case.updated_block,
    )
