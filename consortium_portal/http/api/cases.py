"""Disposal cases (``/api/v1/cases``): the board, a case's timeline, and a step for the caller's wallet; thin routes
over board.py and case_actions.py."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from consortium_portal import board, case_actions
from consortium_portal.http.deps import API, ContextDep, PrincipalDep, RowId

router = APIRouter(prefix=f"{API}/cases", tags=["cases"])


@router.get("")
def case_board(
    principal: PrincipalDep, context: ContextDep, state: Annotated[str | None, Query(max_length=24)] = None
) -> list[board.CaseCard]:
    """The disposal cases the caller may see (governors: all; a bank: its loans'; an agency: those assigned)."""
    return board.cases(engine=context.engine, principal=principal, state=state)


@router.get("/{case_id}")
def case_timeline(case_id: RowId, principal: PrincipalDep, context: ContextDep) -> board.CaseTimeline:
    """A case and every step of it, with its evidence."""
    return board.case_timeline(engine=context.engine, principal=principal, case_id=case_id)


@router.post("/{case_id}/actions", status_code=201)
def prepare_case_action(
    case_id: RowId, body: case_actions.CaseActionRequest, principal: PrincipalDep, context: ContextDep
) -> case_actions.PreparedCaseAction:
    """A step on a case for the caller's wallet to send: the bank clears a watch, orders repossession or freezes; the
    assigned agency records repossession, appraisal, auction and settlement. The evidence is salted and kept."""
    return case_actions.prepare_action(
        engine=context.engine, suite=context.suite, principal=principal, case_id=case_id, request=body
    )
