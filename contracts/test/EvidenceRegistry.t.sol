// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Vm} from "forge-std/Vm.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";

import {RegistryTestBase} from "./utils/RegistryTestBase.sol";
import {EvidenceRegistry} from "../src/EvidenceRegistry.sol";
import {ICreditPoints} from "../src/interfaces/ICreditPoints.sol";
import {IEvidenceRegistry} from "../src/interfaces/IEvidenceRegistry.sol";
import {IMembership} from "../src/interfaces/IMembership.sol";
import {Roles} from "../src/libraries/Roles.sol";

contract EvidenceRegistryTest is RegistryTestBase {
    uint256 internal constant SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141;

    // ================================================================ constructor

    function test_constructor_revertsOnZeroMembership() public {
        vm.expectRevert(IEvidenceRegistry.RegistryInvalidMembership.selector);
        new EvidenceRegistry(IMembership(address(0)), BONUS, SLASH_MULTIPLIER, DISPUTER_REWARD);
    }

    function test_constructor_revertsOnInvalidPointsParameters() public {
        vm.expectRevert(abi.encodeWithSelector(ICreditPoints.CreditPointsInvalidParameters.selector, 5, 0, 20));
        new EvidenceRegistry(membership, 5, 0, 20);
        vm.expectRevert(abi.encodeWithSelector(ICreditPoints.CreditPointsInvalidParameters.selector, 5, 101, 20));
        new EvidenceRegistry(membership, 5, 101, 20);
    }

    function test_constructor_setsParametersDomainAndConstants() public {
        vm.expectEmit();
        emit ICreditPoints.PointsParametersChanged(BONUS, SLASH_MULTIPLIER, DISPUTER_REWARD);
        EvidenceRegistry fresh = new EvidenceRegistry(membership, BONUS, SLASH_MULTIPLIER, DISPUTER_REWARD);

        (uint32 bonus, uint16 multiplier, uint32 reward) = fresh.pointsParameters();
        assertEq(bonus, BONUS);
        assertEq(multiplier, SLASH_MULTIPLIER);
        assertEq(reward, DISPUTER_REWARD);
        assertEq(fresh.totalPoints(), 0);
        assertEq(fresh.batchCount(), 0);
        assertEq(fresh.DOMAIN_SEPARATOR(), _domainSeparator(block.chainid, address(fresh)));
        (, string memory name, string memory version, uint256 chainId, address verifyingContract,,) =
            fresh.eip712Domain();
        assertEq(name, "VehicleEvidenceRegistry");
        assertEq(version, "1");
        assertEq(chainId, block.chainid);
        assertEq(verifyingContract, address(fresh));
        assertEq(fresh.LEAF_DOMAIN(), LEAF_DOMAIN);
        assertEq(fresh.ATTEST_TYPEHASH(), ATTEST_TYPEHASH);
        assertEq(fresh.ATTEST_READING_TYPEHASH(), ATTEST_READING_TYPEHASH);
        assertEq(fresh.FLAG_ODOMETER(), FLAG_ODOMETER);
        assertEq(fresh.FLAG_ROLLBACK_REJECT(), FLAG_ROLLBACK_REJECT);
    }

    // ================================================================ registerKind

    function test_registerKind_byGovernance_storesAndEmits() public {
        vm.expectEmit(address(registry));
        emit IEvidenceRegistry.KindRegistered(9, SCHEMA, uint16(Roles.INSURER), 4, 0);
        vm.prank(address(membership));
        registry.registerKind(9, SCHEMA, uint16(Roles.INSURER), 4, 0);

        (IEvidenceRegistry.Kind memory k, bytes32 schema) = registry.getKind(9);
        assertEq(k.roles, Roles.INSURER);
        assertEq(k.weight, 4);
        assertEq(k.flags, 0);
        assertTrue(k.active);
        assertTrue(k.exists);
        assertEq(schema, SCHEMA);
    }

    function test_getKind_unknownKindIsAllZero() public view {
        (IEvidenceRegistry.Kind memory k, bytes32 schema) = registry.getKind(77);
        assertEq(abi.encode(k), abi.encode(IEvidenceRegistry.Kind(0, 0, 0, false, false)));
        assertEq(schema, bytes32(0));
    }

    function test_registerKind_andUpdateKindThroughProposalAndVote() public {
        address[] memory targets = new address[](2);
        targets[0] = address(registry);
        targets[1] = address(registry);
        bytes[] memory calldatas = new bytes[](2);
        calldatas[0] = abi.encodeCall(
            IEvidenceRegistry.registerKind, (9, keccak256("schema:bank-note"), uint16(Roles.BANK), 3, 0)
        );
        calldatas[1] = abi.encodeCall(IEvidenceRegistry.updateKind, (KIND_INSPECTION, INSPECTION_ROLES, 12, 0, true));

        _passProposal(targets, calldatas);

        (IEvidenceRegistry.Kind memory k, bytes32 schema) = registry.getKind(9);
        assertTrue(k.exists);
        assertEq(k.roles, Roles.BANK);
        assertEq(schema, keccak256("schema:bank-note"));
        (IEvidenceRegistry.Kind memory inspection,) = registry.getKind(KIND_INSPECTION);
        assertEq(inspection.weight, 12);
        // The new kind is open to banks at once, and the new weight applies.
        _attestAs(bank, SUBJECT, 9, _digest("bank-note"), bytes32(0), 0);
        _inspect(dealer, "after-proposal");
        assertEq(registry.pointsOf(bankId), 3);
        assertEq(registry.pointsOf(dealerId), 12);
    }

    function test_registerKind_revertsForNonGovernance() public {
        _assertOnlyGovernance(abi.encodeCall(IEvidenceRegistry.registerKind, (9, SCHEMA, INSPECTION_ROLES, 1, 0)));
        (IEvidenceRegistry.Kind memory k,) = registry.getKind(9);
        assertFalse(k.exists);
    }

    function test_registerKind_revertsWhenKindExists() public {
        vm.expectRevert(abi.encodeWithSelector(IEvidenceRegistry.RegistryKindExists.selector, KIND_INSPECTION));
        vm.prank(address(membership));
        registry.registerKind(KIND_INSPECTION, keccak256("other"), uint16(Roles.BANK), 1, 0);

        // A deactivated kind still exists: its id is never reused.
        _updateKind(KIND_TITLE, uint16(Roles.DMV_ORACLE), W_TITLE, 0, false);
        vm.expectRevert(abi.encodeWithSelector(IEvidenceRegistry.RegistryKindExists.selector, KIND_TITLE));
        vm.prank(address(membership));
        registry.registerKind(KIND_TITLE, keccak256("other"), uint16(Roles.BANK), 1, 0);
    }

    function test_registerKind_revertsOnInvalidKind() public {
        (uint16[6] memory roles, uint8[6] memory flags) = _invalidKindFields();
        for (uint256 i = 0; i < roles.length; ++i) {
            vm.expectRevert(
                abi.encodeWithSelector(IEvidenceRegistry.RegistryInvalidKind.selector, 9, roles[i], flags[i])
            );
            vm.prank(address(membership));
            registry.registerKind(9, SCHEMA, roles[i], 1, flags[i]);
        }
    }

    function test_registerKind_acceptsEveryValidRoleMaskFlagAndWeight() public {
        vm.startPrank(address(membership));
        registry.registerKind(0, SCHEMA, uint16(Roles.ALL), type(uint32).max, FLAG_ODOMETER | FLAG_ROLLBACK_REJECT);
        registry.registerKind(type(uint16).max, bytes32(0), uint16(Roles.GOVERNOR), 0, FLAG_ODOMETER);
        vm.stopPrank();
        (IEvidenceRegistry.Kind memory k0,) = registry.getKind(0);
        (IEvidenceRegistry.Kind memory kMax,) = registry.getKind(type(uint16).max);
        assertEq(k0.roles, Roles.ALL);
        assertEq(k0.weight, type(uint32).max);
        assertEq(k0.flags, FLAG_ODOMETER | FLAG_ROLLBACK_REJECT);
        assertTrue(kMax.exists);
        assertEq(kMax.weight, 0);
        // A zero-weight kind records without moving any points.
        vm.prank(governorA);
        registry.attestReading(SUBJECT, type(uint16).max, _digest("zero-weight"), bytes32(0), 0, 10);
        assertEq(registry.totalPoints(), 0);
    }

    /// @dev Role masks and flags `_checkKind` must refuse: no role, an undefined role bit, every bit, an undefined
    /// flag, the reject flag without the odometer flag, and the high flag bit.
    function _invalidKindFields() internal pure returns (uint16[6] memory roles, uint8[6] memory flags) {
        roles = [uint16(0), uint16(1 << 9), type(uint16).max, INSPECTION_ROLES, INSPECTION_ROLES, INSPECTION_ROLES];
        flags = [uint8(0), 0, 0, 4, FLAG_ROLLBACK_REJECT, 0x80];
    }

    // ================================================================ updateKind

    function test_updateKind_byGovernance_updatesAndEmits() public {
        vm.expectEmit(address(registry));
        emit IEvidenceRegistry.KindUpdated(KIND_INSPECTION, uint16(Roles.INSURER), 25, 0, false);
        _updateKind(KIND_INSPECTION, uint16(Roles.INSURER), 25, 0, false);

        (IEvidenceRegistry.Kind memory k, bytes32 schema) = registry.getKind(KIND_INSPECTION);
        assertEq(k.roles, Roles.INSURER);
        assertEq(k.weight, 25);
        assertFalse(k.active);
        assertTrue(k.exists);
        assertEq(schema, SCHEMA, "the schema never changes");
    }

    function test_updateKind_revertsForNonGovernance() public {
        _assertOnlyGovernance(
            abi.encodeCall(IEvidenceRegistry.updateKind, (KIND_INSPECTION, INSPECTION_ROLES, 99, 0, false))
        );
        (IEvidenceRegistry.Kind memory k,) = registry.getKind(KIND_INSPECTION);
        assertEq(k.weight, W_INSPECTION);
        assertTrue(k.active);
    }

    function test_updateKind_revertsForUnknownKind() public {
        vm.expectRevert(abi.encodeWithSelector(IEvidenceRegistry.RegistryUnknownKind.selector, 77));
        vm.prank(address(membership));
        registry.updateKind(77, INSPECTION_ROLES, 1, 0, true);
    }

    function test_updateKind_revertsOnInvalidKind() public {
        (uint16[6] memory roles, uint8[6] memory flags) = _invalidKindFields();
        for (uint256 i = 0; i < roles.length; ++i) {
            vm.expectRevert(
                abi.encodeWithSelector(
                    IEvidenceRegistry.RegistryInvalidKind.selector, KIND_INSPECTION, roles[i], flags[i]
                )
            );
            vm.prank(address(membership));
            registry.updateKind(KIND_INSPECTION, roles[i], 1, flags[i], true);
        }
    }

    function test_updateKind_deactivationRefusesNewRecordsOnly() public {
        bytes32 uid = _inspect(dealer, "before");
        _updateKind(KIND_INSPECTION, INSPECTION_ROLES, W_INSPECTION, 0, false);
        _updateKind(KIND_ODOMETER, ODOMETER_ROLES, W_ODOMETER, FLAG_ODOMETER, false);
        _updateKind(KIND_TELEMATICS_BATCH, uint16(Roles.TELEMATICS_ORACLE), W_BATCH, 0, false);

        vm.expectRevert(abi.encodeWithSelector(IEvidenceRegistry.RegistryKindInactive.selector, KIND_INSPECTION));
        _inspect(dealer, "after");
        vm.expectRevert(abi.encodeWithSelector(IEvidenceRegistry.RegistryKindInactive.selector, KIND_ODOMETER));
        _readAs(telematics, SUBJECT, KIND_ODOMETER, _digest("reading"), 100);
        vm.expectRevert(abi.encodeWithSelector(IEvidenceRegistry.RegistryKindInactive.selector, KIND_TELEMATICS_BATCH));
        _anchor(telematics, KIND_TELEMATICS_BATCH, keccak256("root"), 1);

        // The existing record stays valid, and its attester may still revoke it.
        assertTrue(registry.isValid(uid));
        vm.prank(dealer);
        registry.revoke(uid, 1, bytes32(0));
        assertFalse(registry.isValid(uid));

        _updateKind(KIND_INSPECTION, INSPECTION_ROLES, W_INSPECTION, 0, true);
        assertTrue(registry.isValid(_inspect(dealer, "reactivated")));
    }

    function test_updateKind_roleChangeTakesEffectAtOnce() public {
        _updateKind(KIND_INSPECTION, uint16(Roles.BANK | Roles.INSURER), W_INSPECTION, 0, true);
        vm.expectRevert(
            abi.encodeWithSelector(IEvidenceRegistry.RegistryUnauthorizedAttester.selector, dealer, KIND_INSPECTION)
        );
        _inspect(dealer, "dealer");
        assertTrue(registry.isValid(_inspect(bank, "bank")));
    }

    function test_updateKind_weightAppliesToLaterRecords() public {
        _inspect(dealer, "at-10");
        _updateKind(KIND_INSPECTION, INSPECTION_ROLES, 30, 0, true);
        _inspect(dealer, "at-30");
        assertEq(registry.pointsOf(dealerId), 40);
        assertEq(registry.totalPoints(), 40);
    }

    function test_updateKind_flagsDecideBetweenAttestAndAttestReading() public {
        _updateKind(KIND_INSPECTION, INSPECTION_ROLES, W_INSPECTION, FLAG_ODOMETER, true);
        vm.expectRevert(abi.encodeWithSelector(IEvidenceRegistry.RegistryReadingRequired.selector, KIND_INSPECTION));
        _inspect(dealer, "plain");
        _readAs(dealer, SUBJECT, KIND_INSPECTION, _digest("with-reading"), 5);
        assertEq(registry.lastReading(SUBJECT), 5);
    }

    // ================================================================ setPointsParameters

    function test_setPointsParameters_byGovernance_updatesAndEmits() public {
        vm.expectEmit(address(registry));
        emit ICreditPoints.PointsParametersChanged(7, 4, 30);
        _setPointsParameters(7, 4, 30);
        (uint32 bonus, uint16 multiplier, uint32 reward) = registry.pointsParameters();
        assertEq(bonus, 7);
        assertEq(multiplier, 4);
        assertEq(reward, 30);
    }

    function test_setPointsParameters_revertsForNonGovernance() public {
        _assertOnlyGovernance(abi.encodeCall(ICreditPoints.setPointsParameters, (1, 1, 1)));
        (uint32 bonus,,) = registry.pointsParameters();
        assertEq(bonus, BONUS);
    }

    function test_setPointsParameters_throughProposalAndVote() public {
        address[] memory targets = new address[](1);
        targets[0] = address(registry);
        bytes[] memory calldatas = new bytes[](1);
        calldatas[0] = abi.encodeCall(ICreditPoints.setPointsParameters, (8, 10, 40));
        _passProposal(targets, calldatas);
        (uint32 bonus, uint16 multiplier, uint32 reward) = registry.pointsParameters();
        assertEq(abi.encode(bonus, multiplier, reward), abi.encode(uint32(8), uint16(10), uint32(40)));
    }

    function test_setPointsParameters_revertsOnMultiplierOutOfBounds() public {
        vm.expectRevert(abi.encodeWithSelector(ICreditPoints.CreditPointsInvalidParameters.selector, 1, 0, 2));
        _setPointsParameters(1, 0, 2);
        vm.expectRevert(abi.encodeWithSelector(ICreditPoints.CreditPointsInvalidParameters.selector, 1, 101, 2));
        _setPointsParameters(1, 101, 2);
        vm.expectRevert(
            abi.encodeWithSelector(ICreditPoints.CreditPointsInvalidParameters.selector, 1, type(uint16).max, 2)
        );
        _setPointsParameters(1, type(uint16).max, 2);
    }

    function test_setPointsParameters_acceptsBounds() public {
        _setPointsParameters(0, 1, 0);
        (uint32 bonus, uint16 multiplier, uint32 reward) = registry.pointsParameters();
        assertEq(abi.encode(bonus, multiplier, reward), abi.encode(uint32(0), uint16(1), uint32(0)));
        _setPointsParameters(type(uint32).max, 100, type(uint32).max);
        (bonus, multiplier, reward) = registry.pointsParameters();
        assertEq(abi.encode(bonus, multiplier, reward), abi.encode(type(uint32).max, uint16(100), type(uint32).max));
    }

    function testFuzz_setPointsParameters_acceptsExactlyMultipliersOneToHundred(
        uint32 bonus,
        uint16 multiplier,
        uint32 reward
    ) public {
        _checkPointsParameters(bonus, multiplier, reward);
    }

    function test_setPointsParameters_acceptsExactlyMultipliersOneToHundred() public {
        _checkPointsParameters(0, 0, 0);
        _checkPointsParameters(1, 1, 1);
        _checkPointsParameters(9, 100, 9);
        _checkPointsParameters(9, 101, 9);
        _checkPointsParameters(type(uint32).max, type(uint16).max, type(uint32).max);
    }

    /// @dev Valid parameters replace the current ones; invalid ones revert and leave them as they were.
    function _checkPointsParameters(uint32 bonus, uint16 multiplier, uint32 reward) internal {
        (uint32 b, uint16 m, uint32 r) = registry.pointsParameters();
        bytes memory before = abi.encode(b, m, r);
        bool valid = multiplier >= 1 && multiplier <= 100;
        if (!valid) {
            vm.expectRevert(
                abi.encodeWithSelector(ICreditPoints.CreditPointsInvalidParameters.selector, bonus, multiplier, reward)
            );
        }
        _setPointsParameters(bonus, multiplier, reward);
        (b, m, r) = registry.pointsParameters();
        assertEq(abi.encode(b, m, r), valid ? abi.encode(bonus, multiplier, reward) : before);
    }

    // ================================================================ attest

    function test_attest_storesRecordCreditsWeightAndEmits() public {
        bytes32 digest = _digest("inspection");
        vm.expectEmit(address(registry));
        emit IEvidenceRegistry.Attested(SUBJECT, KIND_INSPECTION, dealer, digest, bytes32(0), 0, W_INSPECTION);
        bytes32 uid = _attestAs(dealer, SUBJECT, KIND_INSPECTION, digest, bytes32(0), 0);

        assertEq(uid, digest, "the uid is the digest");
        (IEvidenceRegistry.Record memory record, bytes32 ref) = registry.getRecord(uid);
        assertEq(record.attester, dealer);
        assertEq(record.time, START);
        assertEq(record.expiry, 0);
        assertEq(record.kind, KIND_INSPECTION);
        assertEq(ref, bytes32(0));
        assertTrue(registry.isValid(uid));
        assertFalse(registry.isInvalidated(uid));
        assertEq(registry.getRevocation(uid).time, 0);
        assertEq(registry.pointsOf(dealerId), W_INSPECTION);
        assertEq(registry.totalPoints(), W_INSPECTION);
    }

    function test_attest_everyRoleOfTheKindMayAttest() public {
        _inspect(dealer, "dealer");
        _inspect(repairShop, "repairShop");
        _inspect(insurer, "insurer");
        assertEq(registry.pointsOf(dealerId), W_INSPECTION);
        assertEq(registry.pointsOf(repairShopId), W_INSPECTION);
        assertEq(registry.pointsOf(insurerId), W_INSPECTION);
        assertEq(registry.totalPoints(), 3 * W_INSPECTION);
    }

    function test_attest_anyAccountOfTheMemberEarnsForTheMember() public {
        address second = makeAddr("dealer-second-account");
        vm.prank(address(membership));
        membership.addAccount(dealerId, second);
        bytes32 uid = _inspect(second, "second");
        (IEvidenceRegistry.Record memory record,) = registry.getRecord(uid);
        assertEq(record.attester, second, "the record names the signing account");
        assertEq(registry.pointsOf(dealerId), W_INSPECTION);
    }

    function test_attest_revertsForNonMembersAndMembersWithoutTheKindsRole() public {
        _assertAttestRefusedWithoutRole(
            abi.encodeCall(IEvidenceRegistry.attest, (SUBJECT, KIND_INSPECTION, _digest("x"), bytes32(0), 0)),
            KIND_INSPECTION
        );
        _assertAttestRefusedWithoutRole(
            abi.encodeCall(IEvidenceRegistry.attest, (SUBJECT, KIND_TITLE, _digest("x"), bytes32(0), 0)), KIND_TITLE
        );
        assertEq(registry.totalPoints(), 0);
    }

    function test_attest_revertsForSuspendedAndExpelledMember() public {
        _assertRefusedSuspendedAndExpelled(
            abi.encodeCall(IEvidenceRegistry.attest, (SUBJECT, KIND_INSPECTION, _digest("x"), bytes32(0), 0)),
            dealer,
            dealerId,
            abi.encodeWithSelector(IEvidenceRegistry.RegistryUnauthorizedAttester.selector, dealer, KIND_INSPECTION)
        );
    }

    function test_attest_suspensionTakesEffectAtOnceAndReinstatementRestores() public {
        _inspect(dealer, "before");
        _suspend(dealerId);
        vm.expectRevert(
            abi.encodeWithSelector(IEvidenceRegistry.RegistryUnauthorizedAttester.selector, dealer, KIND_INSPECTION)
        );
        _inspect(dealer, "while-suspended");
        vm.prank(address(membership));
        membership.reinstate(dealerId);
        _inspect(dealer, "after");
        assertEq(registry.pointsOf(dealerId), 2 * W_INSPECTION);
    }

    function test_attest_revertsForUnknownKind() public {
        vm.expectRevert(abi.encodeWithSelector(IEvidenceRegistry.RegistryUnknownKind.selector, 77));
        _attestAs(dealer, SUBJECT, 77, _digest("x"), bytes32(0), 0);
    }

    function test_attest_revertsOnZeroDigest() public {
        vm.expectRevert(IEvidenceRegistry.RegistryInvalidDigest.selector);
        _attestAs(dealer, SUBJECT, KIND_INSPECTION, bytes32(0), bytes32(0), 0);
    }

    function test_attest_revertsOnDuplicateDigestByAnyoneForAnySubjectOrKind() public {
        bytes32 uid = _inspect(dealer, "once");
        bytes memory err = abi.encodeWithSelector(IEvidenceRegistry.RegistryDuplicateDigest.selector, uid);
        vm.expectRevert(err);
        _attestAs(dealer, SUBJECT, KIND_INSPECTION, uid, bytes32(0), 0);
        vm.expectRevert(err);
        _attestAs(insurer, OTHER_SUBJECT, KIND_INSPECTION, uid, bytes32(0), 0);
        vm.expectRevert(err);
        _attestAs(dmv, SUBJECT, KIND_TITLE, uid, bytes32(0), 0);
        vm.expectRevert(err);
        _readAs(telematics, SUBJECT, KIND_ODOMETER, uid, 1);
    }

    function test_attest_duplicateDigestRefusedForeverEvenAfterRevocation() public {
        bytes32 uid = _inspect(dealer, "once");
        vm.prank(dealer);
        registry.revoke(uid, 1, bytes32(0));
        vm.warp(block.timestamp + 3650 days);
        vm.expectRevert(abi.encodeWithSelector(IEvidenceRegistry.RegistryDuplicateDigest.selector, uid));
        _attestAs(dealer, SUBJECT, KIND_INSPECTION, uid, bytes32(0), 0);
        // The revoked record is unchanged.
        (IEvidenceRegistry.Record memory record,) = registry.getRecord(uid);
        assertEq(record.time, START);
    }

    function test_attest_revertsOnExpiryNotInTheFuture() public {
        uint40 now_ = uint40(block.timestamp);
        vm.expectRevert(abi.encodeWithSelector(IEvidenceRegistry.RegistryInvalidExpiry.selector, now_));
        _attestAs(dealer, SUBJECT, KIND_INSPECTION, _digest("now"), bytes32(0), now_);
        vm.expectRevert(abi.encodeWithSelector(IEvidenceRegistry.RegistryInvalidExpiry.selector, now_ - 1));
        _attestAs(dealer, SUBJECT, KIND_INSPECTION, _digest("past"), bytes32(0), now_ - 1);
        vm.expectRevert(abi.encodeWithSelector(IEvidenceRegistry.RegistryInvalidExpiry.selector, 1));
        _attestAs(dealer, SUBJECT, KIND_INSPECTION, _digest("epoch"), bytes32(0), 1);
    }

    function test_attest_zeroExpiryNeverExpires() public {
        bytes32 uid = _inspect(dealer, "forever");
        vm.warp(type(uint40).max);
        assertTrue(registry.isValid(uid));
    }

    function test_attest_recordInvalidFromItsExpiry() public {
        uint40 expiry = uint40(block.timestamp + 30 days);
        bytes32 uid = _attestAs(dealer, SUBJECT, KIND_INSPECTION, _digest("expiring"), bytes32(0), expiry);
        (IEvidenceRegistry.Record memory record,) = registry.getRecord(uid);
        assertEq(record.expiry, expiry);
        vm.warp(expiry - 1);
        assertTrue(registry.isValid(uid));
        vm.warp(expiry);
        assertFalse(registry.isValid(uid));
        // Expiry is not revocation: the record and its points stay.
        assertEq(registry.getRevocation(uid).time, 0);
        assertEq(registry.pointsOf(dealerId), W_INSPECTION);
    }

    function test_attest_withRef_storesRef() public {
        bytes32 first = _inspect(dealer, "first");
        bytes32 second = _attestAs(dealer, SUBJECT, KIND_INSPECTION, _digest("correction"), first, 0);
        (, bytes32 ref) = registry.getRecord(second);
        assertEq(ref, first);
        assertTrue(registry.isValid(second));
    }

    function test_attest_revertsOnUnknownRef() public {
        bytes32 unknown = _digest("never-attested");
        vm.expectRevert(abi.encodeWithSelector(IEvidenceRegistry.RegistryUnknownRecord.selector, unknown));
        _attestAs(dealer, SUBJECT, KIND_INSPECTION, _digest("x"), unknown, 0);
        // Nor may a record refer to itself.
        bytes32 self = _digest("self");
        vm.expectRevert(abi.encodeWithSelector(IEvidenceRegistry.RegistryUnknownRecord.selector, self));
        _attestAs(dealer, SUBJECT, KIND_INSPECTION, self, self, 0);
    }

    function test_attest_refMayBeRevokedOrOfAnotherKind() public {
        bytes32 title = _attestAs(dmv, SUBJECT, KIND_TITLE, _digest("title"), bytes32(0), 0);
        bytes32 revoked = _inspect(dealer, "revoked");
        vm.prank(dealer);
        registry.revoke(revoked, 1, bytes32(0));
        bytes32 toTitle = _attestAs(insurer, SUBJECT, KIND_INSPECTION, _digest("to-title"), title, 0);
        bytes32 toRevoked = _attestAs(insurer, SUBJECT, KIND_INSPECTION, _digest("to-revoked"), revoked, 0);
        assertTrue(registry.isValid(toTitle));
        assertFalse(registry.isValid(toRevoked), "a record referring to a revoked one is not valid");
    }

    function test_attest_revertsOnOdometerKind() public {
        vm.expectRevert(abi.encodeWithSelector(IEvidenceRegistry.RegistryReadingRequired.selector, KIND_ODOMETER));
        _attestAs(telematics, SUBJECT, KIND_ODOMETER, _digest("x"), bytes32(0), 0);
        vm.expectRevert(
            abi.encodeWithSelector(IEvidenceRegistry.RegistryReadingRequired.selector, KIND_ODOMETER_STRICT)
        );
        _attestAs(telematics, SUBJECT, KIND_ODOMETER_STRICT, _digest("x"), bytes32(0), 0);
    }

    // ================================================================ corroboration

    function test_attest_refToAnotherMembersValidRecordOfTheKindPaysBonus() public {
        bytes32 original = _inspect(dealer, "original");
        bytes32 digest = _digest("corroboration");
        vm.expectEmit(address(registry));
        emit IEvidenceRegistry.Attested(SUBJECT, KIND_INSPECTION, insurer, digest, original, 0, W_INSPECTION);
        vm.expectEmit(address(registry));
        emit ICreditPoints.PointsChanged(
            dealerId, int256(uint256(BONUS)), ICreditPoints.PointsReason.Corroboration, original
        );
        _attestAs(insurer, SUBJECT, KIND_INSPECTION, digest, original, 0);

        assertEq(registry.pointsOf(dealerId), W_INSPECTION + BONUS);
        assertEq(registry.pointsOf(insurerId), W_INSPECTION);
        assertEq(registry.totalPoints(), 2 * W_INSPECTION + BONUS);
    }

    function test_resetOdometer_liftsAFalseHighReading() public {
        _readAs(telematics, SUBJECT, KIND_ODOMETER_STRICT, _digest("false"), type(uint64).max);
        vm.expectEmit(address(registry));
        emit IEvidenceRegistry.OdometerReset(SUBJECT, type(uint64).max, 52_000);
        vm.prank(address(membership));
        registry.resetOdometer(SUBJECT, 52_000);
        assertEq(registry.lastReading(SUBJECT), 52_000);
        _readAs(telematics, SUBJECT, KIND_ODOMETER_STRICT, _digest("honest"), 52_100);
        assertEq(registry.lastReading(SUBJECT), 52_100);
    }

    function test_resetOdometer_revertsOnDirectCall() public {
        for (uint256 i = 0; i < 3; ++i) {
            address caller = [governorA, telematics, stranger][i];
            vm.expectRevert(abi.encodeWithSelector(IEvidenceRegistry.RegistryOnlyGovernance.selector, caller));
            vm.prank(caller);
            registry.resetOdometer(SUBJECT, 0);
        }
    }

    function test_revoke_clawsBackTheCorroborationBonusItPaid() public {
        bytes32 original = _inspect(dealer, "original");
        bytes32 corroboration = _attestAs(insurer, SUBJECT, KIND_INSPECTION, _digest("corroboration"), original, 0);
        assertEq(registry.pointsOf(dealerId), W_INSPECTION + BONUS);
        vm.expectEmit(address(registry));
        emit ICreditPoints.PointsChanged(
            dealerId, -int256(uint256(BONUS)), ICreditPoints.PointsReason.Clawback, corroboration
        );
        vm.prank(insurer);
        registry.revoke(corroboration, 1, bytes32(0));
        // Attesting and revoking cannot farm bonuses for a friend: both members are back where they started.
        assertEq(registry.pointsOf(dealerId), W_INSPECTION);
        assertEq(registry.pointsOf(insurerId), 0);
    }

    function test_resolveDispute_upheldClawsBackTheCorroborationBonus() public {
        bytes32 original = _inspect(dealer, "original");
        bytes32 corroboration = _attestAs(insurer, SUBJECT, KIND_INSPECTION, _digest("corroboration"), original, 0);
        vm.prank(repairShop);
        uint256 disputeId = registry.openDispute(corroboration, _digest("evidence"));
        vm.prank(address(membership));
        registry.resolveDispute(disputeId, true);
        assertEq(registry.pointsOf(dealerId), W_INSPECTION);
    }

    function test_attest_corroborationOfOdometerReadingPaysBonus() public {
        bytes32 original = _readAs(telematics, SUBJECT, KIND_ODOMETER, _digest("r1"), 1000);
        vm.prank(repairShop);
        registry.attestReading(SUBJECT, KIND_ODOMETER, _digest("r2"), original, 0, 1000);
        assertEq(registry.pointsOf(telematicsId), W_ODOMETER + BONUS);
        assertEq(registry.pointsOf(repairShopId), W_ODOMETER);
    }

    function test_attest_refToOwnMembersRecordPaysNoBonus() public {
        address second = makeAddr("dealer-second-account");
        vm.prank(address(membership));
        membership.addAccount(dealerId, second);
        bytes32 original = _inspect(dealer, "original");
        _attestAs(dealer, SUBJECT, KIND_INSPECTION, _digest("same-account"), original, 0);
        _attestAs(second, SUBJECT, KIND_INSPECTION, _digest("same-member"), original, 0);
        assertEq(registry.pointsOf(dealerId), 3 * W_INSPECTION);
        assertEq(registry.totalPoints(), 3 * W_INSPECTION);
    }

    function test_attest_refToAnotherKindPaysNoBonus() public {
        bytes32 title = _attestAs(dmv, SUBJECT, KIND_TITLE, _digest("title"), bytes32(0), 0);
        _attestAs(dealer, SUBJECT, KIND_INSPECTION, _digest("inspection"), title, 0);
        assertEq(registry.pointsOf(dmvId), W_TITLE);
        assertEq(registry.pointsOf(dealerId), W_INSPECTION);
    }

    function test_attest_refToInvalidRecordPaysNoBonus() public {
        bytes32 revoked = _inspect(dealer, "revoked");
        vm.prank(dealer);
        registry.revoke(revoked, 1, bytes32(0));
        bytes32 expiring =
            _attestAs(dealer, SUBJECT, KIND_INSPECTION, _digest("expiring"), bytes32(0), uint40(block.timestamp + 1));
        bytes32 disputed = _inspect(dealer, "disputed");
        _resolve(_dispute(bank, disputed), true);
        vm.warp(block.timestamp + 1);
        uint256 dealerPoints = registry.pointsOf(dealerId);

        _attestAs(insurer, SUBJECT, KIND_INSPECTION, _digest("to-revoked"), revoked, 0);
        _attestAs(insurer, SUBJECT, KIND_INSPECTION, _digest("to-expired"), expiring, 0);
        _attestAs(insurer, SUBJECT, KIND_INSPECTION, _digest("to-disputed"), disputed, 0);
        assertEq(registry.pointsOf(dealerId), dealerPoints, "no bonus for an invalid record");
        assertEq(registry.pointsOf(insurerId), 3 * W_INSPECTION);
        assertEq(registry.totalPoints(), _sumOfPoints());
    }

    function test_attest_zeroBonusPaysNothing() public {
        _setPointsParameters(0, SLASH_MULTIPLIER, DISPUTER_REWARD);
        bytes32 original = _inspect(dealer, "original");
        vm.recordLogs();
        _attestAs(insurer, SUBJECT, KIND_INSPECTION, _digest("corroboration"), original, 0);
        assertEq(_pointsEvents(vm.getRecordedLogs()), 0, "no bonus (the attestation's own points are in Attested)");
        assertEq(registry.pointsOf(dealerId), W_INSPECTION);
        assertEq(registry.pointsOf(insurerId), W_INSPECTION);
    }

    // ================================================================ attestReading

    function test_attestReading_recordsReadingAndEmits() public {
        bytes32 digest = _digest("reading");
        vm.expectEmit(address(registry));
        emit IEvidenceRegistry.Attested(SUBJECT, KIND_ODOMETER, telematics, digest, bytes32(0), 0, W_ODOMETER);
        vm.expectEmit(address(registry));
        emit IEvidenceRegistry.OdometerRecorded(SUBJECT, digest, 42_000, false);
        bytes32 uid = _readAs(telematics, SUBJECT, KIND_ODOMETER, digest, 42_000);

        assertEq(uid, digest);
        assertEq(registry.lastReading(SUBJECT), 42_000);
        assertFalse(registry.isRollbackFlagged(uid));
        assertTrue(registry.isValid(uid));
        assertEq(registry.pointsOf(telematicsId), W_ODOMETER);
    }

    function test_attestReading_higherOrEqualReadingIsNotARollback() public {
        _readAs(telematics, SUBJECT, KIND_ODOMETER_STRICT, _digest("r1"), 100);
        bytes32 equal = _readAs(repairShop, SUBJECT, KIND_ODOMETER_STRICT, _digest("r2"), 100);
        bytes32 higher = _readAs(dealer, SUBJECT, KIND_ODOMETER_STRICT, _digest("r3"), 250);
        assertFalse(registry.isRollbackFlagged(equal));
        assertFalse(registry.isRollbackFlagged(higher));
        assertEq(registry.lastReading(SUBJECT), 250);
    }

    function test_attestReading_lowerReadingFlaggedOnFlaggingKind() public {
        _readAs(telematics, SUBJECT, KIND_ODOMETER, _digest("r1"), 90_000);
        bytes32 digest = _digest("rolled-back");
        vm.expectEmit(address(registry));
        emit IEvidenceRegistry.OdometerRecorded(SUBJECT, digest, 30_000, true);
        bytes32 uid = _readAs(dealer, SUBJECT, KIND_ODOMETER, digest, 30_000);

        assertTrue(registry.isRollbackFlagged(uid));
        assertEq(registry.lastReading(SUBJECT), 90_000, "the last reading stays the highest");
        assertTrue(registry.isValid(uid), "a flagged record is still a valid record");
        assertEq(registry.pointsOf(dealerId), W_ODOMETER);
    }

    function test_attestReading_lowerReadingRevertsOnRejectingKind() public {
        _readAs(telematics, SUBJECT, KIND_ODOMETER_STRICT, _digest("r1"), 90_000);
        bytes32 digest = _digest("rolled-back");
        vm.expectRevert(
            abi.encodeWithSelector(IEvidenceRegistry.RegistryOdometerRollback.selector, SUBJECT, 90_000, 30_000)
        );
        _readAs(dealer, SUBJECT, KIND_ODOMETER_STRICT, digest, 30_000);

        (IEvidenceRegistry.Record memory record,) = registry.getRecord(digest);
        assertEq(record.attester, address(0), "nothing recorded");
        assertEq(registry.pointsOf(dealerId), 0, "nothing earned");
        assertEq(registry.lastReading(SUBJECT), 90_000);
    }

    function test_attestReading_kindsShareTheSubjectsLastReading() public {
        _readAs(telematics, SUBJECT, KIND_ODOMETER, _digest("r1"), 500);
        vm.expectRevert(abi.encodeWithSelector(IEvidenceRegistry.RegistryOdometerRollback.selector, SUBJECT, 500, 400));
        _readAs(dealer, SUBJECT, KIND_ODOMETER_STRICT, _digest("r2"), 400);
        _readAs(dealer, SUBJECT, KIND_ODOMETER_STRICT, _digest("r3"), 600);
        assertTrue(registry.isRollbackFlagged(_readAs(repairShop, SUBJECT, KIND_ODOMETER, _digest("r4"), 550)));
        assertEq(registry.lastReading(SUBJECT), 600);
    }

    function test_attestReading_readingsArePerSubject() public {
        _readAs(telematics, SUBJECT, KIND_ODOMETER_STRICT, _digest("r1"), 90_000);
        bytes32 other = _readAs(telematics, OTHER_SUBJECT, KIND_ODOMETER_STRICT, _digest("r2"), 10);
        assertFalse(registry.isRollbackFlagged(other));
        assertEq(registry.lastReading(SUBJECT), 90_000);
        assertEq(registry.lastReading(OTHER_SUBJECT), 10);
        assertEq(registry.lastReading(keccak256("unknown")), 0);
    }

    function test_attestReading_revertsOnNonOdometerKind() public {
        vm.expectRevert(abi.encodeWithSelector(IEvidenceRegistry.RegistryNotOdometerKind.selector, KIND_INSPECTION));
        _readAs(dealer, SUBJECT, KIND_INSPECTION, _digest("x"), 1);
    }

    function test_attestReading_checksAsAttest() public {
        bytes32 uid = _readAs(telematics, SUBJECT, KIND_ODOMETER, _digest("r1"), 1);
        vm.expectRevert(abi.encodeWithSelector(IEvidenceRegistry.RegistryDuplicateDigest.selector, uid));
        _readAs(telematics, SUBJECT, KIND_ODOMETER, uid, 2);
        vm.expectRevert(IEvidenceRegistry.RegistryInvalidDigest.selector);
        _readAs(telematics, SUBJECT, KIND_ODOMETER, bytes32(0), 2);
        vm.expectRevert(abi.encodeWithSelector(IEvidenceRegistry.RegistryUnknownKind.selector, 77));
        _readAs(telematics, SUBJECT, 77, _digest("r2"), 2);
        vm.expectRevert(abi.encodeWithSelector(IEvidenceRegistry.RegistryUnknownRecord.selector, _digest("nope")));
        vm.prank(telematics);
        registry.attestReading(SUBJECT, KIND_ODOMETER, _digest("r2"), _digest("nope"), 0, 2);
        uint40 now_ = uint40(block.timestamp);
        vm.expectRevert(abi.encodeWithSelector(IEvidenceRegistry.RegistryInvalidExpiry.selector, now_));
        vm.prank(telematics);
        registry.attestReading(SUBJECT, KIND_ODOMETER, _digest("r2"), bytes32(0), now_, 2);
    }

    function test_attestReading_revertsForNonMembersAndMembersWithoutTheKindsRole() public {
        _assertAttestRefusedWithoutRole(
            abi.encodeCall(IEvidenceRegistry.attestReading, (SUBJECT, KIND_ODOMETER, _digest("x"), bytes32(0), 0, 1)),
            KIND_ODOMETER
        );
        assertEq(registry.lastReading(SUBJECT), 0);
    }

    function test_attestReading_revertsForSuspendedAndExpelledMember() public {
        _assertRefusedSuspendedAndExpelled(
            abi.encodeCall(IEvidenceRegistry.attestReading, (SUBJECT, KIND_ODOMETER, _digest("x"), bytes32(0), 0, 1)),
            telematics,
            telematicsId,
            abi.encodeWithSelector(IEvidenceRegistry.RegistryUnauthorizedAttester.selector, telematics, KIND_ODOMETER)
        );
    }

    function testFuzz_attestReading_rollbackRule(uint64 first, uint64 second, bool strict) public {
        _checkRollbackRule(first, second, strict, false);
    }

    function test_attestReading_rollbackRule() public {
        _checkRollbackRule(100, 99, false, false);
        _checkRollbackRule(100, 99, true, false);
        _checkRollbackRule(100, 100, true, false);
        _checkRollbackRule(100, 101, true, false);
        _checkRollbackRule(0, 0, true, false);
        _checkRollbackRule(type(uint64).max, 0, false, false);
        _checkRollbackRule(type(uint64).max, 0, true, false);
        _checkRollbackRule(0, type(uint64).max, true, false);
    }

    /// @dev On a fresh subject: a first reading, then a second by another member (`signed`: the repair shop's signed
    /// reading relayed by the stranger); the second is a rollback exactly when it is lower, and then is refused by a
    /// rejecting kind, flagged by a flagging one.
    function _checkRollbackRule(uint64 first, uint64 second, bool strict, bool signed) internal {
        bytes32 subject = keccak256(abi.encode("rollback", first, second, strict));
        uint16 kind = strict ? KIND_ODOMETER_STRICT : KIND_ODOMETER;
        _readAs(telematics, subject, kind, keccak256(abi.encode(subject, 1)), first);
        bytes32 digest = keccak256(abi.encode(subject, 2));
        bool rollback = second < first;
        (address caller, bytes memory data) = _secondReadingCall(subject, kind, digest, second, signed);
        if (rollback && strict) {
            _expectRevertFrom(
                caller,
                data,
                abi.encodeWithSelector(IEvidenceRegistry.RegistryOdometerRollback.selector, subject, first, second)
            );
            (IEvidenceRegistry.Record memory record,) = registry.getRecord(digest);
            assertEq(record.attester, address(0));
        } else {
            vm.prank(caller);
            (bool accepted,) = address(registry).call(data);
            assertTrue(accepted, "second reading refused");
            assertEq(registry.isRollbackFlagged(digest), rollback);
            assertTrue(registry.isValid(digest));
        }
        assertEq(registry.lastReading(subject), first > second ? first : second);
    }

    /// @dev The caller and calldata of the second reading: the repair shop's own `attestReading`, or its signed
    /// reading relayed by the stranger.
    function _secondReadingCall(bytes32 subject, uint16 kind, bytes32 digest, uint64 reading, bool signed)
        internal
        returns (address caller, bytes memory data)
    {
        if (!signed) {
            return (
                repairShop,
                abi.encodeCall(IEvidenceRegistry.attestReading, (subject, kind, digest, bytes32(0), 0, reading))
            );
        }
        (, uint256 key) = makeAddrAndKey("repairShop");
        SignedReading memory r = SignedReading({
            subject: subject,
            kind: kind,
            digest: digest,
            ref: bytes32(0),
            expiry: 0,
            reading: reading,
            nonce: registry.nonces(repairShop),
            deadline: block.timestamp
        });
        return (stranger, _attestReadingBySigCall(r, repairShop, _sign(key, _typedDigest(r))));
    }

    // ================================================================ attestBySig

    function test_attestBySig_relayedByAnyoneAttributesToTheSigner() public {
        SignedAttest memory a = _signedAttest(dealer, "delegated");
        bytes memory signature = _sign(dealerKey, _typedDigest(a));
        vm.expectEmit(address(registry));
        emit IEvidenceRegistry.Attested(SUBJECT, KIND_INSPECTION, dealer, a.digest, bytes32(0), 0, W_INSPECTION);
        bytes32 uid = _relay(a, dealer, signature);

        assertEq(uid, a.digest);
        (IEvidenceRegistry.Record memory record,) = registry.getRecord(uid);
        assertEq(record.attester, dealer);
        assertEq(registry.pointsOf(dealerId), W_INSPECTION);
        assertEq(registry.nonces(dealer), 1);
        assertEq(registry.nonces(stranger), 0, "the relayer's nonce is untouched");
        // The signer may revoke it like any record of its own.
        vm.prank(dealer);
        registry.revoke(uid, 1, bytes32(0));
        assertFalse(registry.isValid(uid));
    }

    function test_attestBySig_carriesRefAndExpiry() public {
        bytes32 original = _inspect(otherDealer, "original");
        SignedAttest memory a = _signedAttest(dealer, "delegated");
        a.ref = original;
        a.expiry = uint40(block.timestamp + 10 days);
        _relay(a, dealer, _sign(dealerKey, _typedDigest(a)));
        (IEvidenceRegistry.Record memory record, bytes32 ref) = registry.getRecord(a.digest);
        assertEq(ref, original);
        assertEq(record.expiry, a.expiry);
        assertEq(registry.pointsOf(otherDealerId), W_INSPECTION + BONUS, "corroboration applies to signed records");
    }

    function test_attestBySig_revertsOnWrongSigner() public {
        SignedAttest memory a = _signedAttest(dealer, "delegated");
        bytes memory byOther = _sign(otherDealerKey, _typedDigest(a));
        _expectRevertFrom(
            stranger,
            _attestBySigCall(a, dealer, byOther),
            abi.encodeWithSelector(IEvidenceRegistry.RegistryInvalidSignature.selector, dealer)
        );
        // The dealer's signature does not make a record for another attester either.
        bytes memory byDealer = _sign(dealerKey, _typedDigest(a));
        _expectRevertFrom(
            stranger,
            _attestBySigCall(a, otherDealer, byDealer),
            abi.encodeWithSelector(IEvidenceRegistry.RegistryInvalidSignature.selector, otherDealer)
        );
        assertEq(registry.nonces(dealer), 0);
        assertEq(registry.nonces(otherDealer), 0);
    }

    function test_attestBySig_revertsOnAnyFieldChangedAfterSigning() public {
        SignedAttest memory a = _signedAttest(dealer, "delegated");
        bytes memory signature = _sign(dealerKey, _typedDigest(a));
        bytes memory err = abi.encodeWithSelector(IEvidenceRegistry.RegistryInvalidSignature.selector, dealer);
        SignedAttest memory changed = _copy(a);
        changed.subject = OTHER_SUBJECT;
        _expectRevertFrom(stranger, _attestBySigCall(changed, dealer, signature), err);
        changed = _copy(a);
        changed.digest = _digest("other");
        _expectRevertFrom(stranger, _attestBySigCall(changed, dealer, signature), err);
        changed = _copy(a);
        changed.kind = KIND_TITLE;
        _expectRevertFrom(stranger, _attestBySigCall(changed, dealer, signature), err);
        changed = _copy(a);
        changed.ref = _inspect(otherDealer, "some-record");
        _expectRevertFrom(stranger, _attestBySigCall(changed, dealer, signature), err);
        changed = _copy(a);
        changed.expiry = uint40(block.timestamp + 1 days);
        _expectRevertFrom(stranger, _attestBySigCall(changed, dealer, signature), err);
        changed = _copy(a);
        changed.deadline = a.deadline + 1;
        _expectRevertFrom(stranger, _attestBySigCall(changed, dealer, signature), err);
        // Signed for the next nonce: not valid while the current one is unused.
        changed = _copy(a);
        changed.nonce = 1;
        _expectRevertFrom(stranger, _attestBySigCall(a, dealer, _sign(dealerKey, _typedDigest(changed))), err);
        _relay(a, dealer, signature);
    }

    function test_attestBySig_revertsOnExpiredDeadline() public {
        SignedAttest memory a = _signedAttest(dealer, "delegated");
        a.deadline = block.timestamp - 1;
        _expectRevertFrom(
            stranger,
            _attestBySigCall(a, dealer, _sign(dealerKey, _typedDigest(a))),
            abi.encodeWithSelector(IEvidenceRegistry.RegistryExpiredSignature.selector, a.deadline)
        );

        a.deadline = block.timestamp + 1 hours;
        bytes memory signature = _sign(dealerKey, _typedDigest(a));
        vm.warp(a.deadline + 1);
        _expectRevertFrom(
            stranger,
            _attestBySigCall(a, dealer, signature),
            abi.encodeWithSelector(IEvidenceRegistry.RegistryExpiredSignature.selector, a.deadline)
        );
        // The deadline itself is still in time.
        vm.warp(a.deadline);
        _relay(a, dealer, signature);
        assertTrue(registry.isValid(a.digest));
    }

    function test_attestBySig_revertsOnReplay() public {
        SignedAttest memory a = _signedAttest(dealer, "delegated");
        bytes memory signature = _sign(dealerKey, _typedDigest(a));
        _relay(a, dealer, signature);
        _expectRevertFrom(
            otherDealer,
            _attestBySigCall(a, dealer, signature),
            abi.encodeWithSelector(IEvidenceRegistry.RegistryInvalidSignature.selector, dealer)
        );
        assertEq(registry.nonces(dealer), 1);
    }

    function test_invalidateNonce_cancelsSignedMessage() public {
        SignedAttest memory a = _signedAttest(dealer, "cancelled");
        bytes memory signature = _sign(dealerKey, _typedDigest(a));

        vm.expectEmit(address(registry));
        emit IEvidenceRegistry.NonceInvalidated(dealer, 0);
        vm.prank(dealer);
        registry.invalidateNonce();
        assertEq(registry.nonces(dealer), 1);

        _expectRevertFrom(
            stranger,
            _attestBySigCall(a, dealer, signature),
            abi.encodeWithSelector(IEvidenceRegistry.RegistryInvalidSignature.selector, dealer)
        );
        // A message signed with the new nonce goes through.
        SignedAttest memory next = _signedAttest(dealer, "next");
        assertEq(next.nonce, 1);
        _relay(next, dealer, _sign(dealerKey, _typedDigest(next)));
        assertEq(registry.nonces(dealer), 2);
    }

    function test_invalidateNonce_anyAccountBurnsOnlyItsOwnNonce() public {
        vm.expectEmit(address(registry));
        emit IEvidenceRegistry.NonceInvalidated(stranger, 0);
        vm.prank(stranger);
        registry.invalidateNonce();
        vm.prank(stranger);
        registry.invalidateNonce();
        assertEq(registry.nonces(stranger), 2);
        assertEq(registry.nonces(dealer), 0);
    }

    function test_attestBySig_revertsOnAnotherChainId() public {
        SignedAttest memory a = _signedAttest(dealer, "delegated");
        bytes memory signedHere = _sign(dealerKey, _typedDigest(a));
        uint256 here = block.chainid;

        vm.chainId(here + 1);
        assertEq(registry.DOMAIN_SEPARATOR(), _domainSeparator(here + 1, address(registry)));
        _expectRevertFrom(
            stranger,
            _attestBySigCall(a, dealer, signedHere),
            abi.encodeWithSelector(IEvidenceRegistry.RegistryInvalidSignature.selector, dealer)
        );

        // Signed for the other chain, valid there and nowhere else.
        bytes32 otherChainDigest =
            keccak256(abi.encodePacked("\x19\x01", _domainSeparator(here + 1, address(registry)), _structHash(a)));
        bytes memory signedThere = _sign(dealerKey, otherChainDigest);
        vm.chainId(here);
        _expectRevertFrom(
            stranger,
            _attestBySigCall(a, dealer, signedThere),
            abi.encodeWithSelector(IEvidenceRegistry.RegistryInvalidSignature.selector, dealer)
        );
        vm.chainId(here + 1);
        _relay(a, dealer, signedThere);
        assertTrue(registry.isValid(a.digest));
    }

    function test_attestBySig_revertsOnAnotherRegistry() public {
        EvidenceRegistry other = new EvidenceRegistry(membership, BONUS, SLASH_MULTIPLIER, DISPUTER_REWARD);
        vm.prank(address(membership));
        other.registerKind(KIND_INSPECTION, SCHEMA, INSPECTION_ROLES, W_INSPECTION, 0);
        SignedAttest memory a = _signedAttest(dealer, "delegated");
        bytes memory signature = _sign(dealerKey, _typedDigest(a));
        vm.expectRevert(abi.encodeWithSelector(IEvidenceRegistry.RegistryInvalidSignature.selector, dealer));
        vm.prank(stranger);
        other.attestBySig(a.subject, a.kind, a.digest, a.ref, a.expiry, dealer, a.deadline, signature);
    }

    function test_attestBySig_revertsOnMalformedSignature() public {
        SignedAttest memory a = _signedAttest(dealer, "delegated");
        bytes32 typed = _typedDigest(a);
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(dealerKey, typed);
        bytes[] memory malformed = new bytes[](8);
        malformed[0] = "";
        malformed[1] = abi.encodePacked(r, s); // 64 bytes: compact signatures are not accepted
        malformed[2] = abi.encodePacked(r, s, v, uint8(0)); // 66 bytes
        malformed[3] = abi.encodePacked(r, s, uint8(29)); // v out of range
        malformed[4] = abi.encodePacked(r, s, uint8(0));
        malformed[5] = abi.encodePacked(r, bytes32(SECP256K1_N - uint256(s)), v == 27 ? uint8(28) : uint8(27)); // high s
        malformed[6] = abi.encodePacked(bytes32(0), bytes32(0), v);
        malformed[7] = abi.encodePacked(keccak256("r"), keccak256("s"), v); // random bytes
        for (uint256 i = 0; i < malformed.length; ++i) {
            _expectRevertFrom(
                stranger,
                _attestBySigCall(a, dealer, malformed[i]),
                abi.encodeWithSelector(IEvidenceRegistry.RegistryInvalidSignature.selector, dealer)
            );
        }
        assertEq(registry.nonces(dealer), 0, "failed attempts use no nonce");
        _relay(a, dealer, abi.encodePacked(r, s, v));
        assertTrue(registry.isValid(a.digest));
    }

    function test_attestBySig_revertsForNonMembersAndMembersWithoutTheKindsRole() public {
        (address[] memory signers, uint256[] memory keys) = _signersWithoutRoles(INSPECTION_ROLES);
        for (uint256 i = 0; i < signers.length; ++i) {
            SignedAttest memory a = _signedAttest(signers[i], "delegated");
            _expectRevertFrom(
                stranger,
                _attestBySigCall(a, signers[i], _sign(keys[i], _typedDigest(a))),
                abi.encodeWithSelector(
                    IEvidenceRegistry.RegistryUnauthorizedAttester.selector, signers[i], KIND_INSPECTION
                )
            );
        }
        assertEq(signers.length, 5);
    }

    function test_attestBySig_revertsForSuspendedAndExpelledSigner() public {
        SignedAttest memory a = _signedAttest(dealer, "delegated");
        _assertRefusedSuspendedAndExpelled(
            _attestBySigCall(a, dealer, _sign(dealerKey, _typedDigest(a))),
            stranger,
            dealerId,
            abi.encodeWithSelector(IEvidenceRegistry.RegistryUnauthorizedAttester.selector, dealer, KIND_INSPECTION)
        );
    }

    function test_attestBySig_refusesOdometerKind() public {
        SignedAttest memory a = _signedAttest(dealer, "delegated");
        a.kind = KIND_ODOMETER;
        _expectRevertFrom(
            stranger,
            _attestBySigCall(a, dealer, _sign(dealerKey, _typedDigest(a))),
            abi.encodeWithSelector(IEvidenceRegistry.RegistryReadingRequired.selector, KIND_ODOMETER)
        );
    }

    function _copy(SignedAttest memory a) internal pure returns (SignedAttest memory) {
        return SignedAttest(a.subject, a.kind, a.digest, a.ref, a.expiry, a.nonce, a.deadline);
    }

    // ================================================================ attestReadingBySig

    function test_attestReadingBySig_relayedByAnyoneAttributesToTheSigner() public {
        SignedReading memory r = _signedReading(dealer, "delegated-reading", 42_000);
        bytes memory signature = _sign(dealerKey, _typedDigest(r));
        vm.expectEmit(address(registry));
        emit IEvidenceRegistry.Attested(SUBJECT, KIND_ODOMETER, dealer, r.digest, bytes32(0), 0, W_ODOMETER);
        vm.expectEmit(address(registry));
        emit IEvidenceRegistry.OdometerRecorded(SUBJECT, r.digest, 42_000, false);
        bytes32 uid = _relayReading(r, dealer, signature);

        assertEq(uid, r.digest);
        (IEvidenceRegistry.Record memory record,) = registry.getRecord(uid);
        assertEq(record.attester, dealer);
        assertEq(record.kind, KIND_ODOMETER);
        assertEq(registry.lastReading(SUBJECT), 42_000);
        assertFalse(registry.isRollbackFlagged(uid));
        assertTrue(registry.isValid(uid));
        assertEq(registry.pointsOf(dealerId), W_ODOMETER);
        assertEq(registry.nonces(dealer), 1);
        assertEq(registry.nonces(stranger), 0, "the relayer's nonce is untouched");
    }

    function test_attestReadingBySig_carriesRefAndExpiry() public {
        bytes32 original = _readAs(telematics, SUBJECT, KIND_ODOMETER, _digest("original"), 100);
        SignedReading memory r = _signedReading(dealer, "delegated-reading", 150);
        r.ref = original;
        r.expiry = uint40(block.timestamp + 10 days);
        _relayReading(r, dealer, _sign(dealerKey, _typedDigest(r)));
        (IEvidenceRegistry.Record memory record, bytes32 ref) = registry.getRecord(r.digest);
        assertEq(ref, original);
        assertEq(record.expiry, r.expiry);
        assertEq(registry.pointsOf(telematicsId), W_ODOMETER + BONUS, "corroboration applies to signed readings");
    }

    function test_attestReadingBySig_revertsOnWrongSigner() public {
        SignedReading memory r = _signedReading(dealer, "delegated-reading", 42_000);
        _expectRevertFrom(
            stranger,
            _attestReadingBySigCall(r, dealer, _sign(otherDealerKey, _typedDigest(r))),
            abi.encodeWithSelector(IEvidenceRegistry.RegistryInvalidSignature.selector, dealer)
        );
        // The dealer's signature does not make a record for another attester either.
        _expectRevertFrom(
            stranger,
            _attestReadingBySigCall(r, otherDealer, _sign(dealerKey, _typedDigest(r))),
            abi.encodeWithSelector(IEvidenceRegistry.RegistryInvalidSignature.selector, otherDealer)
        );
        assertEq(registry.nonces(dealer), 0);
        assertEq(registry.nonces(otherDealer), 0);
        assertEq(registry.lastReading(SUBJECT), 0);
    }

    function test_attestReadingBySig_revertsOnAnyFieldChangedAfterSigning() public {
        SignedReading memory r = _signedReading(dealer, "delegated-reading", 42_000);
        bytes memory signature = _sign(dealerKey, _typedDigest(r));
        bytes memory err = abi.encodeWithSelector(IEvidenceRegistry.RegistryInvalidSignature.selector, dealer);
        SignedReading[] memory changed = new SignedReading[](8);
        for (uint256 i = 0; i < changed.length; ++i) {
            changed[i] = _copy(r);
        }
        changed[0].reading = 420_000;
        changed[1].reading = 4_200;
        changed[2].subject = OTHER_SUBJECT;
        changed[3].kind = KIND_ODOMETER_STRICT;
        changed[4].digest = _digest("other");
        changed[5].ref = _inspect(otherDealer, "some-record");
        changed[6].expiry = uint40(block.timestamp + 1 days);
        changed[7].deadline = r.deadline + 1;
        for (uint256 i = 0; i < changed.length; ++i) {
            _expectRevertFrom(stranger, _attestReadingBySigCall(changed[i], dealer, signature), err);
        }
        // Signed for the next nonce: not valid while the current one is unused.
        SignedReading memory nextNonce = _copy(r);
        nextNonce.nonce = 1;
        _expectRevertFrom(stranger, _attestReadingBySigCall(r, dealer, _sign(dealerKey, _typedDigest(nextNonce))), err);
        // An `Attest` signature over the same fields is not an `AttestReading` one.
        SignedAttest memory asAttest = SignedAttest(r.subject, r.kind, r.digest, r.ref, r.expiry, r.nonce, r.deadline);
        _expectRevertFrom(stranger, _attestReadingBySigCall(r, dealer, _sign(dealerKey, _typedDigest(asAttest))), err);
        assertEq(registry.lastReading(SUBJECT), 0);
        _relayReading(r, dealer, signature);
        assertEq(registry.lastReading(SUBJECT), 42_000);
    }

    function test_attestReadingBySig_revertsOnExpiredDeadline() public {
        SignedReading memory r = _signedReading(dealer, "delegated-reading", 42_000);
        r.deadline = block.timestamp - 1;
        _expectRevertFrom(
            stranger,
            _attestReadingBySigCall(r, dealer, _sign(dealerKey, _typedDigest(r))),
            abi.encodeWithSelector(IEvidenceRegistry.RegistryExpiredSignature.selector, r.deadline)
        );

        r.deadline = block.timestamp + 1 hours;
        bytes memory signature = _sign(dealerKey, _typedDigest(r));
        vm.warp(r.deadline + 1);
        _expectRevertFrom(
            stranger,
            _attestReadingBySigCall(r, dealer, signature),
            abi.encodeWithSelector(IEvidenceRegistry.RegistryExpiredSignature.selector, r.deadline)
        );
        assertEq(registry.nonces(dealer), 0);
        // The deadline itself is still in time.
        vm.warp(r.deadline);
        _relayReading(r, dealer, signature);
        assertEq(registry.lastReading(SUBJECT), 42_000);
    }

    function test_attestReadingBySig_revertsOnReplay() public {
        SignedReading memory r = _signedReading(dealer, "delegated-reading", 42_000);
        bytes memory signature = _sign(dealerKey, _typedDigest(r));
        _relayReading(r, dealer, signature);
        _expectRevertFrom(
            otherDealer,
            _attestReadingBySigCall(r, dealer, signature),
            abi.encodeWithSelector(IEvidenceRegistry.RegistryInvalidSignature.selector, dealer)
        );
        assertEq(registry.nonces(dealer), 1);
    }

    function test_attestReadingBySig_sharesTheNonceOfAttestBySig() public {
        // Signed with nonce 0 both; whichever is relayed first uses the nonce and cancels the other.
        SignedAttest memory a = _signedAttest(dealer, "delegated");
        SignedReading memory r = _signedReading(dealer, "delegated-reading", 42_000);
        assertEq(a.nonce, r.nonce);
        bytes memory readingSignature = _sign(dealerKey, _typedDigest(r));
        _relay(a, dealer, _sign(dealerKey, _typedDigest(a)));
        _expectRevertFrom(
            stranger,
            _attestReadingBySigCall(r, dealer, readingSignature),
            abi.encodeWithSelector(IEvidenceRegistry.RegistryInvalidSignature.selector, dealer)
        );
        // A reading signed with the next nonce goes through and uses it.
        r.nonce = 1;
        _relayReading(r, dealer, _sign(dealerKey, _typedDigest(r)));
        assertEq(registry.nonces(dealer), 2);
    }

    function test_invalidateNonce_cancelsSignedReading() public {
        SignedReading memory r = _signedReading(dealer, "cancelled-reading", 42_000);
        bytes memory signature = _sign(dealerKey, _typedDigest(r));
        vm.prank(dealer);
        registry.invalidateNonce();
        _expectRevertFrom(
            stranger,
            _attestReadingBySigCall(r, dealer, signature),
            abi.encodeWithSelector(IEvidenceRegistry.RegistryInvalidSignature.selector, dealer)
        );
        assertEq(registry.lastReading(SUBJECT), 0);
        SignedReading memory next = _signedReading(dealer, "next-reading", 42_000);
        assertEq(next.nonce, 1);
        _relayReading(next, dealer, _sign(dealerKey, _typedDigest(next)));
        assertEq(registry.nonces(dealer), 2);
    }

    function test_attestReadingBySig_lowerReadingRevertsOnRejectingKind() public {
        _readAs(telematics, SUBJECT, KIND_ODOMETER_STRICT, _digest("r1"), 90_000);
        SignedReading memory r = _signedReading(dealer, "rolled-back", 30_000);
        r.kind = KIND_ODOMETER_STRICT;
        _expectRevertFrom(
            stranger,
            _attestReadingBySigCall(r, dealer, _sign(dealerKey, _typedDigest(r))),
            abi.encodeWithSelector(IEvidenceRegistry.RegistryOdometerRollback.selector, SUBJECT, 90_000, 30_000)
        );
        (IEvidenceRegistry.Record memory record,) = registry.getRecord(r.digest);
        assertEq(record.attester, address(0), "nothing recorded");
        assertEq(registry.pointsOf(dealerId), 0, "nothing earned");
        assertEq(registry.nonces(dealer), 0, "the nonce is not used");
        assertEq(registry.lastReading(SUBJECT), 90_000);
    }

    function test_attestReadingBySig_lowerReadingFlaggedOnFlaggingKind() public {
        _readAs(telematics, SUBJECT, KIND_ODOMETER, _digest("r1"), 90_000);
        SignedReading memory r = _signedReading(dealer, "rolled-back", 30_000);
        vm.expectEmit(address(registry));
        emit IEvidenceRegistry.OdometerRecorded(SUBJECT, r.digest, 30_000, true);
        bytes32 uid = _relayReading(r, dealer, _sign(dealerKey, _typedDigest(r)));

        assertTrue(registry.isRollbackFlagged(uid));
        assertEq(registry.lastReading(SUBJECT), 90_000, "the last reading stays the highest");
        assertTrue(registry.isValid(uid), "a flagged record is still a valid record");
        assertEq(registry.pointsOf(dealerId), W_ODOMETER);
    }

    function testFuzz_attestReadingBySig_rollbackRule(uint64 first, uint64 second, bool strict) public {
        _checkRollbackRule(first, second, strict, true);
    }

    function test_attestReadingBySig_rollbackRule() public {
        _checkRollbackRule(100, 99, false, true);
        _checkRollbackRule(100, 99, true, true);
        _checkRollbackRule(100, 100, true, true);
        _checkRollbackRule(100, 101, true, true);
        _checkRollbackRule(type(uint64).max, 0, false, true);
        _checkRollbackRule(0, type(uint64).max, true, true);
    }

    function test_attestReadingBySig_revertsOnNonOdometerKind() public {
        SignedReading memory r = _signedReading(dealer, "delegated-reading", 1);
        r.kind = KIND_INSPECTION;
        _expectRevertFrom(
            stranger,
            _attestReadingBySigCall(r, dealer, _sign(dealerKey, _typedDigest(r))),
            abi.encodeWithSelector(IEvidenceRegistry.RegistryNotOdometerKind.selector, KIND_INSPECTION)
        );
        assertEq(registry.nonces(dealer), 0);
    }

    function test_attestReadingBySig_revertsForNonMembersAndMembersWithoutTheKindsRole() public {
        (address[] memory signers, uint256[] memory keys) = _signersWithoutRoles(ODOMETER_ROLES);
        for (uint256 i = 0; i < signers.length; ++i) {
            SignedReading memory r = _signedReading(signers[i], "delegated-reading", 1);
            _expectRevertFrom(
                stranger,
                _attestReadingBySigCall(r, signers[i], _sign(keys[i], _typedDigest(r))),
                abi.encodeWithSelector(
                    IEvidenceRegistry.RegistryUnauthorizedAttester.selector, signers[i], KIND_ODOMETER
                )
            );
        }
        assertEq(signers.length, 5);
        assertEq(registry.lastReading(SUBJECT), 0);
    }

    function test_attestReadingBySig_revertsForSuspendedAndExpelledSigner() public {
        SignedReading memory r = _signedReading(dealer, "delegated-reading", 1);
        _assertRefusedSuspendedAndExpelled(
            _attestReadingBySigCall(r, dealer, _sign(dealerKey, _typedDigest(r))),
            stranger,
            dealerId,
            abi.encodeWithSelector(IEvidenceRegistry.RegistryUnauthorizedAttester.selector, dealer, KIND_ODOMETER)
        );
    }

    function _copy(SignedReading memory r) internal pure returns (SignedReading memory) {
        return SignedReading(r.subject, r.kind, r.digest, r.ref, r.expiry, r.reading, r.nonce, r.deadline);
    }

    /// @dev The accounts of the fixture whose member holds none of `kindRoles` (the stranger included), with their
    /// signing keys.
    function _signersWithoutRoles(uint16 kindRoles) internal returns (address[] memory signers, uint256[] memory keys) {
        (address[] memory accounts, uint256[] memory roles) = _accounts();
        string[9] memory names = [
            string("stranger"),
            "governorA",
            "dealer",
            "otherDealer",
            "insurer",
            "repairShop",
            "bank",
            "telematics",
            "dmv"
        ];
        uint256 count;
        for (uint256 i = 0; i < accounts.length; ++i) {
            if (roles[i] & kindRoles == 0) ++count;
        }
        signers = new address[](count);
        keys = new uint256[](count);
        count = 0;
        for (uint256 i = 0; i < accounts.length; ++i) {
            if (roles[i] & kindRoles != 0) continue;
            (signers[count], keys[count]) = makeAddrAndKey(names[i]);
            assertEq(signers[count], accounts[i]);
            ++count;
        }
    }

    // ================================================================ anchorBatch and verifyBatchRecord

    function test_anchorBatch_storesCreditsAndEmits() public {
        (,, bytes32[] memory leaves) = _batchRecords(1, 5, 0);
        bytes32 root = _merkleRoot(leaves);
        vm.expectEmit(address(registry));
        emit IEvidenceRegistry.BatchAnchored(1, KIND_TELEMATICS_BATCH, telematics, root, 5, URI);
        vm.expectEmit(address(registry));
        emit ICreditPoints.PointsChanged(
            telematicsId, int256(uint256(W_BATCH)), ICreditPoints.PointsReason.Batch, bytes32(uint256(1))
        );
        uint64 batchId = _anchor(telematics, KIND_TELEMATICS_BATCH, root, 5);

        assertEq(batchId, 1);
        assertEq(registry.batchCount(), 1);
        IEvidenceRegistry.Batch memory batch = registry.getBatch(batchId);
        assertEq(batch.root, root);
        assertEq(batch.attester, telematics);
        assertEq(batch.time, START);
        assertEq(batch.kind, KIND_TELEMATICS_BATCH);
        assertEq(batch.count, 5);
        assertEq(batch.revokedAt, 0);
        assertEq(batch.uriDigest, URI);
        assertEq(registry.pointsOf(telematicsId), W_BATCH);
        assertEq(registry.totalPoints(), W_BATCH);
    }

    function test_anchorBatch_idsAreSequential() public {
        assertEq(_anchor(telematics, KIND_TELEMATICS_BATCH, keccak256("a"), 1), 1);
        assertEq(_anchor(dealer, KIND_INSPECTION, keccak256("b"), 2), 2);
        assertEq(registry.batchCount(), 2);
        assertEq(
            abi.encode(registry.getBatch(3)),
            abi.encode(IEvidenceRegistry.Batch(bytes32(0), address(0), 0, 0, 0, 0, bytes32(0)))
        );
    }

    function test_anchorBatch_revertsOnZeroRootOrCount() public {
        vm.expectRevert(abi.encodeWithSelector(IEvidenceRegistry.RegistryInvalidBatch.selector, bytes32(0), 3));
        _anchor(telematics, KIND_TELEMATICS_BATCH, bytes32(0), 3);
        vm.expectRevert(abi.encodeWithSelector(IEvidenceRegistry.RegistryInvalidBatch.selector, keccak256("r"), 0));
        _anchor(telematics, KIND_TELEMATICS_BATCH, keccak256("r"), 0);
    }

    function test_anchorBatch_revertsOnUnknownOrInactiveKind() public {
        vm.expectRevert(abi.encodeWithSelector(IEvidenceRegistry.RegistryUnknownKind.selector, 77));
        _anchor(telematics, 77, keccak256("r"), 1);
        _updateKind(KIND_TELEMATICS_BATCH, uint16(Roles.TELEMATICS_ORACLE), W_BATCH, 0, false);
        vm.expectRevert(abi.encodeWithSelector(IEvidenceRegistry.RegistryKindInactive.selector, KIND_TELEMATICS_BATCH));
        _anchor(telematics, KIND_TELEMATICS_BATCH, keccak256("r"), 1);
    }

    function test_anchorBatch_revertsForNonMembersAndMembersWithoutTheKindsRole() public {
        _assertAttestRefusedWithoutRole(
            abi.encodeCall(IEvidenceRegistry.anchorBatch, (KIND_TELEMATICS_BATCH, keccak256("r"), 4, URI)),
            KIND_TELEMATICS_BATCH
        );
        assertEq(registry.batchCount(), 0);
    }

    function test_anchorBatch_revertsForSuspendedAndExpelledMember() public {
        _assertRefusedSuspendedAndExpelled(
            abi.encodeCall(IEvidenceRegistry.anchorBatch, (KIND_TELEMATICS_BATCH, keccak256("r"), 4, URI)),
            telematics,
            telematicsId,
            abi.encodeWithSelector(
                IEvidenceRegistry.RegistryUnauthorizedAttester.selector, telematics, KIND_TELEMATICS_BATCH
            )
        );
    }

    function test_batchLeaf_isTheDomainSeparatedDoubleHash() public view {
        assertEq(registry.batchLeaf(7, SUBJECT, EVIDENCE), _leaf(7, SUBJECT, EVIDENCE));
        assertEq(
            registry.batchLeaf(7, SUBJECT, EVIDENCE),
            keccak256(
                bytes.concat(
                    keccak256(abi.encode(keccak256("VehicleEvidence.BatchLeaf.v1"), uint64(7), SUBJECT, EVIDENCE))
                )
            )
        );
        assertTrue(registry.batchLeaf(7, SUBJECT, EVIDENCE) != registry.batchLeaf(8, SUBJECT, EVIDENCE));
    }

    function test_verifyBatchRecord_everyLeafAndNothingElse() public {
        (bytes32[] memory subjects, bytes32[] memory digests, bytes32[] memory leaves) = _batchRecords(1, 7, 1);
        uint64 batchId = _anchor(telematics, KIND_TELEMATICS_BATCH, _merkleRoot(leaves), 7);
        for (uint256 i = 0; i < leaves.length; ++i) {
            bytes32[] memory proof = _merkleProof(leaves, i);
            assertTrue(registry.verifyBatchRecord(batchId, subjects[i], digests[i], proof), "leaf not included");
            assertFalse(registry.verifyBatchRecord(batchId, OTHER_SUBJECT, digests[i], proof), "wrong subject");
            assertFalse(registry.verifyBatchRecord(batchId, subjects[i], EVIDENCE, proof), "wrong digest");
            assertFalse(registry.verifyBatchRecord(batchId + 1, subjects[i], digests[i], proof), "unknown batch");
            // Another leaf's proof does not prove this one.
            bytes32[] memory otherProof = _merkleProof(leaves, (i + 1) % leaves.length);
            assertFalse(registry.verifyBatchRecord(batchId, subjects[i], digests[i], otherProof), "wrong proof");
        }
    }

    function test_verifyBatchRecord_singleLeafTreeNeedsNoProof() public {
        (bytes32[] memory subjects, bytes32[] memory digests, bytes32[] memory leaves) = _batchRecords(1, 1, 2);
        assertEq(_merkleRoot(leaves), leaves[0]);
        uint64 batchId = _anchor(telematics, KIND_TELEMATICS_BATCH, leaves[0], 1);
        assertTrue(registry.verifyBatchRecord(batchId, subjects[0], digests[0], new bytes32[](0)));
        assertFalse(registry.verifyBatchRecord(batchId, subjects[0], EVIDENCE, new bytes32[](0)));
    }

    function test_verifyBatchRecord_leafIsBoundToItsBatchId() public {
        (bytes32[] memory subjects, bytes32[] memory digests, bytes32[] memory leaves) = _batchRecords(1, 4, 3);
        bytes32 root = _merkleRoot(leaves);
        uint64 first = _anchor(telematics, KIND_TELEMATICS_BATCH, root, 4);
        uint64 second = _anchor(telematics, KIND_TELEMATICS_BATCH, root, 4); // the same root again
        for (uint256 i = 0; i < leaves.length; ++i) {
            bytes32[] memory proof = _merkleProof(leaves, i);
            assertTrue(registry.verifyBatchRecord(first, subjects[i], digests[i], proof));
            assertFalse(registry.verifyBatchRecord(second, subjects[i], digests[i], proof));
        }
    }

    function test_verifyBatchRecord_falseForUnknownBatch() public view {
        assertFalse(registry.verifyBatchRecord(1, SUBJECT, EVIDENCE, new bytes32[](0)));
        assertFalse(registry.verifyBatchRecord(0, SUBJECT, EVIDENCE, new bytes32[](0)));
    }

    function test_verifyBatchRecord_innerNodeCannotPassAsLeaf() public {
        (bytes32[] memory subjects, bytes32[] memory digests, bytes32[] memory leaves) = _batchRecords(1, 4, 4);
        bytes32 root = _merkleRoot(leaves);
        uint64 batchId = _anchor(telematics, KIND_TELEMATICS_BATCH, root, 4);
        bytes32 inner = _hashPair(leaves[0], leaves[1]);
        bytes32 innerSibling = _hashPair(leaves[2], leaves[3]);
        bytes32[] memory shortProof = new bytes32[](1);
        shortProof[0] = innerSibling;
        // A bare Merkle check would take the inner node as a leaf with the shortened proof...
        assertTrue(MerkleProof.verify(shortProof, root, inner), "the attack is real for bare leaves");
        // ...but no (subject, digest) pair maps to it: neither the two children (the 64 bytes the inner node hashes)
        (bytes32 low, bytes32 high) = leaves[0] < leaves[1] ? (leaves[0], leaves[1]) : (leaves[1], leaves[0]);
        assertTrue(registry.batchLeaf(batchId, low, high) != inner);
        assertFalse(registry.verifyBatchRecord(batchId, low, high, shortProof));
        assertFalse(registry.verifyBatchRecord(batchId, high, low, shortProof));
        // nor the inner hash itself in either field
        assertFalse(registry.verifyBatchRecord(batchId, inner, bytes32(0), shortProof));
        assertFalse(registry.verifyBatchRecord(batchId, bytes32(0), inner, shortProof));
        assertFalse(registry.verifyBatchRecord(batchId, subjects[0], inner, shortProof));
        // nor the root with an empty proof.
        assertFalse(registry.verifyBatchRecord(batchId, innerSibling, inner, new bytes32[](0)));
        // The real leaves still verify.
        assertTrue(registry.verifyBatchRecord(batchId, subjects[0], digests[0], _merkleProof(leaves, 0)));
    }

    function test_verifyBatchRecord_falseOnceBatchIsRevoked() public {
        (bytes32[] memory subjects, bytes32[] memory digests, bytes32[] memory leaves) = _batchRecords(1, 3, 5);
        uint64 batchId = _anchor(telematics, KIND_TELEMATICS_BATCH, _merkleRoot(leaves), 3);
        vm.prank(telematics);
        registry.revokeBatch(batchId, 2);
        for (uint256 i = 0; i < leaves.length; ++i) {
            assertFalse(registry.verifyBatchRecord(batchId, subjects[i], digests[i], _merkleProof(leaves, i)));
        }
    }

    function testFuzz_verifyBatchRecord_inclusion(uint256 count, uint256 seed) public {
        _checkInclusion(_bound(count, 1, 64), seed);
    }

    function test_verifyBatchRecord_inclusion() public {
        uint8[10] memory counts = [1, 2, 3, 4, 5, 7, 8, 9, 33, 64];
        for (uint256 i = 0; i < counts.length; ++i) {
            _checkInclusion(counts[i], i);
        }
    }

    /// @dev Anchors a tree of `count` records and checks every leaf verifies, and a changed leaf does not.
    function _checkInclusion(uint256 count, uint256 seed) internal {
        uint64 batchId = registry.batchCount() + 1;
        (bytes32[] memory subjects, bytes32[] memory digests, bytes32[] memory leaves) =
            _batchRecords(batchId, count, seed);
        // forge-lint: disable-next-line(unsafe-typecast)
        assertEq(_anchor(telematics, KIND_TELEMATICS_BATCH, _merkleRoot(leaves), uint32(count)), batchId);
        for (uint256 i = 0; i < count; ++i) {
            bytes32[] memory proof = _merkleProof(leaves, i);
            assertTrue(registry.verifyBatchRecord(batchId, subjects[i], digests[i], proof), "leaf not included");
            assertFalse(registry.verifyBatchRecord(batchId, subjects[i], ~digests[i], proof), "changed leaf included");
        }
        assertFalse(
            registry.verifyBatchRecord(batchId, subjects[0], keccak256(abi.encode(seed)), _merkleProof(leaves, 0))
        );
    }

    // ================================================================ revoke

    function test_revoke_byAttester_recordsClawsBackAndEmits() public {
        bytes32 uid = _inspect(dealer, "to-revoke");
        vm.warp(START + 1 days);
        vm.expectEmit(address(registry));
        emit IEvidenceRegistry.Revoked(uid, dealer, 4, bytes32(0));
        vm.expectEmit(address(registry));
        emit ICreditPoints.PointsChanged(
            dealerId, -int256(uint256(W_INSPECTION)), ICreditPoints.PointsReason.Clawback, uid
        );
        vm.prank(dealer);
        registry.revoke(uid, 4, bytes32(0));

        IEvidenceRegistry.Revocation memory revocation = registry.getRevocation(uid);
        assertEq(revocation.time, START + 1 days);
        assertEq(revocation.reason, 4);
        assertEq(revocation.supersededBy, bytes32(0));
        assertFalse(registry.isValid(uid));
        assertEq(registry.pointsOf(dealerId), 0);
        assertEq(registry.totalPoints(), 0);
        // Nothing is deleted.
        (IEvidenceRegistry.Record memory record,) = registry.getRecord(uid);
        assertEq(record.attester, dealer);
    }

    function test_revoke_supersededByANewRecordOfTheKind() public {
        bytes32 old = _inspect(dealer, "old");
        bytes32 replacement = _attestAs(insurer, SUBJECT, KIND_INSPECTION, _digest("replacement"), old, 0);
        vm.expectEmit(address(registry));
        emit IEvidenceRegistry.Revoked(old, dealer, 3, replacement);
        vm.prank(dealer);
        registry.revoke(old, 3, replacement);
        assertEq(registry.getRevocation(old).supersededBy, replacement);
        assertFalse(registry.isValid(old));
        assertFalse(registry.isValid(replacement), "it refers to the revoked record");
    }

    function test_revoke_revertsOnInvalidSupersede() public {
        bytes32 uid = _inspect(dealer, "old");
        bytes32 title = _attestAs(dmv, SUBJECT, KIND_TITLE, _digest("title"), bytes32(0), 0);
        bytes32[3] memory bad = [uid, _digest("unknown"), title];
        for (uint256 i = 0; i < bad.length; ++i) {
            vm.expectRevert(abi.encodeWithSelector(IEvidenceRegistry.RegistryInvalidSupersede.selector, uid, bad[i]));
            vm.prank(dealer);
            registry.revoke(uid, 1, bad[i]);
        }
        assertTrue(registry.isValid(uid));
    }

    function test_revoke_revertsForUnknownRecord() public {
        vm.expectRevert(abi.encodeWithSelector(IEvidenceRegistry.RegistryUnknownRecord.selector, _digest("nope")));
        vm.prank(dealer);
        registry.revoke(_digest("nope"), 1, bytes32(0));
    }

    function test_revoke_revertsForAnyoneButTheAttestingAccount() public {
        bytes32 uid = _inspect(dealer, "mine");
        address second = makeAddr("dealer-second-account");
        vm.prank(address(membership));
        membership.addAccount(dealerId, second);
        (address[] memory accounts,) = _accounts();
        bytes memory data = abi.encodeCall(IEvidenceRegistry.revoke, (uid, 1, bytes32(0)));
        for (uint256 i = 0; i < accounts.length; ++i) {
            if (accounts[i] == dealer) continue;
            _expectRevertFrom(
                accounts[i],
                data,
                abi.encodeWithSelector(IEvidenceRegistry.RegistryNotAttester.selector, uid, accounts[i])
            );
        }
        _expectRevertFrom(
            second, data, abi.encodeWithSelector(IEvidenceRegistry.RegistryNotAttester.selector, uid, second)
        );
        _expectRevertFrom(
            address(membership),
            data,
            abi.encodeWithSelector(IEvidenceRegistry.RegistryNotAttester.selector, uid, address(membership))
        );
        assertTrue(registry.isValid(uid));
    }

    function test_revoke_revertsForSuspendedAndExpelledAttester() public {
        bytes32 uid = _inspect(dealer, "mine");
        _assertRefusedSuspendedAndExpelled(
            abi.encodeCall(IEvidenceRegistry.revoke, (uid, 1, bytes32(0))),
            dealer,
            dealerId,
            abi.encodeWithSelector(IEvidenceRegistry.RegistryUnauthorizedAccount.selector, dealer)
        );
        assertTrue(registry.isValid(uid));
    }

    function test_revoke_allowedAfterTheMemberLostTheKindsRole() public {
        bytes32 uid = _inspect(dealer, "mine");
        vm.prank(address(membership));
        membership.setRoles(dealerId, Roles.BANK);
        vm.prank(dealer);
        registry.revoke(uid, 1, bytes32(0));
        assertFalse(registry.isValid(uid));
    }

    function test_revoke_revertsWhenAlreadyRevoked() public {
        bytes32 uid = _inspect(dealer, "mine");
        vm.prank(dealer);
        registry.revoke(uid, 1, bytes32(0));
        vm.expectRevert(abi.encodeWithSelector(IEvidenceRegistry.RegistryAlreadyRevoked.selector, uid));
        vm.prank(dealer);
        registry.revoke(uid, 2, bytes32(0));
        assertEq(registry.getRevocation(uid).reason, 1);
    }

    function test_revoke_revertsWhileADisputeIsOpen() public {
        bytes32 uid = _inspect(dealer, "disputed");
        uint256 disputeId = _dispute(insurer, uid);
        vm.expectRevert(abi.encodeWithSelector(IEvidenceRegistry.RegistryDisputeExists.selector, uid, disputeId));
        vm.prank(dealer);
        registry.revoke(uid, 1, bytes32(0));

        // Once the dispute is rejected, the attester may revoke.
        _resolve(disputeId, false);
        vm.prank(dealer);
        registry.revoke(uid, 1, bytes32(0));
        assertFalse(registry.isValid(uid));
    }

    function test_revoke_afterUpheldDisputeClawsNothingBack() public {
        _inspect(dealer, "a");
        _inspect(dealer, "b");
        _inspect(dealer, "c");
        _inspect(dealer, "d");
        bytes32 uid = _inspect(dealer, "disputed");
        _resolve(_dispute(insurer, uid), true);
        assertEq(registry.pointsOf(dealerId), 5 * W_INSPECTION - SLASH_MULTIPLIER * W_INSPECTION);

        vm.recordLogs();
        vm.prank(dealer);
        registry.revoke(uid, 1, bytes32(0));
        assertEq(_pointsEvents(vm.getRecordedLogs()), 0);
        assertEq(registry.pointsOf(dealerId), 2 * W_INSPECTION, "the slash already took the points");
    }

    function test_revoke_clawbackCappedAtTheBalance() public {
        _setPointsParameters(BONUS, 2, DISPUTER_REWARD);
        bytes32 disputed = _inspect(dealer, "a");
        bytes32 kept = _inspect(dealer, "b");
        _readAs(dealer, SUBJECT, KIND_ODOMETER, _digest("reading"), 10);
        _resolve(_dispute(insurer, disputed), true); // 22 - 20
        assertEq(registry.pointsOf(dealerId), 2);

        vm.expectEmit(address(registry));
        emit ICreditPoints.PointsChanged(dealerId, -2, ICreditPoints.PointsReason.Clawback, kept);
        vm.prank(dealer);
        registry.revoke(kept, 1, bytes32(0));
        assertEq(registry.pointsOf(dealerId), 0);
        assertEq(registry.totalPoints(), _sumOfPoints());
    }

    function test_revoke_withZeroBalanceEmitsNoPointsChange() public {
        bytes32 first = _inspect(dealer, "a");
        bytes32 second = _inspect(dealer, "b");
        _resolve(_dispute(insurer, first), true); // slash 30 capped at 20
        assertEq(registry.pointsOf(dealerId), 0);
        vm.recordLogs();
        vm.prank(dealer);
        registry.revoke(second, 1, bytes32(0));
        assertEq(_pointsEvents(vm.getRecordedLogs()), 0);
        assertEq(registry.totalPoints(), DISPUTER_REWARD);
    }

    /// @dev Pins current behaviour: the clawback is the kind's weight at revocation time, not the points the record
    /// earned when it was attested (the record has no room to remember them). See the report.
    function test_revoke_clawbackUsesTheKindsCurrentWeight() public {
        _inspect(dealer, "other");
        bytes32 uid = _inspect(dealer, "at-10");
        _updateKind(KIND_INSPECTION, INSPECTION_ROLES, 15, 0, true);
        vm.prank(dealer);
        registry.revoke(uid, 1, bytes32(0));
        assertEq(registry.pointsOf(dealerId), 2 * W_INSPECTION - 15);
    }

    function test_revoke_recordOfAnotherKindAndReading() public {
        bytes32 reading = _readAs(telematics, SUBJECT, KIND_ODOMETER, _digest("reading"), 10);
        vm.prank(telematics);
        registry.revoke(reading, 1, bytes32(0));
        assertFalse(registry.isValid(reading));
        assertEq(registry.pointsOf(telematicsId), 0);
        assertEq(registry.lastReading(SUBJECT), 10, "a revoked reading does not lower the last reading");
    }

    // ================================================================ revokeBatch

    function test_revokeBatch_byAttester_recordsClawsBackAndEmits() public {
        uint64 batchId = _anchor(telematics, KIND_TELEMATICS_BATCH, keccak256("root"), 10);
        vm.warp(START + 2 days);
        vm.expectEmit(address(registry));
        emit IEvidenceRegistry.BatchRevoked(batchId, telematics, 9);
        vm.expectEmit(address(registry));
        emit ICreditPoints.PointsChanged(
            telematicsId, -int256(uint256(W_BATCH)), ICreditPoints.PointsReason.Clawback, bytes32(uint256(batchId))
        );
        vm.prank(telematics);
        registry.revokeBatch(batchId, 9);
        assertEq(registry.getBatch(batchId).revokedAt, START + 2 days);
        assertEq(registry.getBatch(batchId).root, keccak256("root"), "nothing is deleted");
        assertEq(registry.pointsOf(telematicsId), 0);
        assertEq(registry.totalPoints(), 0);
    }

    function test_revokeBatch_revertsForUnknownBatch() public {
        vm.expectRevert(abi.encodeWithSelector(IEvidenceRegistry.RegistryUnknownBatch.selector, 1));
        vm.prank(telematics);
        registry.revokeBatch(1, 1);
    }

    function test_revokeBatch_revertsForAnyoneButTheAnchoringAccount() public {
        uint64 batchId = _anchor(telematics, KIND_TELEMATICS_BATCH, keccak256("root"), 10);
        (address[] memory accounts,) = _accounts();
        bytes memory data = abi.encodeCall(IEvidenceRegistry.revokeBatch, (batchId, 1));
        for (uint256 i = 0; i < accounts.length; ++i) {
            if (accounts[i] == telematics) continue;
            _expectRevertFrom(
                accounts[i],
                data,
                abi.encodeWithSelector(IEvidenceRegistry.RegistryNotBatchAttester.selector, batchId, accounts[i])
            );
        }
        _expectRevertFrom(
            address(membership),
            data,
            abi.encodeWithSelector(IEvidenceRegistry.RegistryNotBatchAttester.selector, batchId, address(membership))
        );
        assertEq(registry.getBatch(batchId).revokedAt, 0);
    }

    function test_revokeBatch_revertsForSuspendedAndExpelledAttester() public {
        uint64 batchId = _anchor(telematics, KIND_TELEMATICS_BATCH, keccak256("root"), 10);
        _assertRefusedSuspendedAndExpelled(
            abi.encodeCall(IEvidenceRegistry.revokeBatch, (batchId, 1)),
            telematics,
            telematicsId,
            abi.encodeWithSelector(IEvidenceRegistry.RegistryUnauthorizedAccount.selector, telematics)
        );
    }

    function test_revokeBatch_revertsWhenAlreadyRevoked() public {
        uint64 batchId = _anchor(telematics, KIND_TELEMATICS_BATCH, keccak256("root"), 10);
        vm.prank(telematics);
        registry.revokeBatch(batchId, 1);
        vm.expectRevert(abi.encodeWithSelector(IEvidenceRegistry.RegistryBatchAlreadyRevoked.selector, batchId));
        vm.prank(telematics);
        registry.revokeBatch(batchId, 1);
    }

    // ================================================================ openDispute

    function test_openDispute_storesAndEmits() public {
        bytes32 uid = _inspect(dealer, "disputed");
        vm.warp(START + 1 hours);
        vm.expectEmit(address(registry));
        emit IEvidenceRegistry.DisputeOpened(1, uid, insurerId, EVIDENCE);
        uint256 disputeId = _dispute(insurer, uid);

        assertEq(disputeId, 1);
        assertEq(registry.openDisputeOf(uid), 1);
        IEvidenceRegistry.Dispute memory dispute = registry.getDispute(disputeId);
        assertEq(dispute.uid, uid);
        assertEq(dispute.disputerMember, insurerId);
        assertEq(dispute.attesterMember, dealerId);
        assertEq(dispute.openedAt, START + 1 hours);
        assertEq(uint8(dispute.state), uint8(IEvidenceRegistry.DisputeState.Open));
        assertEq(dispute.evidenceDigest, EVIDENCE);
        assertTrue(registry.isValid(uid), "an open dispute does not invalidate");
        assertEq(registry.totalPoints(), W_INSPECTION, "opening a dispute moves no points");
    }

    function test_openDispute_anyActiveMemberOfAnyRole() public {
        bytes32 a = _inspect(dealer, "a");
        bytes32 b = _inspect(dealer, "b");
        bytes32 c = _inspect(dealer, "c");
        assertEq(_dispute(bank, a), 1);
        assertEq(_dispute(governorA, b), 2);
        assertEq(_dispute(otherDealer, c), 3);
        assertEq(registry.getDispute(2).disputerMember, membership.memberOf(governorA));
    }

    function test_openDispute_revertsForNonMember() public {
        bytes32 uid = _inspect(dealer, "disputed");
        vm.expectRevert(abi.encodeWithSelector(IEvidenceRegistry.RegistryUnauthorizedAccount.selector, stranger));
        vm.prank(stranger);
        registry.openDispute(uid, EVIDENCE);
    }

    function test_openDispute_revertsForSuspendedAndExpelledMember() public {
        bytes32 uid = _inspect(dealer, "disputed");
        _assertRefusedSuspendedAndExpelled(
            abi.encodeCall(IEvidenceRegistry.openDispute, (uid, EVIDENCE)),
            insurer,
            insurerId,
            abi.encodeWithSelector(IEvidenceRegistry.RegistryUnauthorizedAccount.selector, insurer)
        );
        assertEq(registry.openDisputeOf(uid), 0);
    }

    function test_openDispute_revertsForOwnMembersRecord() public {
        bytes32 uid = _inspect(dealer, "mine");
        address second = makeAddr("dealer-second-account");
        vm.prank(address(membership));
        membership.addAccount(dealerId, second);
        bytes memory err = abi.encodeWithSelector(IEvidenceRegistry.RegistryOwnRecordDispute.selector, uid, dealerId);
        vm.expectRevert(err);
        vm.prank(dealer);
        registry.openDispute(uid, EVIDENCE);
        vm.expectRevert(err);
        vm.prank(second);
        registry.openDispute(uid, EVIDENCE);
    }

    function test_openDispute_revertsForUnknownRecord() public {
        vm.expectRevert(abi.encodeWithSelector(IEvidenceRegistry.RegistryUnknownRecord.selector, _digest("nope")));
        vm.prank(insurer);
        registry.openDispute(_digest("nope"), EVIDENCE);
    }

    function test_openDispute_revertsForRevokedRecord() public {
        bytes32 uid = _inspect(dealer, "revoked");
        vm.prank(dealer);
        registry.revoke(uid, 1, bytes32(0));
        vm.expectRevert(abi.encodeWithSelector(IEvidenceRegistry.RegistryAlreadyRevoked.selector, uid));
        vm.prank(insurer);
        registry.openDispute(uid, EVIDENCE);
    }

    function test_openDispute_oneOpenDisputePerRecord() public {
        bytes32 uid = _inspect(dealer, "disputed");
        uint256 first = _dispute(insurer, uid);
        bytes memory err = abi.encodeWithSelector(IEvidenceRegistry.RegistryDisputeExists.selector, uid, first);
        vm.expectRevert(err);
        vm.prank(insurer);
        registry.openDispute(uid, keccak256("more"));
        vm.expectRevert(err);
        vm.prank(bank);
        registry.openDispute(uid, EVIDENCE);
    }

    function test_openDispute_againAfterRejectionButNeverAfterUpheld() public {
        bytes32 uid = _inspect(dealer, "disputed");
        _resolve(_dispute(insurer, uid), false);
        uint256 second = _dispute(bank, uid);
        assertEq(second, 2);
        _resolve(second, true);
        vm.expectRevert(abi.encodeWithSelector(IEvidenceRegistry.RegistryDisputeExists.selector, uid, 0));
        vm.prank(insurer);
        registry.openDispute(uid, EVIDENCE);
    }

    function test_openDispute_suspensionTakesEffectAtOnce() public {
        bytes32 uid = _inspect(dealer, "disputed");
        _suspend(insurerId);
        vm.expectRevert(abi.encodeWithSelector(IEvidenceRegistry.RegistryUnauthorizedAccount.selector, insurer));
        vm.prank(insurer);
        registry.openDispute(uid, EVIDENCE);
        vm.prank(address(membership));
        membership.reinstate(insurerId);
        assertEq(_dispute(insurer, uid), 1);
    }

    // ================================================================ resolveDispute

    function test_resolveDispute_upheldInvalidatesSlashesAndRewards() public {
        for (uint256 i = 0; i < 4; ++i) {
            _inspect(dealer, vm.toString(i));
        }
        bytes32 uid = _inspect(dealer, "false");
        uint256 disputeId = _dispute(insurer, uid);
        vm.expectEmit(address(registry));
        emit IEvidenceRegistry.DisputeResolved(disputeId, uid, true);
        vm.expectEmit(address(registry));
        emit ICreditPoints.PointsChanged(
            dealerId, -int256(uint256(W_INSPECTION) * SLASH_MULTIPLIER), ICreditPoints.PointsReason.Slash, uid
        );
        vm.expectEmit(address(registry));
        emit ICreditPoints.PointsChanged(
            insurerId, int256(uint256(DISPUTER_REWARD)), ICreditPoints.PointsReason.DisputeReward, uid
        );
        _resolve(disputeId, true);

        assertEq(uint8(registry.getDispute(disputeId).state), uint8(IEvidenceRegistry.DisputeState.Upheld));
        assertEq(registry.openDisputeOf(uid), 0);
        assertTrue(registry.isInvalidated(uid));
        assertFalse(registry.isValid(uid));
        assertEq(registry.getRevocation(uid).time, 0, "invalidation is not revocation");
        assertEq(registry.pointsOf(dealerId), 50 - 30);
        assertEq(registry.pointsOf(insurerId), DISPUTER_REWARD);
        assertEq(registry.totalPoints(), 50 - 30 + DISPUTER_REWARD);
    }

    function test_resolveDispute_upheldSlashCappedAtTheBalance() public {
        bytes32 uid = _inspect(dealer, "false");
        uint256 disputeId = _dispute(insurer, uid);
        vm.expectEmit(address(registry));
        emit ICreditPoints.PointsChanged(
            dealerId, -int256(uint256(W_INSPECTION)), ICreditPoints.PointsReason.Slash, uid
        );
        _resolve(disputeId, true);
        assertEq(registry.pointsOf(dealerId), 0);
        assertEq(registry.totalPoints(), DISPUTER_REWARD);
    }

    function test_resolveDispute_rejectedChangesNoPoints() public {
        bytes32 uid = _inspect(dealer, "true");
        uint256 disputeId = _dispute(insurer, uid);
        vm.recordLogs();
        _resolve(disputeId, false);
        Vm.Log[] memory logs = vm.getRecordedLogs();
        assertEq(logs.length, 1);
        assertEq(logs[0].topics[0], IEvidenceRegistry.DisputeResolved.selector);
        assertEq(logs[0].topics[1], bytes32(disputeId));
        assertEq(logs[0].topics[2], uid);
        assertEq(abi.decode(logs[0].data, (bool)), false);

        assertEq(uint8(registry.getDispute(disputeId).state), uint8(IEvidenceRegistry.DisputeState.Rejected));
        assertEq(registry.openDisputeOf(uid), 0);
        assertFalse(registry.isInvalidated(uid));
        assertTrue(registry.isValid(uid));
        assertEq(registry.pointsOf(dealerId), W_INSPECTION);
        assertEq(registry.pointsOf(insurerId), 0);
        assertEq(registry.totalPoints(), W_INSPECTION);
    }

    function test_resolveDispute_throughProposalAndVote() public {
        bytes32 uid = _inspect(dealer, "false");
        uint256 disputeId = _dispute(insurer, uid);
        address[] memory targets = new address[](1);
        targets[0] = address(registry);
        bytes[] memory calldatas = new bytes[](1);
        calldatas[0] = abi.encodeCall(IEvidenceRegistry.resolveDispute, (disputeId, true));
        _passProposal(targets, calldatas);
        assertTrue(registry.isInvalidated(uid));
        assertEq(registry.pointsOf(insurerId), DISPUTER_REWARD);
    }

    function test_resolveDispute_revertsForNonGovernance() public {
        bytes32 uid = _inspect(dealer, "false");
        uint256 disputeId = _dispute(insurer, uid);
        _assertOnlyGovernance(abi.encodeCall(IEvidenceRegistry.resolveDispute, (disputeId, true)));
        assertEq(uint8(registry.getDispute(disputeId).state), uint8(IEvidenceRegistry.DisputeState.Open));
    }

    function test_resolveDispute_revertsForUnknownDispute() public {
        vm.expectRevert(abi.encodeWithSelector(IEvidenceRegistry.RegistryUnknownDispute.selector, 0));
        _resolve(0, true);
        vm.expectRevert(abi.encodeWithSelector(IEvidenceRegistry.RegistryUnknownDispute.selector, 1));
        _resolve(1, true);
    }

    function test_resolveDispute_revertsWhenResolvedTwice() public {
        uint256 upheld = _dispute(insurer, _inspect(dealer, "a"));
        uint256 rejected = _dispute(insurer, _inspect(dealer, "b"));
        _resolve(upheld, true);
        _resolve(rejected, false);
        bool[2] memory outcomes = [true, false];
        for (uint256 i = 0; i < 2; ++i) {
            vm.expectRevert(
                abi.encodeWithSelector(
                    IEvidenceRegistry.RegistryUnexpectedDisputeState.selector,
                    upheld,
                    IEvidenceRegistry.DisputeState.Upheld,
                    _stateBit(IEvidenceRegistry.DisputeState.Open)
                )
            );
            _resolve(upheld, outcomes[i]);
            vm.expectRevert(
                abi.encodeWithSelector(
                    IEvidenceRegistry.RegistryUnexpectedDisputeState.selector,
                    rejected,
                    IEvidenceRegistry.DisputeState.Rejected,
                    _stateBit(IEvidenceRegistry.DisputeState.Open)
                )
            );
            _resolve(rejected, outcomes[i]);
        }
    }

    function test_resolveDispute_upheldAfterAttesterExpelledStillSlashes() public {
        _inspect(dealer, "a");
        _inspect(dealer, "b");
        _inspect(dealer, "c");
        _inspect(dealer, "d");
        bytes32 uid = _inspect(dealer, "false");
        uint256 disputeId = _dispute(insurer, uid);
        _expel(dealerId);
        _resolve(disputeId, true);
        assertEq(registry.pointsOf(dealerId), 20);
    }

    // ================================================================ isValid through references

    function test_isValid_unknownRecordIsInvalid() public view {
        assertFalse(registry.isValid(_digest("nope")));
        assertFalse(registry.isValid(bytes32(0)));
    }

    function test_isValid_revokingTheReferencedRecordInvalidatesTheChain() public {
        (bytes32 a, bytes32 b, bytes32 c) = _chain(0);
        vm.prank(dealer);
        registry.revoke(a, 1, bytes32(0));
        assertFalse(registry.isValid(a));
        assertFalse(registry.isValid(b));
        assertFalse(registry.isValid(c));
    }

    function test_isValid_expiryOfTheReferencedRecordInvalidatesTheChain() public {
        (bytes32 a, bytes32 b, bytes32 c) = _chain(uint40(block.timestamp + 10 days));
        vm.warp(block.timestamp + 10 days - 1);
        assertTrue(registry.isValid(c));
        vm.warp(block.timestamp + 1);
        assertFalse(registry.isValid(a));
        assertFalse(registry.isValid(b));
        assertFalse(registry.isValid(c));
    }

    function test_isValid_upheldDisputeOnTheReferencedRecordInvalidatesTheChain() public {
        (bytes32 a, bytes32 b, bytes32 c) = _chain(0);
        uint256 disputeId = _dispute(bank, b);
        assertTrue(registry.isValid(c), "an open dispute does not invalidate");
        _resolve(disputeId, true);
        assertTrue(registry.isValid(a), "only the disputed record and those referring to it");
        assertFalse(registry.isValid(b));
        assertFalse(registry.isValid(c));
    }

    function test_isValid_revokingTheReferencingRecordLeavesTheReferencedValid() public {
        (bytes32 a, bytes32 b, bytes32 c) = _chain(0);
        vm.prank(repairShop);
        registry.revoke(c, 1, bytes32(0));
        assertTrue(registry.isValid(a));
        assertTrue(registry.isValid(b));
        assertFalse(registry.isValid(c));
    }

    /// @dev Three valid records a <- b <- c by dealer, insurer and repair shop; `a` expires at `expiry`.
    function _chain(uint40 expiry) internal returns (bytes32 a, bytes32 b, bytes32 c) {
        a = _attestAs(dealer, SUBJECT, KIND_INSPECTION, _digest("a"), bytes32(0), expiry);
        b = _attestAs(insurer, SUBJECT, KIND_INSPECTION, _digest("b"), a, 0);
        c = _attestAs(repairShop, SUBJECT, KIND_INSPECTION, _digest("c"), b, 0);
        assertTrue(registry.isValid(a) && registry.isValid(b) && registry.isValid(c));
    }

    // ================================================================ points arithmetic

    function testFuzz_pointsOf_followsAttestCorroborateRevokeDispute(
        uint32 weight,
        uint8 attests,
        uint8 revokes,
        uint16 multiplier,
        uint32 bonus,
        uint32 reward,
        bool upheld
    ) public {
        weight = uint32(_bound(weight, 0, 1_000_000));
        attests = uint8(_bound(attests, 1, 8));
        revokes = uint8(_bound(revokes, 0, attests - 1));
        multiplier = uint16(_bound(multiplier, 1, 100));
        bonus = uint32(_bound(bonus, 0, 1_000_000));
        reward = uint32(_bound(reward, 0, 1_000_000));
        _checkPoints(weight, attests, revokes, multiplier, bonus, reward, upheld);
    }

    function test_pointsOf_followsAttestCorroborateRevokeDispute() public {
        _checkPoints(10, 5, 2, 3, 5, 20, true);
        _checkPoints(10, 1, 0, 3, 5, 20, true); // slash capped
        _checkPoints(10, 3, 2, 1, 0, 0, false);
        _checkPoints(0, 4, 2, 100, 0, 7, true); // zero weight: only the reward moves
        _checkPoints(10, 4, 3, 3, 5, 20, false); // every record but the corroborated first revoked
        _checkPoints(1_000_000, 8, 7, 100, 1_000_000, 1_000_000, true);
    }

    /// @dev A fresh registry: the dealer attests `attests` inspections of weight `weight`; the insurer corroborates
    /// the first; the dealer revokes `revokes` of the others; the insurer disputes the first, which governance
    /// upholds or rejects; finally the dealer revokes the first. Checks every balance and the total at
    /// each step against the arithmetic of the rules.
    function _checkPoints(
        uint32 weight,
        uint8 attests,
        uint8 revokes,
        uint16 multiplier,
        uint32 bonus,
        uint32 reward,
        bool upheld
    ) internal {
        registry = new EvidenceRegistry(membership, bonus, multiplier, reward);
        vm.prank(address(membership));
        registry.registerKind(KIND_INSPECTION, SCHEMA, INSPECTION_ROLES, weight, 0);

        bytes32[] memory uids = new bytes32[](attests);
        for (uint256 i = 0; i < attests; ++i) {
            uids[i] = _inspect(dealer, vm.toString(i));
        }
        uint256 dealerPoints = uint256(weight) * attests;
        _attestAs(insurer, SUBJECT, KIND_INSPECTION, _digest("corroboration"), uids[0], 0);
        dealerPoints += bonus;
        uint256 insurerPoints = weight;
        _assertPoints(dealerPoints, insurerPoints);

        for (uint256 i = 0; i < revokes; ++i) {
            vm.prank(dealer);
            registry.revoke(uids[i + 1], 1, bytes32(0));
            dealerPoints -= weight; // the balance always covers it here
            _assertPoints(dealerPoints, insurerPoints);
        }

        _resolve(_dispute(insurer, uids[0]), upheld);
        if (upheld) {
            uint256 slash = uint256(weight) * multiplier;
            dealerPoints = slash < dealerPoints ? dealerPoints - slash : 0;
            insurerPoints += reward;
        }
        _assertPoints(dealerPoints, insurerPoints);
        assertEq(registry.isValid(_digest("corroboration")), !upheld, "the corroboration follows its reference");

        vm.prank(dealer);
        registry.revoke(uids[0], 1, bytes32(0));
        if (!upheld) dealerPoints = weight < dealerPoints ? dealerPoints - weight : 0;
        _assertPoints(dealerPoints, insurerPoints);
    }

    function _assertPoints(uint256 dealerPoints, uint256 insurerPoints) internal view {
        assertEq(registry.pointsOf(dealerId), dealerPoints, "dealer points");
        assertEq(registry.pointsOf(insurerId), insurerPoints, "insurer points");
        assertEq(registry.totalPoints(), dealerPoints + insurerPoints, "total points");
        assertEq(registry.totalPoints(), _sumOfPoints(), "total is the sum of balances");
    }

    // ================================================================ helpers

    /// @dev The number of `PointsChanged` events among `logs`.
    function _pointsEvents(Vm.Log[] memory logs) internal pure returns (uint256 count) {
        for (uint256 i = 0; i < logs.length; ++i) {
            if (logs[i].topics[0] == ICreditPoints.PointsChanged.selector) ++count;
        }
    }
}
