// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title Roles
/// @notice Consortium roles as bits of a `uint256` mask. A member holds any combination; an attestation kind
/// lists the roles that may attest it as a mask too, so "may this member attest this kind" is one AND.
library Roles {
    uint256 internal constant DEALER = 1 << 0;
    uint256 internal constant INSURER = 1 << 1;
    uint256 internal constant REPAIR_SHOP = 1 << 2;
    uint256 internal constant BANK = 1 << 3;
    uint256 internal constant DISPOSAL_AGENCY = 1 << 4;
    uint256 internal constant DMV_ORACLE = 1 << 5;
    uint256 internal constant TELEMATICS_ORACLE = 1 << 6;
    uint256 internal constant PRICE_ORACLE = 1 << 7;
    uint256 internal constant GOVERNOR = 1 << 8;

    /// @dev Every defined role; a mask with any other bit set is invalid.
    uint256 internal constant ALL = (1 << 9) - 1;
}
