// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {CollateralManagerTestBase} from "./CollateralManagerTestBase.sol";
import {ICollateralManager} from "../../src/interfaces/ICollateralManager.sol";

/// @notice How cases open and move before disposal: the repayment, telematics, DMV and risk-warning
/// reports that trigger or watch a loan, cures, and clearing a watch.
contract CollateralManagerCasesTest is CollateralManagerTestBase {
    // ================================================================ reportRepayment

    function test_reportRepayment_recordsStatusWithoutCase() public {
        uint256 loanId = _registerActive(SUBJECT);
        vm.expectEmit(address(manager));
        emit ICollateralManager.RepaymentReported(loanId, SUBJECT, bankId, 12, 550_000, EVIDENCE);
        vm.prank(bank);
        manager.reportRepayment(loanId, 12, 550_000, EVIDENCE);

        ICollateralManager.Loan memory loan = manager.getLoan(loanId);
        assertEq(loan.daysOverdue, 12);
        assertEq(loan.outstanding, 550_000);
        assertEq(loan.caseId, 0);
        assertEq(manager.caseCount(), 0);
    }

    function test_reportRepayment_watchBeyondWatchDays() public {
        uint256 loanId = _registerActive(SUBJECT);
        _repay(loanId, WATCH_OVERDUE); // exactly the watch limit: nothing
        assertEq(_caseOf(loanId), 0);

        vm.expectEmit(address(manager));
        emit ICollateralManager.CaseOpened(1, loanId);
        vm.expectEmit(address(manager));
        emit ICollateralManager.RulesFired(loanId, 1, _bit(ICollateralManager.Cause.OverdueWatch));
        vm.expectEmit(address(manager));
        emit ICollateralManager.CaseStateChanged(
            1, ICollateralManager.CaseState.None, ICollateralManager.CaseState.Watch, EVIDENCE
        );
        _repay(loanId, WATCH_OVERDUE + 1);

        ICollateralManager.Case memory c = manager.getCase(1);
        assertEq(c.loanId, loanId);
        assertEq(uint8(c.state), uint8(ICollateralManager.CaseState.Watch));
        assertEq(c.causes, _bit(ICollateralManager.Cause.OverdueWatch));
        assertEq(c.triggeredAt, 0);
        assertEq(c.deadline, 0);
    }

    function test_reportRepayment_triggersBeyondMaxOverdueDays() public {
        uint256 loanId = _registerActive(SUBJECT);
        _repay(loanId, MAX_OVERDUE); // exactly the limit: watch only
        uint256 caseId = _caseOf(loanId);
        assertEq(uint8(_stateOf(caseId)), uint8(ICollateralManager.CaseState.Watch));

        vm.warp(START + 1 days);
        vm.expectEmit(address(manager));
        emit ICollateralManager.CaseStateChanged(
            caseId, ICollateralManager.CaseState.Watch, ICollateralManager.CaseState.Triggered, EVIDENCE
        );
        _repay(loanId, MAX_OVERDUE + 1);

        ICollateralManager.Case memory c = manager.getCase(caseId);
        assertEq(uint8(c.state), uint8(ICollateralManager.CaseState.Triggered));
        assertEq(c.causes, _bit(ICollateralManager.Cause.OverdueWatch) | _bit(ICollateralManager.Cause.OverdueBreach));
        assertEq(c.triggeredAt, START + 1 days);
        assertEq(c.deadline, START + 1 days + CURE_PERIOD);
        assertEq(manager.caseCount(), 1);
    }

    function test_reportRepayment_opensTriggeredCaseDirectly() public {
        (, uint256 caseId) = _triggeredByOverdue();
        assertEq(caseId, 1);
        assertEq(uint8(_stateOf(caseId)), uint8(ICollateralManager.CaseState.Triggered));
        assertEq(manager.getCase(caseId).causes, _bit(ICollateralManager.Cause.OverdueBreach));
    }

    function test_reportRepayment_loanToValueBreachOnRisingOutstanding() public {
        uint256 loanId = _registerActive(SUBJECT);
        vm.prank(bank);
        manager.reportRepayment(loanId, 0, 800_000, EVIDENCE); // exactly 80%: fine
        assertEq(_caseOf(loanId), 0);
        vm.prank(bank);
        manager.reportRepayment(loanId, 0, 800_001, EVIDENCE);
        uint256 caseId = _caseOf(loanId);
        assertEq(uint8(_stateOf(caseId)), uint8(ICollateralManager.CaseState.Triggered));
        assertEq(manager.getCase(caseId).causes, _bit(ICollateralManager.Cause.LoanToValue));
    }

    function test_reportRepayment_revertsOnUnknownLoan() public {
        vm.expectRevert(abi.encodeWithSelector(ICollateralManager.CollateralUnknownLoan.selector, 1));
        vm.prank(bank);
        manager.reportRepayment(1, 0, OUTSTANDING, EVIDENCE);
    }

    function test_reportRepayment_revertsWithoutEvidence() public {
        uint256 loanId = _registerActive(SUBJECT);
        vm.expectRevert(ICollateralManager.CollateralMissingEvidence.selector);
        vm.prank(bank);
        manager.reportRepayment(loanId, 0, OUTSTANDING, bytes32(0));
    }

    function test_reportRepayment_revertsUnlessLienActive() public {
        uint256 loanId = _register(SUBJECT);
        vm.expectRevert(
            abi.encodeWithSelector(
                ICollateralManager.CollateralUnexpectedLienStatus.selector,
                loanId,
                ICollateralManager.LienStatus.Pending,
                _stateBit(ICollateralManager.LienStatus.Active)
            )
        );
        vm.prank(bank);
        manager.reportRepayment(loanId, 0, OUTSTANDING, EVIDENCE);

        vm.prank(bank);
        manager.cancelLoan(loanId, EVIDENCE);
        vm.expectRevert(
            abi.encodeWithSelector(
                ICollateralManager.CollateralUnexpectedLienStatus.selector,
                loanId,
                ICollateralManager.LienStatus.Released,
                _stateBit(ICollateralManager.LienStatus.Active)
            )
        );
        vm.prank(bank);
        manager.reportRepayment(loanId, 0, OUTSTANDING, EVIDENCE);
    }

    // ================================================================ cure

    /// Flow: overdue -> triggered -> cured.
    function test_flow_overdueTriggeredCured() public {
        (uint256 loanId, uint256 caseId) = _triggeredByOverdue();
        vm.warp(block.timestamp + 4 days);
        _repay(loanId, 45); // still overdue, but within the breach limit: recorded, no state change
        assertEq(uint8(_stateOf(caseId)), uint8(ICollateralManager.CaseState.Triggered));

        vm.expectEmit(address(manager));
        emit ICollateralManager.CaseStateChanged(
            caseId, ICollateralManager.CaseState.Triggered, ICollateralManager.CaseState.Cured, EVIDENCE
        );
        _repay(loanId, 0);
        assertEq(uint8(_stateOf(caseId)), uint8(ICollateralManager.CaseState.Cured));
        assertEq(uint8(manager.getLoan(loanId).lienStatus), uint8(ICollateralManager.LienStatus.Active));

        // The cured case never changes again; a new default opens a new case.
        vm.prank(bank);
        vm.expectRevert(
            abi.encodeWithSelector(
                ICollateralManager.CollateralUnexpectedCaseState.selector,
                caseId,
                ICollateralManager.CaseState.Cured,
                _stateBit(ICollateralManager.CaseState.Triggered)
            )
        );
        manager.orderRepossession(caseId, agencyId, EVIDENCE);
        _repay(loanId, MAX_OVERDUE + 1);
        uint256 next = _caseOf(loanId);
        assertEq(next, caseId + 1);
        assertEq(uint8(_stateOf(next)), uint8(ICollateralManager.CaseState.Triggered));
        assertEq(uint8(_stateOf(caseId)), uint8(ICollateralManager.CaseState.Cured));
    }

    function test_cure_worksAtTheLastSecondOfTheCurePeriod() public {
        (uint256 loanId, uint256 caseId) = _triggeredByOverdue();
        vm.warp(manager.getCase(caseId).deadline);
        _repay(loanId, 0);
        assertEq(uint8(_stateOf(caseId)), uint8(ICollateralManager.CaseState.Cured));
    }

    function test_cure_notAfterTheCurePeriod() public {
        (uint256 loanId, uint256 caseId) = _triggeredByOverdue();
        vm.warp(manager.getCase(caseId).deadline + 1);
        _repay(loanId, 0);
        assertEq(uint8(_stateOf(caseId)), uint8(ICollateralManager.CaseState.Triggered));
        assertEq(manager.getLoan(loanId).daysOverdue, 0);
    }

    function test_cure_notForAValueDrop() public {
        uint256 loanId = _registerActive(SUBJECT);
        _value(SUBJECT, 910_000);
        uint256 caseId = _caseOf(loanId);
        _repay(loanId, 0);
        assertEq(uint8(_stateOf(caseId)), uint8(ICollateralManager.CaseState.Triggered));
    }

    function test_cure_notWhenOverdueCameWithAnotherBreach() public {
        (uint256 loanId, uint256 caseId) = _triggeredByOverdue();
        vm.prank(dmv);
        manager.reportDmvEvent(SUBJECT, ICollateralManager.DmvEventKind.TransferAttempt, EVIDENCE);
        assertEq(
            manager.getCase(caseId).causes,
            _bit(ICollateralManager.Cause.OverdueBreach) | _bit(ICollateralManager.Cause.DmvTransferAttempt)
        );
        _repay(loanId, 0);
        assertEq(uint8(_stateOf(caseId)), uint8(ICollateralManager.CaseState.Triggered));
    }

    function test_cure_evenAfterWatchCauses() public {
        uint256 loanId = _registerActive(SUBJECT);
        _value(SUBJECT, 1_090_000); // rise: watch
        uint256 caseId = _caseOf(loanId);
        _repay(loanId, MAX_OVERDUE + 1);
        assertEq(uint8(_stateOf(caseId)), uint8(ICollateralManager.CaseState.Triggered));
        _repay(loanId, 0);
        assertEq(uint8(_stateOf(caseId)), uint8(ICollateralManager.CaseState.Cured));
    }

    function test_cure_doesNotClearAWatch() public {
        (uint256 loanId, uint256 caseId) = _watched();
        _repay(loanId, 0);
        assertEq(uint8(_stateOf(caseId)), uint8(ICollateralManager.CaseState.Watch));
    }

    // ================================================================ reportTelematicsAlert

    function test_reportTelematicsAlert_lowIsOnlyRecorded() public {
        uint256 loanId = _registerActive(SUBJECT);
        vm.expectEmit(address(manager));
        emit ICollateralManager.TelematicsAlertReported(
            loanId, SUBJECT, telematicsId, 7, ICollateralManager.Severity.Low, EVIDENCE
        );
        vm.prank(telematics);
        manager.reportTelematicsAlert(SUBJECT, 7, ICollateralManager.Severity.Low, EVIDENCE);
        assertEq(_caseOf(loanId), 0);
    }

    function test_reportTelematicsAlert_mediumIsWatch() public {
        uint256 loanId = _registerActive(SUBJECT);
        vm.prank(telematics);
        manager.reportTelematicsAlert(SUBJECT, 7, ICollateralManager.Severity.Medium, EVIDENCE);
        uint256 caseId = _caseOf(loanId);
        assertEq(uint8(_stateOf(caseId)), uint8(ICollateralManager.CaseState.Watch));
        assertEq(manager.getCase(caseId).causes, _bit(ICollateralManager.Cause.TelematicsWatch));
    }

    function test_reportTelematicsAlert_highAndCriticalAreBreaches() public {
        uint256 first = _registerActive(SUBJECT);
        vm.prank(telematics);
        manager.reportTelematicsAlert(SUBJECT, 1, ICollateralManager.Severity.High, EVIDENCE);
        uint256 second = _registerActive(OTHER_SUBJECT);
        vm.prank(telematics);
        manager.reportTelematicsAlert(OTHER_SUBJECT, 2, ICollateralManager.Severity.Critical, EVIDENCE);
        for (uint256 loanId = first; loanId <= second; ++loanId) {
            ICollateralManager.Case memory c = manager.getCase(_caseOf(loanId));
            assertEq(uint8(c.state), uint8(ICollateralManager.CaseState.Triggered));
            assertEq(c.causes, _bit(ICollateralManager.Cause.TelematicsBreach));
        }
    }

    function test_reportTelematicsAlert_revertsWithoutEvidence() public {
        _registerActive(SUBJECT);
        vm.expectRevert(ICollateralManager.CollateralMissingEvidence.selector);
        vm.prank(telematics);
        manager.reportTelematicsAlert(SUBJECT, 1, ICollateralManager.Severity.High, bytes32(0));
    }

    function test_reportTelematicsAlert_revertsWithoutActiveLoan() public {
        vm.expectRevert(abi.encodeWithSelector(ICollateralManager.CollateralNoActiveLoan.selector, SUBJECT));
        vm.prank(telematics);
        manager.reportTelematicsAlert(SUBJECT, 1, ICollateralManager.Severity.High, EVIDENCE);
    }

    function test_reportTelematicsAlert_revertsWhileLienPending() public {
        uint256 loanId = _register(SUBJECT);
        vm.expectRevert(
            abi.encodeWithSelector(
                ICollateralManager.CollateralUnexpectedLienStatus.selector,
                loanId,
                ICollateralManager.LienStatus.Pending,
                _stateBit(ICollateralManager.LienStatus.Active)
            )
        );
        vm.prank(telematics);
        manager.reportTelematicsAlert(SUBJECT, 1, ICollateralManager.Severity.High, EVIDENCE);
    }

    // ================================================================ reportDmvEvent

    function test_reportDmvEvent_seizureTransferScrappingAreBreaches() public {
        ICollateralManager.DmvEventKind[3] memory kinds = [
            ICollateralManager.DmvEventKind.Seizure,
            ICollateralManager.DmvEventKind.TransferAttempt,
            ICollateralManager.DmvEventKind.Scrapping
        ];
        ICollateralManager.Cause[3] memory causes = [
            ICollateralManager.Cause.DmvSeizure,
            ICollateralManager.Cause.DmvTransferAttempt,
            ICollateralManager.Cause.DmvScrapping
        ];
        for (uint256 i = 0; i < kinds.length; ++i) {
            bytes32 subject = keccak256(abi.encode("dmv", i));
            uint256 loanId = _registerActive(subject);
            vm.expectEmit(address(manager));
            emit ICollateralManager.DmvEventReported(loanId, subject, dmvId, kinds[i], EVIDENCE);
            vm.prank(dmv);
            manager.reportDmvEvent(subject, kinds[i], EVIDENCE);
            ICollateralManager.Case memory c = manager.getCase(_caseOf(loanId));
            assertEq(uint8(c.state), uint8(ICollateralManager.CaseState.Triggered));
            assertEq(c.causes, _bit(causes[i]));
        }
    }

    function test_reportDmvEvent_lienReleasedClosesLoanWithoutCase() public {
        uint256 loanId = _registerActive(SUBJECT);
        bytes32 release = keccak256("dmv-release");
        vm.expectEmit(address(manager));
        emit ICollateralManager.DmvEventReported(
            loanId, SUBJECT, dmvId, ICollateralManager.DmvEventKind.LienReleased, release
        );
        vm.expectEmit(address(manager));
        emit ICollateralManager.LienStatusChanged(
            loanId, SUBJECT, ICollateralManager.LienStatus.Active, ICollateralManager.LienStatus.Released, release
        );
        vm.prank(dmv);
        manager.reportDmvEvent(SUBJECT, ICollateralManager.DmvEventKind.LienReleased, release);
        assertEq(uint8(manager.getLoan(loanId).lienStatus), uint8(ICollateralManager.LienStatus.Released));
        assertEq(manager.activeLoanOf(SUBJECT), 0);
        _register(SUBJECT); // the subject is free again
    }

    function test_reportDmvEvent_lienReleasedClosesAWatch() public {
        (uint256 loanId, uint256 caseId) = _watched();
        vm.expectEmit(address(manager));
        emit ICollateralManager.CaseStateChanged(
            caseId, ICollateralManager.CaseState.Watch, ICollateralManager.CaseState.None, EVIDENCE
        );
        vm.prank(dmv);
        manager.reportDmvEvent(SUBJECT, ICollateralManager.DmvEventKind.LienReleased, EVIDENCE);
        assertEq(uint8(_stateOf(caseId)), uint8(ICollateralManager.CaseState.None));
        assertEq(uint8(manager.getLoan(loanId).lienStatus), uint8(ICollateralManager.LienStatus.Released));
    }

    function test_reportDmvEvent_lienReleasedAfterCure() public {
        (uint256 loanId, uint256 caseId) = _triggeredByOverdue();
        _repay(loanId, 0);
        vm.prank(dmv);
        manager.reportDmvEvent(SUBJECT, ICollateralManager.DmvEventKind.LienReleased, EVIDENCE);
        assertEq(uint8(_stateOf(caseId)), uint8(ICollateralManager.CaseState.Cured));
        assertEq(uint8(manager.getLoan(loanId).lienStatus), uint8(ICollateralManager.LienStatus.Released));
    }

    function test_reportDmvEvent_lienReleasedRefusedWhileCaseInProgress() public {
        (uint256 loanId, uint256 caseId) = _triggeredByOverdue();
        vm.expectRevert(abi.encodeWithSelector(ICollateralManager.CollateralCaseInProgress.selector, loanId, caseId));
        vm.prank(dmv);
        manager.reportDmvEvent(SUBJECT, ICollateralManager.DmvEventKind.LienReleased, EVIDENCE);

        vm.prank(bank);
        manager.freezeCase(caseId, EVIDENCE);
        vm.expectRevert(abi.encodeWithSelector(ICollateralManager.CollateralCaseInProgress.selector, loanId, caseId));
        vm.prank(dmv);
        manager.reportDmvEvent(SUBJECT, ICollateralManager.DmvEventKind.LienReleased, EVIDENCE);
    }

    function test_reportDmvEvent_lienReleasedRefusedDuringDisposal() public {
        (uint256 loanId, uint256 caseId) = _auctioned();
        vm.expectRevert(abi.encodeWithSelector(ICollateralManager.CollateralCaseInProgress.selector, loanId, caseId));
        vm.prank(dmv);
        manager.reportDmvEvent(SUBJECT, ICollateralManager.DmvEventKind.LienReleased, EVIDENCE);
    }

    function test_reportDmvEvent_revertsWithoutEvidence() public {
        _registerActive(SUBJECT);
        vm.expectRevert(ICollateralManager.CollateralMissingEvidence.selector);
        vm.prank(dmv);
        manager.reportDmvEvent(SUBJECT, ICollateralManager.DmvEventKind.Seizure, bytes32(0));
    }

    function test_reportDmvEvent_revertsWithoutActiveLoan() public {
        vm.expectRevert(abi.encodeWithSelector(ICollateralManager.CollateralNoActiveLoan.selector, SUBJECT));
        vm.prank(dmv);
        manager.reportDmvEvent(SUBJECT, ICollateralManager.DmvEventKind.Seizure, EVIDENCE);
    }

    function test_reportDmvEvent_revertsWhileLienPending() public {
        uint256 loanId = _register(SUBJECT);
        vm.expectRevert(
            abi.encodeWithSelector(
                ICollateralManager.CollateralUnexpectedLienStatus.selector,
                loanId,
                ICollateralManager.LienStatus.Pending,
                _stateBit(ICollateralManager.LienStatus.Active)
            )
        );
        vm.prank(dmv);
        manager.reportDmvEvent(SUBJECT, ICollateralManager.DmvEventKind.LienReleased, EVIDENCE);
    }

    // ================================================================ reportRiskWarning

    function test_reportRiskWarning_scoreUnderThresholdIsWatch() public {
        uint256 loanId = _registerActive(SUBJECT);
        vm.prank(insurer);
        manager.reportRiskWarning(SUBJECT, RISK_WATCH_SCORE, EVIDENCE); // not under: nothing
        assertEq(_caseOf(loanId), 0);

        vm.expectEmit(address(manager));
        emit ICollateralManager.RiskWarningReported(loanId, SUBJECT, insurerId, RISK_WATCH_SCORE - 1, EVIDENCE);
        vm.prank(insurer);
        manager.reportRiskWarning(SUBJECT, RISK_WATCH_SCORE - 1, EVIDENCE);
        uint256 caseId = _caseOf(loanId);
        assertEq(uint8(_stateOf(caseId)), uint8(ICollateralManager.CaseState.Watch));
        assertEq(manager.getCase(caseId).causes, _bit(ICollateralManager.Cause.RiskWarning));
    }

    function test_reportRiskWarning_neverTriggersOnItsOwn() public {
        uint256 loanId = _registerActive(SUBJECT);
        for (uint256 i = 0; i < 3; ++i) {
            vm.prank(insurer);
            manager.reportRiskWarning(SUBJECT, 0, EVIDENCE);
        }
        assertEq(uint8(_stateOf(_caseOf(loanId))), uint8(ICollateralManager.CaseState.Watch));
        assertEq(manager.caseCount(), 1);
    }

    function test_reportRiskWarning_zeroThresholdDisablesTheRule() public {
        uint256 loanId = _registerActive(SUBJECT);
        ICollateralManager.Parameters memory params = manager.parameters();
        params.riskWatchScore = 0;
        vm.prank(address(membership));
        manager.setParameters(params);
        vm.prank(insurer);
        manager.reportRiskWarning(SUBJECT, 0, EVIDENCE);
        assertEq(_caseOf(loanId), 0);
    }

    function test_reportRiskWarning_revertsOnScoreAboveScale() public {
        _registerActive(SUBJECT);
        vm.expectRevert(abi.encodeWithSelector(ICollateralManager.CollateralInvalidScore.selector, 10_001));
        vm.prank(insurer);
        manager.reportRiskWarning(SUBJECT, 10_001, EVIDENCE);
    }

    function test_reportRiskWarning_revertsWithoutEvidence() public {
        _registerActive(SUBJECT);
        vm.expectRevert(ICollateralManager.CollateralMissingEvidence.selector);
        vm.prank(insurer);
        manager.reportRiskWarning(SUBJECT, 100, bytes32(0));
    }

    function test_reportRiskWarning_revertsWithoutActiveLoan() public {
        vm.expectRevert(abi.encodeWithSelector(ICollateralManager.CollateralNoActiveLoan.selector, SUBJECT));
        vm.prank(insurer);
        manager.reportRiskWarning(SUBJECT, 100, EVIDENCE);
    }

    function test_reportRiskWarning_revertsWhileLienPending() public {
        uint256 loanId = _register(SUBJECT);
        vm.expectRevert(
            abi.encodeWithSelector(
                ICollateralManager.CollateralUnexpectedLienStatus.selector,
                loanId,
                ICollateralManager.LienStatus.Pending,
                _stateBit(ICollateralManager.LienStatus.Active)
            )
        );
        vm.prank(insurer);
        manager.reportRiskWarning(SUBJECT, 100, EVIDENCE);
    }

    // ================================================================ clearWatch

    function test_clearWatch_closesTheCase() public {
        (uint256 loanId, uint256 caseId) = _watched();
        bytes32 note = keccak256("borrower-called");
        vm.expectEmit(address(manager));
        emit ICollateralManager.CaseStateChanged(
            caseId, ICollateralManager.CaseState.Watch, ICollateralManager.CaseState.None, note
        );
        vm.prank(bank);
        manager.clearWatch(caseId, note);
        assertEq(uint8(_stateOf(caseId)), uint8(ICollateralManager.CaseState.None));
        assertEq(manager.getCase(caseId).loanId, loanId);

        // The closed case stays closed; the next warning opens a new case.
        _repay(loanId, WATCH_OVERDUE + 5);
        assertEq(_caseOf(loanId), caseId + 1);
        assertEq(uint8(_stateOf(caseId)), uint8(ICollateralManager.CaseState.None));
        assertEq(uint8(_stateOf(caseId + 1)), uint8(ICollateralManager.CaseState.Watch));
    }

    function test_clearWatch_revertsUnlessWatch() public {
        (, uint256 caseId) = _triggeredByOverdue();
        vm.expectRevert(
            abi.encodeWithSelector(
                ICollateralManager.CollateralUnexpectedCaseState.selector,
                caseId,
                ICollateralManager.CaseState.Triggered,
                _stateBit(ICollateralManager.CaseState.Watch)
            )
        );
        vm.prank(bank);
        manager.clearWatch(caseId, EVIDENCE);
    }

    function test_clearWatch_revertsOnClosedCase() public {
        (, uint256 caseId) = _watched();
        vm.prank(bank);
        manager.clearWatch(caseId, EVIDENCE);
        vm.expectRevert(
            abi.encodeWithSelector(
                ICollateralManager.CollateralUnexpectedCaseState.selector,
                caseId,
                ICollateralManager.CaseState.None,
                _stateBit(ICollateralManager.CaseState.Watch)
            )
        );
        vm.prank(bank);
        manager.clearWatch(caseId, EVIDENCE);
    }

    function test_clearWatch_revertsOnUnknownCase() public {
        vm.expectRevert(abi.encodeWithSelector(ICollateralManager.CollateralUnknownCase.selector, 1));
        vm.prank(bank);
        manager.clearWatch(1, EVIDENCE);
    }

    function test_clearWatch_revertsWithoutEvidence() public {
        (, uint256 caseId) = _watched();
        vm.expectRevert(ICollateralManager.CollateralMissingEvidence.selector);
        vm.prank(bank);
        manager.clearWatch(caseId, bytes32(0));
    }
}
