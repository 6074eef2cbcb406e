"""node_adapter settings, read from ``NODE_ADAPTER_*`` environment variables (and a ``.env`` file).

The defaults run against the local dev chain that ``make up`` starts. A real consortium node sets at least
``NODE_ADAPTER_RPC_URLS`` (a JSON list of member nodes), ``NODE_ADAPTER_CHAIN_ID``, ``NODE_ADAPTER_CONFIRMATIONS``,
``NODE_ADAPTER_KEYSTORE_PATH`` with ``NODE_ADAPTER_KEYSTORE_PASSWORD_FILE``, and ``NODE_ADAPTER_DATABASE_URL``.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path
from typing import Literal

from eth_account import Account
from eth_account.signers.local import LocalAccount
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from node_adapter.exceptions import SettingsError, ToolchainError
from node_adapter.toolchain import project_root

DEV_CHAIN_IDS = frozenset({31337, 1337})
"""Chain ids of local dev chains (Anvil, Ganache): the only ones a raw private key may sign for."""

DEV_CONSORTIUM_KEY = hashlib.sha256(
    b"VehicleEvidence dev-chain consortium key (public, for local chains only)"
).digest()
"""The subject-id key used on dev chains when none is configured; public, so refused on any other chain."""


def _default_state_dir() -> Path:
    try:
        return project_root() / ".state"
    except ToolchainError:
        return Path.home() / ".local" / "state" / "vehicle-evidence-consortium"


class NodeAdapterSettings(BaseSettings):
    """How node_adapter reaches the chain and the database; the defaults run a local dev chain."""

    model_config = SettingsConfigDict(env_prefix="NODE_ADAPTER_", env_file=".env", extra="ignore")

    # ------------------------------------------------------------ the chain
    rpc_urls: list[str] = Field(default_factory=lambda: ["http://127.0.0.1:8545"], min_length=1)
    """JSON-RPC URLs of the member nodes, tried in order with failover."""
    chain_id: int | None = None
    """The chain id every node must report; ``None`` accepts the first node's and holds the others to it."""
    network: str = "local"
    """The network name deployments are recorded under (``deployments/<network>.json``)."""
    confirmations: int = Field(default=0, ge=0, le=1000)
    """Blocks on top of a write's block before it counts as final: 0 for QBFT/IBFT, more for Clique or Anvil reorgs."""
    rpc_timeout: float = Field(default=10.0, gt=0)

    # ------------------------------------------------------------ gas policy
    max_in_flight: int = Field(default=64, ge=1, le=1000)
    """Unconfirmed writes per account; Besu's pool holds at most 200 future nonces per sender by default."""
    gas_multiplier: float = Field(default=1.25, ge=1.0, le=5.0)
    fallback_gas_limit: int = Field(default=3_000_000, ge=21_000)
    fee_bump_percent: int = Field(default=15, ge=10, le=500)
    free_gas: bool = False
    """The chain accepts a zero gas price (Besu free-gas networks): sign every write with zero fees."""
    resend_after: float = Field(default=10.0, gt=0)
    replace_after: float = Field(default=60.0, gt=0)

    # ------------------------------------------------------------ signing
    keystore_path: Path | None = None
    """An encrypted JSON keystore (Web3 Secret Storage) holding the signing key."""
    keystore_password: SecretStr | None = None
    keystore_password_file: Path | None = None
    dev_private_key: SecretStr | None = None
    """A raw private key: accepted only on dev chains (chain ids 31337 and 1337)."""

    # ------------------------------------------------------------ vehicles
    consortium_key_file: Path | None = None
    """A file holding the hex of the consortium's subject key (VIN -> subject id, ``node_adapter.encoding``).
    Without it, dev chains use a public dev key and every other chain refuses to make subject ids."""

    # ------------------------------------------------------------ storage
    database_url: str = ""
    """SQLAlchemy URL; empty means a SQLite file in ``state_dir``."""
    state_dir: Path = Field(default_factory=_default_state_dir)
    """Local state kept between runs (the dev chain's state, run files, the SQLite database)."""

    # ------------------------------------------------------------ the local dev chain
    dev_chain_backend: Literal["anvil", "ganache"] = "anvil"
    dev_chain_host: str = "127.0.0.1"
    dev_chain_port: int = Field(default=8545, ge=1, le=65535)
    dev_chain_block_time: float | None = Field(default=None, gt=0)

    @field_validator("rpc_urls")
    @classmethod
    def _http_urls(cls, urls: list[str]) -> list[str]:
        for url in urls:
            if not url.startswith(("http://", "https://")):
                raise ValueError(f"{url!r} is not an http(s) JSON-RPC URL")
        return urls

    @property
    def effective_database_url(self) -> str:
        """The database URL, defaulting to ``<state_dir>/consortium.sqlite3``."""
        return self.database_url or f"sqlite:///{self.state_dir / 'consortium.sqlite3'}"

    def signer(self, chain_id: int) -> LocalAccount:
        """The signing account: from the keystore, or the raw dev key on a dev chain. Clear errors otherwise."""
        if self.keystore_path is not None:
            return load_keystore(self.keystore_path, self._keystore_password())
        if self.dev_private_key is not None:
            if chain_id not in DEV_CHAIN_IDS:
                raise SettingsError(
                    f"NODE_ADAPTER_DEV_PRIVATE_KEY signs only on dev chains {sorted(DEV_CHAIN_IDS)}, not on chain "
                    f"{chain_id}: use an encrypted keystore (NODE_ADAPTER_KEYSTORE_PATH)"
                )
            try:
                account: LocalAccount = Account.from_key(self.dev_private_key.get_secret_value())
            except (ValueError, TypeError) as exc:
                raise SettingsError("NODE_ADAPTER_DEV_PRIVATE_KEY is not a valid private key") from exc
            return account
        raise SettingsError("no signing key: set NODE_ADAPTER_KEYSTORE_PATH (or, on a dev chain, DEV_PRIVATE_KEY)")

    def subject_key(self, chain_id: int) -> bytes:
        """The consortium key subject ids are made with (see :func:`subject_key_for`)."""
        return subject_key_for(chain_id, self.consortium_key_file)

    def _keystore_password(self) -> str:
        if self.keystore_password is not None:
            return self.keystore_password.get_secret_value()
        if self.keystore_password_file is not None:
            try:
                return self.keystore_password_file.read_text().rstrip("\n")
            except OSError as exc:
                raise SettingsError(f"cannot read NODE_ADAPTER_KEYSTORE_PASSWORD_FILE: {exc}") from exc
        raise SettingsError("the keystore needs a password: set NODE_ADAPTER_KEYSTORE_PASSWORD_FILE")


