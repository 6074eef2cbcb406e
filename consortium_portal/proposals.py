"""Governance through the portal: transactions for governors' wallets, the open proposals, the member directory.

The portal holds no governor's key. It prepares each transaction (``{to, data}``: propose an admission or a
suspension, vote, execute, cancel), tries it first as a call from the governor's own account, so what the contract
would refuse is refused here with the contract's error, and the governor's wallet signs and sends it.
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Any

from eth_typing import HexStr
from pydantic import BaseModel, Field
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from web3 import Web3

from consortium_portal.applications import (
    ApplicationStatus,
    admission,
    application_status,
    description_of,
    find_application,
)
from consortium_portal.auth import Principal
from consortium_portal.errors import ConflictError, InvalidInputError, NotFoundError
from consortium_portal.models import MembershipApplication
from node_adapter.clients import MembershipClient, MemberStatus, ProposalState, RegistryClient, Role, role_names
from node_adapter.exceptions import EncodingError
from node_adapter.readmodel import MemberAccountView, MemberView, ProposalView

OPEN_STATES = (ProposalState.ACTIVE, ProposalState.QUEUED, ProposalState.READY)
LIVE_STATUSES = (
    ApplicationStatus.VOTING,
    ApplicationStatus.QUEUED,
    ApplicationStatus.READY,
    ApplicationStatus.ADMITTED,
    ApplicationStatus.EXECUTED,
)


class PreparedTransaction(BaseModel):
    """A transaction for the governor's wallet to sign and send from the account it signed in with."""

    to: str
    data: str
    description: str | None = Field(default=None, description="A proposal's description (its digest is on chain).")
    description_digest: str | None = None


class VoteRequest(BaseModel):
    support: bool


class MemberAction(StrEnum):
    SUSPEND = "suspend"
    REINSTATE = "reinstate"
    EXPEL = "expel"


ACTION_FROM: dict[MemberAction, tuple[MemberStatus, ...]] = {
    MemberAction.SUSPEND: (MemberStatus.ACTIVE,),
    MemberAction.REINSTATE: (MemberStatus.SUSPENDED,),
    MemberAction.EXPEL: (MemberStatus.ACTIVE, MemberStatus.SUSPENDED),
}
"""The statuses a member may be in for each action to apply when the proposal executes."""


class MemberProposalRequest(BaseModel):
    action: MemberAction
    reason: str | None = Field(default=None, max_length=500, description="Said in the proposal's description.")


class Call(BaseModel):
    target: str
    function: str | None = Field(description="The function called, when the target is the Membership contract.")
    args: dict[str, Any] | None


class ProposalPublic(BaseModel):
    proposal_id: int
    proposer: str
    state: str
    description_digest: str
    application_id: int | None = Field(description="The membership application this proposal admits, if any.")
    calls: list[Call]
    for_votes: int
    against_votes: int
    eligible_voters: int
    quorum_bps: int
    voted: bool = Field(description="Whether the caller's member has voted.")
    can_vote: bool = Field(description="Whether the caller's member may vote now.")
    vote_start: int
    vote_end: int = Field(description="Votes are accepted until this time.")
    executable_at: int = Field(description="From this time a passed proposal may be executed (by anyone).")
    expires_at: int = Field(description="From this time a passed proposal can no longer be executed.")


class MemberEntry(BaseModel):
    member_id: int
    name: str | None = Field(description="The organisation's name, from the application its metadata digest matches.")
    status: str
    roles: list[str]
    accounts: list[str]
    metadata_digest: str
    application_id: int | None
    admitted_block: int


def require_governor(principal: Principal, what: str, *, write: bool = False) -> None:
    principal.require(Role.GOVERNOR, what)
    if write:
        principal.require_write()


# ---------------------------------------------------------------------------------------------------- transactions


def prepare(
    *, membership: MembershipClient, sender: str, data: bytes, description: str | None = None
) -> PreparedTransaction:
    """A call to Membership (``data``) for ``sender`` to send, after trying it as a call from ``sender``."""
    calldata = HexStr("0x" + data.hex())
    membership.try_write(sender, data)
    return PreparedTransaction(
        to=membership.address,
        data=calldata,
        description=description,
        description_digest=_digest(description) if description is not None else None,
    )


