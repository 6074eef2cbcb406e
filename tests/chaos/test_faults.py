"""Faults against the whole system under traffic; after each one the invariants of ``tests/chaos/invariants.py`` hold:
every accepted write is on chain exactly once, the read model equals a rebuild from the chain, the portal answers."""

from __future__ import annotations

import os
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from hexbytes import HexBytes

from node_adapter.db import create_schema, make_engine, utcnow
from node_adapter.dev.devchain import increase_time
from node_adapter.dev.pgcluster import PrivatePostgres
from node_adapter.indexer import EventIndexer
from node_adapter.readmodel import all_projections
from tests.chaos.invariants import assert_read_model_matches_rebuild, check_invariants
from tests.chaos.servers import fill
from tests.chaos.system import Scale, System
from tests.oracle.conftest import kill_oracle_mid_batch, wait_for
from tests.portal.conftest import sign_in

pytestmark = pytest.mark.chaos


def _confirmed(system: System) -> int:
    return system.rig.oracle.outbox.backlog().get("confirmed", 0)


def _after_some_writes(system: System, writes: int = 5) -> None:
    before = _confirmed(system)
    wait_for(lambda: _confirmed(system) >= before + writes, 120, f"{writes} more writes confirmed")


def test_the_chain_node_stopped_and_restarted_under_load(system: System, scale: Scale) -> None:
    """The node goes away mid-traffic (its pool of pending transactions with it) and comes back on its kept state."""
    system.rig.advance(scale.hours * 3600)
    with system.load(scale) as traffic:
        for _ in range(scale.repeats):
            _after_some_writes(system)
            system.node.stop()
            time.sleep(1.5)  # the oracle, its worker, the portal and its indexer meet a node that is not there
            system.node.start()
    tally = check_invariants(system, traffic)
    assert tally["confirmed"] > 0


def test_the_database_restarted_under_load(system_on_postgres: System, postgres: PrivatePostgres, scale: Scale) -> None:
    """PostgreSQL crashes (immediate stop: every connection cut, recovery at start) and comes back."""
    system = system_on_postgres
    system.rig.advance(scale.hours * 3600)
    with system.load(scale) as traffic:
        for _ in range(scale.repeats):
            _after_some_writes(system)
            postgres.stop("immediate")
            time.sleep(1.5)
            postgres.start()
    check_invariants(system, traffic)


def test_the_oracle_killed_mid_batch(system: System, scale: Scale) -> None:
    """The oracle process is SIGKILLed with a Merkle batch in flight while the portal serves, and started again."""
    system.rig.advance(scale.hours * 3600)
    with system.load(scale, oracle=False) as traffic:
        kill_oracle_mid_batch(system.rig, system.tmp / "oracle.log", batch_size=100)
    check_invariants(system, traffic)


def test_reorgs_under_load(reorging_system: System, scale: Scale, tmp_path: Path) -> None:
    """Blocks holding the system's writes are replaced by others: the outbox sends the dropped writes again, and an
    eager read model (no confirmations, as on a chain with immediate finality) rewinds and indexes the new branch."""
    system = reorging_system
    eager_engine = make_engine(f"sqlite:///{tmp_path / 'eager.sqlite3'}")
    create_schema(eager_engine)
    live = system.rig.runtime.indexer()
    eager = EventIndexer(eager_engine, live.connection, live.contracts.values(), all_projections(),
                         start_block=live.start_block, confirmations=0, name="eager")  # fmt: skip
    stop = threading.Event()
    follower = threading.Thread(target=_follow, args=(eager, stop), name="chaos-eager-indexer", daemon=True)
    follower.start()
    dropped: list[str] = []
    system.rig.advance(scale.hours * 3600)
    try:
        with system.load(scale) as traffic:
            for _ in range(scale.repeats):
                wait_for(lambda: bool(_recent_transactions(system, scale.reorg_depth)), 120, "writes in recent blocks")
                dropped += _recent_transactions(system, scale.reorg_depth)
                system.node.rpc("anvil_reorg", [scale.reorg_depth, []])
                time.sleep(1.0)
    finally:
        stop.set()
        follower.join(30)
    assert dropped
    w3 = system.w3
    for tx_hash in dropped:  # each one mined again (the outbox sent it again, or the node re-included it)
        assert w3.eth.get_transaction_receipt(HexBytes(tx_hash))["status"] == 1
    check_invariants(system, traffic)
    eager.sync()
    scratch = tmp_path / "eager-rebuild"
    scratch.mkdir()
    assert_read_model_matches_rebuild(eager_engine, eager, scratch)


