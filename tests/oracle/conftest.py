"""An oracle wired to real parts: the simulators over HTTP, a deployed suite on the test's Anvil node, a database."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from eth_account import Account
from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from web3 import Web3

from node_adapter.artifacts import load_artifact
from node_adapter.clients import Parameters, Suite
from node_adapter.db import create_schema, make_engine
from node_adapter.dev.devchain import pass_proposal
from node_adapter.dev.localchain import DEV_MNEMONIC, LocalChain, dev_accounts
from node_adapter.runtime import Runtime
from node_adapter.settings import NodeAdapterSettings
from oracle.pipeline import Oracle, oracle_status
from oracle.risk.job import RiskScorer
from oracle.risk.settings import RiskSettings
from oracle.service import OracleService
from oracle.settings import OracleSettings
from oracle.simulators.server import SimulatorServer
from oracle.store import AnchorBatch, BatchStatus, SourceRecord
from oracle.tools.devsetup import dev_signers, setup_dev_consortium


@dataclass
class OracleRig:
    sim: SimulatorServer
    oracle: Oracle
    service: OracleService
    suite: Suite
    w3: Web3
    engine: Engine
    runtime: Runtime

    def scenario(self, source: str, **body: Any) -> dict[str, Any]:
        response = httpx.post(f"{self.sim.source_url(source)}/admin/scenarios", json=body, timeout=10)
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    def advance(self, seconds: int) -> None:
        response = httpx.post(f"{self.sim.url}/dmv/admin/advance", json={"seconds": seconds}, timeout=30)
        assert response.status_code == 200, response.text


def set_watch_score(rig: OracleRig, score: int) -> None:
    """Governance moves the score (hundredths) under which a risk warning puts a loan on watch."""
    collateral = rig.suite.collateral
    new = Parameters.model_validate({**collateral.parameters().model_dump(), "risk_watch_score": score})
    membership = rig.w3.eth.contract(address=rig.suite.membership.address, abi=load_artifact("Membership").abi)
    governors = [Account.from_key(k.private_key) for k in dev_accounts(3, DEV_MNEMONIC)]
    calls = [collateral.encode_set_parameters(new_parameters=new)]
    pass_proposal(
        rig.w3, membership, governors=governors, targets=[collateral.address], calldatas=calls, description="watch"
    )


def make_rig(
    chain: LocalChain,
    w3: Web3,
    tmp_path: Path,
    *,
    fleet: int = 12,
    db_url: str | None = None,
    risk: RiskSettings | None = None,
    adapter: dict[str, Any] | None = None,
    **settings: Any,
) -> Iterator[OracleRig]:
    """``risk``: also run the risk score's job with these settings; ``adapter``: more node_adapter settings
    (confirmations, resend_after ...); ``settings``: the oracle's."""
    runtime = Runtime.open(
        NodeAdapterSettings(
            rpc_urls=[chain.url],
            chain_id=chain.chain_id,
            state_dir=tmp_path / "state",
            network="oracle-test",
            database_url=db_url or "",
            **(adapter or {}),
        )
    )
    deployment, _ = runtime.deploy()
    suite = Suite.from_deployment(runtime.connection, deployment)
    setup_dev_consortium(w3, deployment, suite)
    engine = make_engine(db_url) if db_url else runtime.engine
    create_schema(engine)
    with SimulatorServer(seed=11, fleet_size=fleet) as sim:
        oracle_settings = OracleSettings(simulators_url=sim.url, retry_backoff=0.01, interval=0.2, **settings)
        signers = dev_signers(oracle_settings.price_reporters)
        oracle = Oracle(oracle_settings, engine, suite, signers)
        worker = runtime.worker(list(signers.values()))
        scorer = RiskScorer(oracle, risk) if risk is not None else None
        service = OracleService(oracle, worker, risk=scorer)
        try:
            yield OracleRig(sim, oracle, service, suite, w3, engine, runtime)
        finally:
            service.stop()
            oracle.close()


@pytest.fixture
def rig(chain: LocalChain, w3: Web3, tmp_path: Path) -> Iterator[OracleRig]:
    yield from make_rig(chain, w3, tmp_path)


