// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ConsortiumTest} from "./ConsortiumTest.sol";
import {EvidenceRegistry} from "../../src/EvidenceRegistry.sol";
import {IEvidenceRegistry} from "../../src/interfaces/IEvidenceRegistry.sol";
import {Roles} from "../../src/libraries/Roles.sol";

/// @notice Shared fixture for the EvidenceRegistry tests: a real Membership with one member per attesting role (and a
/// second dealer), a registry with a corroboration bonus of 5, a slash multiplier of 3 and a disputer reward of 20,
/// the kinds registered by governance, and helpers for records, EIP-712 signatures, Merkle trees and authorization.
abstract contract RegistryTestBase is ConsortiumTest {
    EvidenceRegistry internal registry;

    address internal dealer;
    uint64 internal dealerId;
    uint256 internal dealerKey;
    address internal otherDealer;
    uint64 internal otherDealerId;
    uint256 internal otherDealerKey;
    address internal insurer;
    uint64 internal insurerId;
    address internal repairShop;
    uint64 internal repairShopId;
    address internal bank;
    uint64 internal bankId;
    address internal telematics;
    uint64 internal telematicsId;
    address internal dmv;
    uint64 internal dmvId;
    address internal stranger;
    uint256 internal strangerKey;

    uint32 internal constant BONUS = 5;
    uint16 internal constant SLASH_MULTIPLIER = 3;
    uint32 internal constant DISPUTER_REWARD = 20;

    /// @dev Vehicle inspection report: dealers, repair shops and insurers; weight 10.
    uint16 internal constant KIND_INSPECTION = 1;
    /// @dev Odometer reading, a lower reading is flagged: telematics, repair shops, dealers; weight 2.
    uint16 internal constant KIND_ODOMETER = 2;
    /// @dev Odometer reading, a lower reading is refused: same roles; weight 2.
    uint16 internal constant KIND_ODOMETER_STRICT = 3;
    /// @dev Telematics batch (Merkle roots of trip data): telematics oracles only; weight 50.
    uint16 internal constant KIND_TELEMATICS_BATCH = 4;
    /// @dev Title record: the DMV oracle only; weight 7.
    uint16 internal constant KIND_TITLE = 5;

    uint32 internal constant W_INSPECTION = 10;
    uint32 internal constant W_ODOMETER = 2;
    uint32 internal constant W_BATCH = 50;
    uint32 internal constant W_TITLE = 7;

    uint16 internal constant INSPECTION_ROLES = uint16(Roles.DEALER | Roles.REPAIR_SHOP | Roles.INSURER);
    uint16 internal constant ODOMETER_ROLES = uint16(Roles.TELEMATICS_ORACLE | Roles.REPAIR_SHOP | Roles.DEALER);

    uint8 internal constant FLAG_ODOMETER = 1;
    uint8 internal constant FLAG_ROLLBACK_REJECT = 2;

    bytes32 internal constant SUBJECT = keccak256("subject:vehicle-1");
    bytes32 internal constant OTHER_SUBJECT = keccak256("subject:vehicle-2");
    bytes32 internal constant SCHEMA = keccak256("schema:inspection.v1");
    bytes32 internal constant EVIDENCE = keccak256("evidence");
    bytes32 internal constant URI = keccak256("uri:batch");

    bytes32 internal constant EIP712_DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");
    bytes32 internal constant ATTEST_TYPEHASH = keccak256(
        "Attest(bytes32 subject,uint16 kind,bytes32 digest,bytes32 ref,uint40 expiry,uint256 nonce,uint256 deadline)"
    );
    bytes32 internal constant ATTEST_READING_TYPEHASH = keccak256(
        "AttestReading(bytes32 subject,uint16 kind,bytes32 digest,bytes32 ref,uint40 expiry,uint64 reading,uint256 nonce,uint256 deadline)"
    );
    bytes32 internal constant LEAF_DOMAIN = keccak256("VehicleEvidence.BatchLeaf.v1");

    uint40 internal constant START = 1_700_000_000;

    /// @dev The fields of a delegated attestation, in the order of the EIP-712 type.
    struct SignedAttest {
        bytes32 subject;
        uint16 kind;
        bytes32 digest;
        bytes32 ref;
        uint40 expiry;
        uint256 nonce;
        uint256 deadline;
    }

    /// @dev The fields of a delegated odometer reading, in the order of the EIP-712 type.
    struct SignedReading {
        bytes32 subject;
        uint16 kind;
        bytes32 digest;
        bytes32 ref;
        uint40 expiry;
        uint64 reading;
        uint256 nonce;
        uint256 deadline;
    }

    function setUp() public virtual {
        vm.warp(START);
        _deployMembership();
        registry = new EvidenceRegistry(membership, BONUS, SLASH_MULTIPLIER, DISPUTER_REWARD);
        vm.label(address(registry), "EvidenceRegistry");

        (dealer, dealerId) = _admit("dealer", Roles.DEALER);
        (, dealerKey) = makeAddrAndKey("dealer");
        (otherDealer, otherDealerId) = _admit("otherDealer", Roles.DEALER);
        (, otherDealerKey) = makeAddrAndKey("otherDealer");
        (insurer, insurerId) = _admit("insurer", Roles.INSURER);
        (repairShop, repairShopId) = _admit("repairShop", Roles.REPAIR_SHOP);
        (bank, bankId) = _admit("bank", Roles.BANK);
        (telematics, telematicsId) = _admit("telematics", Roles.TELEMATICS_ORACLE);
        (dmv, dmvId) = _admit("dmv", Roles.DMV_ORACLE);
        (stranger, strangerKey) = makeAddrAndKey("stranger");

        vm.startPrank(address(membership));
        registry.registerKind(KIND_INSPECTION, SCHEMA, INSPECTION_ROLES, W_INSPECTION, 0);
        registry.registerKind(KIND_ODOMETER, keccak256("schema:odometer.v1"), ODOMETER_ROLES, W_ODOMETER, FLAG_ODOMETER);
        registry.registerKind(
            KIND_ODOMETER_STRICT,
            keccak256("schema:odometer-strict.v1"),
            ODOMETER_ROLES,
            W_ODOMETER,
            FLAG_ODOMETER | FLAG_ROLLBACK_REJECT
        );
        registry.registerKind(
            KIND_TELEMATICS_BATCH, keccak256("schema:telematics-batch.v1"), uint16(Roles.TELEMATICS_ORACLE), W_BATCH, 0
        );
        registry.registerKind(KIND_TITLE, keccak256("schema:title.v1"), uint16(Roles.DMV_ORACLE), W_TITLE, 0);
        vm.stopPrank();
    }

    // ---------------------------------------------------------------- records

    function _digest(string memory name) internal pure returns (bytes32) {
        return keccak256(abi.encode("record", name));
    }

    function _attestAs(address account, bytes32 subject, uint16 kind, bytes32 digest, bytes32 ref, uint40 expiry)
        internal
        returns (bytes32 uid)
    {
        vm.prank(account);
        uid = registry.attest(subject, kind, digest, ref, expiry);
    }

    /// @dev An inspection of SUBJECT by `account`, no ref, no expiry.
    function _inspect(address account, string memory name) internal returns (bytes32) {
        return _attestAs(account, SUBJECT, KIND_INSPECTION, _digest(name), bytes32(0), 0);
    }

    function _readAs(address account, bytes32 subject, uint16 kind, bytes32 digest, uint64 reading)
        internal
        returns (bytes32 uid)
    {
        vm.prank(account);
        uid = registry.attestReading(subject, kind, digest, bytes32(0), 0, reading);
    }

    function _dispute(address disputer, bytes32 uid) internal returns (uint256 disputeId) {
        vm.prank(disputer);
        disputeId = registry.openDispute(uid, EVIDENCE);
    }

    function _resolve(uint256 disputeId, bool upheld) internal {
        vm.prank(address(membership));
        registry.resolveDispute(disputeId, upheld);
    }

    /// @dev A dispute state as a bit of an `expectedStates` bitmap (bit `uint8(state)`).
    function _stateBit(IEvidenceRegistry.DisputeState state) internal pure returns (bytes32) {
        return bytes32(uint256(1) << uint8(state));
    }

    function _setPointsParameters(uint32 bonus, uint16 multiplier, uint32 reward) internal {
        vm.prank(address(membership));
        registry.setPointsParameters(bonus, multiplier, reward);
    }

    function _updateKind(uint16 kind, uint16 roles, uint32 weight, uint8 flags, bool active) internal {
        vm.prank(address(membership));
        registry.updateKind(kind, roles, weight, flags, active);
    }

    /// @dev The sum of every member's points (ids 0 to the last admitted).
    function _sumOfPoints() internal view returns (uint256 sum) {
        uint64 count = membership.memberCount();
        for (uint64 id = 0; id <= count; ++id) {
            sum += registry.pointsOf(id);
        }
    }

    // ---------------------------------------------------------------- EIP-712

    function _domainSeparator(uint256 chainId, address verifyingContract) internal pure returns (bytes32) {
        return keccak256(
            abi.encode(
                EIP712_DOMAIN_TYPEHASH, keccak256("VehicleEvidenceRegistry"), keccak256("1"), chainId, verifyingContract
            )
        );
    }

    function _structHash(SignedAttest memory a) internal pure returns (bytes32) {
        return keccak256(abi.encode(ATTEST_TYPEHASH, a.subject, a.kind, a.digest, a.ref, a.expiry, a.nonce, a.deadline));
    }

    /// @dev The EIP-712 digest, against the registry's own `DOMAIN_SEPARATOR()`.
    function _typedDigest(SignedAttest memory a) internal view returns (bytes32) {
        return keccak256(abi.encodePacked("\x19\x01", registry.DOMAIN_SEPARATOR(), _structHash(a)));
    }

    function _structHash(SignedReading memory r) internal pure returns (bytes32) {
        return keccak256(
            abi.encode(
                ATTEST_READING_TYPEHASH, r.subject, r.kind, r.digest, r.ref, r.expiry, r.reading, r.nonce, r.deadline
            )
        );
    }

    /// @dev The EIP-712 digest of a reading, against the registry's own `DOMAIN_SEPARATOR()`.
    function _typedDigest(SignedReading memory r) internal view returns (bytes32) {
        return keccak256(abi.encodePacked("\x19\x01", registry.DOMAIN_SEPARATOR(), _structHash(r)));
    }

    function _sign(uint256 key, bytes32 digest) internal pure returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, digest);
        return abi.encodePacked(r, s, v);
    }

    /// @dev A delegated inspection of SUBJECT by `signer`, with its current nonce and a deadline one hour away.
    function _signedAttest(address signer, string memory name) internal view returns (SignedAttest memory) {
        return SignedAttest({
            subject: SUBJECT,
            kind: KIND_INSPECTION,
            digest: _digest(name),
            ref: bytes32(0),
            expiry: 0,
            nonce: registry.nonces(signer),
            deadline: block.timestamp + 1 hours
        });
    }

    function _relay(SignedAttest memory a, address attester, bytes memory signature) internal returns (bytes32) {
        vm.prank(stranger);
        return registry.attestBySig(a.subject, a.kind, a.digest, a.ref, a.expiry, attester, a.deadline, signature);
    }

    function _attestBySigCall(SignedAttest memory a, address attester, bytes memory signature)
        internal
        pure
        returns (bytes memory)
    {
        return abi.encodeCall(
            IEvidenceRegistry.attestBySig,
            (a.subject, a.kind, a.digest, a.ref, a.expiry, attester, a.deadline, signature)
        );
    }

    /// @dev A delegated reading of SUBJECT by `signer` on the flagging odometer kind, with its current nonce and a
    /// deadline one hour away.
    function _signedReading(address signer, string memory name, uint64 reading)
        internal
        view
        returns (SignedReading memory)
    {
        return SignedReading({
            subject: SUBJECT,
            kind: KIND_ODOMETER,
            digest: _digest(name),
            ref: bytes32(0),
            expiry: 0,
            reading: reading,
            nonce: registry.nonces(signer),
            deadline: block.timestamp + 1 hours
        });
    }

    function _relayReading(SignedReading memory r, address attester, bytes memory signature)
        internal
        returns (bytes32)
    {
        vm.prank(stranger);
        return registry.attestReadingBySig(
            r.subject, r.kind, r.digest, r.ref, r.expiry, r.reading, attester, r.deadline, signature
        );
    }

    function _attestReadingBySigCall(SignedReading memory r, address attester, bytes memory signature)
        internal
        pure
        returns (bytes memory)
    {
        return abi.encodeCall(
            IEvidenceRegistry.attestReadingBySig,
            (r.subject, r.kind, r.digest, r.ref, r.expiry, r.reading, attester, r.deadline, signature)
        );
    }

    // ---------------------------------------------------------------- Merkle trees (OpenZeppelin sorted pairs)

    function _hashPair(bytes32 a, bytes32 b) internal pure returns (bytes32) {
        return a < b ? keccak256(abi.encodePacked(a, b)) : keccak256(abi.encodePacked(b, a));
    }

    /// @dev The leaf of a batch record, computed here from the specification (not by the registry).
    function _leaf(uint64 batchId, bytes32 subject, bytes32 digest) internal pure returns (bytes32) {
        return keccak256(bytes.concat(keccak256(abi.encode(LEAF_DOMAIN, batchId, subject, digest))));
    }

    /// @dev The layer above `layer`: pairs hashed in order, an odd last node carried up unchanged.
    function _nextLayer(bytes32[] memory layer) internal pure returns (bytes32[] memory next) {
        next = new bytes32[]((layer.length + 1) / 2);
        for (uint256 i = 0; i < next.length; ++i) {
            next[i] = 2 * i + 1 < layer.length ? _hashPair(layer[2 * i], layer[2 * i + 1]) : layer[2 * i];
        }
    }

    function _merkleRoot(bytes32[] memory leaves) internal pure returns (bytes32) {
        require(leaves.length != 0, "empty tree");
        bytes32[] memory layer = leaves;
        while (layer.length > 1) {
            layer = _nextLayer(layer);
        }
        return layer[0];
    }

    /// @dev The sibling path of leaf `index`, bottom up (a level where the node has no sibling adds nothing).
    function _merkleProof(bytes32[] memory leaves, uint256 index) internal pure returns (bytes32[] memory proof) {
        bytes32[] memory path = new bytes32[](256);
        uint256 length;
        bytes32[] memory layer = leaves;
        while (layer.length > 1) {
            uint256 sibling = index ^ 1;
            if (sibling < layer.length) path[length++] = layer[sibling];
            layer = _nextLayer(layer);
            index /= 2;
        }
        proof = new bytes32[](length);
        for (uint256 i = 0; i < length; ++i) {
            proof[i] = path[i];
        }
    }

    /// @dev `count` distinct (subject, digest) pairs derived from `seed`, and their leaves in batch `batchId`.
    function _batchRecords(uint64 batchId, uint256 count, uint256 seed)
        internal
        pure
        returns (bytes32[] memory subjects, bytes32[] memory digests, bytes32[] memory leaves)
    {
        subjects = new bytes32[](count);
        digests = new bytes32[](count);
        leaves = new bytes32[](count);
        for (uint256 i = 0; i < count; ++i) {
            subjects[i] = keccak256(abi.encode("batch-subject", seed, i % 3));
            digests[i] = keccak256(abi.encode("batch-digest", seed, i));
            leaves[i] = _leaf(batchId, subjects[i], digests[i]);
        }
    }

    function _anchor(address account, uint16 kind, bytes32 root, uint32 count) internal returns (uint64 batchId) {
        vm.prank(account);
        batchId = registry.anchorBatch(kind, root, count, URI);
    }

    // ---------------------------------------------------------------- authorization helpers

    /// @dev Every account of the fixture with its roles (the stranger holds none).
    function _accounts() internal view returns (address[] memory accounts, uint256[] memory roles) {
        accounts = new address[](9);
        roles = new uint256[](9);
        (accounts[0], roles[0]) = (stranger, 0);
        (accounts[1], roles[1]) = (governorA, Roles.GOVERNOR);
        (accounts[2], roles[2]) = (dealer, Roles.DEALER);
        (accounts[3], roles[3]) = (otherDealer, Roles.DEALER);
        (accounts[4], roles[4]) = (insurer, Roles.INSURER);
        (accounts[5], roles[5]) = (repairShop, Roles.REPAIR_SHOP);
        (accounts[6], roles[6]) = (bank, Roles.BANK);
        (accounts[7], roles[7]) = (telematics, Roles.TELEMATICS_ORACLE);
        (accounts[8], roles[8]) = (dmv, Roles.DMV_ORACLE);
    }

    /// @dev Calls the registry as `caller` and asserts it reverts with exactly `err`.
    function _expectRevertFrom(address caller, bytes memory data, bytes memory err) internal {
        _expectRevertFrom(address(registry), caller, data, err);
    }

    /// @dev `data` is refused with `RegistryUnauthorizedAttester(account, kind)` for the non-member and for every
    /// member holding none of the kind's roles.
    function _assertAttestRefusedWithoutRole(bytes memory data, uint16 kind) internal {
        uint256 refused;
        (IEvidenceRegistry.Kind memory k,) = registry.getKind(kind);
        (address[] memory accounts, uint256[] memory roles) = _accounts();
        for (uint256 i = 0; i < accounts.length; ++i) {
            if (roles[i] & k.roles != 0) continue;
            _expectRevertFrom(
                accounts[i],
                data,
                abi.encodeWithSelector(IEvidenceRegistry.RegistryUnauthorizedAttester.selector, accounts[i], kind)
            );
            ++refused;
        }
        assertGe(refused, 4, "too few callers checked");
    }

    /// @dev `account` (of `memberId`) is refused with `err` once its member is suspended, and again once expelled.
    function _assertRefusedSuspendedAndExpelled(bytes memory data, address account, uint64 memberId, bytes memory err)
        internal
    {
        _assertRefusedSuspendedAndExpelled(address(registry), data, account, memberId, err);
    }

    /// @dev Every member account, governors included, the non-member and this test contract are refused as not
    /// governance.
    function _assertOnlyGovernance(bytes memory data) internal {
        (address[] memory accounts,) = _accounts();
        address[] memory callers = new address[](accounts.length + 1);
        for (uint256 i = 0; i < accounts.length; ++i) {
            callers[i] = accounts[i];
        }
        callers[accounts.length] = governorB;
        _assertOnlyGovernance(address(registry), IEvidenceRegistry.RegistryOnlyGovernance.selector, callers, data);
    }
}
