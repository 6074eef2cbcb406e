// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ConsortiumTest} from "./utils/ConsortiumTest.sol";
import {Membership} from "../src/Membership.sol";
import {IMembership} from "../src/interfaces/IMembership.sol";
import {Roles} from "../src/libraries/Roles.sol";

/// @dev A contract a proposal can call: records who called it, or refuses with its own error.
contract CallTarget {
    error CallTargetRefused(uint256 value);

    address public lastCaller;
    uint256 public lastValue;
    uint256 public calls;

    function ping(uint256 value) external {
        lastCaller = msg.sender;
        lastValue = value;
        ++calls;
    }

    function refuse(uint256 value) external pure {
        revert CallTargetRefused(value);
    }
}

/// @dev Called by a proposal, tries to execute the same proposal again and remembers how that went.
contract ReentrantExecutor {
    IMembership public immutable membership;
    uint256 public proposalId;
    uint256 public entered;
    bool public reentrySucceeded;
    bytes public reentryRevertData;

    constructor(IMembership membership_) {
        membership = membership_;
    }

    function setProposal(uint256 id) external {
        proposalId = id;
    }

    function reenter() external {
        ++entered;
        try membership.execute(proposalId) {
            reentrySucceeded = true;
        } catch (bytes memory revertData) {
            reentryRevertData = revertData;
        }
    }
}

