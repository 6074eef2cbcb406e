"""The typed client of ``EvidenceRegistry``: attestations, Merkle batches, revocations, disputes, kinds and points.

Views read records, batches, disputes, kinds and the credit points ledger (``points_of``, ``total_points``,
``points_parameters``: the points have no contract of their own); writes attest (directly or relayed with an EIP-712
signature), anchor and revoke batches, revoke records and open disputes; :meth:`RegistryClient.settle_anchor` says
how an anchoring write ended; ``encode_*`` methods give the calldata of the governance-only functions.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from node_adapter.clients.base import ContractClient
from node_adapter.clients.types import (
    ZERO_BYTES32,
    AnchorOutcome,
    AnchorState,
    Batch,
    Bytes32,
    Dispute,
    HexBytesLike,
    Kind,
    KindView,
    PointsParameters,
    RecordView,
    Revocation,
)
from node_adapter.outbox import Outbox, OutboxTx, TxStatus


class RegistryClient(ContractClient):
    """``EvidenceRegistry``: attestations, batches, revocations, disputes, kinds and the credit points ledger."""

    contract_name = "EvidenceRegistry"

    # ------------------------------------------------------------------ views

    def is_valid(self, uid: Bytes32) -> bool:
        return bool(self.call("isValid", uid))

    def get_record(self, uid: Bytes32) -> RecordView:
        return RecordView.model_validate(self.call("getRecord", uid))

    def get_revocation(self, uid: Bytes32) -> Revocation:
        return Revocation.model_validate(self.call("getRevocation", uid))

    def is_invalidated(self, uid: Bytes32) -> bool:
        return bool(self.call("isInvalidated", uid))

    def is_rollback_flagged(self, uid: Bytes32) -> bool:
        return bool(self.call("isRollbackFlagged", uid))

    def last_reading(self, subject: Bytes32) -> int:
        return int(self.call("lastReading", subject))

    def get_kind(self, kind: int) -> KindView:
        result = self.call("getKind", kind)
        return KindView(kind=Kind.model_validate(result["output0"]), schema_digest=result["schemaDigest"])

    def get_batch(self, batch_id: int) -> Batch:
        return Batch.model_validate(self.call("getBatch", batch_id))

    def batch_count(self) -> int:
        return int(self.call("batchCount"))

    def batch_leaf(self, batch_id: int, subject: Bytes32, digest: Bytes32) -> str:
        return str(self.call("batchLeaf", batch_id, subject, digest))

    def verify_batch_record(self, batch_id: int, subject: Bytes32, digest: Bytes32, proof: Sequence[Bytes32]) -> bool:
        return bool(self.call("verifyBatchRecord", batch_id, subject, digest, proof))

    def get_dispute(self, dispute_id: int) -> Dispute:
        return Dispute.model_validate(self.call("getDispute", dispute_id))

    def open_dispute_of(self, uid: Bytes32) -> int:
        return int(self.call("openDisputeOf", uid))

    def nonces(self, account: str) -> int:
        return int(self.call("nonces", account))

    def domain_separator(self) -> str:
        return str(self.call("DOMAIN_SEPARATOR"))

    def points_of(self, member_id: int) -> int:
        return int(self.call("pointsOf", member_id))

    def total_points(self) -> int:
        return int(self.call("totalPoints"))

    def points_parameters(self) -> PointsParameters:
        return PointsParameters.model_validate(self.call("pointsParameters"))

    # ------------------------------------------------------------------ writes

    def attest(
        self,
        outbox: Outbox,
        *,
        key: str,
        sender: str,
        subject: Bytes32,
        kind: int,
        digest: Bytes32,
        ref: Bytes32 = ZERO_BYTES32,
        expiry: int = 0,
    ) -> OutboxTx:
        """Attest ``digest`` about ``subject``; the record's uid is ``digest``."""
        return self._write(outbox, key, sender, "attest", subject, kind, digest, ref, expiry)

    def attest_reading(
        self,
        outbox: Outbox,
        *,
        key: str,
        sender: str,
        subject: Bytes32,
        kind: int,
        digest: Bytes32,
        reading: int,
        ref: Bytes32 = ZERO_BYTES32,
        expiry: int = 0,
    ) -> OutboxTx:
        return self._write(outbox, key, sender, "attestReading", subject, kind, digest, ref, expiry, reading)

    def attest_typed_data(
        self,
        *,
        subject: Bytes32,
        kind: int,
        digest: Bytes32,
        ref: Bytes32,
        expiry: int,
        nonce: int,
        deadline: int,
        reading: int | None = None,
    ) -> dict[str, Any]:
        """The EIP-712 message (``eth_signTypedData_v4`` form) an attester signs for :meth:`attest_by_sig`, or, with a
        ``reading``, the ``AttestReading`` one for :meth:`attest_reading_by_sig`."""
        fields = [
            {"name": "subject", "type": "bytes32"},
            {"name": "kind", "type": "uint16"},
            {"name": "digest", "type": "bytes32"},
            {"name": "ref", "type": "bytes32"},
            {"name": "expiry", "type": "uint40"},
        ]
        message: dict[str, Any] = {"subject": subject, "kind": kind, "digest": digest, "ref": ref, "expiry": expiry}
        primary = "Attest"
        if reading is not None:
            primary = "AttestReading"
            fields.append({"name": "reading", "type": "uint64"})
            message["reading"] = reading
        fields += [{"name": "nonce", "type": "uint256"}, {"name": "deadline", "type": "uint256"}]
        return {
            "types": {
                "EIP712Domain": [
                    {"name": "name", "type": "string"},
                    {"name": "version", "type": "string"},
                    {"name": "chainId", "type": "uint256"},
                    {"name": "verifyingContract", "type": "address"},
                ],
                primary: fields,
            },
            "primaryType": primary,
            "domain": {
                "name": "VehicleEvidenceRegistry",
                "version": "1",
                "chainId": self.chain_id,
                "verifyingContract": self.address,
            },
            "message": {**message, "nonce": nonce, "deadline": deadline},
        }

    def attest_by_sig(
        self,
        outbox: Outbox,
        *,
        key: str,
        sender: str,
        subject: Bytes32,
        kind: int,
        digest: Bytes32,
        ref: Bytes32,
        expiry: int,
        attester: str,
        deadline: int,
        signature: HexBytesLike,
    ) -> OutboxTx:
        """Relay an attestation ``attester`` signed (EIP-712 ``Attest``); ``sender`` only pays the gas."""
        args = (subject, kind, digest, ref, expiry, attester, deadline, signature)
        return self._write(outbox, key, sender, "attestBySig", *args)

    def attest_reading_by_sig(
        self,
        outbox: Outbox,
        *,
        key: str,
        sender: str,
        subject: Bytes32,
        kind: int,
        digest: Bytes32,
        ref: Bytes32,
        expiry: int,
        reading: int,
        attester: str,
        deadline: int,
        signature: HexBytesLike,
    ) -> OutboxTx:
        """Relay an odometer reading ``attester`` signed (EIP-712 ``AttestReading``, the nonce ``attest_by_sig``
        uses); ``sender`` only pays the gas."""
        args = (subject, kind, digest, ref, expiry, reading, attester, deadline, signature)
        return self._write(outbox, key, sender, "attestReadingBySig", *args)

    def invalidate_nonce(self, outbox: Outbox, *, key: str, sender: str) -> OutboxTx:
        return self._write(outbox, key, sender, "invalidateNonce")

    def anchor_batch(
        self, outbox: Outbox, *, key: str, sender: str, kind: int, root: Bytes32, count: int, uri_digest: Bytes32
    ) -> OutboxTx:
        return self._write(outbox, key, sender, "anchorBatch", kind, root, count, uri_digest)

    def revoke(
        self,
        outbox: Outbox,
        *,
        key: str,
        sender: str,
        uid: Bytes32,
        reason: int,
        superseded_by: Bytes32 = ZERO_BYTES32,
    ) -> OutboxTx:
        return self._write(outbox, key, sender, "revoke", uid, reason, superseded_by)

    def revoke_batch(self, outbox: Outbox, *, key: str, sender: str, batch_id: int, reason: int) -> OutboxTx:
        return self._write(outbox, key, sender, "revokeBatch", batch_id, reason)

    def open_dispute(
        self, outbox: Outbox, *, key: str, sender: str, uid: Bytes32, evidence_digest: Bytes32
    ) -> OutboxTx:
        return self._write(outbox, key, sender, "openDispute", uid, evidence_digest)

    def settle_anchor(
        self, outbox: Outbox, row: OutboxTx, *, expected_batch_id: int, revoke_key_prefix: str, reason: int
    ) -> AnchorOutcome | None:
        """How the ``anchor_batch`` write ``row`` of a batch built for ``expected_batch_id`` ended (None while it is not
        final). A batch anchored under another id (another anchoring came first) cannot prove its leaves, which
        commit to the expected id: it is revoked here (idempotency key ``revoke_key_prefix`` + the batch id, ``reason``)
        and its records belong in a later batch."""
        if not row.status.final:
            return None
        if row.status != TxStatus.CONFIRMED:
            return AnchorOutcome(AnchorState.FAILED, None, f"{row.status}: {row.error_name or row.error_message}")
        batch_id = self.batch_id_of(row)
        if batch_id == expected_batch_id:
            return AnchorOutcome(AnchorState.CONFIRMED, batch_id, None)
        key = f"{revoke_key_prefix}{batch_id}"
        self.revoke_batch(outbox, key=key, sender=row.sender, batch_id=batch_id, reason=reason)
        note = f"anchored as batch {batch_id}, built for {expected_batch_id}: revoked"
        return AnchorOutcome(AnchorState.MISNUMBERED, batch_id, note)

    def batch_id_of(self, tx: OutboxTx) -> int:
        """The id of the batch a confirmed ``anchor_batch`` write created."""
        return self._created_id(tx, "BatchAnchored", "batchId")

    def dispute_id_of(self, tx: OutboxTx) -> int:
        """The id of the dispute a confirmed ``open_dispute`` write opened."""
        return self._created_id(tx, "DisputeOpened", "disputeId")

    # ------------------------------------------------------------------ governance calldata

    def encode_register_kind(
        self, *, kind: int, schema_digest: Bytes32, roles: int, weight: int, flags: int = 0
    ) -> bytes:
        return self.calldata("registerKind", kind, schema_digest, roles, weight, flags)

    def encode_reset_odometer(self, *, subject: Bytes32, reading: int) -> bytes:
        return self.calldata("resetOdometer", subject, reading)

    def encode_update_kind(self, *, kind: int, roles: int, weight: int, flags: int, active: bool) -> bytes:
        return self.calldata("updateKind", kind, roles, weight, flags, active)

    def encode_resolve_dispute(self, *, dispute_id: int, upheld: bool) -> bytes:
        return self.calldata("resolveDispute", dispute_id, upheld)

    def encode_set_points_parameters(
        self, *, corroboration_bonus: int, slash_multiplier: int, disputer_reward: int
    ) -> bytes:
        return self.calldata("setPointsParameters", corroboration_bonus, slash_multiplier, disputer_reward)
