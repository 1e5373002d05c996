"""Subscription secrets: ``whsec_`` + base64 of 32 random bytes, sealed at rest.

They are sealed with the MultiFernet keyring that seals connection credentials
(``connectors.base.credentials``: ``CRMHUB_SECRET_KEYS`` or ``var/secret.key``), shown
to the caller once when made, and opened only to sign a delivery.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Sequence

from cryptography.fernet import InvalidToken

from connectors.base.credentials import Secret, configured_keys, keyring
from connectors.base.errors import CredentialsError
from hub.settings import Settings

PREFIX = "whsec_"
SECRET_BYTES = 32


def new_secret() -> Secret:
    return Secret(PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii"))


def _keys(settings: Settings | None) -> Sequence[str]:
    return configured_keys(settings)


def seal(secret: Secret, settings: Settings | None = None) -> bytes:
    return keyring(_keys(settings)).encrypt(secret.reveal().encode("ascii"))


def unseal(sealed: bytes, settings: Settings | None = None) -> Secret:
    """The secret behind ``sealed``; ``CredentialsError`` when no configured key opens it."""
    try:
        return Secret(keyring(_keys(settings)).decrypt(sealed).decode("ascii"))
    except InvalidToken:
        raise CredentialsError("no configured key opens this webhook secret") from None
