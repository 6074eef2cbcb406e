// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {Nonces} from "@openzeppelin/contracts/utils/Nonces.sol";

import {CreditPoints} from "./CreditPoints.sol";
import {ICreditPoints} from "./interfaces/ICreditPoints.sol";
import {IEvidenceRegistry} from "./interfaces/IEvidenceRegistry.sol";
import {IMembership} from "./interfaces/IMembership.sol";
import {Roles} from "./libraries/Roles.sol";

/// @title EvidenceRegistry
/// @notice Attestations about vehicles by consortium members, and the credit points they earn. See
/// `IEvidenceRegistry` for the rules; `contracts/DESIGN.md` for how the suite fits together.
/// @dev Gas matters here: a single attestation writes one new storage slot (the record) and updates two (the
/// attester member's points). The subject and the points credited are only in the `Attested` event, which indexers
/// read.
contract EvidenceRegistry is IEvidenceRegistry, CreditPoints, EIP712, Nonces {
    // ---------------------------------------------------------------- constants

    /// @notice Records of the kind carry an odometer reading.
    uint8 public constant FLAG_ODOMETER = 1;
    /// @notice A reading below the subject's last one reverts instead of being flagged.
    uint8 public constant FLAG_ROLLBACK_REJECT = 2;
    /// @notice Domain of batch leaves.
    bytes32 public constant LEAF_DOMAIN = keccak256("VehicleEvidence.BatchLeaf.v1");
    /// @notice EIP-712 type of a delegated attestation.
    bytes32 public constant ATTEST_TYPEHASH = keccak256(
        "Attest(bytes32 subject,uint16 kind,bytes32 digest,bytes32 ref,uint40 expiry,uint256 nonce,uint256 deadline)"
    );
    /// @notice EIP-712 type of a delegated odometer reading.
    bytes32 public constant ATTEST_READING_TYPEHASH = keccak256(
        "AttestReading(bytes32 subject,uint16 kind,bytes32 digest,bytes32 ref,uint40 expiry,uint64 reading,uint256 nonce,uint256 deadline)"
    );

    uint8 private constant _KNOWN_FLAGS = FLAG_ODOMETER | FLAG_ROLLBACK_REJECT;

    // ---------------------------------------------------------------- storage

    IMembership private immutable _membership;

    mapping(uint16 kind => Kind) private _kinds;
    mapping(uint16 kind => bytes32 schemaDigest) private _schemas;
    mapping(bytes32 uid => Record) private _records;
    mapping(bytes32 uid => bytes32 ref) private _refs;
    mapping(bytes32 uid => Revocation) private _revocations;
    mapping(bytes32 uid => bool) private _invalidated;
    mapping(bytes32 uid => bool) private _rollbacks;
    mapping(bytes32 subject => uint64 reading) private _lastReadings;
    mapping(bytes32 uid => Bonus) private _bonuses;
    mapping(uint64 batchId => Batch) private _batches;
    uint64 private _batchCount;
    mapping(uint256 disputeId => Dispute) private _disputes;
    mapping(bytes32 uid => uint256 disputeId) private _openDisputes;
    uint256 private _disputeCount;

    // ---------------------------------------------------------------- constructor

    /// @param membership_ Who may attest, and the governance of this contract.
    /// @param corroborationBonus Points for a record's attester when another member's record references it.
    /// @param slashMultiplier How many times its kind's weight an upheld dispute costs the attester (1 to 100).
    /// @param disputerReward Points for the member whose dispute is upheld.
    constructor(IMembership membership_, uint32 corroborationBonus, uint16 slashMultiplier, uint32 disputerReward)
        CreditPoints(corroborationBonus, slashMultiplier, disputerReward)
        EIP712("VehicleEvidenceRegistry", "1")
    {
        if (address(membership_) == address(0)) revert RegistryInvalidMembership();
        _membership = membership_;
    }

    // ---------------------------------------------------------------- modifiers

    modifier onlyGovernance() {
        if (msg.sender != address(_membership)) revert RegistryOnlyGovernance(msg.sender);
        _;
    }

    // ---------------------------------------------------------------- attestation

    /// @inheritdoc IEvidenceRegistry
    function attest(bytes32 subject, uint16 kind, bytes32 digest, bytes32 ref, uint40 expiry)
        external
        returns (bytes32 uid)
    {
        _attest(msg.sender, subject, kind, digest, ref, expiry, false);
        return digest;
    }

    /// @inheritdoc IEvidenceRegistry
    function attestReading(bytes32 subject, uint16 kind, bytes32 digest, bytes32 ref, uint40 expiry, uint64 reading)
        external
        returns (bytes32 uid)
    {
        _attestReading(msg.sender, subject, kind, digest, ref, expiry, reading);
        return digest;
    }

    /// @inheritdoc IEvidenceRegistry
    function attestBySig(
        bytes32 subject,
        uint16 kind,
        bytes32 digest,
        bytes32 ref,
        uint40 expiry,
        address attester,
        uint256 deadline,
        bytes calldata signature
    ) external returns (bytes32 uid) {
        bytes32 structHash = keccak256(
            abi.encode(ATTEST_TYPEHASH, subject, kind, digest, ref, expiry, _useNonce(attester), deadline)
        );
        _checkSignature(attester, deadline, structHash, signature);
        _attest(attester, subject, kind, digest, ref, expiry, false);
        return digest;
    }

    /// @inheritdoc IEvidenceRegistry
    function attestReadingBySig(
        bytes32 subject,
        uint16 kind,
        bytes32 digest,
        bytes32 ref,
        uint40 expiry,
        uint64 reading,
        address attester,
        uint256 deadline,
        bytes calldata signature
    ) external returns (bytes32 uid) {
        bytes32 structHash = keccak256(
            abi.encode(
                ATTEST_READING_TYPEHASH, subject, kind, digest, ref, expiry, reading, _useNonce(attester), deadline
            )
        );
        _checkSignature(attester, deadline, structHash, signature);
        _attestReading(attester, subject, kind, digest, ref, expiry, reading);
        return digest;
    }

    /// @inheritdoc IEvidenceRegistry
    function invalidateNonce() external {
        uint256 nonce = _useNonce(msg.sender);
        emit NonceInvalidated(msg.sender, nonce);
    }

    /// @inheritdoc IEvidenceRegistry
    function anchorBatch(uint16 kind, bytes32 root, uint32 count, bytes32 uriDigest) external returns (uint64 batchId) {
        (uint64 memberId, Kind memory k) = _authorizeAttester(msg.sender, kind);
        if (root == bytes32(0) || count == 0) revert RegistryInvalidBatch(root, count);
        batchId = ++_batchCount;
        _batches[batchId] = Batch({
            root: root,
            attester: msg.sender,
            time: uint40(block.timestamp),
            kind: kind,
            count: count,
            revokedAt: 0,
            uriDigest: uriDigest
        });
        emit BatchAnchored(batchId, kind, msg.sender, root, count, uriDigest);
        _credit(memberId, k.weight, PointsReason.Batch, bytes32(uint256(batchId)));
    }

    // ---------------------------------------------------------------- revocation and disputes

    /// @inheritdoc IEvidenceRegistry
    function revoke(bytes32 uid, uint16 reason, bytes32 supersededBy) external {
        Record memory record = _records[uid];
        if (record.attester == address(0)) revert RegistryUnknownRecord(uid);
        if (record.attester != msg.sender) revert RegistryNotAttester(uid, msg.sender);
        (uint64 memberId,) = _membership.authorize(msg.sender);
        if (memberId == 0) revert RegistryUnauthorizedAccount(msg.sender);
        if (_revocations[uid].time != 0) revert RegistryAlreadyRevoked(uid);
        uint256 disputeId = _openDisputes[uid];
        if (disputeId != 0) revert RegistryDisputeExists(uid, disputeId);
        if (supersededBy != bytes32(0)) {
            Record memory replacement = _records[supersededBy];
            if (supersededBy == uid || replacement.attester == address(0) || replacement.kind != record.kind) {
                revert RegistryInvalidSupersede(uid, supersededBy);
            }
        }
        _revocations[uid] = Revocation({time: uint40(block.timestamp), reason: reason, supersededBy: supersededBy});
        emit Revoked(uid, msg.sender, reason, supersededBy);
        if (!_invalidated[uid]) _debit(memberId, _kinds[record.kind].weight, PointsReason.Clawback, uid);
        _clawBackBonus(uid);
    }

    /// @inheritdoc IEvidenceRegistry
    function revokeBatch(uint64 batchId, uint16 reason) external {
        Batch storage batch = _batches[batchId];
        if (batch.root == bytes32(0)) revert RegistryUnknownBatch(batchId);
        if (batch.attester != msg.sender) revert RegistryNotBatchAttester(batchId, msg.sender);
        (uint64 memberId,) = _membership.authorize(msg.sender);
        if (memberId == 0) revert RegistryUnauthorizedAccount(msg.sender);
        if (batch.revokedAt != 0) revert RegistryBatchAlreadyRevoked(batchId);
        batch.revokedAt = uint40(block.timestamp);
        emit BatchRevoked(batchId, msg.sender, reason);
        _debit(memberId, _kinds[batch.kind].weight, PointsReason.Clawback, bytes32(uint256(batchId)));
    }

    /// @inheritdoc IEvidenceRegistry
    function openDispute(bytes32 uid, bytes32 evidenceDigest) external returns (uint256 disputeId) {
        (uint64 disputer,) = _membership.authorize(msg.sender);
        if (disputer == 0) revert RegistryUnauthorizedAccount(msg.sender);
        Record memory record = _records[uid];
        if (record.attester == address(0)) revert RegistryUnknownRecord(uid);
        if (_revocations[uid].time != 0) revert RegistryAlreadyRevoked(uid);
        uint256 open = _openDisputes[uid];
        if (open != 0 || _invalidated[uid]) revert RegistryDisputeExists(uid, open);
        uint64 attesterMember = _membership.boundMemberOf(record.attester);
        if (attesterMember == disputer) revert RegistryOwnRecordDispute(uid, disputer);
        disputeId = ++_disputeCount;
        _disputes[disputeId] = Dispute({
            uid: uid,
            disputerMember: disputer,
            attesterMember: attesterMember,
            openedAt: uint40(block.timestamp),
            state: DisputeState.Open,
            evidenceDigest: evidenceDigest
        });
        _openDisputes[uid] = disputeId;
        emit DisputeOpened(disputeId, uid, disputer, evidenceDigest);
    }

    /// @inheritdoc IEvidenceRegistry
    function resolveDispute(uint256 disputeId, bool upheld) external onlyGovernance {
        Dispute storage dispute = _disputes[disputeId];
        if (dispute.state == DisputeState.None) revert RegistryUnknownDispute(disputeId);
        if (dispute.state != DisputeState.Open) {
            revert RegistryUnexpectedDisputeState(disputeId, dispute.state, _disputeStateBit(DisputeState.Open));
        }
        bytes32 uid = dispute.uid;
        dispute.state = upheld ? DisputeState.Upheld : DisputeState.Rejected;
        delete _openDisputes[uid];
        if (upheld) _invalidated[uid] = true;
        emit DisputeResolved(disputeId, uid, upheld);
        if (upheld) {
            _debit(dispute.attesterMember, _slashPoints(_kinds[_records[uid].kind].weight), PointsReason.Slash, uid);
            _credit(dispute.disputerMember, _disputerRewardPoints(), PointsReason.DisputeReward, uid);
            _clawBackBonus(uid);
        }
    }

    // ---------------------------------------------------------------- governance

    /// @inheritdoc IEvidenceRegistry
    function registerKind(uint16 kind, bytes32 schemaDigest, uint16 roles, uint32 weight, uint8 flags)
        external
        onlyGovernance
    {
        if (_kinds[kind].exists) revert RegistryKindExists(kind);
        _checkKind(kind, roles, flags);
        _kinds[kind] = Kind({roles: roles, weight: weight, flags: flags, active: true, exists: true});
        _schemas[kind] = schemaDigest;
        emit KindRegistered(kind, schemaDigest, roles, weight, flags);
    }

    /// @inheritdoc IEvidenceRegistry
    function updateKind(uint16 kind, uint16 roles, uint32 weight, uint8 flags, bool active) external onlyGovernance {
        if (!_kinds[kind].exists) revert RegistryUnknownKind(kind);
        _checkKind(kind, roles, flags);
        _kinds[kind] = Kind({roles: roles, weight: weight, flags: flags, active: active, exists: true});
        emit KindUpdated(kind, roles, weight, flags, active);
    }

    /// @inheritdoc IEvidenceRegistry
    function resetOdometer(bytes32 subject, uint64 reading) external onlyGovernance {
        uint64 previous = _lastReadings[subject];
        _lastReadings[subject] = reading;
        emit OdometerReset(subject, previous, reading);
    }

    /// @inheritdoc ICreditPoints
    function setPointsParameters(uint32 corroborationBonus, uint16 slashMultiplier, uint32 disputerReward)
        external
        onlyGovernance
    {
        _setPointsParameters(corroborationBonus, slashMultiplier, disputerReward);
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc IEvidenceRegistry
    function isValid(bytes32 uid) external view returns (bool) {
        return _isValid(uid);
    }

    /// @inheritdoc IEvidenceRegistry
    function getRecord(bytes32 uid) external view returns (Record memory record, bytes32 ref) {
        return (_records[uid], _refs[uid]);
    }

    /// @inheritdoc IEvidenceRegistry
    function getRevocation(bytes32 uid) external view returns (Revocation memory) {
        return _revocations[uid];
    }

    /// @inheritdoc IEvidenceRegistry
    function isInvalidated(bytes32 uid) external view returns (bool) {
        return _invalidated[uid];
    }

    /// @inheritdoc IEvidenceRegistry
    function isRollbackFlagged(bytes32 uid) external view returns (bool) {
        return _rollbacks[uid];
    }

    /// @inheritdoc IEvidenceRegistry
    function lastReading(bytes32 subject) external view returns (uint64) {
        return _lastReadings[subject];
    }

    /// @inheritdoc IEvidenceRegistry
    function getKind(uint16 kind) external view returns (Kind memory, bytes32 schemaDigest) {
        return (_kinds[kind], _schemas[kind]);
    }

    /// @inheritdoc IEvidenceRegistry
    function getBatch(uint64 batchId) external view returns (Batch memory) {
        return _batches[batchId];
    }

    /// @inheritdoc IEvidenceRegistry
    function batchCount() external view returns (uint64) {
        return _batchCount;
    }

    /// @inheritdoc IEvidenceRegistry
    function batchLeaf(uint64 batchId, bytes32 subject, bytes32 digest) public pure returns (bytes32) {
        return keccak256(bytes.concat(keccak256(abi.encode(LEAF_DOMAIN, batchId, subject, digest))));
    }

    /// @inheritdoc IEvidenceRegistry
    function verifyBatchRecord(uint64 batchId, bytes32 subject, bytes32 digest, bytes32[] calldata proof)
        external
        view
        returns (bool)
    {
        Batch storage batch = _batches[batchId];
        if (batch.root == bytes32(0) || batch.revokedAt != 0) return false;
        return MerkleProof.verifyCalldata(proof, batch.root, batchLeaf(batchId, subject, digest));
    }

    /// @inheritdoc IEvidenceRegistry
    function getDispute(uint256 disputeId) external view returns (Dispute memory) {
        return _disputes[disputeId];
    }

    /// @inheritdoc IEvidenceRegistry
    function openDisputeOf(bytes32 uid) external view returns (uint256) {
        return _openDisputes[uid];
    }

    /// @inheritdoc IEvidenceRegistry
    function nonces(address account) public view override(IEvidenceRegistry, Nonces) returns (uint256) {
        return super.nonces(account);
    }

    /// @inheritdoc IEvidenceRegistry
    // solhint-disable-next-line func-name-mixedcase
    function DOMAIN_SEPARATOR() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    // ---------------------------------------------------------------- internal

    /// @dev Checks, writes and rewards one record; returns the kind's flags.
    function _attest(
        address attester,
        bytes32 subject,
        uint16 kind,
        bytes32 digest,
        bytes32 ref,
        uint40 expiry,
        bool withReading
    ) private returns (uint8 flags) {
        (uint64 memberId, Kind memory k) = _authorizeAttester(attester, kind);
        bool odometer = k.flags & FLAG_ODOMETER != 0;
        if (odometer && !withReading) revert RegistryReadingRequired(kind);
        if (!odometer && withReading) revert RegistryNotOdometerKind(kind);
        if (digest == bytes32(0)) revert RegistryInvalidDigest();
        if (_records[digest].attester != address(0)) revert RegistryDuplicateDigest(digest);
        if (expiry != 0 && expiry <= block.timestamp) revert RegistryInvalidExpiry(expiry);
        Record memory referenced;
        if (ref != bytes32(0)) {
            referenced = _records[ref];
            if (referenced.attester == address(0)) revert RegistryUnknownRecord(ref);
            _refs[digest] = ref;
        }
        _records[digest] = Record({attester: attester, time: uint40(block.timestamp), expiry: expiry, kind: kind});
        emit Attested(subject, kind, attester, digest, ref, expiry, k.weight);
        _creditSilently(memberId, k.weight);
        if (ref != bytes32(0) && referenced.kind == kind) _corroborate(memberId, digest, ref, referenced.attester);
        return k.flags;
    }

    /// @dev Checks, writes and rewards one odometer record, then applies the rollback rule of the kind's flags.
    function _attestReading(
        address attester,
        bytes32 subject,
        uint16 kind,
        bytes32 digest,
        bytes32 ref,
        uint40 expiry,
        uint64 reading
    ) private {
        uint8 flags = _attest(attester, subject, kind, digest, ref, expiry, true);
        uint64 last = _lastReadings[subject];
        bool rollback = reading < last;
        if (rollback) {
            if (flags & FLAG_ROLLBACK_REJECT != 0) revert RegistryOdometerRollback(subject, last, reading);
            _rollbacks[digest] = true;
        } else {
            _lastReadings[subject] = reading;
        }
        emit OdometerRecorded(subject, digest, reading, rollback);
    }

    /// @dev Reverts unless `deadline` has not passed and `attester` signed `structHash` (which holds the nonce just
    /// used) for this registry's EIP-712 domain.
    function _checkSignature(address attester, uint256 deadline, bytes32 structHash, bytes calldata signature)
        private
        view
    {
        if (block.timestamp > deadline) revert RegistryExpiredSignature(deadline);
        (address signer, ECDSA.RecoverError recoverError,) = ECDSA.tryRecover(_hashTypedDataV4(structHash), signature);
        if (recoverError != ECDSA.RecoverError.NoError || signer != attester) {
            revert RegistryInvalidSignature(attester);
        }
    }

    /// @dev A reference to another member's valid record of the same kind corroborates it: its attester's member
    /// earns the corroboration bonus.
    /// The bonus paid is remembered with the corroborating record and taken back if that record is revoked or
    /// loses a dispute, so attesting and revoking cannot farm bonuses for a friend.
    function _corroborate(uint64 memberId, bytes32 uid, bytes32 ref, address refAttester) private {
        uint32 bonus = _corroborationBonusPoints();
        if (bonus == 0) return;
        uint64 refMember = _membership.boundMemberOf(refAttester);
        if (refMember != 0 && refMember != memberId && _isValid(ref)) {
            _bonuses[uid] = Bonus({memberId: refMember, amount: bonus});
            _credit(refMember, bonus, PointsReason.Corroboration, ref);
        }
    }

    /// @dev Takes back the corroboration bonus `uid` paid, if any (capped at the receiver's balance).
    function _clawBackBonus(bytes32 uid) private {
        Bonus memory bonus = _bonuses[uid];
        if (bonus.amount == 0) return;
        delete _bonuses[uid];
        _debit(bonus.memberId, bonus.amount, PointsReason.Clawback, uid);
    }

    function _authorizeAttester(address attester, uint16 kind) private view returns (uint64 memberId, Kind memory k) {
        k = _kinds[kind];
        if (!k.exists) revert RegistryUnknownKind(kind);
        if (!k.active) revert RegistryKindInactive(kind);
        uint256 roles;
        (memberId, roles) = _membership.authorize(attester);
        if (roles & k.roles == 0) revert RegistryUnauthorizedAttester(attester, kind);
    }

    function _memberCount() internal view override returns (uint64) {
        return _membership.memberCount();
    }

    function _isValid(bytes32 uid) private view returns (bool) {
        // A reference always points at a record older than the one holding it, so the chain ends.
        while (true) {
            Record memory record = _records[uid];
            if (record.attester == address(0) || _revocations[uid].time != 0 || _invalidated[uid]) return false;
            if (record.expiry != 0 && record.expiry <= block.timestamp) return false;
            uid = _refs[uid];
            if (uid == bytes32(0)) return true;
        }
        return false; // unreachable; keeps the compiler's return analysis simple
    }

    /// @dev A dispute state as a bit of the `expectedStates` bitmap of `RegistryUnexpectedDisputeState`.
    function _disputeStateBit(DisputeState state) private pure returns (bytes32) {
        // forge-lint: disable-next-line(incorrect-shift)
        return bytes32(1 << uint8(state));
    }

    function _checkKind(uint16 kind, uint16 roles, uint8 flags) private pure {
        bool badFlags = flags & ~_KNOWN_FLAGS != 0 || (flags & FLAG_ROLLBACK_REJECT != 0 && flags & FLAG_ODOMETER == 0);
        if (roles == 0 || uint256(roles) & ~Roles.ALL != 0 || badFlags) revert RegistryInvalidKind(kind, roles, flags);
    }
}
