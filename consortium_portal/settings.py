"""Portal settings, read from ``PORTAL_*`` environment variables (and a ``.env`` file).

The chain, the database, the deployment and the consortium key come from node_adapter's settings (``NODE_ADAPTER_*``).
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class PortalSettings(BaseSettings):
    """How the portal serves, signs members in and protects itself."""

    model_config = SettingsConfigDict(env_prefix="PORTAL_", env_file=".env", extra="ignore")

    host: str = "127.0.0.1"
    port: int = Field(default=8700, ge=1, le=65535)
    public_url: str = ""
    """The URL members reach the portal at (sign-in messages name it); empty: ``http://<host>:<port>``."""

    challenge_ttl: int = Field(default=300, ge=10, le=3600)
    """Seconds a sign-in challenge stays valid."""
    session_ttl: int = Field(default=8 * 3600, ge=60, le=30 * 86_400)
    """Seconds a session lasts."""

    member_rate: int = Field(default=1200, ge=1)
    """Requests per minute per member (sessions and API keys of the same member share it)."""
    ip_rate: int = Field(default=1200, ge=1)
    """Requests per minute per client address."""

    dev_signing: bool = True
    """On a local dev chain only: the web pages may sign in as a dev account and sign with its (public) key."""

    max_body_bytes: int = Field(default=1 << 20, ge=1024, le=1 << 30)
    """The largest request body accepted (413 beyond)."""
    max_file_bytes: int = Field(default=10 << 20, ge=1024, le=1 << 30)
    """The largest file upload (``POST /api/v1/files``) accepted (413 beyond)."""

    index_interval: float = Field(default=1.0, gt=0)
    """Seconds between the portal's indexer passes (the read model follows the chain)."""

    receipt_interval: float = Field(default=30.0, gt=0)
    """Seconds between passes of the job that anchors access receipts on chain in Merkle batches."""
    receipt_batch_size: int = Field(default=1000, ge=1, le=100_000)
    """The most access receipts in one Merkle batch."""

    def url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    def local_url(self) -> str:
        """Where this machine reaches the portal (whatever its public URL)."""
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::") else self.host  # noqa: S104 (a comparison)
        return f"http://{host}:{self.port}"
