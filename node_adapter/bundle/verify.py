"""Verifying proof bundles against any node: :func:`verify_bundle`, the fact checks and the report they make.

Verification uses JSON-RPC only (views of the three contracts, transaction receipts, logs and blocks) and no archive
node: what a fact was at ``generated_at_block`` is read from the contracts' events up to that block. Each fact comes
out ``confirmed``, ``changed`` or ``failed`` (:class:`FactCheck`); the :class:`BundleReport` holds them all with the
worst outcome as its verdict.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import cache, partial
from typing import Any, Final, Literal, TypeAlias, TypeVar

from eth_typing import HexStr
from eth_utils.address import to_checksum_address
from pydantic import BaseModel, ConfigDict, computed_field
from web3 import Web3
from web3.exceptions import TransactionNotFound, Web3Exception
from web3.types import FilterParams, TxReceipt

from node_adapter.bundle.format import (
    VALID_STATUSES,
    AttestationFact,
    AttestationStatus,
    BatchRecordFact,
    CaseFact,
    CaseTransitionFact,
    LoanFact,
    ProofBundle,
    ReceiptBatchFact,
    ReceiptFact,
    ReportFact,
    attestation_status,
    leaf_pairs,
    proves,
    to_hex,
)
from node_adapter.clients.abi import contract_spec, decode_event_args
from node_adapter.clients.base import ContractClient
from node_adapter.clients.collateral import CollateralClient
from node_adapter.clients.membership import MembershipClient
from node_adapter.clients.registry import RegistryClient
from node_adapter.clients.suite import Suite
from node_adapter.connection import CONNECTION_ERRORS, ChainConnection
from node_adapter.encoding import SaltedDocument
from node_adapter.exceptions import (
    BundleChainMismatchError,
    BundleError,
    ChainUnavailableError,
    EncodingError,
    NodeAdapterError,
)
from node_adapter.merkle import MerkleTree
from node_adapter.readmodel import CASE_STATES, LIEN_STATUSES, REPORT_EVENTS

ZERO_HEX: Final = "0x" + "00" * 32

T = TypeVar("T")


# ---------------------------------------------------------------------------------------------------------- report

Outcome: TypeAlias = Literal["confirmed", "changed", "failed"]
FactKind: TypeAlias = Literal[
    "chain",
    "contract",
    "attestation",
    "batch_record",
    "loan",
    "case",
    "case_transition",
    "report",
    "receipt",
    "receipt_batch",
    "receipts_complete",
]
Value: TypeAlias = str | int | None


class Change(BaseModel):
    """A value as the bundle states it (true at ``generated_at_block``) and as the chain says now."""

    model_config = ConfigDict(frozen=True)

    then: Value
    now: Value


class FactCheck(BaseModel):
    """What the chain says of one fact: ``reason`` for a failure, ``changes`` for a fact that changed since."""

    model_config = ConfigDict(frozen=True)

    fact: str
    kind: FactKind
    outcome: Outcome
    reason: str | None = None
    changes: dict[str, Change] = {}


class BundleReport(BaseModel):
    """Every fact of a bundle checked against one node; ``verdict`` is the worst outcome."""

    model_config = ConfigDict(frozen=True)

    chain_id: int
    subject: str
    generated_at_block: int
    checked_at_block: int
    checks: list[FactCheck]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def verdict(self) -> Outcome:
        outcomes = {check.outcome for check in self.checks}
        return "failed" if "failed" in outcomes else "changed" if "changed" in outcomes else "confirmed"

    def counts(self) -> dict[Outcome, int]:
        """How many facts came out confirmed, changed and failed."""
        counts: dict[Outcome, int] = {"confirmed": 0, "changed": 0, "failed": 0}
        for check in self.checks:
            counts[check.outcome] += 1
        return counts


# ------------------------------------------------------------------------------------------------------ verifying


class _GivenWeb3(ChainConnection):
    """A connection to the one node behind a given :class:`Web3` (no failover): its errors become ChainErrors."""

    def __init__(self, w3: Web3) -> None:
        super().__init__([str(getattr(w3.provider, "endpoint_uri", None) or "the given Web3 provider")])
        self._given = w3

    def call(self, fn: Callable[[Web3], T]) -> T:
        try:
            return fn(self._given)
        except CONNECTION_ERRORS as exc:
            raise ChainUnavailableError(f"the chain node at {self.urls[0]} does not answer: {exc}") from exc


class _Log(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    args: dict[str, Any]
    block_number: int
    tx_hash: str


@cache
def _event_topics(contract: str) -> dict[str, str]:
    return {entry["name"]: "0x" + topic.hex() for topic, entry in contract_spec(contract).events.items()}


def _topic(value: int | str) -> str:
    return "0x" + value.to_bytes(32, "big").hex() if isinstance(value, int) else value.lower()


def _same(a: object, b: object) -> bool:
    """Event values and bundle values compared as text: hex case and int-versus-decimal-string do not matter."""
    return str(a).lower() == str(b).lower()


def _mismatches(source: str, *fields: tuple[str, object, object]) -> list[str | None]:
    """What ``source`` records otherwise than the bundle, of ``(field, on chain, in the bundle)``."""
    return [
        f"{source} records {field} {chain}, not {claimed}"
        for field, chain, claimed in fields
        if not _same(chain, claimed)
    ]


def _decoded(client: ContractClient, logs: Sequence[Mapping[str, Any]]) -> list[_Log]:
    found = []
    for log in logs:
        if to_checksum_address(log["address"]) != client.address or not log["topics"]:
            continue
        entry = client.spec.events.get(bytes(log["topics"][0]))
        if entry is not None:
            found.append(
                _Log(
                    name=entry["name"],
                    args=decode_event_args(entry, [bytes(t) for t in log["topics"][1:]], bytes(log["data"])),
                    block_number=int(log["blockNumber"]),
                    tx_hash="0x" + bytes(log["transactionHash"]).hex(),
                )
            )
    return found


class _Verifier:
    """Checks one bundle's facts against one node, as of ``head`` (now) and ``bundle.generated_at_block`` (then)."""

    def __init__(self, bundle: ProofBundle, connection: ChainConnection, head: int) -> None:
        self.bundle = bundle
        self.connection = connection
        self.head = head
        self.made = bundle.generated_at_block
        contracts = bundle.contracts
        self.suite = Suite(
            membership=MembershipClient(connection, contracts.membership),
            registry=RegistryClient(connection, contracts.evidence_registry),
            collateral=CollateralClient(connection, contracts.collateral_manager),
        )
        self._block_times: dict[int, int] = {}

    # ------------------------------------------------------------------ chain access

    def block_time(self, number: int) -> int:
        if number not in self._block_times:
            self._block_times[number] = int(self.connection.call(lambda w3: w3.eth.get_block(number)["timestamp"]))
        return self._block_times[number]

    def logs(
        self, client: ContractClient, names: Sequence[str], *topics: int | str | None, to_block: int
    ) -> list[_Log]:
        """The events ``names`` of ``client`` up to ``to_block`` whose indexed arguments match ``topics``."""
        signatures = _event_topics(client.contract_name)
        params: FilterParams = {
            "address": client.address,
            "fromBlock": 0,
            "toBlock": to_block,
            "topics": [
                [HexStr(signatures[n]) for n in names],
                *(None if t is None else HexStr(_topic(t)) for t in topics),
            ],
        }
        return _decoded(client, self.connection.call(lambda w3: w3.eth.get_logs(params)))

    def receipt_event(
        self, client: ContractClient, tx_hash: str, block_number: int, event: str, expected: Mapping[str, object]
    ) -> str | None:
        """Why the receipt of ``tx_hash`` does not hold ``event`` of ``client`` with ``expected`` in ``block_number``;
        None when it does."""
        try:
            receipt: TxReceipt = self.connection.call(lambda w3: w3.eth.get_transaction_receipt(HexStr(tx_hash)))
        except TransactionNotFound:
            return f"no transaction {tx_hash} on this chain"
        if receipt["status"] != 1:
            return f"transaction {tx_hash} reverted"
        if receipt["blockNumber"] != block_number:
            return f"transaction {tx_hash} is in block {receipt['blockNumber']}, not {block_number}"
        for log in _decoded(client, receipt["logs"]):
            if log.name == event and all(_same(log.args[k], v) for k, v in expected.items()):
                return None
        shown = ", ".join(f"{k}={v}" for k, v in expected.items())
        return f"transaction {tx_hash} has no {event}({shown}) event of the {client.contract_name}"

    # ------------------------------------------------------------------ judging

    def judge(
        self,
        fact: str,
        kind: FactKind,
        *,
        problems: Sequence[str | None],
        claimed: Mapping[str, Value] | None = None,
        now: Callable[[], Mapping[str, Value]] = dict,
        then: Callable[[], Mapping[str, Value]] = dict,
    ) -> FactCheck:
        """Failed on any problem, or when the ``claimed`` values are not what the chain said at the bundle's block
        (``then``); changed when the chain says otherwise ``now``; confirmed otherwise. A fact that cannot change (a
        report, a transition) claims nothing beyond what its ``problems`` checked."""
        claimed = claimed or {}
        reasons = [p for p in problems if p]
        if reasons:
            return FactCheck(fact=fact, kind=kind, outcome="failed", reason="; ".join(reasons))
        past = then() if claimed else {}
        wrong = [
            f"{k} was {past[k]} at block {self.made}, not {v}" for k, v in claimed.items() if not _same(past[k], v)
        ]
        if wrong:
            return FactCheck(fact=fact, kind=kind, outcome="failed", reason="; ".join(wrong))
        current = now() if claimed else {}
        changes = {k: Change(then=v, now=current[k]) for k, v in claimed.items() if not _same(current[k], v)}
        if not changes:
            return FactCheck(fact=fact, kind=kind, outcome="confirmed")
        shown = ", ".join(f"{k} {c.then} -> {c.now}" for k, c in changes.items())
        return FactCheck(
            fact=fact, kind=kind, outcome="changed", reason=f"changed since block {self.made}: {shown}", changes=changes
        )

    def judge_status(
        self,
        fact: str,
        kind: FactKind,
        *,
        problems: Sequence[str | None],
        claimed: str,
        status_at: Callable[[int], str],
        valid_now: tuple[str, Callable[[], bool]],
    ) -> FactCheck:
        """:meth:`judge` of a status read from events at a block (``status_at``); the status now must agree with
        the contract's own validity view (``valid_now``: its name and a call of it)."""

        def now() -> dict[str, Value]:
            status = status_at(self.head)
            view, is_valid = valid_now
            if (status in VALID_STATUSES) != is_valid():
                raise BundleError(f"the registry's events say {status}, its {view} does not agree")
            return {"status": status}

        return self.judge(
            fact,
            kind,
            problems=problems,
            claimed={"status": claimed},
            now=now,
            then=lambda: {"status": status_at(self.made)},
        )

    def guarded(self, fact: str, kind: FactKind, check: Callable[[str], FactCheck]) -> FactCheck:
        """``check(fact)``, with a contract revert or a malformed answer as the fact's failure (an unreachable node is
        not a fact's failure: it propagates)."""
        try:
            return check(fact)
        except ChainUnavailableError:
            raise
        except (NodeAdapterError, Web3Exception) as exc:
            return FactCheck(fact=fact, kind=kind, outcome="failed", reason=str(exc))

    # ------------------------------------------------------------------ facts

    def status_at(self, uid: str, block: int, depth: int = 0) -> AttestationStatus:
        """A record's status at ``block`` from the registry's events (and its expiry against the block's time)."""
        registry = self.suite.registry
        view = registry.get_record(uid)
        revoked = self.logs(registry, ["Revoked"], uid, to_block=block)
        disputes = self.logs(registry, ["DisputeOpened", "DisputeResolved"], None, uid, to_block=block)
        resolved = {int(d.args["disputeId"]): bool(d.args["upheld"]) for d in disputes if d.name == "DisputeResolved"}
        opened = {int(d.args["disputeId"]) for d in disputes if d.name == "DisputeOpened"}
        ref = view.ref.lower()
        return attestation_status(
            invalidated=any(resolved.values()),
            revoked=bool(revoked),
            expired=view.record.expiry != 0 and view.record.expiry <= self.block_time(block),
            reference_valid=ref == ZERO_HEX or depth > 32 or self.status_at(ref, block, depth + 1) in VALID_STATUSES,
            disputed=bool(opened - resolved.keys()),
        )

    def attestation(self, name: str, *, fact: AttestationFact) -> FactCheck:
        registry = self.suite.registry
        view = registry.get_record(fact.uid)
        record = view.record
        problems: list[str | None] = []
        if not record.exists:
            problems.append(f"the registry has no record {fact.uid}")
        else:
            ref = None if view.ref.lower() == ZERO_HEX else view.ref.lower()
            problems += _mismatches(
                "the registry",
                ("attester", record.attester, fact.attester),
                ("kind", record.kind, fact.kind),
                ("time", record.time, fact.attested_at),
                ("expiry", record.expiry, fact.expiry),
                ("ref", ref, fact.ref),
            )
            if record.time != self.block_time(fact.block_number):
                problems.append(f"it was not attested in block {fact.block_number}")
        expected = {
            "subject": self.bundle.subject,
            "kind": fact.kind,
            "attester": fact.attester,
            "uid": fact.uid,
            "ref": fact.ref or ZERO_HEX,
            "expiry": fact.expiry,
        }
        problems.append(self.receipt_event(registry, fact.tx_hash, fact.block_number, "Attested", expected))
        if fact.reading is not None:
            reading = {"subject": self.bundle.subject, "uid": fact.uid, "reading": fact.reading}
            problems.append(self.receipt_event(registry, fact.tx_hash, fact.block_number, "OdometerRecorded", reading))
        return self.judge_status(
            name,
            "attestation",
            problems=problems,
            claimed=fact.status,
            status_at=partial(self.status_at, fact.uid),
            valid_now=("isValid", partial(registry.is_valid, fact.uid)),
        )

    def batch_record(
        self,
        name: str,
        *,
        fact: BatchRecordFact,
        kind: FactKind = "batch_record",
        problems: Sequence[str | None] = (),
    ) -> FactCheck:
        registry = self.suite.registry
        batch = registry.get_batch(fact.batch_id)
        problems = list(problems)
        if fact.subject != self.bundle.subject:
            problems.append(f"it is about subject {fact.subject}, not the bundle's")
        if not _same(batch.attester, fact.attester) or batch.kind != fact.kind:
            problems.append(f"batch {fact.batch_id} is of kind {batch.kind} by {batch.attester}")
        if not proves(fact.proof, batch.root, fact.batch_id, fact.subject, fact.digest):
            problems.append(f"the Merkle proof does not lead to the root of batch {fact.batch_id}")
        anchored = {"batchId": fact.batch_id, "kind": fact.kind, "attester": fact.attester, "root": batch.root}
        problems.append(self.receipt_event(registry, fact.tx_hash, fact.block_number, "BatchAnchored", anchored))

        def status_at(block: int) -> str:
            return "revoked" if self.logs(registry, ["BatchRevoked"], fact.batch_id, to_block=block) else "valid"

        verify = partial(registry.verify_batch_record, fact.batch_id, fact.subject, fact.digest, fact.proof)
        return self.judge_status(
            name,
            kind,
            problems=problems,
            claimed=fact.status,
            status_at=status_at,
            valid_now=("verifyBatchRecord", verify),
        )

    def receipt(self, name: str, *, fact: ReceiptFact) -> FactCheck:
        """An access receipt: it hashes to its digest, is about the bundle's document, and is in its batch."""
        problems: list[str | None] = []
        document = fact.receipt.get("document")
        about = document.get("digest") if isinstance(document, dict) else None
        if not isinstance(about, str) or about.lower() != self.bundle.subject:
            problems.append(f"the receipt is about document {about}, not the bundle's {self.bundle.subject}")
        try:
            if not SaltedDocument.from_salted(fact.receipt, bytes.fromhex(fact.digest[2:])).verify():
                problems.append("the receipt (with its _salt) does not hash to its digest")
        except EncodingError as exc:
            problems.append(f"the receipt cannot be digested: {exc}")
        same = fact.model_dump(include=set(BatchRecordFact.model_fields))
        record = BatchRecordFact.model_validate({**same, "subject": self.bundle.subject})
        return self.batch_record(name, fact=record, kind="receipt", problems=problems)

    def receipt_batch(self, name: str, *, fact: ReceiptBatchFact) -> FactCheck:
        """A batch of receipts with all its leaves: they make its root, and every receipt in it about the bundle's
        document is one the bundle shows."""
        registry = self.suite.registry
        batch = registry.get_batch(fact.batch_id)
        problems: list[str | None] = []
        if not _same(batch.attester, fact.attester) or batch.kind != fact.kind:
            problems.append(f"batch {fact.batch_id} is of kind {batch.kind} by {batch.attester}")
        if batch.count != len(fact.leaves):
            problems.append(f"batch {fact.batch_id} holds {batch.count} leaves, the bundle lists {len(fact.leaves)}")
        elif to_hex(MerkleTree.of_records(fact.batch_id, leaf_pairs(fact.leaves)).root) != batch.root.lower():
            problems.append(f"the leaves do not make the root of batch {fact.batch_id}")
        shown = {r.digest for r in self.bundle.receipts if r.batch_id == fact.batch_id}
        left_out = [d for s, d in fact.leaves if s == self.bundle.subject and d not in shown]
        if left_out:
            problems.append(f"it holds receipts about the document the bundle leaves out: {', '.join(left_out)}")
        anchored = {"batchId": fact.batch_id, "kind": fact.kind, "attester": fact.attester, "root": batch.root}
        problems.append(self.receipt_event(registry, fact.tx_hash, fact.block_number, "BatchAnchored", anchored))
        return self.judge(name, "receipt_batch", problems=problems)

    def receipts_complete(self, name: str, *, kind: int) -> FactCheck:
        """Every batch of receipts anchored up to the bundle's block (and not revoked by then) is in the bundle."""
        registry = self.suite.registry
        anchored = [
            int(log.args["batchId"]) for log in self.logs(registry, ["BatchAnchored"], None, kind, to_block=self.made)
        ]
        revoked = {int(log.args["batchId"]) for log in self.logs(registry, ["BatchRevoked"], to_block=self.made)}
        listed = {b.batch_id for b in self.bundle.receipt_batches}
        missing = [batch_id for batch_id in anchored if batch_id not in listed and batch_id not in revoked]
        problems: list[str | None] = []
        if missing:
            problems.append(f"batches {missing} of kind {kind} were anchored by block {self.made} and are left out")
        other = [b.batch_id for b in self.bundle.receipt_batches if b.kind != kind]
        if other:
            problems.append(f"batches {other} are not of kind {kind}")
        return self.judge(name, "receipts_complete", problems=problems)

    def loan_at(self, loan_id: int, block: int) -> dict[str, Value]:
        """A loan's changing fields at ``block``, folded from the events that change them."""
        names = ["LoanRegistered", "LienStatusChanged", "RepaymentReported", "ValuationAggregated", "RulesFired"]
        state: dict[str, Value] = {
            "lien_status": "none",
            "outstanding": "0",
            "days_overdue": 0,
            "last_value": None,
            "case_id": None,
        }
        for log in self.logs(self.suite.collateral, names, loan_id, to_block=block):
            a = log.args
            if log.name == "LoanRegistered":
                state.update(lien_status="pending", outstanding=str(a["outstanding"]))
            elif log.name == "LienStatusChanged":
                state["lien_status"] = LIEN_STATUSES[int(a["to"])]
            elif log.name == "RepaymentReported":
                state.update(days_overdue=int(a["daysOverdue"]), outstanding=str(a["outstanding"]))
            elif log.name == "ValuationAggregated":
                state["last_value"] = str(a["value"])
            else:
                state["case_id"] = int(a["caseId"])
        return state

    def loan(self, name: str, *, fact: LoanFact) -> FactCheck:
        loan = self.suite.collateral.get_loan(fact.loan_id)
        problems = _mismatches(
            "the CollateralManager",
            ("subject", loan.subject, self.bundle.subject),
            ("bank_member_id", loan.bank_member_id, fact.bank_member_id),
            ("principal", loan.principal, fact.principal),
            ("baseline_value", loan.baseline_value, fact.baseline_value),
        )
        claimed: dict[str, Value] = {
            "lien_status": fact.lien_status,
            "outstanding": fact.outstanding,
            "days_overdue": fact.days_overdue,
            "last_value": fact.last_value,
            "case_id": fact.case_id,
        }
        now: dict[str, Value] = {
            "lien_status": LIEN_STATUSES[loan.lien_status],
            "outstanding": str(loan.outstanding),
            "days_overdue": loan.days_overdue,
            "last_value": str(loan.last_value) if loan.last_valued_at else None,
            "case_id": loan.case_id or None,
        }
        return self.judge(
            name,
            "loan",
            problems=problems,
            claimed=claimed,
            now=lambda: now,
            then=lambda: self.loan_at(fact.loan_id, self.made),
        )

    def case(self, name: str, *, fact: CaseFact) -> FactCheck:
        collateral = self.suite.collateral
        case = collateral.get_case(fact.case_id)
        problems: list[str | None] = []
        if case.loan_id != fact.loan_id:
            problems.append(f"case {fact.case_id} is about loan {case.loan_id}, not {fact.loan_id}")
        changes = self.logs(collateral, ["CaseStateChanged"], fact.case_id, to_block=self.made)
        listed = {(t.block_number, t.tx_hash, t.from_state, t.to_state) for t in fact.transitions}
        for log in changes:
            step = (CASE_STATES[int(log.args["from"])], CASE_STATES[int(log.args["to"])])
            if (log.block_number, log.tx_hash, *step) not in listed:
                problems.append(
                    f"the bundle leaves out its transition {step[0]} -> {step[1]} in block {log.block_number}"
                )
        state_then = CASE_STATES[int(changes[-1].args["to"])] if changes else "none"
        return self.judge(
            name,
            "case",
            problems=problems,
            claimed={"state": fact.state},
            now=lambda: {"state": CASE_STATES[case.state]},
            then=lambda: {"state": state_then},
        )

    def transition(self, name: str, *, case_id: int, fact: CaseTransitionFact) -> FactCheck:
        expected = {
            "caseId": case_id,
            "from": CASE_STATES.index(fact.from_state),
            "to": CASE_STATES.index(fact.to_state),
            "evidenceDigest": fact.evidence_digest,
        }
        problem = self.receipt_event(
            self.suite.collateral, fact.tx_hash, fact.block_number, "CaseStateChanged", expected
        )
        return self.judge(name, "case_transition", problems=[problem])

    def report(self, name: str, *, fact: ReportFact) -> FactCheck:
        event = {report: event for event, (report, _) in REPORT_EVENTS.items()}[fact.report]
        expected: dict[str, object] = {
            "loanId": fact.loan_id,
            "subject": self.bundle.subject,
            "evidenceDigest": fact.evidence_digest,
            **fact.detail,
        }
        if fact.reporter_member_id is not None:
            expected["reporterMemberId"] = fact.reporter_member_id
        problem = self.receipt_event(self.suite.collateral, fact.tx_hash, fact.block_number, event, expected)
        return self.judge(name, "report", problems=[problem])

    def all_facts(self) -> list[FactCheck]:
        b = self.bundle
        planned: list[tuple[str, FactKind, Callable[[str], FactCheck]]] = [
            (f"attestation {f.uid}", "attestation", partial(self.attestation, fact=f)) for f in b.attestations
        ]
        planned += [
            (f"batch record {f.digest} in batch {f.batch_id}", "batch_record", partial(self.batch_record, fact=f))
            for f in b.batch_records
        ]
        planned += [(f"loan {f.loan_id}", "loan", partial(self.loan, fact=f)) for f in b.loans]
        for case in b.cases:
            planned.append((f"case {case.case_id}", "case", partial(self.case, fact=case)))
            planned += [
                (
                    f"case {case.case_id} transition {t.from_state} -> {t.to_state} (block {t.block_number})",
                    "case_transition",
                    partial(self.transition, case_id=case.case_id, fact=t),
                )
                for t in case.transitions
            ]
        planned += [
            (f"report {f.report} of loan {f.loan_id} (block {f.block_number})", "report", partial(self.report, fact=f))
            for f in b.reports
        ]
        planned += [
            (f"access receipt {f.digest} in batch {f.batch_id}", "receipt", partial(self.receipt, fact=f))
            for f in b.receipts
        ]
        planned += [
            (f"receipt batch {f.batch_id}", "receipt_batch", partial(self.receipt_batch, fact=f))
            for f in b.receipt_batches
        ]
        if b.receipt_kind is not None:
            planned.append(
                (
                    f"every receipt batch of kind {b.receipt_kind} up to block {b.generated_at_block}",
                    "receipts_complete",
                    partial(self.receipts_complete, kind=b.receipt_kind),
                )
            )
        return [self.guarded(name, kind, check) for name, kind, check in planned]