def _follow(indexer: EventIndexer, stop: threading.Event) -> None:
    while not stop.wait(0.2):
        try:
            indexer.run_once()
        except Exception:  # the read model is compared with a rebuild at the end; a failed pass is retried
            continue


def _recent_transactions(system: System, depth: int) -> list[str]:
    """Hashes of the transactions in the chain's last ``depth`` blocks."""
    w3 = system.w3
    head = int(w3.eth.block_number)
    hashes = []
    for number in range(max(head - depth + 1, 0), head + 1):
        hashes += ["0x" + bytes(h).hex() for h in w3.eth.get_block(number)["transactions"]]  # type: ignore[arg-type]
    return hashes


def test_a_full_disk_refuses_documents_clearly_and_loses_nothing(
    system_on_disk: System, disk: Path, scale: Scale
) -> None:
    """The disk under the database (the portal's files and records, the oracle's documents) fills up: uploads are
    refused with 507 and a message saying why, no file accepted before or while it filled is lost, and once space is
    freed all goes on."""
    system = system_on_disk
    token = sign_in(system.portal_url, system.dealer)
    accepted: dict[str, bytes] = {}
    with httpx.Client(base_url=system.portal_url, headers={"Authorization": f"Bearer {token}"}, timeout=30) as http:
        content = _pdf(200_000)
        stored = _upload(http, content)
        assert stored.status_code == 201, stored.text
        accepted[stored.json()["digest"]] = content
        system.rig.advance(scale.hours * 3600)
        with system.load(scale) as traffic:
            _after_some_writes(system)
            filler = fill(disk)
            try:
                # The database may still have room inside its own files (a write-ahead log reused after a checkpoint):
                # files are accepted until that is used up too, and then refused.
                for _ in range(64):
                    content = _pdf(4_000_000)
                    response = _upload(http, content)
                    if response.status_code != 201:
                        break
                    accepted[response.json()["digest"]] = content
                assert response.status_code == 507, response.text
                assert response.json()["error"] == "storage_full"
                assert "storage is full" in response.json()["message"]
                time.sleep(1.5)  # the oracle's jobs and the portal's indexer meet the full disk too
            finally:
                filler.unlink()
        check_invariants(system, traffic)
        for digest, content in accepted.items():
            again = http.get(f"/api/v1/files/{digest}")
            assert again.status_code == 200, digest
            assert again.content == content
        later = _upload(http, _pdf(1_000_000))
        assert later.status_code == 201, later.text


def _pdf(size: int) -> bytes:
    return b"%PDF-1.4\n" + os.urandom(size)


def _upload(http: httpx.Client, content: bytes) -> httpx.Response:
    headers: dict[str, Any] = {"Content-Type": "application/pdf", "X-File-Name": "registration.pdf"}
    return http.post("/api/v1/files", content=content, headers=headers)


def test_clock_skew_between_oracle_and_chain(system: System, scale: Scale) -> None:
    """The oracle's clock runs six hours behind the real time while the chain's runs ahead, an hour at a time and then
    four days at once (beyond the three days a valuation stays fresh on chain): valuations are refreshed by the
    chain's clock, and every vehicle financed has a fresh one afterwards."""
    system.rig.oracle.clock = lambda: utcnow() - timedelta(hours=6)
    system.rig.advance(scale.hours * 3600)
    w3 = system.w3
    with system.load(scale) as traffic:
        for _ in range(scale.repeats):
            _after_some_writes(system)
            increase_time(w3, 3600)
        traffic.join(300)  # the portal's attestations are signed for a day of chain time: all in before the jump
        increase_time(w3, 4 * 86_400)
    check_invariants(system, traffic)
    collateral = system.rig.suite.collateral
    for loan_id in range(1, collateral.loan_count() + 1):
        loan = collateral.get_loan(loan_id)
        assert collateral.valuation_of(loan.subject).value > 0, loan_id  # raises CollateralStaleValuation if stale
