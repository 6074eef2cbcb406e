// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {RegistryTestBase} from "../utils/RegistryTestBase.sol";
import {RegistryHandler} from "./RegistryHandler.sol";
import {IEvidenceRegistry} from "../../src/interfaces/IEvidenceRegistry.sol";

contract EvidenceRegistryInvariantTest is RegistryTestBase {
    RegistryHandler internal handler;

    function setUp() public override {
        super.setUp();
        string[7] memory names = [string("dealer"), "otherDealer", "insurer", "repairShop", "bank", "telematics", "dmv"];
        RegistryHandler.Actor[] memory actors = new RegistryHandler.Actor[](names.length);
        for (uint256 i = 0; i < names.length; ++i) {
            (address account, uint256 key) = makeAddrAndKey(names[i]);
            actors[i] = RegistryHandler.Actor({account: account, key: key, memberId: membership.memberOf(account)});
            assertTrue(actors[i].memberId != 0);
        }
        handler = new RegistryHandler(
            registry,
            membership,
            actors,
            RegistryHandler.Kinds({
                plain: [KIND_INSPECTION, KIND_TITLE],
                odometer: KIND_ODOMETER,
                strict: KIND_ODOMETER_STRICT,
                batch: KIND_TELEMATICS_BATCH
            }),
            stranger
        );

        bytes4[] memory selectors = new bytes4[](15);
        selectors[0] = RegistryHandler.attest.selector;
        selectors[1] = RegistryHandler.attest.selector; // records are what everything else acts on: twice as often
        selectors[2] = RegistryHandler.attestBySig.selector;
        selectors[3] = RegistryHandler.attestReading.selector;
        selectors[4] = RegistryHandler.attestReading.selector;
        selectors[5] = RegistryHandler.anchorBatch.selector;
        selectors[6] = RegistryHandler.revoke.selector;
        selectors[7] = RegistryHandler.revokeBatch.selector;
        selectors[8] = RegistryHandler.openDispute.selector;
        selectors[9] = RegistryHandler.resolveDispute.selector;
        selectors[10] = RegistryHandler.suspend.selector;
        selectors[11] = RegistryHandler.reinstate.selector;
        selectors[12] = RegistryHandler.reinstate.selector; // suspended members come back more often than not
        selectors[13] = RegistryHandler.warp.selector;
        selectors[14] = RegistryHandler.attestReadingBySig.selector;
        targetContract(address(handler));
        targetSelector(FuzzSelector({addr: address(handler), selectors: selectors}));
    }

    // ---------------------------------------------------------------- invariants

    /// `totalPoints` is the sum of every member's balance.
    /// forge-config: default.invariant.depth = 128
    function invariant_totalPointsIsTheSumOfBalances() public view {
        assertEq(registry.totalPoints(), _sumOfPoints());
    }

    /// Every record names the account that attested it, and that account signed for an active member holding one
    /// of the kind's roles at the time.
    /// forge-config: default.invariant.depth = 128
    function invariant_everyRecordWasAttestedByAnAuthorizedAccount() public view {
        bytes32[] memory uids = handler.uids();
        for (uint256 i = 0; i < uids.length; ++i) {
            (IEvidenceRegistry.Record memory record,) = registry.getRecord(uids[i]);
            assertEq(record.attester, handler.ghostAttester(uids[i]), "record names another attester");
            assertTrue(handler.ghostAuthorized(uids[i]), "record accepted from an unauthorized account");
        }
    }

    /// A revoked record, or one whose dispute was upheld, is never valid; and a valid record's reference is valid.
    /// forge-config: default.invariant.depth = 128
    function invariant_revokedOrUpheldRecordsAreNeverValid() public view {
        bytes32[] memory uids = handler.uids();
        for (uint256 i = 0; i < uids.length; ++i) {
            bool upheld = handler.ghostUpheld(uids[i]);
            assertEq(registry.isInvalidated(uids[i]), upheld, "invalidation disagrees with the upheld disputes");
            bool valid = registry.isValid(uids[i]);
            if (registry.getRevocation(uids[i]).time != 0 || upheld) assertFalse(valid, "revoked or upheld yet valid");
            (, bytes32 ref) = registry.getRecord(uids[i]);
            if (valid && ref != bytes32(0)) assertTrue(registry.isValid(ref), "valid record with an invalid ref");
        }
    }

    /// A subject's last reading is the highest reading accepted without being a rollback, and every reading was
    /// flagged or refused by the rule.
    /// forge-config: default.invariant.depth = 128
    function invariant_lastReadingIsTheHighestAcceptedReading() public view {
        bytes32[3] memory subjects = handler.subjects();
        for (uint256 i = 0; i < subjects.length; ++i) {
            assertEq(registry.lastReading(subjects[i]), handler.ghostMaxReading(subjects[i]));
        }
        assertEq(handler.ghostRollbackMismatches(), 0, "a reading broke the rollback rule");
    }
}
