"""A private PostgreSQL cluster: ``initdb`` into a temporary folder, a free loopback port, trust authentication.

The test suite starts one per run (``tests/conftest.py``), the fault suite one per fault test. The cluster never
outlives the process that made it: :meth:`PrivatePostgres.close` stops it and removes its folder, and a small watchdog
process does the same if its owner dies without closing it (killed, a second Ctrl-C, a crash), so no ``postgres``
process and no folder is left behind.

PostgreSQL refuses to run as root: as root the cluster belongs to the ``postgres`` system user (which Debian's
package creates) and its commands run through ``runuser``.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from types import TracebackType
from typing import Self

from node_adapter.dev.localchain import free_port
from node_adapter.exceptions import ToolchainError
from node_adapter.toolchain import POSTGRES_INSTALL, postgres_bin

_WATCHDOG = r"""
import os, select, shutil, subprocess, sys, time
owner, root, pg_ctl, as_postgres = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4] == "1"
try:
    pidfd = os.pidfd_open(owner)
except (AttributeError, OSError):
    pidfd = None
def owner_alive():
    if pidfd is not None:
        return not select.select([pidfd], [], [], 1.0)[0]
    time.sleep(1.0)
    try:
        os.kill(owner, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True
while os.path.isdir(root) and owner_alive():
    pass
if os.path.isdir(root):
    data = os.path.join(root, "data")
    if os.path.exists(os.path.join(data, "postmaster.pid")):
        command = [pg_ctl, "stop", "-D", data, "-m", "immediate", "-w", "-t", "30"]
        if as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, capture_output=True, check=False)
    shutil.rmtree(root, ignore_errors=True)
"""


class PrivatePostgres:
    """A PostgreSQL cluster of the caller's own, in a temporary folder, on a free port of 127.0.0.1.

    Use it as a context manager (``with PrivatePostgres() as pg: ...`` initialises and starts it, and stops and removes
    it at the end), or call :meth:`init`, :meth:`start`, :meth:`stop` and :meth:`close` yourself (a fault test stops
    and restarts it at will).
    """

    def __init__(self, *, prefix: str = "consortium-pg-") -> None:
        self.bin = postgres_bin()
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix=prefix))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.as_postgres = os.geteuid() == 0
        if self.as_postgres:
            try:
                shutil.chown(self.root, "postgres", "postgres")
            except LookupError as exc:
                shutil.rmtree(self.root, ignore_errors=True)
                raise ToolchainError(
                    f"PostgreSQL refuses to run as root and there is no `postgres` system user to run it as ({exc}): "
                    f"{POSTGRES_INSTALL}"
                ) from exc
        self._watchdog = subprocess.Popen(
            [
                sys.executable,
                "-c",
                _WATCHDOG,
                str(os.getpid()),
                str(self.root),
                str(self.bin / "pg_ctl"),
                "1" if self.as_postgres else "0",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # a Ctrl-C in the terminal must not stop the watchdog before its owner
        )

    def __repr__(self) -> str:
        return f"PrivatePostgres(port={self.port}, root={str(self.root)!r})"

    @property
    def url(self) -> str:
        """The SQLAlchemy URL of the cluster's ``postgres`` database (no password: trust authentication)."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> str:
        command = [str(self.bin / args[0]), *args[1:]]
        if self.as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
        if result.returncode != 0:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise ToolchainError(f"{' '.join(args[:2])} failed: {(result.stderr or result.stdout).strip()}\n{log}")
        return result.stdout

    def init(self) -> Self:
        """Create the cluster (``initdb``: UTF-8, trust authentication, no fsync: a test cluster)."""
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
        return self

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.root} -c fsync=off"
        self._run("pg_ctl", "start", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "-o", options)

    def stop(self, mode: str = "fast") -> None:
        """Stop the server; ``immediate`` is a crash (no checkpoint: recovery runs at the next start)."""
        self._run("pg_ctl", "stop", "-D", str(self.data), "-m", mode, "-w", "-t", "60")

    def version(self) -> str:
        """The server programs' version, e.g. ``15.18``."""
        printed = self._run("postgres", "--version")  # postgres (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)
        match = re.search(r"\d+\.\d+", printed)
        return match.group(0) if match else printed.strip()

    def is_running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def close(self) -> None:
        """Stop the server (if it runs) and remove its folder; safe to call twice."""
        if self.is_running():
            with contextlib.suppress(ToolchainError, subprocess.TimeoutExpired):
                self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)
        if self._watchdog.poll() is None:
            self._watchdog.kill()
            self._watchdog.wait()

    def __enter__(self) -> Self:
        try:
            self.init()
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()
