"""Serving an ASGI app with uvicorn in a background thread: the simulators, the portal, and their tests.

``BackgroundServer(app, port=8700).start()`` returns once ``health_path`` answers 200; ``stop()`` shuts it down.
"""

from __future__ import annotations

import logging
import threading
import time
import urllib.error
import urllib.request
from types import TracebackType
from typing import Any

import uvicorn

from node_adapter.dev.localchain import free_port
from node_adapter.exceptions import NodeAdapterError

logger = logging.getLogger(__name__)


class ServerError(NodeAdapterError):
    """A background server did not start or stop in time."""


class BackgroundServer:
    """One uvicorn server in a daemon thread."""

    def __init__(
        self,
        app: Any,
        *,
        host: str = "127.0.0.1",
        port: int | None = None,
        name: str = "server",
        health_path: str = "/health",
    ) -> None:
        self.app = app
        self.host = host
        self.port = port if port is not None else free_port(host)
        self.name = name
        self.health_path = health_path
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._thread is not None

    def start(self, timeout: float = 15.0) -> BackgroundServer:
        if self._thread is not None:
            raise ServerError(f"the {self.name} server is already running")
        config = uvicorn.Config(self.app, host=self.host, port=self.port, log_level="warning")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name=f"{self.name}:{self.port}", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self._thread.is_alive():
                self._thread = None
                raise ServerError(f"the {self.name} server on port {self.port} exited during start-up")
            try:
                with urllib.request.urlopen(f"{self.url}{self.health_path}", timeout=2) as response:  # noqa: S310
                    if response.status == 200:
                        logger.info("%s serving", self.name, extra={"url": self.url})
                        return self
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.02)
        self.stop()
        raise ServerError(
            f"the {self.name} server on port {self.port} did not answer {self.health_path} in {timeout} s"
        )

    def stop(self, timeout: float = 15.0) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                raise ServerError(f"the {self.name} server on port {self.port} did not stop within {timeout} s")
        self._thread = None
        self._server = None

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()
