// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {CollateralManagerTestBase} from "./CollateralManagerTestBase.sol";
import {CollateralManager} from "../../src/CollateralManager.sol";
import {ICollateralManager} from "../../src/interfaces/ICollateralManager.sol";
import {IMembership} from "../../src/interfaces/IMembership.sol";
import {Roles} from "../../src/libraries/Roles.sol";

/// @notice CollateralManager deployment, governance parameters and the valuation policy.
contract CollateralManagerParametersTest is CollateralManagerTestBase {
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
}
