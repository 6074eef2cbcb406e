"""Local development chains: start, wait for, and stop an Anvil (default) or Ganache node.

A :class:`LocalChain` owns one node process. It refuses a port that is taken, waits until the node answers JSON-RPC,
exposes the URL and the funded dev accounts (derived from a public test mnemonic: never use them on a real network),
optionally keeps the chain's state in a directory between runs, and never leaves an orphan behind: the node is stopped
on ``stop()``, on interpreter exit, and (on Linux) by the kernel when the process that started it dies.

``RunFile`` records a chain started by ``consortium chain up`` so a second start can say where the first one runs.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from functools import cached_property
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Self

from eth_account import Account

from node_adapter.exceptions import ChainAlreadyRunningError, ChainError, PortInUseError
from node_adapter.toolchain import foundry_bin, npm_bin, require_node

logger = logging.getLogger(__name__)

Backend = Literal["anvil", "ganache"]

DEV_MNEMONIC = "test test test test test test test test test test test junk"
"""The well-known Foundry/Hardhat test mnemonic. Public: its keys hold value on no real network."""

DEFAULT_CHAIN_IDS: dict[str, int] = {"anvil": 31337, "ganache": 1337}
DEFAULT_BALANCE_ETH = 10_000

_PR_SET_PDEATHSIG = 1
_live_chains: set[LocalChain] = set()


@dataclass(frozen=True)
class DevAccount:
    """A funded account of a local chain, with its private key (dev chains only)."""

    address: str
    private_key: str


def dev_accounts(count: int, mnemonic: str = DEV_MNEMONIC) -> list[DevAccount]:
    """The first ``count`` accounts of ``mnemonic`` on the standard path ``m/44'/60'/0'/0/i``."""
    Account.enable_unaudited_hdwallet_features()
    accounts = []
    for index in range(count):
        acct = Account.from_mnemonic(mnemonic, account_path=f"m/44'/60'/0'/0/{index}")
        accounts.append(DevAccount(address=acct.address, private_key="0x" + bytes(acct.key).hex()))
    return accounts


