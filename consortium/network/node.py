"""One member's geth node as a process: initialise its chain, start it, wait until it answers, stop it.

Like :class:`node_adapter.dev.localchain.LocalChain`, a :class:`GethNode` refuses a port that is taken (naming it),
waits until the node answers JSON-RPC with the network's chain id, and never leaves an orphan behind: it is stopped
on :meth:`GethNode.stop` (SIGTERM, so geth writes its state; SIGKILL after a timeout), on interpreter exit, and (on
Linux) by the kernel when the process that started it dies. :meth:`GethNode.kill` is the fault: SIGKILL at once.
"""

from __future__ import annotations

import atexit
import logging
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any, Self

import tomli_w

from consortium.network.errors import NetworkError
from consortium.network.layout import GENESIS_FILE, HOST, Member, MemberFolder, NetworkPlan, folder_of, node_config
from node_adapter.dev.localchain import die_with_parent, port_is_free, rpc_call, wait_until_answering
from node_adapter.exceptions import ChainAlreadyRunningError, PortInUseError

logger = logging.getLogger(__name__)

RPC_APIS = "eth,net,web3,clique,admin,txpool"
CACHE_MB = 128
"""geth's cache per node (its default, 1 GB, is for mainnet; several nodes share one machine here)."""

_live_nodes: set[GethNode] = set()


