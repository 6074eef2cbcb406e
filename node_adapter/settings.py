"""node_adapter settings, read from ``NODE_ADAPTER_*`` environment variables (and ``.env``)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from node_adapter.errors import ToolchainError
from node_adapter.toolchain import project_root


def _default_state_dir() -> Path:
    try:
        return project_root() / ".state"
    except ToolchainError:
        return Path.home() / ".local" / "state" / "vehicle-evidence-consortium"


class NodeAdapterSettings(BaseSettings):
    """How node_adapter reaches the chain; the defaults run a local dev chain."""

    model_config = SettingsConfigDict(env_prefix="NODE_ADAPTER_", env_file=".env", extra="ignore")

    dev_chain_backend: Literal["anvil", "ganache"] = "anvil"
    dev_chain_host: str = "127.0.0.1"
    dev_chain_port: int = Field(default=8545, ge=1, le=65535)
    dev_chain_block_time: float | None = Field(default=None, gt=0)
    state_dir: Path = Field(default_factory=_default_state_dir)
    """Local state kept between runs (the dev chain's state, run files)."""


@lru_cache
def get_settings() -> NodeAdapterSettings:
    """The settings, read once."""
    return NodeAdapterSettings()
