"""Attacks on the oracle through what its feeds say, done as the feed's writer would (docs/threat-model.md)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace
from typing import Any

import pytest
from pydantic import ValidationError

from oracle.pipeline.dispatch import Dispatcher
from oracle.settings import OracleSettings
from oracle.sources import SourceClient

STATUS = {"loan_ref": "x", "outstanding_cny": 1_000, "days_overdue": 0, "status": "current", "as_of": "2026-12-01"}


@pytest.fixture
def core_system() -> Iterator[tuple[str, list[str]]]:
    """A bank's core system on loopback that answers every GET with a loan status and records the paths asked."""
    asked: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            asked.append(self.path)
            body = json.dumps(STATUS).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", asked
    finally:
        server.shutdown()
        server.server_close()


def test_low_a_loan_ref_from_the_feed_cannot_reach_another_route(core_system: tuple[str, list[str]]) -> None:
    """A loan-servicing feed names a loan ``../../admin/export?all=1``: the oracle must ask for that loan, not for the
    core system's export route."""
    url, asked = core_system
    loans = SourceClient("loans", url, timeout=5, retries=0, backoff=0)
    dispatcher = Dispatcher(SimpleNamespace(sources={"loans": loans}), valuation=None)  # type: ignore[arg-type]
    try:
        dispatcher._outstanding("../../admin/export?all=1", 10**12)
    finally:
        loans.close()
    assert asked == ["/v1/loans/..%2F..%2Fadmin%2Fexport%3Fall%3D1"]


@pytest.mark.parametrize(
    "url",
    ["file:///etc/passwd", "http://", "ftp://dmv.example/feed", "https://user:secret@dmv.example", "http://h/?x=1"],
)
def test_low_a_source_url_must_be_a_plain_http_base(url: str) -> None:
    with pytest.raises(ValidationError, match="the dmv source's URL"):
        OracleSettings(source_urls={"dmv": url})
    assert OracleSettings(source_urls={"dmv": "https://dmv.example/feed/"}).source_url("dmv") == (
        "https://dmv.example/feed"
    )
