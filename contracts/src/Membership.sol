// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IMembership} from "./interfaces/IMembership.sol";
import {Roles} from "./libraries/Roles.sol";

/// @title Membership
/// @notice The consortium's members, their roles and signing accounts, and the governors' proposals that change
/// them. Every consortium contract treats this contract's address as its governance: a passed proposal executes
/// its calls from here, and the governance functions below accept only calls from this contract itself.
/// @dev `authorize` is on the hot path of every attestation, so a member's status and roles share one storage slot
/// and the account binding is one mapping: two cold reads per call. Accounts, metadata and proposals live apart.
///
/// Proposal timeline (all bounds in `block.timestamp` seconds):
///   [voteStart, voteEnd)          Active   (votes accepted)
///   [voteEnd, eta)                Queued   (if passed; Defeated otherwise)
///   [eta, expiry)                 Ready    (executable by anyone)
///   [expiry, ...)                 Expired
/// with `voteEnd = voteStart + votingPeriod`, `eta = voteEnd + executionDelay`, `expiry = eta + gracePeriod`, all
/// fixed with the quorum when the proposal is made, so later parameter changes never move a running proposal.
contract Membership is IMembership {
    // ---------------------------------------------------------------- storage

    /// @dev One slot: what `authorize` reads, plus the first proposal id the member may vote on as a governor
    /// (set each time the member becomes an active governor, so it cannot vote on proposals whose eligible
    /// voters did not count it).
    struct MemberRecord {
        MemberStatus status;
        uint184 roles;
        uint64 votableFrom;
    }

    /// @dev Per account, in one slot: the member it signs for and a copy of that member's roles while the member is
    /// active (0 otherwise), kept in step by every role and status change, so `authorize` costs one storage read.
    struct AccountGrant {
        uint64 memberId;
        uint16 activeRoles;
    }

    /// @dev Two slots of scalars (the first read by every vote), then the digest and the calls.
    struct ProposalRecord {
        address proposer;
        uint40 voteStart;
        uint40 voteEnd;
        uint16 quorumBps;
        uint40 eta;
        uint40 expiry;
        uint32 forVotes;
        uint32 againstVotes;
        uint32 eligibleVoters;
        bool canceled;
        bool executed;
        bytes32 descriptionDigest;
        address[] targets;
        bytes[] calldatas;
    }

    uint16 private constant _BPS = 10_000;

    // Packed in one slot: counters and governance parameters, all read when a proposal is made.
    uint64 private _memberCount;
    uint32 private _activeGovernorCount;
    uint16 private _quorumBps;
    uint32 private _votingPeriod;
    uint32 private _executionDelay;
    uint32 private _gracePeriod;

    uint256 private _proposalCount;

    mapping(address account => AccountGrant) private _grants;
    mapping(address account => uint64 memberId) private _everBound;
    mapping(uint64 memberId => MemberRecord) private _members;
    mapping(uint64 memberId => address[] accounts) private _accounts;
    mapping(uint64 memberId => bytes32 metadataDigest) private _metadata;
    mapping(uint256 proposalId => ProposalRecord) private _proposals;
    mapping(uint256 proposalId => mapping(uint64 memberId => bool voted)) private _voted;

    // ---------------------------------------------------------------- constructor

    /// @param initialGovernors One account per initial governor; each becomes its own member with role `GOVERNOR`.
    /// @param quorumBps Share of the active governors (at proposal time), in basis points, that must vote for.
    /// @param votingPeriod Seconds a proposal is open for votes.
    /// @param executionDelay Seconds between the end of the vote and the earliest execution.
    /// @param gracePeriod Seconds during which a passed proposal may be executed once its delay has run.
    constructor(
        address[] memory initialGovernors,
        uint16 quorumBps,
        uint32 votingPeriod,
        uint32 executionDelay,
        uint32 gracePeriod
    ) {
        if (initialGovernors.length == 0) revert MembershipNoAccounts();
        _setGovernanceParameters(quorumBps, votingPeriod, executionDelay, gracePeriod);
        for (uint256 i = 0; i < initialGovernors.length; ++i) {
            address[] memory accounts = new address[](1);
            accounts[0] = initialGovernors[i];
            _admit(accounts, Roles.GOVERNOR, bytes32(0));
        }
    }

    // ---------------------------------------------------------------- external: authorization

    /// @inheritdoc IMembership
    function authorize(address account) external view returns (uint64 memberId, uint256 roles) {
        return _authorize(account);
    }

    /// @inheritdoc IMembership
    function boundMemberOf(address account) external view returns (uint64) {
        return _everBound[account];
    }

    /// @inheritdoc IMembership
    function hasAnyRole(address account, uint256 roles) external view returns (bool) {
        (, uint256 held) = _authorize(account);
        return held & roles != 0;
    }

    /// @inheritdoc IMembership
    function memberOf(address account) external view returns (uint64) {
        return _grants[account].memberId;
    }

    /// @inheritdoc IMembership
    function getMember(uint64 memberId) external view returns (Member memory) {
        MemberRecord memory record = _existingMember(memberId);
        return Member({
            status: record.status,
            roles: record.roles,
            metadataDigest: _metadata[memberId],
            accounts: _accounts[memberId]
        });
    }

    /// @inheritdoc IMembership
    function memberCount() external view returns (uint64) {
        return _memberCount;
    }

    /// @inheritdoc IMembership
    function activeGovernorCount() external view returns (uint32) {
        return _activeGovernorCount;
    }

    // ---------------------------------------------------------------- external: governance actions

    /// @inheritdoc IMembership
    function admitMember(address[] calldata accounts, uint256 roles, bytes32 metadataDigest)
        external
        returns (uint64 memberId)
    {
        _onlyGovernance();
        return _admit(accounts, roles, metadataDigest);
    }

    /// @inheritdoc IMembership
    function setRoles(uint64 memberId, uint256 roles) external {
        _onlyGovernance();
        _checkRoles(roles);
        MemberRecord memory record = _existingMember(memberId);
        if (record.status == MemberStatus.Expelled) {
            revert MembershipUnexpectedStatus(memberId, record.status, _notExpelled());
        }
        bool wasGovernor = _isActiveGovernor(record);
        uint256 previousRoles = record.roles;
        // casting to 'uint184' is safe because `_checkRoles` bounds roles by `Roles.ALL` (9 bits)
        // forge-lint: disable-next-line(unsafe-typecast)
        record.roles = uint184(roles);
        bool isGovernor = _isActiveGovernor(record);
        if (wasGovernor && !isGovernor) {
            _loseGovernor(memberId);
        } else if (!wasGovernor && isGovernor) {
            _gainGovernor(record);
        }
        _members[memberId] = record;
        _syncGrants(memberId, record);
        emit MemberRolesChanged(memberId, previousRoles, roles);
    }

    /// @inheritdoc IMembership
    function setMetadata(uint64 memberId, bytes32 metadataDigest) external {
        _onlyGovernance();
        _existingMember(memberId);
        _metadata[memberId] = metadataDigest;
        emit MemberMetadataChanged(memberId, metadataDigest);
    }

    /// @inheritdoc IMembership
    function suspend(uint64 memberId) external {
        _onlyGovernance();
        MemberRecord memory record = _existingMember(memberId);
        if (record.status != MemberStatus.Active) {
            revert MembershipUnexpectedStatus(memberId, record.status, _statusBit(MemberStatus.Active));
        }
        if (_isActiveGovernor(record)) _loseGovernor(memberId);
        _setStatus(memberId, record, MemberStatus.Suspended);
    }

    /// @inheritdoc IMembership
    function reinstate(uint64 memberId) external {
        _onlyGovernance();
        MemberRecord memory record = _existingMember(memberId);
        if (record.status != MemberStatus.Suspended) {
            revert MembershipUnexpectedStatus(memberId, record.status, _statusBit(MemberStatus.Suspended));
        }
        if (record.roles & Roles.GOVERNOR != 0) _gainGovernor(record);
        _setStatus(memberId, record, MemberStatus.Active);
    }

    /// @inheritdoc IMembership
    function expel(uint64 memberId) external {
        _onlyGovernance();
        MemberRecord memory record = _existingMember(memberId);
        if (record.status != MemberStatus.Active && record.status != MemberStatus.Suspended) {
            revert MembershipUnexpectedStatus(memberId, record.status, _notExpelled());
        }
        if (_isActiveGovernor(record)) _loseGovernor(memberId);
        _setStatus(memberId, record, MemberStatus.Expelled);
    }

    /// @inheritdoc IMembership
    /// @dev Not for expelled members: their accounts stay bound to them for good, so they can never act again.
    function addAccount(uint64 memberId, address account) external {
        _onlyGovernance();
        MemberRecord memory record = _existingMember(memberId);
        if (record.status == MemberStatus.Expelled) {
            revert MembershipUnexpectedStatus(memberId, record.status, _notExpelled());
        }
        _bind(memberId, account);
    }

    /// @inheritdoc IMembership
    /// @dev Not for expelled members (see `addAccount`). The unbound account may later be bound to any member.
    function removeAccount(uint64 memberId, address account) external {
        _onlyGovernance();
        MemberRecord memory record = _existingMember(memberId);
        if (record.status == MemberStatus.Expelled) {
            revert MembershipUnexpectedStatus(memberId, record.status, _notExpelled());
        }
        if (_grants[account].memberId != memberId) revert MembershipAccountNotBound(account, memberId);
        address[] storage accounts = _accounts[memberId];
        uint256 length = accounts.length;
        if (length == 1) revert MembershipLastAccount(memberId);
        for (uint256 i = 0; i < length; ++i) {
            if (accounts[i] == account) {
                accounts[i] = accounts[length - 1];
                accounts.pop();
                break;
            }
        }
        delete _grants[account];
        emit AccountRemoved(memberId, account);
    }

    /// @inheritdoc IMembership
    /// @dev Applies to proposals made afterwards; running proposals keep the parameters they were made with.
    function setGovernanceParameters(uint16 quorumBps, uint32 votingPeriod, uint32 executionDelay, uint32 gracePeriod)
        external
    {
        _onlyGovernance();
        _setGovernanceParameters(quorumBps, votingPeriod, executionDelay, gracePeriod);
    }

    // ---------------------------------------------------------------- external: proposals

    /// @inheritdoc IMembership
    function propose(address[] calldata targets, bytes[] calldata calldatas, bytes32 descriptionDigest)
        external
        returns (uint256 proposalId)
    {
        _checkGovernor(msg.sender);
        if (targets.length == 0 || targets.length != calldatas.length) revert MembershipInvalidProposal();

        proposalId = ++_proposalCount;
        uint40 voteStart = uint40(block.timestamp);
        uint40 voteEnd = voteStart + _votingPeriod;
        uint40 eta = voteEnd + _executionDelay;
        ProposalRecord storage proposal = _proposals[proposalId];
        proposal.proposer = msg.sender;
        proposal.voteStart = voteStart;
        proposal.voteEnd = voteEnd;
        proposal.quorumBps = _quorumBps;
        proposal.eta = eta;
        proposal.expiry = eta + _gracePeriod;
        proposal.eligibleVoters = _activeGovernorCount;
        proposal.descriptionDigest = descriptionDigest;
        proposal.targets = targets;
        bytes[] storage storedCalldatas = proposal.calldatas;
        for (uint256 i = 0; i < calldatas.length; ++i) {
            storedCalldatas.push(calldatas[i]);
        }
        emit ProposalCreated(proposalId, msg.sender, targets, calldatas, descriptionDigest, voteStart, voteEnd);
    }

    /// @inheritdoc IMembership
    function castVote(uint256 proposalId, bool support) external {
        _checkProposalState(proposalId, _stateBit(ProposalState.Active));
        uint64 memberId = _checkGovernor(msg.sender);
        if (_members[memberId].votableFrom > proposalId) revert MembershipIneligibleVoter(proposalId, memberId);
        if (_voted[proposalId][memberId]) revert MembershipAlreadyVoted(proposalId, memberId);
        _voted[proposalId][memberId] = true;
        ProposalRecord storage proposal = _proposals[proposalId];
        if (support) {
            ++proposal.forVotes;
        } else {
            ++proposal.againstVotes;
        }
        emit VoteCast(proposalId, memberId, msg.sender, support);
    }

    /// @inheritdoc IMembership
    /// @dev Only the proposing account, and only while it still signs for an active governor.
    function cancel(uint256 proposalId) external {
        _checkProposalState(
            proposalId,
            _stateBit(ProposalState.Active) | _stateBit(ProposalState.Queued) | _stateBit(ProposalState.Ready)
        );
        ProposalRecord storage proposal = _proposals[proposalId];
        if (proposal.proposer != msg.sender) revert MembershipNotProposer(proposalId, msg.sender);
        _checkGovernor(msg.sender);
        proposal.canceled = true;
        emit ProposalCanceled(proposalId);
    }

    /// @inheritdoc IMembership
    /// @dev Marks the proposal executed before making any call, so a call that re-enters `execute` finds it
    /// `Executed`. A failing call reverts the whole execution with `MembershipCallFailed` and the call's revert data.
    function execute(uint256 proposalId) external {
        _checkProposalState(proposalId, _stateBit(ProposalState.Ready));
        ProposalRecord storage proposal = _proposals[proposalId];
        proposal.executed = true;
        emit ProposalExecuted(proposalId);

        address[] storage targets = proposal.targets;
        bytes[] storage calldatas = proposal.calldatas;
        uint256 length = targets.length;
        for (uint256 i = 0; i < length; ++i) {
            // Executing a passed proposal's calls is this function's purpose (see contracts/SLITHER.md).
            // slither-disable-next-line calls-loop,low-level-calls
            (bool success, bytes memory returndata) = targets[i].call(calldatas[i]);
            if (!success) revert MembershipCallFailed(proposalId, i, returndata);
        }
    }

    /// @inheritdoc IMembership
    /// @dev `None` for an id that was never proposed.
    function state(uint256 proposalId) external view returns (ProposalState) {
        return _state(proposalId);
    }

    /// @inheritdoc IMembership
    function getProposal(uint256 proposalId) external view returns (Proposal memory) {
        ProposalRecord storage proposal = _existingProposal(proposalId);
        return Proposal({
            proposer: proposal.proposer,
            voteStart: proposal.voteStart,
            voteEnd: proposal.voteEnd,
            eta: proposal.eta,
            forVotes: proposal.forVotes,
            againstVotes: proposal.againstVotes,
            eligibleVoters: proposal.eligibleVoters,
            quorumBps: proposal.quorumBps,
            canceled: proposal.canceled,
            executed: proposal.executed,
            descriptionDigest: proposal.descriptionDigest,
            targets: proposal.targets,
            calldatas: proposal.calldatas
        });
    }

    /// @inheritdoc IMembership
    function hasVoted(uint256 proposalId, uint64 memberId) external view returns (bool) {
        return _voted[proposalId][memberId];
    }

    /// @inheritdoc IMembership
    function governanceParameters()
        external
        view
        returns (uint16 quorumBps, uint32 votingPeriod, uint32 executionDelay, uint32 gracePeriod)
    {
        return (_quorumBps, _votingPeriod, _executionDelay, _gracePeriod);
    }

    /// @inheritdoc IMembership
    function proposalCount() external view returns (uint256) {
        return _proposalCount;
    }

    /// @inheritdoc IMembership
    function proposalExpiry(uint256 proposalId) external view returns (uint40) {
        return _existingProposal(proposalId).expiry;
    }

    /// @inheritdoc IMembership
    function canVote(uint256 proposalId, uint64 memberId) external view returns (bool) {
        if (_state(proposalId) != ProposalState.Active) return false;
        MemberRecord memory record = _members[memberId];
        return _isActiveGovernor(record) && record.votableFrom <= proposalId && !_voted[proposalId][memberId];
    }

    // ---------------------------------------------------------------- internal

    function _authorize(address account) private view returns (uint64 memberId, uint256 roles) {
        AccountGrant memory grant = _grants[account];
        if (grant.activeRoles == 0) return (0, 0);
        return (grant.memberId, grant.activeRoles);
    }

    function _onlyGovernance() private view {
        if (msg.sender != address(this)) revert MembershipOnlyGovernance(msg.sender);
    }

    /// @dev Reverts unless `account` signs for an active governor; returns that governor's member id.
    function _checkGovernor(address account) private view returns (uint64 memberId) {
        uint256 roles;
        (memberId, roles) = _authorize(account);
        if (roles & Roles.GOVERNOR == 0) revert MembershipUnauthorizedAccount(account, Roles.GOVERNOR);
    }

    function _checkRoles(uint256 roles) private pure {
        if (roles == 0 || roles & ~Roles.ALL != 0) revert MembershipInvalidRoles(roles);
    }

    function _existingMember(uint64 memberId) private view returns (MemberRecord memory record) {
        record = _members[memberId];
        if (record.status == MemberStatus.None) revert MembershipUnknownMember(memberId);
    }

    function _isActiveGovernor(MemberRecord memory record) private pure returns (bool) {
        return record.status == MemberStatus.Active && record.roles & Roles.GOVERNOR != 0;
    }

    /// @dev The member becomes an active governor: counted from now on, and it may vote on proposals made from now on.
    function _gainGovernor(MemberRecord memory record) private {
        ++_activeGovernorCount;
        // casting to 'uint64' is safe because proposal ids grow by one per proposal and never reach 2**64
        // forge-lint: disable-next-line(unsafe-typecast)
        record.votableFrom = uint64(_proposalCount + 1);
    }

    /// @dev The member stops being an active governor; never the last one.
    function _loseGovernor(uint64 memberId) private {
        if (_activeGovernorCount == 1) revert MembershipLastGovernor(memberId);
        --_activeGovernorCount;
    }

    function _setStatus(uint64 memberId, MemberRecord memory record, MemberStatus to) private {
        MemberStatus from = record.status;
        record.status = to;
        _members[memberId] = record;
        _syncGrants(memberId, record);
        emit MemberStatusChanged(memberId, from, to);
    }

    /// @dev The roles an active member's accounts carry in `_grants` (0 for a member that is not active).
    function _activeRoles(MemberRecord memory record) private pure returns (uint16) {
        // casting to 'uint16' is safe because `_checkRoles` bounds roles by `Roles.ALL` (9 bits)
        // forge-lint: disable-next-line(unsafe-typecast)
        return record.status == MemberStatus.Active ? uint16(record.roles) : 0;
    }

    /// @dev Copies a member's current roles and status to the grants of all its accounts.
    function _syncGrants(uint64 memberId, MemberRecord memory record) private {
        uint16 activeRoles = _activeRoles(record);
        address[] storage accounts = _accounts[memberId];
        for (uint256 i = 0; i < accounts.length; ++i) {
            _grants[accounts[i]].activeRoles = activeRoles;
        }
    }

    function _admit(address[] memory accounts, uint256 roles, bytes32 metadataDigest)
        private
        returns (uint64 memberId)
    {
        _checkRoles(roles);
        if (accounts.length == 0) revert MembershipNoAccounts();
        memberId = ++_memberCount;
        // casting to 'uint184' is safe because `_checkRoles` bounds roles by `Roles.ALL` (9 bits)
        // forge-lint: disable-next-line(unsafe-typecast)
        MemberRecord memory record = MemberRecord({status: MemberStatus.Active, roles: uint184(roles), votableFrom: 0});
        if (_isActiveGovernor(record)) _gainGovernor(record);
        _members[memberId] = record;
        if (metadataDigest != bytes32(0)) _metadata[memberId] = metadataDigest;
        for (uint256 i = 0; i < accounts.length; ++i) {
            _bind(memberId, accounts[i]);
        }
        emit MemberAdmitted(memberId, roles, metadataDigest, accounts);
        emit MemberStatusChanged(memberId, MemberStatus.None, MemberStatus.Active);
    }

    function _bind(uint64 memberId, address account) private {
        if (account == address(0) || account == address(this)) revert MembershipInvalidAccount(account);
        uint64 boundTo = _grants[account].memberId;
        if (boundTo != 0) revert MembershipAccountAlreadyBound(account, boundTo);
        uint64 everBound = _everBound[account];
        if (everBound != 0 && everBound != memberId) revert MembershipAccountAlreadyBound(account, everBound);
        _everBound[account] = memberId;
        _grants[account] = AccountGrant({memberId: memberId, activeRoles: _activeRoles(_members[memberId])});
        _accounts[memberId].push(account);
        emit AccountAdded(memberId, account);
    }

    function _setGovernanceParameters(uint16 quorumBps, uint32 votingPeriod, uint32 executionDelay, uint32 gracePeriod)
        private
    {
        if (quorumBps == 0 || quorumBps > _BPS || votingPeriod == 0 || gracePeriod == 0) {
            revert MembershipInvalidParameters(quorumBps, votingPeriod, executionDelay, gracePeriod);
        }
        _quorumBps = quorumBps;
        _votingPeriod = votingPeriod;
        _executionDelay = executionDelay;
        _gracePeriod = gracePeriod;
        emit GovernanceParametersChanged(quorumBps, votingPeriod, executionDelay, gracePeriod);
    }

    function _existingProposal(uint256 proposalId) private view returns (ProposalRecord storage proposal) {
        proposal = _proposals[proposalId];
        if (proposal.proposer == address(0)) revert MembershipUnknownProposal(proposalId);
    }

    function _state(uint256 proposalId) private view returns (ProposalState) {
        ProposalRecord storage proposal = _proposals[proposalId];
        if (proposal.proposer == address(0)) return ProposalState.None;
        if (proposal.executed) return ProposalState.Executed;
        if (proposal.canceled) return ProposalState.Canceled;
        uint256 time = block.timestamp;
        if (time < proposal.voteEnd) return ProposalState.Active;
        if (!_passed(proposal.forVotes, proposal.againstVotes, proposal.eligibleVoters, proposal.quorumBps)) {
            return ProposalState.Defeated;
        }
        if (time < proposal.eta) return ProposalState.Queued;
        if (time < proposal.expiry) return ProposalState.Ready;
        return ProposalState.Expired;
    }

    /// @dev Quorum (`forVotes * 10000 >= quorumBps * eligibleVoters`) and a strict majority of the votes cast.
    function _passed(uint32 forVotes, uint32 againstVotes, uint32 eligibleVoters, uint16 quorumBps)
        private
        pure
        returns (bool)
    {
        return uint256(forVotes) * _BPS >= uint256(quorumBps) * eligibleVoters && forVotes > againstVotes;
    }

    /// @dev Reverts unless the proposal exists and its state is in `allowed` (a mask of `_stateBit`s).
    function _checkProposalState(uint256 proposalId, uint256 allowed) private view returns (ProposalState current) {
        current = _state(proposalId);
        if (current == ProposalState.None) revert MembershipUnknownProposal(proposalId);
        if (_stateBit(current) & allowed == 0) {
            revert MembershipUnexpectedProposalState(proposalId, current, bytes32(allowed));
        }
    }

    function _stateBit(ProposalState proposalState) private pure returns (uint256) {
        // forge-lint: disable-next-line(incorrect-shift)
        return 1 << uint8(proposalState);
    }

    /// @dev A member status as a bit of the `expectedStates` bitmap of `MembershipUnexpectedStatus`.
    function _statusBit(MemberStatus status) private pure returns (bytes32) {
        // forge-lint: disable-next-line(incorrect-shift)
        return bytes32(1 << uint8(status));
    }

    /// @dev The statuses of a member not expelled (`None` is refused earlier, as an unknown member).
    function _notExpelled() private pure returns (bytes32) {
        return _statusBit(MemberStatus.Active) | _statusBit(MemberStatus.Suspended);
    }
}
