// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Test} from "forge-std/Test.sol";
import {EvidenceRegistry} from "../../src/EvidenceRegistry.sol";
import {IEvidenceRegistry} from "../../src/interfaces/IEvidenceRegistry.sol";
import {IMembership} from "../../src/interfaces/IMembership.sol";

/// @notice Drives an EvidenceRegistry through random attestations (direct, delegated, odometer readings), batches,
/// revocations, disputes and their resolution, and suspensions and reinstatements of the attesting members, by the
/// right account most of the time and by a wrong one sometimes. Everything it knows it learns before each call
/// (who may act, what the rules say should happen) and records in ghost state after a call succeeds, so the
/// invariants compare the registry against an account kept independently of it.
contract RegistryHandler is Test {
    /// @dev A member account the handler acts as, with its signing key.
    struct Actor {
        address account;
        uint256 key;
        uint64 memberId;
    }

    /// @dev The fixture's kinds: two plain ones, a flagging and a rejecting odometer kind, one for batches.
    struct Kinds {
        uint16[2] plain;
        uint16 odometer;
        uint16 strict;
        uint16 batch;
    }

    /// @dev A delegated attestation, less the nonce (always the signer's current one).
    struct Message {
        bytes32 subject;
        uint16 kind;
        bytes32 digest;
        bytes32 ref;
        uint40 expiry;
        uint256 deadline;
    }

    EvidenceRegistry internal immutable _registry;
    IMembership internal immutable _membership;
    Actor[] internal _actors;
    Kinds internal _kinds;
    address internal immutable _relayer;
    bytes32[3] internal _subjects;

    uint256 internal _digestCounter;
    bytes32[] internal _uids;
    uint64[] internal _batches;
    uint256[] internal _disputes;

    /// @dev The account the registry should have recorded as a record's attester.
    mapping(bytes32 uid => address) public ghostAttester;
    /// @dev Whether that account signed for an active member holding one of the kind's roles when it attested.
    mapping(bytes32 uid => bool) public ghostAuthorized;
    /// @dev Records whose dispute governance upheld.
    mapping(bytes32 uid => bool) public ghostUpheld;
    /// @dev The highest reading accepted for a subject without being a rollback.
    mapping(bytes32 subject => uint64) public ghostMaxReading;
    /// @dev Readings the registry handled against the rule: a rollback not flagged, a non-rollback flagged, or a
    /// rollback accepted by a rejecting kind.
    uint256 public ghostRollbackMismatches;

    mapping(bytes32 action => uint256) public successes;

    constructor(
        EvidenceRegistry registry_,
        IMembership membership_,
        Actor[] memory actors_,
        Kinds memory kinds_,
        address relayer_
    ) {
        _registry = registry_;
        _membership = membership_;
        for (uint256 i = 0; i < actors_.length; ++i) {
            _actors.push(actors_[i]);
        }
        _kinds = kinds_;
        _relayer = relayer_;
        for (uint256 i = 0; i < _subjects.length; ++i) {
            _subjects[i] = keccak256(abi.encode("invariant-subject", i));
        }
    }

    // ---------------------------------------------------------------- actions

    /// @dev A plain record; one time in three referring to an earlier record, one time in four with an expiry, one
    /// time in ten re-using a digest already attested (must be refused).
    function attest(uint256 actorSeed, uint256 subjectSeed, uint256 kindSeed, uint256 refSeed, uint32 ttl) external {
        uint16 kind = _kinds.plain[kindSeed % 2];
        Actor memory actor = _actorFor(actorSeed, kind);
        bytes32 digest = _digestFor(refSeed);
        bool authorized = _mayAttest(actor.account, kind);
        vm.prank(actor.account);
        try _registry.attest(_subject(subjectSeed), kind, digest, _refFor(refSeed), _expiryFor(ttl)) returns (
            bytes32 uid
        ) {
            _recordUid(uid, actor.account, authorized);
            ++successes["attest"];
        } catch {}
    }

    /// @dev An inspection signed by an actor and relayed by a non-member.
    function attestBySig(uint256 actorSeed, uint256 subjectSeed, uint256 refSeed, uint32 ttl) external {
        Actor memory actor = _actorFor(actorSeed, _kinds.plain[0]);
        Message memory m = Message({
            subject: _subject(subjectSeed),
            kind: _kinds.plain[0],
            digest: _digestFor(refSeed),
            ref: _refFor(refSeed),
            expiry: _expiryFor(ttl),
            deadline: block.timestamp + 1 hours
        });
        bytes memory signature = _sign(actor, m);
        bool authorized = _mayAttest(actor.account, m.kind);
        vm.prank(_relayer);
        try _registry.attestBySig(
            m.subject, m.kind, m.digest, m.ref, m.expiry, actor.account, m.deadline, signature
        ) returns (
            bytes32 uid
        ) {
            _recordUid(uid, actor.account, authorized);
            ++successes["attestBySig"];
        } catch {}
    }

    /// @dev An odometer reading near the subject's highest one (about one in six below it), of either kind.
    function attestReading(uint256 actorSeed, uint256 subjectSeed, bool strict, uint64 reading) external {
        (Actor memory actor, Message memory m, uint64 bounded) = _readingFor(actorSeed, subjectSeed, strict, reading);
        bool authorized = _mayAttest(actor.account, m.kind);
        vm.prank(actor.account);
        try _registry.attestReading(m.subject, m.kind, m.digest, m.ref, m.expiry, bounded) returns (bytes32 uid) {
            _recordReading(uid, actor.account, authorized, m.subject, strict, bounded);
            ++successes["attestReading"];
        } catch {}
    }

    /// @dev As `attestReading`, signed by the actor and relayed by a non-member.
    function attestReadingBySig(uint256 actorSeed, uint256 subjectSeed, bool strict, uint64 reading) external {
        (Actor memory actor, Message memory m, uint64 bounded) = _readingFor(actorSeed, subjectSeed, strict, reading);
        bytes memory signature = _signReading(actor, m, bounded);
        bool authorized = _mayAttest(actor.account, m.kind);
        vm.prank(_relayer);
        try _registry.attestReadingBySig(
            m.subject, m.kind, m.digest, m.ref, m.expiry, bounded, actor.account, m.deadline, signature
        ) returns (
            bytes32 uid
        ) {
            _recordReading(uid, actor.account, authorized, m.subject, strict, bounded);
            ++successes["attestReadingBySig"];
        } catch {}
    }

    function anchorBatch(uint256 actorSeed, bytes32 root, uint32 count) external {
        Actor memory actor = _actorFor(actorSeed, _kinds.batch);
        count = uint32(_bound(count, 0, 5000));
        vm.prank(actor.account);
        try _registry.anchorBatch(_kinds.batch, root, count, keccak256("uri")) returns (uint64 batchId) {
            _batches.push(batchId);
            ++successes["anchorBatch"];
        } catch {}
    }

    /// @dev Mostly by the attesting account; one time in five by another actor (must be refused).
    function revoke(uint256 uidSeed, uint256 actorSeed, uint16 reason) external {
        if (_uids.length == 0) return;
        bytes32 uid = _uids[uidSeed % _uids.length];
        address caller = actorSeed % 5 == 0 ? _actor(actorSeed).account : ghostAttester[uid];
        vm.prank(caller);
        try _registry.revoke(uid, reason, bytes32(0)) {
            ++successes["revoke"];
        } catch {}
    }

    function revokeBatch(uint256 batchSeed, uint256 actorSeed) external {
        if (_batches.length == 0) return;
        uint64 batchId = _batches[batchSeed % _batches.length];
        address caller = actorSeed % 5 == 0 ? _actor(actorSeed).account : _registry.getBatch(batchId).attester;
        vm.prank(caller);
        try _registry.revokeBatch(batchId, 1) {
            ++successes["revokeBatch"];
        } catch {}
    }

    function openDispute(uint256 uidSeed, uint256 actorSeed) external {
        if (_uids.length == 0) return;
        bytes32 uid = _uids[uidSeed % _uids.length];
        vm.prank(_actor(actorSeed).account);
        try _registry.openDispute(uid, keccak256("dispute-evidence")) returns (uint256 disputeId) {
            _disputes.push(disputeId);
            ++successes["openDispute"];
        } catch {}
    }

    function resolveDispute(uint256 disputeSeed, bool upheld) external {
        if (_disputes.length == 0) return;
        uint256 disputeId = _disputes[disputeSeed % _disputes.length];
        vm.prank(address(_membership));
        try _registry.resolveDispute(disputeId, upheld) {
            if (upheld) ghostUpheld[_registry.getDispute(disputeId).uid] = true;
            ++successes["resolveDispute"];
        } catch {}
    }

    function suspend(uint256 actorSeed) external {
        uint64 memberId = _actor(actorSeed).memberId;
        vm.prank(address(_membership));
        try _membership.suspend(memberId) {
            ++successes["suspend"];
        } catch {}
    }

    /// @dev Reinstates a suspended actor when there is one (from a random starting point), otherwise tries any.
    function reinstate(uint256 actorSeed) external {
        uint64 memberId = _actor(actorSeed).memberId;
        for (uint256 i = 0; i < _actors.length; ++i) {
            uint64 candidate = _actor(actorSeed + i).memberId;
            if (_membership.getMember(candidate).status == IMembership.MemberStatus.Suspended) {
                memberId = candidate;
                break;
            }
        }
        vm.prank(address(_membership));
        try _membership.reinstate(memberId) {
            ++successes["reinstate"];
        } catch {}
    }

    function warp(uint32 seconds_) external {
        vm.warp(block.timestamp + _bound(seconds_, 1 minutes, 10 days));
    }

    // ---------------------------------------------------------------- views for the invariants

    function uids() external view returns (bytes32[] memory) {
        return _uids;
    }

    function subjects() external view returns (bytes32[3] memory) {
        return _subjects;
    }

    // ---------------------------------------------------------------- internal

    function _recordUid(bytes32 uid, address attester, bool authorized) internal {
        _uids.push(uid);
        ghostAttester[uid] = attester;
        ghostAuthorized[uid] = authorized;
    }

    /// @dev A reading of a subject by an actor for one of the odometer kinds: a fresh digest, no ref, no expiry, and
    /// `reading` bounded near the subject's highest reading (about one in six below it).
    function _readingFor(uint256 actorSeed, uint256 subjectSeed, bool strict, uint64 reading)
        internal
        returns (Actor memory actor, Message memory m, uint64 bounded)
    {
        m = Message({
            subject: _subject(subjectSeed),
            kind: strict ? _kinds.strict : _kinds.odometer,
            digest: _nextDigest(),
            ref: bytes32(0),
            expiry: 0,
            deadline: block.timestamp + 1 hours
        });
        actor = _actorFor(actorSeed, m.kind);
        uint64 highest = ghostMaxReading[m.subject];
        bounded = uint64(_bound(reading, highest > 2000 ? highest - 2000 : 0, uint256(highest) + 10_000));
    }

    /// @dev Records an accepted reading and checks it against the rollback rule.
    function _recordReading(
        bytes32 uid,
        address attester,
        bool authorized,
        bytes32 subject,
        bool strict,
        uint64 reading
    ) internal {
        _recordUid(uid, attester, authorized);
        bool rollback = reading < ghostMaxReading[subject];
        if (_registry.isRollbackFlagged(uid) != rollback || (rollback && strict)) ++ghostRollbackMismatches;
        if (!rollback) ghostMaxReading[subject] = reading;
    }

    /// @dev Whether `account` signs for an active member holding one of the kind's roles, asked of the Membership
    /// and the kind directly (not of the registry's own check).
    function _mayAttest(address account, uint16 kind) internal view returns (bool) {
        (uint64 memberId, uint256 roles) = _membership.authorize(account);
        (IEvidenceRegistry.Kind memory k,) = _registry.getKind(kind);
        return memberId != 0 && roles & k.roles != 0;
    }

    /// @dev The actor's EIP-712 signature of `m` with its current nonce.
    function _sign(Actor memory actor, Message memory m) internal view returns (bytes memory) {
        return _signStruct(
            actor,
            keccak256(
                abi.encode(
                    _registry.ATTEST_TYPEHASH(),
                    m.subject,
                    m.kind,
                    m.digest,
                    m.ref,
                    m.expiry,
                    _registry.nonces(actor.account),
                    m.deadline
                )
            )
        );
    }

    /// @dev The actor's EIP-712 signature of `m` with `reading`, as an `AttestReading`, with its current nonce.
    function _signReading(Actor memory actor, Message memory m, uint64 reading) internal view returns (bytes memory) {
        return _signStruct(
            actor,
            keccak256(
                abi.encode(
                    _registry.ATTEST_READING_TYPEHASH(),
                    m.subject,
                    m.kind,
                    m.digest,
                    m.ref,
                    m.expiry,
                    reading,
                    _registry.nonces(actor.account),
                    m.deadline
                )
            )
        );
    }

    function _signStruct(Actor memory actor, bytes32 structHash) internal view returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) =
            vm.sign(actor.key, keccak256(abi.encodePacked("\x19\x01", _registry.DOMAIN_SEPARATOR(), structHash)));
        return abi.encodePacked(r, s, v);
    }

    function _actor(uint256 seed) internal view returns (Actor memory) {
        return _actors[seed % _actors.length];
    }

    /// @dev Four times in five an actor whose member holds one of the kind's roles (suspended or not), from a random
    /// starting point; otherwise any actor.
    function _actorFor(uint256 seed, uint16 kind) internal view returns (Actor memory) {
        if (seed % 5 == 0) return _actor(seed / 5);
        (IEvidenceRegistry.Kind memory k,) = _registry.getKind(kind);
        for (uint256 i = 0; i < _actors.length; ++i) {
            Actor memory candidate = _actor(seed + i);
            if (_membership.getMember(candidate.memberId).roles & k.roles != 0) return candidate;
        }
        return _actor(seed);
    }

    function _subject(uint256 seed) internal view returns (bytes32) {
        return _subjects[seed % _subjects.length];
    }

    function _nextDigest() internal returns (bytes32) {
        return keccak256(abi.encode("invariant-digest", ++_digestCounter));
    }

    /// @dev A fresh digest, or one time in ten one already attested.
    function _digestFor(uint256 seed) internal returns (bytes32) {
        if (_uids.length != 0 && seed % 10 == 9) return _uids[(seed / 10) % _uids.length];
        return _nextDigest();
    }

    /// @dev One time in three an earlier record, otherwise none.
    function _refFor(uint256 seed) internal view returns (bytes32) {
        if (_uids.length == 0 || seed % 3 != 0) return bytes32(0);
        return _uids[(seed / 3) % _uids.length];
    }

    /// @dev One time in four an expiry between an hour and 20 days away, otherwise none.
    function _expiryFor(uint32 ttl) internal view returns (uint40) {
        if (ttl % 4 != 0) return 0;
        return uint40(block.timestamp + _bound(ttl, 1 hours, 20 days));
    }
}
