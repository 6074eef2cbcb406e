// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {CollateralManagerTestBase} from "./CollateralManagerTestBase.sol";
import {ICollateralManager} from "../../src/interfaces/ICollateralManager.sol";

/// @notice Loans and their liens: registration, lien confirmation, cancellation, and the views of
/// loans and cases.
contract CollateralManagerLoansTest is CollateralManagerTestBase {
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
                ICollateralManager.CollateralUnexpectedLienStatus.selector,
                loanId,
                ICollateralManager.LienStatus.Active,
                _stateBit(ICollateralManager.LienStatus.Pending)
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
                ICollateralManager.LienStatus.Released,
                _stateBit(ICollateralManager.LienStatus.Pending)
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
                ICollateralManager.CollateralUnexpectedLienStatus.selector,
                loanId,
                ICollateralManager.LienStatus.Active,
                _stateBit(ICollateralManager.LienStatus.Pending)
            )
        );
        vm.prank(bank);
        manager.cancelLoan(loanId, EVIDENCE);
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
}
