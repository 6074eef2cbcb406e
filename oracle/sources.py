"""Reading a source's feed over HTTP: timeouts, retries with exponential backoff, and clear errors.

Every source speaks the same feed protocol (``GET /v1/events?after=<cursor>&limit=<n>`` answering
``{"events": [...], "next": "<cursor>", "has_more": bool}``), served by the simulators here and by an adapter in front
of each real provider. A timeout, a refused connection and a 5xx are retried ``retries`` times; a 4xx is not (the
request itself is wrong, and asking again will not help).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from node_adapter.exceptions import NodeAdapterError

logger = logging.getLogger(__name__)


class SourceError(NodeAdapterError):
    """A source did not answer usefully (after retries); the message names the source and what happened."""


@dataclass(frozen=True)
class Page:
    events: list[Any]
    next: str
    has_more: bool


class SourceClient:
    """One source's feed."""

    def __init__(self, name: str, base_url: str, *, timeout: float, retries: int, backoff: float) -> None:
        self.name = name
        self.base_url = base_url
        self.retries = retries
        self.backoff = backoff
        self._http = httpx.Client(base_url=base_url, timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def page(self, after: str, limit: int) -> Page:
        """The events after ``after`` (``""``: from the start)."""
        params: dict[str, str | int] = {"limit": limit}
        if after:
            params["after"] = after
        body = self._get("/v1/events", params)
        if (
            not isinstance(body, dict)
            or not isinstance(body.get("events"), list)
            or not isinstance(body.get("next"), str)
            or not isinstance(body.get("has_more"), bool)
        ):
            raise SourceError(f"the {self.name} source answered a page without events/next/has_more")
        return Page(events=body["events"], next=body["next"], has_more=body["has_more"])

    def get(self, path: str, params: dict[str, str | int] | None = None) -> Any:
        """Any read route of the source, as JSON."""
        return self._get(path, params or {})

    def get_item(self, collection: str, ref: str) -> Any:
        """One item of a collection, ``<collection>/<ref>``, with ``ref`` escaped as one path segment: a reference that
        came from a feed (a loan's ``loan_ref``) cannot climb to another route (``../``) or add a query (``?``)."""
        if not ref:
            raise SourceError(f"the {self.name} source: an empty reference into {collection}")
        return self._get(f"{collection.rstrip('/')}/{quote(ref, safe='')}", {})

    def _get(self, path: str, params: dict[str, str | int]) -> Any:
        delay = self.backoff
        for attempt in range(self.retries + 1):
            problem: str
            try:
                response = self._http.get(path, params=params)
            except httpx.TimeoutException:
                problem = "timed out"
            except httpx.TransportError as exc:
                problem = f"unreachable ({type(exc).__name__})"
            else:
                if response.status_code < 400:
                    try:
                        return response.json()
                    except ValueError:
                        raise SourceError(f"the {self.name} source answered {path} with something not JSON") from None
                if response.status_code < 500 and response.status_code != 429:
                    raise SourceError(
                        f"the {self.name} source refused {path} with HTTP {response.status_code}: {response.text[:200]}"
                    )
                problem = f"answered HTTP {response.status_code}"
            if attempt < self.retries:
                logger.info("%s %s %s; retrying in %.2f s", self.name, path, problem, delay)
                time.sleep(delay)
                delay *= 2
        raise SourceError(f"the {self.name} source at {self.base_url} {problem} ({self.retries + 1} attempts)")
