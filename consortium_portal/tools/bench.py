"""``consortium bench verify``: how fast the portal answers "what does the chain say about this VIN?".

On a fresh Anvil node: the suite deployed, a bank, a dealer and an insurer admitted by vote, ``records`` attestations
about one vehicle (odometer inspections and insurance claims, some referring to others, one revoked) written through
the outbox and indexed; then the portal served by uvicorn in this process and ``clients`` client processes, each with
its own HTTP connection and the bank's session, asking ``GET /api/v1/vehicles/{vin}`` ``requests`` times in all.
Latency is per request as a client sees it; throughput is requests over the wall time of the run.
"""

from __future__ import annotations

import multiprocessing
import statistics
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount
from web3 import Web3

from consortium.serving import BackgroundServer
from consortium_portal.app import create_app
from consortium_portal.context import PortalContext
from consortium_portal.settings import PortalSettings
from node_adapter.artifacts import load_artifact
from node_adapter.clients import KindFlag, Role, Suite
from node_adapter.connection import connect
from node_adapter.dev.devchain import pass_proposal
from node_adapter.dev.localchain import LocalChain, free_port
from node_adapter.encoding import SaltedDocument, subject_id
from node_adapter.runtime import Runtime
from node_adapter.settings import NodeAdapterSettings

VIN = "LSVJETH80N5183294"
INSPECTION, CLAIM = 1, 2


def verify_report(*, records: int = 200, clients: int = 4, requests: int = 2000) -> dict[str, Any]:
    """Measure (see the module docstring)."""
    with tempfile.TemporaryDirectory(prefix="verify-bench-") as tmp, LocalChain(port=free_port()) as node:
        members = form_bench_consortium(node, Path(tmp), max_in_flight=500)
        node_settings, runtime, suite = members.settings, members.runtime, members.suite
        bank, dealer, insurer = members.bank, members.dealer, members.insurer
        key = node_settings.subject_key(runtime.connection.chain_id)
        _attest(runtime, suite, key, dealer=dealer, insurer=insurer, records=records)
        port = free_port()
        context = PortalContext.open(PortalSettings(port=port, member_rate=10**9, ip_rate=10**9), node_settings)
        context.indexer().sync()
        with BackgroundServer(create_app(context), port=port, name="portal") as server:
            token = _sign_in(server.url, bank)
            latencies, seconds = _load(server.url, token, clients=clients, requests=requests)
    ordered = sorted(latencies)
    return {
        "records": records,
        "clients": clients,
        "requests": requests,
        "verify_p50_ms": round(statistics.median(ordered), 2),
        "verify_p99_ms": round(ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))], 2),
        "verify_req_per_s": round(requests / seconds, 1),
    }


@dataclass(frozen=True)
class BenchConsortium:
    """A fresh dev node's suite with a bank, a dealer and an insurer admitted and two kinds registered."""

    settings: NodeAdapterSettings
    runtime: Runtime
    suite: Suite
    bank: LocalAccount
    dealer: LocalAccount
    insurer: LocalAccount


def form_bench_consortium(node: LocalChain, state_dir: Path, **settings: Any) -> BenchConsortium:
    """Deploy the suite on ``node`` (database and deployment record in ``state_dir``; more node settings in
    ``settings``) and admit its dev accounts 3, 4 and 5 as a bank, a dealer (``INSPECTION``, odometer readings) and an
    insurer (``CLAIM``) by a vote of the first three."""
    node_settings = NodeAdapterSettings(
        rpc_urls=[node.url], chain_id=node.chain_id, state_dir=state_dir, network="bench", **settings
    )
    runtime = Runtime.open(node_settings)
    deployment, _ = runtime.deploy()
    suite = Suite.from_deployment(runtime.connection, deployment)
    keys: list[LocalAccount] = [Account.from_key(a.private_key) for a in node.accounts]
    bank, dealer, insurer = keys[3], keys[4], keys[5]
    _form(connect(node.url), suite, keys[:3], bank=bank, dealer=dealer, insurer=insurer)
    return BenchConsortium(node_settings, runtime, suite, bank, dealer, insurer)


