// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {CollateralManagerTestBase} from "./CollateralManagerTestBase.sol";
import {ICollateralManager} from "../../src/interfaces/ICollateralManager.sol";

/// @notice The disposal steps: ordering repossession, the agency's repossession, appraisal, auction
/// and settlement, and escalation and reassignment when an agency misses its deadline.
contract CollateralManagerDisposalTest is CollateralManagerTestBase {
    // ================================================================ orderRepossession

    function test_orderRepossession_assignsAgencyAndDeadline() public {
        (, uint256 caseId) = _ordered();
        ICollateralManager.Case memory c = manager.getCase(caseId);
        assertEq(uint8(c.state), uint8(ICollateralManager.CaseState.RepossessionOrdered));
        assertEq(c.agencyMemberId, agencyId);
        assertEq(c.deadline, block.timestamp + STEP_DEADLINE);
        assertFalse(c.escalated);
    }

    function test_orderRepossession_revertsDuringCurePeriod() public {
        (, uint256 caseId) = _triggeredByOverdue();
        uint40 cureEnds = manager.getCase(caseId).deadline;
        vm.warp(cureEnds);
        vm.expectRevert(abi.encodeWithSelector(ICollateralManager.DisposalCurePeriodRunning.selector, caseId, cureEnds));
        vm.prank(bank);
        manager.orderRepossession(caseId, agencyId, EVIDENCE);
    }

    function test_orderRepossession_revertsOnInvalidAgency() public {
        (, uint256 caseId) = _triggeredByOverdue();
        vm.warp(block.timestamp + CURE_PERIOD + 1);
        uint64 unknown = membership.memberCount() + 1;
        uint64[4] memory bad = [uint64(0), unknown, bankId, dealerId];
        for (uint256 i = 0; i < bad.length; ++i) {
            vm.expectRevert(abi.encodeWithSelector(ICollateralManager.DisposalInvalidAgency.selector, bad[i]));
            vm.prank(bank);
            manager.orderRepossession(caseId, bad[i], EVIDENCE);
        }
        _suspend(otherAgencyId);
        vm.expectRevert(abi.encodeWithSelector(ICollateralManager.DisposalInvalidAgency.selector, otherAgencyId));
        vm.prank(bank);
        manager.orderRepossession(caseId, otherAgencyId, EVIDENCE);
        _expel(otherAgencyId);
        vm.expectRevert(abi.encodeWithSelector(ICollateralManager.DisposalInvalidAgency.selector, otherAgencyId));
        vm.prank(bank);
        manager.orderRepossession(caseId, otherAgencyId, EVIDENCE);
    }

    function test_orderRepossession_revertsUnlessTriggered() public {
        (, uint256 caseId) = _watched();
        vm.warp(block.timestamp + CURE_PERIOD + 1);
        vm.expectRevert(
            abi.encodeWithSelector(
                ICollateralManager.CollateralUnexpectedCaseState.selector,
                caseId,
                ICollateralManager.CaseState.Watch,
                _stateBit(ICollateralManager.CaseState.Triggered)
            )
        );
        vm.prank(bank);
        manager.orderRepossession(caseId, agencyId, EVIDENCE);
    }

    function test_orderRepossession_revertsWhenAlreadyOrdered() public {
        (, uint256 caseId) = _ordered();
        vm.expectRevert(
            abi.encodeWithSelector(
                ICollateralManager.CollateralUnexpectedCaseState.selector,
                caseId,
                ICollateralManager.CaseState.RepossessionOrdered,
                _stateBit(ICollateralManager.CaseState.Triggered)
            )
        );
        vm.prank(bank);
        manager.orderRepossession(caseId, otherAgencyId, EVIDENCE);
    }

    function test_orderRepossession_revertsOnUnknownCase() public {
        vm.expectRevert(abi.encodeWithSelector(ICollateralManager.CollateralUnknownCase.selector, 9));
        vm.prank(bank);
        manager.orderRepossession(9, agencyId, EVIDENCE);
    }

    function test_orderRepossession_revertsWithoutEvidence() public {
        (, uint256 caseId) = _triggeredByOverdue();
        vm.warp(block.timestamp + CURE_PERIOD + 1);
        vm.expectRevert(ICollateralManager.CollateralMissingEvidence.selector);
        vm.prank(bank);
        manager.orderRepossession(caseId, agencyId, bytes32(0));
    }

    // ================================================================ agency steps

    function test_agencySteps_refuseOutOfOrder() public {
        (, uint256 caseId) = _ordered();
        ICollateralManager.CaseState ordered = ICollateralManager.CaseState.RepossessionOrdered;
        _expectRevertFrom(
            agency,
            abi.encodeCall(ICollateralManager.recordAppraisal, (caseId, 1, EVIDENCE)),
            _unexpectedCaseState(caseId, ordered, _stateBit(ICollateralManager.CaseState.Repossessed))
        );
        _expectRevertFrom(
            agency,
            abi.encodeCall(ICollateralManager.recordAuction, (caseId, 1, EVIDENCE)),
            _unexpectedCaseState(caseId, ordered, _stateBit(ICollateralManager.CaseState.Appraised))
        );
        _expectRevertFrom(
            agency,
            abi.encodeCall(ICollateralManager.recordSettlement, (caseId, EVIDENCE)),
            _unexpectedCaseState(caseId, ordered, _stateBit(ICollateralManager.CaseState.Auctioned))
        );

        vm.prank(agency);
        manager.recordRepossession(caseId, EVIDENCE);
        _expectRevertFrom(
            agency,
            abi.encodeCall(ICollateralManager.recordRepossession, (caseId, EVIDENCE)),
            abi.encodeWithSelector(
                ICollateralManager.CollateralUnexpectedCaseState.selector,
                caseId,
                ICollateralManager.CaseState.Repossessed,
                _stateBit(ICollateralManager.CaseState.RepossessionOrdered)
            )
        );
    }

    function test_agencySteps_refuseTriggeredCaseWithoutAgency() public {
        (, uint256 caseId) = _triggeredByOverdue();
        vm.expectRevert(abi.encodeWithSelector(ICollateralManager.DisposalNotAssignedAgency.selector, caseId, agency));
        vm.prank(agency);
        manager.recordRepossession(caseId, EVIDENCE);
    }

    function test_agencySteps_settledCaseNeverMovesAgain() public {
        (, uint256 caseId) = _auctioned();
        vm.prank(agency);
        manager.recordSettlement(caseId, EVIDENCE);
        ICollateralManager.CaseState settled = ICollateralManager.CaseState.Settled;
        _expectRevertFrom(
            agency,
            abi.encodeCall(ICollateralManager.recordSettlement, (caseId, EVIDENCE)),
            _unexpectedCaseState(caseId, settled, _stateBit(ICollateralManager.CaseState.Auctioned))
        );
        _expectRevertFrom(
            agency,
            abi.encodeCall(ICollateralManager.freezeCase, (caseId, EVIDENCE)),
            _unexpectedCaseState(caseId, settled, _freezableStates())
        );
        vm.warp(block.timestamp + 30 days);
        _expectRevertFrom(
            stranger,
            abi.encodeCall(ICollateralManager.escalate, (caseId)),
            _unexpectedCaseState(caseId, settled, _agencyStepStates())
        );
        assertEq(uint8(_stateOf(caseId)), uint8(ICollateralManager.CaseState.Settled));
    }

    function test_agencySteps_lateStepStillAcceptedBeforeReassignment() public {
        (, uint256 caseId) = _ordered();
        vm.warp(block.timestamp + STEP_DEADLINE + 1);
        manager.escalate(caseId);
        vm.prank(agency);
        manager.recordRepossession(caseId, EVIDENCE);
        ICollateralManager.Case memory c = manager.getCase(caseId);
        assertEq(uint8(c.state), uint8(ICollateralManager.CaseState.Repossessed));
        assertFalse(c.escalated);
        assertEq(c.deadline, block.timestamp + STEP_DEADLINE);
    }

    function test_agencySteps_revertWithoutEvidence() public {
        (, uint256 caseId) = _ordered();
        bytes memory err = abi.encodeWithSelector(ICollateralManager.CollateralMissingEvidence.selector);
        _expectRevertFrom(agency, abi.encodeCall(ICollateralManager.recordRepossession, (caseId, bytes32(0))), err);
        vm.prank(agency);
        manager.recordRepossession(caseId, EVIDENCE);
        _expectRevertFrom(agency, abi.encodeCall(ICollateralManager.recordAppraisal, (caseId, 1, bytes32(0))), err);
        vm.prank(agency);
        manager.recordAppraisal(caseId, 1, EVIDENCE);
        _expectRevertFrom(agency, abi.encodeCall(ICollateralManager.recordAuction, (caseId, 1, bytes32(0))), err);
        vm.prank(agency);
        manager.recordAuction(caseId, 1, EVIDENCE);
        _expectRevertFrom(agency, abi.encodeCall(ICollateralManager.recordSettlement, (caseId, bytes32(0))), err);
    }

    function test_agencySteps_revertOnUnknownCase() public {
        bytes memory err = abi.encodeWithSelector(ICollateralManager.CollateralUnknownCase.selector, 4);
        _expectRevertFrom(agency, abi.encodeCall(ICollateralManager.recordRepossession, (4, EVIDENCE)), err);
        _expectRevertFrom(agency, abi.encodeCall(ICollateralManager.recordAppraisal, (4, 1, EVIDENCE)), err);
        _expectRevertFrom(agency, abi.encodeCall(ICollateralManager.recordAuction, (4, 1, EVIDENCE)), err);
        _expectRevertFrom(agency, abi.encodeCall(ICollateralManager.recordSettlement, (4, EVIDENCE)), err);
    }

    // ================================================================ escalate and reassignAgency

    function test_escalate_afterDeadlineByAnyone() public {
        (, uint256 caseId) = _ordered();
        uint40 deadline = manager.getCase(caseId).deadline;
        vm.warp(deadline + 1);
        vm.expectEmit(address(manager));
        emit ICollateralManager.CaseEscalated(
            caseId, agencyId, ICollateralManager.CaseState.RepossessionOrdered, deadline, stranger
        );
        vm.prank(stranger);
        manager.escalate(caseId);
        ICollateralManager.Case memory c = manager.getCase(caseId);
        assertTrue(c.escalated);
        assertEq(uint8(c.state), uint8(ICollateralManager.CaseState.RepossessionOrdered));
    }

    function test_escalate_revertsUntilDeadlinePassed() public {
        (, uint256 caseId) = _ordered();
        uint40 deadline = manager.getCase(caseId).deadline;
        vm.warp(deadline);
        vm.expectRevert(abi.encodeWithSelector(ICollateralManager.DisposalDeadlineNotPassed.selector, caseId, deadline));
        manager.escalate(caseId);
    }

    function test_escalate_revertsWhenAlreadyEscalated() public {
        (, uint256 caseId) = _ordered();
        vm.warp(block.timestamp + STEP_DEADLINE + 1);
        manager.escalate(caseId);
        vm.expectRevert(abi.encodeWithSelector(ICollateralManager.DisposalAlreadyEscalated.selector, caseId));
        manager.escalate(caseId);
    }

    function test_escalate_revertsOutsideAgencySteps() public {
        (, uint256 caseId) = _triggeredByOverdue();
        vm.warp(block.timestamp + 60 days);
        vm.expectRevert(
            abi.encodeWithSelector(
                ICollateralManager.CollateralUnexpectedCaseState.selector,
                caseId,
                ICollateralManager.CaseState.Triggered,
                _agencyStepStates()
            )
        );
        manager.escalate(caseId);
    }

    function test_escalate_revertsOnUnknownCase() public {
        vm.expectRevert(abi.encodeWithSelector(ICollateralManager.CollateralUnknownCase.selector, 2));
        manager.escalate(2);
    }

    function test_escalate_eachStepHasItsOwnDeadline() public {
        (, uint256 caseId) = _appraised();
        uint40 deadline = manager.getCase(caseId).deadline;
        assertEq(deadline, block.timestamp + STEP_DEADLINE);
        vm.warp(deadline + 1);
        vm.expectEmit(address(manager));
        emit ICollateralManager.CaseEscalated(
            caseId, agencyId, ICollateralManager.CaseState.Appraised, deadline, address(this)
        );
        manager.escalate(caseId);
    }

    /// Flow: a missed deadline, escalation, reassignment; the new agency finishes the disposal.
    function test_flow_deadlineEscalationReassignment() public {
        (, uint256 caseId) = _repossessed();
        vm.warp(block.timestamp + STEP_DEADLINE + 1);
        vm.expectRevert(abi.encodeWithSelector(ICollateralManager.DisposalNotEscalated.selector, caseId));
        vm.prank(bank);
        manager.reassignAgency(caseId, otherAgencyId, EVIDENCE);

        manager.escalate(caseId);
        bytes32 reassignment = keccak256("reassignment");
        vm.expectEmit(address(manager));
        emit ICollateralManager.AgencyAssigned(
            caseId, otherAgencyId, uint40(block.timestamp) + STEP_DEADLINE, reassignment
        );
        vm.prank(bank);
        manager.reassignAgency(caseId, otherAgencyId, reassignment);

        ICollateralManager.Case memory c = manager.getCase(caseId);
        assertEq(c.agencyMemberId, otherAgencyId);
        assertFalse(c.escalated);
        assertEq(uint8(c.state), uint8(ICollateralManager.CaseState.Repossessed));
        assertEq(c.deadline, block.timestamp + STEP_DEADLINE);

        vm.expectRevert(abi.encodeWithSelector(ICollateralManager.DisposalNotAssignedAgency.selector, caseId, agency));
        vm.prank(agency);
        manager.recordAppraisal(caseId, 1, EVIDENCE);

        vm.startPrank(otherAgency);
        manager.recordAppraisal(caseId, 850_000, EVIDENCE);
        manager.recordAuction(caseId, 860_000, EVIDENCE);
        manager.recordSettlement(caseId, EVIDENCE);
        vm.stopPrank();
        assertEq(uint8(_stateOf(caseId)), uint8(ICollateralManager.CaseState.Settled));
    }

    function test_reassignAgency_toTheSameAgencyExtendsItsDeadline() public {
        (, uint256 caseId) = _ordered();
        vm.warp(block.timestamp + STEP_DEADLINE + 1);
        manager.escalate(caseId);
        vm.prank(bank);
        manager.reassignAgency(caseId, agencyId, EVIDENCE);
        assertEq(manager.getCase(caseId).deadline, block.timestamp + STEP_DEADLINE);
    }

    function test_reassignAgency_revertsOnInvalidAgency() public {
        (, uint256 caseId) = _ordered();
        vm.warp(block.timestamp + STEP_DEADLINE + 1);
        manager.escalate(caseId);
        _suspend(otherAgencyId);
        vm.expectRevert(abi.encodeWithSelector(ICollateralManager.DisposalInvalidAgency.selector, otherAgencyId));
        vm.prank(bank);
        manager.reassignAgency(caseId, otherAgencyId, EVIDENCE);
        vm.expectRevert(abi.encodeWithSelector(ICollateralManager.DisposalInvalidAgency.selector, dmvId));
        vm.prank(bank);
        manager.reassignAgency(caseId, dmvId, EVIDENCE);
    }

    function test_reassignAgency_revertsOutsideAgencySteps() public {
        (, uint256 caseId) = _triggeredByOverdue();
        vm.expectRevert(
            abi.encodeWithSelector(
                ICollateralManager.CollateralUnexpectedCaseState.selector,
                caseId,
                ICollateralManager.CaseState.Triggered,
                _agencyStepStates()
            )
        );
        vm.prank(bank);
        manager.reassignAgency(caseId, agencyId, EVIDENCE);
    }

    function test_reassignAgency_revertsOnUnknownCase() public {
        vm.expectRevert(abi.encodeWithSelector(ICollateralManager.CollateralUnknownCase.selector, 5));
        vm.prank(bank);
        manager.reassignAgency(5, agencyId, EVIDENCE);
    }

    function test_reassignAgency_revertsWithoutEvidence() public {
        (, uint256 caseId) = _ordered();
        vm.warp(block.timestamp + STEP_DEADLINE + 1);
        manager.escalate(caseId);
        vm.expectRevert(ICollateralManager.CollateralMissingEvidence.selector);
        vm.prank(bank);
        manager.reassignAgency(caseId, otherAgencyId, bytes32(0));
    }

    /// A suspended agency cannot act; its deadline passes, the case is escalated and reassigned.
    function test_flow_suspendedAgencyIsReplaced() public {
        (, uint256 caseId) = _ordered();
        _suspend(agencyId);
        vm.warp(block.timestamp + STEP_DEADLINE + 1);
        manager.escalate(caseId);
        vm.prank(bank);
        manager.reassignAgency(caseId, otherAgencyId, EVIDENCE);
        vm.prank(otherAgency);
        manager.recordRepossession(caseId, EVIDENCE);
        assertEq(uint8(_stateOf(caseId)), uint8(ICollateralManager.CaseState.Repossessed));
    }
}
