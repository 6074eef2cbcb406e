"""The data-sharing policy's governance through the portal: the version in force, the versions known and where their
approval stands, and a governor's proposal of a new version (the transaction for the governor's wallet).

The proposal's ``descriptionDigest`` is the policy's digest (its description is the policy's canonical JSON); its
only call is ``Membership.proposalCount()``, a view that changes nothing (``propose`` needs one call at least): what
the governors vote on is the policy the digest names. Once executed it is in force (``policy.in_force``).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from consortium_portal import policy
from consortium_portal.auth import Principal
from consortium_portal.errors import InvalidInputError
from consortium_portal.models import PolicyVersion
from consortium_portal.proposals import PreparedTransaction, prepare, require_governor
from node_adapter.clients import MembershipClient
from node_adapter.readmodel import ProposalView


class PolicyPublic(BaseModel):
    version: int
    title: str
    digest: str = Field(description="keccak-256 of the policy's canonical JSON: the approving proposal's digest.")
    approved: bool = Field(description="Approved by governance (False: the repository's default, until one is).")
    proposal_id: int | None
    rules: list[policy.Rule]
    described: list[str] = Field(description="Each rule in words.")


class PolicyVersionPublic(BaseModel):
    version: int
    title: str
    digest: str
    in_force: bool
    status: str = Field(description="not_proposed, active, queued, ready, defeated, expired, canceled or executed.")
    proposal_id: int | None
    submitted_by: str


class PolicyProposalRequest(BaseModel):
    """A new version of the policy, as JSON (``policy``) or as the text of a TOML file (``toml``)."""

    policy: dict[str, Any] | None = None
    toml: str | None = Field(default=None, max_length=100_000)


def public(force: policy.PolicyInForce) -> PolicyPublic:
    return PolicyPublic(
        version=force.policy.version,
        title=force.policy.title,
        digest=force.digest,
        approved=force.approved,
        proposal_id=force.proposal_id,
        rules=force.policy.rules,
        described=[f"{', '.join(r.kinds)}: {r.describe()}" for r in force.policy.rules],
    )


def versions(*, engine: Engine, membership: MembershipClient) -> list[PolicyVersionPublic]:
    """Every policy the portal knows, newest first, with where its approval stands."""
    force = policy.in_force(engine, membership.address)
    with Session(engine) as session:
        rows = session.exec(select(PolicyVersion).order_by(col(PolicyVersion.created_at).desc())).all()
        proposals = session.exec(
            select(ProposalView)
            .where(col(ProposalView.description_digest).in_([r.digest for r in rows]))
            .order_by(col(ProposalView.proposal_id))
        ).all()
    latest = {p.description_digest: p for p in proposals}  # the last proposal of each digest
    out = []
    for row in rows:
        proposal = latest.get(row.digest)
        status = "not_proposed" if proposal is None else membership.state(proposal.proposal_id).name.lower()
        out.append(
            PolicyVersionPublic(
                version=row.version,
                title=row.title,
                digest=row.digest,
                in_force=row.digest == force.digest,
                status=status,
                proposal_id=proposal.proposal_id if proposal is not None else None,
                submitted_by=row.submitted_by,
            )
        )
    return out


def propose(
    *, engine: Engine, membership: MembershipClient, principal: Principal, request: PolicyProposalRequest
) -> PreparedTransaction:
    """Keep a new policy version and answer the proposal approving it, for the governor's wallet."""
    require_governor(principal, "proposing a data-sharing policy", write=True)
    if (request.policy is None) == (request.toml is None):
        raise InvalidInputError("send the policy either as JSON (policy) or as the text of a TOML file (toml)")
    proposed = policy.parse_policy(request.policy if request.policy is not None else str(request.toml))
    current = policy.in_force(engine, membership.address)
    if current.approved and proposed.version <= current.policy.version:
        raise InvalidInputError(
            f"version {proposed.version} is not newer than the policy in force (version {current.policy.version})"
        )
    policy.keep_policy(engine, proposed, principal.account)
    description = proposed.canonical()
    noop = "0x" + membership.calldata("proposalCount").hex()
    data = membership.calldata("propose", [membership.address], [noop], proposed.digest)
    return prepare(membership=membership, sender=principal.account, data=data, description=description)
