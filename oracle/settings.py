"""Oracle settings, read from ``ORACLE_*`` environment variables (and a ``.env`` file).

The defaults run against the simulators ``consortium oracle simulators`` serves on port 8600 and the local dev chain;
the chain, the database and the signing key of the first feed come from node_adapter's settings (``NODE_ADAPTER_*``).
A real deployment points each source at its provider (``ORACLE_SOURCE_URLS``) and gives one signing account per role
it plays (``ORACLE_SIGNERS``, keystore files); the consortium key comes from ``NODE_ADAPTER_CONSORTIUM_KEY_FILE``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from node_adapter.exceptions import NodeAdapterError

SourceName = Literal["dmv", "telematics", "market", "loans"]
SOURCE_NAMES: tuple[SourceName, ...] = ("dmv", "telematics", "market", "loans")


class OracleSettingsError(NodeAdapterError, ValueError):
    """The oracle's settings are inconsistent (says which setting)."""


class OracleSettings(BaseSettings):
    """Where the oracle reads from, how hard it tries, and the thresholds of its rules."""

    model_config = SettingsConfigDict(env_prefix="ORACLE_", env_file=".env", extra="ignore")

    # ------------------------------------------------------------ sources
    simulators_url: str = "http://127.0.0.1:8600"
    """Base URL of the simulators; a source's URL is ``<simulators_url>/<source>`` unless ``source_urls`` names it."""
    source_urls: dict[str, str] = Field(default_factory=dict)
    """Per-source base URLs (JSON object), e.g. ``{"dmv": "https://dmv.example/api"}``."""
    sources: list[SourceName] = Field(default_factory=lambda: list(SOURCE_NAMES))
    """The sources this oracle reads (a member runs the feeds of the roles it holds)."""
    simulate: bool = True
    """``consortium up`` serves the simulators at ``simulators_url`` (turn off to read real providers)."""
    simulator_seed: int = 7
    simulator_fleet: int = Field(default=60, ge=1, le=100_000)
    simulator_speed: float = Field(default=60.0, gt=0, le=86_400)
    """Simulated seconds per real second under ``consortium up`` (60: a T-Box report every 5 s)."""
    request_timeout: float = Field(default=5.0, gt=0, le=120)
    retries: int = Field(default=3, ge=0, le=20)
    """Retries of one request after a timeout, a refused connection or a 5xx, with exponential backoff."""
    retry_backoff: float = Field(default=0.2, ge=0, le=60)
    """Seconds before the first retry; doubled for each further one."""
    page_size: int = Field(default=500, ge=1, le=1000)
    max_pages_per_run: int = Field(default=20, ge=1, le=10_000)

    # ------------------------------------------------------------ records
    stale_after: int = Field(default=7 * 86_400, gt=0)
    """A record whose time is this many seconds behind the newest one its source reported is stale (quarantined)."""
    batch_size: int = Field(default=1000, ge=1, le=20_000)
    """Telematics readings per Merkle batch."""

    # ------------------------------------------------------------ valuations
    deviation_bps: int = Field(default=100, ge=1, le=10_000)
    """A reporter reports again once its estimate moves this far from its last report (1% by default)."""
    heartbeat: int = Field(default=86_400, gt=0)
    """A reporter reports again after this many seconds even without a move."""

    # ------------------------------------------------------------ telematics rules
    gps_loss_limit: int = Field(default=1800, gt=0)
    """Seconds without a position (while odometer reports keep coming) before a GPS-loss alert."""
    rollback_tolerance_km: float = Field(default=0.5, ge=0)

    # ------------------------------------------------------------ scheduling
    interval: float = Field(default=2.0, gt=0)
    """Seconds between runs of each job."""
    max_backoff: float = Field(default=300.0, gt=0)
    """Longest pause after repeated failures of a job."""
    unhealthy_after: int = Field(default=3, ge=1)
    """Consecutive failures after which a feed is reported unhealthy."""
    misfire_grace: int = Field(default=30, ge=1)

    # ------------------------------------------------------------ signing (dev chains: dev accounts by default)
    signers: dict[str, Path] = Field(default_factory=dict)
    """Per role (``dmv``, ``telematics``, ``bank``, ``price-1`` ...): an encrypted keystore file (JSON object).
    Empty on a dev chain: the dev accounts of ``oracle.tools.devsetup`` sign."""
    keystore_password_file: Path | None = None
    """The file holding the keystores' password."""
    price_reporters: int = Field(default=3, ge=1, le=15)
    """How many price-oracle accounts report valuations (on a dev chain, dev accounts)."""
    bank_names: list[str] = Field(default_factory=list)
    """The bank(s) whose loans this oracle registers and reports on; empty means every loan of the source."""

    @field_validator("simulators_url")
    @classmethod
    def _http(cls, url: str) -> str:
        return _http_url(url)

    @field_validator("source_urls")
    @classmethod
    def _http_sources(cls, urls: dict[str, str]) -> dict[str, str]:
        return {source: _http_url(url, f"the {source} source's URL") for source, url in urls.items()}

    def source_url(self, source: SourceName) -> str:
        """The base URL of ``source``."""
        return self.source_urls.get(source, f"{self.simulators_url}/{source}").rstrip("/")


def _http_url(url: str, what: str = "the URL") -> str:
    """``url`` without its trailing slash, if it is an absolute http(s) URL with a host and no query, fragment or
    credentials (a source's URL is a base that routes are joined to)."""
    parsed = urlsplit(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise ValueError(f"{what} {url!r} is not an http(s) URL with a host")
    if parsed.query or parsed.fragment or parsed.username or parsed.password:
        raise ValueError(f"{what} {url!r} must be a plain base URL (no query, fragment or credentials)")
    return url.rstrip("/")