def assert_all_on_chain(rig: OracleRig, *, verify_every: int = 1) -> dict[str, int]:
    """Every stored record is on chain exactly once: by its own confirmed write, or as a leaf of one valid batch."""
    from sqlmodel import Session, select  # noqa: PLC0415

    from node_adapter.outbox import TxStatus  # noqa: PLC0415
    from oracle.store import ActionStatus, Anchor, AnchorBatch, BatchStatus, ChainAction, SourceRecord  # noqa: PLC0415

    registry = rig.suite.registry
    with Session(rig.engine) as session:
        records = session.exec(select(SourceRecord).order_by(SourceRecord.id)).all()  # type: ignore[arg-type]
        actions = {a.record_id: a for a in session.exec(select(ChainAction)).all()}
        batches = {b.id: b for b in session.exec(select(AnchorBatch)).all()}
    counts = {"single": 0, "batched": 0}
    per_batch: dict[int, int] = {}
    for index, record in enumerate(records):
        action = actions.get(record.id)
        if record.anchor == Anchor.SINGLE:
            assert action is not None, record.event_id
            assert action.status == ActionStatus.DONE, (record.event_id, action)
            tx = rig.oracle.outbox.get(action.key)
            assert tx is not None
            assert tx.status == TxStatus.CONFIRMED
            assert record.digest[2:] in tx.data, "the write carries the record's digest as its evidence"
            counts["single"] += 1
            continue
        assert action is None or action.status in (ActionStatus.SKIPPED, ActionStatus.FAILED), (record.event_id, action)
        batch = batches.get(record.batch_row_id)  # type: ignore[arg-type]
        assert batch is not None, record.event_id
        assert batch.status == BatchStatus.CONFIRMED, (record.event_id, batch)
        per_batch[batch.id] = per_batch.get(batch.id, 0) + 1  # type: ignore[index]
        if index % verify_every == 0:
            batch_id, proof = rig.oracle.proof(record)
            subject = record.subject or "0x" + Web3.keccak(text=f"oracle:{record.type}").hex().removeprefix("0x")
            assert registry.verify_batch_record(batch_id, subject, record.digest, proof), record.event_id
        counts["batched"] += 1
    for row_id, members in per_batch.items():
        batch = batches[row_id]
        on_chain = registry.get_batch(batch.chain_batch_id)  # type: ignore[arg-type]
        assert (on_chain.count, on_chain.revoked_at, on_chain.root) == (members, 0, batch.root)
    for batch in batches.values():
        if batch.status == BatchStatus.MISNUMBERED:
            assert registry.get_batch(batch.chain_batch_id).revoked_at > 0  # type: ignore[arg-type]
    return counts


@pytest.fixture
def rig_on(chain: LocalChain, w3: Web3, tmp_path: Path, db_url: str) -> Iterator[OracleRig]:
    """The rig with its database on each SQL backend (SQLite, PostgreSQL)."""
    yield from make_rig(chain, w3, tmp_path, db_url=db_url)


# ---------------------------------------------------------------------------------------------------- counting


def stored(rig: OracleRig, source: str) -> int:
    """Records of ``source`` the oracle stored."""
    with Session(rig.engine) as session:
        return len(session.exec(select(SourceRecord.id).where(SourceRecord.source == source)).all())


def emitted(rig: OracleRig, source: str) -> int:
    """Events the simulator of ``source`` emitted so far."""
    return len(rig.sim.simulation.feeds[source].events)  # type: ignore[index]


def batches(rig: OracleRig, status: BatchStatus) -> int:
    with Session(rig.engine) as session:
        return len(session.exec(select(AnchorBatch.id).where(AnchorBatch.status == status)).all())


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


# ------------------------------------------------------------------------------------- the oracle as a process


def oracle_process(rig: OracleRig, log: Path, *, batch_size: int) -> subprocess.Popen[bytes]:
    """``consortium oracle run`` in a process of its own, on the rig's chain, database and simulators."""
    settings = rig.runtime.settings
    env = {
        **os.environ,
        "NODE_ADAPTER_RPC_URLS": json.dumps([settings.rpc_urls[0]]),
        "NODE_ADAPTER_STATE_DIR": str(settings.state_dir),
        "NODE_ADAPTER_NETWORK": settings.network,
        "NODE_ADAPTER_DATABASE_URL": settings.effective_database_url,
        "ORACLE_SIMULATORS_URL": rig.sim.url,
        "ORACLE_INTERVAL": "0.1",
        "ORACLE_BATCH_SIZE": str(batch_size),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "consortium.cli", "oracle", "run"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log.open("ab"),
    )


def oracle_settled(rig: OracleRig) -> bool:
    """Nothing left to do: no write or action in flight, every record batched, every source read to its end."""
    report = oracle_status(rig.engine, OracleSettings())
    backlog = report["backlog"]
    busy = {k: v for k, v in backlog["outbox"].items() if k not in ("confirmed", "reverted", "failed")}
    waiting = {k: v for k, v in backlog["actions"].items() if k in ("waiting", "submitted")}
    return (
        not busy
        and not waiting
        and backlog["unbatched_records"] == 0
        and not report["batches"].get("pending")
        and stored(rig, "telematics") == emitted(rig, "telematics")
    )


def kill_oracle_mid_batch(rig: OracleRig, log: Path, *, batch_size: int, timeout: float = 180) -> None:
    """Run the oracle as a process, SIGKILL it while a batch is in flight, start it again and let it finish.

    The simulators must hold enough T-Box readings for at least three batches of ``batch_size``.
    """
    process = oracle_process(rig, log, batch_size=batch_size)
    try:
        wait_for(lambda: batches(rig, BatchStatus.CONFIRMED) >= 2 and batches(rig, BatchStatus.PENDING) == 1,
                 timeout, "a batch in flight")  # fmt: skip
        process.send_signal(signal.SIGKILL)
        process.wait(10)
        assert process.returncode == -signal.SIGKILL
        process = oracle_process(rig, log, batch_size=batch_size)
        wait_for(lambda: oracle_settled(rig), timeout, "the restarted oracle to finish")
        process.send_signal(signal.SIGTERM)
        process.wait(30)
        assert process.returncode == 0, log.read_text()[-2000:]
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
