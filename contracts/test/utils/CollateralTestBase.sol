// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ConsortiumTest} from "./ConsortiumTest.sol";
import {CollateralManager} from "../../src/CollateralManager.sol";
import {ICollateralManager} from "../../src/interfaces/ICollateralManager.sol";
import {Roles} from "../../src/libraries/Roles.sol";

/// @notice Shared fixture for the CollateralManager tests: a real Membership with one member per role (two banks, two
/// disposal agencies and three price oracles), a CollateralManager whose risk-warning role is INSURER, and shortcuts that drive a loan
/// through its lifecycle.
abstract contract CollateralTestBase is ConsortiumTest {
    CollateralManager internal manager;

    address internal bank;
    uint64 internal bankId;
    address internal otherBank;
    uint64 internal otherBankId;
    address internal dmv;
    uint64 internal dmvId;
    address internal priceOracle;
    uint64 internal priceOracleId;
    address internal telematics;
    uint64 internal telematicsId;
    address internal agency;
    uint64 internal agencyId;
    address internal otherAgency;
    uint64 internal otherAgencyId;
    address internal dealer;
    uint64 internal dealerId;
    address internal insurer;
    uint64 internal insurerId;
    address internal repairShop;
    uint64 internal repairShopId;
    address internal otherPriceOracle;
    uint64 internal otherPriceOracleId;
    address internal thirdPriceOracle;
    uint64 internal thirdPriceOracleId;
    address internal stranger;

    bytes32 internal constant SUBJECT = keccak256("subject:vehicle-1");
    bytes32 internal constant OTHER_SUBJECT = keccak256("subject:vehicle-2");
    bytes32 internal constant EVIDENCE = keccak256("evidence");

    uint128 internal constant PRINCIPAL = 1_000_000;
    uint128 internal constant OUTSTANDING = 600_000;
    uint128 internal constant BASELINE = 1_000_000;
    uint16 internal constant MAX_OVERDUE = 90;
    uint16 internal constant WATCH_OVERDUE = 30;
    uint16 internal constant MAX_LTV = 8000;
    uint32 internal constant CURE_PERIOD = 10 days;
    uint32 internal constant STEP_DEADLINE = 5 days;
    uint16 internal constant RISK_WATCH_SCORE = 4000;

    uint40 internal constant START = 1_700_000_000;

    function setUp() public virtual {
        vm.warp(START);
        _deployMembership();
        manager = new CollateralManager(membership);
        vm.label(address(manager), "CollateralManager");

        (bank, bankId) = _admit("bank", Roles.BANK);
        (otherBank, otherBankId) = _admit("otherBank", Roles.BANK);
        (dmv, dmvId) = _admit("dmv", Roles.DMV_ORACLE);
        (priceOracle, priceOracleId) = _admit("priceOracle", Roles.PRICE_ORACLE);
        (telematics, telematicsId) = _admit("telematics", Roles.TELEMATICS_ORACLE);
        (agency, agencyId) = _admit("agency", Roles.DISPOSAL_AGENCY);
        (otherAgency, otherAgencyId) = _admit("otherAgency", Roles.DISPOSAL_AGENCY);
        (dealer, dealerId) = _admit("dealer", Roles.DEALER);
        (insurer, insurerId) = _admit("insurer", Roles.INSURER);
        (repairShop, repairShopId) = _admit("repairShop", Roles.REPAIR_SHOP);
        (otherPriceOracle, otherPriceOracleId) = _admit("otherPriceOracle", Roles.PRICE_ORACLE);
        (thirdPriceOracle, thirdPriceOracleId) = _admit("thirdPriceOracle", Roles.PRICE_ORACLE);
        stranger = makeAddr("stranger");

        ICollateralManager.Parameters memory params = manager.parameters();
        params.riskReporterRoles = Roles.INSURER;
        vm.prank(address(membership));
        manager.setParameters(params);
    }

    // ---------------------------------------------------------------- fixtures

    function _terms() internal pure returns (ICollateralManager.LoanTerms memory) {
        return ICollateralManager.LoanTerms({
            maxOverdueDays: MAX_OVERDUE,
            watchOverdueDays: WATCH_OVERDUE,
            maxLtvBps: MAX_LTV,
            valueMoveBps: 0,
            curePeriod: CURE_PERIOD,
            stepDeadline: STEP_DEADLINE
        });
    }

    function _register(bytes32 subject) internal returns (uint256 loanId) {
        vm.prank(bank);
        loanId = manager.registerLoan(subject, PRINCIPAL, OUTSTANDING, BASELINE, _terms(), EVIDENCE);
    }

    function _registerWith(
        bytes32 subject,
        uint128 outstanding,
        uint128 baseline,
        ICollateralManager.LoanTerms memory terms
    ) internal returns (uint256 loanId) {
        vm.prank(bank);
        loanId = manager.registerLoan(
            subject, PRINCIPAL > outstanding ? PRINCIPAL : outstanding, outstanding, baseline, terms, EVIDENCE
        );
        vm.prank(dmv);
        manager.confirmLien(loanId, EVIDENCE);
    }

    function _registerActive(bytes32 subject) internal returns (uint256 loanId) {
        loanId = _register(subject);
        vm.prank(dmv);
        manager.confirmLien(loanId, EVIDENCE);
    }

    function _caseOf(uint256 loanId) internal view returns (uint256) {
        return manager.getLoan(loanId).caseId;
    }

    function _stateOf(uint256 caseId) internal view returns (ICollateralManager.CaseState) {
        return manager.state(caseId);
    }

    function _repay(uint256 loanId, uint16 daysOverdue) internal {
        vm.prank(bank);
        manager.reportRepayment(loanId, daysOverdue, OUTSTANDING, EVIDENCE);
    }

    function _value(bytes32 subject, uint128 value) internal {
        _valueBy(priceOracle, subject, value);
    }

    function _valueBy(address oracle, bytes32 subject, uint128 value) internal {
        vm.prank(oracle);
        manager.reportValuation(subject, value, EVIDENCE);
    }

    function _setValuationPolicy(uint8 quorum, uint32 maxAge) internal {
        vm.prank(address(membership));
        manager.setValuationPolicy(ICollateralManager.ValuationPolicy({quorum: quorum, maxAge: maxAge}));
    }

    /// @dev An active loan on SUBJECT triggered by 91 days overdue.
    function _triggeredByOverdue() internal returns (uint256 loanId, uint256 caseId) {
        loanId = _registerActive(SUBJECT);
        _repay(loanId, MAX_OVERDUE + 1);
        caseId = _caseOf(loanId);
    }

    /// @dev An active loan on SUBJECT put on watch by 31 days overdue.
    function _watched() internal returns (uint256 loanId, uint256 caseId) {
        loanId = _registerActive(SUBJECT);
        _repay(loanId, WATCH_OVERDUE + 1);
        caseId = _caseOf(loanId);
    }

    /// @dev Triggered by a 9% value drop, cure period over, repossession ordered with `agency`.
    function _ordered() internal returns (uint256 loanId, uint256 caseId) {
        loanId = _registerActive(SUBJECT);
        _value(SUBJECT, 910_000);
        caseId = _caseOf(loanId);
        vm.warp(block.timestamp + CURE_PERIOD + 1);
        vm.prank(bank);
        manager.orderRepossession(caseId, agencyId, EVIDENCE);
    }

    function _repossessed() internal returns (uint256 loanId, uint256 caseId) {
        (loanId, caseId) = _ordered();
        vm.prank(agency);
        manager.recordRepossession(caseId, EVIDENCE);
    }

    function _appraised() internal returns (uint256 loanId, uint256 caseId) {
        (loanId, caseId) = _repossessed();
        vm.prank(agency);
        manager.recordAppraisal(caseId, 880_000, EVIDENCE);
    }

    function _auctioned() internal returns (uint256 loanId, uint256 caseId) {
        (loanId, caseId) = _appraised();
        vm.prank(agency);
        manager.recordAuction(caseId, 870_000, EVIDENCE);
    }

    function _bit(ICollateralManager.Cause cause) internal pure returns (uint16) {
        return uint16(1) << uint8(cause);
    }

    /// @dev A case state as a bit of an `expectedStates` bitmap (bit `uint8(state)`).
    function _stateBit(ICollateralManager.CaseState state) internal pure returns (bytes32) {
        return bytes32(uint256(1) << uint8(state));
    }

    /// @dev A lien status as a bit of an `expectedStates` bitmap (bit `uint8(status)`).
    function _stateBit(ICollateralManager.LienStatus status) internal pure returns (bytes32) {
        return bytes32(uint256(1) << uint8(status));
    }

    /// @dev The states in which the assigned agency owes a step: what `escalate` and `reassignAgency` accept.
    function _agencyStepStates() internal pure returns (bytes32) {
        return _stateBit(ICollateralManager.CaseState.RepossessionOrdered)
            | _stateBit(ICollateralManager.CaseState.Repossessed) | _stateBit(ICollateralManager.CaseState.Appraised)
            | _stateBit(ICollateralManager.CaseState.Auctioned);
    }

    /// @dev The states `freezeCase` accepts: `Triggered` and the agency steps.
    function _freezableStates() internal pure returns (bytes32) {
        return _stateBit(ICollateralManager.CaseState.Triggered) | _agencyStepStates();
    }

    /// @dev The revert data of `CollateralUnexpectedCaseState(caseId, current, expectedStates)`.
    function _unexpectedCaseState(uint256 caseId, ICollateralManager.CaseState current, bytes32 expectedStates)
        internal
        pure
        returns (bytes memory)
    {
        return abi.encodeWithSelector(
            ICollateralManager.CollateralUnexpectedCaseState.selector, caseId, current, expectedStates
        );
    }

    // ---------------------------------------------------------------- authorization helpers

    /// @dev Every account of the fixture with its roles (the stranger holds none).
    function _accounts() internal view returns (address[] memory accounts, uint256[] memory roles) {
        accounts = new address[](10);
        roles = new uint256[](10);
        (accounts[0], roles[0]) = (stranger, 0);
        (accounts[1], roles[1]) = (governorA, Roles.GOVERNOR);
        (accounts[2], roles[2]) = (dealer, Roles.DEALER);
        (accounts[3], roles[3]) = (insurer, Roles.INSURER);
        (accounts[4], roles[4]) = (repairShop, Roles.REPAIR_SHOP);
        (accounts[5], roles[5]) = (bank, Roles.BANK);
        (accounts[6], roles[6]) = (agency, Roles.DISPOSAL_AGENCY);
        (accounts[7], roles[7]) = (dmv, Roles.DMV_ORACLE);
        (accounts[8], roles[8]) = (telematics, Roles.TELEMATICS_ORACLE);
        (accounts[9], roles[9]) = (priceOracle, Roles.PRICE_ORACLE);
    }

    /// @dev Calls the manager as `caller` and asserts it reverts with exactly `err`.
    function _expectRevertFrom(address caller, bytes memory data, bytes memory err) internal {
        _expectRevertFrom(address(manager), caller, data, err);
    }

    /// @dev The non-member and every member holding none of `allowed` are refused with
    /// `CollateralUnauthorizedAccount(account, required)`.
    function _assertRefusedWithoutRole(bytes memory data, uint256 allowed, uint256 required) internal {
        (address[] memory accounts, uint256[] memory roles) = _accounts();
        uint256 refused;
        for (uint256 i = 0; i < accounts.length; ++i) {
            if (roles[i] & allowed != 0) continue;
            _expectRevertFrom(
                accounts[i],
                data,
                abi.encodeWithSelector(ICollateralManager.CollateralUnauthorizedAccount.selector, accounts[i], required)
            );
            ++refused;
        }
        assertGe(refused, 8, "too few callers checked");
    }

    /// @dev `account` (of `memberId`) is refused once its member is suspended, and again once expelled.
    function _assertRefusedSuspendedAndExpelled(bytes memory data, address account, uint64 memberId, uint256 required)
        internal
    {
        bytes memory err =
            abi.encodeWithSelector(ICollateralManager.CollateralUnauthorizedAccount.selector, account, required);
        _assertRefusedSuspendedAndExpelled(address(manager), data, account, memberId, err);
    }

    /// @dev Every member account, governors included, and the non-member are refused as not governance.
    function _assertOnlyGovernance(bytes memory data) internal {
        (address[] memory accounts,) = _accounts();
        _assertOnlyGovernance(address(manager), ICollateralManager.CollateralOnlyGovernance.selector, accounts, data);
    }
}
