"""Credentials sealed with MultiFernet; keys from settings or a generated key file."""

from __future__ import annotations

import stat

import pytest

from connectors.base import CredentialsError, Secret, decrypt, encrypt, generate_key, rotate
from connectors.base.credentials import configured_keys
from hub.settings import Settings

CREDENTIALS = {"api_key": "sk_live_abc", "refresh_token": "r-1"}


def test_encrypt_then_decrypt():
    keys = [generate_key()]
    token = encrypt(CREDENTIALS, keys)
    assert isinstance(token, bytes) and b"sk_live_abc" not in token
    assert decrypt(token, keys) == CREDENTIALS


def test_rotation_moves_tokens_to_the_new_key():
    old, new = generate_key(), generate_key()
    token = encrypt(CREDENTIALS, [old])
    assert decrypt(token, [new, old]) == CREDENTIALS  # old tokens still open during rotation
    rotated = rotate(token, [new, old])
    assert decrypt(rotated, [new]) == CREDENTIALS  # the old key can go
    with pytest.raises(CredentialsError):
        decrypt(token, [new])


def test_wrong_or_malformed_keys_raise_without_revealing_them():
    with pytest.raises(CredentialsError):
        decrypt(encrypt(CREDENTIALS, [generate_key()]), [generate_key()])
    with pytest.raises(CredentialsError) as caught:
        encrypt(CREDENTIALS, ["not-a-fernet-key"])
    assert "not-a-fernet-key" not in str(caught.value)


def test_secret_values_are_stored_plain_inside_the_token():
    keys = [generate_key()]
    assert decrypt(encrypt({"api_key": Secret("k")}, keys), keys) == {"api_key": "k"}


def test_keys_come_from_the_environment_comma_separated(monkeypatch, tmp_path):
    first, second = generate_key(), generate_key()
    monkeypatch.setenv("CRMHUB_SECRET_KEYS", f"{first}, {second}")
    assert configured_keys(Settings(), key_file=tmp_path / "unused.key") == [first, second]
    assert not (tmp_path / "unused.key").exists()


def test_an_embedded_hub_generates_its_key_file_once(monkeypatch, tmp_path):
    monkeypatch.delenv("CRMHUB_SECRET_KEYS", raising=False)
    key_file = tmp_path / "var" / "secret.key"
    keys = configured_keys(Settings(), key_file=key_file)
    assert len(keys) == 1
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert configured_keys(Settings(), key_file=key_file) == keys
    assert decrypt(encrypt(CREDENTIALS, keys), keys) == CREDENTIALS


def test_secret_hides_itself():
    secret = Secret("hunter2")
    assert repr(secret) == str(secret) == f"{secret}" == "***"
    assert "hunter2" not in repr({"password": secret})
    assert secret.reveal() == "hunter2"
    assert secret == Secret("hunter2") and secret != Secret("other")
