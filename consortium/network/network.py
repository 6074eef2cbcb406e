"""The network as a whole: open or create it in a state folder, bring every node up, take them down, say how each is.

:class:`CliqueNetwork` starts its nodes as children of the calling process (tests, ``consortium network up``);
:func:`network_status` asks each node over JSON-RPC, so it works from any process. ``consortium network up`` records
itself in ``run.json`` (:class:`RunFile`) so that ``consortium network down`` elsewhere can stop it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import time
import urllib.error
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from consortium.network import clique
from consortium.network.errors import NetworkError, NetworkRunningError, NetworkStateError
from consortium.network.layout import (
    DEFAULT_NODES,
    RUN_FILE,
    Member,
    NetworkPlan,
    Ports,
    create_network,
    load_plan,
)
from consortium.network.node import GethNode
from consortium.network.tool import require_geth
from node_adapter.dev.localchain import pid_alive, rpc_call
from node_adapter.exceptions import ChainError

logger = logging.getLogger(__name__)

_PROBE_ERRORS = (OSError, urllib.error.URLError, ValueError, ChainError)


@dataclass(frozen=True)
class NodeStatus:
    """How one member's node is, as its JSON-RPC says (``None``: it did not answer)."""

    name: str
    url: str
    address: str
    """The node's signer account."""
    running: bool
    block: int | None = None
    peers: int | None = None
    signer: bool | None = None
    """Whether its account is in the signer set at the head (``clique_getSigners``)."""
    sealing: bool | None = None
    """Whether the node is sealing blocks (``eth_mining``)."""
    error: str | None = None


def member_status(member: Member, timeout: float = 2.0) -> NodeStatus:
    """Ask ``member``'s node how it is."""
    try:
        block = int(rpc_call(member.url, "eth_blockNumber", timeout=timeout), 16)
        peers = int(rpc_call(member.url, "net_peerCount", timeout=timeout), 16)
        signers = {s.lower() for s in rpc_call(member.url, "clique_getSigners", timeout=timeout)}
        sealing = bool(rpc_call(member.url, "eth_mining", timeout=timeout))
    except _PROBE_ERRORS as exc:
        return NodeStatus(member.name, member.url, member.signer, running=False, error=str(exc) or type(exc).__name__)
    return NodeStatus(
        member.name, member.url, member.signer, True, block, peers, member.signer.lower() in signers, sealing
    )


def network_status(plan: NetworkPlan) -> list[NodeStatus]:
    """Every member's :class:`NodeStatus`, asked side by side."""
    with ThreadPoolExecutor(max_workers=len(plan.members)) as pool:
        return list(pool.map(member_status, plan.members))


def status_json(state_dir: Path, plan: NetworkPlan, statuses: list[NodeStatus]) -> dict[str, Any]:
    run = RunFile(state_dir).read()
    return {
        "state_dir": str(state_dir),
        "chain_id": plan.chain_id,
        "period": plan.period,
        "signers": plan.signers,
        "supervisor_pid": run["pid"] if run else None,
        "nodes": [asdict(s) for s in statuses],
    }


