"""The outbox worker: signs, sends and follows the writes recorded in :mod:`node_adapter.outbox`.

One pass (:meth:`TxWorker.run_once`) does three things, each persisted before it acts:

1. **sign** queued writes: under a lock on the account's nonce cursor (a row lock on PostgreSQL, the write lock on
   SQLite), estimate gas, assign consecutive nonces, sign, and store the raw transactions; a write whose gas estimate
   reverts while nothing of its account is in flight is a deterministic revert: recorded with its decoded error, no
   nonce used, never retried;
2. **send** signed writes in nonce order (re-broadcasting a stored raw transaction is harmless: same hash);
3. **follow** writes in flight: receipts (batched), confirmations, reorgs (a receipt that vanished sends the write
   back to ``sent``), re-broadcast of transactions dropped from a node's pool, fee-bumped replacement of transactions
   stuck underpriced, and re-queueing of a write whose nonce another transaction consumed.

In-flight writes per account are capped (``max_in_flight``): Besu's pool refuses more than 200 future nonces per sender.
Several workers may share one database: queued rows are claimed with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, and every
other step is idempotent.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from eth_account.signers.local import LocalAccount
from hexbytes import HexBytes
from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar
from web3 import Web3
from web3.exceptions import ContractLogicError, TransactionNotFound, Web3RPCError

from node_adapter.connection import ChainConnection
from node_adapter.contract_errors import decode_revert, revert_data_of
from node_adapter.db import is_postgres
from node_adapter.exceptions import ChainUnavailableError, ContractRevert, UnknownRevert
from node_adapter.outbox import IN_FLIGHT, NonceCursor, Outbox, OutboxTx, TxAttempt, TxStatus, error_fields

logger = logging.getLogger(__name__)

_ALREADY_KNOWN = ("already known", "known transaction", "already imported", "nonce too low", "alreadyknown")
_UNDERPRICED = (
    "underpriced",
    "fee too low",
    "replacement transaction",
    "less than block base fee",
    "gas price below",
    "gas price too low",
    "fee cap less than",
)
_FILLER_PREFIX = "nonce-filler:"
_RETRY_LATER = ("insufficient funds", "txpool is full", "pool is full", "too many", "exceeds the configured cap")


@dataclass(frozen=True)
class TxPolicy:
    """How the worker sends: confirmations, pacing, gas and fee rules."""

    confirmations: int = 0
    """Blocks required on top of the including block before a write is final (0 for QBFT's immediate finality)."""
    max_in_flight: int = 64
    """Signed but unconfirmed writes per account (keep under the node pool's future-nonce cap)."""
    batch_size: int = 200
    gas_multiplier: float = 1.25
    fallback_gas_limit: int = 3_000_000
    """Gas for a write whose estimate reverts only because an earlier write of its account is not mined yet."""
    resend_after: float = 10.0
    """Seconds after which a sent, unmined transaction is broadcast again (it may have been dropped)."""
    replace_after: float = 60.0
    """Seconds after which a sent, unmined transaction is replaced with a higher fee."""
    fee_bump_percent: int = 15
    receipt_batch: int = 200
    free_gas: bool = False
    """A chain whose validators accept a zero gas price (Besu's free-gas networks): sign every write with zero fees,
    whatever the node suggests (Anvil, for one, suggests 1 gwei even when it accepts zero)."""


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime | None) -> datetime:
    if value is None:
        return datetime.min.replace(tzinfo=UTC)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _rpc_message(exc: BaseException) -> str:
    if isinstance(exc, Web3RPCError) and isinstance(exc.rpc_response, dict):
        error = exc.rpc_response.get("error")
        if isinstance(error, dict):
            return str(error.get("message", exc))
    return str(exc)


