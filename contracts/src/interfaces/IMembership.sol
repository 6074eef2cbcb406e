// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title IMembership
/// @notice Who belongs to the consortium, with which roles, and the governors' proposals that change it.
/// Every other consortium contract asks this one who may do what, and treats this contract's address as
/// its governance: a passed proposal executes its calls from here.
interface IMembership {
    enum MemberStatus {
        None,
        Active,
        Suspended,
        Expelled
    }

    enum ProposalState {
        None,
        Active,
        Canceled,
        Defeated,
        Queued,
        Ready,
        Expired,
        Executed
    }

    struct Member {
        MemberStatus status;
        uint256 roles;
        bytes32 metadataDigest;
        address[] accounts;
    }

    struct Proposal {
        address proposer;
        uint40 voteStart;
        uint40 voteEnd;
        uint40 eta;
        uint32 forVotes;
        uint32 againstVotes;
        uint32 eligibleVoters;
        uint16 quorumBps;
        bool canceled;
        bool executed;
        bytes32 descriptionDigest;
        address[] targets;
        bytes[] calldatas;
    }

    // ---------------------------------------------------------------- errors

    error MembershipUnauthorizedAccount(address account, uint256 requiredRoles);
    error MembershipOnlyGovernance(address caller);
    error MembershipUnknownMember(uint64 memberId);
    /// @notice The member is not in a status the call accepts.
    /// @param memberId The member.
    /// @param current The member's status.
    /// @param expectedStates The statuses the call would have accepted, as a bitmap: bit `i` (`1 << i`) is set when
    /// the status with enum value `i` would have been accepted.
    error MembershipUnexpectedStatus(uint64 memberId, MemberStatus current, bytes32 expectedStates);
    error MembershipInvalidRoles(uint256 roles);
    error MembershipInvalidAccount(address account);
    error MembershipAccountAlreadyBound(address account, uint64 memberId);
    error MembershipAccountNotBound(address account, uint64 memberId);
    error MembershipLastAccount(uint64 memberId);
    error MembershipLastGovernor(uint64 memberId);
    error MembershipInvalidParameters(uint16 quorumBps, uint32 votingPeriod, uint32 executionDelay, uint32 gracePeriod);
    error MembershipInvalidProposal();
    error MembershipUnknownProposal(uint256 proposalId);
    /// @notice The proposal is not in a state the call accepts.
    /// @param proposalId The proposal.
    /// @param current The proposal's state.
    /// @param expectedStates The states the call would have accepted, as a bitmap: bit `i` (`1 << i`) is set when the
    /// state with enum value `i` would have been accepted.
    error MembershipUnexpectedProposalState(uint256 proposalId, ProposalState current, bytes32 expectedStates);
    error MembershipAlreadyVoted(uint256 proposalId, uint64 memberId);
    error MembershipNotProposer(uint256 proposalId, address caller);
    error MembershipCallFailed(uint256 proposalId, uint256 index, bytes reason);
    /// @dev A member must be admitted with at least one signing account.
    error MembershipNoAccounts();
    /// @dev The member was not an active governor when the proposal was made (it became one later, or was
    /// reinstated or given the role again since), so it was not counted among the eligible voters and may not vote.
    error MembershipIneligibleVoter(uint256 proposalId, uint64 memberId);

    // ---------------------------------------------------------------- events

    event MemberAdmitted(uint64 indexed memberId, uint256 roles, bytes32 metadataDigest, address[] accounts);
    event MemberRolesChanged(uint64 indexed memberId, uint256 previousRoles, uint256 roles);
    event MemberStatusChanged(uint64 indexed memberId, MemberStatus from, MemberStatus to);
    event MemberMetadataChanged(uint64 indexed memberId, bytes32 metadataDigest);
    event AccountAdded(uint64 indexed memberId, address indexed account);
    event AccountRemoved(uint64 indexed memberId, address indexed account);
    event GovernanceParametersChanged(uint16 quorumBps, uint32 votingPeriod, uint32 executionDelay, uint32 gracePeriod);
    event ProposalCreated(
        uint256 indexed proposalId,
        address indexed proposer,
        address[] targets,
        bytes[] calldatas,
        bytes32 descriptionDigest,
        uint40 voteStart,
        uint40 voteEnd
    );
    event VoteCast(uint256 indexed proposalId, uint64 indexed memberId, address indexed account, bool support);
    event ProposalCanceled(uint256 indexed proposalId);
    event ProposalExecuted(uint256 indexed proposalId);

    // ---------------------------------------------------------------- authorization (read by other contracts)

    /// @notice The member an account signs for and that member's roles, if the member is active.
    /// @dev Returns (0, 0) for an unknown account and for the accounts of suspended or expelled members, so
    /// callers that check `roles & required != 0` refuse them without a second call.
    /// @param account The signing account.
    /// @return memberId The member's id, or 0.
    /// @return roles The member's role mask, or 0.
    function authorize(address account) external view returns (uint64 memberId, uint256 roles);

