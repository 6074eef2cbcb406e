// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {CollateralManagerTestBase} from "./CollateralManagerTestBase.sol";
import {ICollateralManager} from "../../src/interfaces/ICollateralManager.sol";

/// @notice Valuation reports: the value-move and loan-to-value rules, aggregation of several
/// price oracles into a median under the valuation policy, and `valuationOf`.
contract CollateralManagerValuationsTest is CollateralManagerTestBase {
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
                ICollateralManager.LienStatus.Pending,
                _stateBit(ICollateralManager.LienStatus.Active)
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
}
