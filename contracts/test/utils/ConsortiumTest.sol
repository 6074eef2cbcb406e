// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Test} from "forge-std/Test.sol";
import {Membership} from "../../src/Membership.sol";
import {IMembership} from "../../src/interfaces/IMembership.sol";

/// @notice Base for every consortium contract's tests: deploys a Membership with three governors and offers
/// shortcuts to act as governance (pranking the Membership's own address, as a passed proposal would) or to
/// pass a real proposal through propose, vote, delay and execute.
abstract contract ConsortiumTest is Test {
    Membership internal membership;
    address internal governorA;
    address internal governorB;
    address internal governorC;

    uint16 internal constant QUORUM_BPS = 5000;
    uint32 internal constant VOTING_PERIOD = 3 days;
    uint32 internal constant EXECUTION_DELAY = 1 days;
    uint32 internal constant GRACE_PERIOD = 7 days;

    /// @dev Deploys the Membership with governors A, B, C (member ids 1, 2, 3) and the constants above.
    function _deployMembership() internal {
        governorA = makeAddr("governorA");
        governorB = makeAddr("governorB");
        governorC = makeAddr("governorC");
        address[] memory governors = new address[](3);
        governors[0] = governorA;
        governors[1] = governorB;
        governors[2] = governorC;
        membership = new Membership(governors, QUORUM_BPS, VOTING_PERIOD, EXECUTION_DELAY, GRACE_PERIOD);
        vm.label(address(membership), "Membership");
    }

    /// @dev Admits a member with one account `makeAddr(name)` and the given roles, acting as governance.
    function _admit(string memory name, uint256 roles) internal returns (address account, uint64 memberId) {
        account = makeAddr(name);
        address[] memory accounts = new address[](1);
        accounts[0] = account;
        vm.prank(address(membership));
        memberId = membership.admitMember(accounts, roles, keccak256(bytes(name)));
    }

    /// @dev Suspends a member, acting as governance.
    function _suspend(uint64 memberId) internal {
        vm.prank(address(membership));
        membership.suspend(memberId);
    }

    /// @dev Expels a member, acting as governance.
    function _expel(uint64 memberId) internal {
        vm.prank(address(membership));
        membership.expel(memberId);
    }

    /// @dev Proposes the calls as governor A, votes for with A and B, warps to the proposal's eta and executes it.
    /// Enough for the quorum only while A and B are at least half the active governors (the default three).
    /// Leaves the clock at the proposal's eta.
    function _passProposal(address[] memory targets, bytes[] memory calldatas) internal returns (uint256 proposalId) {
        vm.prank(governorA);
        proposalId = membership.propose(targets, calldatas, keccak256(abi.encode(targets, calldatas)));
        vm.prank(governorA);
        membership.castVote(proposalId, true);
        vm.prank(governorB);
        membership.castVote(proposalId, true);
        vm.warp(membership.getProposal(proposalId).eta);
        assertEq(uint8(membership.state(proposalId)), uint8(IMembership.ProposalState.Ready), "proposal not ready");
        membership.execute(proposalId);
    }

    // ---------------------------------------------------------------- expected-state bitmaps

    /// @dev A member status as a bit of an `expectedStates` bitmap (bit `uint8(status)`).
    function _stateBit(IMembership.MemberStatus status) internal pure returns (bytes32) {
        return bytes32(uint256(1) << uint8(status));
    }

    /// @dev A proposal state as a bit of an `expectedStates` bitmap (bit `uint8(proposalState)`).
    function _stateBit(IMembership.ProposalState proposalState) internal pure returns (bytes32) {
        return bytes32(uint256(1) << uint8(proposalState));
    }

    // ---------------------------------------------------------------- authorization assertions

    /// @dev Calls `target` as `caller` and asserts it reverts with exactly `err`.
    function _expectRevertFrom(address target, address caller, bytes memory data, bytes memory err) internal {
        vm.expectRevert(err);
        vm.prank(caller);
        (bool revertsAsExpected,) = target.call(data);
        assertTrue(revertsAsExpected, "expectRevert: call did not revert");
    }

    /// @dev `account` (of `memberId`) is refused with `err` once its member is suspended, and again once expelled.
    function _assertRefusedSuspendedAndExpelled(
        address target,
        bytes memory data,
        address account,
        uint64 memberId,
        bytes memory err
    ) internal {
        _suspend(memberId);
        _expectRevertFrom(target, account, data, err);
        _expel(memberId);
        _expectRevertFrom(target, account, data, err);
    }

    /// @dev Every caller in `callers`, and this test contract, is refused with `onlyGovernance(caller)`.
    function _assertOnlyGovernance(address target, bytes4 onlyGovernance, address[] memory callers, bytes memory data)
        internal
    {
        for (uint256 i = 0; i < callers.length; ++i) {
            _expectRevertFrom(target, callers[i], data, abi.encodeWithSelector(onlyGovernance, callers[i]));
        }
        _expectRevertFrom(target, address(this), data, abi.encodeWithSelector(onlyGovernance, address(this)));
    }
}