class CliqueNetwork:
    """The geth nodes of one state folder, started by this process. A context manager: ``with`` runs ``up``/``down``."""

    def __init__(self, state_dir: Path, plan: NetworkPlan, geth: Path, *, startup_timeout: float = 60.0) -> None:
        self.state_dir = state_dir
        self.plan = plan
        self.geth = geth
        self.nodes = [GethNode(plan, m, state_dir, geth, startup_timeout=startup_timeout) for m in plan.members]

    def __repr__(self) -> str:
        return f"CliqueNetwork({str(self.state_dir)!r}, nodes={len(self.nodes)}, chain_id={self.plan.chain_id})"

    @classmethod
    def open(
        cls,
        state_dir: Path,
        *,
        nodes: int | None = None,
        period: int | None = None,
        chain_id: int | None = None,
        ports: list[Ports] | None = None,
        scrypt_n: int | None = None,
        startup_timeout: float = 60.0,
    ) -> CliqueNetwork:
        """The network kept in ``state_dir``, created there first if there is none (then ``nodes``, ``period``,
        ``chain_id`` and ``ports`` shape it; given for an existing network, they must be what it was created with)."""
        geth = require_geth()
        state_dir = state_dir.expanduser().resolve()  # absolute: processes are found by their data folder
        plan = load_plan(state_dir)
        if plan is None:
            extra: dict[str, Any] = {} if scrypt_n is None else {"scrypt_n": scrypt_n}
            plan = create_network(
                state_dir,
                nodes=nodes or DEFAULT_NODES,
                period=period or clique.DEFAULT_PERIOD,
                chain_id=chain_id or clique.DEFAULT_CHAIN_ID,
                ports=ports,
                **extra,
            )
        else:
            _check_same(state_dir, plan, nodes=nodes, period=period, chain_id=chain_id)
        return cls(state_dir, plan, geth, startup_timeout=startup_timeout)

    def node(self, name: str) -> GethNode:
        for node in self.nodes:
            if node.name == name:
                return node
        raise NetworkStateError(f"the network has no member {name!r} (it has {[n.name for n in self.nodes]})")

    @property
    def urls(self) -> list[str]:
        return self.plan.urls

    def up(self, *, peer_timeout: float = 30.0) -> Self:
        """Start every node that is not running (``geth init`` on a first start), wait until each answers and is
        connected to every other running node. Raises before starting anything when one of their ports is taken."""
        todo = [n for n in self.nodes if not n.is_running()]
        for node in todo:
            node.ensure_ports_free()
        try:
            for node in todo:
                node.launch()
            for node in todo:
                node.wait_ready()
            self.wait_peered(timeout=peer_timeout)
        except BaseException:
            for node in todo:
                node.signal_stop()
            for node in todo:
                node.stop()
            raise
        return self

    def start(self, name: str, *, peer_timeout: float = 30.0) -> GethNode:
        """(Re)start one member's node from its data folder and wait until it is connected to the running others."""
        node = self.node(name).start()
        self.wait_peered(timeout=peer_timeout)
        return node

    def running(self) -> list[GethNode]:
        return [n for n in self.nodes if n.is_running()]

    def wait_peered(self, *, timeout: float = 30.0) -> None:
        """Wait until every running node has every other running node as a peer (static peering dials them)."""
        deadline = time.monotonic() + timeout
        while True:
            running = self.running()
            counts = {n.name: _peer_count(n) for n in running}
            if all(c is not None and c >= len(running) - 1 for c in counts.values()):
                return
            if time.monotonic() > deadline:
                raise NetworkError(
                    f"the nodes did not connect to each other within {timeout:.0f} s (peers: {counts}); "
                    f"their logs are in {self.state_dir / 'members'}"
                )
            time.sleep(0.2)

    def wait_new_block(self, *, since: int | None = None, timeout: float = 60.0) -> int:
        """Wait until a running node reports a head above ``since`` (default: the highest head now); return it."""
        heads = [h for h in (_head_of(n) for n in self.running()) if h is not None]
        floor = since if since is not None else max(heads, default=0)
        deadline = time.monotonic() + timeout
        while True:
            heads = [h for h in (_head_of(n) for n in self.running()) if h is not None]
            if heads and max(heads) > floor:
                return max(heads)
            if time.monotonic() > deadline:
                raise NetworkError(
                    f"no block above {floor} within {timeout:.0f} s (heads: {heads}); "
                    f"the nodes' logs are in {self.state_dir / 'members'}"
                )
            time.sleep(0.1)

    def down(self, timeout: float = 30.0) -> None:
        """Stop every node this object started, side by side (SIGTERM, then SIGKILL after ``timeout``)."""
        for node in self.nodes:
            node.signal_stop()
        for node in self.nodes:
            node.stop(timeout=timeout)

    def status(self) -> list[NodeStatus]:
        return network_status(self.plan)

    def __enter__(self) -> Self:
        return self.up()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.down()


