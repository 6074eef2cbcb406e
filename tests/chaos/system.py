"""The whole system as ``make up`` wires it, on parts a fault can break: a chain node of its own (stopped and started
at will), the oracle and its simulators, the portal serving the same deployment and database over real HTTP, and
traffic through both while a fault strikes.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_account.signers.local import LocalAccount
from sqlmodel import Session, select
from web3 import Web3

from consortium.serving import BackgroundServer
from consortium_portal.app import create_app
from consortium_portal.context import PortalContext
from consortium_portal.settings import PortalSettings
from consortium_portal.tools.devsetup import register_dev_kinds
from node_adapter.artifacts import load_artifact
from node_adapter.clients import Role
from node_adapter.connection import connect
from node_adapter.dev.devchain import pass_proposal
from node_adapter.dev.localchain import DEV_MNEMONIC, LocalChain, dev_accounts, free_port
from node_adapter.settings import NodeAdapterSettings
from oracle.store import LoanLink
from oracle.tools.devsetup import DEV_SIGNERS
from tests.oracle.conftest import OracleRig, make_rig, oracle_settled, wait_for
from tests.portal.conftest import sign_in

SCALES: dict[str, dict[str, int]] = {
    "short": {"hours": 1, "attestations": 3, "repeats": 1, "reorg_depth": 2},
    "full": {"hours": 4, "attestations": 12, "repeats": 3, "reorg_depth": 4},
}
"""How hard each fault is driven: ``CHAOS_SCALE=short`` (``make test``, CI) or ``full`` (``make chaos``)."""


@dataclass(frozen=True)
class Scale:
    name: str
    hours: int
    """Simulated hours of T-Box readings waiting for the oracle when a fault strikes."""
    attestations: int
    """Records a dealer attests through the portal during a fault."""
    repeats: int
    """How often the fault strikes (node and database restarts, reorgs, clock jumps)."""
    reorg_depth: int
    """Blocks a reorg replaces."""

    @classmethod
    def from_env(cls) -> Scale:
        name = os.environ.get("CHAOS_SCALE", "short")
        if name not in SCALES:
            raise ValueError(f"CHAOS_SCALE must be one of {', '.join(SCALES)}, not {name!r}")
        return cls(name, **SCALES[name])


INSPECTED = {"inspected_on": "2026-11-01", "result": "pass", "inspector": "chaos suite"}


@dataclass
class System:
    node: LocalChain
    rig: OracleRig
    portal_url: str
    settings: NodeAdapterSettings
    dealer: LocalAccount
    bank: LocalAccount
    vins: list[str]
    """Financed vehicles (a bank lends on them) the dealer attests about."""
    tmp: Path

    @property
    def w3(self) -> Web3:
        return connect(self.node.url, expected_chain_id=self.node.chain_id)

    @contextmanager
    def load(self, scale: Scale, *, oracle: bool = True) -> Iterator[PortalTraffic]:
        """Traffic while the block runs: the oracle's jobs in this process reading ever newer simulator data (unless
        ``oracle`` is false: a test runs it elsewhere), and a dealer attesting through the portal. Afterwards every
        attestation has an answer, the oracle has caught up with its sources, and the oracle is stopped."""
        stop = threading.Event()
        traffic = PortalTraffic(self.portal_url, self.dealer, self.vins, scale.attestations)
        feeder = threading.Thread(target=self._feed, args=(stop,), name="chaos-simulators", daemon=True)
        if oracle:
            self.rig.service.start()
            feeder.start()
        traffic.start()
        try:
            yield traffic
        finally:
            stop.set()
            if feeder.is_alive():
                feeder.join(30)
            traffic.join(300)
        try:
            if oracle:
                wait_for(lambda: oracle_settled(self.rig), 300, "the oracle to catch up")
        finally:
            if oracle:
                self.rig.service.stop()
        assert not traffic.is_alive(), "the portal traffic did not finish"
        assert traffic.failure is None, traffic.failure

    def _feed(self, stop: threading.Event) -> None:
        """Move the simulators' clock on: new readings, payments and prices keep arriving."""
        while not stop.wait(0.3):
            try:
                self.rig.advance(300)
            except (httpx.HTTPError, AssertionError):  # the simulators are not the fault under test
                continue


