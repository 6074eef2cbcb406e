"""What must hold after any fault, checked the same way after each one.

1. Every accepted write is on chain exactly once: every outbox row is final; each confirmed one has its receipt (status
   1, in the block it recorded) and no other signed attempt of it was mined; no two writes used one nonce; every record
   the oracle stored is on chain by its own write or in one valid batch (``assert_all_on_chain``); every attestation
   the portal accepted was recorded by exactly one ``Attested`` event, attributed to its attester.
2. The read model equals a rebuild from the chain: a fresh database indexed from genesis holds the same rows, table by
   table (surrogate row ids aside), as the read model the portal kept through the fault.
3. The portal answers: ``/health`` over HTTP says its read model reached the chain's head, a member signs in, and a
   vehicle's report lists the records attested about it.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import httpx
from eth_account.signers.local import LocalAccount
from hexbytes import HexBytes
from sqlalchemy import Table
from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from web3 import Web3
from web3.exceptions import TransactionNotFound

from node_adapter.db import create_schema, make_engine
from node_adapter.indexer import ChainEvent, EventIndexer
from node_adapter.outbox import OutboxTx, TxAttempt, TxStatus
from node_adapter.readmodel import all_projections
from tests.chaos.system import PortalTraffic, System
from tests.oracle.conftest import assert_all_on_chain, wait_for
from tests.portal.conftest import sign_in


def assert_writes_on_chain_once(engine: Engine, w3: Web3) -> Counter[str]:
    """Outbox rows against the chain's receipts; how many writes ended in each state."""
    with Session(engine) as session:
        rows = session.exec(select(OutboxTx)).all()
        attempts = session.exec(select(TxAttempt)).all()
    unfinished = [(r.idempotency_key, r.status) for r in rows if not r.status.final]
    assert not unfinished, f"writes still unfinished: {unfinished[:10]}"
    failed = [(r.idempotency_key, r.error_message) for r in rows if r.status == TxStatus.FAILED]
    assert not failed, f"writes the outbox gave up on: {failed[:10]}"
    by_id = {r.id: r for r in rows}
    nonces: Counter[tuple[str, int]] = Counter()
    for row in rows:
        if row.tx_hash is None:  # a deterministic revert found before signing: never sent, by design
            assert row.status == TxStatus.REVERTED, row
            continue
        assert row.nonce is not None
        nonces[(row.sender.lower(), row.nonce)] += 1
        receipt = w3.eth.get_transaction_receipt(HexBytes(row.tx_hash))
        assert int(receipt["status"]) == (1 if row.status == TxStatus.CONFIRMED else 0), (row.idempotency_key, receipt)
        assert "0x" + bytes(receipt["blockHash"]).hex() == row.block_hash, f"{row.idempotency_key}: not where recorded"
    for attempt in attempts:
        row = by_id[attempt.outbox_id]
        if attempt.tx_hash == row.tx_hash:
            continue
        try:
            mined = w3.eth.get_transaction_receipt(HexBytes(attempt.tx_hash))
        except TransactionNotFound:
            continue
        raise AssertionError(
            f"{row.idempotency_key}: attempt {attempt.tx_hash} was mined too (block {mined['blockNumber']})"
        )
    reused = [key for key, count in nonces.items() if count > 1]
    assert not reused, f"nonces used by two writes: {reused[:10]}"
    return Counter(str(r.status) for r in rows)


def rebuild(live: EventIndexer, scratch: Path) -> Engine:
    """A fresh database indexed from the chain by an indexer like ``live``."""
    engine = make_engine(f"sqlite:///{scratch / 'rebuilt.sqlite3'}")
    create_schema(engine)
    EventIndexer(
        engine,
        live.connection,
        live.contracts.values(),
        all_projections(),
        start_block=live.start_block,
        confirmations=live.confirmations,
        name=live.name,
    ).sync()
    return engine


def _rows(engine: Engine, table: Table) -> list[tuple[Any, ...]]:
    columns = [c for c in table.columns if c.name != "id"]  # surrogate row ids differ between two builds
    with engine.connect() as connection:
        rows = connection.execute(select(*columns)).all()
    return sorted((tuple(row) for row in rows), key=repr)


