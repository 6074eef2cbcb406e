"""A bank's loans (``/api/v1/loans``): its loan book, registering a loan, reporting repayment; thin routes over
records.py."""

from __future__ import annotations

from fastapi import APIRouter

from consortium_portal import records
from consortium_portal.http.deps import API, ContextDep, PrincipalDep, RowId

router = APIRouter(prefix=f"{API}/loans", tags=["loans"])


@router.get("")
def bank_loans(principal: PrincipalDep, context: ContextDep) -> list[records.BankLoan]:
    """A bank's loan book: its loans with their lien, balance, days overdue and case."""
    return records.bank_loans(engine=context.engine, principal=principal, key=context.subject_key)


@router.post("")
def register_loan(body: records.LoanRequest, principal: PrincipalDep, context: ContextDep) -> records.PreparedWrite:
    """A bank registers a loan against a vehicle: the transaction (the DMV oracle confirms the lien)."""
    return records.register_loan(
        engine=context.engine, suite=context.suite, principal=principal, key=context.subject_key, request=body
    )


@router.post("/{loan_id}/repayment")
def report_repayment(
    loan_id: RowId, body: records.RepaymentRequest, principal: PrincipalDep, context: ContextDep
) -> records.PreparedWrite:
    """The loan's bank reports days overdue and the outstanding balance: the transaction (the rules run in it)."""
    return records.report_repayment(
        engine=context.engine, suite=context.suite, principal=principal, loan_id=loan_id, request=body
    )