def subject_key_for(chain_id: int, key_file: Path | None) -> bytes:
    """The consortium key from ``key_file`` (hex, at least 16 bytes); without one, the public dev key, which only a
    dev chain accepts."""
    if key_file is not None:
        try:
            text = key_file.read_text().strip()
        except OSError as exc:
            raise SettingsError(f"cannot read NODE_ADAPTER_CONSORTIUM_KEY_FILE: {exc.strerror}") from exc
        try:
            key = bytes.fromhex(text.removeprefix("0x"))
        except ValueError:
            raise SettingsError("NODE_ADAPTER_CONSORTIUM_KEY_FILE does not hold hex") from None
        if len(key) < 16:
            raise SettingsError(f"the consortium key has {len(key)} bytes; at least 16 are required")
        return key
    if chain_id in DEV_CHAIN_IDS:
        return DEV_CONSORTIUM_KEY
    raise SettingsError(
        f"chain {chain_id} is not a dev chain: set NODE_ADAPTER_CONSORTIUM_KEY_FILE to the consortium's subject key"
    )


def load_keystore(path: Path, password: str) -> LocalAccount:
    """Decrypt a Web3 Secret Storage keystore file; the error says what is wrong without revealing secrets."""
    try:
        keyfile = json.loads(path.read_text())
    except OSError as exc:
        raise SettingsError(f"cannot read the keystore {path}: {exc.strerror}") from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise SettingsError(f"the keystore {path} is not a JSON keystore file (malformed: {exc})") from exc
    if not isinstance(keyfile, dict) or "crypto" not in {k.lower() for k in keyfile}:
        raise SettingsError(f"the keystore {path} is not a Web3 Secret Storage file (no 'crypto' section)")
    try:
        key = Account.decrypt(keyfile, password)
    except ValueError as exc:
        message = "wrong password" if "MAC mismatch" in str(exc) else f"cannot decrypt it: {exc}"
        raise SettingsError(f"the keystore {path}: {message}") from exc
    account: LocalAccount = Account.from_key(key)
    return account


@lru_cache
def get_settings() -> NodeAdapterSettings:
    """The settings, read once."""
    return NodeAdapterSettings()
