"""The risk score's settings, read from ``ORACLE_RISK_*`` environment variables (and a ``.env`` file)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from oracle.risk.model import DEFAULT_MODEL_VERSION


class RiskSettings(BaseSettings):
    """Which model scores, where calibrated parameters files live, and when a score is anchored."""

    model_config = SettingsConfigDict(env_prefix="ORACLE_RISK_", env_file=".env", extra="ignore")

    model_version: str = DEFAULT_MODEL_VERSION
    """The model the oracle scores with (shipped in ``oracle/risk/models`` or found in ``models_dir``)."""
    models_dir: Path | None = None
    """A directory of calibrated parameters files (``<version>.json``), searched before the shipped ones."""
    anchor_threshold: float = Field(default=5.0, gt=0, le=100)
    """A vehicle's score is anchored again once it moved at least this many points from the last anchored one."""
    rescore_interval: float = Field(default=3600.0, gt=0)
    """Seconds after which a vehicle is scored again without new evidence (its market inputs move by themselves)."""
    signer: str = "telematics"
    """The oracle signer that anchors scores and reports risk warnings: its member must hold a role in the
    contract's ``riskReporterRoles`` and in the roles of the risk kinds (on a dev chain: the telematics oracle)."""
    position_window: int = Field(default=500, ge=10, le=100_000)
    """The latest positions per vehicle that speeding and night-driving shares are computed from."""

    def model_dirs(self) -> tuple[Path, ...]:
        return (self.models_dir,) if self.models_dir is not None else ()
