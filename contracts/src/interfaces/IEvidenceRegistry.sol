// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ICreditPoints} from "./ICreditPoints.sol";

/// @title IEvidenceRegistry
/// @notice Attestations about vehicles, anchored by consortium members: single records keyed by their digest,
/// Merkle batches for high-volume data, delegated attestation by EIP-712 signature, revocation, disputes and
/// odometer readings. Only digests are stored; the documents stay off chain. Nothing is ever deleted.
interface IEvidenceRegistry is ICreditPoints {
    // ---------------------------------------------------------------- types

    /// @notice An attestation kind, registered by governance.
    /// @param roles Mask of the roles (see `Roles`) whose members may attest this kind.
    /// @param weight Points an accepted attestation (or batch) of this kind earns.
    /// @param flags `FLAG_ODOMETER`: records carry a reading; `FLAG_ROLLBACK_REJECT`: a reading below the
    /// subject's last one reverts instead of being flagged.
    struct Kind {
        uint16 roles;
        uint32 weight;
        uint8 flags;
        bool active;
        bool exists;
    }

    /// @notice A single record, keyed by its digest (the record's uid).
    /// @dev Packed in one storage slot; `ref` is stored apart, and only when non-zero.
    struct Record {
        address attester;
        uint40 time;
        uint40 expiry;
        uint16 kind;
    }

    struct Revocation {
        uint40 time;
        uint16 reason;
        bytes32 supersededBy;
    }

    struct Batch {
        bytes32 root;
        address attester;
        uint40 time;
        uint16 kind;
        uint32 count;
        uint40 revokedAt;
        bytes32 uriDigest;
    }

    /// @notice A corroboration bonus a record paid to another member, taken back if the record is revoked or
    /// invalidated.
    struct Bonus {
        uint64 memberId;
        uint32 amount;
    }

    enum DisputeState {
        None,
        Open,
        Upheld,
        Rejected
    }

    struct Dispute {
        bytes32 uid;
        uint64 disputerMember;
        uint64 attesterMember;
        uint40 openedAt;
        DisputeState state;
        bytes32 evidenceDigest;
    }

    // ---------------------------------------------------------------- errors

    error RegistryInvalidMembership();
    error RegistryOnlyGovernance(address caller);
    error RegistryUnauthorizedAttester(address account, uint16 kind);
    error RegistryUnauthorizedAccount(address account);
    error RegistryUnknownKind(uint16 kind);
    error RegistryKindExists(uint16 kind);
    error RegistryInvalidKind(uint16 kind, uint16 roles, uint8 flags);
    error RegistryKindInactive(uint16 kind);
    error RegistryInvalidDigest();
    error RegistryDuplicateDigest(bytes32 digest);
    error RegistryUnknownRecord(bytes32 uid);
    error RegistryInvalidExpiry(uint40 expiry);
    error RegistryReadingRequired(uint16 kind);
    error RegistryNotOdometerKind(uint16 kind);
    error RegistryOdometerRollback(bytes32 subject, uint64 last, uint64 reading);
    error RegistryNotAttester(bytes32 uid, address caller);
    error RegistryAlreadyRevoked(bytes32 uid);
    error RegistryInvalidSupersede(bytes32 uid, bytes32 supersededBy);
    error RegistryExpiredSignature(uint256 deadline);
    error RegistryInvalidSignature(address attester);
    error RegistryInvalidBatch(bytes32 root, uint32 count);
    error RegistryUnknownBatch(uint64 batchId);
    error RegistryNotBatchAttester(uint64 batchId, address caller);
    error RegistryBatchAlreadyRevoked(uint64 batchId);
    error RegistryUnknownDispute(uint256 disputeId);
    error RegistryDisputeExists(bytes32 uid, uint256 disputeId);
    error RegistryOwnRecordDispute(bytes32 uid, uint64 memberId);
    /// @notice The dispute is not in a state the call accepts.
    /// @param disputeId The dispute.
    /// @param current The dispute's state.
    /// @param expectedStates The states the call would have accepted, as a bitmap: bit `i` (`1 << i`) is set when the
    /// state with enum value `i` would have been accepted.
    error RegistryUnexpectedDisputeState(uint256 disputeId, DisputeState current, bytes32 expectedStates);

    // ---------------------------------------------------------------- events

