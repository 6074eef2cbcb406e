// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {CollateralTestBase} from "../utils/CollateralTestBase.sol";
import {ICollateralManager} from "../../src/interfaces/ICollateralManager.sol";
import {Roles} from "../../src/libraries/Roles.sol";
import {Vm} from "forge-std/Vm.sol";

/// @notice Base of the CollateralManager test suites in this folder: the shared fixture of
/// `CollateralTestBase` plus the valuation helpers more than one suite uses.
abstract contract CollateralManagerTestBase is CollateralTestBase {
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
}
