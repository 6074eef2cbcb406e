"""The points pages (``/points``): the leaderboard, the reward rules, and a member's history."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from consortium_portal import board
from consortium_portal.auth import Principal
from consortium_portal.context import PortalContext
from consortium_portal.errors import PortalError
from consortium_portal.http.deps import ContextDep, RowId, SignedInDep
from consortium_portal.http.render import page

router = APIRouter(prefix="/points", include_in_schema=False)


@router.get("", response_class=HTMLResponse)
def points_page(request: Request, context: ContextDep, principal: SignedInDep, member: int | None = None) -> Response:
    return _points_page(request, context, principal, member)


@router.get("/{member_id}", response_class=HTMLResponse)
def member_points_page(request: Request, member_id: RowId, context: ContextDep, principal: SignedInDep) -> Response:
    return _points_page(request, context, principal, member_id)


def _points_page(request: Request, context: PortalContext, principal: Principal, member: int | None) -> Response:
    values: dict[str, Any] = {
        "board": board.leaderboard(engine=context.engine, limit=100),
        "rules": board.reward_rules(engine=context.engine, suite=context.suite),
    }
    try:
        if member is not None:
            values["member"] = board.member_points(engine=context.engine, member_id=member)
    except PortalError as exc:
        return page(request, "points.html", principal, status=exc.status, error=str(exc), **values)
    return page(request, "points.html", principal, **values)
