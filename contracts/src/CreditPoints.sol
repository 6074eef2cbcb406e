// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ICreditPoints} from "./interfaces/ICreditPoints.sol";

/// @title CreditPoints
/// @notice The consortium's non-transferable points ledger. It lives in the contract that awards the points (the
/// evidence registry inherits it), so crediting an attestation costs one storage update and no external call.
/// There is no transfer and no approval: only the owning contract's rules move points.
/// @dev The total is not stored: `totalPoints` sums the balances of every member id ever admitted (a consortium has
/// tens to thousands of members), so it equals the sum of balances by construction and an attestation does not pay
/// for a second storage update.
abstract contract CreditPoints is ICreditPoints {
    // ---------------------------------------------------------------- storage

    mapping(uint64 memberId => uint256 points) private _points;
    uint32 private _corroborationBonus;
    uint16 private _slashMultiplier;
    uint32 private _disputerReward;

    uint16 private constant _MAX_SLASH_MULTIPLIER = 100;

    // ---------------------------------------------------------------- constructor

    constructor(uint32 corroborationBonus, uint16 slashMultiplier, uint32 disputerReward) {
        _setPointsParameters(corroborationBonus, slashMultiplier, disputerReward);
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc ICreditPoints
    function pointsOf(uint64 memberId) external view returns (uint256) {
        return _points[memberId];
    }

    /// @inheritdoc ICreditPoints
    function totalPoints() external view returns (uint256 total) {
        uint64 members = _memberCount();
        for (uint64 memberId = 1; memberId <= members; ++memberId) {
            total += _points[memberId];
        }
    }

    /// @inheritdoc ICreditPoints
    function pointsParameters()
        external
        view
        returns (uint32 corroborationBonus, uint16 slashMultiplier, uint32 disputerReward)
    {
        return (_corroborationBonus, _slashMultiplier, _disputerReward);
    }

    // ---------------------------------------------------------------- internal

    /// @dev The highest member id that can hold points (ids run from 1).
    function _memberCount() internal view virtual returns (uint64);

    function _setPointsParameters(uint32 corroborationBonus, uint16 slashMultiplier, uint32 disputerReward) internal {
        if (slashMultiplier == 0 || slashMultiplier > _MAX_SLASH_MULTIPLIER) {
            revert CreditPointsInvalidParameters(corroborationBonus, slashMultiplier, disputerReward);
        }
        _corroborationBonus = corroborationBonus;
        _slashMultiplier = slashMultiplier;
        _disputerReward = disputerReward;
        emit PointsParametersChanged(corroborationBonus, slashMultiplier, disputerReward);
    }

    function _corroborationBonusPoints() internal view returns (uint32) {
        return _corroborationBonus;
    }

    function _slashPoints(uint32 weight) internal view returns (uint256) {
        return uint256(weight) * _slashMultiplier;
    }

    function _disputerRewardPoints() internal view returns (uint32) {
        return _disputerReward;
    }

    /// @dev Credits `amount` (nothing when zero).
    function _credit(uint64 memberId, uint256 amount, PointsReason reason, bytes32 ref) internal {
        if (amount == 0) return;
        _points[memberId] += amount;
        emit PointsChanged(memberId, int256(amount), reason, ref);
    }

    /// @dev Credits `amount` without a `PointsChanged` event: for credits another event of the caller reports.
    function _creditSilently(uint64 memberId, uint256 amount) internal {
        _points[memberId] += amount;
    }

    /// @dev Debits `amount`, capped at the member's balance; emits what was applied (nothing when zero).
    function _debit(uint64 memberId, uint256 amount, PointsReason reason, bytes32 ref) internal {
        uint256 balance = _points[memberId];
        uint256 applied = amount < balance ? amount : balance;
        if (applied == 0) return;
        _points[memberId] = balance - applied;
        emit PointsChanged(memberId, -int256(applied), reason, ref);
    }
}
