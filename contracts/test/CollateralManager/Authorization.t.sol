// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {CollateralManagerTestBase} from "./CollateralManagerTestBase.sol";
import {ICollateralManager} from "../../src/interfaces/ICollateralManager.sol";
import {Roles} from "../../src/libraries/Roles.sol";

/// @notice Who may call what: every entry point refuses callers without the required role, other
/// banks or agencies than the case's, suspended and expelled members, and non-governance callers.
contract CollateralManagerAuthorizationTest is CollateralManagerTestBase {
    // ================================================================ constructor and parameters

    function test_setParameters_revertsForNonGovernance() public {
        _assertOnlyGovernance(abi.encodeCall(ICollateralManager.setParameters, (manager.parameters())));
    }

    // ================================================================ setValuationPolicy

    function test_setValuationPolicy_revertsForNonGovernance() public {
        _assertOnlyGovernance(abi.encodeCall(ICollateralManager.setValuationPolicy, (manager.valuationPolicy())));
    }

    // ================================================================ registerLoan

    function test_registerLoan_anyAccountOfTheBankActsForIt() public {
        address second = makeAddr("bank-second-account");
        vm.prank(address(membership));
        membership.addAccount(bankId, second);

        vm.prank(second);
        uint256 loanId = manager.registerLoan(SUBJECT, PRINCIPAL, OUTSTANDING, BASELINE, _terms(), EVIDENCE);
        assertEq(manager.getLoan(loanId).bankMemberId, bankId);
        vm.prank(dmv);
        manager.confirmLien(loanId, EVIDENCE);
        // The first account reports on the loan the second registered.
        _repay(loanId, 5);
        assertEq(manager.getLoan(loanId).daysOverdue, 5);
    }

    function test_registerLoan_revertsForNonBanks() public {
        _assertRefusedWithoutRole(
            abi.encodeCall(
                ICollateralManager.registerLoan, (SUBJECT, PRINCIPAL, OUTSTANDING, BASELINE, _terms(), EVIDENCE)
            ),
            Roles.BANK,
            Roles.BANK
        );
    }

    function test_registerLoan_revertsForSuspendedAndExpelledBank() public {
        _assertRefusedSuspendedAndExpelled(
            abi.encodeCall(
                ICollateralManager.registerLoan, (SUBJECT, PRINCIPAL, OUTSTANDING, BASELINE, _terms(), EVIDENCE)
            ),
            bank,
            bankId,
            Roles.BANK
        );
    }

    // ================================================================ confirmLien

    function test_confirmLien_revertsForNonDmvOracles() public {
        uint256 loanId = _register(SUBJECT);
        _assertRefusedWithoutRole(
            abi.encodeCall(ICollateralManager.confirmLien, (loanId, EVIDENCE)), Roles.DMV_ORACLE, Roles.DMV_ORACLE
        );
    }

    function test_confirmLien_revertsForSuspendedAndExpelledDmvOracle() public {
        uint256 loanId = _register(SUBJECT);
        _assertRefusedSuspendedAndExpelled(
            abi.encodeCall(ICollateralManager.confirmLien, (loanId, EVIDENCE)), dmv, dmvId, Roles.DMV_ORACLE
        );
    }

    // ================================================================ cancelLoan

    function test_cancelLoan_revertsForNonBanks() public {
        uint256 loanId = _register(SUBJECT);
        _assertRefusedWithoutRole(
            abi.encodeCall(ICollateralManager.cancelLoan, (loanId, EVIDENCE)), Roles.BANK, Roles.BANK
        );
    }

    function test_cancelLoan_revertsForAnotherBank() public {
        uint256 loanId = _register(SUBJECT);
        vm.expectRevert(abi.encodeWithSelector(ICollateralManager.CollateralNotLoanBank.selector, loanId, otherBank));
        vm.prank(otherBank);
        manager.cancelLoan(loanId, EVIDENCE);
    }

    function test_cancelLoan_revertsForSuspendedAndExpelledBank() public {
        uint256 loanId = _register(SUBJECT);
        _assertRefusedSuspendedAndExpelled(
            abi.encodeCall(ICollateralManager.cancelLoan, (loanId, EVIDENCE)), bank, bankId, Roles.BANK
        );
    }

    // ================================================================ reportRepayment

    function test_reportRepayment_revertsForNonBanks() public {
        uint256 loanId = _registerActive(SUBJECT);
        _assertRefusedWithoutRole(
            abi.encodeCall(ICollateralManager.reportRepayment, (loanId, 0, OUTSTANDING, EVIDENCE)),
            Roles.BANK,
            Roles.BANK
        );
    }

    function test_reportRepayment_revertsForAnotherBank() public {
        uint256 loanId = _registerActive(SUBJECT);
        vm.expectRevert(abi.encodeWithSelector(ICollateralManager.CollateralNotLoanBank.selector, loanId, otherBank));
        vm.prank(otherBank);
        manager.reportRepayment(loanId, 0, OUTSTANDING, EVIDENCE);
    }

    function test_reportRepayment_revertsForSuspendedAndExpelledBank() public {
        uint256 loanId = _registerActive(SUBJECT);
        _assertRefusedSuspendedAndExpelled(
            abi.encodeCall(ICollateralManager.reportRepayment, (loanId, 0, OUTSTANDING, EVIDENCE)),
            bank,
            bankId,
            Roles.BANK
        );
    }

    // ================================================================ reportValuation

    function test_reportValuation_revertsForNonPriceOracles() public {
        _registerActive(SUBJECT);
        _assertRefusedWithoutRole(
            abi.encodeCall(ICollateralManager.reportValuation, (SUBJECT, 900_000, EVIDENCE)),
            Roles.PRICE_ORACLE,
            Roles.PRICE_ORACLE
        );
    }

    function test_reportValuation_revertsForSuspendedAndExpelledPriceOracle() public {
        _registerActive(SUBJECT);
        _assertRefusedSuspendedAndExpelled(
            abi.encodeCall(ICollateralManager.reportValuation, (SUBJECT, 900_000, EVIDENCE)),
            priceOracle,
            priceOracleId,
            Roles.PRICE_ORACLE
        );
    }

    // ================================================================ reportTelematicsAlert

    function test_reportTelematicsAlert_revertsForNonTelematicsOracles() public {
        _registerActive(SUBJECT);
        _assertRefusedWithoutRole(
            abi.encodeCall(
                ICollateralManager.reportTelematicsAlert, (SUBJECT, 1, ICollateralManager.Severity.High, EVIDENCE)
            ),
            Roles.TELEMATICS_ORACLE,
            Roles.TELEMATICS_ORACLE
        );
    }

    function test_reportTelematicsAlert_revertsForSuspendedAndExpelledOracle() public {
        _registerActive(SUBJECT);
        _assertRefusedSuspendedAndExpelled(
            abi.encodeCall(
                ICollateralManager.reportTelematicsAlert, (SUBJECT, 1, ICollateralManager.Severity.High, EVIDENCE)
            ),
            telematics,
            telematicsId,
            Roles.TELEMATICS_ORACLE
        );
    }

    // ================================================================ reportDmvEvent

    function test_reportDmvEvent_revertsForNonDmvOracles() public {
        _registerActive(SUBJECT);
        _assertRefusedWithoutRole(
            abi.encodeCall(
                ICollateralManager.reportDmvEvent, (SUBJECT, ICollateralManager.DmvEventKind.Seizure, EVIDENCE)
            ),
            Roles.DMV_ORACLE,
            Roles.DMV_ORACLE
        );
    }

    function test_reportDmvEvent_revertsForSuspendedAndExpelledDmvOracle() public {
        _registerActive(SUBJECT);
        _assertRefusedSuspendedAndExpelled(
            abi.encodeCall(
                ICollateralManager.reportDmvEvent, (SUBJECT, ICollateralManager.DmvEventKind.Seizure, EVIDENCE)
            ),
            dmv,
            dmvId,
            Roles.DMV_ORACLE
        );
    }

    // ================================================================ reportRiskWarning

    function test_reportRiskWarning_revertsForRolesGovernanceDidNotName() public {
        _registerActive(SUBJECT);
        _assertRefusedWithoutRole(
            abi.encodeCall(ICollateralManager.reportRiskWarning, (SUBJECT, 100, EVIDENCE)), Roles.INSURER, Roles.INSURER
        );
    }

    function test_reportRiskWarning_revertsForEveryoneWhenNoRoleIsNamed() public {
        _registerActive(SUBJECT);
        ICollateralManager.Parameters memory params = manager.parameters();
        params.riskReporterRoles = 0;
        vm.prank(address(membership));
        manager.setParameters(params);
        vm.expectRevert(abi.encodeWithSelector(ICollateralManager.CollateralUnauthorizedAccount.selector, insurer, 0));
        vm.prank(insurer);
        manager.reportRiskWarning(SUBJECT, 100, EVIDENCE);
    }

    function test_reportRiskWarning_revertsForSuspendedAndExpelledReporter() public {
        _registerActive(SUBJECT);
        _assertRefusedSuspendedAndExpelled(
            abi.encodeCall(ICollateralManager.reportRiskWarning, (SUBJECT, 100, EVIDENCE)),
            insurer,
            insurerId,
            Roles.INSURER
        );
    }

    // ================================================================ clearWatch

    function test_clearWatch_revertsForNonBanks() public {
        (, uint256 caseId) = _watched();
        _assertRefusedWithoutRole(
            abi.encodeCall(ICollateralManager.clearWatch, (caseId, EVIDENCE)), Roles.BANK, Roles.BANK
        );
    }

    function test_clearWatch_revertsForAnotherBank() public {
        (uint256 loanId, uint256 caseId) = _watched();
        vm.expectRevert(abi.encodeWithSelector(ICollateralManager.CollateralNotLoanBank.selector, loanId, otherBank));
        vm.prank(otherBank);
        manager.clearWatch(caseId, EVIDENCE);
    }

    function test_clearWatch_revertsForSuspendedAndExpelledBank() public {
        (, uint256 caseId) = _watched();
        _assertRefusedSuspendedAndExpelled(
            abi.encodeCall(ICollateralManager.clearWatch, (caseId, EVIDENCE)), bank, bankId, Roles.BANK
        );
    }

    // ================================================================ orderRepossession

    function test_orderRepossession_revertsForNonBanks() public {
        (, uint256 caseId) = _triggeredByOverdue();
        vm.warp(block.timestamp + CURE_PERIOD + 1);
        _assertRefusedWithoutRole(
            abi.encodeCall(ICollateralManager.orderRepossession, (caseId, agencyId, EVIDENCE)), Roles.BANK, Roles.BANK
        );
    }

    function test_orderRepossession_revertsForAnotherBank() public {
        (uint256 loanId, uint256 caseId) = _triggeredByOverdue();
        vm.warp(block.timestamp + CURE_PERIOD + 1);
        vm.expectRevert(abi.encodeWithSelector(ICollateralManager.CollateralNotLoanBank.selector, loanId, otherBank));
        vm.prank(otherBank);
        manager.orderRepossession(caseId, agencyId, EVIDENCE);
    }

    function test_orderRepossession_revertsForSuspendedAndExpelledBank() public {
        (, uint256 caseId) = _triggeredByOverdue();
        vm.warp(block.timestamp + CURE_PERIOD + 1);
        _assertRefusedSuspendedAndExpelled(
            abi.encodeCall(ICollateralManager.orderRepossession, (caseId, agencyId, EVIDENCE)), bank, bankId, Roles.BANK
        );
    }

    // ================================================================ agency steps

    function test_recordRepossession_revertsForNonAgencies() public {
        (, uint256 caseId) = _ordered();
        _assertRefusedWithoutRole(
            abi.encodeCall(ICollateralManager.recordRepossession, (caseId, EVIDENCE)),
            Roles.DISPOSAL_AGENCY,
            Roles.DISPOSAL_AGENCY
        );
    }

    function test_recordAppraisal_revertsForNonAgencies() public {
        (, uint256 caseId) = _repossessed();
        _assertRefusedWithoutRole(
            abi.encodeCall(ICollateralManager.recordAppraisal, (caseId, 1, EVIDENCE)),
            Roles.DISPOSAL_AGENCY,
            Roles.DISPOSAL_AGENCY
        );
    }

    function test_recordAuction_revertsForNonAgencies() public {
        (, uint256 caseId) = _appraised();
        _assertRefusedWithoutRole(
            abi.encodeCall(ICollateralManager.recordAuction, (caseId, 1, EVIDENCE)),
            Roles.DISPOSAL_AGENCY,
            Roles.DISPOSAL_AGENCY
        );
    }

    function test_recordSettlement_revertsForNonAgencies() public {
        (, uint256 caseId) = _auctioned();
        _assertRefusedWithoutRole(
            abi.encodeCall(ICollateralManager.recordSettlement, (caseId, EVIDENCE)),
            Roles.DISPOSAL_AGENCY,
            Roles.DISPOSAL_AGENCY
        );
    }

    function test_agencySteps_revertForAnAgencyThatIsNotAssigned() public {
        bytes memory err;
        (, uint256 caseId) = _ordered();
        err = abi.encodeWithSelector(ICollateralManager.DisposalNotAssignedAgency.selector, caseId, otherAgency);
        _expectRevertFrom(otherAgency, abi.encodeCall(ICollateralManager.recordRepossession, (caseId, EVIDENCE)), err);
        vm.prank(agency);
        manager.recordRepossession(caseId, EVIDENCE);
        _expectRevertFrom(otherAgency, abi.encodeCall(ICollateralManager.recordAppraisal, (caseId, 1, EVIDENCE)), err);
        vm.prank(agency);
        manager.recordAppraisal(caseId, 1, EVIDENCE);
        _expectRevertFrom(otherAgency, abi.encodeCall(ICollateralManager.recordAuction, (caseId, 1, EVIDENCE)), err);
        vm.prank(agency);
        manager.recordAuction(caseId, 1, EVIDENCE);
        _expectRevertFrom(otherAgency, abi.encodeCall(ICollateralManager.recordSettlement, (caseId, EVIDENCE)), err);
    }

    function test_recordRepossession_revertsForSuspendedAndExpelledAgency() public {
        (, uint256 caseId) = _ordered();
        _assertRefusedSuspendedAndExpelled(
            abi.encodeCall(ICollateralManager.recordRepossession, (caseId, EVIDENCE)),
            agency,
            agencyId,
            Roles.DISPOSAL_AGENCY
        );
    }

    function test_recordAppraisal_revertsForSuspendedAndExpelledAgency() public {
        (, uint256 caseId) = _repossessed();
        _assertRefusedSuspendedAndExpelled(
            abi.encodeCall(ICollateralManager.recordAppraisal, (caseId, 1, EVIDENCE)),
            agency,
            agencyId,
            Roles.DISPOSAL_AGENCY
        );
    }

    function test_recordAuction_revertsForSuspendedAndExpelledAgency() public {
        (, uint256 caseId) = _appraised();
        _assertRefusedSuspendedAndExpelled(
            abi.encodeCall(ICollateralManager.recordAuction, (caseId, 1, EVIDENCE)),
            agency,
            agencyId,
            Roles.DISPOSAL_AGENCY
        );
    }

    function test_recordSettlement_revertsForSuspendedAndExpelledAgency() public {
        (, uint256 caseId) = _auctioned();
        _assertRefusedSuspendedAndExpelled(
            abi.encodeCall(ICollateralManager.recordSettlement, (caseId, EVIDENCE)),
            agency,
            agencyId,
            Roles.DISPOSAL_AGENCY
        );
    }

    // ================================================================ escalate and reassignAgency

    function test_reassignAgency_revertsForNonBanks() public {
        (, uint256 caseId) = _ordered();
        vm.warp(block.timestamp + STEP_DEADLINE + 1);
        manager.escalate(caseId);
        _assertRefusedWithoutRole(
            abi.encodeCall(ICollateralManager.reassignAgency, (caseId, otherAgencyId, EVIDENCE)), Roles.BANK, Roles.BANK
        );
    }

    function test_reassignAgency_revertsForAnotherBank() public {
        (uint256 loanId, uint256 caseId) = _ordered();
        vm.warp(block.timestamp + STEP_DEADLINE + 1);
        manager.escalate(caseId);
        vm.expectRevert(abi.encodeWithSelector(ICollateralManager.CollateralNotLoanBank.selector, loanId, otherBank));
        vm.prank(otherBank);
        manager.reassignAgency(caseId, otherAgencyId, EVIDENCE);
    }

    function test_reassignAgency_revertsForSuspendedAndExpelledBank() public {
        (, uint256 caseId) = _ordered();
        vm.warp(block.timestamp + STEP_DEADLINE + 1);
        manager.escalate(caseId);
        _assertRefusedSuspendedAndExpelled(
            abi.encodeCall(ICollateralManager.reassignAgency, (caseId, otherAgencyId, EVIDENCE)),
            bank,
            bankId,
            Roles.BANK
        );
    }

    // ================================================================ freezeCase and resolveFreeze

    function test_freezeCase_revertsForNonParties() public {
        (, uint256 caseId) = _ordered();
        uint256 parties = Roles.BANK | Roles.DISPOSAL_AGENCY;
        _assertRefusedWithoutRole(abi.encodeCall(ICollateralManager.freezeCase, (caseId, EVIDENCE)), parties, parties);
        _expectRevertFrom(
            otherBank,
            abi.encodeCall(ICollateralManager.freezeCase, (caseId, EVIDENCE)),
            abi.encodeWithSelector(ICollateralManager.CollateralNotCaseParty.selector, caseId, otherBank)
        );
        _expectRevertFrom(
            otherAgency,
            abi.encodeCall(ICollateralManager.freezeCase, (caseId, EVIDENCE)),
            abi.encodeWithSelector(ICollateralManager.CollateralNotCaseParty.selector, caseId, otherAgency)
        );
    }

    function test_freezeCase_revertsForAgencyBeforeAssignment() public {
        (, uint256 caseId) = _triggeredByOverdue();
        vm.expectRevert(abi.encodeWithSelector(ICollateralManager.CollateralNotCaseParty.selector, caseId, agency));
        vm.prank(agency);
        manager.freezeCase(caseId, EVIDENCE);
    }

    function test_freezeCase_revertsForSuspendedAndExpelledBank() public {
        (, uint256 caseId) = _ordered();
        _assertRefusedSuspendedAndExpelled(
            abi.encodeCall(ICollateralManager.freezeCase, (caseId, EVIDENCE)),
            bank,
            bankId,
            Roles.BANK | Roles.DISPOSAL_AGENCY
        );
    }

    function test_freezeCase_revertsForSuspendedAndExpelledAgency() public {
        (, uint256 caseId) = _ordered();
        _assertRefusedSuspendedAndExpelled(
            abi.encodeCall(ICollateralManager.freezeCase, (caseId, EVIDENCE)),
            agency,
            agencyId,
            Roles.BANK | Roles.DISPOSAL_AGENCY
        );
    }

    function test_resolveFreeze_revertsForNonGovernance() public {
        (, uint256 caseId) = _ordered();
        vm.prank(bank);
        manager.freezeCase(caseId, EVIDENCE);
        _assertOnlyGovernance(abi.encodeCall(ICollateralManager.resolveFreeze, (caseId, true, EVIDENCE)));
    }
}