contract MembershipTest is ConsortiumTest {
    address internal stranger = makeAddr("stranger");
    CallTarget internal target;

    function setUp() public {
        _deployMembership();
        target = new CallTarget();
    }

    // ================================================================ helpers

    function _one(address account) internal pure returns (address[] memory accounts) {
        accounts = new address[](1);
        accounts[0] = account;
    }

    function _two(address first, address second) internal pure returns (address[] memory accounts) {
        accounts = new address[](2);
        accounts[0] = first;
        accounts[1] = second;
    }

    function _governance() internal {
        vm.prank(address(membership));
    }

    /// @dev One call to `setMetadata(1, digest)` on the membership: a harmless proposal.
    function _metadataCall(bytes32 digest) internal view returns (address[] memory targets, bytes[] memory calldatas) {
        targets = _one(address(membership));
        calldatas = new bytes[](1);
        calldatas[0] = abi.encodeCall(IMembership.setMetadata, (1, digest));
    }

    function _propose(address proposer) internal returns (uint256 proposalId) {
        (address[] memory targets, bytes[] memory calldatas) = _metadataCall(keccak256("proposal"));
        vm.prank(proposer);
        proposalId = membership.propose(targets, calldatas, keccak256("description"));
    }

    function _vote(address account, uint256 proposalId, bool support) internal {
        vm.prank(account);
        membership.castVote(proposalId, support);
    }

    /// @dev A proposal by A with votes for by A and B: it passes with the default three governors.
    function _proposePassing() internal returns (uint256 proposalId) {
        proposalId = _propose(governorA);
        _vote(governorA, proposalId, true);
        _vote(governorB, proposalId, true);
    }

    function _assertState(uint256 proposalId, IMembership.ProposalState expected) internal view {
        assertEq(uint8(membership.state(proposalId)), uint8(expected), "proposal state");
    }

    function _assertStatus(uint64 memberId, IMembership.MemberStatus expected) internal view {
        assertEq(uint8(membership.getMember(memberId).status), uint8(expected), "member status");
    }

    function _assertAuthorize(address account, uint64 memberId, uint256 roles) internal view {
        (uint64 id, uint256 held) = membership.authorize(account);
        assertEq(id, memberId, "authorize memberId");
        assertEq(held, roles, "authorize roles");
    }

    /// @dev Every kind of account that must not call a governance function directly: a stranger, a member
    /// without the governor role, an active governor, a suspended governor and an expelled governor.
    function _directCallers() internal returns (address[] memory callers) {
        (address dealer,) = _admit("dealer", Roles.DEALER);
        (address suspendedGovernor, uint64 suspendedId) = _admit("suspendedGovernor", Roles.GOVERNOR);
        _suspend(suspendedId);
        (address expelledGovernor, uint64 expelledId) = _admit("expelledGovernor", Roles.GOVERNOR | Roles.BANK);
        _expel(expelledId);
        callers = new address[](5);
        callers[0] = stranger;
        callers[1] = dealer;
        callers[2] = governorA;
        callers[3] = suspendedGovernor;
        callers[4] = expelledGovernor;
    }

    /// @dev Asserts that each direct caller is refused with `MembershipOnlyGovernance(caller)`.
    function _assertOnlyGovernance(bytes memory data) internal {
        address[] memory callers = _directCallers();
        for (uint256 i = 0; i < callers.length; ++i) {
            vm.prank(callers[i]);
            (bool success, bytes memory revertData) = address(membership).call(data);
            assertFalse(success, "direct call accepted");
            assertEq(
                revertData, abi.encodeWithSelector(IMembership.MembershipOnlyGovernance.selector, callers[i]), "error"
            );
        }
    }

    /// @dev Accounts that may not propose or vote: a stranger, a bank, a suspended and an expelled governor.
    function _nonGovernors() internal returns (address[] memory accounts) {
        (address bank,) = _admit("bank", Roles.BANK);
        (address suspendedGovernor, uint64 suspendedId) = _admit("suspendedGovernor", Roles.GOVERNOR);
        _suspend(suspendedId);
        (address expelledGovernor, uint64 expelledId) = _admit("expelledGovernor", Roles.GOVERNOR);
        _expel(expelledId);
        accounts = new address[](4);
        accounts[0] = stranger;
        accounts[1] = bank;
        accounts[2] = suspendedGovernor;
        accounts[3] = expelledGovernor;
    }

    // ================================================================ constructor

    function test_constructor_makesEachGovernorItsOwnMember() public view {
        assertEq(membership.memberCount(), 3);
        assertEq(membership.activeGovernorCount(), 3);
        address[3] memory governors = [governorA, governorB, governorC];
        for (uint64 id = 1; id <= 3; ++id) {
            IMembership.Member memory member = membership.getMember(id);
            assertEq(uint8(member.status), uint8(IMembership.MemberStatus.Active));
            assertEq(member.roles, Roles.GOVERNOR);
            assertEq(member.metadataDigest, bytes32(0));
            assertEq(member.accounts.length, 1);
            assertEq(member.accounts[0], governors[id - 1]);
            assertEq(membership.memberOf(governors[id - 1]), id);
            _assertAuthorize(governors[id - 1], id, Roles.GOVERNOR);
        }
        (uint16 quorumBps, uint32 votingPeriod, uint32 executionDelay, uint32 gracePeriod) =
            membership.governanceParameters();
        assertEq(quorumBps, QUORUM_BPS);
        assertEq(votingPeriod, VOTING_PERIOD);
        assertEq(executionDelay, EXECUTION_DELAY);
        assertEq(gracePeriod, GRACE_PERIOD);
        assertEq(membership.proposalCount(), 0);
    }

    function test_constructor_emitsAdmissionsAndParameters() public {
        address solo = makeAddr("solo");
        vm.expectEmit();
        emit IMembership.GovernanceParametersChanged(QUORUM_BPS, VOTING_PERIOD, EXECUTION_DELAY, GRACE_PERIOD);
        vm.expectEmit();
        emit IMembership.AccountAdded(1, solo);
        vm.expectEmit();
        emit IMembership.MemberAdmitted(1, Roles.GOVERNOR, bytes32(0), _one(solo));
        vm.expectEmit();
        emit IMembership.MemberStatusChanged(1, IMembership.MemberStatus.None, IMembership.MemberStatus.Active);
        new Membership(_one(solo), QUORUM_BPS, VOTING_PERIOD, EXECUTION_DELAY, GRACE_PERIOD);
    }

    function test_constructor_revertsWithoutGovernors() public {
        vm.expectRevert(abi.encodeWithSelector(IMembership.MembershipNoAccounts.selector));
        new Membership(new address[](0), QUORUM_BPS, VOTING_PERIOD, EXECUTION_DELAY, GRACE_PERIOD);
    }

    function test_constructor_revertsOnZeroGovernor() public {
        vm.expectRevert(abi.encodeWithSelector(IMembership.MembershipInvalidAccount.selector, address(0)));
        new Membership(_two(governorA, address(0)), QUORUM_BPS, VOTING_PERIOD, EXECUTION_DELAY, GRACE_PERIOD);
    }

    function test_constructor_revertsOnDuplicateGovernor() public {
        vm.expectRevert(abi.encodeWithSelector(IMembership.MembershipAccountAlreadyBound.selector, governorA, 1));
        new Membership(_two(governorA, governorA), QUORUM_BPS, VOTING_PERIOD, EXECUTION_DELAY, GRACE_PERIOD);
    }

    function test_constructor_revertsOnInvalidParameters() public {
        vm.expectRevert(
            abi.encodeWithSelector(IMembership.MembershipInvalidParameters.selector, 0, VOTING_PERIOD, 0, GRACE_PERIOD)
        );
        new Membership(_one(governorA), 0, VOTING_PERIOD, 0, GRACE_PERIOD);
    }

    // ================================================================ authorize, hasAnyRole, memberOf

    function test_authorize_unknownAccountGetsNothing() public view {
        _assertAuthorize(stranger, 0, 0);
        assertEq(membership.memberOf(stranger), 0);
    }

    function test_authorize_activeMemberGetsIdAndRoles() public {
        (address insurer, uint64 id) = _admit("insurer", Roles.INSURER | Roles.REPAIR_SHOP);
        assertEq(id, 4);
        _assertAuthorize(insurer, 4, Roles.INSURER | Roles.REPAIR_SHOP);
    }

    function test_authorize_suspendedMemberAccountsLoseEveryRightAtOnce() public {
        address first = makeAddr("first");
        address second = makeAddr("second");
        _governance();
        uint64 id = membership.admitMember(_two(first, second), Roles.BANK | Roles.DEALER, bytes32(0));
        _assertAuthorize(first, id, Roles.BANK | Roles.DEALER);
        _assertAuthorize(second, id, Roles.BANK | Roles.DEALER);

        _suspend(id);

        _assertAuthorize(first, 0, 0);
        _assertAuthorize(second, 0, 0);
        assertFalse(membership.hasAnyRole(first, Roles.ALL));
        assertFalse(membership.hasAnyRole(second, Roles.ALL));
        // still bound: the accounts stay attributable to the member
        assertEq(membership.memberOf(first), id);
        assertEq(membership.memberOf(second), id);
    }

    function test_authorize_expelledMemberGetsNothing() public {
        (address dealer, uint64 id) = _admit("dealer", Roles.DEALER);
        _expel(id);
        _assertAuthorize(dealer, 0, 0);
        assertEq(membership.memberOf(dealer), id);
    }

    function test_authorize_reinstatedMemberGetsRolesBack() public {
        (address dealer, uint64 id) = _admit("dealer", Roles.DEALER);
        _suspend(id);
        _governance();
        membership.reinstate(id);
        _assertAuthorize(dealer, id, Roles.DEALER);
    }

    function test_hasAnyRole_matchesAnyBitOfTheMask() public {
        (address bank,) = _admit("bank", Roles.BANK | Roles.DISPOSAL_AGENCY);
        assertTrue(membership.hasAnyRole(bank, Roles.BANK));
        assertTrue(membership.hasAnyRole(bank, Roles.DEALER | Roles.DISPOSAL_AGENCY));
        assertFalse(membership.hasAnyRole(bank, Roles.DEALER | Roles.INSURER));
        assertFalse(membership.hasAnyRole(bank, 0));
        assertFalse(membership.hasAnyRole(stranger, Roles.ALL));
    }

    function testFuzz_hasAnyRole_isTheIntersectionOfMasks(uint256 held, uint256 asked) public {
        held = bound(held, 1, Roles.ALL);
        (address account,) = _admit("holder", held);
        assertEq(membership.hasAnyRole(account, asked), held & asked != 0);
        _assertAuthorize(account, 4, held);
    }

    function test_hasAnyRole_isTheIntersectionOfMasks() public {
        (address account,) = _admit("holder", Roles.INSURER | Roles.PRICE_ORACLE);
        assertTrue(membership.hasAnyRole(account, Roles.PRICE_ORACLE | Roles.GOVERNOR));
        assertFalse(membership.hasAnyRole(account, ~(Roles.INSURER | Roles.PRICE_ORACLE)));
        assertTrue(membership.hasAnyRole(account, type(uint256).max));
        _assertAuthorize(account, 4, Roles.INSURER | Roles.PRICE_ORACLE);
    }

    // ================================================================ getMember, memberCount

    function test_getMember_revertsForUnknownIds() public {
        vm.expectRevert(abi.encodeWithSelector(IMembership.MembershipUnknownMember.selector, 0));
        membership.getMember(0);
        vm.expectRevert(abi.encodeWithSelector(IMembership.MembershipUnknownMember.selector, 4));
        membership.getMember(4);
    }

    // ================================================================ admitMember

    function test_admitMember_storesMemberAndBindsAccounts() public {
        address first = makeAddr("first");
        address second = makeAddr("second");
        _governance();
        uint64 id = membership.admitMember(_two(first, second), Roles.REPAIR_SHOP, keccak256("application"));
        assertEq(id, 4);
        assertEq(membership.memberCount(), 4);
        IMembership.Member memory member = membership.getMember(id);
        assertEq(uint8(member.status), uint8(IMembership.MemberStatus.Active));
        assertEq(member.roles, Roles.REPAIR_SHOP);
        assertEq(member.metadataDigest, keccak256("application"));
        assertEq(member.accounts, _two(first, second));
        assertEq(membership.memberOf(first), id);
        assertEq(membership.memberOf(second), id);
        assertEq(membership.activeGovernorCount(), 3, "not a governor");
    }

    function test_admitMember_emitsEvents() public {
        address first = makeAddr("first");
        address second = makeAddr("second");
        vm.expectEmit(address(membership));
        emit IMembership.AccountAdded(4, first);
        vm.expectEmit(address(membership));
        emit IMembership.AccountAdded(4, second);
        vm.expectEmit(address(membership));
        emit IMembership.MemberAdmitted(4, Roles.DEALER, keccak256("file"), _two(first, second));
        vm.expectEmit(address(membership));
        emit IMembership.MemberStatusChanged(4, IMembership.MemberStatus.None, IMembership.MemberStatus.Active);
        _governance();
        membership.admitMember(_two(first, second), Roles.DEALER, keccak256("file"));
    }

    function test_admitMember_governorCountsAndMayPropose() public {
        (address governorD, uint64 id) = _admit("governorD", Roles.GOVERNOR | Roles.BANK);
        assertEq(membership.activeGovernorCount(), 4);
        uint256 proposalId = _propose(governorD);
        assertEq(membership.getProposal(proposalId).eligibleVoters, 4);
        assertTrue(membership.canVote(proposalId, id));
    }

    function test_admitMember_revertsOnDirectCall() public {
        _assertOnlyGovernance(abi.encodeCall(IMembership.admitMember, (_one(stranger), Roles.DEALER, bytes32(0))));
        assertEq(membership.memberOf(stranger), 0);
    }

    function test_admitMember_revertsOnZeroRoles() public {
        _governance();
        vm.expectRevert(abi.encodeWithSelector(IMembership.MembershipInvalidRoles.selector, 0));
        membership.admitMember(_one(stranger), 0, bytes32(0));
    }

    function test_admitMember_revertsOnUndefinedRole() public {
        _governance();
        vm.expectRevert(abi.encodeWithSelector(IMembership.MembershipInvalidRoles.selector, Roles.DEALER | (1 << 9)));
        membership.admitMember(_one(stranger), Roles.DEALER | (1 << 9), bytes32(0));
    }

    function test_admitMember_revertsWithoutAccounts() public {
        _governance();
        vm.expectRevert(abi.encodeWithSelector(IMembership.MembershipNoAccounts.selector));
        membership.admitMember(new address[](0), Roles.DEALER, bytes32(0));
    }

    function test_admitMember_revertsOnZeroAccount() public {
        _governance();
        vm.expectRevert(abi.encodeWithSelector(IMembership.MembershipInvalidAccount.selector, address(0)));
        membership.admitMember(_two(stranger, address(0)), Roles.DEALER, bytes32(0));
    }

    function test_admitMember_revertsOnTheMembershipItselfAsAccount() public {
        _governance();
        vm.expectRevert(abi.encodeWithSelector(IMembership.MembershipInvalidAccount.selector, address(membership)));
        membership.admitMember(_one(address(membership)), Roles.DEALER, bytes32(0));
    }

    function test_admitMember_revertsOnAccountOfAnotherMember() public {
        _governance();
        vm.expectRevert(abi.encodeWithSelector(IMembership.MembershipAccountAlreadyBound.selector, governorB, 2));
        membership.admitMember(_two(stranger, governorB), Roles.DEALER, bytes32(0));
    }

    function test_admitMember_revertsOnRepeatedAccount() public {
        _governance();
        vm.expectRevert(abi.encodeWithSelector(IMembership.MembershipAccountAlreadyBound.selector, stranger, 4));
        membership.admitMember(_two(stranger, stranger), Roles.DEALER, bytes32(0));
    }

    function testFuzz_admitMember_acceptsExactlyTheValidRoleMasks(uint256 roles) public {
        _assertRoleMaskValidity(roles);
    }

    function test_admitMember_acceptsExactlyTheValidRoleMasks() public {
        _assertRoleMaskValidity(0);
        _assertRoleMaskValidity(1);
        _assertRoleMaskValidity(Roles.ALL);
        _assertRoleMaskValidity(Roles.ALL + 1);
        _assertRoleMaskValidity(1 << 255);
        _assertRoleMaskValidity(type(uint256).max);
    }

    function _assertRoleMaskValidity(uint256 roles) internal {
        bool valid = roles != 0 && roles & ~Roles.ALL == 0;
        address account = makeAddr(vm.toString(roles));
        uint32 governorsBefore = membership.activeGovernorCount();
        if (!valid) vm.expectRevert(abi.encodeWithSelector(IMembership.MembershipInvalidRoles.selector, roles));
        _governance();
        membership.admitMember(_one(account), roles, bytes32(0));
        if (valid) {
            _assertAuthorize(account, membership.memberCount(), roles);
            assertEq(membership.activeGovernorCount(), governorsBefore + (roles & Roles.GOVERNOR != 0 ? 1 : 0));
        } else {
            assertEq(membership.memberOf(account), 0);
        }
    }

    // ================================================================ setRoles

    function test_setRoles_replacesRolesAndEmits() public {
        (address dealer, uint64 id) = _admit("dealer", Roles.DEALER);
        vm.expectEmit(address(membership));
        emit IMembership.MemberRolesChanged(id, Roles.DEALER, Roles.INSURER | Roles.BANK);
        _governance();
        membership.setRoles(id, Roles.INSURER | Roles.BANK);
        _assertAuthorize(dealer, id, Roles.INSURER | Roles.BANK);
        assertEq(membership.getMember(id).roles, Roles.INSURER | Roles.BANK);
    }

    function test_setRoles_grantingAndRevokingGovernorMovesTheCount() public {
        (, uint64 id) = _admit("dealer", Roles.DEALER);
        _governance();
        membership.setRoles(id, Roles.DEALER | Roles.GOVERNOR);
        assertEq(membership.activeGovernorCount(), 4);
        _governance();
        membership.setRoles(id, Roles.GOVERNOR); // still a governor
        assertEq(membership.activeGovernorCount(), 4);
        _governance();
        membership.setRoles(2, Roles.BANK);
        assertEq(membership.activeGovernorCount(), 3);
    }

    function test_setRoles_onSuspendedMemberCountsOnlyOnReinstatement() public {
        (, uint64 id) = _admit("dealer", Roles.DEALER);
        _suspend(id);
        _governance();
        membership.setRoles(id, Roles.GOVERNOR);
        assertEq(membership.activeGovernorCount(), 3);
        _governance();
        membership.reinstate(id);
        assertEq(membership.activeGovernorCount(), 4);
    }

    function test_setRoles_revertsWhenRemovingTheLastActiveGovernor() public {
        _suspend(2);
        _suspend(3);
        _governance();
        vm.expectRevert(abi.encodeWithSelector(IMembership.MembershipLastGovernor.selector, 1));
        membership.setRoles(1, Roles.BANK);
        // keeping the role while changing others is fine
        _governance();
        membership.setRoles(1, Roles.GOVERNOR | Roles.BANK);
        assertEq(membership.activeGovernorCount(), 1);
    }

    function test_setRoles_revertsOnExpelledMember() public {
        (, uint64 id) = _admit("dealer", Roles.DEALER);
        _expel(id);
        _governance();
        vm.expectRevert(
            abi.encodeWithSelector(
                IMembership.MembershipUnexpectedStatus.selector,
                id,
                IMembership.MemberStatus.Expelled,
                _stateBit(IMembership.MemberStatus.Active) | _stateBit(IMembership.MemberStatus.Suspended)
            )
        );
        membership.setRoles(id, Roles.BANK);
    }

    function test_setRoles_revertsOnUnknownMember() public {
        _governance();
        vm.expectRevert(abi.encodeWithSelector(IMembership.MembershipUnknownMember.selector, 9));
        membership.setRoles(9, Roles.BANK);
    }

    function test_setRoles_revertsOnInvalidRoles() public {
        _governance();
        vm.expectRevert(abi.encodeWithSelector(IMembership.MembershipInvalidRoles.selector, 0));
        membership.setRoles(1, 0);
        _governance();
        vm.expectRevert(abi.encodeWithSelector(IMembership.MembershipInvalidRoles.selector, 1 << 200));
        membership.setRoles(1, 1 << 200);
    }

    function test_setRoles_revertsOnDirectCall() public {
        _assertOnlyGovernance(abi.encodeCall(IMembership.setRoles, (1, Roles.ALL)));
        assertEq(membership.getMember(1).roles, Roles.GOVERNOR);
    }

    // ================================================================ setMetadata

    function test_setMetadata_replacesDigestAndEmits() public {
        vm.expectEmit(address(membership));
        emit IMembership.MemberMetadataChanged(2, keccak256("renewed"));
        _governance();
        membership.setMetadata(2, keccak256("renewed"));
        assertEq(membership.getMember(2).metadataDigest, keccak256("renewed"));
    }

    function test_setMetadata_worksOnExpelledMember() public {
        (, uint64 id) = _admit("dealer", Roles.DEALER);
        _expel(id);
        _governance();
        membership.setMetadata(id, keccak256("expulsion file"));
        assertEq(membership.getMember(id).metadataDigest, keccak256("expulsion file"));
    }

    function test_setMetadata_revertsOnUnknownMember() public {
        _governance();
        vm.expectRevert(abi.encodeWithSelector(IMembership.MembershipUnknownMember.selector, 0));
        membership.setMetadata(0, keccak256("x"));
    }

    function test_setMetadata_revertsOnDirectCall() public {
        _assertOnlyGovernance(abi.encodeCall(IMembership.setMetadata, (1, keccak256("x"))));
        assertEq(membership.getMember(1).metadataDigest, bytes32(0));
    }

    // ================================================================ suspend

    function test_suspend_changesStatusAndEmits() public {
        (, uint64 id) = _admit("dealer", Roles.DEALER);
        vm.expectEmit(address(membership));
        emit IMembership.MemberStatusChanged(id, IMembership.MemberStatus.Active, IMembership.MemberStatus.Suspended);
        _suspend(id);
        _assertStatus(id, IMembership.MemberStatus.Suspended);
        assertEq(membership.getMember(id).roles, Roles.DEALER, "roles kept");
    }

    function test_suspend_governorLeavesTheCountAndMayNoLongerPropose() public {
        _suspend(3);
        assertEq(membership.activeGovernorCount(), 2);
        (address[] memory targets, bytes[] memory calldatas) = _metadataCall(keccak256("x"));
        vm.prank(governorC);
        vm.expectRevert(
            abi.encodeWithSelector(IMembership.MembershipUnauthorizedAccount.selector, governorC, Roles.GOVERNOR)
        );
        membership.propose(targets, calldatas, bytes32(0));
    }

    function test_suspend_revertsWhenNotActive() public {
        (, uint64 id) = _admit("dealer", Roles.DEALER);
        _suspend(id);
        _governance();
        vm.expectRevert(
            abi.encodeWithSelector(
                IMembership.MembershipUnexpectedStatus.selector,
                id,
                IMembership.MemberStatus.Suspended,
                _stateBit(IMembership.MemberStatus.Active)
            )
        );
        membership.suspend(id);
        _governance();
        membership.expel(id);
        _governance();
        vm.expectRevert(
            abi.encodeWithSelector(
                IMembership.MembershipUnexpectedStatus.selector,
                id,
                IMembership.MemberStatus.Expelled,
                _stateBit(IMembership.MemberStatus.Active)
            )
        );
        membership.suspend(id);
    }

    function test_suspend_revertsOnTheLastActiveGovernor() public {
        _suspend(1);
        _suspend(2);
        _governance();
        vm.expectRevert(abi.encodeWithSelector(IMembership.MembershipLastGovernor.selector, 3));
        membership.suspend(3);
        assertEq(membership.activeGovernorCount(), 1);
    }

    function test_suspend_revertsOnUnknownMember() public {
        _governance();
        vm.expectRevert(abi.encodeWithSelector(IMembership.MembershipUnknownMember.selector, 4));
        membership.suspend(4);
    }

    function test_suspend_revertsOnDirectCall() public {
        _assertOnlyGovernance(abi.encodeCall(IMembership.suspend, (2)));
        _assertStatus(2, IMembership.MemberStatus.Active);
    }

    // ================================================================ reinstate

    function test_reinstate_restoresStatusAndGovernorCount() public {
        _suspend(2);
        vm.expectEmit(address(membership));
        emit IMembership.MemberStatusChanged(2, IMembership.MemberStatus.Suspended, IMembership.MemberStatus.Active);
        _governance();
        membership.reinstate(2);
        _assertStatus(2, IMembership.MemberStatus.Active);
        assertEq(membership.activeGovernorCount(), 3);
        _assertAuthorize(governorB, 2, Roles.GOVERNOR);
    }

    function test_reinstate_revertsWhenNotSuspended() public {
        _governance();
        vm.expectRevert(
            abi.encodeWithSelector(
                IMembership.MembershipUnexpectedStatus.selector,
                2,
                IMembership.MemberStatus.Active,
                _stateBit(IMembership.MemberStatus.Suspended)
            )
        );
        membership.reinstate(2);
    }

    function test_reinstate_revertsOnExpelledMember() public {
        (address dealer, uint64 id) = _admit("dealer", Roles.DEALER);
        _expel(id);
        _governance();
        vm.expectRevert(
            abi.encodeWithSelector(
                IMembership.MembershipUnexpectedStatus.selector,
                id,
                IMembership.MemberStatus.Expelled,
                _stateBit(IMembership.MemberStatus.Suspended)
            )
        );
        membership.reinstate(id);
        _assertAuthorize(dealer, 0, 0);
    }

    function test_reinstate_revertsOnUnknownMember() public {
        _governance();
        vm.expectRevert(abi.encodeWithSelector(IMembership.MembershipUnknownMember.selector, 7));
        membership.reinstate(7);
    }

    function test_reinstate_revertsOnDirectCall() public {
        _suspend(3);
        _assertOnlyGovernance(abi.encodeCall(IMembership.reinstate, (3)));
        _assertStatus(3, IMembership.MemberStatus.Suspended);
    }

    // ================================================================ expel

    function test_expel_fromActiveEmitsAndCounts() public {
        vm.expectEmit(address(membership));
        emit IMembership.MemberStatusChanged(3, IMembership.MemberStatus.Active, IMembership.MemberStatus.Expelled);
        _expel(3);
        _assertStatus(3, IMembership.MemberStatus.Expelled);
        assertEq(membership.activeGovernorCount(), 2);
        _assertAuthorize(governorC, 0, 0);
    }

    function test_expel_fromSuspendedDoesNotCountTwice() public {
        _suspend(3);
        assertEq(membership.activeGovernorCount(), 2);
        _expel(3);
        assertEq(membership.activeGovernorCount(), 2);
        _assertStatus(3, IMembership.MemberStatus.Expelled);
    }

    function test_expel_suspendedGovernorAllowedWhenOneActiveGovernorLeft() public {
        _suspend(2);
        _suspend(3);
        _expel(3);
        _assertStatus(3, IMembership.MemberStatus.Expelled);
        assertEq(membership.activeGovernorCount(), 1);
    }

    function test_expel_revertsWhenAlreadyExpelled() public {
        _expel(3);
        _governance();
        vm.expectRevert(
            abi.encodeWithSelector(
                IMembership.MembershipUnexpectedStatus.selector,
                3,
                IMembership.MemberStatus.Expelled,
                _stateBit(IMembership.MemberStatus.Active) | _stateBit(IMembership.MemberStatus.Suspended)
            )
        );
        membership.expel(3);
    }

    function test_expel_revertsOnTheLastActiveGovernor() public {
        _expel(1);
        _expel(2);
        _governance();
        vm.expectRevert(abi.encodeWithSelector(IMembership.MembershipLastGovernor.selector, 3));
        membership.expel(3);
    }

    function test_expel_revertsOnUnknownMember() public {
        _governance();
        vm.expectRevert(abi.encodeWithSelector(IMembership.MembershipUnknownMember.selector, 0));
        membership.expel(0);
    }

    function test_expel_revertsOnDirectCall() public {
        _assertOnlyGovernance(abi.encodeCall(IMembership.expel, (2)));
        _assertStatus(2, IMembership.MemberStatus.Active);
    }

    // ================================================================ addAccount

    function test_addAccount_bindsAndEmits() public {
        address spare = makeAddr("spare");
        vm.expectEmit(address(membership));
        emit IMembership.AccountAdded(2, spare);
        _governance();
        membership.addAccount(2, spare);
        assertEq(membership.memberOf(spare), 2);
        _assertAuthorize(spare, 2, Roles.GOVERNOR);
        assertEq(membership.getMember(2).accounts, _two(governorB, spare));
    }

    function test_addAccount_onSuspendedMemberGivesNoRights() public {
        (, uint64 id) = _admit("dealer", Roles.DEALER);
        _suspend(id);
        _governance();
        membership.addAccount(id, stranger);
        assertEq(membership.memberOf(stranger), id);
        _assertAuthorize(stranger, 0, 0);
    }

    function test_addAccount_refusesAnAccountRemovedFromAnotherMember() public {
        address spare = makeAddr("spare");
        _governance();
        membership.addAccount(1, spare);
        _governance();
        membership.removeAccount(1, spare);
        assertEq(membership.memberOf(spare), 0);
        assertEq(membership.boundMemberOf(spare), 1, "records it signed stay attributed to member 1");
        (, uint64 id) = _admit("dealer", Roles.DEALER);
        _governance();
        vm.expectRevert(abi.encodeWithSelector(IMembership.MembershipAccountAlreadyBound.selector, spare, 1));
        membership.addAccount(id, spare);
        _assertAuthorize(spare, 0, 0);
    }

    function test_addAccount_returnsARemovedAccountToItsMember() public {
        address spare = makeAddr("spare");
        _governance();
        membership.addAccount(1, spare);
        _governance();
        membership.removeAccount(1, spare);
        _governance();
        membership.addAccount(1, spare);
        assertEq(membership.memberOf(spare), 1);
        _assertAuthorize(spare, 1, Roles.GOVERNOR);
    }

    function test_addAccount_revertsOnBoundAccount() public {
        _governance();
        vm.expectRevert(abi.encodeWithSelector(IMembership.MembershipAccountAlreadyBound.selector, governorA, 1));
        membership.addAccount(2, governorA);
        _governance();
        vm.expectRevert(abi.encodeWithSelector(IMembership.MembershipAccountAlreadyBound.selector, governorB, 2));
        membership.addAccount(2, governorB);
    }

    function test_addAccount_revertsOnInvalidAccount() public {
        _governance();
        vm.expectRevert(abi.encodeWithSelector(IMembership.MembershipInvalidAccount.selector, address(0)));
        membership.addAccount(2, address(0));
        _governance();
        vm.expectRevert(abi.encodeWithSelector(IMembership.MembershipInvalidAccount.selector, address(membership)));
        membership.addAccount(2, address(membership));
    }

    function test_addAccount_revertsOnExpelledMember() public {
        _expel(3);
        _governance();
        vm.expectRevert(
            abi.encodeWithSelector(
                IMembership.MembershipUnexpectedStatus.selector,
                3,
                IMembership.MemberStatus.Expelled,
                _stateBit(IMembership.MemberStatus.Active) | _stateBit(IMembership.MemberStatus.Suspended)
            )
        );
        membership.addAccount(3, stranger);
    }

    function test_addAccount_revertsOnUnknownMember() public {
        _governance();
        vm.expectRevert(abi.encodeWithSelector(IMembership.MembershipUnknownMember.selector, 4));
        membership.addAccount(4, stranger);
    }

    function test_addAccount_revertsOnDirectCall() public {
        address spare = makeAddr("spare");
        _assertOnlyGovernance(abi.encodeCall(IMembership.addAccount, (1, spare)));
        assertEq(membership.memberOf(spare), 0);
    }

    // ================================================================ removeAccount

    function test_removeAccount_unbindsAndEmits() public {
        address first = makeAddr("first");
        address second = makeAddr("second");
        address third = makeAddr("third");
        address[] memory accounts = new address[](3);
        accounts[0] = first;
        accounts[1] = second;
        accounts[2] = third;
        _governance();
        uint64 id = membership.admitMember(accounts, Roles.DEALER, bytes32(0));

        vm.expectEmit(address(membership));
        emit IMembership.AccountRemoved(id, first);
        _governance();
        membership.removeAccount(id, first);

        assertEq(membership.memberOf(first), 0);
        _assertAuthorize(first, 0, 0);
        _assertAuthorize(third, id, Roles.DEALER);
        assertEq(membership.getMember(id).accounts, _two(third, second), "last account moved into the gap");
    }

    function test_removeAccount_revertsOnAccountNotBoundToTheMember() public {
        _governance();
        vm.expectRevert(abi.encodeWithSelector(IMembership.MembershipAccountNotBound.selector, stranger, 1));
        membership.removeAccount(1, stranger);
        _governance();
        vm.expectRevert(abi.encodeWithSelector(IMembership.MembershipAccountNotBound.selector, governorB, 1));
        membership.removeAccount(1, governorB);
    }

    function test_removeAccount_revertsOnTheLastAccount() public {
        _governance();
        vm.expectRevert(abi.encodeWithSelector(IMembership.MembershipLastAccount.selector, 1));
        membership.removeAccount(1, governorA);
    }

    function test_removeAccount_revertsOnExpelledMember() public {
        _governance();
        membership.addAccount(3, stranger);
        _expel(3);
        _governance();
        vm.expectRevert(
            abi.encodeWithSelector(
                IMembership.MembershipUnexpectedStatus.selector,
                3,
                IMembership.MemberStatus.Expelled,
                _stateBit(IMembership.MemberStatus.Active) | _stateBit(IMembership.MemberStatus.Suspended)
            )
        );
        membership.removeAccount(3, stranger);
        assertEq(membership.memberOf(stranger), 3, "expelled accounts stay bound");
    }

    function test_removeAccount_revertsOnUnknownMember() public {
        _governance();
        vm.expectRevert(abi.encodeWithSelector(IMembership.MembershipUnknownMember.selector, 5));
        membership.removeAccount(5, stranger);
    }

    function test_removeAccount_revertsOnDirectCall() public {
        _governance();
        membership.addAccount(1, stranger);
        _assertOnlyGovernance(abi.encodeCall(IMembership.removeAccount, (1, stranger)));
        assertEq(membership.memberOf(stranger), 1);
    }

    // ================================================================ setGovernanceParameters

    function test_setGovernanceParameters_replacesAndEmits() public {
        vm.expectEmit(address(membership));
        emit IMembership.GovernanceParametersChanged(6000, 1 days, 0, 2 days);
        _governance();
        membership.setGovernanceParameters(6000, 1 days, 0, 2 days);
        (uint16 quorumBps, uint32 votingPeriod, uint32 executionDelay, uint32 gracePeriod) =
            membership.governanceParameters();
        assertEq(quorumBps, 6000);
        assertEq(votingPeriod, 1 days);
        assertEq(executionDelay, 0);
        assertEq(gracePeriod, 2 days);
    }

    function test_setGovernanceParameters_leavesRunningProposalsAlone() public {
        uint256 proposalId = _proposePassing();
        _governance();
        membership.setGovernanceParameters(10_000, 1 hours, 1 hours, 1 hours);
        IMembership.Proposal memory proposal = membership.getProposal(proposalId);
        assertEq(proposal.quorumBps, QUORUM_BPS);
        assertEq(proposal.voteEnd, proposal.voteStart + VOTING_PERIOD);
        assertEq(proposal.eta, proposal.voteEnd + EXECUTION_DELAY);
        assertEq(membership.proposalExpiry(proposalId), proposal.eta + GRACE_PERIOD);
        vm.warp(proposal.eta);
        _assertState(proposalId, IMembership.ProposalState.Ready); // 2 of 3 < 100% would fail the new quorum

        uint256 next = _propose(governorA);
        IMembership.Proposal memory later = membership.getProposal(next);
        assertEq(later.quorumBps, 10_000);
        assertEq(later.voteEnd, later.voteStart + 1 hours);
    }

    function test_setGovernanceParameters_revertsOnInvalidValues() public {
        _assertParameterValidity(0, 1, 0, 1);
        _assertParameterValidity(10_001, 1, 0, 1);
        _assertParameterValidity(5000, 0, 0, 1);
        _assertParameterValidity(5000, 1, 0, 0);
    }

    function test_setGovernanceParameters_revertsOnDirectCall() public {
        _assertOnlyGovernance(abi.encodeCall(IMembership.setGovernanceParameters, (1, 1, 1, 1)));
        (uint16 quorumBps,,,) = membership.governanceParameters();
        assertEq(quorumBps, QUORUM_BPS);
    }

    function testFuzz_setGovernanceParameters_acceptsExactlyValidValues(
        uint16 quorumBps,
        uint32 votingPeriod,
        uint32 executionDelay,
        uint32 gracePeriod
    ) public {
        _assertParameterValidity(quorumBps, votingPeriod, executionDelay, gracePeriod);
    }

    function test_setGovernanceParameters_acceptsExactlyValidValues() public {
        _assertParameterValidity(1, 1, 0, 1);
        _assertParameterValidity(10_000, type(uint32).max, type(uint32).max, type(uint32).max);
        _assertParameterValidity(type(uint16).max, 1, 1, 1);
        _assertParameterValidity(0, 0, 0, 0);
    }

    function _assertParameterValidity(uint16 quorumBps, uint32 votingPeriod, uint32 executionDelay, uint32 gracePeriod)
        internal
    {
        bool valid = quorumBps >= 1 && quorumBps <= 10_000 && votingPeriod > 0 && gracePeriod > 0;
        if (!valid) {
            vm.expectRevert(
                abi.encodeWithSelector(
                    IMembership.MembershipInvalidParameters.selector,
                    quorumBps,
                    votingPeriod,
                    executionDelay,
                    gracePeriod
                )
            );
        }
        _governance();
        membership.setGovernanceParameters(quorumBps, votingPeriod, executionDelay, gracePeriod);
        (uint16 q, uint32 v, uint32 d, uint32 g) = membership.governanceParameters();
        if (valid) {
            assertEq(abi.encode(q, v, d, g), abi.encode(quorumBps, votingPeriod, executionDelay, gracePeriod));
        }
        // the constructor applies the same rule
        if (!valid) {
            vm.expectRevert(
                abi.encodeWithSelector(
                    IMembership.MembershipInvalidParameters.selector,
                    quorumBps,
                    votingPeriod,
                    executionDelay,
                    gracePeriod
                )
            );
        }
        new Membership(_one(governorA), quorumBps, votingPeriod, executionDelay, gracePeriod);
    }

    // ================================================================ propose

    function test_propose_recordsProposalAndEmits() public {
        (address[] memory targets, bytes[] memory calldatas) = _metadataCall(keccak256("x"));
        uint40 now_ = uint40(block.timestamp);
        vm.expectEmit(address(membership));
        emit IMembership.ProposalCreated(1, governorB, targets, calldatas, keccak256("why"), now_, now_ + VOTING_PERIOD);
        vm.prank(governorB);
        uint256 proposalId = membership.propose(targets, calldatas, keccak256("why"));

        assertEq(proposalId, 1);
        assertEq(membership.proposalCount(), 1);
        IMembership.Proposal memory proposal = membership.getProposal(proposalId);
        assertEq(proposal.proposer, governorB);
        assertEq(proposal.voteStart, now_);
        assertEq(proposal.voteEnd, now_ + VOTING_PERIOD);
        assertEq(proposal.eta, now_ + VOTING_PERIOD + EXECUTION_DELAY);
        assertEq(proposal.forVotes, 0);
        assertEq(proposal.againstVotes, 0);
        assertEq(proposal.eligibleVoters, 3);
        assertEq(proposal.quorumBps, QUORUM_BPS);
        assertFalse(proposal.canceled);
        assertFalse(proposal.executed);
        assertEq(proposal.descriptionDigest, keccak256("why"));
        assertEq(proposal.targets, targets);
        assertEq(proposal.calldatas.length, 1);
        assertEq(proposal.calldatas[0], calldatas[0]);
        assertEq(membership.proposalExpiry(proposalId), proposal.eta + GRACE_PERIOD);
        _assertState(proposalId, IMembership.ProposalState.Active);
        assertEq(_propose(governorA), 2, "sequential ids");
    }

    function test_propose_snapshotsEligibleVoters() public {
        uint256 proposalId = _propose(governorA);
        _suspend(3);
        _admit("governorD", Roles.GOVERNOR);
        _admit("governorE", Roles.GOVERNOR);
        assertEq(membership.activeGovernorCount(), 4);
        assertEq(membership.getProposal(proposalId).eligibleVoters, 3);
        assertEq(membership.getProposal(_propose(governorA)).eligibleVoters, 4);
    }

    function test_propose_revertsForNonGovernors() public {
        address[] memory accounts = _nonGovernors();
        (address[] memory targets, bytes[] memory calldatas) = _metadataCall(keccak256("x"));
        for (uint256 i = 0; i < accounts.length; ++i) {
            vm.prank(accounts[i]);
            vm.expectRevert(
                abi.encodeWithSelector(IMembership.MembershipUnauthorizedAccount.selector, accounts[i], Roles.GOVERNOR)
            );
            membership.propose(targets, calldatas, bytes32(0));
        }
        assertEq(membership.proposalCount(), 0);
    }

    function test_propose_revertsWithoutCalls() public {
        vm.prank(governorA);
        vm.expectRevert(abi.encodeWithSelector(IMembership.MembershipInvalidProposal.selector));
        membership.propose(new address[](0), new bytes[](0), bytes32(0));
    }

    function test_propose_revertsOnLengthMismatch() public {
        vm.prank(governorA);
        vm.expectRevert(abi.encodeWithSelector(IMembership.MembershipInvalidProposal.selector));
        membership.propose(_two(address(target), address(target)), new bytes[](1), bytes32(0));
    }

    // ================================================================ castVote

    function test_castVote_countsAndEmits() public {
        uint256 proposalId = _propose(governorA);
        vm.expectEmit(address(membership));
        emit IMembership.VoteCast(proposalId, 2, governorB, true);
        _vote(governorB, proposalId, true);
        vm.expectEmit(address(membership));
        emit IMembership.VoteCast(proposalId, 3, governorC, false);
        _vote(governorC, proposalId, false);

        IMembership.Proposal memory proposal = membership.getProposal(proposalId);
        assertEq(proposal.forVotes, 1);
        assertEq(proposal.againstVotes, 1);
        assertTrue(membership.hasVoted(proposalId, 2));
        assertTrue(membership.hasVoted(proposalId, 3));
        assertFalse(membership.hasVoted(proposalId, 1));
        assertFalse(membership.canVote(proposalId, 2));
        assertTrue(membership.canVote(proposalId, 1));
    }

    function test_castVote_revertsOnSecondVoteOfTheSameAccount() public {
        uint256 proposalId = _propose(governorA);
        _vote(governorA, proposalId, true);
        vm.prank(governorA);
        vm.expectRevert(abi.encodeWithSelector(IMembership.MembershipAlreadyVoted.selector, proposalId, 1));
        membership.castVote(proposalId, false);
    }

    function test_castVote_oneVotePerMemberWhateverTheAccount() public {
        address secondKey = makeAddr("governorA second key");
        _governance();
        membership.addAccount(1, secondKey);
        uint256 proposalId = _propose(governorA);
        _vote(governorA, proposalId, true);
        vm.prank(secondKey);
        vm.expectRevert(abi.encodeWithSelector(IMembership.MembershipAlreadyVoted.selector, proposalId, 1));
        membership.castVote(proposalId, true);
        assertEq(membership.getProposal(proposalId).forVotes, 1);
    }

    function test_castVote_revertsForNonGovernors() public {
        uint256 proposalId = _propose(governorA);
        address[] memory accounts = _nonGovernors();
        for (uint256 i = 0; i < accounts.length; ++i) {
            vm.prank(accounts[i]);
            vm.expectRevert(
                abi.encodeWithSelector(IMembership.MembershipUnauthorizedAccount.selector, accounts[i], Roles.GOVERNOR)
            );
            membership.castVote(proposalId, true);
        }
        assertEq(membership.getProposal(proposalId).forVotes, 0);
    }

    function test_castVote_revertsForGovernorSuspendedDuringTheVote() public {
        uint256 proposalId = _propose(governorA);
        _suspend(3);
        vm.prank(governorC);
        vm.expectRevert(
            abi.encodeWithSelector(IMembership.MembershipUnauthorizedAccount.selector, governorC, Roles.GOVERNOR)
        );
        membership.castVote(proposalId, true);
    }

    function test_castVote_revertsForGovernorAdmittedAfterTheProposal() public {
        uint256 proposalId = _propose(governorA);
        (address governorD, uint64 id) = _admit("governorD", Roles.GOVERNOR);
        assertFalse(membership.canVote(proposalId, id));
        vm.prank(governorD);
        vm.expectRevert(abi.encodeWithSelector(IMembership.MembershipIneligibleVoter.selector, proposalId, id));
        membership.castVote(proposalId, true);
        // but votes on the next one
        uint256 next = _propose(governorA);
        _vote(governorD, next, true);
        assertEq(membership.getProposal(next).forVotes, 1);
    }

    function test_castVote_revertsForGovernorReinstatedAfterTheProposal() public {
        _suspend(3);
        uint256 proposalId = _propose(governorA);
        assertEq(membership.getProposal(proposalId).eligibleVoters, 2);
        _governance();
        membership.reinstate(3);
        vm.prank(governorC);
        vm.expectRevert(abi.encodeWithSelector(IMembership.MembershipIneligibleVoter.selector, proposalId, 3));
        membership.castVote(proposalId, true);
    }

    function test_castVote_revertsForMemberMadeGovernorAfterTheProposal() public {
        (address bank, uint64 id) = _admit("bank", Roles.BANK);
        uint256 proposalId = _propose(governorA);
        _governance();
        membership.setRoles(id, Roles.BANK | Roles.GOVERNOR);
        vm.prank(bank);
        vm.expectRevert(abi.encodeWithSelector(IMembership.MembershipIneligibleVoter.selector, proposalId, id));
        membership.castVote(proposalId, true);
    }

    function test_castVote_revertsOnUnknownProposal() public {
        vm.prank(governorA);
        vm.expectRevert(abi.encodeWithSelector(IMembership.MembershipUnknownProposal.selector, 1));
        membership.castVote(1, true);
    }

    function test_castVote_revertsAfterTheVotingPeriod() public {
        uint256 proposalId = _proposePassing();
        vm.warp(membership.getProposal(proposalId).voteEnd);
        vm.prank(governorC);
        vm.expectRevert(
            abi.encodeWithSelector(
                IMembership.MembershipUnexpectedProposalState.selector,
                proposalId,
                IMembership.ProposalState.Queued,
                _stateBit(IMembership.ProposalState.Active)
            )
        );
        membership.castVote(proposalId, false);
        assertFalse(membership.canVote(proposalId, 3));
    }

    function test_castVote_revertsOnCanceledProposal() public {
        uint256 proposalId = _propose(governorA);
        vm.prank(governorA);
        membership.cancel(proposalId);
        vm.prank(governorB);
        vm.expectRevert(
            abi.encodeWithSelector(
                IMembership.MembershipUnexpectedProposalState.selector,
                proposalId,
                IMembership.ProposalState.Canceled,
                _stateBit(IMembership.ProposalState.Active)
            )
        );
        membership.castVote(proposalId, true);
    }

    // ================================================================ state: the whole lifecycle

    function test_state_noneForUnknownProposal() public view {
        _assertState(1, IMembership.ProposalState.None);
    }

    function test_state_walksActiveQueuedReadyExpiredAtExactBounds() public {
        uint256 proposalId = _proposePassing();
        IMembership.Proposal memory proposal = membership.getProposal(proposalId);
        uint40 expiry = membership.proposalExpiry(proposalId);
        _assertState(proposalId, IMembership.ProposalState.Active);
        vm.warp(proposal.voteEnd - 1);
        _assertState(proposalId, IMembership.ProposalState.Active);
        vm.warp(proposal.voteEnd);
        _assertState(proposalId, IMembership.ProposalState.Queued);
        vm.warp(proposal.eta - 1);
        _assertState(proposalId, IMembership.ProposalState.Queued);
        vm.warp(proposal.eta);
        _assertState(proposalId, IMembership.ProposalState.Ready);
        vm.warp(expiry - 1);
        _assertState(proposalId, IMembership.ProposalState.Ready);
        vm.warp(expiry);
        _assertState(proposalId, IMembership.ProposalState.Expired);
    }

    function test_state_executed() public {
        uint256 proposalId = _proposePassing();
        vm.warp(membership.getProposal(proposalId).eta);
        membership.execute(proposalId);
        _assertState(proposalId, IMembership.ProposalState.Executed);
        vm.warp(membership.proposalExpiry(proposalId) + 1);
        _assertState(proposalId, IMembership.ProposalState.Executed);
    }

    function test_state_defeatedWithoutQuorum() public {
        uint256 proposalId = _propose(governorA);
        _vote(governorA, proposalId, true); // 1 of 3: 10000 < 5000 * 3
        vm.warp(membership.getProposal(proposalId).voteEnd);
        _assertState(proposalId, IMembership.ProposalState.Defeated);
        vm.warp(membership.getProposal(proposalId).eta);
        _assertState(proposalId, IMembership.ProposalState.Defeated);
    }

    function test_state_defeatedWhenTheMajorityIsAgainst() public {
        _governance();
        membership.setGovernanceParameters(1000, VOTING_PERIOD, EXECUTION_DELAY, GRACE_PERIOD);
        uint256 proposalId = _propose(governorA);
        _vote(governorA, proposalId, true); // quorum met: 10000 >= 1000 * 3
        _vote(governorB, proposalId, false);
        _vote(governorC, proposalId, false);
        vm.warp(membership.getProposal(proposalId).voteEnd);
        _assertState(proposalId, IMembership.ProposalState.Defeated);
    }

    function test_state_defeatedOnATie() public {
        (address governorD,) = _admit("governorD", Roles.GOVERNOR);
        uint256 proposalId = _propose(governorA);
        _vote(governorA, proposalId, true);
        _vote(governorB, proposalId, true); // quorum met: 20000 >= 5000 * 4
        _vote(governorC, proposalId, false);
        _vote(governorD, proposalId, false);
        vm.warp(membership.getProposal(proposalId).voteEnd);
        _assertState(proposalId, IMembership.ProposalState.Defeated);
    }

    function test_state_zeroExecutionDelaySkipsQueued() public {
        _governance();
        membership.setGovernanceParameters(QUORUM_BPS, VOTING_PERIOD, 0, GRACE_PERIOD);
        uint256 proposalId = _proposePassing();
        vm.warp(membership.getProposal(proposalId).voteEnd);
        _assertState(proposalId, IMembership.ProposalState.Ready);
    }

    /// @dev Quorum and majority for every small electorate: deploys a fresh membership of `governors` governors.
    function testFuzz_state_quorumAndMajority(uint8 governors, uint8 forVotes, uint8 againstVotes, uint16 quorumBps)
        public
    {
        governors = uint8(bound(governors, 1, 12));
        forVotes = uint8(bound(forVotes, 0, governors));
        againstVotes = uint8(bound(againstVotes, 0, governors - forVotes));
        quorumBps = uint16(bound(quorumBps, 1, 10_000));
        _assertTally(governors, forVotes, againstVotes, quorumBps);
    }

    function test_state_quorumAndMajority() public {
        _assertTally(3, 2, 1, 5000); // passes
        _assertTally(3, 1, 0, 5000); // 10000 < 15000
        _assertTally(4, 2, 2, 5000); // quorum, tie
        _assertTally(4, 2, 0, 5000); // exactly the quorum
        _assertTally(10, 5, 0, 5001); // one basis point short
        _assertTally(1, 1, 0, 10_000); // a single governor
        _assertTally(12, 0, 0, 1); // nobody voted
        _assertTally(12, 12, 0, 10_000); // everyone for
    }

    function _assertTally(uint8 governors, uint8 forVotes, uint8 againstVotes, uint16 quorumBps) internal {
        address[] memory accounts = new address[](governors);
        for (uint256 i = 0; i < governors; ++i) {
            accounts[i] = makeAddr(string.concat("electorGovernor", vm.toString(i)));
        }
        Membership electorate = new Membership(accounts, quorumBps, VOTING_PERIOD, EXECUTION_DELAY, GRACE_PERIOD);
        vm.prank(accounts[0]);
        uint256 proposalId = electorate.propose(_one(address(target)), new bytes[](1), bytes32(0));
        for (uint256 i = 0; i < uint256(forVotes) + againstVotes; ++i) {
            vm.prank(accounts[i]);
            electorate.castVote(proposalId, i < forVotes);
        }
        vm.warp(electorate.getProposal(proposalId).voteEnd);
        bool passes = uint256(forVotes) * 10_000 >= uint256(quorumBps) * governors && forVotes > againstVotes;
        assertEq(
            uint8(electorate.state(proposalId)),
            uint8(passes ? IMembership.ProposalState.Queued : IMembership.ProposalState.Defeated),
            "tally"
        );
        vm.warp(1);
    }

    /// @dev Fixed timeline: whatever the time since the proposal, the state follows the documented bounds.
    function testFuzz_state_timeline(uint256 elapsed) public {
        elapsed = bound(elapsed, 0, 30 days);
        _assertTimeline(elapsed);
    }

    function test_state_timeline() public {
        _assertTimeline(0);
        _assertTimeline(VOTING_PERIOD);
        _assertTimeline(VOTING_PERIOD + EXECUTION_DELAY);
        _assertTimeline(VOTING_PERIOD + EXECUTION_DELAY + GRACE_PERIOD - 1);
        _assertTimeline(VOTING_PERIOD + EXECUTION_DELAY + GRACE_PERIOD);
    }

    function _assertTimeline(uint256 elapsed) internal {
        uint256 start = block.timestamp;
        uint256 proposalId = _proposePassing();
        vm.warp(start + elapsed);
        IMembership.ProposalState expected;
        if (elapsed < VOTING_PERIOD) {
            expected = IMembership.ProposalState.Active;
        } else if (elapsed < VOTING_PERIOD + EXECUTION_DELAY) {
            expected = IMembership.ProposalState.Queued;
        } else if (elapsed < VOTING_PERIOD + EXECUTION_DELAY + GRACE_PERIOD) {
            expected = IMembership.ProposalState.Ready;
        } else {
            expected = IMembership.ProposalState.Expired;
        }
        _assertState(proposalId, expected);
        vm.warp(start);
    }

    // ================================================================ cancel

    function test_cancel_byProposerInEachCancelableState() public {
        uint256 active = _proposePassing();
        uint256 queued = _proposePassing();
        uint256 ready = _proposePassing();
        vm.prank(governorA);
        vm.expectEmit(address(membership));
        emit IMembership.ProposalCanceled(active);
        membership.cancel(active);
        _assertState(active, IMembership.ProposalState.Canceled);

        vm.warp(membership.getProposal(queued).voteEnd);
        vm.prank(governorA);
        membership.cancel(queued);
        _assertState(queued, IMembership.ProposalState.Canceled);

        vm.warp(membership.getProposal(ready).eta);
        vm.prank(governorA);
        membership.cancel(ready);
        _assertState(ready, IMembership.ProposalState.Canceled);
        assertTrue(membership.getProposal(ready).canceled);
    }

    function test_cancel_revertsForAnyoneButTheProposer() public {
        uint256 proposalId = _propose(governorA);
        address secondKey = makeAddr("governorA second key");
        _governance();
        membership.addAccount(1, secondKey);
        address[3] memory others = [governorB, stranger, secondKey];
        for (uint256 i = 0; i < others.length; ++i) {
            vm.prank(others[i]);
            vm.expectRevert(abi.encodeWithSelector(IMembership.MembershipNotProposer.selector, proposalId, others[i]));
            membership.cancel(proposalId);
        }
        _assertState(proposalId, IMembership.ProposalState.Active);
    }

    function test_cancel_revertsForSuspendedProposer() public {
        uint256 proposalId = _propose(governorC);
        _suspend(3);
        vm.prank(governorC);
        vm.expectRevert(
            abi.encodeWithSelector(IMembership.MembershipUnauthorizedAccount.selector, governorC, Roles.GOVERNOR)
        );
        membership.cancel(proposalId);
    }

    function test_cancel_revertsForExpelledProposer() public {
        uint256 proposalId = _propose(governorC);
        _expel(3);
        vm.prank(governorC);
        vm.expectRevert(
            abi.encodeWithSelector(IMembership.MembershipUnauthorizedAccount.selector, governorC, Roles.GOVERNOR)
        );
        membership.cancel(proposalId);
    }

    function test_cancel_revertsForProposerNoLongerGovernor() public {
        uint256 proposalId = _propose(governorC);
        _governance();
        membership.setRoles(3, Roles.DEALER);
        vm.prank(governorC);
        vm.expectRevert(
            abi.encodeWithSelector(IMembership.MembershipUnauthorizedAccount.selector, governorC, Roles.GOVERNOR)
        );
        membership.cancel(proposalId);
    }

    function test_cancel_revertsInFinalStates() public {
        uint256 canceled = _propose(governorA);
        vm.prank(governorA);
        membership.cancel(canceled);
        _assertCancelRefused(canceled, IMembership.ProposalState.Canceled);

        uint256 defeated = _propose(governorA);
        uint256 executed = _proposePassing();
        uint256 expired = _proposePassing();
        vm.warp(membership.getProposal(executed).eta);
        membership.execute(executed);
        _assertCancelRefused(defeated, IMembership.ProposalState.Defeated);
        _assertCancelRefused(executed, IMembership.ProposalState.Executed);
        vm.warp(membership.proposalExpiry(expired));
        _assertCancelRefused(expired, IMembership.ProposalState.Expired);
    }

    function _assertCancelRefused(uint256 proposalId, IMembership.ProposalState current) internal {
        vm.prank(governorA);
        vm.expectRevert(
            abi.encodeWithSelector(
                IMembership.MembershipUnexpectedProposalState.selector,
                proposalId,
                current,
                _stateBit(IMembership.ProposalState.Active) | _stateBit(IMembership.ProposalState.Queued)
                    | _stateBit(IMembership.ProposalState.Ready)
            )
        );
        membership.cancel(proposalId);
    }

    function test_cancel_revertsOnUnknownProposal() public {
        vm.prank(governorA);
        vm.expectRevert(abi.encodeWithSelector(IMembership.MembershipUnknownProposal.selector, 3));
        membership.cancel(3);
    }

    // ================================================================ execute

    function test_execute_runsTheCallsFromTheMembershipAndEmits() public {
        address applicant = makeAddr("applicant");
        address[] memory targets = _two(address(target), address(membership));
        bytes[] memory calldatas = new bytes[](2);
        calldatas[0] = abi.encodeCall(CallTarget.ping, (42));
        calldatas[1] = abi.encodeCall(IMembership.admitMember, (_one(applicant), Roles.INSURER, keccak256("app")));
        vm.prank(governorA);
        uint256 proposalId = membership.propose(targets, calldatas, keccak256("admit an insurer"));
        _vote(governorA, proposalId, true);
        _vote(governorB, proposalId, true);
        vm.warp(membership.getProposal(proposalId).eta);

        vm.expectEmit(address(membership));
        emit IMembership.ProposalExecuted(proposalId);
        vm.prank(stranger); // anyone may execute
        membership.execute(proposalId);

        assertEq(target.lastCaller(), address(membership), "called from the membership");
        assertEq(target.lastValue(), 42);
        _assertAuthorize(applicant, 4, Roles.INSURER);
        assertTrue(membership.getProposal(proposalId).executed);
        _assertState(proposalId, IMembership.ProposalState.Executed);
    }

    function test_execute_throughConsortiumTestHelper() public {
        bytes[] memory calldatas = new bytes[](1);
        calldatas[0] = abi.encodeCall(IMembership.suspend, (3));
        uint256 proposalId = _passProposal(_one(address(membership)), calldatas);
        _assertState(proposalId, IMembership.ProposalState.Executed);
        _assertStatus(3, IMembership.MemberStatus.Suspended);
        assertEq(membership.activeGovernorCount(), 2);
    }

    function test_execute_failingCallBubblesAndRevertsEverything() public {
        address[] memory targets = _two(address(membership), address(target));
        bytes[] memory calldatas = new bytes[](2);
        calldatas[0] = abi.encodeCall(IMembership.setMetadata, (1, keccak256("changed")));
        calldatas[1] = abi.encodeCall(CallTarget.refuse, (9));
        vm.prank(governorA);
        uint256 proposalId = membership.propose(targets, calldatas, bytes32(0));
        _vote(governorA, proposalId, true);
        _vote(governorB, proposalId, true);
        vm.warp(membership.getProposal(proposalId).eta);

        vm.expectRevert(
            abi.encodeWithSelector(
                IMembership.MembershipCallFailed.selector,
                proposalId,
                1,
                abi.encodeWithSelector(CallTarget.CallTargetRefused.selector, 9)
            )
        );
        membership.execute(proposalId);
        assertEq(membership.getMember(1).metadataDigest, bytes32(0), "first call undone");
        _assertState(proposalId, IMembership.ProposalState.Ready);
    }

    function test_execute_failingGovernanceCallBubblesItsError() public {
        bytes[] memory calldatas = new bytes[](1);
        calldatas[0] = abi.encodeCall(IMembership.suspend, (99));
        vm.prank(governorA);
        uint256 proposalId = membership.propose(_one(address(membership)), calldatas, bytes32(0));
        _vote(governorA, proposalId, true);
        _vote(governorB, proposalId, true);
        vm.warp(membership.getProposal(proposalId).eta);
        vm.expectRevert(
            abi.encodeWithSelector(
                IMembership.MembershipCallFailed.selector,
                proposalId,
                0,
                abi.encodeWithSelector(IMembership.MembershipUnknownMember.selector, 99)
            )
        );
        membership.execute(proposalId);
    }

    function test_execute_marksExecutedBeforeCallsSoReentryFails() public {
        ReentrantExecutor reenterer = new ReentrantExecutor(membership);
        bytes[] memory calldatas = new bytes[](1);
        calldatas[0] = abi.encodeCall(ReentrantExecutor.reenter, ());
        vm.prank(governorA);
        uint256 proposalId = membership.propose(_one(address(reenterer)), calldatas, bytes32(0));
        reenterer.setProposal(proposalId);
        _vote(governorA, proposalId, true);
        _vote(governorB, proposalId, true);
        vm.warp(membership.getProposal(proposalId).eta);

        membership.execute(proposalId);

        assertEq(reenterer.entered(), 1, "calls made once");
        assertFalse(reenterer.reentrySucceeded());
        assertEq(
            reenterer.reentryRevertData(),
            abi.encodeWithSelector(
                IMembership.MembershipUnexpectedProposalState.selector,
                proposalId,
                IMembership.ProposalState.Executed,
                _stateBit(IMembership.ProposalState.Ready)
            )
        );
        _assertState(proposalId, IMembership.ProposalState.Executed);
    }

    function test_execute_revertsUnlessReady() public {
        uint256 active = _proposePassing();
        uint256 canceled = _proposePassing();
        vm.prank(governorA);
        membership.cancel(canceled);
        uint256 defeated = _propose(governorA);
        _assertExecuteRefused(active, IMembership.ProposalState.Active);
        _assertExecuteRefused(canceled, IMembership.ProposalState.Canceled);

        vm.warp(membership.getProposal(active).voteEnd);
        _assertExecuteRefused(active, IMembership.ProposalState.Queued);
        _assertExecuteRefused(defeated, IMembership.ProposalState.Defeated);

        vm.warp(membership.getProposal(active).eta);
        membership.execute(active);
        _assertExecuteRefused(active, IMembership.ProposalState.Executed);

        uint256 expired = _proposePassing();
        vm.warp(membership.proposalExpiry(expired));
        _assertExecuteRefused(expired, IMembership.ProposalState.Expired);
    }

    function _assertExecuteRefused(uint256 proposalId, IMembership.ProposalState current) internal {
        vm.expectRevert(
            abi.encodeWithSelector(
                IMembership.MembershipUnexpectedProposalState.selector,
                proposalId,
                current,
                _stateBit(IMembership.ProposalState.Ready)
            )
        );
        membership.execute(proposalId);
    }

    function test_execute_revertsOnUnknownProposal() public {
        vm.expectRevert(abi.encodeWithSelector(IMembership.MembershipUnknownProposal.selector, 1));
        membership.execute(1);
    }

    function test_execute_proposalCanChangeGovernanceParameters() public {
        bytes[] memory calldatas = new bytes[](1);
        calldatas[0] = abi.encodeCall(IMembership.setGovernanceParameters, (7000, 2 days, 12 hours, 3 days));
        _passProposal(_one(address(membership)), calldatas);
        (uint16 quorumBps, uint32 votingPeriod, uint32 executionDelay, uint32 gracePeriod) =
            membership.governanceParameters();
        assertEq(
            abi.encode(quorumBps, votingPeriod, executionDelay, gracePeriod), abi.encode(7000, 2 days, 12 hours, 3 days)
        );
    }

    // ================================================================ views on unknown proposals

    function test_getProposal_revertsOnUnknownProposal() public {
        vm.expectRevert(abi.encodeWithSelector(IMembership.MembershipUnknownProposal.selector, 1));
        membership.getProposal(1);
    }

    function test_proposalExpiry_revertsOnUnknownProposal() public {
        vm.expectRevert(abi.encodeWithSelector(IMembership.MembershipUnknownProposal.selector, 2));
        membership.proposalExpiry(2);
    }

    function test_canVote_falseForUnknownProposalAndNonGovernors() public {
        assertFalse(membership.canVote(1, 1));
        uint256 proposalId = _propose(governorA);
        assertTrue(membership.canVote(proposalId, 1));
        (, uint64 bank) = _admit("bank", Roles.BANK);
        assertFalse(membership.canVote(proposalId, bank));
        assertFalse(membership.canVote(proposalId, 0));
        _suspend(2);
        assertFalse(membership.canVote(proposalId, 2));
    }
}