def port_is_free(host: str, port: int) -> bool:
    """Whether a TCP listener could bind ``host:port`` now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # As servers do: connections of a stopped node lingering in TIME_WAIT do not hold the port.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free at the time of the call."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def rpc_call(url: str, method: str, params: list[Any] | None = None, timeout: float = 5.0) -> Any:
    """One JSON-RPC call over HTTP, without web3 (used to probe nodes)."""
    if not url.startswith(("http://", "https://")):
        raise ChainError(f"a node URL must start with http:// or https://, not {url!r}")
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []}).encode()
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})  # noqa: S310
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (scheme checked above)
        reply = json.loads(response.read())
    if "error" in reply:
        raise ChainError(f"{method} failed at {url}: {reply['error']}")
    return reply["result"]


def _load_libc() -> Any:
    try:
        return ctypes.CDLL("libc.so.6", use_errno=True)
    except OSError:  # not Linux: the atexit handler still stops the node on a normal exit
        return None


_LIBC = _load_libc() if sys.platform.startswith("linux") else None
"""Loaded once in the parent: a child between fork and exec should do as little as possible."""


def die_with_parent() -> None:
    """Runs in a child before exec: ask the kernel for SIGTERM when the parent dies (Linux only)."""
    if _LIBC is not None:
        _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class LocalChain:
    """One local node process. Use as a context manager, or call :meth:`start` and :meth:`stop`."""

    backend: Backend = "anvil"
    host: str = "127.0.0.1"
    port: int = 8545
    chain_id: int | None = None
    accounts_count: int = 10
    mnemonic: str = DEV_MNEMONIC
    block_time: float | None = None
    """Seconds between blocks (interval mining); ``None`` mines one block per transaction."""
    state_dir: Path | None = None
    """Where the chain's state is kept between runs; ``None`` starts from genesis every time."""
    startup_timeout: float = 30.0
    extra_args: tuple[str, ...] = ()
    """More command-line arguments for the node (e.g. Anvil's ``--base-fee 0 --gas-price 0`` for a free-gas chain)."""
    _process: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)
    _log_path: Path | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.backend not in DEFAULT_CHAIN_IDS:
            raise ChainError(f"unknown local chain backend {self.backend!r}; choose anvil or ganache")
        if self.chain_id is None:
            self.chain_id = DEFAULT_CHAIN_IDS[self.backend]

    def __hash__(self) -> int:
        return id(self)

    @property
    def url(self) -> str:
        """The node's HTTP JSON-RPC URL."""
        return f"http://{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        """The node's process id while it runs."""
        return self._process.pid if self._process is not None else None

    @property
    def log_path(self) -> Path | None:
        """The file the node's output goes to."""
        return self._log_path

    @cached_property
    def accounts(self) -> list[DevAccount]:
        """The funded dev accounts, in the node's order."""
        return dev_accounts(self.accounts_count, self.mnemonic)

    def is_running(self) -> bool:
        """Whether the node process is alive."""
        return self._process is not None and self._process.poll() is None

    def command(self) -> list[str]:
        """The command line that starts the node."""
        if self.backend == "anvil":
            cmd = [
                str(foundry_bin("anvil")),
                "--host", self.host,
                "--port", str(self.port),
                "--chain-id", str(self.chain_id),
                "--accounts", str(self.accounts_count),
                "--mnemonic", self.mnemonic,
                "--balance", str(DEFAULT_BALANCE_ETH),
            ]  # fmt: skip
            if self.block_time is not None:
                cmd += ["--block-time", str(self.block_time)]
            if self.state_dir is not None:
                cmd += ["--state", str(self.state_dir / "anvil-state.json"), "--state-interval", "5"]
            return [*cmd, *self.extra_args]
        cmd = [
            require_node(),
            str(npm_bin("ganache").resolve()),
            "--server.host", self.host,
            "--server.port", str(self.port),
            "--chain.chainId", str(self.chain_id),
            "--wallet.mnemonic", self.mnemonic,
            "--wallet.totalAccounts", str(self.accounts_count),
            "--wallet.defaultBalance", str(DEFAULT_BALANCE_ETH),
            "--logging.quiet",
        ]  # fmt: skip
        if self.block_time is not None:
            cmd += ["--miner.blockTime", str(self.block_time)]
        if self.state_dir is not None:
            cmd += ["--database.dbPath", str(self.state_dir / "ganache-db")]
        return [*cmd, *self.extra_args]

    def ensure_port_free(self) -> None:
        """Raise :class:`PortInUseError`, naming the port, when the node could not listen on it."""
        if not port_is_free(self.host, self.port):
            raise PortInUseError(
                f"port {self.port} on {self.host} is already in use, so {self.backend} cannot listen there; "
                "stop whatever holds it or choose another port (--port)"
            )

    def start(self) -> Self:
        """Start the node and wait until it answers; raises :class:`PortInUseError` if the port is taken."""
        if self.is_running():
            raise ChainAlreadyRunningError(f"this {self.backend} node already runs at {self.url} (pid {self.pid})")
        self.ensure_port_free()
        cmd = self.command()
        if self.state_dir is not None:
            self.state_dir.mkdir(parents=True, exist_ok=True)
            self._log_path = self.state_dir / f"{self.backend}.log"
        else:
            fd, name = tempfile.mkstemp(prefix=f"{self.backend}-", suffix=".log")
            os.close(fd)
            self._log_path = Path(name)
        with self._log_path.open("ab") as log:
            self._process = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a terminal's Ctrl-C reaches us; we stop the node in order
                preexec_fn=die_with_parent if sys.platform.startswith("linux") else None,  # noqa: PLW1509
            )
        _live_chains.add(self)
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        logger.info("%s node started", self.backend, extra={"url": self.url, "pid": self.pid})
        return self

    def _wait_ready(self) -> None:
        wait_until_answering(
            self._process,
            self.url,
            self.chain_id,
            timeout=self.startup_timeout,
            name=self.backend,
            log_tail=lambda: f"its output:\n{self.log_tail()}",
            error=ChainError,
        )

    def log_tail(self, lines: int = 20) -> str:
        """The last lines the node printed."""
        if self._log_path is None or not self._log_path.exists():
            return "(no output)"
        return "\n".join(self._log_path.read_text(errors="replace").splitlines()[-lines:]) or "(no output)"

    def stop(self, timeout: float = 15.0) -> None:
        """Stop the node (SIGTERM, so it can write its state; SIGKILL after ``timeout``). Safe to call twice."""
        process, self._process = self._process, None
        _live_chains.discard(self)
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            logger.warning("%s did not stop within %.0f s; killing it", self.backend, timeout)
            process.kill()
            process.wait()
        logger.info("%s node stopped", self.backend, extra={"url": self.url})

    def rpc(self, method: str, params: list[Any] | None = None) -> Any:
        """One JSON-RPC call to this node."""
        return rpc_call(self.url, method, params)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