    event KindRegistered(uint16 indexed kind, bytes32 schemaDigest, uint16 roles, uint32 weight, uint8 flags);
    event KindUpdated(uint16 indexed kind, uint16 roles, uint32 weight, uint8 flags, bool active);
    /// @notice A record was attested; the attester's member was credited `points` (the kind's weight). The credit is
    /// reported here rather than by a `PointsChanged` event, which would cost each attestation another log.
    event Attested(
        bytes32 indexed subject,
        uint16 indexed kind,
        address indexed attester,
        bytes32 uid,
        bytes32 ref,
        uint40 expiry,
        uint32 points
    );
    event OdometerRecorded(bytes32 indexed subject, bytes32 indexed uid, uint64 reading, bool rollback);
    event Revoked(bytes32 indexed uid, address indexed attester, uint16 reason, bytes32 supersededBy);
    event BatchAnchored(
        uint64 indexed batchId,
        uint16 indexed kind,
        address indexed attester,
        bytes32 root,
        uint32 count,
        bytes32 uriDigest
    );
    event BatchRevoked(uint64 indexed batchId, address indexed attester, uint16 reason);
    event DisputeOpened(
        uint256 indexed disputeId, bytes32 indexed uid, uint64 indexed disputerMember, bytes32 evidenceDigest
    );
    event DisputeResolved(uint256 indexed disputeId, bytes32 indexed uid, bool upheld);
    event NonceInvalidated(address indexed account, uint256 nonce);
    event OdometerReset(bytes32 indexed subject, uint64 previous, uint64 reading);

    // ---------------------------------------------------------------- attestation

    /// @notice Attests `digest` about `subject` as a record of `kind`, by the caller's member.
    /// @param subject The vehicle's subject id (a keyed hash of its VIN, made off chain).
    /// @param kind A registered, active kind the caller's member has a role for; not an odometer kind.
    /// @param digest keccak-256 of the salted canonical record; becomes the record's uid; never seen before.
    /// @param ref 0, or the uid of an existing record this one refers to (a correction, a corroboration).
    /// @param expiry 0 for never, or a time in the future after which the record is no longer valid.
    /// @return uid The record's uid (`digest`).
    function attest(bytes32 subject, uint16 kind, bytes32 digest, bytes32 ref, uint40 expiry)
        external
        returns (bytes32 uid);

    /// @notice Attests an odometer reading: as `attest`, for a kind with `FLAG_ODOMETER`. A reading below the
    /// subject's last reading reverts with `RegistryOdometerRollback` if the kind has `FLAG_ROLLBACK_REJECT`,
    /// and is otherwise recorded and flagged as a rollback (the subject's last reading stays the highest).
    function attestReading(bytes32 subject, uint16 kind, bytes32 digest, bytes32 ref, uint40 expiry, uint64 reading)
        external
        returns (bytes32 uid);

    /// @notice Attests on behalf of `attester`, who signed the EIP-712 message
    /// `Attest(bytes32 subject,uint16 kind,bytes32 digest,bytes32 ref,uint40 expiry,uint256 nonce,uint256 deadline)`
    /// with its current nonce. Anyone may relay. The record is the attester's, and so are the points. Not for an
    /// odometer kind (`RegistryReadingRequired`): its readings are relayed by `attestReadingBySig`.
    function attestBySig(
        bytes32 subject,
        uint16 kind,
        bytes32 digest,
        bytes32 ref,
        uint40 expiry,
        address attester,
        uint256 deadline,
        bytes calldata signature
    ) external returns (bytes32 uid);

