"""Run the four source simulators on one uvicorn server, in a background thread or from the command line.

``SimulatorServer(seed=7, fleet_size=200, port=8600).start()`` serves ``/dmv``, ``/telematics``, ``/market`` and
``/loans`` (see apps.py) and returns once ``/health`` answers; ``stop()`` shuts it down. ``simulation`` is the shared
state, for tests that want to look behind the HTTP API.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from types import TracebackType

from consortium.serving import BackgroundServer, ServerError
from node_adapter.dev.localchain import free_port
from oracle.simulators.apps import create_app
from oracle.simulators.simulation import Simulation

logger = logging.getLogger(__name__)


class SimulatorError(RuntimeError):
    """The simulator server did not start or stop in time."""


class SimulatorServer:
    """The four simulators over one shared ``Simulation``, served by uvicorn in a daemon thread."""

    def __init__(
        self,
        seed: int = 7,
        fleet_size: int = 50,
        port: int | None = None,
        *,
        host: str = "127.0.0.1",
        report_interval: int = 300,
        speed: float | None = None,
        state_file: Path | None = None,
    ) -> None:
        if speed is not None and not 0 < speed <= 86_400:
            raise SimulatorError(f"speed is simulated seconds per real second, 0 to 86400, not {speed}")
        self.state_file = state_file
        """Where the simulation is saved on stop (and every minute while the clock runs) and resumed from."""
        self.simulation = self._resume(seed, fleet_size, report_interval)
        self.host = host
        self.port = port if port is not None else free_port(host)
        self.speed = speed
        """Simulated seconds per real second when the clock runs by itself; ``None``: only ``/admin/advance``."""
        self._server = BackgroundServer(create_app(self.simulation), host=host, port=self.port, name="simulators")
        self._ticker: threading.Thread | None = None
        self._stop_ticking = threading.Event()

    @property
    def url(self) -> str:
        """The base URL, e.g. ``http://127.0.0.1:8600``; the sources are at ``url + "/dmv"`` and so on."""
        return f"http://{self.host}:{self.port}"

    def source_url(self, source: str) -> str:
        return f"{self.url}/{source}"

    def start(self, timeout: float = 10.0) -> SimulatorServer:
        if self._server.running:
            raise SimulatorError("the simulator server is already running")
        try:
            self._server.start(timeout)
        except ServerError as exc:
            raise SimulatorError(str(exc)) from exc
        logger.info("simulators serving", extra={"url": self.url, "seed": self.simulation.seed})
        self._start_clock()
        return self

    def _resume(self, seed: int, fleet_size: int, report_interval: int) -> Simulation:
        if self.state_file is not None and self.state_file.exists():
            saved = Simulation.load(self.state_file)
            if (saved.seed, len(saved.fleet.vehicles), saved.report_interval) == (seed, fleet_size, report_interval):
                logger.info("simulation resumed from %s at %s", self.state_file, saved.now)
                return saved
            logger.warning(
                "%s holds another simulation (seed, fleet or interval differ): starting anew", self.state_file
            )
        return Simulation(seed, fleet_size, report_interval=report_interval)

    def save(self) -> None:
        """Save the simulation to ``state_file`` (if set)."""
        if self.state_file is not None:
            self.simulation.save(self.state_file)

    def _start_clock(self) -> None:
        if self.speed is None:
            return
        speed = self.speed
        self._stop_ticking.clear()

        def tick() -> None:
            owed = 0.0
            last = saved_at = time.monotonic()
            while not self._stop_ticking.wait(1.0):
                now = time.monotonic()
                owed += (now - last) * speed
                last = now
                whole = int(owed)
                if whole >= 1:
                    self.simulation.advance(whole)
                    owed -= whole
                if now - saved_at >= 60:
                    self.save()
                    saved_at = now

        self._ticker = threading.Thread(target=tick, name=f"simulators-clock:{self.port}", daemon=True)
        self._ticker.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop_ticking.set()
        if self._ticker is not None:
            self._ticker.join(timeout)
            self._ticker = None
        try:
            self._server.stop(timeout)
        except ServerError as exc:
            raise SimulatorError(str(exc)) from exc
        self.save()

    def __enter__(self) -> SimulatorServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()
