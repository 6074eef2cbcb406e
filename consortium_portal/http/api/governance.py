"""Membership (``/api/v1``): applications, the governors' proposals and votes, the member directory, and proposing new
reward rules; thin routes over applications.py and proposals.py. An organisation's application is ``public`` (it is
not a member yet); the rest needs a member."""

from __future__ import annotations

from fastapi import APIRouter

from consortium_portal import applications, proposals
from consortium_portal.applications import ApplicationCreate, ApplicationDetail, ApplicationPublic
from consortium_portal.http.deps import API, ContextDep, PrincipalDep, ReaderDep, RowId
from consortium_portal.proposals import (
    MemberEntry,
    MemberProposalRequest,
    PreparedTransaction,
    ProposalPublic,
    VoteRequest,
)

public = APIRouter(prefix=API, tags=["membership"])
router = APIRouter(prefix=API)


@public.post("/applications", status_code=201)
def apply(body: ApplicationCreate, context: ContextDep) -> ApplicationDetail:
    """An organisation applies to join (no sign-in: it is not a member yet). Each signing account proves control
    with a challenge from POST /api/v1/auth/challenge, signed; a challenge serves once."""
    return applications.apply(engine=context.engine, membership=context.suite.membership, request=body)


@router.get("/applications", tags=["membership"])
def list_applications(principal: PrincipalDep, context: ContextDep) -> list[ApplicationPublic]:
    """Every application with where it stands, newest first (governors)."""
    proposals.require_governor(principal, "the applications")
    return applications.list_applications(engine=context.engine, membership=context.suite.membership)


@router.get("/applications/{application_id}", tags=["membership"])
def get_application(application_id: RowId, reader: ReaderDep, context: ContextDep) -> ApplicationDetail:
    """An application with its documents and its salted application file (governors, as the data-sharing policy
    says; the read leaves an access receipt)."""
    return applications.get_application(
        engine=context.engine, membership=context.suite.membership, reader=reader, application_id=application_id
    )


@router.post("/applications/{application_id}/proposal", tags=["membership"])
def propose_admission(application_id: RowId, principal: PrincipalDep, context: ContextDep) -> PreparedTransaction:
    """The transaction proposing the applicant's admission, for the governor's wallet to send."""
    return proposals.propose_admission(
        engine=context.engine, membership=context.suite.membership, principal=principal, application_id=application_id
    )


@router.post("/members/{member_id}/proposal", tags=["membership"])
def propose_member_action(
    member_id: RowId, body: MemberProposalRequest, principal: PrincipalDep, context: ContextDep
) -> PreparedTransaction:
    """The transaction proposing to suspend, reinstate or expel a member, for the governor's wallet to send."""
    return proposals.propose_member_action(
        membership=context.suite.membership, principal=principal, member_id=member_id, request=body
    )


@router.get("/proposals", tags=["membership"])
def open_proposals(principal: PrincipalDep, context: ContextDep) -> list[ProposalPublic]:
    """The open proposals (voting, queued, ready) with their calls, votes and deadlines (governors)."""
    return proposals.open_proposals(engine=context.engine, membership=context.suite.membership, principal=principal)


@router.post("/proposals/{proposal_id}/vote", tags=["membership"])
def vote(proposal_id: RowId, body: VoteRequest, principal: PrincipalDep, context: ContextDep) -> PreparedTransaction:
    """The transaction casting the governor's vote, for its wallet to send."""
    return proposals.vote(
        membership=context.suite.membership, principal=principal, proposal_id=proposal_id, support=body.support
    )


@router.post("/proposals/{proposal_id}/execute", tags=["membership"])
def execute(proposal_id: RowId, principal: PrincipalDep, context: ContextDep) -> PreparedTransaction:
    """The transaction executing a passed proposal once it is ready, for the governor's wallet to send."""
    return proposals.execute(membership=context.suite.membership, principal=principal, proposal_id=proposal_id)


@router.post("/proposals/{proposal_id}/cancel", tags=["membership"])
def cancel(proposal_id: RowId, principal: PrincipalDep, context: ContextDep) -> PreparedTransaction:
    """The transaction canceling a proposal, for its proposer's wallet to send."""
    return proposals.cancel(membership=context.suite.membership, principal=principal, proposal_id=proposal_id)


@router.get("/members", tags=["membership"])
def members(_principal: PrincipalDep, context: ContextDep) -> list[MemberEntry]:
    """Every member with its status, roles, accounts and, when known from its application, its name."""
    return proposals.directory(engine=context.engine)


@router.post("/points/rules/proposal", tags=["points"])
def propose_reward_rules(
    body: proposals.RewardRulesProposal, principal: PrincipalDep, context: ContextDep
) -> PreparedTransaction:
    """The transaction proposing new reward rules (points parameters, a kind's weight), for the governor's wallet."""
    return proposals.propose_reward_rules(
        membership=context.suite.membership, registry=context.suite.registry, principal=principal, request=body
    )
