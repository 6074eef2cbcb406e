// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {CollateralTestBase} from "./utils/CollateralTestBase.sol";
import {CollateralManager} from "../src/CollateralManager.sol";
import {ICollateralManager} from "../src/interfaces/ICollateralManager.sol";
import {IMembership} from "../src/interfaces/IMembership.sol";
import {Roles} from "../src/libraries/Roles.sol";
import {Vm} from "forge-std/Vm.sol";

contract CollateralManagerTest is CollateralTestBase {
    // ================================================================ constructor and parameters

    function test_constructor_revertsOnZeroMembership() public {
        vm.expectRevert(ICollateralManager.CollateralInvalidMembership.selector);
        new CollateralManager(IMembership(address(0)));
    }

    function test_constructor_setsMembershipAndDefaults() public {
        ICollateralManager.Parameters memory expected = ICollateralManager.Parameters({
            defaultValueMoveBps: 800,
            riskWatchScore: 4000,
            minCurePeriod: 3 days,
            minStepDeadline: 1 days,
            riskReporterRoles: 0
        });
        ICollateralManager.ValuationPolicy memory policy =
            ICollateralManager.ValuationPolicy({quorum: 1, maxAge: 7 days});
        vm.expectEmit();
        emit ICollateralManager.ParametersChanged(expected);
        vm.expectEmit();
        emit ICollateralManager.ValuationPolicyChanged(policy);
        CollateralManager fresh = new CollateralManager(membership);

        assertEq(fresh.membership(), address(membership));
        assertEq(abi.encode(fresh.parameters()), abi.encode(expected));
        assertEq(abi.encode(fresh.valuationPolicy()), abi.encode(policy));
        assertEq(fresh.MAX_VALUATION_REPORTERS(), 15);
        assertEq(fresh.loanCount(), 0);
        assertEq(fresh.caseCount(), 0);
    }

    function test_setParameters_byGovernance_updatesAndEmits() public {
        ICollateralManager.Parameters memory params = ICollateralManager.Parameters({
            defaultValueMoveBps: 500,
            riskWatchScore: 2500,
            minCurePeriod: 7 days,
            minStepDeadline: 2 days,
            riskReporterRoles: Roles.INSURER | Roles.PRICE_ORACLE
        });
        vm.expectEmit(address(manager));
        emit ICollateralManager.ParametersChanged(params);
        vm.prank(address(membership));
        manager.setParameters(params);
        assertEq(abi.encode(manager.parameters()), abi.encode(params));
    }

    function test_setParameters_throughProposalAndVote() public {
        ICollateralManager.Parameters memory params = manager.parameters();
        params.defaultValueMoveBps = 1000;
        address[] memory targets = new address[](1);
        targets[0] = address(manager);
        bytes[] memory calldatas = new bytes[](1);
        calldatas[0] = abi.encodeCall(ICollateralManager.setParameters, (params));

        _passProposal(targets, calldatas);

        assertEq(manager.parameters().defaultValueMoveBps, 1000);
    }

    function test_setParameters_revertsForNonGovernance() public {
        _assertOnlyGovernance(abi.encodeCall(ICollateralManager.setParameters, (manager.parameters())));
    }

    function test_setParameters_revertsOnInvalidParameters() public {
        ICollateralManager.Parameters memory valid = manager.parameters();
        ICollateralManager.Parameters[] memory bad = new ICollateralManager.Parameters[](5);
        for (uint256 i = 0; i < bad.length; ++i) {
            bad[i] = ICollateralManager.Parameters(
                valid.defaultValueMoveBps,
                valid.riskWatchScore,
                valid.minCurePeriod,
                valid.minStepDeadline,
                valid.riskReporterRoles
            );
        }
        bad[0].defaultValueMoveBps = 0;
        bad[1].defaultValueMoveBps = 10_001;
        bad[2].riskWatchScore = 10_001;
        bad[3].minStepDeadline = 0;
        bad[4].riskReporterRoles = Roles.ALL + 1;
        for (uint256 i = 0; i < bad.length; ++i) {
            vm.expectRevert(abi.encodeWithSelector(ICollateralManager.CollateralInvalidParameters.selector, bad[i]));
            vm.prank(address(membership));
            manager.setParameters(bad[i]);
        }
    }

    function test_setParameters_acceptsBounds() public {
        ICollateralManager.Parameters memory params = ICollateralManager.Parameters({
            defaultValueMoveBps: 10_000,
            riskWatchScore: 10_000,
            minCurePeriod: 0,
            minStepDeadline: 1,
            riskReporterRoles: Roles.ALL
        });
        vm.prank(address(membership));
        manager.setParameters(params);
        assertEq(abi.encode(manager.parameters()), abi.encode(params));
    }

    function test_setParameters_newDefaultAppliesToLoansWithoutOwnThreshold() public {
        uint256 followsDefault = _registerActive(SUBJECT);
        ICollateralManager.LoanTerms memory own = _terms();
        own.valueMoveBps = 800;
        uint256 ownThreshold = _registerWith(OTHER_SUBJECT, OUTSTANDING, BASELINE, own);
        assertEq(manager.valueMoveBpsOf(followsDefault), 800);

        ICollateralManager.Parameters memory params = manager.parameters();
        params.defaultValueMoveBps = 1000;
        vm.prank(address(membership));
        manager.setParameters(params);

        assertEq(manager.valueMoveBpsOf(followsDefault), 1000);
        assertEq(manager.valueMoveBpsOf(ownThreshold), 800);
        // A 9% drop: within the new default of 10%, beyond the loan's own 8%.
        _value(SUBJECT, 910_000);
        _value(OTHER_SUBJECT, 910_000);
        assertEq(_caseOf(followsDefault), 0);
        assertEq(uint8(_stateOf(_caseOf(ownThreshold))), uint8(ICollateralManager.CaseState.Triggered));
    }

    function test_setParameters_minimumsBindNewLoansOnly() public {
        uint256 loanId = _registerActive(SUBJECT);
        ICollateralManager.Parameters memory params = manager.parameters();
        params.minCurePeriod = 30 days;
        vm.prank(address(membership));
        manager.setParameters(params);

        assertEq(manager.getLoan(loanId).terms.curePeriod, CURE_PERIOD);
        vm.expectRevert(abi.encodeWithSelector(ICollateralManager.CollateralInvalidTerms.selector, _terms()));
        vm.prank(bank);
        manager.registerLoan(OTHER_SUBJECT, PRINCIPAL, OUTSTANDING, BASELINE, _terms(), EVIDENCE);
    }

    // ================================================================ setValuationPolicy

    function test_setValuationPolicy_byGovernance_updatesAndEmits() public {
        ICollateralManager.ValuationPolicy memory policy =
            ICollateralManager.ValuationPolicy({quorum: 3, maxAge: 2 days});
        vm.expectEmit(address(manager));
        emit ICollateralManager.ValuationPolicyChanged(policy);
        vm.prank(address(membership));
        manager.setValuationPolicy(policy);
        assertEq(abi.encode(manager.valuationPolicy()), abi.encode(policy));
    }

    function test_setValuationPolicy_throughProposalAndVote() public {
        ICollateralManager.ValuationPolicy memory policy =
            ICollateralManager.ValuationPolicy({quorum: 2, maxAge: 1 days});
        address[] memory targets = new address[](1);
        targets[0] = address(manager);
        bytes[] memory calldatas = new bytes[](1);
        calldatas[0] = abi.encodeCall(ICollateralManager.setValuationPolicy, (policy));

        _passProposal(targets, calldatas);

        assertEq(abi.encode(manager.valuationPolicy()), abi.encode(policy));
    }

    function test_setValuationPolicy_revertsForNonGovernance() public {
        _assertOnlyGovernance(abi.encodeCall(ICollateralManager.setValuationPolicy, (manager.valuationPolicy())));
    }

    function test_setValuationPolicy_revertsOnInvalidPolicy() public {
        ICollateralManager.ValuationPolicy[] memory bad = new ICollateralManager.ValuationPolicy[](3);
        bad[0] = ICollateralManager.ValuationPolicy({quorum: 0, maxAge: 1 days});
        bad[1] = ICollateralManager.ValuationPolicy({quorum: 16, maxAge: 1 days});
        bad[2] = ICollateralManager.ValuationPolicy({quorum: 1, maxAge: 0});
        for (uint256 i = 0; i < bad.length; ++i) {
            vm.expectRevert(
                abi.encodeWithSelector(ICollateralManager.CollateralInvalidValuationPolicy.selector, bad[i])
            );
            vm.prank(address(membership));
            manager.setValuationPolicy(bad[i]);
        }
    }

    function test_setValuationPolicy_acceptsBounds() public {
        _setValuationPolicy(15, 1);
        assertEq(manager.valuationPolicy().quorum, 15);
        assertEq(manager.valuationPolicy().maxAge, 1);
        _setValuationPolicy(1, type(uint32).max);
        assertEq(manager.valuationPolicy().maxAge, type(uint32).max);
    }

    // ================================================================ registerLoan

    function test_registerLoan_storesLoanWithPendingLien() public {
        vm.expectEmit(address(manager));
        emit ICollateralManager.LoanRegistered(1, SUBJECT, bankId, PRINCIPAL, OUTSTANDING, BASELINE, _terms(), EVIDENCE);
        uint256 loanId = _register(SUBJECT);

        assertEq(loanId, 1);
        assertEq(manager.loanCount(), 1);
        assertEq(manager.activeLoanOf(SUBJECT), 1);
        ICollateralManager.Loan memory loan = manager.getLoan(loanId);
        assertEq(loan.subject, SUBJECT);
        assertEq(loan.principal, PRINCIPAL);
        assertEq(loan.outstanding, OUTSTANDING);
        assertEq(loan.baselineValue, BASELINE);
        assertEq(loan.lastValue, BASELINE);
        assertEq(loan.bankMemberId, bankId);
        assertEq(uint8(loan.lienStatus), uint8(ICollateralManager.LienStatus.Pending));
        assertEq(loan.registeredAt, START);
        assertEq(loan.daysOverdue, 0);
        assertEq(abi.encode(loan.terms), abi.encode(_terms()));
        assertEq(loan.caseId, 0);
    }

    function test_registerLoan_idsAreSequential() public {
        assertEq(_register(SUBJECT), 1);
        assertEq(_register(OTHER_SUBJECT), 2);
        assertEq(manager.loanCount(), 2);
    }

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

    function test_registerLoan_revertsWithoutEvidence() public {
        vm.expectRevert(ICollateralManager.CollateralMissingEvidence.selector);
        vm.prank(bank);
        manager.registerLoan(SUBJECT, PRINCIPAL, OUTSTANDING, BASELINE, _terms(), bytes32(0));
    }

    function test_registerLoan_revertsOnZeroSubject() public {
        vm.expectRevert(abi.encodeWithSelector(ICollateralManager.CollateralInvalidSubject.selector, bytes32(0)));
        vm.prank(bank);
        manager.registerLoan(bytes32(0), PRINCIPAL, OUTSTANDING, BASELINE, _terms(), EVIDENCE);
    }

    function test_registerLoan_revertsWhileAPendingLienExists() public {
        uint256 first = _register(SUBJECT);
        vm.expectRevert(abi.encodeWithSelector(ICollateralManager.CollateralLienExists.selector, SUBJECT, first));
        vm.prank(otherBank);
        manager.registerLoan(SUBJECT, PRINCIPAL, OUTSTANDING, BASELINE, _terms(), EVIDENCE);
    }

    function test_registerLoan_revertsWhileAnActiveLienExists() public {
        uint256 first = _registerActive(SUBJECT);
        vm.expectRevert(abi.encodeWithSelector(ICollateralManager.CollateralLienExists.selector, SUBJECT, first));
        vm.prank(bank);
        manager.registerLoan(SUBJECT, PRINCIPAL, OUTSTANDING, BASELINE, _terms(), EVIDENCE);
    }

    function test_registerLoan_revertsOnInvalidTerms() public {
        ICollateralManager.LoanTerms[] memory bad = new ICollateralManager.LoanTerms[](7);
        for (uint256 i = 0; i < bad.length; ++i) {
            bad[i] = _terms();
        }
        bad[0].watchOverdueDays = MAX_OVERDUE; // watch must stay below the breach limit
        bad[1].maxOverdueDays = 0;
        bad[1].watchOverdueDays = 0;
        bad[2].maxLtvBps = 0;
        bad[3].maxLtvBps = 10_001;
        bad[4].valueMoveBps = 10_001;
        bad[5].curePeriod = 3 days - 1; // below the default minimum cure period
        bad[6].stepDeadline = 1 days - 1; // below the default minimum step deadline
        for (uint256 i = 0; i < bad.length; ++i) {
            vm.expectRevert(abi.encodeWithSelector(ICollateralManager.CollateralInvalidTerms.selector, bad[i]));
            vm.prank(bank);
            manager.registerLoan(SUBJECT, PRINCIPAL, OUTSTANDING, BASELINE, bad[i], EVIDENCE);
        }
    }

    function test_registerLoan_acceptsTermsAtTheirBounds() public {
        ICollateralManager.LoanTerms memory terms = ICollateralManager.LoanTerms({
            maxOverdueDays: 1,
            watchOverdueDays: 0,
            maxLtvBps: 10_000,
            valueMoveBps: 10_000,
            curePeriod: 3 days,
            stepDeadline: 1 days
        });
        vm.prank(bank);
        uint256 loanId = manager.registerLoan(SUBJECT, PRINCIPAL, PRINCIPAL, PRINCIPAL, terms, EVIDENCE);
        assertEq(abi.encode(manager.getLoan(loanId).terms), abi.encode(terms));
    }

    function test_registerLoan_revertsOnInvalidAmounts() public {
        uint128[3][4] memory bad = [
            [uint128(0), 0, BASELINE], // no principal
            [PRINCIPAL, OUTSTANDING, 0], // no baseline value
            [PRINCIPAL, PRINCIPAL + 1, BASELINE], // outstanding above principal
            [PRINCIPAL, 800_001, BASELINE] // loan-to-value above 80% at registration
        ];
        for (uint256 i = 0; i < bad.length; ++i) {
            vm.expectRevert(
                abi.encodeWithSelector(
                    ICollateralManager.CollateralInvalidAmounts.selector, bad[i][0], bad[i][1], bad[i][2]
                )
            );
            vm.prank(bank);
            manager.registerLoan(SUBJECT, bad[i][0], bad[i][1], bad[i][2], _terms(), EVIDENCE);
        }
        // Exactly at the loan-to-value limit is accepted.
        vm.prank(bank);
        manager.registerLoan(SUBJECT, PRINCIPAL, 800_000, BASELINE, _terms(), EVIDENCE);
    }

    // ================================================================ confirmLien

    function test_confirmLien_activatesPendingLien() public {
        uint256 loanId = _register(SUBJECT);
        vm.expectEmit(address(manager));
        emit ICollateralManager.LienStatusChanged(
            loanId, SUBJECT, ICollateralManager.LienStatus.Pending, ICollateralManager.LienStatus.Active, EVIDENCE
        );
        vm.prank(dmv);
        manager.confirmLien(loanId, EVIDENCE);
        assertEq(uint8(manager.getLoan(loanId).lienStatus), uint8(ICollateralManager.LienStatus.Active));
        assertEq(manager.activeLoanOf(SUBJECT), loanId);
    }

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

    function test_confirmLien_revertsOnUnknownLoan() public {
        vm.expectRevert(abi.encodeWithSelector(ICollateralManager.CollateralUnknownLoan.selector, 7));
        vm.prank(dmv);
        manager.confirmLien(7, EVIDENCE);
    }

    function test_confirmLien_revertsWithoutEvidence() public {
        uint256 loanId = _register(SUBJECT);
        vm.expectRevert(ICollateralManager.CollateralMissingEvidence.selector);
        vm.prank(dmv);
        manager.confirmLien(loanId, bytes32(0));
    }

    function test_confirmLien_revertsUnlessPending() public {
        uint256 loanId = _registerActive(SUBJECT);
        vm.expectRevert(
            abi.encodeWithSelector(
                ICollateralManager.CollateralUnexpectedLienStatus.selector, loanId, ICollateralManager.LienStatus.Active
            )
        );
        vm.prank(dmv);
        manager.confirmLien(loanId, EVIDENCE);

        uint256 cancelled = _register(OTHER_SUBJECT);
        vm.prank(bank);
        manager.cancelLoan(cancelled, EVIDENCE);
        vm.expectRevert(
            abi.encodeWithSelector(
                ICollateralManager.CollateralUnexpectedLienStatus.selector,
                cancelled,
                ICollateralManager.LienStatus.Released
            )
        );
        vm.prank(dmv);
        manager.confirmLien(cancelled, EVIDENCE);
    }

    // ================================================================ cancelLoan

    function test_cancelLoan_releasesPendingLienAndFreesSubject() public {
        uint256 loanId = _register(SUBJECT);
        vm.expectEmit(address(manager));
        emit ICollateralManager.LienStatusChanged(
            loanId, SUBJECT, ICollateralManager.LienStatus.Pending, ICollateralManager.LienStatus.Released, EVIDENCE
        );
        vm.prank(bank);
        manager.cancelLoan(loanId, EVIDENCE);

        assertEq(uint8(manager.getLoan(loanId).lienStatus), uint8(ICollateralManager.LienStatus.Released));
        assertEq(manager.activeLoanOf(SUBJECT), 0);
        vm.prank(otherBank);
        uint256 next = manager.registerLoan(SUBJECT, PRINCIPAL, OUTSTANDING, BASELINE, _terms(), EVIDENCE);
        assertEq(manager.activeLoanOf(SUBJECT), next);
    }

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

    function test_cancelLoan_revertsOnUnknownLoan() public {
        vm.expectRevert(abi.encodeWithSelector(ICollateralManager.CollateralUnknownLoan.selector, 3));
        vm.prank(bank);
        manager.cancelLoan(3, EVIDENCE);
    }

    function test_cancelLoan_revertsWithoutEvidence() public {
        uint256 loanId = _register(SUBJECT);
        vm.expectRevert(ICollateralManager.CollateralMissingEvidence.selector);
        vm.prank(bank);
        manager.cancelLoan(loanId, bytes32(0));
    }

    function test_cancelLoan_revertsOnceLienIsActive() public {
        uint256 loanId = _registerActive(SUBJECT);
        vm.expectRevert(
            abi.encodeWithSelector(
                ICollateralManager.CollateralUnexpectedLienStatus.selector, loanId, ICollateralManager.LienStatus.Active
            )
        );
        vm.prank(bank);
        manager.cancelLoan(loanId, EVIDENCE);
    }

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
                ICollateralManager.LienStatus.Pending
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
                ICollateralManager.LienStatus.Released
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
                ICollateralManager.CollateralUnexpectedCaseState.selector, caseId, ICollateralManager.CaseState.Cured
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

    // ================================================================ reportValuation

    /// Flow: value drops 9% -> triggered -> repossession -> appraisal -> auction -> settlement -> lien released ->
    /// a new loan on the same subject works.
    function test_flow_valueDropToSettlementAndNewLoan() public {
        uint256 loanId = _registerActive(SUBJECT);
        vm.expectEmit(address(manager));
        emit ICollateralManager.ValuationReported(loanId, SUBJECT, priceOracleId, 910_000, EVIDENCE);
        vm.expectEmit(address(manager));
        emit ICollateralManager.CaseOpened(1, loanId);
        vm.expectEmit(address(manager));
        emit ICollateralManager.RulesFired(loanId, 1, _bit(ICollateralManager.Cause.ValueDrop));
        vm.expectEmit(address(manager));
        emit ICollateralManager.CaseStateChanged(
            1, ICollateralManager.CaseState.None, ICollateralManager.CaseState.Triggered, EVIDENCE
        );
        _value(SUBJECT, 910_000);
        uint256 caseId = _caseOf(loanId);
        assertEq(manager.getLoan(loanId).lastValue, 910_000);

        uint40 cureEnds = START + CURE_PERIOD;
        assertEq(manager.getCase(caseId).deadline, cureEnds);
        vm.warp(cureEnds + 1);
        bytes32 order = keccak256("order");
        vm.expectEmit(address(manager));
        emit ICollateralManager.CaseStateChanged(
            caseId, ICollateralManager.CaseState.Triggered, ICollateralManager.CaseState.RepossessionOrdered, order
        );
        vm.expectEmit(address(manager));
        emit ICollateralManager.AgencyAssigned(caseId, agencyId, cureEnds + 1 + STEP_DEADLINE, order);
        vm.prank(bank);
        manager.orderRepossession(caseId, agencyId, order);

        vm.warp(block.timestamp + 1 days);
        bytes32 pickup = keccak256("pickup");
        vm.expectEmit(address(manager));
        emit ICollateralManager.CaseStateChanged(
            caseId, ICollateralManager.CaseState.RepossessionOrdered, ICollateralManager.CaseState.Repossessed, pickup
        );
        vm.prank(agency);
        manager.recordRepossession(caseId, pickup);
        assertEq(manager.getCase(caseId).deadline, block.timestamp + STEP_DEADLINE);

        vm.warp(block.timestamp + 2 days);
        bytes32 appraisal = keccak256("appraisal");
        vm.expectEmit(address(manager));
        emit ICollateralManager.CaseStateChanged(
            caseId, ICollateralManager.CaseState.Repossessed, ICollateralManager.CaseState.Appraised, appraisal
        );
        vm.expectEmit(address(manager));
        emit ICollateralManager.AppraisalRecorded(caseId, 880_000);
        vm.prank(agency);
        manager.recordAppraisal(caseId, 880_000, appraisal);

        vm.warp(block.timestamp + 3 days);
        bytes32 auction = keccak256("auction");
        vm.expectEmit(address(manager));
        emit ICollateralManager.CaseStateChanged(
            caseId, ICollateralManager.CaseState.Appraised, ICollateralManager.CaseState.Auctioned, auction
        );
        vm.expectEmit(address(manager));
        emit ICollateralManager.AuctionRecorded(caseId, 870_000);
        vm.prank(agency);
        manager.recordAuction(caseId, 870_000, auction);

        vm.warp(block.timestamp + 1 days);
        bytes32 settlement = keccak256("settlement");
        vm.expectEmit(address(manager));
        emit ICollateralManager.CaseStateChanged(
            caseId, ICollateralManager.CaseState.Auctioned, ICollateralManager.CaseState.Settled, settlement
        );
        vm.expectEmit(address(manager));
        emit ICollateralManager.LienStatusChanged(
            loanId, SUBJECT, ICollateralManager.LienStatus.Active, ICollateralManager.LienStatus.Released, settlement
        );
        vm.prank(agency);
        manager.recordSettlement(caseId, settlement);

        ICollateralManager.Case memory c = manager.getCase(caseId);
        assertEq(uint8(c.state), uint8(ICollateralManager.CaseState.Settled));
        assertEq(c.agencyMemberId, agencyId);
        assertEq(c.appraisedValue, 880_000);
        assertEq(c.salePrice, 870_000);
        assertEq(c.deadline, 0);
        assertEq(uint8(manager.getLoan(loanId).lienStatus), uint8(ICollateralManager.LienStatus.Released));
        assertEq(manager.activeLoanOf(SUBJECT), 0);

        // Reports on the subject no longer find a loan.
        vm.expectRevert(abi.encodeWithSelector(ICollateralManager.CollateralNoActiveLoan.selector, SUBJECT));
        vm.prank(priceOracle);
        manager.reportValuation(SUBJECT, 500_000, EVIDENCE);

        // A new loan on the same subject, by another bank, works end to end.
        vm.prank(otherBank);
        uint256 next = manager.registerLoan(SUBJECT, 500_000, 300_000, 870_000, _terms(), EVIDENCE);
        vm.prank(dmv);
        manager.confirmLien(next, EVIDENCE);
        assertEq(manager.activeLoanOf(SUBJECT), next);
        _value(SUBJECT, 700_000); // about 19.5% below the new baseline
        assertEq(uint8(_stateOf(_caseOf(next))), uint8(ICollateralManager.CaseState.Triggered));
        assertEq(uint8(_stateOf(caseId)), uint8(ICollateralManager.CaseState.Settled));
    }

    /// Flow: value rises 9% -> watch only.
    function test_reportValuation_riseBeyondThresholdIsWatchOnly() public {
        uint256 loanId = _registerActive(SUBJECT);
        _value(SUBJECT, 1_090_000);
        uint256 caseId = _caseOf(loanId);
        assertEq(uint8(_stateOf(caseId)), uint8(ICollateralManager.CaseState.Watch));
        assertEq(manager.getCase(caseId).causes, _bit(ICollateralManager.Cause.ValueRise));
        // Further rises keep it on watch.
        _value(SUBJECT, 2_000_000);
        assertEq(uint8(_stateOf(caseId)), uint8(ICollateralManager.CaseState.Watch));
        assertEq(manager.caseCount(), 1);
    }

    /// Flow: value drops 7.9% -> nothing.
    function test_reportValuation_dropOf790BpsDoesNothing() public {
        uint256 loanId = _registerActive(SUBJECT);
        _value(SUBJECT, 921_000);
        assertEq(_caseOf(loanId), 0);
        assertEq(manager.getLoan(loanId).lastValue, 921_000);
    }

    function test_reportValuation_dropOfExactly800BpsIsNotABreach() public {
        uint256 loanId = _registerActive(SUBJECT);
        _value(SUBJECT, 920_000);
        assertEq(_caseOf(loanId), 0);
    }

    function test_reportValuation_dropOf801BpsIsABreach() public {
        uint256 loanId = _registerActive(SUBJECT);
        _value(SUBJECT, 919_900);
        assertEq(uint8(_stateOf(_caseOf(loanId))), uint8(ICollateralManager.CaseState.Triggered));
    }

    function test_reportValuation_dropOneUnitBeyond800BpsIsABreach() public {
        uint256 loanId = _registerActive(SUBJECT);
        _value(SUBJECT, 919_999); // 800.01 bps: past the threshold without rounding
        assertEq(uint8(_stateOf(_caseOf(loanId))), uint8(ICollateralManager.CaseState.Triggered));
    }

    function test_reportValuation_riseOfExactly800BpsIsNothingAnd801IsWatch() public {
        uint256 loanId = _registerActive(SUBJECT);
        _value(SUBJECT, 1_080_000);
        assertEq(_caseOf(loanId), 0);
        _value(SUBJECT, 1_080_100);
        assertEq(uint8(_stateOf(_caseOf(loanId))), uint8(ICollateralManager.CaseState.Watch));
    }

    function test_reportValuation_usesTheLoansOwnThreshold() public {
        ICollateralManager.LoanTerms memory terms = _terms();
        terms.valueMoveBps = 500;
        uint256 loanId = _registerWith(SUBJECT, OUTSTANDING, BASELINE, terms);
        _value(SUBJECT, 950_000); // exactly 5%
        assertEq(_caseOf(loanId), 0);
        _value(SUBJECT, 949_999);
        assertEq(uint8(_stateOf(_caseOf(loanId))), uint8(ICollateralManager.CaseState.Triggered));
    }

    function test_reportValuation_loanToValueBreachWithinValueThreshold() public {
        uint256 loanId = _registerWith(SUBJECT, 780_000, BASELINE, _terms());
        _value(SUBJECT, 975_000); // 2.5% drop; 780 000 / 975 000 = exactly 80%
        assertEq(_caseOf(loanId), 0);
        _value(SUBJECT, 974_999);
        uint256 caseId = _caseOf(loanId);
        assertEq(uint8(_stateOf(caseId)), uint8(ICollateralManager.CaseState.Triggered));
        assertEq(manager.getCase(caseId).causes, _bit(ICollateralManager.Cause.LoanToValue));
    }

    function test_reportValuation_dropAndLoanToValueTogether() public {
        uint256 loanId = _registerActive(SUBJECT);
        _value(SUBJECT, 700_000); // 30% drop, 600 000 / 700 000 = 85.7%
        assertEq(
            manager.getCase(_caseOf(loanId)).causes,
            _bit(ICollateralManager.Cause.ValueDrop) | _bit(ICollateralManager.Cause.LoanToValue)
        );
    }

    function test_reportValuation_zeroValueIsABreach() public {
        uint256 loanId = _registerActive(SUBJECT);
        _value(SUBJECT, 0);
        assertEq(uint8(_stateOf(_caseOf(loanId))), uint8(ICollateralManager.CaseState.Triggered));
    }

    function test_reportValuation_breachOnWatchEscalatesSameCase() public {
        uint256 loanId = _registerActive(SUBJECT);
        _value(SUBJECT, 1_090_000);
        uint256 caseId = _caseOf(loanId);
        vm.warp(START + 2 days);
        _value(SUBJECT, 900_000);
        assertEq(_caseOf(loanId), caseId);
        ICollateralManager.Case memory c = manager.getCase(caseId);
        assertEq(uint8(c.state), uint8(ICollateralManager.CaseState.Triggered));
        assertEq(c.triggeredAt, START + 2 days);
        assertEq(c.causes, _bit(ICollateralManager.Cause.ValueRise) | _bit(ICollateralManager.Cause.ValueDrop));
    }

    function test_reportValuation_furtherBreachKeepsTheCurePeriod() public {
        uint256 loanId = _registerActive(SUBJECT);
        _value(SUBJECT, 900_000);
        uint256 caseId = _caseOf(loanId);
        uint40 deadline = manager.getCase(caseId).deadline;
        vm.warp(START + 5 days);
        vm.expectEmit(address(manager));
        emit ICollateralManager.RulesFired(loanId, caseId, _bit(ICollateralManager.Cause.ValueDrop));
        _value(SUBJECT, 800_000);
        assertEq(manager.getCase(caseId).deadline, deadline);
        assertEq(manager.caseCount(), 1);
    }

    function test_reportValuation_rulesOnlyRecordCausesDuringDisposal() public {
        (uint256 loanId, uint256 caseId) = _ordered();
        vm.prank(telematics);
        manager.reportTelematicsAlert(SUBJECT, 3, ICollateralManager.Severity.Critical, EVIDENCE);
        _value(SUBJECT, 1_200_000);
        ICollateralManager.Case memory c = manager.getCase(caseId);
        assertEq(uint8(c.state), uint8(ICollateralManager.CaseState.RepossessionOrdered));
        assertEq(
            c.causes,
            _bit(ICollateralManager.Cause.ValueDrop) | _bit(ICollateralManager.Cause.TelematicsBreach)
                | _bit(ICollateralManager.Cause.ValueRise)
        );
        assertEq(_caseOf(loanId), caseId);
        assertEq(manager.caseCount(), 1);
    }

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

    function test_reportValuation_revertsWithoutEvidence() public {
        _registerActive(SUBJECT);
        vm.expectRevert(ICollateralManager.CollateralMissingEvidence.selector);
        vm.prank(priceOracle);
        manager.reportValuation(SUBJECT, 900_000, bytes32(0));
    }

    function test_reportValuation_revertsWithoutActiveLoan() public {
        vm.expectRevert(abi.encodeWithSelector(ICollateralManager.CollateralNoActiveLoan.selector, SUBJECT));
        vm.prank(priceOracle);
        manager.reportValuation(SUBJECT, 900_000, EVIDENCE);
    }

    function test_reportValuation_revertsWhileLienPending() public {
        uint256 loanId = _register(SUBJECT);
        vm.expectRevert(
            abi.encodeWithSelector(
                ICollateralManager.CollateralUnexpectedLienStatus.selector,
                loanId,
                ICollateralManager.LienStatus.Pending
            )
        );
        vm.prank(priceOracle);
        manager.reportValuation(SUBJECT, 900_000, EVIDENCE);
    }

    // ================================================================ valuation aggregation

    /// The default policy (quorum 1): every report is its own median and is published at once.
    function test_reportValuation_defaultQuorumPublishesEveryReport() public {
        uint256 loanId = _registerActive(SUBJECT);
        bytes32 evidence = keccak256("appraisal");
        vm.expectEmit(address(manager));
        emit ICollateralManager.ValuationReported(loanId, SUBJECT, priceOracleId, 950_000, evidence);
        vm.expectEmit(address(manager));
        emit ICollateralManager.ValuationAggregated(loanId, SUBJECT, 950_000, 1, evidence);
        vm.prank(priceOracle);
        manager.reportValuation(SUBJECT, 950_000, evidence);

        ICollateralManager.Loan memory loan = manager.getLoan(loanId);
        assertEq(loan.lastValue, 950_000);
        assertEq(loan.lastValuedAt, START);
        (uint128 value, uint40 updatedAt) = manager.valuationOf(SUBJECT);
        assertEq(value, 950_000);
        assertEq(updatedAt, START);
    }

    /// Below the quorum a report is recorded (and emitted) only: no median, no rule, the value stays.
    function test_reportValuation_belowQuorumRecordsOnly() public {
        uint256 loanId = _registerActive(SUBJECT);
        _setValuationPolicy(3, 1 days);
        vm.recordLogs();
        _valueBy(priceOracle, SUBJECT, 500_000); // a 50% drop
        _valueBy(otherPriceOracle, SUBJECT, 500_000);
        (uint256 reports, uint256 aggregations) = _valuationLogs();
        assertEq(reports, 2);
        assertEq(aggregations, 0);

        ICollateralManager.Loan memory loan = manager.getLoan(loanId);
        assertEq(loan.caseId, 0);
        assertEq(loan.lastValue, BASELINE);
        assertEq(loan.lastValuedAt, 0);
        assertEq(manager.caseCount(), 0);
    }

    function test_reportValuation_medianOfAnOddCount() public {
        uint256 loanId = _registerActive(SUBJECT);
        _setValuationPolicy(3, 1 days);
        _valueBy(priceOracle, SUBJECT, 900_000);
        _valueBy(otherPriceOracle, SUBJECT, 1_010_000);
        vm.expectEmit(address(manager));
        emit ICollateralManager.ValuationAggregated(loanId, SUBJECT, 950_000, 3, EVIDENCE);
        _valueBy(thirdPriceOracle, SUBJECT, 950_000);
        assertEq(manager.getLoan(loanId).lastValue, 950_000);
        assertEq(_caseOf(loanId), 0);
    }

    /// With an even count the median is the mean of the two middle values, rounded down.
    function test_reportValuation_medianOfAnEvenCountIsTheMeanRoundedDown() public {
        uint256 loanId = _registerActive(SUBJECT);
        _setValuationPolicy(2, 1 days);
        _valueBy(priceOracle, SUBJECT, 1_000_001);
        vm.expectEmit(address(manager));
        emit ICollateralManager.ValuationAggregated(loanId, SUBJECT, 1_000_000, 2, EVIDENCE);
        _valueBy(otherPriceOracle, SUBJECT, 1_000_000); // mean 1 000 000.5
        assertEq(manager.getLoan(loanId).lastValue, 1_000_000);

        // Four reporters: the two middle values of 930 000, 960 000, 970 000, 1 000 001.
        address fourth = _priceOracles(4)[3];
        _valueBy(thirdPriceOracle, SUBJECT, 930_000);
        _valueBy(otherPriceOracle, SUBJECT, 970_000);
        vm.expectEmit(address(manager));
        emit ICollateralManager.ValuationAggregated(loanId, SUBJECT, 965_000, 4, EVIDENCE);
        _valueBy(fourth, SUBJECT, 960_000);
    }

    /// An observation older than maxAge is not counted; one exactly maxAge old still is.
    function test_reportValuation_staleObservationIsNotCounted() public {
        uint256 loanId = _registerActive(SUBJECT);
        _setValuationPolicy(2, 1 days);
        _valueBy(priceOracle, SUBJECT, 900_000);
        vm.warp(START + 1 days + 1);
        vm.recordLogs();
        _valueBy(otherPriceOracle, SUBJECT, 900_000);
        assertEq(_aggregations(), 0, "a stale observation made the quorum");
        assertEq(manager.getLoan(loanId).lastValuedAt, 0);

        // At exactly maxAge the other's observation is still fresh.
        vm.warp(START + 2 days + 1);
        vm.expectEmit(address(manager));
        emit ICollateralManager.ValuationAggregated(loanId, SUBJECT, 905_000, 2, EVIDENCE);
        _valueBy(priceOracle, SUBJECT, 910_000);
        assertEq(manager.getLoan(loanId).lastValuedAt, START + 2 days + 1);
    }

    /// A member's second report replaces its first: it is counted once, with its latest value.
    function test_reportValuation_secondReportReplacesTheFirst() public {
        uint256 loanId = _registerActive(SUBJECT);
        _setValuationPolicy(2, 1 days);
        vm.recordLogs();
        _valueBy(priceOracle, SUBJECT, 500_000);
        _valueBy(priceOracle, SUBJECT, 990_000);
        assertEq(_aggregations(), 0, "one member made the quorum alone");
        vm.expectEmit(address(manager));
        emit ICollateralManager.ValuationAggregated(loanId, SUBJECT, 995_000, 2, EVIDENCE);
        _valueBy(otherPriceOracle, SUBJECT, 1_000_000);
        assertEq(_caseOf(loanId), 0);
    }

    /// Two accounts of one member are one reporter.
    function test_reportValuation_accountsOfOneMemberAreOneReporter() public {
        _registerActive(SUBJECT);
        _setValuationPolicy(2, 1 days);
        address second = makeAddr("priceOracle-2");
        vm.prank(address(membership));
        membership.addAccount(priceOracleId, second);
        vm.recordLogs();
        _valueBy(priceOracle, SUBJECT, 900_000);
        _valueBy(second, SUBJECT, 900_000);
        assertEq(_aggregations(), 0);
    }

    /// The point of the median: with a quorum of 3, one outlier cannot open a case; a drop beyond 8% does once
    /// the median crosses it.
    function test_reportValuation_oneOutlierCannotTriggerAlone() public {
        uint256 loanId = _registerActive(SUBJECT);
        _setValuationPolicy(3, 1 days);
        _valueBy(priceOracle, SUBJECT, 1_000_000);
        _valueBy(otherPriceOracle, SUBJECT, 990_000);
        _valueBy(thirdPriceOracle, SUBJECT, 500_000); // the outlier: -50%
        assertEq(manager.getLoan(loanId).lastValue, 990_000);
        assertEq(_caseOf(loanId), 0, "one outlier opened a case");

        _valueBy(otherPriceOracle, SUBJECT, 920_000); // median exactly -8%: not beyond
        assertEq(manager.getLoan(loanId).lastValue, 920_000);
        assertEq(_caseOf(loanId), 0);

        vm.expectEmit(address(manager));
        emit ICollateralManager.RulesFired(loanId, 1, _bit(ICollateralManager.Cause.ValueDrop));
        _valueBy(otherPriceOracle, SUBJECT, 910_000); // median -9%
        uint256 caseId = _caseOf(loanId);
        assertEq(uint8(_stateOf(caseId)), uint8(ICollateralManager.CaseState.Triggered));
        assertEq(manager.getCase(caseId).causes, _bit(ICollateralManager.Cause.ValueDrop));
    }

    /// The loan-to-value rule is judged on the median too.
    function test_reportValuation_loanToValueJudgedOnTheMedian() public {
        uint256 loanId = _registerWith(SUBJECT, 780_000, BASELINE, _terms());
        _setValuationPolicy(3, 1 days);
        _valueBy(priceOracle, SUBJECT, 975_000);
        _valueBy(otherPriceOracle, SUBJECT, 900_000); // alone, 780 000 / 900 000 = 86.7%
        _valueBy(thirdPriceOracle, SUBJECT, 990_000);
        assertEq(_caseOf(loanId), 0); // median 975 000: exactly 80%
        _valueBy(priceOracle, SUBJECT, 974_999);
        assertEq(manager.getCase(_caseOf(loanId)).causes, _bit(ICollateralManager.Cause.LoanToValue));
    }

    /// A sixteenth member takes the place of the stalest observation; the loan never remembers more than 15.
    function test_reportValuation_beyondMaxReportersReplacesTheStalest() public {
        uint256 loanId = _registerActive(SUBJECT);
        _setValuationPolicy(15, 30 days);
        address[] memory oracles = _priceOracles(16);
        vm.recordLogs();
        for (uint128 i = 0; i < 14; ++i) {
            vm.warp(START + i);
            _valueBy(oracles[i], SUBJECT, 1_000_000 + i);
        }
        assertEq(_aggregations(), 0);
        vm.warp(START + 14);
        vm.expectEmit(address(manager));
        emit ICollateralManager.ValuationAggregated(loanId, SUBJECT, 1_000_007, 15, EVIDENCE);
        _valueBy(oracles[14], SUBJECT, 1_000_014); // values 1 000 000 .. 1 000 014
        // The sixteenth replaces oracle 0 (the stalest, 1 000 000): values 1 000 001 .. 1 000 015.
        vm.warp(START + 15);
        vm.expectEmit(address(manager));
        emit ICollateralManager.ValuationAggregated(loanId, SUBJECT, 1_000_008, 15, EVIDENCE);
        _valueBy(oracles[15], SUBJECT, 1_000_015);
        // Oracle 0 comes back and replaces oracle 1 (now the stalest, 1 000 001): 1 000 002 .. 1 000 015 and 0.
        vm.warp(START + 16);
        vm.expectEmit(address(manager));
        emit ICollateralManager.ValuationAggregated(loanId, SUBJECT, 1_000_008, 15, EVIDENCE);
        _valueBy(oracles[0], SUBJECT, 0);
    }

    /// Full, and the stalest observation is stale too: it is the one replaced, and it was not counted anyway.
    function test_reportValuation_beyondMaxReportersReplacesAStaleObservation() public {
        uint256 loanId = _registerActive(SUBJECT);
        _setValuationPolicy(14, 1 days);
        address[] memory oracles = _priceOracles(16);
        _valueBy(oracles[0], SUBJECT, 1);
        vm.warp(START + 2 days);
        for (uint256 i = 1; i < 15; ++i) {
            _valueBy(oracles[i], SUBJECT, 1_000_000);
        }
        assertEq(manager.getLoan(loanId).lastValue, 1_000_000);
        vm.expectEmit(address(manager));
        emit ICollateralManager.ValuationAggregated(loanId, SUBJECT, 1_000_000, 15, EVIDENCE);
        _valueBy(oracles[15], SUBJECT, 1_000_000);
    }

    /// A new loan on the same subject starts without observations or a published value.
    function test_reportValuation_newLoanStartsWithoutObservations() public {
        _registerActive(SUBJECT);
        _setValuationPolicy(2, 1 days);
        _valueBy(priceOracle, SUBJECT, 990_000);
        _valueBy(otherPriceOracle, SUBJECT, 990_000);
        vm.prank(dmv);
        manager.reportDmvEvent(SUBJECT, ICollateralManager.DmvEventKind.LienReleased, EVIDENCE);

        uint256 next = _registerActive(SUBJECT);
        vm.expectRevert(abi.encodeWithSelector(ICollateralManager.CollateralStaleValuation.selector, SUBJECT, 0));
        manager.valuationOf(SUBJECT);
        vm.recordLogs();
        _valueBy(priceOracle, SUBJECT, 990_000);
        assertEq(_aggregations(), 0, "the old loan's observation counted");
        assertEq(manager.getLoan(next).lastValuedAt, 0);
    }

    // ================================================================ valuationOf

    function test_valuationOf_revertsWhenNeverPublished() public {
        _registerActive(SUBJECT);
        vm.expectRevert(abi.encodeWithSelector(ICollateralManager.CollateralStaleValuation.selector, SUBJECT, 0));
        manager.valuationOf(SUBJECT);
        // Below the quorum nothing is published either.
        _setValuationPolicy(2, 1 days);
        _value(SUBJECT, 990_000);
        vm.expectRevert(abi.encodeWithSelector(ICollateralManager.CollateralStaleValuation.selector, SUBJECT, 0));
        manager.valuationOf(SUBJECT);
    }

    function test_valuationOf_servesUntilMaxAgeThenRevertsAsStale() public {
        _registerActive(SUBJECT);
        _value(SUBJECT, 990_000);
        vm.warp(START + 7 days);
        (uint128 value, uint40 updatedAt) = manager.valuationOf(SUBJECT);
        assertEq(value, 990_000);
        assertEq(updatedAt, START);
        vm.warp(START + 7 days + 1);
        vm.expectRevert(abi.encodeWithSelector(ICollateralManager.CollateralStaleValuation.selector, SUBJECT, START));
        manager.valuationOf(SUBJECT);
    }

    function test_valuationOf_followsTheCurrentMaxAge() public {
        _registerActive(SUBJECT);
        _value(SUBJECT, 990_000);
        vm.warp(START + 2 hours);
        manager.valuationOf(SUBJECT);
        _setValuationPolicy(1, 1 hours);
        vm.expectRevert(abi.encodeWithSelector(ICollateralManager.CollateralStaleValuation.selector, SUBJECT, START));
        manager.valuationOf(SUBJECT);
    }

    function test_valuationOf_revertsWithoutActiveLoan() public {
        vm.expectRevert(abi.encodeWithSelector(ICollateralManager.CollateralNoActiveLoan.selector, SUBJECT));
        manager.valuationOf(SUBJECT);
        // A pending lien has a loan but no valuation yet.
        _register(SUBJECT);
        vm.expectRevert(abi.encodeWithSelector(ICollateralManager.CollateralStaleValuation.selector, SUBJECT, 0));
        manager.valuationOf(SUBJECT);
    }

    // ---------------------------------------------------------------- valuation helpers

    /// @dev `n` price oracle accounts of distinct members: the fixture's three, then further ones (admitted on
    /// first use).
    function _priceOracles(uint256 n) internal returns (address[] memory oracles) {
        oracles = new address[](n);
        for (uint256 i = 0; i < n; ++i) {
            if (i == 0) {
                oracles[i] = priceOracle;
            } else if (i == 1) {
                oracles[i] = otherPriceOracle;
            } else if (i == 2) {
                oracles[i] = thirdPriceOracle;
            } else {
                string memory name = string.concat("priceOracle-member-", vm.toString(i));
                oracles[i] = makeAddr(name);
                if (membership.memberOf(oracles[i]) == 0) _admit(name, Roles.PRICE_ORACLE);
            }
        }
    }

    /// @dev How many `ValuationAggregated` the manager emitted since `vm.recordLogs()` (consumes the record).
    function _aggregations() internal returns (uint256 aggregations) {
        (, aggregations) = _valuationLogs();
    }

    /// @dev How many `ValuationReported` and `ValuationAggregated` the manager emitted since `vm.recordLogs()`
    /// (consumes the record).
    function _valuationLogs() internal returns (uint256 reports, uint256 aggregations) {
        Vm.Log[] memory logs = vm.getRecordedLogs();
        for (uint256 i = 0; i < logs.length; ++i) {
            if (logs[i].emitter != address(manager)) continue;
            if (logs[i].topics[0] == ICollateralManager.ValuationReported.selector) ++reports;
            if (logs[i].topics[0] == ICollateralManager.ValuationAggregated.selector) ++aggregations;
        }
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
                ICollateralManager.LienStatus.Pending
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
                ICollateralManager.LienStatus.Pending
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
                ICollateralManager.LienStatus.Pending
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
                ICollateralManager.CaseState.Triggered
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
                ICollateralManager.CollateralUnexpectedCaseState.selector, caseId, ICollateralManager.CaseState.None
            )
        );
        vm.prank(bank);
        manager.clearWatch(caseId, EVIDENCE);
    }

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
                ICollateralManager.CollateralUnexpectedCaseState.selector, caseId, ICollateralManager.CaseState.Watch
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
                ICollateralManager.CaseState.RepossessionOrdered
            )
        );
        vm.prank(bank);
        manager.orderRepossession(caseId, otherAgencyId, EVIDENCE);
    }

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
        bytes memory appraisalErr = abi.encodeWithSelector(
            ICollateralManager.CollateralUnexpectedCaseState.selector,
            caseId,
            ICollateralManager.CaseState.RepossessionOrdered
        );
        _expectRevertFrom(
            agency, abi.encodeCall(ICollateralManager.recordAppraisal, (caseId, 1, EVIDENCE)), appraisalErr
        );
        _expectRevertFrom(agency, abi.encodeCall(ICollateralManager.recordAuction, (caseId, 1, EVIDENCE)), appraisalErr);
        _expectRevertFrom(agency, abi.encodeCall(ICollateralManager.recordSettlement, (caseId, EVIDENCE)), appraisalErr);

        vm.prank(agency);
        manager.recordRepossession(caseId, EVIDENCE);
        _expectRevertFrom(
            agency,
            abi.encodeCall(ICollateralManager.recordRepossession, (caseId, EVIDENCE)),
            abi.encodeWithSelector(
                ICollateralManager.CollateralUnexpectedCaseState.selector,
                caseId,
                ICollateralManager.CaseState.Repossessed
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
        bytes memory err = abi.encodeWithSelector(
            ICollateralManager.CollateralUnexpectedCaseState.selector, caseId, ICollateralManager.CaseState.Settled
        );
        _expectRevertFrom(agency, abi.encodeCall(ICollateralManager.recordSettlement, (caseId, EVIDENCE)), err);
        _expectRevertFrom(agency, abi.encodeCall(ICollateralManager.freezeCase, (caseId, EVIDENCE)), err);
        vm.warp(block.timestamp + 30 days);
        _expectRevertFrom(stranger, abi.encodeCall(ICollateralManager.escalate, (caseId)), err);
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
                ICollateralManager.CaseState.Triggered
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
                ICollateralManager.CaseState.Triggered
            )
        );
        vm.prank(bank);
        manager.reassignAgency(caseId, agencyId, EVIDENCE);
    }

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
        bytes memory frozenErr = abi.encodeWithSelector(
            ICollateralManager.CollateralUnexpectedCaseState.selector, caseId, ICollateralManager.CaseState.Frozen
        );
        _expectRevertFrom(agency, abi.encodeCall(ICollateralManager.recordAppraisal, (caseId, 1, EVIDENCE)), frozenErr);
        _expectRevertFrom(stranger, abi.encodeCall(ICollateralManager.escalate, (caseId)), frozenErr);
        _expectRevertFrom(bank, abi.encodeCall(ICollateralManager.freezeCase, (caseId, EVIDENCE)), frozenErr);

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
                ICollateralManager.CollateralUnexpectedCaseState.selector, caseId, ICollateralManager.CaseState.None
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
                ICollateralManager.CollateralUnexpectedCaseState.selector, caseId, ICollateralManager.CaseState.Watch
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
                ICollateralManager.CollateralUnexpectedCaseState.selector, caseId, ICollateralManager.CaseState.Cured
            )
        );
        vm.prank(bank);
        manager.freezeCase(caseId, EVIDENCE);
    }

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

    function test_resolveFreeze_revertsForNonGovernance() public {
        (, uint256 caseId) = _ordered();
        vm.prank(bank);
        manager.freezeCase(caseId, EVIDENCE);
        _assertOnlyGovernance(abi.encodeCall(ICollateralManager.resolveFreeze, (caseId, true, EVIDENCE)));
    }

    function test_resolveFreeze_revertsUnlessFrozen() public {
        (, uint256 caseId) = _ordered();
        vm.expectRevert(
            abi.encodeWithSelector(
                ICollateralManager.CollateralUnexpectedCaseState.selector,
                caseId,
                ICollateralManager.CaseState.RepossessionOrdered
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

    // ================================================================ views

    function test_views_revertOnUnknownIds() public {
        vm.expectRevert(abi.encodeWithSelector(ICollateralManager.CollateralUnknownLoan.selector, 1));
        manager.getLoan(1);
        vm.expectRevert(abi.encodeWithSelector(ICollateralManager.CollateralUnknownLoan.selector, 1));
        manager.valueMoveBpsOf(1);
        vm.expectRevert(abi.encodeWithSelector(ICollateralManager.CollateralUnknownCase.selector, 1));
        manager.getCase(1);
        vm.expectRevert(abi.encodeWithSelector(ICollateralManager.CollateralUnknownCase.selector, 1));
        manager.state(1);
        assertEq(manager.activeLoanOf(SUBJECT), 0);
        vm.expectRevert(abi.encodeWithSelector(ICollateralManager.CollateralNoActiveLoan.selector, SUBJECT));
        manager.valuationOf(SUBJECT);
    }

    // ================================================================ fuzz: thresholds at the boundary

    /// A drop of exactly `thresholdBps` is not a breach; any value below that boundary is.
    function testFuzz_reportValuation_dropBoundary(uint64 units, uint16 thresholdBps, uint16 distance, bool below)
        public
    {
        _checkDropBoundary(units, thresholdBps, distance, below);
    }

    function test_reportValuation_dropBoundary_fixed() public {
        _checkDropBoundary(100, 800, 0, false); // exactly 8.00%: no breach
        _checkDropBoundary(100, 800, 1, true); // one unit past 8.00%: breach
        _checkDropBoundary(100, 800, 1, false); // one unit short of 8.00%: no breach
        _checkDropBoundary(1, 1, 1, true); // the smallest baseline and threshold
        _checkDropBoundary(1, 10_000, 0, false); // a 100% threshold: a value of 0 is not beyond it
    }

    /// A rise of exactly `thresholdBps` is nothing; any value above that boundary puts the loan on watch.
    function testFuzz_reportValuation_riseBoundary(uint64 units, uint16 thresholdBps, uint16 distance, bool above)
        public
    {
        _checkRiseBoundary(units, thresholdBps, distance, above);
    }

    function test_reportValuation_riseBoundary_fixed() public {
        _checkRiseBoundary(100, 800, 0, false);
        _checkRiseBoundary(100, 800, 1, true);
        _checkRiseBoundary(100, 800, 1, false);
        _checkRiseBoundary(1, 10_000, 1, true);
    }

    /// Any baseline, threshold and value: a breach exactly when (baseline - value) * 10 000 > baseline * threshold,
    /// judged against the default threshold set by governance.
    function testFuzz_reportValuation_defaultThresholdRule(uint128 baseline, uint16 thresholdBps, uint128 value)
        public
    {
        _checkDefaultThresholdRule(baseline, thresholdBps, value);
    }

    function test_reportValuation_defaultThresholdRule_fixed() public {
        _checkDefaultThresholdRule(1_000_000, 800, 920_000); // exactly 8%: nothing
        _checkDefaultThresholdRule(1_000_000, 800, 919_900); // 8.01%: breach
        _checkDefaultThresholdRule(1_000_000, 800, 1_090_000); // +9%: watch
        _checkDefaultThresholdRule(333, 800, 306); // 8.108%: breach without a round boundary
        _checkDefaultThresholdRule(333, 800, 307); // 7.807%: nothing
    }

    /// daysOverdue above maxOverdueDays is a breach, above watchOverdueDays a watch, otherwise nothing.
    function testFuzz_reportRepayment_overdueBoundary(uint16 maxDays, uint16 watchDays, uint16 daysOverdue) public {
        _checkOverdueBoundary(maxDays, watchDays, daysOverdue);
    }

    function test_reportRepayment_overdueBoundary_fixed() public {
        _checkOverdueBoundary(90, 30, 30);
        _checkOverdueBoundary(90, 30, 31);
        _checkOverdueBoundary(90, 30, 90);
        _checkOverdueBoundary(90, 30, 91);
        _checkOverdueBoundary(1, 0, 1);
    }

    /// The published value is the median of the reporters' values (the mean of the middle two, rounded down, for an
    /// even count), as computed here by a plain sort; the quorum is the number of reporters.
    function testFuzz_reportValuation_medianMatchesReference(uint128[15] memory values, uint8 reporters) public {
        _checkMedian(values, reporters);
    }

    function test_reportValuation_medianMatchesReference_fixed() public {
        uint128[15] memory values;
        values[0] = 7;
        _checkMedian(values, 1); // one value
        values[1] = 4;
        _checkMedian(values, 2); // (4 + 7) / 2 = 5
        values[2] = type(uint128).max;
        values[3] = type(uint128).max - 1;
        _checkMedian(values, 4); // the middle two near the top: no overflow
        for (uint128 i = 0; i < 15; ++i) {
            values[i] = (15 - i) * 1000; // descending
        }
        _checkMedian(values, 15);
        _checkMedian(values, 14);
        for (uint256 i = 0; i < 15; ++i) {
            values[i] = 5; // all equal
        }
        _checkMedian(values, 9);
    }

    // ---------------------------------------------------------------- fuzz helpers

    function _checkMedian(uint128[15] memory values, uint8 reporters) internal {
        reporters = uint8(_bound(reporters, 1, 15));
        ICollateralManager.LoanTerms memory terms = _terms();
        terms.maxLtvBps = 10_000;
        bytes32 subject = keccak256(abi.encode("median", values, reporters, manager.loanCount()));
        uint256 loanId = _registerWith(subject, 0, BASELINE, terms);
        _setValuationPolicy(reporters, 1 days);
        address[] memory oracles = _priceOracles(reporters);
        for (uint256 i = 0; i < reporters; ++i) {
            _valueBy(oracles[i], subject, values[i]);
        }

        // The reference: a bubble sort of a copy, then the middle.
        uint256[] memory sorted = new uint256[](reporters);
        for (uint256 i = 0; i < reporters; ++i) {
            sorted[i] = values[i];
        }
        for (uint256 i = 0; i < reporters; ++i) {
            for (uint256 j = 0; j + 1 < reporters - i; ++j) {
                if (sorted[j] > sorted[j + 1]) (sorted[j], sorted[j + 1]) = (sorted[j + 1], sorted[j]);
            }
        }
        uint256 mid = reporters / 2;
        uint256 expected = reporters % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;

        ICollateralManager.Loan memory loan = manager.getLoan(loanId);
        assertEq(loan.lastValue, expected, "median");
        assertEq(loan.lastValuedAt, block.timestamp);
        (uint128 published,) = manager.valuationOf(subject);
        assertEq(published, expected);
    }

    /// @dev Baseline `units * 10 000`, so a move of exactly `thresholdBps` is `units * thresholdBps`, an exact
    /// boundary; the value is put `distance` units below the boundary (`below`) or above it.
    function _checkDropBoundary(uint64 units, uint16 thresholdBps, uint16 distance, bool below) internal {
        units = uint64(_bound(units, 1, type(uint64).max));
        thresholdBps = uint16(_bound(thresholdBps, 1, 10_000));
        uint128 baseline = uint128(units) * 10_000;
        uint128 boundary = baseline - uint128(units) * thresholdBps;
        if (below && boundary == 0) return; // nothing lies below a 100% drop
        if (below) distance = uint16(_bound(distance, 1, boundary < type(uint16).max ? boundary : type(uint16).max));
        uint128 value = below ? boundary - distance : boundary + distance;
        if (value > baseline) value = baseline;

        ICollateralManager.LoanTerms memory terms = _terms();
        terms.valueMoveBps = thresholdBps;
        terms.maxLtvBps = 10_000;
        bytes32 subject = keccak256(abi.encode(units, thresholdBps, distance, below, manager.loanCount()));
        uint256 loanId = _registerWith(subject, 0, baseline, terms);
        _value(subject, value);

        if (below) {
            assertEq(uint8(_stateOf(_caseOf(loanId))), uint8(ICollateralManager.CaseState.Triggered), "drop past it");
            assertEq(manager.getCase(_caseOf(loanId)).causes, _bit(ICollateralManager.Cause.ValueDrop));
        } else {
            assertEq(_caseOf(loanId), 0, "drop within the threshold");
        }
    }

    function _checkRiseBoundary(uint64 units, uint16 thresholdBps, uint16 distance, bool above) internal {
        units = uint64(_bound(units, 1, type(uint64).max));
        thresholdBps = uint16(_bound(thresholdBps, 1, 10_000));
        uint128 baseline = uint128(units) * 10_000;
        uint128 boundary = baseline + uint128(units) * thresholdBps;
        if (above) distance = uint16(_bound(distance, 1, type(uint16).max));
        uint128 value = above ? boundary + distance : boundary - (distance > boundary - baseline ? 0 : distance);

        ICollateralManager.LoanTerms memory terms = _terms();
        terms.valueMoveBps = thresholdBps;
        bytes32 subject = keccak256(abi.encode("rise", units, thresholdBps, distance, above, manager.loanCount()));
        uint256 loanId = _registerWith(subject, 0, baseline, terms);
        _value(subject, value);

        if (above) {
            assertEq(uint8(_stateOf(_caseOf(loanId))), uint8(ICollateralManager.CaseState.Watch), "rise past it");
            assertEq(manager.getCase(_caseOf(loanId)).causes, _bit(ICollateralManager.Cause.ValueRise));
        } else {
            assertEq(_caseOf(loanId), 0, "rise within the threshold");
        }
    }

    function _checkDefaultThresholdRule(uint128 baseline, uint16 thresholdBps, uint128 value) internal {
        baseline = uint128(_bound(baseline, 1, type(uint128).max / 10_000));
        thresholdBps = uint16(_bound(thresholdBps, 1, 10_000));
        value = uint128(_bound(value, 0, type(uint128).max / 10_000));

        ICollateralManager.Parameters memory params = manager.parameters();
        params.defaultValueMoveBps = thresholdBps;
        vm.prank(address(membership));
        manager.setParameters(params);
        ICollateralManager.LoanTerms memory terms = _terms();
        terms.maxLtvBps = 10_000;
        bytes32 subject = keccak256(abi.encode("default", baseline, thresholdBps, value, manager.loanCount()));
        uint256 loanId = _registerWith(subject, 0, baseline, terms);
        assertEq(manager.valueMoveBpsOf(loanId), thresholdBps);
        _value(subject, value);

        // The rule, restated as "the move in bps, as an exact fraction, exceeds the threshold".
        bool drop = value < baseline && uint256(baseline - value) * 10_000 > uint256(baseline) * thresholdBps;
        bool rise = value > baseline && uint256(value - baseline) * 10_000 > uint256(baseline) * thresholdBps;
        uint256 caseId = _caseOf(loanId);
        if (drop) {
            assertEq(uint8(_stateOf(caseId)), uint8(ICollateralManager.CaseState.Triggered));
        } else if (rise) {
            assertEq(uint8(_stateOf(caseId)), uint8(ICollateralManager.CaseState.Watch));
        } else {
            assertEq(caseId, 0);
        }
    }

    function _checkOverdueBoundary(uint16 maxDays, uint16 watchDays, uint16 daysOverdue) internal {
        maxDays = uint16(_bound(maxDays, 1, type(uint16).max));
        watchDays = uint16(_bound(watchDays, 0, maxDays - 1));
        ICollateralManager.LoanTerms memory terms = _terms();
        terms.maxOverdueDays = maxDays;
        terms.watchOverdueDays = watchDays;
        bytes32 subject = keccak256(abi.encode("overdue", maxDays, watchDays, daysOverdue, manager.loanCount()));
        uint256 loanId = _registerWith(subject, OUTSTANDING, BASELINE, terms);
        _repay(loanId, daysOverdue);

        uint256 caseId = _caseOf(loanId);
        if (daysOverdue > maxDays) {
            assertEq(uint8(_stateOf(caseId)), uint8(ICollateralManager.CaseState.Triggered));
        } else if (daysOverdue > watchDays) {
            assertEq(uint8(_stateOf(caseId)), uint8(ICollateralManager.CaseState.Watch));
        } else {
            assertEq(caseId, 0);
        }
    }
}