def assert_read_model_matches_rebuild(engine: Engine, live: EventIndexer, scratch: Path) -> Engine:
    """``engine``'s read model (kept by ``live``'s checkpoint) holds what a rebuild from the chain holds; returns the
    rebuilt database. The chain must be quiet (no new events) while this runs."""
    head = live.connection.call(lambda w3: int(w3.eth.block_number))
    target = head - live.confirmations

    def caught_up() -> bool:
        checkpoint = live.checkpoint()
        return checkpoint is not None and checkpoint.block_number >= target

    wait_for(caught_up, 60, f"the read model to reach block {target}")
    rebuilt = rebuild(live, scratch)
    tables = [ChainEvent.__table__] + [t.__table__ for p in all_projections() for t in p.tables]  # type: ignore[attr-defined]
    for table in tables:
        ours, theirs = _rows(engine, table), _rows(rebuilt, table)
        if ours != theirs:
            extra = [r for r in ours if r not in theirs][:3]
            missing = [r for r in theirs if r not in ours][:3]
            raise AssertionError(f"{table.name}: the read model differs from a rebuild; only ours {extra}, "
                                 f"only the rebuild's {missing}")  # fmt: skip
    return rebuilt


def assert_attested_once(rebuilt: Engine, digests: list[str], attester: str) -> None:
    """Each digest was recorded by exactly one ``Attested`` event, by ``attester``."""
    with Session(rebuilt) as session:
        events = session.exec(select(ChainEvent).where(ChainEvent.event == "Attested")).all()
    by_uid: dict[str, list[ChainEvent]] = {}
    for event in events:
        by_uid.setdefault(str(event.values["uid"]).lower(), []).append(event)
    for digest in digests:
        found = by_uid.get(digest.lower(), [])
        assert len(found) == 1, f"{digest} attested {len(found)} times"
        assert str(found[0].values["attester"]).lower() == attester.lower()


def assert_portal_answers(url: str, member: LocalAccount, vin: str, digests: list[str], *, confirmations: int) -> None:
    """Over HTTP: the portal is healthy and caught up, ``member`` signs in and ``vin``'s report lists ``digests``."""
    with httpx.Client(base_url=url, timeout=30) as http:
        health = http.get("/health")
        assert health.status_code == 200, health.text
        body = health.json()
        assert body["indexed_block"] is not None
        assert body["indexed_block"] >= body["block"] - confirmations - 1, body
    token = sign_in(url, member)
    with httpx.Client(base_url=url, timeout=30, headers={"Authorization": f"Bearer {token}"}) as http:
        report = http.get(f"/api/v1/vehicles/{vin}")
    assert report.status_code == 200, report.text
    listed = {a["uid"] for a in report.json()["attestations"]}
    assert set(digests) <= listed, f"the report on {vin} misses {set(digests) - listed}"


def check_invariants(system: System, traffic: PortalTraffic) -> Counter[str]:
    """The three invariants on ``system`` once ``traffic`` is done; returns how many writes ended in each state."""
    rig = system.rig
    tally = assert_writes_on_chain_once(rig.engine, system.w3)
    assert_all_on_chain(rig, verify_every=25)
    scratch = system.tmp / f"rebuild-{len(list(system.tmp.glob('rebuild-*')))}"
    scratch.mkdir()
    rebuilt = assert_read_model_matches_rebuild(rig.engine, rig.runtime.indexer(), scratch)
    digests = [prepared["digest"] for prepared in traffic.accepted]
    assert len(digests) == traffic.count, f"{traffic.count - len(digests)} attestations never accepted"
    assert_attested_once(rebuilt, digests, system.dealer.address)
    vin = traffic.accepted[0]["document"]["vin"]
    about = [p["digest"] for p in traffic.accepted if p["document"]["vin"] == vin]
    assert_portal_answers(system.portal_url, system.bank, vin, about, confirmations=system.settings.confirmations)
    assert 500 not in traffic.answers, "the portal answered 500 (an unhandled error) during the fault"
    return tally
