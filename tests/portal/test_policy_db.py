"""The policy's and the receipts' queries on both databases (SQLite and PostgreSQL): the version in force from the
executed proposals, a loan's closing time from the chain's events, receipts logged and listed."""

from __future__ import annotations

import json

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from consortium_portal.auth import Principal
from consortium_portal.context import create_portal_schema
from consortium_portal.models import Scope
from consortium_portal.policy import DAY, Target, default_policy, in_force, keep_policy, parse_policy, ties_of
from consortium_portal.receipts import AccessRefusedError, Reader, check_read, list_receipts
from node_adapter.clients import Role
from node_adapter.indexer import ChainEvent
from node_adapter.readmodel import LoanView, ProposalView

MEMBERSHIP = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
SUBJECT = "0x" + "5a" * 32
DOCUMENT = "0x" + "d0" * 32
CLOSED_AT = 1_800_000_000


def _event(number: int, event: str, args: dict[str, object], address: str = MEMBERSHIP) -> ChainEvent:
    return ChainEvent(
        chain_id=31337,
        block_number=number,
        block_hash="0x" + f"{number:064x}",
        block_time=CLOSED_AT if event == "LienStatusChanged" else number,
        tx_hash="0x" + f"{number:064x}",
        log_index=0,
        contract="x",
        address=address,
        event=event,
        args=json.dumps(args),
    )


def _proposal(proposal_id: int, digest: str, *, executed: bool) -> ProposalView:
    return ProposalView(
        proposal_id=proposal_id,
        proposer=MEMBERSHIP,
        description_digest=digest,
        targets="[]",
        calldatas="[]",
        vote_start=0,
        vote_end=0,
        executed=executed,
        created_block=proposal_id,
    )


def test_the_policy_in_force_ties_and_receipts_on_either_database(engine: Engine) -> None:
    create_portal_schema(engine)
    default = default_policy()
    assert (in_force(engine, MEMBERSHIP).digest, in_force(engine, MEMBERSHIP).approved) == (default.digest, False)
    second = parse_policy(default.document() | {"version": 2, "title": "second"})
    third = parse_policy(default.document() | {"version": 3, "title": "third"})
    keep_policy(engine, second, MEMBERSHIP)
    keep_policy(engine, third, MEMBERSHIP)
    with Session(engine) as session:
        session.add(_proposal(7, third.digest, executed=False))  # proposed, not executed
        session.add(_proposal(5, second.digest, executed=True))
        session.add(_proposal(6, default.digest, executed=True))
        session.add(_event(10, "ProposalExecuted", {"proposalId": 6}))
        session.add(_event(11, "ProposalExecuted", {"proposalId": 5}))  # executed after 6: in force
        session.add(LoanView(loan_id=3, subject=SUBJECT, bank_member_id=4, principal="1", outstanding="0",
                             baseline_value="1", lien_status="released", registered_block=1))  # fmt: skip
        lien = {"loanId": "3", "subject": SUBJECT}
        session.add(_event(12, "LienStatusChanged", lien | {"to": 2}, "0x" + "11" * 20))  # the DMV confirmed it
        session.add(_event(13, "LienStatusChanged", lien | {"to": 3}, "0x" + "11" * 20))  # then released
        session.commit()
    force = in_force(engine, MEMBERSHIP)
    assert (force.policy.version, force.approved, force.proposal_id) == (2, True, 5)

    target = Target("inspection", DOCUMENT, 9, (SUBJECT,))
    with Session(engine) as session:
        ties = ties_of(session, 4, target)
    assert [(t.relationship, t.closed_at) for t in ties] == [("lender", CLOSED_AT)]
    bank = Principal("0x" + "44" * 20, 4, int(Role.BANK), "session", Scope.WRITE)
    check_read(engine, Reader(bank, "credit decision", CLOSED_AT + 90 * DAY, 100, MEMBERSHIP), target)
    with pytest.raises(AccessRefusedError) as refused:
        check_read(engine, Reader(bank, "late look", CLOSED_AT + 90 * DAY + 1, 101, MEMBERSHIP), target)
    assert refused.value.policy_version == 2
    owner = Principal("0x" + "99" * 20, 9, int(Role.DEALER), "session", Scope.WRITE)
    listed = list_receipts(engine=engine, principal=owner)
    assert [(r.purpose, r.allowed, r.policy_version, r.batch_id) for r in listed] == [
        ("late look", False, 2, None),
        ("credit decision", True, 2, None),
    ]
    assert listed[0].digest == refused.value.receipt
    assert list_receipts(engine=engine, principal=bank) == []
