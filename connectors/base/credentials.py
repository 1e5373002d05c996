"""Connection credentials at rest: a JSON dict sealed with MultiFernet, and ``Secret`` in memory.

Keys come from ``Settings.secret_keys`` (``CRMHUB_SECRET_KEYS``, comma-separated,
the first encrypts, all decrypt). A hub with none configured (the embedded
mode) generates ``var/secret.key`` once, readable by its owner only; that file
may list several keys the same way, one a line. Rotation: put a new key first,
``rotate`` every stored token, then drop the old key.
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from pydantic import SecretStr

from connectors.base.errors import CredentialsError
from hub.settings import Settings, get_settings

log = logging.getLogger(__name__)

KEY_FILE = Path("var") / "secret.key"  # beside the embedded SQLite database


class Secret:
    """A string that shows itself only when asked: ``repr`` and ``str`` are ``***``."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "***"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(self._value.encode(), other._value.encode())

    __hash__ = None  # type: ignore[assignment]

    def __bool__(self) -> bool:
        return bool(self._value)


SecretLike = str | Secret | SecretStr


def reveal(value: SecretLike | None) -> str | None:
    """The plain string behind any of our secret wrappers."""
    if isinstance(value, Secret):
        return value.reveal()
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    return value


def generate_key() -> str:
    return Fernet.generate_key().decode("ascii")


def configured_keys(settings: Settings | None = None, key_file: Path = KEY_FILE) -> list[str]:
    """The Fernet keys in force, newest first."""
    settings = settings or get_settings()
    if settings.secret_keys:
        return list(settings.secret_keys)
    return _embedded_keys(key_file)


def _embedded_keys(path: Path) -> list[str]:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written whole under a temporary name, then linked: no reader ever sees half a key.
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".secret-")  # mode 0600
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(generate_key() + "\n")
            os.link(temporary, path)
            log.warning("generated the credentials key %s; back it up with the database", path)
        except FileExistsError:
            pass  # another process won the race; use its key
        finally:
            os.unlink(temporary)
    if path.stat().st_mode & 0o077:
        log.warning("%s is readable by other users; chmod 600 it", path)
    lines = (line.strip() for line in path.read_text().splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def keyring(keys: Sequence[str] | None = None) -> MultiFernet:
    """A MultiFernet over ``keys`` (default: the configured ones)."""
    keys = list(keys) if keys is not None else configured_keys()
    if not keys:
        raise CredentialsError("no credentials key configured")
    try:
        return MultiFernet([Fernet(key) for key in keys])
    except (ValueError, TypeError):
        raise CredentialsError("a configured credentials key is not a Fernet key") from None


def _plain(value: Any) -> Any:
    if isinstance(value, Secret | SecretStr):
        return reveal(value)
    raise TypeError(f"cannot store {type(value).__name__} in credentials")


def encrypt(data: Mapping[str, Any], keys: Sequence[str] | None = None) -> bytes:
    """Seal a credentials dict with the current key."""
    plain = json.dumps(dict(data), default=_plain, separators=(",", ":"), sort_keys=True)
    return keyring(keys).encrypt(plain.encode())


def decrypt(token: bytes, keys: Sequence[str] | None = None) -> dict[str, Any]:
    """Open a credentials token with any configured key."""
    try:
        return json.loads(keyring(keys).decrypt(token))
    except InvalidToken:
        raise CredentialsError("no configured key opens these credentials") from None


def rotate(token: bytes, keys: Sequence[str] | None = None) -> bytes:
    """Re-seal a token under the current (first) key; the old key can go once all are rotated."""
    try:
        return keyring(keys).rotate(token)
    except InvalidToken:
        raise CredentialsError("no configured key opens these credentials") from None