    /// @notice Whether `account` signs for an active member holding at least one role of `roles`.
    /// @param account The signing account.
    /// @param roles A mask of acceptable roles (see `Roles`).
    function hasAnyRole(address account, uint256 roles) external view returns (bool);

    /// @notice The member an account is bound to, whatever the member's status (0 when unbound).
    function memberOf(address account) external view returns (uint64);

    /// @notice The member an account is or was bound to (0 when never bound). An account is bound to one member
    /// ever: once removed it may return to that member only, so records it signed stay attributed to their member.
    function boundMemberOf(address account) external view returns (uint64);

    /// @notice A member's status, roles, metadata digest and signing accounts.
    function getMember(uint64 memberId) external view returns (Member memory);

    /// @notice The number of members ever admitted (ids run from 1 to this number).
    function memberCount() external view returns (uint64);

    /// @notice The number of active members holding the governor role.
    function activeGovernorCount() external view returns (uint32);

    // ---------------------------------------------------------------- governance actions (only by a passed proposal)

    /// @notice Admits a new member with its roles and signing accounts. Governance only.
    /// @return memberId The new member's id.
    function admitMember(address[] calldata accounts, uint256 roles, bytes32 metadataDigest)
        external
        returns (uint64 memberId);

    /// @notice Replaces a member's roles. Governance only.
    function setRoles(uint64 memberId, uint256 roles) external;

    /// @notice Replaces a member's metadata digest. Governance only.
    function setMetadata(uint64 memberId, bytes32 metadataDigest) external;

    /// @notice Suspends an active member: its accounts lose every right at once. Governance only.
    function suspend(uint64 memberId) external;

    /// @notice Reinstates a suspended member. Governance only.
    function reinstate(uint64 memberId) external;

    /// @notice Expels a member for good (active or suspended). Governance only.
    function expel(uint64 memberId) external;

    /// @notice Binds another signing account to a member. Governance only.
    function addAccount(uint64 memberId, address account) external;

    /// @notice Unbinds a signing account from a member (never its last one). Governance only.
    function removeAccount(uint64 memberId, address account) external;

    /// @notice Changes quorum (basis points of active governors), voting period, execution delay and the grace
    /// period in which a passed proposal may still be executed. Governance only.
    function setGovernanceParameters(uint16 quorumBps, uint32 votingPeriod, uint32 executionDelay, uint32 gracePeriod)
        external;

    // ---------------------------------------------------------------- proposals

    /// @notice Proposes calls to be executed from this contract if the governors pass them.
    /// @dev Only an active governor's account. Each call is `targets[i].call(calldatas[i])`.
    /// @return proposalId The new proposal's id (sequential from 1).
    function propose(address[] calldata targets, bytes[] calldata calldatas, bytes32 descriptionDigest)
        external
        returns (uint256 proposalId);

    /// @notice Casts the caller's member's vote (one vote per member, whichever of its accounts casts it).
    /// @dev Only while the proposal is `Active`, and only for a member that is an active governor now and was one
    /// already when the proposal was made (the eligible voters the quorum counts).
    function castVote(uint256 proposalId, bool support) external;

    /// @notice Cancels a proposal that has not been executed. Only its proposer.
    /// @dev In states `Active`, `Queued` or `Ready`, by the proposing account while it still signs for an active
    /// governor.
    function cancel(uint256 proposalId) external;

    /// @notice Executes a passed proposal once its execution delay has run and before its grace period ends.
    /// Anyone may call it.
    function execute(uint256 proposalId) external;

    /// @notice The state of a proposal, computed from its votes and the current time.
    function state(uint256 proposalId) external view returns (ProposalState);

    /// @notice A proposal's record.
    function getProposal(uint256 proposalId) external view returns (Proposal memory);

    /// @notice Whether a member has voted on a proposal.
    function hasVoted(uint256 proposalId, uint64 memberId) external view returns (bool);

    /// @notice Current governance parameters.
    function governanceParameters()
        external
        view
        returns (uint16 quorumBps, uint32 votingPeriod, uint32 executionDelay, uint32 gracePeriod);

    /// @notice The number of proposals ever made (ids run from 1 to this number).
    function proposalCount() external view returns (uint256);

    /// @notice The time from which a passed proposal can no longer be executed (its eta plus the grace period
    /// in force when it was proposed).
    function proposalExpiry(uint256 proposalId) external view returns (uint40);

    /// @notice Whether a member may vote on a proposal now: the proposal is `Active`, the member is an active
    /// governor that was one already when the proposal was made, and it has not voted yet.
    function canVote(uint256 proposalId, uint64 memberId) external view returns (bool);
}