class TxWorker:
    """Moves outbox rows to the chain for the accounts whose keys it holds."""

    def __init__(
        self,
        outbox: Outbox,
        connection: ChainConnection,
        signers: Iterable[LocalAccount],
        policy: TxPolicy | None = None,
    ) -> None:
        self.outbox = outbox
        self.engine = outbox.engine
        self.connection = connection
        self.policy = policy or TxPolicy()
        self.signers = {Web3.to_checksum_address(s.address): s for s in signers}
        self.chain_id = connection.chain_id

    # ------------------------------------------------------------------ driving

    def run_once(self) -> int:
        """One pass over the outbox; returns how many writes moved (0 means idle)."""
        moved = 0
        for sender in self._senders_with(TxStatus.QUEUED):
            moved += self._sign_queued(sender)
        moved += self._send_signed()
        moved += self._follow_in_flight()
        return moved

    def run(self, stop: threading.Event, *, idle_sleep: float = 0.1, error_sleep: float = 1.0) -> None:
        """Run passes until ``stop`` is set; a node outage is waited out, never fatal."""
        while not stop.is_set():
            try:
                moved = self.run_once()
            except ChainUnavailableError as exc:
                logger.warning("outbox worker waiting for a chain node: %s", exc)
                stop.wait(error_sleep)
                continue
            except Exception:  # a database hiccup or a bug must not end the worker: log it, pause, go on
                logger.exception("outbox worker pass failed; retrying")
                stop.wait(error_sleep)
                continue
            if moved == 0:
                stop.wait(idle_sleep)

    def start(self) -> tuple[threading.Thread, threading.Event]:
        """Run in a daemon thread; set the returned event to stop it."""
        stop = threading.Event()
        thread = threading.Thread(target=self.run, args=(stop,), name="outbox-worker", daemon=True)
        thread.start()
        return thread, stop

    def drain(self, *, timeout: float = 120.0) -> None:
        """Run passes until no write of this worker's chain is unfinished (tests and one-shot commands)."""
        deadline = time.monotonic() + timeout
        while True:
            backlog = self.outbox.backlog()
            if not any(backlog.get(str(s), 0) for s in (TxStatus.QUEUED, *IN_FLIGHT)):
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"outbox not drained after {timeout:.0f} s: {backlog}")
            try:
                if self.run_once() == 0:
                    time.sleep(0.05)
            except ChainUnavailableError:
                time.sleep(0.5)

    # ------------------------------------------------------------------ signing

    def _senders_with(self, status: TxStatus) -> list[str]:
        with Session(self.engine) as session:
            rows = session.exec(
                select(OutboxTx.sender).where(OutboxTx.status == status, OutboxTx.chain_id == self.chain_id).distinct()
            ).all()
        senders = []
        for sender in rows:
            checksum = Web3.to_checksum_address(sender)
            if checksum in self.signers:
                senders.append(sender)
            else:
                logger.debug("no key for %s in this worker; leaving its writes to another", sender)
        return senders

    def _fee_fields(self, w3: Web3) -> dict[str, int]:
        block = w3.eth.get_block("latest")
        base_fee = block.get("baseFeePerGas")
        if self.policy.free_gas:
            return {"gasPrice": 0} if base_fee is None else {"maxFeePerGas": 0, "maxPriorityFeePerGas": 0}
        if base_fee is None:
            return {"gasPrice": int(w3.eth.gas_price)}
        try:
            priority = int(w3.eth.max_priority_fee)
        except Web3RPCError:
            priority = 0 if base_fee == 0 else 10**9
        return {"maxFeePerGas": 2 * int(base_fee) + priority, "maxPriorityFeePerGas": priority}

    def _sign_queued(self, sender: str) -> int:
        """Sign the sender's queued writes, oldest first, up to its room in flight.

        No chain call is made while the database transaction is open (on SQLite it holds the one write lock every
        other process waits for): the queued rows are read first, the node is asked for the pending nonce, fees and
        gas estimates, then one short transaction locks the nonce cursor, takes the rows that are still queued and
        signs them. A row another worker signed in between is left to it.
        """
        postgres = is_postgres(self.engine)
        account = self.signers[Web3.to_checksum_address(sender)]
        self._ensure_cursor(sender)
        with Session(self.engine, expire_on_commit=False) as session:
            in_flight = self._in_flight(session, sender)
            room = self.policy.max_in_flight - in_flight
            if room <= 0:
                return 0
            rows = session.exec(self._queued(sender).limit(min(room, self.policy.batch_size))).all()
            cursor = session.get(NonceCursor, (self.chain_id, sender))
            assert cursor is not None
            seen_nonce = cursor.next_nonce
        if not rows:
            return 0

        def prepare(w3: Web3) -> tuple[int, dict[str, int]]:
            return int(w3.eth.get_transaction_count(account.address, "pending")), self._fee_fields(w3)

        chain_nonce, fees = self.connection.call(prepare)
        estimates = self._estimates(rows, account.address)
        gas: dict[int, int | ContractRevert] = {}
        predecessors = in_flight
        for row in rows:
            gas[cast(int, row.id)] = found = self._gas_for(
                row, account.address, predecessors, estimates.get(cast(int, row.id))
            )
            predecessors += 0 if isinstance(found, ContractRevert) else 1

        signed = 0
        with Session(self.engine) as session, session.begin():
            cursor_query = select(NonceCursor).where(
                NonceCursor.chain_id == self.chain_id, NonceCursor.account == sender
            )
            cursor = session.exec(cursor_query.with_for_update() if postgres else cursor_query).one()
            in_flight = self._in_flight(session, sender)
            still = self._queued(sender).where(col(OutboxTx.id).in_(list(gas)))
            live = {r.id: r for r in session.exec(still.with_for_update(skip_locked=True) if postgres else still)}
            if in_flight == 0 and cursor.next_nonce == seen_nonce:
                # Nothing of ours is in flight and no worker signed since we looked, so the chain's pending nonce is
                # the truth (this also recovers from a dev chain started afresh under the same chain id).
                cursor.next_nonce = chain_nonce
            else:
                # Another user of this key moved the chain's nonce past ours: never reuse a consumed nonce.
                cursor.next_nonce = max(cursor.next_nonce, chain_nonce)
            room = self.policy.max_in_flight - in_flight
            for row in rows:
                current = live.get(row.id)
                if current is None:  # signed by another worker meanwhile
                    continue
                found = gas[cast(int, row.id)]
                if isinstance(found, ContractRevert):  # deterministic revert: recorded on the row, no nonce used
                    self._mark_reverted(current, found)
                    session.add(current)
                    continue
                if signed >= room:
                    break
                self._sign_into(session, current, account, nonce=cursor.next_nonce, gas=found, fees=fees)
                cursor.next_nonce += 1
                signed += 1
            session.add(cursor)
        return signed

    def _in_flight(self, session: Session, sender: str) -> int:
        return int(
            session.exec(
                select(func.count())
                .select_from(OutboxTx)
                .where(
                    OutboxTx.sender == sender, OutboxTx.chain_id == self.chain_id, col(OutboxTx.status).in_(IN_FLIGHT)
                )
            ).one()
        )

    def _queued(self, sender: str) -> SelectOfScalar[OutboxTx]:
        return (
            select(OutboxTx)
            .where(OutboxTx.sender == sender, OutboxTx.chain_id == self.chain_id, OutboxTx.status == TxStatus.QUEUED)
            .order_by(col(OutboxTx.id))
        )

    @staticmethod
    def _call_request(row: OutboxTx, sender: str) -> dict[str, Any]:
        request: dict[str, Any] = {"from": sender, "data": row.data, "value": int(row.value)}
        if row.to:
            request["to"] = Web3.to_checksum_address(row.to)
        return request

    def _estimates(self, rows: Sequence[OutboxTx], sender: str) -> dict[int, int]:
        """Gas estimates for the rows without a gas limit, in one batched request (reads batch; sends do not).

        A batch fails as a whole when one estimate reverts; those rows are then estimated one by one in ``_gas_for``.
        """
        todo = [row for row in rows if row.gas_limit is None]
        if not todo:
            return {}

        def batch(w3: Web3) -> list[Any]:
            with w3.batch_requests() as requests:
                for row in todo:
                    requests.add(w3.eth.estimate_gas(cast(Any, self._call_request(row, sender)), "pending"))
                return list(requests.execute())

        try:
            results = self.connection.call(batch)
        except (ContractLogicError, Web3RPCError):
            return {}
        return {cast(int, row.id): int(result) for row, result in zip(todo, results, strict=True)}

    def _ensure_cursor(self, sender: str) -> None:
        """Create the account's nonce cursor if it is missing (racing workers: one insert wins, the rest see it)."""
        with Session(self.engine) as session:
            if session.get(NonceCursor, (self.chain_id, sender)) is not None:
                return
            session.add(NonceCursor(chain_id=self.chain_id, account=sender, next_nonce=0))
            try:
                session.commit()
            except IntegrityError:
                session.rollback()

    def _gas_for(self, row: OutboxTx, sender: str, predecessors: int, estimate: int | None) -> int | ContractRevert:
        """The gas limit to sign ``row`` with, or the custom error it deterministically reverts with."""
        if row.gas_limit is not None:
            return row.gas_limit
        if estimate is not None:
            return math.ceil(estimate * self.policy.gas_multiplier)
        request = self._call_request(row, sender)
        try:
            estimate = self.connection.call(lambda w3: int(w3.eth.estimate_gas(cast(Any, request), "pending")))
        except ContractLogicError as exc:
            if predecessors > 0:
                # It may depend on an earlier write of this account that is not mined yet: let the chain decide.
                return self.policy.fallback_gas_limit
            return decode_revert(revert_data_of(exc))
        return math.ceil(estimate * self.policy.gas_multiplier)

    @staticmethod
    def _mark_reverted(row: OutboxTx, revert: ContractRevert) -> None:
        for field, value in error_fields(revert).items():
            setattr(row, field, value)
        row.status = TxStatus.REVERTED
        row.updated_at = _now()
        logger.info("write %s reverts: %s", row.idempotency_key, revert)

    def _sign_into(
        self, session: Session, row: OutboxTx, account: LocalAccount, *, nonce: int, gas: int, fees: dict[str, int]
    ) -> None:
        tx: dict[str, Any] = {
            "chainId": self.chain_id,
            "nonce": nonce,
            "gas": gas,
            "value": int(row.value),
            "data": row.data,
            **fees,
        }
        if row.to:
            tx["to"] = Web3.to_checksum_address(row.to)
        signed = account.sign_transaction(tx)
        row.nonce = nonce
        row.gas_limit = gas
        row.tx_hash = "0x" + bytes(signed.hash).hex()
        row.raw_tx = "0x" + bytes(signed.raw_transaction).hex()
        row.fee_fields = json.dumps(fees)
        row.attempts += 1
        row.status = TxStatus.SIGNED
        row.updated_at = row.signed_at = _now()
        session.add(row)
        if row.id is None:  # a new row (a nonce filler): its id is needed for the attempt
            session.flush()
        assert row.id is not None
        session.add(TxAttempt(outbox_id=row.id, tx_hash=row.tx_hash, nonce=nonce, raw_tx=row.raw_tx))

    # ------------------------------------------------------------------ sending

    def _send_signed(self) -> int:
        with Session(self.engine, expire_on_commit=False) as session:
            rows = session.exec(
                select(OutboxTx)
                .where(OutboxTx.status == TxStatus.SIGNED, OutboxTx.chain_id == self.chain_id)
                .order_by(col(OutboxTx.sender), col(OutboxTx.nonce))
            ).all()
        blocked: set[str] = set()
        updates: list[tuple[int | None, TxStatus, dict[str, Any]]] = []
        for row in rows:
            if row.sender in blocked:
                continue
            if self._broadcast(row) == "retry":
                blocked.add(row.sender)  # later nonces would only queue behind this one
                continue
            updates.append((row.id, TxStatus.SIGNED, {"status": TxStatus.SENT, "sent_at": _now(), "last_error": None}))
        return self._apply(updates)

    def _broadcast(self, row: OutboxTx) -> str:
        """Send the row's stored raw transaction: ``sent``, or ``retry`` (kept, with the reason on the row)."""
        assert row.raw_tx is not None
        raw = HexBytes(row.raw_tx)
        try:
            self.connection.call(lambda w3: w3.eth.send_raw_transaction(raw))
        except Web3RPCError as exc:
            message = _rpc_message(exc)
            lowered = message.lower()
            if any(s in lowered for s in _ALREADY_KNOWN) or any(s in lowered for s in _UNDERPRICED):
                return "sent"  # known, mined, or competing with our own earlier attempt: following resolves it
            if any(s in lowered for s in _RETRY_LATER):
                self._note(row.id, message)
                return "retry"
            # Anything else will never be accepted (gas above the block limit, malformed, ...). The nonce must
            # not stay a hole, or every later write of the account would wait forever: fill it.
            self._fail_and_fill(row, message)
            return "sent"
        return "sent"

    def _fail_and_fill(self, row: OutboxTx, message: str) -> None:
        logger.error("write %s refused by the node: %s", row.idempotency_key, message)
        if row.idempotency_key.startswith(_FILLER_PREFIX):
            # A refused filler is not filled again: the nonce waits, with the reason on the row, for an operator.
            self._note(row.id, f"the nonce filler was refused: {message}")
            return
        account = self.signers[Web3.to_checksum_address(row.sender)]
        fees = self.connection.call(self._fee_fields)  # today's fees: the refused write's may be stale
        with Session(self.engine) as session, session.begin():
            current = session.get(OutboxTx, row.id)
            assert current is not None
            assert row.nonce is not None
            current.status = TxStatus.FAILED
            current.error_message = f"the node refused the transaction: {message}"
            current.updated_at = _now()
            filler = OutboxTx(
                idempotency_key=f"{_FILLER_PREFIX}{self.chain_id}:{row.sender}:{row.nonce}",
                chain_id=self.chain_id,
                sender=row.sender,
                to=row.sender,
                purpose=f"fills nonce {row.nonce} left by refused write {row.idempotency_key}",
            )
            session.add(current)
            self._sign_into(session, filler, account, nonce=row.nonce, gas=21_000, fees=fees)

    # ------------------------------------------------------------------ following

    def _follow_in_flight(self) -> int:
        with Session(self.engine, expire_on_commit=False) as session:
            rows = session.exec(
                select(OutboxTx)
                .where(col(OutboxTx.status).in_((TxStatus.SENT, TxStatus.MINED)), OutboxTx.chain_id == self.chain_id)
                .order_by(col(OutboxTx.sender), col(OutboxTx.nonce))
            ).all()
        if not rows:
            return 0
        moved = 0
        for start in range(0, len(rows), self.policy.receipt_batch):
            moved += self._follow_batch(rows[start : start + self.policy.receipt_batch])
        return moved

    def _receipts(self, hashes: list[str]) -> tuple[int, list[dict[str, Any] | None]]:
        def fetch(w3: Web3) -> tuple[int, list[dict[str, Any] | None]]:
            with w3.batch_requests() as batch:
                batch.add(w3.eth.get_block_number())
                for tx_hash in hashes:
                    batch.add(w3.eth.get_transaction_receipt(HexBytes(tx_hash)))
                replies = batch.execute()
            head = int(cast(int, replies[0]))
            receipts: list[dict[str, Any] | None] = []
            for reply in replies[1:]:
                receipts.append(None if reply is None or isinstance(reply, Exception) else dict(cast(Any, reply)))
            return head, receipts

        try:
            return self.connection.call(fetch)
        except (TransactionNotFound, Web3RPCError):
            # Some nodes answer a whole batch with an error when one receipt is unknown: ask one by one.
            def one(w3: Web3, tx_hash: str) -> dict[str, Any] | None:
                try:
                    return dict(w3.eth.get_transaction_receipt(HexBytes(tx_hash)))
                except TransactionNotFound:
                    return None

            head = self.connection.call(lambda w3: int(w3.eth.block_number))
            return head, [self.connection.call(lambda w3, h=h: one(w3, h)) for h in hashes]  # type: ignore[misc]

    def _follow_batch(self, rows: Sequence[OutboxTx]) -> int:
        head, receipts = self._receipts([cast(str, r.tx_hash) for r in rows])
        moved = 0
        updates = []
        for row, batch_receipt in zip(rows, receipts, strict=True):
            receipt = batch_receipt if batch_receipt is not None else self._receipt_of_other_attempt(row)
            if receipt is None:
                moved += self._on_missing(row)
                continue
            update = self._on_receipt(row, receipt, head)
            if update is not None:
                updates.append((row.id, row.status, update))
        return moved + self._apply(updates)

    def _receipt_of_other_attempt(self, row: OutboxTx) -> dict[str, Any] | None:
        if row.attempts <= 1:
            return None
        with Session(self.engine) as session:
            hashes = session.exec(
                select(TxAttempt.tx_hash).where(TxAttempt.outbox_id == row.id, TxAttempt.tx_hash != row.tx_hash)
            ).all()
        for tx_hash in hashes:
            try:
                return dict(self.connection.call(lambda w3, h=tx_hash: w3.eth.get_transaction_receipt(HexBytes(h))))  # type: ignore[misc]
            except TransactionNotFound:
                continue
        return None

    def _on_receipt(self, row: OutboxTx, receipt: dict[str, Any], head: int) -> dict[str, Any] | None:
        """The fields that record ``receipt`` on ``row`` (None when nothing changed)."""
        block_number = int(receipt["blockNumber"])
        fields: dict[str, Any] = {
            "tx_hash": "0x" + bytes(receipt["transactionHash"]).hex(),
            "block_number": block_number,
            "block_hash": "0x" + bytes(receipt["blockHash"]).hex(),
            "gas_used": int(receipt["gasUsed"]),
            "contract_address": receipt.get("contractAddress"),
            "last_error": None,
        }
        if head - block_number < self.policy.confirmations:
            if row.status == TxStatus.MINED and row.block_hash == fields["block_hash"]:
                return None
            return {**fields, "status": TxStatus.MINED}
        if int(receipt["status"]) == 1:
            return {**fields, "status": TxStatus.CONFIRMED}
        revert = self._replay_revert(row, block_number)
        logger.info("write %s reverted on chain: %s", row.idempotency_key, revert)
        return {**fields, **error_fields(revert), "status": TxStatus.REVERTED}

    def _replay_revert(self, row: OutboxTx, block_number: int) -> ContractRevert:
        request: dict[str, Any] = {"from": row.sender, "data": row.data, "value": int(row.value), "gas": row.gas_limit}
        if row.to:
            request["to"] = row.to
        try:
            self.connection.call(lambda w3: w3.eth.call(cast(Any, request), block_number))
        except ContractLogicError as exc:
            return decode_revert(revert_data_of(exc))
        except Web3RPCError as exc:
            return UnknownRevert({"message": _rpc_message(exc)})
        # The replay succeeds against the post-block state: the revert depended on order inside the block.
        return UnknownRevert({"message": "reverted (not reproducible by replay; e.g. out of gas)"})

    def _on_missing(self, row: OutboxTx) -> int:
        now = _now()
        if row.status == TxStatus.MINED:
            logger.warning("write %s left the chain (reorg); sending it again", row.idempotency_key)
            self._broadcast(row)
            return self._update(row.id, TxStatus.MINED, status=TxStatus.SENT, sent_at=now, block_number=None,
                                block_hash=None)  # fmt: skip
        account = self.signers.get(Web3.to_checksum_address(row.sender))
        latest = self.connection.call(
            lambda w3: int(w3.eth.get_transaction_count(Web3.to_checksum_address(row.sender), "latest"))
        )
        assert row.nonce is not None
        if latest > row.nonce and self._receipt_of_any(row) is None:
            logger.warning("nonce %d of %s was consumed by another transaction; re-queueing %s", row.nonce,
                           row.sender, row.idempotency_key)  # fmt: skip
            return self._update(row.id, TxStatus.SENT, status=TxStatus.QUEUED, nonce=None, tx_hash=None, raw_tx=None,
                                last_error=f"nonce {row.nonce} was consumed by another transaction")  # fmt: skip
        if account is not None and now - _aware(row.signed_at) > timedelta(seconds=self.policy.replace_after):
            return self._replace(row, account)
        if now - _aware(row.sent_at) > timedelta(seconds=self.policy.resend_after):
            self._broadcast(row)
            return self._update(row.id, TxStatus.SENT, status=TxStatus.SENT, sent_at=now)
        return 0

    def _receipt_of_any(self, row: OutboxTx) -> dict[str, Any] | None:
        try:
            return dict(
                self.connection.call(lambda w3: w3.eth.get_transaction_receipt(HexBytes(cast(str, row.tx_hash))))
            )
        except TransactionNotFound:
            return self._receipt_of_other_attempt(row.model_copy(update={"attempts": max(row.attempts, 2)}))

    def _replace(self, row: OutboxTx, account: LocalAccount) -> int:
        fees = {k: int(v) for k, v in json.loads(row.fee_fields or "{}").items()}
        bumped = {k: math.ceil(v * (100 + self.policy.fee_bump_percent) / 100) for k, v in fees.items()}
        current = self.connection.call(self._fee_fields)
        bumped = {k: max(v, current.get(k, 0)) for k, v in bumped.items()}
        if bumped == fees:  # free-gas chain: nothing to bump; broadcasting again is all we can do
            self._broadcast(row)
            return self._update(row.id, TxStatus.SENT, status=TxStatus.SENT, sent_at=_now())
        assert row.nonce is not None
        assert row.gas_limit is not None
        with Session(self.engine) as session, session.begin():
            fresh = session.get(OutboxTx, row.id)
            if fresh is None or fresh.status != TxStatus.SENT or fresh.attempts != row.attempts:
                return 0  # another worker got here first
            self._sign_into(session, fresh, account, nonce=row.nonce, gas=row.gas_limit, fees=bumped)
            fresh.status = TxStatus.SENT
            fresh.sent_at = _now()
            session.add(fresh)
            raw = fresh.raw_tx
        logger.info("replaced write %s with a higher fee (attempt %d)", row.idempotency_key, row.attempts + 1)
        self._broadcast(row.model_copy(update={"raw_tx": raw}))
        return 1

    # ------------------------------------------------------------------ persistence helpers

    def _update(self, row_id: int | None, expected: TxStatus, **fields: Any) -> int:
        """Apply ``fields`` if the row is still in ``expected`` state (another worker may have moved it)."""
        return self._apply([(row_id, expected, fields)])

    def _apply(self, updates: Sequence[tuple[int | None, TxStatus, dict[str, Any]]]) -> int:
        """Apply several row updates in one database transaction, each only if its row is still as expected."""
        if not updates:
            return 0
        applied = 0
        with Session(self.engine) as session, session.begin():
            rows = session.exec(select(OutboxTx).where(col(OutboxTx.id).in_([u[0] for u in updates]))).all()
            by_id = {row.id: row for row in rows}
            for row_id, expected, fields in updates:
                row = by_id.get(row_id)
                if row is None or row.status != expected:
                    continue
                for name, value in fields.items():
                    setattr(row, name, value)
                row.updated_at = _now()
                session.add(row)
                applied += 1
        return applied

    def _note(self, row_id: int | None, message: str) -> None:
        with Session(self.engine) as session, session.begin():
            row = session.get(OutboxTx, row_id)
            if row is not None:
                row.last_error = message[:2000]
                row.updated_at = _now()
                session.add(row)
