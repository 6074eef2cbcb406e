// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {RegistryTestBase} from "./utils/RegistryTestBase.sol";

/// @notice One measured call per test, against state prepared in `setUp` (so storage is cold as in a real
/// transaction); results go to `snapshots/EvidenceRegistry.json`. Figures exclude the 21 000 base cost and calldata.
/// The dealer, the insurer and the telematics oracle already hold points; the repair shop holds none.
contract EvidenceRegistryGasTest is RegistryTestBase {
    uint32 internal constant TREE_SIZE = 1024; // depth 10
    uint256 internal constant PROVEN_LEAF = 357;

    bytes32 internal dealerRecord;
    uint64 internal treeBatch;
    bytes32 internal provenSubject;
    bytes32 internal provenDigest;
    bytes32[] internal provenPath;

    function setUp() public override {
        super.setUp();
        dealerRecord = _inspect(dealer, "dealer-setup");
        _inspect(insurer, "insurer-setup");
        _readAs(telematics, SUBJECT, KIND_ODOMETER, _digest("reading-setup"), 41_000);

        (bytes32[] memory subjects, bytes32[] memory digests, bytes32[] memory leaves) = _batchRecords(1, TREE_SIZE, 0);
        treeBatch = _anchor(telematics, KIND_TELEMATICS_BATCH, _merkleRoot(leaves), TREE_SIZE);
        provenSubject = subjects[PROVEN_LEAF];
        provenDigest = digests[PROVEN_LEAF];
        provenPath = _merkleProof(leaves, PROVEN_LEAF);
    }

    function test_gas_attest_firstByMember() public {
        vm.prank(repairShop);
        registry.attest(SUBJECT, KIND_INSPECTION, _digest("measured"), bytes32(0), 0);
        vm.snapshotGasLastCall("EvidenceRegistry", "attest (first record of the member)");
        assertEq(registry.pointsOf(repairShopId), W_INSPECTION);
    }

    function test_gas_attest_later() public {
        vm.prank(dealer);
        registry.attest(SUBJECT, KIND_INSPECTION, _digest("measured"), bytes32(0), 0);
        vm.snapshotGasLastCall("EvidenceRegistry", "attest (member already holds points)");
        assertEq(registry.pointsOf(dealerId), 2 * W_INSPECTION);
    }

    function test_gas_attest_withRef() public {
        vm.prank(insurer);
        registry.attest(SUBJECT, KIND_INSPECTION, _digest("measured"), dealerRecord, 0);
        vm.snapshotGasLastCall("EvidenceRegistry", "attest with ref (corroborates another member's record)");
        assertEq(registry.pointsOf(dealerId), W_INSPECTION + BONUS);
    }

    function test_gas_attestReading() public {
        vm.prank(telematics);
        registry.attestReading(SUBJECT, KIND_ODOMETER, _digest("measured"), bytes32(0), 0, 41_250);
        vm.snapshotGasLastCall("EvidenceRegistry", "attestReading (subject has a reading)");
        assertEq(registry.lastReading(SUBJECT), 41_250);
    }

    function test_gas_attestBySig() public {
        SignedAttest memory a = _signedAttest(dealer, "measured");
        bytes memory signature = _sign(dealerKey, _typedDigest(a));
        vm.prank(stranger);
        registry.attestBySig(a.subject, a.kind, a.digest, a.ref, a.expiry, dealer, a.deadline, signature);
        vm.snapshotGasLastCall("EvidenceRegistry", "attestBySig (relayed)");
        assertEq(registry.nonces(dealer), 1);
    }

    function test_gas_attestReadingBySig() public {
        SignedReading memory r = _signedReading(dealer, "measured", 41_250);
        bytes memory signature = _sign(dealerKey, _typedDigest(r));
        vm.prank(stranger);
        registry.attestReadingBySig(
            r.subject, r.kind, r.digest, r.ref, r.expiry, r.reading, dealer, r.deadline, signature
        );
        vm.snapshotGasLastCall("EvidenceRegistry", "attestReadingBySig (relayed, subject has a reading)");
        assertEq(registry.lastReading(SUBJECT), 41_250);
        assertEq(registry.nonces(dealer), 1);
    }

    function test_gas_anchorBatch() public {
        vm.prank(telematics);
        registry.anchorBatch(KIND_TELEMATICS_BATCH, keccak256("measured-root"), 1000, URI);
        vm.snapshotGasLastCall("EvidenceRegistry", "anchorBatch");
        assertEq(registry.batchCount(), 2);
    }

    function test_gas_verifyBatchRecord_depth10() public {
        assertEq(provenPath.length, 10);
        bytes32[] memory proof = provenPath;
        bool included = registry.verifyBatchRecord(treeBatch, provenSubject, provenDigest, proof);
        vm.snapshotGasLastCall("EvidenceRegistry", "verifyBatchRecord (depth-10 proof)");
        assertTrue(included);
    }

    function test_gas_revoke() public {
        vm.prank(dealer);
        registry.revoke(dealerRecord, 1, bytes32(0));
        vm.snapshotGasLastCall("EvidenceRegistry", "revoke");
        assertFalse(registry.isValid(dealerRecord));
    }
}
