// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {CollateralManagerTestBase} from "./CollateralManagerTestBase.sol";
import {ICollateralManager} from "../../src/interfaces/ICollateralManager.sol";

/// @notice Disputed cases: freezing by a party of the case and resolution by governance.
contract CollateralManagerFreezeTest is CollateralManagerTestBase {
    // ================================================================ freezeCase and resolveFreeze

    /// Flow: freeze by the agency, resolve by governance restoring the state with the deadline extended.
    function test_flow_freezeAndRestore() public {
        (, uint256 caseId) = _repossessed();
        uint40 deadline = manager.getCase(caseId).deadline;
        vm.warp(block.timestamp + 1 days);
        bytes32 dispute = keccak256("dispute");
        vm.expectEmit(address(manager));
        emit ICollateralManager.CaseStateChanged(
            caseId, ICollateralManager.CaseState.Repossessed, ICollateralManager.CaseState.Frozen, dispute
        );
        vm.prank(agency);
        manager.freezeCase(caseId, dispute);
        ICollateralManager.Case memory c = manager.getCase(caseId);
        assertEq(uint8(c.state), uint8(ICollateralManager.CaseState.Frozen));
        assertEq(uint8(c.frozenFrom), uint8(ICollateralManager.CaseState.Repossessed));
        assertEq(c.frozenAt, block.timestamp);

        // Nothing moves while frozen.
        vm.warp(block.timestamp + 20 days);
        ICollateralManager.CaseState frozen = ICollateralManager.CaseState.Frozen;
        _expectRevertFrom(
            agency,
            abi.encodeCall(ICollateralManager.recordAppraisal, (caseId, 1, EVIDENCE)),
            _unexpectedCaseState(caseId, frozen, _stateBit(ICollateralManager.CaseState.Repossessed))
        );
        _expectRevertFrom(
            stranger,
            abi.encodeCall(ICollateralManager.escalate, (caseId)),
            _unexpectedCaseState(caseId, frozen, _agencyStepStates())
        );
        _expectRevertFrom(
            bank,
            abi.encodeCall(ICollateralManager.freezeCase, (caseId, EVIDENCE)),
            _unexpectedCaseState(caseId, frozen, _freezableStates())
        );

        bytes32 ruling = keccak256("ruling");
        vm.expectEmit(address(manager));
        emit ICollateralManager.CaseStateChanged(
            caseId, ICollateralManager.CaseState.Frozen, ICollateralManager.CaseState.Repossessed, ruling
        );
        vm.expectEmit(address(manager));
        emit ICollateralManager.FreezeResolved(caseId, true, deadline + 20 days);
        vm.prank(address(membership));
        manager.resolveFreeze(caseId, true, ruling);

        c = manager.getCase(caseId);
        assertEq(uint8(c.state), uint8(ICollateralManager.CaseState.Repossessed));
        assertEq(c.deadline, deadline + 20 days);
        assertEq(uint8(c.frozenFrom), uint8(ICollateralManager.CaseState.None));
        assertEq(c.frozenAt, 0);
        vm.prank(agency);
        manager.recordAppraisal(caseId, 1, EVIDENCE);
    }

    function test_flow_freezeTriggeredAndRestoreExtendsTheCurePeriod() public {
        (uint256 loanId, uint256 caseId) = _triggeredByOverdue();
        uint40 cureEnds = manager.getCase(caseId).deadline;
        vm.warp(START + 2 days);
        vm.prank(bank);
        manager.freezeCase(caseId, EVIDENCE);
        vm.warp(START + 30 days);
        vm.prank(address(membership));
        manager.resolveFreeze(caseId, true, EVIDENCE);
        assertEq(manager.getCase(caseId).deadline, cureEnds + 28 days);
        // Still within the (extended) cure period: the borrower can cure.
        _repay(loanId, 0);
        assertEq(uint8(_stateOf(caseId)), uint8(ICollateralManager.CaseState.Cured));
    }

    function test_flow_freezeAndClose() public {
        (uint256 loanId, uint256 caseId) = _auctioned();
        vm.prank(bank);
        manager.freezeCase(caseId, EVIDENCE);
        vm.expectEmit(address(manager));
        emit ICollateralManager.CaseStateChanged(
            caseId, ICollateralManager.CaseState.Frozen, ICollateralManager.CaseState.None, EVIDENCE
        );
        vm.prank(address(membership));
        manager.resolveFreeze(caseId, false, EVIDENCE);
        assertEq(uint8(_stateOf(caseId)), uint8(ICollateralManager.CaseState.None));
        assertEq(uint8(manager.getLoan(loanId).lienStatus), uint8(ICollateralManager.LienStatus.Active));

        // The closed case never moves again; a new breach opens a new case.
        _expectRevertFrom(
            address(membership),
            abi.encodeCall(ICollateralManager.resolveFreeze, (caseId, true, EVIDENCE)),
            abi.encodeWithSelector(
                ICollateralManager.CollateralUnexpectedCaseState.selector,
                caseId,
                ICollateralManager.CaseState.None,
                _stateBit(ICollateralManager.CaseState.Frozen)
            )
        );
        _value(SUBJECT, 500_000);
        assertEq(_caseOf(loanId), caseId + 1);
        assertEq(uint8(_stateOf(caseId + 1)), uint8(ICollateralManager.CaseState.Triggered));
    }

    function test_resolveFreeze_throughProposalAndVote() public {
        (, uint256 caseId) = _ordered();
        vm.prank(agency);
        manager.freezeCase(caseId, EVIDENCE);
        address[] memory targets = new address[](1);
        targets[0] = address(manager);
        bytes[] memory calldatas = new bytes[](1);
        calldatas[0] = abi.encodeCall(ICollateralManager.resolveFreeze, (caseId, true, keccak256("ruling")));
        _passProposal(targets, calldatas);
        assertEq(uint8(_stateOf(caseId)), uint8(ICollateralManager.CaseState.RepossessionOrdered));
    }

    function test_freezeCase_fromEachFreezableState() public {
        ICollateralManager.CaseState[5] memory states = [
            ICollateralManager.CaseState.Triggered,
            ICollateralManager.CaseState.RepossessionOrdered,
            ICollateralManager.CaseState.Repossessed,
            ICollateralManager.CaseState.Appraised,
            ICollateralManager.CaseState.Auctioned
        ];
        for (uint256 i = 0; i < states.length; ++i) {
            uint256 snapshot = vm.snapshotState();
            uint256 caseId;
            if (i == 0) (, caseId) = _triggeredByOverdue();
            else if (i == 1) (, caseId) = _ordered();
            else if (i == 2) (, caseId) = _repossessed();
            else if (i == 3) (, caseId) = _appraised();
            else (, caseId) = _auctioned();
            assertEq(uint8(_stateOf(caseId)), uint8(states[i]));
            vm.prank(bank);
            manager.freezeCase(caseId, EVIDENCE);
            ICollateralManager.Case memory c = manager.getCase(caseId);
            assertEq(uint8(c.state), uint8(ICollateralManager.CaseState.Frozen));
            assertEq(uint8(c.frozenFrom), uint8(states[i]));
            assertEq(c.frozenAt, block.timestamp);
            vm.revertToState(snapshot);
        }
    }

    function test_freezeCase_revertsFromWatch() public {
        (, uint256 caseId) = _watched();
        vm.expectRevert(
            abi.encodeWithSelector(
                ICollateralManager.CollateralUnexpectedCaseState.selector,
                caseId,
                ICollateralManager.CaseState.Watch,
                _freezableStates()
            )
        );
        vm.prank(bank);
        manager.freezeCase(caseId, EVIDENCE);
    }

    function test_freezeCase_revertsFromCured() public {
        (uint256 loanId, uint256 caseId) = _triggeredByOverdue();
        _repay(loanId, 0);
        vm.expectRevert(
            abi.encodeWithSelector(
                ICollateralManager.CollateralUnexpectedCaseState.selector,
                caseId,
                ICollateralManager.CaseState.Cured,
                _freezableStates()
            )
        );
        vm.prank(bank);
        manager.freezeCase(caseId, EVIDENCE);
    }

    function test_freezeCase_revertsOnUnknownCase() public {
        vm.expectRevert(abi.encodeWithSelector(ICollateralManager.CollateralUnknownCase.selector, 1));
        vm.prank(bank);
        manager.freezeCase(1, EVIDENCE);
    }

    function test_freezeCase_revertsWithoutEvidence() public {
        (, uint256 caseId) = _ordered();
        vm.expectRevert(ICollateralManager.CollateralMissingEvidence.selector);
        vm.prank(bank);
        manager.freezeCase(caseId, bytes32(0));
    }

    function test_freezeCase_reportsOnlyRecordCausesWhileFrozen() public {
        (uint256 loanId, uint256 caseId) = _triggeredByOverdue();
        vm.prank(bank);
        manager.freezeCase(caseId, EVIDENCE);
        _value(SUBJECT, 500_000);
        assertEq(uint8(_stateOf(caseId)), uint8(ICollateralManager.CaseState.Frozen));
        assertEq(_caseOf(loanId), caseId);
        assertEq(
            manager.getCase(caseId).causes & _bit(ICollateralManager.Cause.ValueDrop),
            _bit(ICollateralManager.Cause.ValueDrop)
        );
    }

    function test_resolveFreeze_restoreKeepsAnEarlierEscalation() public {
        (, uint256 caseId) = _ordered();
        vm.warp(block.timestamp + STEP_DEADLINE + 1);
        manager.escalate(caseId);
        vm.prank(bank);
        manager.freezeCase(caseId, EVIDENCE);
        vm.warp(block.timestamp + 3 days);
        vm.prank(address(membership));
        manager.resolveFreeze(caseId, true, EVIDENCE);

        ICollateralManager.Case memory c = manager.getCase(caseId);
        assertTrue(c.escalated);
        assertEq(uint8(c.state), uint8(ICollateralManager.CaseState.RepossessionOrdered));
        vm.expectRevert(abi.encodeWithSelector(ICollateralManager.DisposalAlreadyEscalated.selector, caseId));
        manager.escalate(caseId);
        vm.prank(bank);
        manager.reassignAgency(caseId, otherAgencyId, EVIDENCE);
        assertEq(manager.getCase(caseId).agencyMemberId, otherAgencyId);
    }

    function test_resolveFreeze_revertsUnlessFrozen() public {
        (, uint256 caseId) = _ordered();
        vm.expectRevert(
            abi.encodeWithSelector(
                ICollateralManager.CollateralUnexpectedCaseState.selector,
                caseId,
                ICollateralManager.CaseState.RepossessionOrdered,
                _stateBit(ICollateralManager.CaseState.Frozen)
            )
        );
        vm.prank(address(membership));
        manager.resolveFreeze(caseId, false, EVIDENCE);
    }

    function test_resolveFreeze_revertsOnUnknownCase() public {
        vm.expectRevert(abi.encodeWithSelector(ICollateralManager.CollateralUnknownCase.selector, 1));
        vm.prank(address(membership));
        manager.resolveFreeze(1, true, EVIDENCE);
    }

    function test_resolveFreeze_revertsWithoutEvidence() public {
        (, uint256 caseId) = _ordered();
        vm.prank(bank);
        manager.freezeCase(caseId, EVIDENCE);
        vm.expectRevert(ICollateralManager.CollateralMissingEvidence.selector);
        vm.prank(address(membership));
        manager.resolveFreeze(caseId, true, bytes32(0));
    }
}
