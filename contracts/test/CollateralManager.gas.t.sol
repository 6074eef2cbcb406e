// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {CollateralTestBase} from "./utils/CollateralTestBase.sol";
import {ICollateralManager} from "../src/interfaces/ICollateralManager.sol";

/// @notice One measured call per test, against state prepared in `setUp` (so storage is cold as in a real
/// transaction); results go to `snapshots/CollateralManager.json`. Figures exclude the 21 000 base cost and calldata.
contract CollateralManagerGasTest is CollateralTestBase {
    bytes32 internal constant THIRD_SUBJECT = keccak256("subject:vehicle-3");
    bytes32 internal constant VALUED_SUBJECT = keccak256("subject:vehicle-valued");

    uint256 internal activeLoan;
    uint256 internal pendingLoan;
    uint256 internal orderedCase;
    uint256 internal valuedLoan;

    function setUp() public override {
        super.setUp();
        activeLoan = _registerActive(SUBJECT);
        pendingLoan = _register(OTHER_SUBJECT);
        valuedLoan = _registerActive(VALUED_SUBJECT);
        _value(VALUED_SUBJECT, 990_000);
        vm.warp(block.timestamp + 1 days);
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

    function test_gas_reportValuation_replacesOwnObservation() public {
        vm.prank(priceOracle);
        manager.reportValuation(VALUED_SUBJECT, 980_000, EVIDENCE);
        vm.snapshotGasLastCall("CollateralManager", "reportValuation (a reporter's next report, no trigger)");
        assertEq(manager.getLoan(valuedLoan).lastValue, 980_000);
    }

    function test_gas_valuationOf() public {
        manager.valuationOf(VALUED_SUBJECT);
        vm.snapshotGasLastCall("CollateralManager", "valuationOf");
    }
}

/// @notice The same with a quorum of 3: on SUBJECT's loan two price oracles have reported in `setUp`, on
/// OTHER_SUBJECT's one.
contract CollateralManagerQuorumGasTest is CollateralTestBase {
    uint256 internal activeLoan;
    uint256 internal otherLoan;

    function setUp() public override {
        super.setUp();
        _setValuationPolicy(3, 1 days);
        activeLoan = _registerActive(SUBJECT);
        _valueBy(priceOracle, SUBJECT, 990_000);
        _valueBy(otherPriceOracle, SUBJECT, 1_010_000);
        otherLoan = _registerActive(OTHER_SUBJECT);
        _valueBy(priceOracle, OTHER_SUBJECT, 990_000);
    }

    function test_gas_reportValuation_belowQuorum() public {
        vm.prank(otherPriceOracle);
        manager.reportValuation(OTHER_SUBJECT, 1_000_000, EVIDENCE);
        vm.snapshotGasLastCall("CollateralManager", "reportValuation (quorum 3, second reporter, records only)");
        assertEq(manager.getLoan(otherLoan).lastValuedAt, 0);
    }

    function test_gas_reportValuation_reachesQuorum() public {
        vm.prank(thirdPriceOracle);
        manager.reportValuation(SUBJECT, 1_000_000, EVIDENCE);
        vm.snapshotGasLastCall("CollateralManager", "reportValuation (quorum 3, third reporter, publishes the median)");
        assertEq(manager.getLoan(activeLoan).lastValue, 1_000_000);
    }
}