class GethNode:
    """The geth process of one member of ``plan``, with its folder under ``state_dir``."""

    def __init__(
        self, plan: NetworkPlan, member: Member, state_dir: Path, geth: Path, *, startup_timeout: float = 60.0
    ) -> None:
        self.plan = plan
        self.member = member
        self.state_dir = state_dir
        self.folder: MemberFolder = folder_of(state_dir, member.name)
        self.geth = geth
        self.startup_timeout = startup_timeout
        self._process: subprocess.Popen[bytes] | None = None
        self._signalled = False

    def __repr__(self) -> str:
        return f"GethNode({self.member.name!r}, url={self.url!r}, pid={self.pid})"

    @property
    def name(self) -> str:
        return self.member.name

    @property
    def url(self) -> str:
        return self.member.url

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def is_running(self) -> bool:
        """Whether the geth process this object started is alive."""
        return self._process is not None and self._process.poll() is None

    def command(self) -> list[str]:
        """The command line that runs the node (its signer unlocked for sealing: loopback HTTP only)."""
        ports, folder, signer = self.member.ports, self.folder, self.member.signer
        return [
            str(self.geth),
            "--datadir", str(folder.data_dir),
            "--config", str(folder.config_file),
            "--networkid", str(self.plan.chain_id),
            "--syncmode", "full",
            "--gcmode", "archive",  # every block's state on disk: a killed node restarts where it was
            "--cache", str(CACHE_MB),
            "--nodekey", str(folder.node_key_file),
            "--nodiscover",
            "--nat", "none",
            "--netrestrict", "127.0.0.0/8",
            "--ipcdisable",
            "--http",
            "--http.addr", HOST,
            "--http.port", str(ports.rpc),
            "--http.api", RPC_APIS,
            "--http.vhosts", f"localhost,{HOST}",
            "--authrpc.addr", HOST,
            "--authrpc.port", str(ports.auth),
            "--keystore", str(folder.keystore_dir),
            "--unlock", signer,
            "--password", str(folder.password_file),
            "--allow-insecure-unlock",  # geth's guard for unlocking with HTTP on; HTTP listens on loopback only
            "--mine",
            "--miner.etherbase", signer,
        ]  # fmt: skip

    def _environment(self) -> dict[str, str]:
        # geth reads GETH_<FLAG> variables as flags: none of the caller's may change the node's command line.
        return {k: v for k, v in os.environ.items() if not k.startswith("GETH_")}

    def ensure_ports_free(self) -> None:
        """Raise :class:`PortInUseError`, naming the port, when the node could not listen on one of its ports."""
        ports = self.member.ports
        for what, port in (("JSON-RPC", ports.rpc), ("p2p", ports.p2p), ("engine API", ports.auth)):
            if not port_is_free(HOST, port):
                raise PortInUseError(
                    f"port {port} on {HOST} ({what} of {self.name}) is already in use, so geth cannot listen there; "
                    "stop whatever holds it, or create the network with other ports"
                )

    def init_chain(self) -> bool:
        """``geth init`` the data folder with the network's genesis unless it holds a chain; whether it ran."""
        if self.folder.initialised():
            return False
        result = subprocess.run(
            [str(self.geth), "--datadir", str(self.folder.data_dir), "init", str(self.state_dir / GENESIS_FILE)],
            capture_output=True,
            text=True,
            timeout=120,
            env=self._environment(),
            check=False,
        )
        with self.folder.log_file.open("a") as log:
            log.write(result.stdout + result.stderr)
        if result.returncode != 0:
            tail = "\n".join((result.stdout + result.stderr).splitlines()[-10:])
            raise NetworkError(f"geth init of {self.name} failed (exit {result.returncode}):\n{tail}")
        return True

    def launch(self) -> None:
        """Start the process without waiting for it (see :meth:`wait_ready`)."""
        if self.is_running():
            raise ChainAlreadyRunningError(f"{self.name}'s node already runs at {self.url} (pid {self.pid})")
        self.ensure_ports_free()
        self.init_chain()
        self.folder.config_file.write_text(tomli_w.dumps(node_config(self.plan, self.member)))
        with self.folder.log_file.open("ab") as log:
            self._process = subprocess.Popen(
                self.command(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self._environment(),
                start_new_session=True,  # a terminal's Ctrl-C reaches us; we stop the nodes in order
                preexec_fn=die_with_parent if sys.platform.startswith("linux") else None,  # noqa: PLW1509
            )
        self._signalled = False
        _live_nodes.add(self)

    def wait_ready(self) -> None:
        """Wait until the node answers with the network's chain id; stop it and raise if it does not."""
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        logger.info("%s's geth started", self.name, extra={"url": self.url, "pid": self.pid})

    def start(self) -> Self:
        """Start the node and wait until it answers."""
        self.launch()
        self.wait_ready()
        return self

    def _wait_ready(self) -> None:
        wait_until_answering(
            self._process,
            self.url,
            self.plan.chain_id,
            timeout=self.startup_timeout,
            name=f"{self.name}'s geth",
            log_tail=lambda: f"its log ({self.folder.log_file}):\n{self.log_tail()}",
            error=NetworkError,
        )

    def log_tail(self, lines: int = 20) -> str:
        """The last lines geth printed."""
        try:
            text = self.folder.log_file.read_text(errors="replace")
        except OSError:
            return "(no output)"
        return "\n".join(text.splitlines()[-lines:]) or "(no output)"

    def signal_stop(self) -> None:
        """Ask the node to stop (SIGTERM) without waiting; :meth:`stop` waits."""
        if self.is_running() and not self._signalled:
            assert self._process is not None
            self._process.send_signal(signal.SIGTERM)
            self._signalled = True

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the node (SIGTERM, so geth writes its state; SIGKILL after ``timeout``). Safe to call twice."""
        process, self._process = self._process, None
        _live_nodes.discard(self)
        if process is None:
            return
        if process.poll() is None and not self._signalled:  # geth counts further signals towards a panic
            process.send_signal(signal.SIGTERM)
        try:
            code = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            logger.warning("%s's geth did not stop within %.0f s; killing it", self.name, timeout)
            process.kill()
            code = process.wait()
        logger.info("%s's geth stopped (exit %s)", self.name, code, extra={"url": self.url})

    def kill(self) -> None:
        """The fault: SIGKILL, no chance to write anything. The data folder stays; :meth:`start` restarts from it."""
        process, self._process = self._process, None
        _live_nodes.discard(self)
        if process is not None and process.poll() is None:
            process.kill()
            process.wait()
            logger.info("%s's geth killed", self.name, extra={"url": self.url})

    def rpc(self, method: str, params: list[Any] | None = None, timeout: float = 5.0) -> Any:
        """One JSON-RPC call to this node."""
        return rpc_call(self.url, method, params, timeout=timeout)


@atexit.register
def _stop_all() -> None:
    nodes = list(_live_nodes)
    for node in nodes:
        node.signal_stop()
    for node in nodes:
        node.stop()
