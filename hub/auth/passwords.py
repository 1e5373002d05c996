"""Users' passwords, kept as argon2id hashes.

Unlike client secrets (random, see ``hub.auth.secrets``) passwords are chosen
by people, so they get argon2's full default cost (RFC 9106's second profile:
64 MiB, 3 passes).
"""

from __future__ import annotations

from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
MIN_PASSWORD_LENGTH = 12


def check_new_password(password: str) -> None:
    """Raise ``ValueError`` for a password too weak to set."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches; a missing hash costs a verification all the same."""
    if not password_hash:
        _burn()
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def password_needs_rehash(password_hash: str) -> bool:
    try:
        return _hasher.check_needs_rehash(password_hash)
    except InvalidHashError:
        return False


@lru_cache(maxsize=1)
def _decoy_hash() -> str:
    return _hasher.hash("not anyone's password")


def _burn() -> None:
    # An unknown e-mail address takes as long as a wrong password.
    try:
        _hasher.verify(_decoy_hash(), "something else")
    except VerificationError:
        pass
