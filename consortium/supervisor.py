"""One process supervising the others: ``consortium up`` runs the chain and every service as a child process.

Each child is described by a :class:`ServiceSpec` (its command, its environment, how to tell it is ready, where to
go once it is). The :class:`Supervisor`

* starts the children in ``order``, each only once the one before it is ready (a child that does not become ready
  stops the start-up with its exit code and the last lines of its log);
* puts each child in a session of its own (a terminal's Ctrl-C reaches only the supervisor, which stops the
  children in reverse order: SIGTERM to the child's process group, SIGKILL after its ``stop_timeout``), and asks the
  kernel to end a child whose supervisor died (Linux ``PR_SET_PDEATHSIG``), so none is left behind;
* writes each child's output to ``<log dir>/<name>.log`` and echoes it on the console behind a ``name |`` prefix;
* reports a child that exits unexpectedly (its name, exit code or signal, and the last lines of its log) and
  restarts it after a backoff that doubles with each crash; after ``max_crashes`` crashes within ``window``
  seconds it gives up on the child, loudly (and on the whole system when the child is ``critical``, the chain);
* keeps ``<log dir>/services.json`` up to date: every child's pid, state, restarts and log file.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import IO

from rich.console import Console
from rich.markup import escape
from rich.text import Text

from node_adapter.dev.localchain import die_with_parent, rpc_call
from node_adapter.exceptions import ChainError, NodeAdapterError

logger = logging.getLogger(__name__)

Ready = Callable[[str], bool]
"""A readiness check: given what the child printed since it (re)started, whether it is ready."""

_HEADER = "---- "
"""Starts the line the supervisor writes into a child's log file at each start."""
_COLOURS = ("cyan", "magenta", "green", "yellow", "blue", "bright_cyan", "bright_magenta", "bright_green")


class SupervisorError(NodeAdapterError, RuntimeError):
    """A child could not be started (says which, and why)."""