def _form(
    w3: Web3,
    suite: Suite,
    governors: list[LocalAccount],
    *,
    bank: LocalAccount,
    dealer: LocalAccount,
    insurer: LocalAccount,
) -> None:
    members = ((bank, Role.BANK), (dealer, Role.DEALER), (insurer, Role.INSURER))
    calls = [
        suite.membership.encode_admit_member(
            accounts=[a.address], roles=int(r), metadata_digest=Web3.keccak(text=a.address)
        )
        for a, r in members
    ]
    calls += [
        suite.registry.calldata(
            "registerKind", INSPECTION, Web3.keccak(text="inspection"), int(Role.DEALER), 10, int(KindFlag.ODOMETER)
        ),
        suite.registry.calldata("registerKind", CLAIM, Web3.keccak(text="claim"), int(Role.INSURER), 10, 0),
    ]
    targets = [suite.membership.address] * len(members) + [suite.registry.address] * 2
    membership = w3.eth.contract(address=suite.membership.address, abi=load_artifact("Membership").abi)
    pass_proposal(w3, membership, governors=governors, targets=targets, calldatas=calls, description="bench")


def _attest(
    runtime: Runtime, suite: Suite, key: bytes, *, dealer: LocalAccount, insurer: LocalAccount, records: int
) -> None:
    subject = subject_id(VIN, key)
    outbox = runtime.outbox
    inspections: list[str] = []
    for index in range(records):
        if index % 2 == 0:
            uid = "0x" + SaltedDocument.create({"inspection": index, "odometer_km": 1000 * index}).digest.hex()
            suite.registry.attest_reading(
                outbox,
                key=f"inspection-{index}",
                sender=dealer.address,
                subject=subject,
                kind=INSPECTION,
                digest=uid,
                reading=1000 * index,
            )
            inspections.append(uid)
        else:
            uid = "0x" + SaltedDocument.create({"claim": index}).digest.hex()
            suite.registry.attest(
                outbox,
                key=f"claim-{index}",
                sender=insurer.address,
                subject=subject,
                kind=CLAIM,
                digest=uid,
                ref=inspections[-1],
            )
    runtime.worker([dealer, insurer]).drain(timeout=600)
    suite.registry.revoke(outbox, key="revoke", sender=dealer.address, uid=inspections[0], reason=1)
    runtime.worker([dealer]).drain(timeout=60)


def _sign_in(url: str, account: LocalAccount) -> str:
    with httpx.Client(base_url=url, timeout=30) as http:
        message = http.post("/api/v1/auth/challenge", json={"address": account.address}).json()["message"]
        signature = "0x" + Account.sign_message(encode_defunct(text=message), account.key).signature.hex()
        session = http.post("/api/v1/auth/session", json={"message": message, "signature": signature})
        session.raise_for_status()
        token: str = session.json()["token"]
        return token


def _requests(url: str, token: str, count: int) -> list[float]:
    """One client: ``count`` verifications in a row over one connection; each one's latency in ms."""
    latencies = []
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30) as http:
        for _ in range(count):
            started = time.perf_counter()
            response = http.get(f"/api/v1/vehicles/{VIN}")
            latencies.append((time.perf_counter() - started) * 1000)
            if response.status_code != 200 or b'"attestations"' not in response.content:
                raise RuntimeError(f"verify answered {response.status_code}: {response.text[:200]}")
    return latencies


def _load(url: str, token: str, *, clients: int, requests: int) -> tuple[list[float], float]:
    """``clients`` processes (so the clients do not share the portal's interpreter) sending ``requests`` in all."""
    share = [requests // clients + (1 if i < requests % clients else 0) for i in range(clients)]
    with ProcessPoolExecutor(clients, mp_context=multiprocessing.get_context("spawn")) as pool:
        for warm in [pool.submit(_requests, url, token, 5) for _ in range(clients)]:
            warm.result()  # start every process and warm its connection: not counted
        started = time.perf_counter()
        runs = [pool.submit(_requests, url, token, count) for count in share]
        latencies = [latency for run in runs for latency in run.result()]
        return latencies, time.perf_counter() - started
