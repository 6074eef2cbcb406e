from __future__ import annotations

import json
from pathlib import Path

import pytest
from eth_account import Account
from pydantic import ValidationError

from node_adapter.exceptions import SettingsError
from node_adapter.settings import DEV_CONSORTIUM_KEY, NodeAdapterSettings

KEY = "0x" + "42" * 32


def _keystore(tmp_path: Path, password: str = "correct horse") -> Path:
    path = tmp_path / "key.json"
    path.write_text(json.dumps(Account.encrypt(KEY, password, iterations=2)))
    return path


def test_keystore_decrypts_with_the_password_file(tmp_path: Path) -> None:
    password_file = tmp_path / "password"
    password_file.write_text("correct horse\n")
    settings = NodeAdapterSettings(keystore_path=_keystore(tmp_path), keystore_password_file=password_file)
    assert settings.signer(chain_id=1).address == Account.from_key(KEY).address


def test_wrong_keystore_password_is_a_clear_error_without_secrets(tmp_path: Path) -> None:
    settings = NodeAdapterSettings(keystore_path=_keystore(tmp_path), keystore_password="hunter2-guess")
    with pytest.raises(SettingsError, match="wrong password") as raised:
        settings.signer(chain_id=1)
    assert "hunter2-guess" not in str(raised.value)
    assert KEY[2:] not in str(raised.value)


@pytest.mark.parametrize(
    ("content", "message"),
    [("{not json", "is not a JSON keystore file"), ('{"address": "00"}', "no 'crypto' section"), ("[]", "no 'crypto'")],
)
def test_malformed_keystore_is_a_clear_error(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "key.json"
    path.write_text(content)
    with pytest.raises(SettingsError, match=message):
        NodeAdapterSettings(keystore_path=path, keystore_password="x").signer(chain_id=1)


def test_missing_keystore_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="cannot read the keystore"):
        NodeAdapterSettings(keystore_path=tmp_path / "nope.json", keystore_password="x").signer(chain_id=1)


def test_raw_key_signs_only_on_dev_chains() -> None:
    settings = NodeAdapterSettings(dev_private_key=KEY)
    assert settings.signer(chain_id=31337).address == Account.from_key(KEY).address
    with pytest.raises(SettingsError, match=r"only on dev chains .* not on chain 2018"):
        settings.signer(chain_id=2018)


def test_no_key_at_all_says_what_to_set() -> None:
    with pytest.raises(SettingsError, match="NODE_ADAPTER_KEYSTORE_PATH"):
        NodeAdapterSettings().signer(chain_id=31337)


def test_settings_read_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("NODE_ADAPTER_RPC_URLS", '["http://node-a:8545", "https://node-b:8545"]')
    monkeypatch.setenv("NODE_ADAPTER_CHAIN_ID", "2018")
    monkeypatch.setenv("NODE_ADAPTER_CONFIRMATIONS", "3")
    monkeypatch.setenv("NODE_ADAPTER_STATE_DIR", str(tmp_path))
    settings = NodeAdapterSettings()
    assert settings.rpc_urls == ["http://node-a:8545", "https://node-b:8545"]
    assert (settings.chain_id, settings.confirmations) == (2018, 3)
    assert settings.effective_database_url == f"sqlite:///{tmp_path / 'consortium.sqlite3'}"


def test_bad_settings_name_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NODE_ADAPTER_RPC_URLS", '["ws://node-a:8546"]')
    with pytest.raises(ValidationError, match="is not an http\\(s\\) JSON-RPC URL"):
        NodeAdapterSettings()
    monkeypatch.setenv("NODE_ADAPTER_RPC_URLS", '["http://a"]')
    monkeypatch.setenv("NODE_ADAPTER_CONFIRMATIONS", "-1")
    with pytest.raises(ValidationError, match="confirmations"):
        NodeAdapterSettings()


def test_the_consortium_key_comes_from_its_file_and_the_dev_key_only_on_dev_chains(tmp_path: Path) -> None:
    key_file = tmp_path / "consortium.key"
    key_file.write_text("0x" + "ab" * 32 + "\n")
    assert NodeAdapterSettings(consortium_key_file=key_file).subject_key(2024) == bytes.fromhex("ab" * 32)
    assert NodeAdapterSettings().subject_key(31337) == DEV_CONSORTIUM_KEY
    with pytest.raises(SettingsError, match="NODE_ADAPTER_CONSORTIUM_KEY_FILE"):
        NodeAdapterSettings().subject_key(2024)
    key_file.write_text("not hex")
    with pytest.raises(SettingsError, match="does not hold hex"):
        NodeAdapterSettings(consortium_key_file=key_file).subject_key(2024)
    key_file.write_text("abcd")
    with pytest.raises(SettingsError, match="at least 16"):
        NodeAdapterSettings(consortium_key_file=key_file).subject_key(2024)
    with pytest.raises(SettingsError, match="cannot read"):
        NodeAdapterSettings(consortium_key_file=tmp_path / "missing").subject_key(2024)
