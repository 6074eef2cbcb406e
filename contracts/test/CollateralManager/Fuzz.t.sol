// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {CollateralManagerTestBase} from "./CollateralManagerTestBase.sol";
import {ICollateralManager} from "../../src/interfaces/ICollateralManager.sol";

/// @notice Fuzz tests of the rules at their boundaries, each with a fixed-input companion, and of the
/// valuation median against a reference computation.
contract CollateralManagerFuzzTest is CollateralManagerTestBase {
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
