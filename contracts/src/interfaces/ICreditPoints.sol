// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title ICreditPoints
/// @notice A non-transferable ledger of credit points per consortium member: points are earned by contributing
/// evidence and lost by contributing false evidence. There is no transfer and no approval, by design.
interface ICreditPoints {
    // ---------------------------------------------------------------- errors

    error CreditPointsInvalidParameters(uint32 corroborationBonus, uint16 slashMultiplier, uint32 disputerReward);

    // ---------------------------------------------------------------- events

    /// @notice A member's balance changed by `delta` for `reason`, about the record or batch `ref`.
    /// @dev A debit larger than the balance is capped at the balance; `delta` is what was actually applied.
    event PointsChanged(uint64 indexed memberId, int256 delta, PointsReason indexed reason, bytes32 ref);

    event PointsParametersChanged(uint32 corroborationBonus, uint16 slashMultiplier, uint32 disputerReward);

    enum PointsReason {
        Attestation, // reported by the registry's `Attested` event, not by `PointsChanged`
        Corroboration,
        Batch,
        Clawback,
        Slash,
        DisputeReward
    }

    // ---------------------------------------------------------------- views

    /// @notice A member's points.
    function pointsOf(uint64 memberId) external view returns (uint256);

    /// @notice The sum of every member's points.
    function totalPoints() external view returns (uint256);

    /// @notice The points a record's attester earns when another member's attestation references it; the
    /// multiple of a kind's weight an upheld dispute costs the attester; the points the disputer then earns.
    function pointsParameters()
        external
        view
        returns (uint32 corroborationBonus, uint16 slashMultiplier, uint32 disputerReward);

    // ---------------------------------------------------------------- governance

    /// @notice Sets the corroboration bonus, slash multiplier (1 to 100) and disputer reward. Governance only.
    function setPointsParameters(uint32 corroborationBonus, uint16 slashMultiplier, uint32 disputerReward) external;
}