def propose_admission(
    *, engine: Engine, membership: MembershipClient, principal: Principal, application_id: int
) -> PreparedTransaction:
    """``propose([membership], [admitMember(accounts, roles, metadataDigest)], descriptionDigest)``."""
    require_governor(principal, "proposing an admission", write=True)
    row = find_application(engine=engine, application_id=application_id)
    with Session(engine) as session:
        standing = application_status(session=session, membership=membership, row=row)
    if standing.status in LIVE_STATUSES:
        raise ConflictError(
            f"application {application_id} is {standing.status} (proposal {standing.proposal_id}): "
            "propose it again only once that proposal is defeated, expired or canceled"
        )
    for account in json.loads(row.accounts):
        member_id = membership.bound_member_of(account)
        if member_id:
            raise ConflictError(f"{account} was bound to member {member_id} since the application was made")
    targets, calldatas = admission(membership, row)
    description = description_of(row)
    data = membership.calldata("propose", targets, calldatas, row.description_digest)
    return prepare(membership=membership, sender=principal.account, data=data, description=description)


def propose_member_action(
    *, membership: MembershipClient, principal: Principal, member_id: int, request: MemberProposalRequest
) -> PreparedTransaction:
    """A proposal to suspend, reinstate or expel a member."""
    require_governor(principal, f"proposing to {request.action} a member", write=True)
    member = membership.get_member(member_id)
    if member.status not in ACTION_FROM[request.action]:
        raise ConflictError(f"member {member_id} is {member.status.name.lower()}: it cannot be {request.action}ed")
    encode = {
        MemberAction.SUSPEND: membership.encode_suspend,
        MemberAction.REINSTATE: membership.encode_reinstate,
        MemberAction.EXPEL: membership.encode_expel,
    }[request.action]
    description = f"{request.action.capitalize()} member {member_id}" + (
        f": {request.reason}" if request.reason else ""
    )
    call = "0x" + encode(member_id=member_id).hex()
    data = membership.calldata("propose", [membership.address], [call], _digest(description))
    return prepare(membership=membership, sender=principal.account, data=data, description=description)


def vote(*, membership: MembershipClient, principal: Principal, proposal_id: int, support: bool) -> PreparedTransaction:
    require_governor(principal, "voting", write=True)
    return prepare(
        membership=membership, sender=principal.account, data=membership.calldata("castVote", proposal_id, support)
    )


def execute(*, membership: MembershipClient, principal: Principal, proposal_id: int) -> PreparedTransaction:
    require_governor(principal, "executing a proposal", write=True)
    return prepare(membership=membership, sender=principal.account, data=membership.calldata("execute", proposal_id))


def cancel(*, membership: MembershipClient, principal: Principal, proposal_id: int) -> PreparedTransaction:
    require_governor(principal, "canceling a proposal", write=True)
    return prepare(membership=membership, sender=principal.account, data=membership.calldata("cancel", proposal_id))


def _digest(description: str) -> str:
    return "0x" + bytes(Web3.keccak(text=description)).hex()


# ---------------------------------------------------------------------------------------------------- reads


def open_proposals(*, engine: Engine, membership: MembershipClient, principal: Principal) -> list[ProposalPublic]:
    """The proposals still open (voting, queued or ready), oldest first, with their votes and deadlines."""
    require_governor(principal, "the proposals")
    with Session(engine) as session:
        rows = session.exec(
            select(ProposalView)
            .where(col(ProposalView.executed).is_(False), col(ProposalView.canceled).is_(False))
            .order_by(col(ProposalView.proposal_id))
        ).all()
        applications = _applications_by(session, "description_digest", {r.description_digest for r in rows})
    out = []
    for row in rows:
        state = membership.state(row.proposal_id)
        if state not in OPEN_STATES:
            continue
        proposal = membership.get_proposal(row.proposal_id)
        application = applications.get(row.description_digest)
        admits = application is not None and admission(membership, application) == (
            list(proposal.targets),
            list(proposal.calldatas),
        )
        out.append(
            ProposalPublic(
                proposal_id=row.proposal_id,
                proposer=proposal.proposer,
                state=state.name.lower(),
                description_digest=proposal.description_digest,
                application_id=application.id if application is not None and admits else None,
                calls=[_call(membership, t, c) for t, c in zip(proposal.targets, proposal.calldatas, strict=True)],
                for_votes=proposal.for_votes,
                against_votes=proposal.against_votes,
                eligible_voters=proposal.eligible_voters,
                quorum_bps=proposal.quorum_bps,
                voted=membership.has_voted(row.proposal_id, principal.member_id),
                can_vote=membership.can_vote(row.proposal_id, principal.member_id),
                vote_start=proposal.vote_start,
                vote_end=proposal.vote_end,
                executable_at=proposal.eta,
                expires_at=membership.proposal_expiry(row.proposal_id),
            )
        )
    return out


