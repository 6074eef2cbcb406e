"""Acting on a disposal case: the portal prepares the step (its evidence salted, digested and kept), the party's wallet
sends it. On a local dev chain the pages may send it from the party's dev account instead.

| action                | who                 | contract call                                   |
|-----------------------|---------------------|-------------------------------------------------|
| `clear_watch`         | the loan's bank     | `clearWatch(caseId, evidence)`                  |
| `order_repossession`  | the loan's bank     | `orderRepossession(caseId, agency, evidence)`   |
| `freeze`              | the bank or agency  | `freezeCase(caseId, evidence)`                  |
| `record_repossession` | the assigned agency | `recordRepossession(caseId, evidence)`          |
| `record_appraisal`    | the assigned agency | `recordAppraisal(caseId, amount, evidence)`     |
| `record_auction`      | the assigned agency | `recordAuction(caseId, amount, evidence)`       |
| `record_settlement`   | the assigned agency | `recordSettlement(caseId, evidence)`            |

The portal checks the party here for a clear 403; the contract checks it again (and the state, the deadlines).
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, Field
from sqlalchemy.engine import Engine
from sqlmodel import Session

from consortium_portal.auth import Principal
from consortium_portal.errors import ForbiddenError, InvalidInputError, NotFoundError
from consortium_portal.models import CaseEvidence
from node_adapter.clients import Suite
from node_adapter.encoding import SaltedDocument, canonical_json
from node_adapter.exceptions import EncodingError
from node_adapter.readmodel import CaseView, LoanView

Action = Literal[
    "clear_watch",
    "order_repossession",
    "freeze",
    "record_repossession",
    "record_appraisal",
    "record_auction",
    "record_settlement",
]
BANK_ACTIONS = frozenset({"clear_watch", "order_repossession", "freeze"})
AGENCY_ACTIONS = frozenset({"record_repossession", "record_appraisal", "record_auction", "record_settlement", "freeze"})


class CaseActionRequest(BaseModel):
    action: Action
    evidence: dict[str, Any] = Field(description="What the step rests on (a report, a statement); salted and kept.")
    agency_member_id: int | None = Field(default=None, ge=1, lt=2**64, description="For order_repossession.")
    amount: int | None = Field(default=None, ge=0, lt=2**128, description="For record_appraisal and record_auction.")


class PreparedCaseAction(BaseModel):
    case_id: int
    action: Action
    evidence_digest: str
    evidence: dict[str, Any]
    transaction: dict[str, str] = Field(description="Send it from the account you signed in with.")


def prepare_action(
    *, engine: Engine, suite: Suite, principal: Principal, case_id: int, request: CaseActionRequest
) -> PreparedCaseAction:
    principal.require_write()
    with Session(engine) as session:
        case = session.get(CaseView, case_id)
        loan = session.get(LoanView, case.loan_id) if case is not None else None
    if case is None or loan is None:
        raise NotFoundError(f"no case {case_id}")
    is_bank = loan.bank_member_id == principal.member_id
    is_agency = case.agency_member_id == principal.member_id
    if not ((is_bank and request.action in BANK_ACTIONS) or (is_agency and request.action in AGENCY_ACTIONS)):
        who = "the loan's bank" if request.action in BANK_ACTIONS - AGENCY_ACTIONS else "the assigned agency"
        raise ForbiddenError(f"{request.action} on case {case_id} is for {who}")
    args: tuple[Any, ...] = ()
    if request.action == "order_repossession":
        if request.agency_member_id is None:
            raise InvalidInputError("order_repossession names the disposal agency (agency_member_id)")
        args = (request.agency_member_id,)
    elif request.action in ("record_appraisal", "record_auction"):
        if request.amount is None:
            raise InvalidInputError(f"{request.action} needs the amount")
        args = (request.amount,)
    try:
        salted = SaltedDocument.create({"case_id": case_id, "action": request.action, "evidence": request.evidence})
    except EncodingError as exc:
        raise InvalidInputError(f"the evidence cannot be digested: {exc}") from None
    digest = "0x" + salted.digest.hex()
    function = {
        "clear_watch": "clearWatch",
        "order_repossession": "orderRepossession",
        "freeze": "freezeCase",
        "record_repossession": "recordRepossession",
        "record_appraisal": "recordAppraisal",
        "record_auction": "recordAuction",
        "record_settlement": "recordSettlement",
    }[request.action]
    data = suite.collateral.calldata(function, case_id, *args, digest)
    document = salted.salted_document()
    with Session(engine) as session:
        session.add(
            CaseEvidence(
                digest=digest,
                case_id=case_id,
                member_id=principal.member_id,
                action=request.action,
                document=canonical_json(document).decode(),
            )
        )
        session.commit()
    return PreparedCaseAction(
        case_id=case_id,
        action=request.action,
        evidence_digest=digest,
        evidence=json.loads(canonical_json(document)),
        transaction={"to": suite.collateral.address, "data": "0x" + data.hex()},
    )
