"""Dispatch: waiting chain actions become outbox writes once their precondition holds on chain (a lien can be confirmed
only once the bank's loan is there), and submitted ones are followed to confirmed or reverted.

The action's key is the outbox idempotency key, so an action is written to the chain once however often dispatch runs.
An action that is not needed (no active loan to report on) or is refused puts its record into the next Merkle batch.
Which contract call each action becomes is decided in ``Dispatcher._submit``.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from sqlmodel import Session, col, select

from node_adapter.clients import STANDARD_TERMS, LienStatus
from node_adapter.db import utcnow
from node_adapter.outbox import OutboxTx, TxStatus
from oracle.models import parse_loan_status
from oracle.pipeline.context import CENTS, OracleContext
from oracle.pipeline.valuation import Valuation
from oracle.store import ActionStatus, Anchor, ChainAction, LoanLink, SourceRecord, VehicleState

logger = logging.getLogger(__name__)

DEFAULT_TERMS = STANDARD_TERMS
"""The terms the bank's feed registers loans with."""

REPORT_GAS_LIMIT = 600_000
"""Gas limit of every report (the heaviest, a report that opens a case, takes about 160,000)."""


class Dispatcher:
    """The ``dispatch`` job (a loan's baseline value comes from ``valuation``)."""

    def __init__(self, context: OracleContext, valuation: Valuation) -> None:
        self.context = context
        self.valuation = valuation

    def dispatch(self, *, limit: int = 500) -> int:
        """Submit the waiting actions whose precondition holds, follow the submitted ones; the number that moved."""
        moved = self._follow_actions()
        blocked: set[tuple[str, str]] = set()
        with Session(self.context.engine, expire_on_commit=False) as session:
            waiting = session.exec(
                select(ChainAction)
                .where(ChainAction.status == ActionStatus.WAITING)
                .order_by(col(ChainAction.id))
                .limit(limit)
            ).all()
        for action in waiting:
            if (action.subject, action.role) in blocked:
                continue  # an earlier action of this signer on this vehicle is still waiting: keep the order
            if self.context.outbox.get(action.key) is not None:
                self._set_action(action, ActionStatus.SUBMITTED, None)
                moved += 1
                continue
            verdict, note = self._submit(action)
            if verdict == ActionStatus.WAITING:
                blocked.add((action.subject, action.role))
                if note != action.note:
                    self._set_action(action, ActionStatus.WAITING, note)
                continue
            self._set_action(action, verdict, note)
            moved += 1
        return moved

    def _submit(self, action: ChainAction) -> tuple[ActionStatus, str | None]:
        """Write ``action`` to the outbox if its precondition holds: (SUBMITTED | WAITING | SKIPPED, note)."""
        params = json.loads(action.params)
        outbox = self.context.outbox
        collateral = self.context.suite.collateral
        sender = self.context.signers[action.role].address
        with Session(self.context.engine) as session:
            record = session.get(SourceRecord, action.record_id)
            assert record is not None
            digest = record.digest
        subject = action.subject
        loan_id = collateral.active_loan_of(subject)
        loan = collateral.get_loan(loan_id) if loan_id else None
        common = {"key": action.key, "sender": sender, "evidence_digest": digest}
        if action.action == "register_loan":
            if loan is not None:
                return ActionStatus.SKIPPED, f"the vehicle already carries loan {loan_id}"
            with Session(self.context.engine) as session:
                state = session.get(VehicleState, record.vin)
                facts = self.valuation.facts(session, state, self.valuation.market_day(session))
            if facts is None:
                return ActionStatus.WAITING, "the vehicle's make, model and year are not known yet (DMV feed)"
            value = round(self.context.estimator.estimate(facts) * CENTS)
            outstanding = self._outstanding(params["loan_ref"], params["principal"])
            collateral.register_loan(
                outbox,
                subject=subject,
                principal=params["principal"],
                outstanding=outstanding,
                baseline_value=value,
                terms=DEFAULT_TERMS,
                **common,
            )
            return ActionStatus.SUBMITTED, None
        if action.action == "confirm_lien":
            if loan is None:
                if self._registration_ended(params.get("loan_ref")):
                    return ActionStatus.SKIPPED, "the bank's loan was not registered on chain: no lien to confirm"
                return ActionStatus.WAITING, "no loan on chain for this vehicle yet"
            if loan.lien_status != LienStatus.PENDING:
                return ActionStatus.SKIPPED, f"loan {loan_id}'s lien is {loan.lien_status.name}"
            collateral.confirm_lien(outbox, loan_id=loan_id, **common)
            return ActionStatus.SUBMITTED, None
        if loan is None or loan.lien_status != LienStatus.ACTIVE:
            if action.action in ("repayment", "valuation") and self._loan_pending(params.get("loan_ref"), loan):
                return ActionStatus.WAITING, "the loan's lien is not active yet"
            return ActionStatus.SKIPPED, "no loan with an active lien on this vehicle: anchored in a batch instead"
        if action.action == "repayment":
            call: tuple[Any, ...] = ("reportRepayment", loan_id, params["days_overdue"], params["outstanding"], digest)
        elif action.action == "valuation":
            call = ("reportValuation", subject, params["value"], digest)
        elif action.action == "alert":
            call = ("reportTelematicsAlert", subject, params["alert"], params["severity"], digest)
        elif action.action == "dmv_event":
            call = ("reportDmvEvent", subject, params["event"], digest)
        else:  # pragma: no cover (every action the pipeline queues is handled above)
            raise ValueError(f"unknown action {action.action!r}")
        # What a report costs depends on the state it meets (a valuation completing a quorum runs the rules and may
        # open a case), which can change between the estimate and the block: give it room (unused gas is not paid).
        collateral.submit(
            outbox, key=action.key, sender=sender, data=collateral.calldata(*call), gas_limit=REPORT_GAS_LIMIT
        )
        return ActionStatus.SUBMITTED, None

    def _outstanding(self, loan_ref: str, principal: int) -> int:
        """The loan's balance now, from the bank's core system (a loan opened years ago owes less than it lent)."""
        loans = self.context.sources.get("loans")
        if loans is None:
            return principal
        status = parse_loan_status(loans.get_item("/v1/loans", loan_ref))
        return min(principal, status.outstanding_cny * CENTS)

    def _registration_ended(self, loan_ref: str | None) -> bool:
        """Whether this oracle's bank feed tried to register the loan and will not (refused, or skipped)."""
        if loan_ref is None:
            return False
        with Session(self.context.engine) as session:
            link = session.get(LoanLink, loan_ref)
            if link is None or link.register_key is None:
                return False
            status = session.exec(select(ChainAction.status).where(ChainAction.key == link.register_key)).first()
        return status in (ActionStatus.FAILED, ActionStatus.SKIPPED)

    def _loan_pending(self, loan_ref: str | None, loan: Any) -> bool:
        """Whether a report should wait: the loan is on its way to an active lien (registered or being registered)."""
        if loan is not None:
            return bool(loan.lien_status == LienStatus.PENDING)
        if loan_ref is None:
            return False
        with Session(self.context.engine) as session:
            link = session.get(LoanLink, loan_ref)
            if link is None or link.chain_loan_id is not None:
                return False
            register = session.exec(select(ChainAction.status).where(ChainAction.key == link.register_key)).first()
        return register in (ActionStatus.WAITING, ActionStatus.SUBMITTED)

    def _follow_actions(self) -> int:
        moved = 0
        with Session(self.context.engine, expire_on_commit=False) as session:
            submitted = session.exec(select(ChainAction).where(ChainAction.status == ActionStatus.SUBMITTED)).all()
        for action in submitted:
            row = self.context.outbox.get(action.key)
            if row is None or not row.status.final:
                continue
            if row.status == TxStatus.CONFIRMED:
                if action.action == "register_loan":
                    self._link_loan(action, row)
                self._set_action(action, ActionStatus.DONE, None)
            else:
                error = row.error_name or row.error_message or str(row.status)
                self._set_action(action, ActionStatus.FAILED, f"{row.status}: {error}")
                logger.warning("chain action %s %s: %s", action.key, row.status, error)
            moved += 1
        return moved

    def _link_loan(self, action: ChainAction, row: OutboxTx) -> None:
        loan_id = self.context.suite.collateral.loan_id_of(row)
        params = json.loads(action.params)
        with Session(self.context.engine) as session:
            link = session.get(LoanLink, params["loan_ref"])
            if link is not None:
                link.chain_loan_id = loan_id
                session.add(link)
                session.commit()

    def _set_action(self, action: ChainAction, status: ActionStatus, note: str | None) -> None:
        with Session(self.context.engine) as session:
            row = session.get(ChainAction, action.id)
            assert row is not None
            row.status, row.note, row.updated_at = status, note, utcnow()
            session.add(row)
            if status in (ActionStatus.SKIPPED, ActionStatus.FAILED) and row.record_id is not None:
                record = session.get(SourceRecord, row.record_id)
                if record is not None and record.anchor == Anchor.SINGLE:
                    record.anchor = Anchor.BATCH  # its digest did not reach the chain by itself: batch it
                    session.add(record)
            session.commit()
        action.status, action.note = status, note