def http_ready(url: str, timeout: float = 2.0) -> Ready:
    """Ready once ``GET url`` answers 2xx."""

    def check(_output: str) -> bool:
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (a local service's URL)
                return 200 <= int(response.status) < 300
        except (OSError, urllib.error.URLError, ValueError):
            return False

    return check


def rpc_ready(url: str, chain_id: int) -> Ready:
    """Ready once the node at ``url`` answers ``eth_chainId`` with ``chain_id``."""

    def check(_output: str) -> bool:
        try:
            return int(rpc_call(url, "eth_chainId", timeout=1.0), 16) == chain_id
        except (OSError, urllib.error.URLError, ValueError, ChainError):
            return False

    return check


def output_ready(text: str) -> Ready:
    """Ready once the child has printed ``text`` (since it started)."""
    return lambda output: text in output


@dataclass(frozen=True)
class ServiceSpec:
    """How to run one child process."""

    name: str
    command: Sequence[str]
    env: Mapping[str, str] = field(default_factory=dict)
    """Set on top of the supervisor's environment (and the base environment it gives every child)."""
    ready: Ready | None = None
    """None: ready as soon as it runs."""
    ready_timeout: float = 60.0
    order: int = 50
    """Children start in ascending order and stop in the reverse."""
    stop_timeout: float = 20.0
    banner: str | None = None
    """Printed the first time the child is ready (where it serves, what it does)."""
    links: Mapping[str, str] = field(default_factory=dict)
    """Where to go once the system runs, by label (``{"portal": "http://..."}``)."""
    echo: bool = True
    """Echo the child's output on the console (it always goes to its log file)."""
    critical: bool = False
    """Giving up on this child stops the whole system (the chain: nothing works without it)."""
    on_ready: Callable[[], None] | None = None
    """Run in the supervisor once the child is first ready, before the next child starts (deploying the suite)."""


@dataclass(frozen=True)
class RestartPolicy:
    """When a crashed child is started again, and when the supervisor gives up on it."""

    initial_backoff: float = 1.0
    max_backoff: float = 30.0
    max_crashes: int = 5
    """Crashes within ``window`` after which the child is given up on."""
    window: float = 120.0

    def backoff(self, crashes: int) -> float:
        """Seconds before the next start after the ``crashes``-th crash within the window."""
        return float(min(self.max_backoff, self.initial_backoff * 2 ** max(0, crashes - 1)))


class ChildState(StrEnum):
    STARTING = "starting"
    RUNNING = "running"
    BACKOFF = "backoff"
    """Crashed; waiting to be started again."""
    GIVEN_UP = "given up"
    STOPPED = "stopped"


@dataclass
class _Child:
    spec: ServiceSpec
    log_path: Path
    colour: str
    process: subprocess.Popen[bytes] | None = None
    state: ChildState = ChildState.STOPPED
    crashes: deque[float] = field(default_factory=deque)
    restarts: int = 0
    starts: int = 0
    start_offset: int = 0
    """Where in the log file this start's output begins."""
    ready_deadline: float = 0.0
    next_start: float = 0.0
    announced: bool = False

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def output(self, limit: int = 256_000) -> str:
        """What the child printed since it (re)started (the last ``limit`` bytes)."""
        try:
            with self.log_path.open("rb") as log:
                log.seek(max(self.start_offset, log.seek(0, os.SEEK_END) - limit))
                return log.read().decode(errors="replace")
        except OSError:
            return ""

    def tail(self, lines: int = 15) -> str:
        text = self.output(64_000).rstrip("\n")
        return "\n".join(text.splitlines()[-lines:]) or "(no output)"


def describe_exit(code: int | None) -> str:
    """``exit code 1``, ``killed by SIGKILL``."""
    if code is None:
        return "still running"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


class Supervisor:
    """Starts, watches, restarts and stops the children described by ``specs``.

    Start, watch and stop from one thread (the main one): on Linux a child's ``PR_SET_PDEATHSIG`` fires when the
    thread that started it ends.
    """

    def __init__(
        self,
        specs: Sequence[ServiceSpec],
        *,
        log_dir: Path,
        env: Mapping[str, str] | None = None,
        policy: RestartPolicy | None = None,
        console: Console | None = None,
        poll: float = 0.2,
    ) -> None:
        names = [spec.name for spec in specs]
        duplicated = sorted({name for name in names if names.count(name) > 1})
        if duplicated:
            raise SupervisorError(f"two services are called {', '.join(duplicated)}: each needs a name of its own")
        self.log_dir = log_dir
        self.env = dict(env or {})
        self.policy = policy or RestartPolicy()
        self.console = console or Console()
        self.poll = poll
        ordered = sorted(specs, key=lambda spec: spec.order)
        self.children = [
            _Child(spec, log_dir / f"{spec.name}.log", _COLOURS[i % len(_COLOURS)]) for i, spec in enumerate(ordered)
        ]
        self._width = max((len(name) for name in names), default=5)
        self._tail_stop = threading.Event()
        self._tail_thread: threading.Thread | None = None
        self._tail_files: dict[str, IO[bytes]] = {}
        self._tail_lock = threading.Lock()

    @property
    def state_file(self) -> Path:
        return self.log_dir / "services.json"

    def child(self, name: str) -> _Child:
        for child in self.children:
            if child.spec.name == name:
                return child
        raise KeyError(name)

    def links(self) -> dict[str, str]:
        """Every child's links, in start order."""
        return {label: url for child in self.children for label, url in child.spec.links.items()}

    # ------------------------------------------------------------------ messages

    def say(self, message: str) -> None:
        """A line of the supervisor's own (rich markup)."""
        self.console.print(message, soft_wrap=True, highlight=False)

    def _report_exit(self, child: _Child, code: int | None) -> None:
        self.say(
            f"[bold red]{escape(child.spec.name)} exited unexpectedly ({describe_exit(code)})[/bold red]; "
            f"the last lines of {escape(str(child.log_path))}:"
        )
        for line in child.tail().splitlines():
            self.console.print(Text(f"    {line}", style="red"), soft_wrap=True)

    # ------------------------------------------------------------------ starting

    def start_all(self, stop: threading.Event | None = None) -> None:
        """Start every child in order, each once the previous one is ready; raises :class:`SupervisorError` (after
        stopping what it started) when one does not become ready, and returns early if ``stop`` is set."""
        stop = stop or threading.Event()
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self._start_tailing()
        for child in self.children:
            if stop.is_set():
                return
            self._spawn(child)
            problem = self._await_ready(child, stop)
            if problem is not None:
                tail = child.tail()
                self.stop_all()
                raise SupervisorError(
                    f"{child.spec.name} did not start: {problem}; the last lines of {child.log_path}:\n{tail}"
                )
            if stop.is_set():
                return
            self._on_ready(child)
            if child.spec.on_ready is not None:
                child.spec.on_ready()

    def _await_ready(self, child: _Child, stop: threading.Event) -> str | None:
        """None once ``child`` is ready (or ``stop`` is set), else what went wrong."""
        assert child.process is not None
        while not stop.is_set():
            code = child.process.poll()
            if code is not None:
                child.state = ChildState.STOPPED
                self._write_state()
                return describe_exit(code)
            if child.spec.ready is None or child.spec.ready(child.output()):
                return None
            if time.monotonic() > child.ready_deadline:
                self._terminate(child)
                return f"not ready within {child.spec.ready_timeout:.0f} s"
            stop.wait(self.poll)
        return None

    def _spawn(self, child: _Child) -> None:
        spec = child.spec
        env = {**os.environ, "PYTHONUNBUFFERED": "1", **self.env, **spec.env}
        child.log_path.parent.mkdir(parents=True, exist_ok=True)
        with child.log_path.open("ab") as log:
            child.start_offset = log.tell()
            stamp = time.strftime("%Y-%m-%d %H:%M:%S")
            log.write(f"{_HEADER}{stamp} supervisor: starting {spec.name} (start {child.starts + 1})\n".encode())
            log.flush()
            child.start_offset = log.tell()
            child.process = subprocess.Popen(
                list(spec.command),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,  # a terminal's Ctrl-C reaches the supervisor only; it stops us in order
                preexec_fn=die_with_parent if sys.platform.startswith("linux") else None,  # noqa: PLW1509
            )
        child.starts += 1
        child.state = ChildState.STARTING
        child.ready_deadline = time.monotonic() + spec.ready_timeout
        logger.info("started %s", spec.name, extra={"pid": child.pid, "command": list(spec.command)})
        self._write_state()

    def _on_ready(self, child: _Child) -> None:
        child.state = ChildState.RUNNING
        self._write_state()
        if not child.announced:
            child.announced = True
            if child.spec.banner:
                self.say(f"[bold green]{escape(child.spec.banner)}[/bold green]")
        else:
            self.say(f"[green]{escape(child.spec.name)} is running again[/green] (pid {child.pid})")

    # ------------------------------------------------------------------ watching

    def run(self, stop: threading.Event) -> int:
        """Watch the children until ``stop`` is set: 0; or 1 once a critical child was given up on."""
        while not stop.is_set():
            if self.step():
                return 1
            stop.wait(self.poll)
        return 0

    def step(self) -> bool:
        """One look at every child (restart what is due); whether a critical child was given up on."""
        now = time.monotonic()
        for child in self.children:
            if child.state in (ChildState.STARTING, ChildState.RUNNING):
                assert child.process is not None
                code = child.process.poll()
                if code is not None:
                    self._report_exit(child, code)
                    self._crashed(child, now)
                elif child.state == ChildState.STARTING:
                    if child.spec.ready is None or child.spec.ready(child.output()):
                        self._on_ready(child)
                    elif now > child.ready_deadline:
                        self.say(
                            f"[bold red]{escape(child.spec.name)} did not become ready within "
                            f"{child.spec.ready_timeout:.0f} s[/bold red]; stopping it"
                        )
                        self._terminate(child)
                        self._report_exit(child, child.process.returncode)
                        self._crashed(child, now)
            elif child.state == ChildState.BACKOFF and now >= child.next_start:
                child.restarts += 1
                self._spawn(child)
        return any(c.state == ChildState.GIVEN_UP and c.spec.critical for c in self.children)

    def _crashed(self, child: _Child, now: float) -> None:
        policy = self.policy
        child.crashes.append(now)
        while child.crashes and child.crashes[0] < now - policy.window:
            child.crashes.popleft()
        count = len(child.crashes)
        name = escape(child.spec.name)
        if count >= policy.max_crashes:
            child.state = ChildState.GIVEN_UP
            consequence = "stopping everything" if child.spec.critical else "the rest keeps running without it"
            self.console.rule(f"[bold white on red] GIVING UP ON {name.upper()} [/]", style="red")
            self.say(
                f"[bold red]{name} crashed {count} times within {policy.window:.0f} s: it is not restarted any "
                f"more ({consequence}). Read {escape(str(child.log_path))}, fix the cause, and run `make up` "
                "again.[/bold red]"
            )
            self.console.rule(style="red")
        else:
            delay = policy.backoff(count)
            child.state = ChildState.BACKOFF
            child.next_start = now + delay
            self.say(
                f"[yellow]restarting {name} in {delay:g} s[/yellow] (crash {count} of {policy.max_crashes} "
                f"allowed within {policy.window:.0f} s)"
            )
        self._write_state()

    # ------------------------------------------------------------------ stopping

    def stop_all(self) -> None:
        """Stop every child, in reverse start order, then echo what they printed last."""
        if any(c.process is not None and c.process.poll() is None for c in self.children):
            self.say("stopping ...")
        for child in reversed(self.children):
            if child.process is not None and child.process.poll() is None:
                self.say(f"stopping {escape(child.spec.name)} ...")
                self._terminate(child)
                code = child.process.returncode
                if code not in (0, -signal.SIGTERM):
                    self.say(f"[yellow]{escape(child.spec.name)} stopped with {describe_exit(code)}[/yellow]")
            if child.state != ChildState.GIVEN_UP:
                child.state = ChildState.STOPPED
        self._write_state()
        self._stop_tailing()

    def _terminate(self, child: _Child) -> None:
        """SIGTERM to the child's process group, SIGKILL after ``stop_timeout``; then nothing of it is left."""
        process = child.process
        if process is None:
            return
        if process.poll() is None:
            _signal_group(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=child.spec.stop_timeout)
            except subprocess.TimeoutExpired:
                self.say(
                    f"[yellow]{escape(child.spec.name)} did not stop within {child.spec.stop_timeout:g} s; "
                    "killing it[/yellow]"
                )
                _signal_group(process.pid, signal.SIGKILL)
                process.wait()
        _signal_group(process.pid, signal.SIGKILL)  # anything the child left in its group

    # ------------------------------------------------------------------ output

    def _start_tailing(self) -> None:
        if self._tail_thread is not None:
            return
        for child in self.children:  # echo only what is written from now on, not earlier runs' output
            if child.spec.echo:
                child.log_path.parent.mkdir(parents=True, exist_ok=True)
                child.log_path.touch()
                handle = child.log_path.open("rb")
                handle.seek(0, os.SEEK_END)
                self._tail_files[child.spec.name] = handle
        self._tail_stop.clear()
        self._tail_thread = threading.Thread(target=self._tail, name="supervisor-output", daemon=True)
        self._tail_thread.start()

    def _tail(self) -> None:
        while not self._tail_stop.wait(0.1):
            self._pump()
        self._pump()

    def _pump(self) -> None:
        with self._tail_lock:
            for child in self.children:
                handle = self._tail_files.get(child.spec.name)
                if handle is None:
                    continue
                chunk = handle.read()
                if not chunk:
                    continue
                complete, newline, rest = chunk.rpartition(b"\n")
                if rest:  # an unfinished line: read it again next time
                    handle.seek(-len(rest), os.SEEK_CUR)
                if not newline:
                    continue
                for line in complete.decode(errors="replace").splitlines():
                    if line.startswith(_HEADER):
                        continue  # the supervisor's own marker in the log file
                    prefix = Text(f"{child.spec.name:<{self._width}} | ", style=child.colour)
                    self.console.print(prefix + Text(line), soft_wrap=True, highlight=False)

    def _stop_tailing(self) -> None:
        self._tail_stop.set()
        if self._tail_thread is not None:
            self._tail_thread.join(timeout=5)
            self._tail_thread = None
        for handle in self._tail_files.values():
            handle.close()
        self._tail_files.clear()

    def _write_state(self) -> None:
        """``services.json``: each child's pid, state, restarts and log file (for operators and tests)."""
        state = {
            child.spec.name: {
                "pid": child.pid if child.process is not None and child.process.poll() is None else None,
                "state": str(child.state),
                "restarts": child.restarts,
                "log": str(child.log_path),
            }
            for child in self.children
        }
        self.log_dir.mkdir(parents=True, exist_ok=True)
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps({"supervisor": os.getpid(), "services": state}, indent=2) + "\n")
        tmp.replace(self.state_file)


def _signal_group(pid: int, signum: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signum)
