"""The typed client of ``Membership``: members, their accounts and roles, and the governors' proposals.

Views answer who an account signs for (:meth:`MembershipClient.authorize`), members and proposals; writes propose,
vote on, cancel and execute proposals; ``encode_*`` methods give the calldata of the governance-only functions
(admitting, suspending or expelling members, their roles and accounts, the governance parameters) for a proposal.
"""

from __future__ import annotations

from collections.abc import Sequence

from node_adapter.clients.base import ContractClient
from node_adapter.clients.types import (
    Authorization,
    Bytes32,
    GovernanceParameters,
    HexBytesLike,
    Member,
    Proposal,
    ProposalState,
)
from node_adapter.outbox import Outbox, OutboxTx


class MembershipClient(ContractClient):
    """``Membership``: members, roles and the governors' proposals."""

    contract_name = "Membership"

    # ------------------------------------------------------------------ views

    def authorize(self, account: str) -> Authorization:
        """The active member ``account`` signs for and its roles; (0, 0) for unknown, suspended or expelled."""
        return Authorization.model_validate(self.call("authorize", account))

    def has_any_role(self, account: str, roles: int) -> bool:
        return bool(self.call("hasAnyRole", account, roles))

    def member_of(self, account: str) -> int:
        """The member ``account`` is bound to, whatever its status (0 when unbound)."""
        return int(self.call("memberOf", account))

    def bound_member_of(self, account: str) -> int:
        """The member ``account`` is or was bound to (0 when never bound): accounts are bound to one member, ever."""
        return int(self.call("boundMemberOf", account))

    def get_member(self, member_id: int) -> Member:
        return Member.model_validate(self.call("getMember", member_id))

    def member_count(self) -> int:
        return int(self.call("memberCount"))

    def active_governor_count(self) -> int:
        return int(self.call("activeGovernorCount"))

    def state(self, proposal_id: int) -> ProposalState:
        return ProposalState(self.call("state", proposal_id))

    def get_proposal(self, proposal_id: int) -> Proposal:
        return Proposal.model_validate(self.call("getProposal", proposal_id))

    def has_voted(self, proposal_id: int, member_id: int) -> bool:
        return bool(self.call("hasVoted", proposal_id, member_id))

    def governance_parameters(self) -> GovernanceParameters:
        return GovernanceParameters.model_validate(self.call("governanceParameters"))

    def proposal_count(self) -> int:
        return int(self.call("proposalCount"))

    def proposal_expiry(self, proposal_id: int) -> int:
        return int(self.call("proposalExpiry", proposal_id))

    def can_vote(self, proposal_id: int, member_id: int) -> bool:
        return bool(self.call("canVote", proposal_id, member_id))

    # ------------------------------------------------------------------ writes

    def propose(
        self,
        outbox: Outbox,
        *,
        key: str,
        sender: str,
        targets: Sequence[str],
        calldatas: Sequence[HexBytesLike],
        description_digest: Bytes32,
    ) -> OutboxTx:
        """Propose calls (``targets[i]`` with ``calldatas[i]``); only an active governor's account."""
        return self._write(outbox, key, sender, "propose", targets, calldatas, description_digest)

    def cast_vote(self, outbox: Outbox, *, key: str, sender: str, proposal_id: int, support: bool) -> OutboxTx:
        return self._write(outbox, key, sender, "castVote", proposal_id, support)

    def cancel(self, outbox: Outbox, *, key: str, sender: str, proposal_id: int) -> OutboxTx:
        return self._write(outbox, key, sender, "cancel", proposal_id)

    def execute(
        self, outbox: Outbox, *, key: str, sender: str, proposal_id: int, gas_limit: int | None = None
    ) -> OutboxTx:
        """Execute a passed proposal (anyone); ``gas_limit`` overrides the estimate for large proposals."""
        return self._write(outbox, key, sender, "execute", proposal_id, gas_limit=gas_limit)

    def proposal_id_of(self, tx: OutboxTx) -> int:
        """The id of the proposal a confirmed ``propose`` write created."""
        return self._created_id(tx, "ProposalCreated", "proposalId")

    # ------------------------------------------------------------------ governance calldata

    def encode_admit_member(self, *, accounts: Sequence[str], roles: int, metadata_digest: Bytes32) -> bytes:
        return self.calldata("admitMember", accounts, roles, metadata_digest)

    def encode_set_roles(self, *, member_id: int, roles: int) -> bytes:
        return self.calldata("setRoles", member_id, roles)

    def encode_set_metadata(self, *, member_id: int, metadata_digest: Bytes32) -> bytes:
        return self.calldata("setMetadata", member_id, metadata_digest)

    def encode_suspend(self, *, member_id: int) -> bytes:
        return self.calldata("suspend", member_id)

    def encode_reinstate(self, *, member_id: int) -> bytes:
        return self.calldata("reinstate", member_id)

    def encode_expel(self, *, member_id: int) -> bytes:
        return self.calldata("expel", member_id)

    def encode_add_account(self, *, member_id: int, account: str) -> bytes:
        return self.calldata("addAccount", member_id, account)

    def encode_remove_account(self, *, member_id: int, account: str) -> bytes:
        return self.calldata("removeAccount", member_id, account)

    def encode_set_governance_parameters(
        self, *, quorum_bps: int, voting_period: int, execution_delay: int, grace_period: int
    ) -> bytes:
        return self.calldata("setGovernanceParameters", quorum_bps, voting_period, execution_delay, grace_period)