@atexit.register
def _stop_all() -> None:
    for chain in list(_live_chains):
        chain.stop()


@dataclass(frozen=True)
class RunInfo:
    """What ``consortium chain up`` records about the chain it runs."""

    pid: int
    url: str
    backend: str
    chain_id: int
    started_at: float


class RunFile:
    """``<state_dir>/chain.json``: the chain started by ``consortium chain up`` from this state directory."""

    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / "chain.json"

    def read(self) -> RunInfo | None:
        """The recorded chain, if one is recorded and its process is alive and answering."""
        try:
            info = RunInfo(**json.loads(self.path.read_text()))
        except (OSError, ValueError, TypeError):
            return None
        if not pid_alive(info.pid):
            return None
        try:
            rpc_call(info.url, "eth_chainId", timeout=2.0)
        except (OSError, urllib.error.URLError, ChainError):
            return None
        return info

    def ensure_none_running(self) -> None:
        """Raise :class:`ChainAlreadyRunningError`, saying where, if a recorded chain runs."""
        running = self.read()
        if running is not None:
            raise ChainAlreadyRunningError(
                f"a local {running.backend} chain is already running at {running.url} (pid {running.pid}); "
                "use it, or stop it with `make down` (or Ctrl-C where it runs) before starting another"
            )

    @contextlib.contextmanager
    def record(self, chain: LocalChain, supervisor_pid: int) -> Iterator[RunInfo]:
        """Record the started ``chain`` (supervised by ``supervisor_pid``) for the duration of the block."""
        assert chain.chain_id is not None
        info = RunInfo(supervisor_pid, chain.url, chain.backend, chain.chain_id, time.time())
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(info)))
        tmp.replace(self.path)
        try:
            yield info
        finally:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` runs (a zombie, exited but not reaped by its parent yet, does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return _proc_state(pid) not in {"Z", "X"}


def _proc_state(pid: int) -> str:
    """The state letter ``/proc/<pid>/stat`` gives (Linux; empty elsewhere or once it is gone)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return ""


def wait_until_answering(
    process: subprocess.Popen[bytes] | None,
    url: str,
    chain_id: int | None,
    *,
    timeout: float,
    name: str,
    log_tail: Callable[[], str],
    error: type[Exception],
) -> None:
    """Wait until the node ``process`` started answers JSON-RPC at ``url`` with ``chain_id``; raise ``error`` (with
    ``log_tail()``) if it exits first, does not answer within ``timeout`` seconds, or reports another chain id."""
    deadline = time.monotonic() + timeout
    while True:
        assert process is not None
        if process.poll() is not None:
            raise error(f"{name} exited with code {process.returncode} while starting; {log_tail()}")
        try:
            reported = int(rpc_call(url, "eth_chainId", timeout=1.0), 16)
        except (OSError, urllib.error.URLError, ValueError, ChainError):
            if time.monotonic() > deadline:
                raise error(f"{name} did not answer at {url} within {timeout:.0f} s; {log_tail()}") from None
            time.sleep(0.1)
            continue
        if reported != chain_id:
            raise error(f"{name} at {url} reports chain id {reported}, expected {chain_id}")
        return