def _head_of(node: GethNode) -> int | None:
    try:
        return int(node.rpc("eth_blockNumber", timeout=2.0), 16)
    except _PROBE_ERRORS:
        return None


def _peer_count(node: GethNode) -> int | None:
    try:
        return int(node.rpc("net_peerCount", timeout=2.0), 16)
    except _PROBE_ERRORS:
        return None


def _check_same(
    state_dir: Path, plan: NetworkPlan, *, nodes: int | None, period: int | None, chain_id: int | None
) -> None:
    asked = {"nodes": nodes, "period": period, "chain id": chain_id}
    kept = {"nodes": len(plan.members), "period": plan.period, "chain id": plan.chain_id}
    differ = [f"{k} {asked[k]} (it has {kept[k]})" for k in asked if asked[k] is not None and asked[k] != kept[k]]
    if differ:
        raise NetworkStateError(
            f"{state_dir} holds a network created with other settings: asked for {', '.join(differ)}; "
            "leave them out to run it as it is, or start a new one (--fresh, or another --state-dir)"
        )


# ---------------------------------------------------------------------------------------------------- processes


class RunFile:
    """``<state_dir>/run.json``: the ``consortium network up`` process of this state folder and its nodes' pids."""

    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / RUN_FILE

    def read(self) -> dict[str, Any] | None:
        """The recorded run, if one is recorded and its process is alive."""
        try:
            run: dict[str, Any] = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return None
        return run if isinstance(run.get("pid"), int) and pid_alive(run["pid"]) else None

    def ensure_none_running(self) -> None:
        run = self.read()
        if run is not None:
            raise NetworkRunningError(
                f"the network of {self.path.parent} is already running (`consortium network up`, pid {run['pid']}); "
                "use it, or stop it with `consortium network down` (or Ctrl-C where it runs)"
            )

    @contextlib.contextmanager
    def record(self, network: CliqueNetwork) -> Any:
        """Record this process and ``network``'s nodes for the duration of the block."""
        run = {"pid": os.getpid(), "started_at": time.time(), "nodes": {n.name: n.pid for n in network.nodes}}
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(run))
        tmp.replace(self.path)
        try:
            yield run
        finally:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()


def geth_processes(state_dir: Path) -> list[int]:
    """Live processes (Linux: read from /proc) whose command line holds a data folder of ``state_dir``'s members."""
    marker = str(state_dir.resolve() / "members").encode()
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if b"--datadir" in cmdline and marker in cmdline and pid_alive(int(entry.name)):
            found.append(int(entry.name))
    return sorted(found)


def stop_processes(pids: list[int], timeout: float = 30.0) -> None:
    """SIGTERM each of ``pids``, wait until they are gone, SIGKILL those left after ``timeout``."""
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while any(pid_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.2)
    for pid in pids:
        if pid_alive(pid):
            logger.warning("pid %d did not stop within %.0f s; killing it", pid, timeout)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def stop_network(state_dir: Path, timeout: float = 60.0) -> list[str]:
    """Stop the network of ``state_dir`` from any process: its ``consortium network up`` first (it stops its nodes in
    order), then any geth process left with a data folder there. Says what it stopped."""
    state_dir = state_dir.expanduser().resolve()
    run_file = RunFile(state_dir)
    stopped = []
    run = run_file.read()
    if run is not None:
        os.kill(run["pid"], signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while run_file.path.exists() and pid_alive(run["pid"]) and time.monotonic() < deadline:
            time.sleep(0.2)
        if pid_alive(run["pid"]) and run_file.path.exists():
            raise NetworkError(f"`consortium network up` (pid {run['pid']}) did not stop within {timeout:.0f} s")
        stopped.append(f"consortium network up (pid {run['pid']})")
    left = geth_processes(state_dir)
    if left:
        stop_processes(left, timeout=timeout / 2)
        stopped += [f"geth (pid {pid})" for pid in left]
    return stopped
