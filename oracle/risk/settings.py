"""The risk score's settings, read from ``ORACLE_RISK_*`` environment variables (and a ``.env`` file)."""

from __future__ import annotations

from datetime import UTC
from pathlib import Path

from apscheduler.triggers.cron import CronTrigger
from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from oracle.risk.model import DEFAULT_MODEL_VERSION


class RiskSettings(BaseSettings):
    """Which model scores, where calibrated parameters files live, and when a score is anchored."""

    model_config = SettingsConfigDict(env_prefix="ORACLE_RISK_", env_file=".env", extra="ignore")

    model_version: str = DEFAULT_MODEL_VERSION
    """The model the oracle scores with (shipped in ``oracle/risk/models`` or found in ``models_dir``)."""
    models_dir: Path | None = None
    """A directory of calibrated parameters files (``<version>.json``), searched before the shipped ones; the
    calibration against the read model writes its files there (by default ``<NODE_ADAPTER_STATE_DIR>/risk-models``)."""
    anchor_threshold: float = Field(default=5.0, gt=0, le=100)
    """A vehicle's score is anchored again once it moved at least this many points from the last anchored one."""
    rescore_interval: float = Field(default=3600.0, gt=0)
    """Seconds after which a vehicle is scored again without new evidence (its market inputs move by themselves)."""
    signer: str = "telematics"
    """The oracle signer that anchors scores and reports risk warnings: its member must hold a role in the
    contract's ``riskReporterRoles`` and in the roles of the risk kinds (on a dev chain: the telematics oracle)."""
    position_window: int = Field(default=500, ge=10, le=100_000)
    """The latest positions per vehicle that speeding and night-driving shares are computed from."""

    # ------------------------------------------------------------ calibration against the read model's outcomes
    calibration_schedule: str = "0 3 1 * *"
    """When the oracle service refits the weights on the read model's outcomes: a crontab line in UTC (by default
    03:00 on the first of each month); empty: never (``consortium risk calibrate --from-read-model`` still does)."""
    calibration_min_outcomes: int = Field(default=200, ge=10)
    """Loans with an outcome and an anchored score a refit needs at the least (fewer: it refuses)."""
    calibration_min_each: int = Field(default=20, ge=2)
    """Of those, loans that went to disposal, and loans that did not, needed at the least (each)."""
    calibration_clean_after_days: float = Field(default=180.0, gt=0)
    """A loan never triggered counts as having run clean once it has been on the books this long (chain time)."""
    calibration_seed: int = 7
    """Seed of the refit's split into training and held-out loans."""

    @field_validator("calibration_schedule")
    @classmethod
    def _crontab(cls, value: str) -> str:
        if value.strip():
            CronTrigger.from_crontab(value, timezone=UTC)  # raises ValueError saying what is wrong
        return value.strip()

    def model_dirs(self) -> tuple[Path, ...]:
        return (self.models_dir,) if self.models_dir is not None else ()

    def with_state_dir(self, state_dir: Path) -> RiskSettings:
        """These settings, with ``models_dir`` defaulting to ``state_dir/risk-models`` (where refits are written)."""
        if self.models_dir is not None:
            return self
        return self.model_copy(update={"models_dir": state_dir / "risk-models"})

    def calibration_trigger(self) -> CronTrigger | None:
        """The refit's schedule, or None when it is off."""
        return CronTrigger.from_crontab(self.calibration_schedule, timezone=UTC) if self.calibration_schedule else None
