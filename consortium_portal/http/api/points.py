"""Credit points (``/api/v1/points``): the leaderboard, the reward rules, a member's history; thin routes over
board.py."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from consortium_portal import board
from consortium_portal.http.deps import API, ContextDep, PrincipalDep, RowId

router = APIRouter(prefix=f"{API}/points", tags=["points"])


@router.get("")
def points_leaderboard(
    _principal: PrincipalDep, context: ContextDep, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> list[board.PointsBalance]:
    """Members by credit points, most first."""
    return board.leaderboard(engine=context.engine, limit=limit)


@router.get("/rules")
def points_rules(_principal: PrincipalDep, context: ContextDep) -> board.RewardRules:
    """What earns and costs points: each kind's weight, the corroboration bonus, the slash multiplier."""
    return board.reward_rules(engine=context.engine, suite=context.suite)


@router.get("/{member_id}")
def member_points(member_id: RowId, _principal: PrincipalDep, context: ContextDep) -> board.MemberPoints:
    """A member's balance and every reward and slash behind it."""
    return board.member_points(engine=context.engine, member_id=member_id)
