"""``consortium bench oracle``: how fast an anomaly becomes a disposal case, and how many T-Box readings per second
the oracle puts on chain through its batches. Everything real: a fresh Anvil node, the suite deployed, the simulators
over HTTP, the oracle's scheduler and outbox worker running in their threads.

- ``alert_latency_ms``: from the moment a geofence exit is injected into the telematics simulator to the moment the
  vehicle's loan has a case on chain (polled every few milliseconds), median over ``samples`` vehicles.
- ``telematics_records_per_s``: readings produced by advancing the simulated clock, divided by the wall time until
  every one of them is read, validated, stored and anchored in a confirmed Merkle batch.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from sqlmodel import Session, col, select

from node_adapter.clients import Suite
from node_adapter.connection import connect
from node_adapter.dev.localchain import LocalChain, free_port
from node_adapter.runtime import Runtime
from node_adapter.settings import NodeAdapterSettings
from node_adapter.txworker import TxPolicy, TxWorker
from oracle.pipeline import Oracle
from oracle.service import OracleService
from oracle.settings import OracleSettings
from oracle.simulators.server import SimulatorServer
from oracle.store import AnchorBatch, BatchStatus, LoanLink, SourceRecord
from oracle.tools.devsetup import dev_signers, setup_dev_consortium


def oracle_report(*, samples: int = 20, fleet: int = 60, hours: int = 6, interval: float = 0.05) -> dict[str, Any]:
    """Run the oracle on a fresh node and measure (see the module docstring)."""
    with tempfile.TemporaryDirectory(prefix="oracle-bench-") as tmp, LocalChain(port=free_port()) as node:
        runtime = Runtime.open(
            NodeAdapterSettings(rpc_urls=[node.url], chain_id=node.chain_id, state_dir=Path(tmp), network="bench")
        )
        deployment, _ = runtime.deploy()
        suite = Suite.from_deployment(runtime.connection, deployment)
        setup_dev_consortium(connect(node.url), deployment, suite)
        with SimulatorServer(seed=7, fleet_size=fleet) as sim:
            settings = OracleSettings(simulators_url=sim.url, interval=interval, retry_backoff=0.01)
            signers = dev_signers(settings.price_reporters)
            oracle = Oracle(settings, runtime.engine, suite, signers)
            worker = TxWorker(oracle.outbox, runtime.connection, list(signers.values()), TxPolicy(max_in_flight=256))
            service = OracleService(oracle, worker)
            service.settle()
            with Session(runtime.engine) as session:
                links = session.exec(
                    select(LoanLink).where(col(LoanLink.chain_loan_id).is_not(None)).order_by(col(LoanLink.loan_ref))
                ).all()
            if len(links) < samples:
                raise RuntimeError(f"only {len(links)} financed vehicles for {samples} samples: use a larger fleet")
            service.start()
            try:
                latencies = _alert_latencies(sim, suite, list(links)[:samples])
                records, seconds = _telematics_rate(sim, runtime, hours)
            finally:
                service.stop()
                oracle.close()
    return {
        "data": "simulated (fleet of the simulators, seed 7)",
        "samples": samples,
        "alert_latency_ms": round(statistics.median(latencies), 1),
        "alert_latency_p90_ms": round(sorted(latencies)[int(0.9 * (len(latencies) - 1))], 1),
        "telematics_records": records,
        "telematics_records_per_s": round(records / seconds, 1),
        "batch_size": settings.batch_size,
        "job_interval_s": interval,
    }


def _alert_latencies(sim: SimulatorServer, suite: Suite, links: list[LoanLink]) -> list[float]:
    latencies = []
    with httpx.Client(base_url=sim.source_url("telematics"), timeout=10) as http:
        for link in links:
            assert link.chain_loan_id is not None
            started = time.perf_counter()
            response = http.post("/admin/scenarios", json={"scenario": "geofence_exit", "vin": link.vin})
            response.raise_for_status()
            deadline = started + 60
            while suite.collateral.get_loan(link.chain_loan_id).case_id == 0:
                if time.perf_counter() > deadline:
                    raise TimeoutError(f"no case on loan {link.chain_loan_id} 60 s after a geofence exit")
                time.sleep(0.002)
            latencies.append((time.perf_counter() - started) * 1000)
    return latencies


def _telematics_rate(sim: SimulatorServer, runtime: Runtime, hours: int) -> tuple[int, float]:
    feed = sim.simulation.feeds["telematics"]
    before = len(feed.events)
    started = time.perf_counter()
    sim.simulation.advance(hours * 3600)
    target = len(feed.events)
    deadline = started + 600
    while True:
        with Session(runtime.engine) as session:
            stored = session.exec(select(col(SourceRecord.id)).where(SourceRecord.source == "telematics")).all()
            waiting = session.exec(
                select(col(SourceRecord.id)).where(
                    SourceRecord.source == "telematics", col(SourceRecord.batch_row_id).is_(None)
                )
            ).all()
            pending = _pending_batches(session)
        if len(stored) >= target and not waiting and not pending:
            return target - before, time.perf_counter() - started
        if time.perf_counter() > deadline:
            raise TimeoutError(f"{len(stored)} of {target} readings stored, {len(waiting)} not batched after 600 s")
        time.sleep(0.02)


def _pending_batches(session: Session) -> int:
    return len(session.exec(select(col(AnchorBatch.id)).where(AnchorBatch.status == BatchStatus.PENDING)).all())
