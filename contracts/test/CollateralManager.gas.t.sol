// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {CollateralTestBase} from "./utils/CollateralTestBase.sol";
import {ICollateralManager} from "../src/interfaces/ICollateralManager.sol";

/// @notice One measured call per test, against state prepared in `setUp` (so storage is cold as in a real
/// transaction); results go to `snapshots/CollateralManager.json`. Figures exclude the 21 000 base cost and calldata.
contract CollateralManagerGasTest is CollateralTestBase {
    bytes32 internal constant THIRD_SUBJECT = keccak256("subject:vehicle-3");

    uint256 internal activeLoan;
    uint256 internal pendingLoan;
    uint256 internal orderedCase;

    function setUp() public override {
        super.setUp();
        activeLoan = _registerActive(SUBJECT);
        pendingLoan = _register(OTHER_SUBJECT);
    }

    function test_gas_registerLoan() public {
        vm.prank(bank);
        uint256 loanId = manager.registerLoan(THIRD_SUBJECT, PRINCIPAL, OUTSTANDING, BASELINE, _terms(), EVIDENCE);
        vm.snapshotGasLastCall("CollateralManager", "registerLoan");
        assertEq(manager.activeLoanOf(THIRD_SUBJECT), loanId);
    }

    function test_gas_confirmLien() public {
        vm.prank(dmv);
        manager.confirmLien(pendingLoan, EVIDENCE);
        vm.snapshotGasLastCall("CollateralManager", "confirmLien");
        assertEq(uint8(manager.getLoan(pendingLoan).lienStatus), uint8(ICollateralManager.LienStatus.Active));
    }

    function test_gas_reportRepayment_noTrigger() public {
        vm.prank(bank);
        manager.reportRepayment(activeLoan, 10, 590_000, EVIDENCE);
        vm.snapshotGasLastCall("CollateralManager", "reportRepayment (no trigger)");
        assertEq(_caseOf(activeLoan), 0);
    }

    function test_gas_reportRepayment_trigger() public {
        vm.prank(bank);
        manager.reportRepayment(activeLoan, MAX_OVERDUE + 1, 590_000, EVIDENCE);
        vm.snapshotGasLastCall("CollateralManager", "reportRepayment (trigger, opens a case)");
        assertEq(uint8(_stateOf(_caseOf(activeLoan))), uint8(ICollateralManager.CaseState.Triggered));
    }

    function test_gas_reportValuation_noTrigger() public {
        vm.prank(priceOracle);
        manager.reportValuation(SUBJECT, 950_000, EVIDENCE);
        vm.snapshotGasLastCall("CollateralManager", "reportValuation (no trigger)");
        assertEq(_caseOf(activeLoan), 0);
    }

    function test_gas_reportValuation_trigger() public {
        vm.prank(priceOracle);
        manager.reportValuation(SUBJECT, 910_000, EVIDENCE);
        vm.snapshotGasLastCall("CollateralManager", "reportValuation (trigger, opens a case)");
        assertEq(uint8(_stateOf(_caseOf(activeLoan))), uint8(ICollateralManager.CaseState.Triggered));
    }
}
