"""The typed client of ``CollateralManager``: loans, liens, oracle reports, valuations and disposal cases.

Views read loans, cases, valuations and the collateral governance parameters; writes register loans and confirm
liens, report repayments, valuations, telematics alerts, DMV events and risk warnings, and step disposal cases along
(repossession, appraisal, auction, settlement, freezing); ``encode_*`` methods give the calldata of the
governance-only functions.
"""

from __future__ import annotations

from node_adapter.clients.base import ContractClient
from node_adapter.clients.types import (
    Bytes32,
    Case,
    CaseState,
    DmvEventKind,
    Loan,
    LoanTerms,
    Parameters,
    Severity,
    Valuation,
    ValuationPolicy,
)
from node_adapter.outbox import Outbox, OutboxTx


class CollateralClient(ContractClient):
    """``CollateralManager``: loans, liens, reports and disposal cases."""

    contract_name = "CollateralManager"

    # ------------------------------------------------------------------ views

    def membership(self) -> str:
        return str(self.call("membership"))

    def parameters(self) -> Parameters:
        return Parameters.model_validate(self.call("parameters"))

    def valuation_policy(self) -> ValuationPolicy:
        return ValuationPolicy.model_validate(self.call("valuationPolicy"))

    def max_valuation_reporters(self) -> int:
        """The most price oracle members a loan's valuation remembers, and the highest quorum."""
        return int(self.call("MAX_VALUATION_REPORTERS"))

    def valuation_of(self, subject: Bytes32) -> Valuation:
        """The subject's latest published median value; raises ``CollateralStaleValuation`` when none was published
        or it is older than the policy's ``max_age``, and ``CollateralNoActiveLoan`` without a loan."""
        return Valuation.model_validate(self.call("valuationOf", subject))

    def get_loan(self, loan_id: int) -> Loan:
        """A loan (raises ``CollateralUnknownLoan`` for an unknown id)."""
        return Loan.model_validate(self.call("getLoan", loan_id))

    def active_loan_of(self, subject: Bytes32) -> int:
        return int(self.call("activeLoanOf", subject))

    def value_move_bps_of(self, loan_id: int) -> int:
        return int(self.call("valueMoveBpsOf", loan_id))

    def loan_count(self) -> int:
        return int(self.call("loanCount"))

    def get_case(self, case_id: int) -> Case:
        """A case (raises ``CollateralUnknownCase`` for an unknown id)."""
        return Case.model_validate(self.call("getCase", case_id))

    def state(self, case_id: int) -> CaseState:
        return CaseState(self.call("state", case_id))

    def case_count(self) -> int:
        return int(self.call("caseCount"))

    # ------------------------------------------------------------------ loans and liens

    def register_loan(
        self,
        outbox: Outbox,
        *,
        key: str,
        sender: str,
        subject: Bytes32,
        principal: int,
        outstanding: int,
        baseline_value: int,
        terms: LoanTerms,
        evidence_digest: Bytes32,
    ) -> OutboxTx:
        args = (subject, principal, outstanding, baseline_value, terms, evidence_digest)
        return self._write(outbox, key, sender, "registerLoan", *args)

    def confirm_lien(
        self, outbox: Outbox, *, key: str, sender: str, loan_id: int, evidence_digest: Bytes32
    ) -> OutboxTx:
        return self._write(outbox, key, sender, "confirmLien", loan_id, evidence_digest)

    def cancel_loan(self, outbox: Outbox, *, key: str, sender: str, loan_id: int, evidence_digest: Bytes32) -> OutboxTx:
        return self._write(outbox, key, sender, "cancelLoan", loan_id, evidence_digest)

    def loan_id_of(self, tx: OutboxTx) -> int:
        """The id of the loan a confirmed ``register_loan`` write registered."""
        return self._created_id(tx, "LoanRegistered", "loanId")

    # ------------------------------------------------------------------ reports

    def report_repayment(
        self,
        outbox: Outbox,
        *,
        key: str,
        sender: str,
        loan_id: int,
        days_overdue: int,
        outstanding: int,
        evidence_digest: Bytes32,
    ) -> OutboxTx:
        return self._write(outbox, key, sender, "reportRepayment", loan_id, days_overdue, outstanding, evidence_digest)

    def report_valuation(
        self, outbox: Outbox, *, key: str, sender: str, subject: Bytes32, value: int, evidence_digest: Bytes32
    ) -> OutboxTx:
        return self._write(outbox, key, sender, "reportValuation", subject, value, evidence_digest)

    def report_telematics_alert(
        self,
        outbox: Outbox,
        *,
        key: str,
        sender: str,
        subject: Bytes32,
        alert_kind: int,
        severity: Severity,
        evidence_digest: Bytes32,
    ) -> OutboxTx:
        args = (subject, alert_kind, int(severity), evidence_digest)
        return self._write(outbox, key, sender, "reportTelematicsAlert", *args)

    def report_dmv_event(
        self,
        outbox: Outbox,
        *,
        key: str,
        sender: str,
        subject: Bytes32,
        event_kind: DmvEventKind,
        evidence_digest: Bytes32,
    ) -> OutboxTx:
        return self._write(outbox, key, sender, "reportDmvEvent", subject, int(event_kind), evidence_digest)

    def report_risk_warning(
        self, outbox: Outbox, *, key: str, sender: str, subject: Bytes32, score: int, evidence_digest: Bytes32
    ) -> OutboxTx:
        return self._write(outbox, key, sender, "reportRiskWarning", subject, score, evidence_digest)

    # ------------------------------------------------------------------ disposal cases

    def clear_watch(self, outbox: Outbox, *, key: str, sender: str, case_id: int, evidence_digest: Bytes32) -> OutboxTx:
        return self._write(outbox, key, sender, "clearWatch", case_id, evidence_digest)

    def order_repossession(
        self, outbox: Outbox, *, key: str, sender: str, case_id: int, agency_member_id: int, evidence_digest: Bytes32
    ) -> OutboxTx:
        return self._write(outbox, key, sender, "orderRepossession", case_id, agency_member_id, evidence_digest)

    def record_repossession(
        self, outbox: Outbox, *, key: str, sender: str, case_id: int, evidence_digest: Bytes32
    ) -> OutboxTx:
        return self._write(outbox, key, sender, "recordRepossession", case_id, evidence_digest)

    def record_appraisal(
        self, outbox: Outbox, *, key: str, sender: str, case_id: int, appraised_value: int, evidence_digest: Bytes32
    ) -> OutboxTx:
        return self._write(outbox, key, sender, "recordAppraisal", case_id, appraised_value, evidence_digest)

    def record_auction(
        self, outbox: Outbox, *, key: str, sender: str, case_id: int, sale_price: int, evidence_digest: Bytes32
    ) -> OutboxTx:
        return self._write(outbox, key, sender, "recordAuction", case_id, sale_price, evidence_digest)

    def record_settlement(
        self, outbox: Outbox, *, key: str, sender: str, case_id: int, evidence_digest: Bytes32
    ) -> OutboxTx:
        return self._write(outbox, key, sender, "recordSettlement", case_id, evidence_digest)

    def escalate(self, outbox: Outbox, *, key: str, sender: str, case_id: int) -> OutboxTx:
        return self._write(outbox, key, sender, "escalate", case_id)

    def reassign_agency(
        self, outbox: Outbox, *, key: str, sender: str, case_id: int, agency_member_id: int, evidence_digest: Bytes32
    ) -> OutboxTx:
        return self._write(outbox, key, sender, "reassignAgency", case_id, agency_member_id, evidence_digest)

    def freeze_case(self, outbox: Outbox, *, key: str, sender: str, case_id: int, evidence_digest: Bytes32) -> OutboxTx:
        return self._write(outbox, key, sender, "freezeCase", case_id, evidence_digest)

    # ------------------------------------------------------------------ governance calldata

    def encode_set_parameters(self, *, new_parameters: Parameters) -> bytes:
        return self.calldata("setParameters", new_parameters)

    def encode_set_valuation_policy(self, *, new_policy: ValuationPolicy) -> bytes:
        return self.calldata("setValuationPolicy", new_policy)

    def encode_resolve_freeze(self, *, case_id: int, restore: bool, evidence_digest: Bytes32) -> bytes:
        return self.calldata("resolveFreeze", case_id, restore, evidence_digest)
