"""Client secrets and access tokens: how they are made and how only their hashes are kept.

Client secrets are hashed with argon2id; access tokens, being long random
strings looked up on every API request, are stored as a SHA-256 digest.
"""

from __future__ import annotations

import hashlib
import secrets
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# Secrets are 256 random bits, so the hash's cost adds no guessing resistance;
# OWASP's minimum argon2id profile (19 MiB, 2 passes) keeps a burst of token
# requests from exhausting memory, unlike the library default of 64 MiB each.
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)

CLIENT_ID_PREFIX = "crm_"


def new_client_id() -> str:
    """A public, unguessable client identifier such as ``crm_Xb3…`` (28 characters)."""
    return CLIENT_ID_PREFIX + secrets.token_urlsafe(18)


def new_secret() -> str:
    """A client secret: 256 random bits, URL-safe."""
    return secrets.token_urlsafe(32)


def new_token() -> str:
    """An opaque bearer access token, refresh token or authorization code: 256 random bits, URL-safe."""
    return secrets.token_urlsafe(32)


def new_jti() -> str:
    """A JWT id: 128 random bits, URL-safe; unique, not secret."""
    return secrets.token_urlsafe(16)


def hash_secret(secret: str) -> str:
    """The argon2id hash of a client secret, to be stored instead of the secret."""
    return _hasher.hash(secret)


def verify_secret(secret_hash: str | None, secret: str) -> bool:
    """Whether ``secret`` matches ``secret_hash``; a missing or corrupt hash never matches."""
    if not secret_hash:
        burn_verification()
        return False
    try:
        return _hasher.verify(secret_hash, secret)
    except (VerificationError, InvalidHashError):
        return False


def secret_needs_rehash(secret_hash: str) -> bool:
    """Whether the hash was made with other parameters than today's and should be renewed."""
    try:
        return _hasher.check_needs_rehash(secret_hash)
    except InvalidHashError:
        return False


@lru_cache(maxsize=1)
def _decoy_hash() -> str:
    return _hasher.hash(new_secret())


def burn_verification() -> None:
    """Spend the time of one failed verification.

    Called when there is no hash to check (unknown or disabled client) so that
    the response time does not tell which client ids exist.
    """
    try:
        _hasher.verify(_decoy_hash(), "not-the-secret")
    except VerificationError:
        pass


def token_digest(token: str) -> str:
    """SHA-256 hex digest of a token: how tokens are stored and looked up."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