    /// @notice Attests an odometer reading on behalf of `attester`: as `attestReading`, for a kind with
    /// `FLAG_ODOMETER`, by the EIP-712 message `AttestReading(bytes32 subject,uint16 kind,bytes32 digest,bytes32 ref,
    /// uint40 expiry,uint64 reading,uint256 nonce,uint256 deadline)` signed with the attester's current nonce (the
    /// nonce `attestBySig` uses). Anyone may relay. The record is the attester's, and so are the points; a reading
    /// below the subject's last one is rejected or flagged as by `attestReading`.
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
    ) external returns (bytes32 uid);

    /// @notice Burns the caller's current nonce, cancelling every signature made with it.
    function invalidateNonce() external;

    /// @notice Anchors the Merkle root of `count` records of `kind` (leaves as `batchLeaf`).
    /// @return batchId The batch's id (sequential from 1).
    function anchorBatch(uint16 kind, bytes32 root, uint32 count, bytes32 uriDigest) external returns (uint64 batchId);

    // ---------------------------------------------------------------- revocation and disputes

    /// @notice Revokes a record; only the account that attested it. `supersededBy` is 0 or an existing record of
    /// the same kind that replaces it. The attester's member loses the points the record earned.
    function revoke(bytes32 uid, uint16 reason, bytes32 supersededBy) external;

    /// @notice Revokes a batch; only the account that anchored it.
    function revokeBatch(uint64 batchId, uint16 reason) external;

    /// @notice Disputes a record with the digest of the disputer's evidence; any active member but the
    /// attester's. At most one open dispute per record.
    /// @return disputeId The dispute's id (sequential from 1).
    function openDispute(bytes32 uid, bytes32 evidenceDigest) external returns (uint256 disputeId);

    /// @notice Upholds or rejects an open dispute. Governance only. Upheld: the record is invalid for good, the
    /// attester's member is slashed (kind weight x slash multiplier) and the disputer's member rewarded.
    function resolveDispute(uint256 disputeId, bool upheld) external;

    // ---------------------------------------------------------------- kinds (governance)

    /// @notice Registers an attestation kind. Governance only.
    function registerKind(uint16 kind, bytes32 schemaDigest, uint16 roles, uint32 weight, uint8 flags) external;

    /// @notice Sets a subject's last odometer reading, e.g. after an upheld dispute proved a reading false (a false
    /// high reading would otherwise make every honest reading a rollback). Governance only.
    function resetOdometer(bytes32 subject, uint64 reading) external;

    /// @notice Changes a kind's roles, weight, flags, and whether it accepts new records. Governance only.
    function updateKind(uint16 kind, uint16 roles, uint32 weight, uint8 flags, bool active) external;

    // ---------------------------------------------------------------- views

    /// @notice Whether a record exists, is not revoked, not expired, not invalidated by an upheld dispute, and
    /// its reference (if any) is valid by the same rule.
    function isValid(bytes32 uid) external view returns (bool);

    /// @notice A record (all zero when unknown).
    function getRecord(bytes32 uid) external view returns (Record memory record, bytes32 ref);

    /// @notice A record's revocation (all zero when not revoked).
    function getRevocation(bytes32 uid) external view returns (Revocation memory);

    /// @notice Whether an upheld dispute invalidated a record.
    function isInvalidated(bytes32 uid) external view returns (bool);

    /// @notice Whether a reading was recorded as a rollback.
    function isRollbackFlagged(bytes32 uid) external view returns (bool);

    /// @notice The highest odometer reading recorded for a subject.
    function lastReading(bytes32 subject) external view returns (uint64);

    /// @notice A kind and its schema digest.
    function getKind(uint16 kind) external view returns (Kind memory, bytes32 schemaDigest);

    /// @notice A batch (all zero when unknown).
    function getBatch(uint64 batchId) external view returns (Batch memory);

    /// @notice The number of batches anchored.
    function batchCount() external view returns (uint64);

    /// @notice The leaf of a batch record: `keccak256(bytes.concat(keccak256(abi.encode(LEAF_DOMAIN, batchId,
    /// subject, digest))))`. Domain separated and hashed twice, so no 64-byte inner node can pass as a leaf.
    function batchLeaf(uint64 batchId, bytes32 subject, bytes32 digest) external pure returns (bytes32);

    /// @notice Whether (subject, digest) is in batch `batchId` by `proof`, and the batch is not revoked.
    function verifyBatchRecord(uint64 batchId, bytes32 subject, bytes32 digest, bytes32[] calldata proof)
        external
        view
        returns (bool);

    /// @notice A dispute.
    function getDispute(uint256 disputeId) external view returns (Dispute memory);

    /// @notice The open dispute of a record (0 when none).
    function openDisputeOf(bytes32 uid) external view returns (uint256);

    /// @notice The next nonce `account` must sign with.
    function nonces(address account) external view returns (uint256);

    /// @notice The EIP-712 domain separator of delegated attestations.
    function DOMAIN_SEPARATOR() external view returns (bytes32);
}
