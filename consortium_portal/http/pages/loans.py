"""A bank's loan book (``/loans``): its loans with their lien, balance, case and risk score; registering a loan and
reporting its repayment, each sent from the bank's dev account on a dev chain, else shown for its wallet."""

from __future__ import annotations

from functools import partial
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from consortium_portal import records
from consortium_portal.auth import Principal
from consortium_portal.context import PortalContext
from consortium_portal.errors import InvalidInputError, PortalError
from consortium_portal.http.deps import ContextDep, RowId, SignedInDep
from consortium_portal.http.pages.wallet import member_write
from consortium_portal.http.render import page
from consortium_portal.risk_view import latest_by_subject
from node_adapter.clients import STANDARD_TERMS, LoanTerms

router = APIRouter(prefix="/loans", include_in_schema=False)


@router.get("", response_class=HTMLResponse)
def loans_page(request: Request, context: ContextDep, principal: SignedInDep) -> Response:
    return _loans_page(request, context, principal)


@router.post("")
async def loans_register(request: Request, context: ContextDep, principal: SignedInDep) -> Response:
    def prepare(context: PortalContext, principal: Principal, form: dict[str, str]) -> records.PreparedWrite:
        amounts = {name: _amount(form, name) for name in ("principal", "outstanding", "baseline_value")}
        terms = LoanTerms(
            **{name: _amount(form, name, default) for name, default in STANDARD_TERMS.model_dump().items()}
        )
        loan = records.LoanRequest(vin=form.get("vin", ""), terms=terms, evidence=_note(form), **amounts)
        return records.register_loan(
            engine=context.engine, suite=context.suite, principal=principal, key=context.subject_key, request=loan
        )

    return await member_write(
        request,
        context,
        principal,
        prepare,
        what="a loan",
        page=partial(_loans_page, request, context, principal),
        sent=lambda: RedirectResponse("/loans", 303),
    )


@router.post("/{loan_id}/repayment")
async def loans_repayment(request: Request, loan_id: RowId, context: ContextDep, principal: SignedInDep) -> Response:
    def prepare(context: PortalContext, principal: Principal, form: dict[str, str]) -> records.PreparedWrite:
        report = records.RepaymentRequest(
            days_overdue=_amount(form, "days_overdue"), outstanding=_amount(form, "outstanding"), evidence=_note(form)
        )
        return records.report_repayment(
            engine=context.engine, suite=context.suite, principal=principal, loan_id=loan_id, request=report
        )

    return await member_write(
        request,
        context,
        principal,
        prepare,
        what="a repayment report",
        page=partial(_loans_page, request, context, principal),
        sent=lambda: RedirectResponse("/loans", 303),
    )


def _loans_page(
    request: Request, context: PortalContext, principal: Principal, status: int = 200, **extra: Any
) -> Response:
    try:
        loans = records.bank_loans(engine=context.engine, principal=principal, key=context.subject_key)
    except PortalError as exc:
        return page(request, "loans.html", principal, status=exc.status, loans=[], terms=None, error=str(exc))
    terms = STANDARD_TERMS.model_dump()
    scores = latest_by_subject(engine=context.engine, subjects=[loan.subject for loan in loans])
    return page(request, "loans.html", principal, status=status, loans=loans, terms=terms, scores=scores, **extra)


def _amount(form: dict[str, str], name: str, default: int | None = None) -> int:
    """A whole number from a form field (its default when left empty)."""
    text = form.get(name, "").replace(",", "").replace("_", "").strip()
    if not text and default is not None:
        return default
    if not text.isdigit():
        raise InvalidInputError(f"{name.replace('_', ' ')} must be a whole number")
    return int(text)


def _note(form: dict[str, str]) -> dict[str, Any]:
    note = form.get("note", "").strip()
    return {"note": note} if note else {}