def _code(w3: Web3, *, address: str) -> bytes:
    return bytes(w3.eth.get_code(to_checksum_address(address)))


def _connection(node: ChainConnection | Web3) -> ChainConnection:
    return node if isinstance(node, ChainConnection) else _GivenWeb3(node)


def verify_bundle(bundle: ProofBundle, node: ChainConnection | Web3) -> BundleReport:
    """Check every fact of ``bundle`` against the chain behind ``node`` (JSON-RPC only).

    Raises :class:`BundleChainMismatchError` when the node is of another chain, and ``ChainUnavailableError`` when it
    does not answer; every other problem is a fact's ``failed`` outcome with its reason.
    """
    connection = _connection(node)
    actual = connection.chain_id
    if actual != bundle.chain_id:
        raise BundleChainMismatchError(connection.current_url, bundle.chain_id, actual)
    head = int(connection.call(lambda w3: w3.eth.block_number))
    checks = [FactCheck(fact=f"chain {actual}", kind="chain", outcome="confirmed")]
    if bundle.generated_at_block > head:
        reason = f"the bundle describes block {bundle.generated_at_block}; the chain ends at {head}"
        checks[0] = FactCheck(fact=f"chain {actual}", kind="chain", outcome="failed", reason=reason)
    for name, address in bundle.contracts.model_dump().items():
        code = connection.call(partial(_code, address=address))
        checks.append(
            FactCheck(fact=f"contract {name} {address}", kind="contract", outcome="confirmed")
            if code
            else FactCheck(
                fact=f"contract {name} {address}", kind="contract", outcome="failed", reason="no code at that address"
            )
        )
    if all(check.outcome == "confirmed" for check in checks):
        checks += _Verifier(bundle, connection, head).all_facts()
    return BundleReport(
        chain_id=actual,
        subject=bundle.subject,
        generated_at_block=bundle.generated_at_block,
        checked_at_block=head,
        checks=checks,
    )