class PortalTraffic(threading.Thread):
    """A dealer attesting inspections through the portal over HTTP, one after another: prepare, sign, relay, and wait
    for the portal to say confirmed. A 503 or 507 (the chain or the database away) is retried; anything else
    unexpected ends the traffic with ``failure`` set."""

    def __init__(self, url: str, dealer: LocalAccount, vins: list[str], count: int) -> None:
        super().__init__(name="chaos-portal-traffic", daemon=True)
        self.url = url
        self.dealer = dealer
        self.vins = vins
        self.count = count
        self.accepted: list[dict[str, Any]] = []
        """Prepared records whose relay the portal accepted."""
        self.answers: dict[int, int] = {}
        """How often the portal answered each status."""
        self.failure: str | None = None

    def run(self) -> None:
        try:
            token = self._retry(lambda: sign_in(self.url, self.dealer))
            with httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {token}"}, timeout=30) as http:
                for index in range(self.count):
                    self._attest(http, index)
        except Exception as exc:  # reported to the test through ``failure``
            self.failure = f"{type(exc).__name__}: {exc}"

    def _attest(self, http: httpx.Client, index: int) -> None:
        record = {**INSPECTED, "odometer_km": 40_000 + 100 * index}
        body = {"vin": self.vins[index % len(self.vins)], "kind": 1, "record": record}
        prepared = self._call(lambda: http.post("/api/v1/attestations", json=body), 201)
        signed = Account.sign_message(encode_typed_data(full_message=prepared["typed_data"]), self.dealer.key)
        signature = {"signature": "0x" + signed.signature.hex()}
        relayed = self._call(lambda: http.post(f"/api/v1/attestations/{prepared['id']}/signature", json=signature), 200)
        assert relayed["status"] in ("relayed", "confirmed"), relayed
        self.accepted.append(prepared)
        deadline = time.monotonic() + 240
        while True:
            status = self._call(lambda: http.get(f"/api/v1/attestations/{prepared['id']}"), 200)
            if status["status"] == "confirmed":
                return
            assert status["status"] == "relayed", f"accepted attestation {prepared['id']} ended {status}"
            assert time.monotonic() < deadline, f"attestation {prepared['id']} not confirmed in 240 s"
            time.sleep(0.2)

    def _call(self, request: Any, expected: int) -> dict[str, Any]:
        def once() -> dict[str, Any]:
            response: httpx.Response = request()
            self.answers[response.status_code] = self.answers.get(response.status_code, 0) + 1
            if response.status_code in (503, 507):
                raise _Unavailable(response.text)
            assert response.status_code == expected, (response.status_code, response.text)
            result: dict[str, Any] = response.json()
            return result

        return self._retry(once)

    @staticmethod
    def _retry(call: Any, timeout: float = 240) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            try:
                return call()
            except (_Unavailable, httpx.TransportError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)


class _Unavailable(Exception):
    """The portal answered that the chain or the database is away for now."""


def make_system(
    tmp_path: Path,
    *,
    database_url: str | None = None,
    block_time: float | None = None,
    confirmations: int = 0,
    batch_size: int = 100,
) -> Iterator[System]:
    """Start a chain node, deploy, run the oracle's setup and serve the portal; stop everything afterwards."""
    node = LocalChain(port=free_port(), state_dir=tmp_path / "chain", block_time=block_time)
    node.start()
    try:
        w3 = connect(node.url, expected_chain_id=node.chain_id)
        adapter = {"confirmations": confirmations, "resend_after": 1.0}
        rigs = make_rig(node, w3, tmp_path, db_url=database_url, adapter=adapter, batch_size=batch_size)
        rig = next(rigs)
        try:
            yield from _with_portal(node, rig, tmp_path)
        finally:
            rigs.close()
    finally:
        node.stop()


def _with_portal(node: LocalChain, rig: OracleRig, tmp_path: Path) -> Iterator[System]:
    settings = rig.runtime.settings
    port = free_port()
    context = PortalContext.open(PortalSettings(port=port, index_interval=0.2), settings)
    register_dev_kinds(context.connection, context.suite)
    context.start_background()
    server = BackgroundServer(create_app(context), host="127.0.0.1", port=port, name="portal")
    try:
        server.start()
        keys = [Account.from_key(a.private_key) for a in dev_accounts(10, DEV_MNEMONIC)]
        dealer: LocalAccount = Account.create()
        _admit(rig, keys[:3], dealer, Role.DEALER)
        rig.service.settle()  # loans registered and their liens confirmed
        with Session(rig.engine) as session:
            links = session.exec(select(LoanLink).where(LoanLink.chain_loan_id != None)).all()  # noqa: E711
        vins = sorted(link.vin for link in links)
        assert vins, "the simulated bank financed no vehicle"
        yield System(node, rig, f"http://127.0.0.1:{port}", settings, dealer, keys[DEV_SIGNERS["bank"]], vins, tmp_path)
    finally:
        server.stop()
        context.stop_background()


def _admit(rig: OracleRig, governors: list[LocalAccount], account: LocalAccount, role: Role) -> None:
    suite = rig.suite
    call = suite.membership.encode_admit_member(
        accounts=[account.address], roles=int(role), metadata_digest=Web3.keccak(text=account.address)
    )
    membership = rig.w3.eth.contract(address=suite.membership.address, abi=load_artifact("Membership").abi)
    pass_proposal(rig.w3, membership, governors=governors, targets=[suite.membership.address], calldatas=[call],
                  description=f"admit {account.address}")  # fmt: skip