def _call(membership: MembershipClient, target: str, calldata: str) -> Call:
    if target != membership.address:
        return Call(target=target, function=None, args=None)
    try:
        function, args = membership.decode_calldata(calldata)
    except EncodingError:
        return Call(target=target, function=None, args=None)
    return Call(target=target, function=function, args=args)


def _applications_by(session: Session, digest: str, values: set[str]) -> dict[str, MembershipApplication]:
    """The applications whose ``digest`` (``metadata_digest`` or ``description_digest``) is one of ``values``."""
    column = getattr(MembershipApplication, digest)
    rows = session.exec(select(MembershipApplication).where(col(column).in_(values))).all()
    return {getattr(row, digest): row for row in rows}


def directory(*, engine: Engine) -> list[MemberEntry]:
    """Every member with its status, roles, accounts and, where an application matches its metadata digest, the
    organisation's name."""
    with Session(engine) as session:
        members = session.exec(select(MemberView).order_by(col(MemberView.member_id))).all()
        accounts = session.exec(select(MemberAccountView).order_by(col(MemberAccountView.bound_block))).all()
        applications = _applications_by(session, "metadata_digest", {m.metadata_digest for m in members})
    by_member: dict[int, list[str]] = {}
    for account in accounts:
        by_member.setdefault(account.member_id, []).append(account.account)
    out = []
    for member in members:
        application = applications.get(member.metadata_digest)
        out.append(
            MemberEntry(
                member_id=member.member_id,
                name=application.name if application is not None else None,
                status=member.status,
                roles=list(role_names(member.roles)),
                accounts=by_member.get(member.member_id, []),
                metadata_digest=member.metadata_digest,
                application_id=application.id if application is not None else None,
                admitted_block=member.admitted_block,
            )
        )
    return out


class RewardRulesProposal(BaseModel):
    """New reward rules: the points parameters, and/or one kind's weight (its roles and flags stay as they are)."""

    corroboration_bonus: int | None = Field(default=None, ge=0, lt=2**32)
    slash_multiplier: int | None = Field(default=None, ge=1, le=100)
    disputer_reward: int | None = Field(default=None, ge=0, lt=2**32)
    kind: int | None = Field(default=None, ge=0, lt=2**16)
    weight: int | None = Field(default=None, ge=0, lt=2**32)
    reason: str | None = Field(default=None, max_length=500)


def propose_reward_rules(
    *, membership: MembershipClient, registry: RegistryClient, principal: Principal, request: RewardRulesProposal
) -> PreparedTransaction:
    """A proposal changing what earns and costs credit points (executed by Membership on the registry)."""
    require_governor(principal, "proposing reward rules", write=True)
    calls: list[str] = []
    parts: list[str] = []
    changes = (request.corroboration_bonus, request.slash_multiplier, request.disputer_reward)
    if any(v is not None for v in changes):
        now = registry.points_parameters()
        bonus = now.corroboration_bonus if request.corroboration_bonus is None else request.corroboration_bonus
        slash = now.slash_multiplier if request.slash_multiplier is None else request.slash_multiplier
        reward = now.disputer_reward if request.disputer_reward is None else request.disputer_reward
        calls.append(
            "0x"
            + registry.encode_set_points_parameters(
                corroboration_bonus=bonus, slash_multiplier=slash, disputer_reward=reward
            ).hex()
        )
        parts.append(f"corroboration bonus {bonus}, slash multiplier {slash}, disputer reward {reward}")
    if (request.kind is None) != (request.weight is None):
        raise InvalidInputError("a kind's new weight needs both kind and weight")
    if request.kind is not None and request.weight is not None:
        view = registry.get_kind(request.kind)
        if not view.kind.exists:
            raise NotFoundError(f"no kind {request.kind} is registered")
        calls.append(
            "0x"
            + registry.encode_update_kind(
                kind=request.kind,
                roles=view.kind.roles,
                weight=request.weight,
                flags=view.kind.flags,
                active=view.kind.active,
            ).hex()
        )
        parts.append(f"kind {request.kind} weight {request.weight}")
    if not calls:
        raise InvalidInputError("say what changes: points parameters, or a kind and its weight")
    description = "Reward rules: " + "; ".join(parts) + (f" ({request.reason})" if request.reason else "")
    data = membership.calldata("propose", [registry.address] * len(calls), calls, _digest(description))
    return prepare(membership=membership, sender=principal.account, data=data, description=description)
