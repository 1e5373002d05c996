"""The keys that sign JWT access tokens: made, sealed at rest, rotated, published as a JWK set.

The newest key not yet retired signs. ``crmhub keys rotate`` adds a new key and
retires the others: a retired key no longer signs but still verifies, and stays
in the JWK set, until ``expires_at`` — when the last access token it can have
signed has expired. A later rotation deletes it.

Private keys are kept as PEM sealed with the hub's secret keys, the same
MultiFernet keyring that seals connection credentials
(``connectors.base.credentials``: ``CRMHUB_SECRET_KEYS``, or the embedded
``var/secret.key``). Losing those keys loses the signing keys too; a rotation
then makes a usable one again, and tokens signed before are refused.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from joserfc.jwk import OKPKey, RSAKey
from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from hub.models.access import SigningKey
from hub.models.base import utcnow
from hub.settings import Settings

# RFC 9068 §2.1 asks every server to support RS256; Ed25519 (RFC 9864) is the small, fast one.
ALGORITHMS: tuple[str, ...] = ("RS256", "Ed25519")
RSA_KEY_BITS = 2048
# A retired key outlives its newest token by this much, for clocks that disagree a little.
CLOCK_SKEW = timedelta(minutes=5)

Key = RSAKey | OKPKey


def _keyring(settings: Settings) -> Any:
    from connectors.base.credentials import configured_keys, keyring

    return keyring(configured_keys(settings))


def generate_key(alg: str) -> Key:
    """A new private key for ``alg``; its ``kid`` is its RFC 7638 thumbprint."""
    parameters = {"alg": alg, "use": "sig"}
    if alg == "RS256":
        return RSAKey.generate_key(RSA_KEY_BITS, parameters, private=True, auto_kid=True)
    if alg == "Ed25519":
        return OKPKey.generate_key("Ed25519", parameters, private=True, auto_kid=True)
    raise ValueError(f"unsupported signing algorithm {alg!r}; use one of {', '.join(ALGORITHMS)}")


def public_key(jwk: dict[str, Any]) -> Key:
    """The verifying key of a stored public JWK."""
    if jwk.get("kty") == "RSA":
        return RSAKey.import_key(jwk)
    if jwk.get("kty") == "OKP":
        return OKPKey.import_key(jwk)
    raise ValueError(f"unsupported key type {jwk.get('kty')!r}")


def add_key(session: Session, settings: Settings, alg: str | None = None) -> SigningKey:
    """Make a key, seal its private half, and add it (flushed, not committed) as the current one."""
    key = generate_key(alg or settings.auth.signing_alg)
    row = SigningKey(
        kid=key.kid,
        alg=key.alg,
        private_key_encrypted=_keyring(settings).encrypt(key.as_pem(private=True)),
        public_jwk=key.as_dict(private=False),
        created_at=utcnow(),
    )
    session.add(row)
    session.flush()
    return row


def current_key(session: Session) -> SigningKey | None:
    """The key that signs now: the newest one not retired."""
    return session.scalars(
        select(SigningKey)
        .where(SigningKey.retired_at.is_(None))
        .order_by(SigningKey.created_at.desc())
        .limit(1)
    ).first()


def published_keys(session: Session, now: datetime | None = None) -> list[SigningKey]:
    """Keys that may verify a token now: the current ones and the retired ones not yet expired."""
    now = now or utcnow()
    return list(
        session.scalars(
            select(SigningKey)
            .where(or_(SigningKey.expires_at.is_(None), SigningKey.expires_at > now))
            .order_by(SigningKey.created_at.desc())
        )
    )


def jwks(session: Session) -> dict[str, list[dict[str, Any]]]:
    """The public JWK set (RFC 7517) served at ``jwks_uri``, newest key first."""
    return {"keys": [dict(row.public_jwk) for row in published_keys(session)]}


@dataclass(frozen=True)
class Rotation:
    new_kid: str
    retired: list[str]
    deleted: list[str]


def rotate(session: Session, settings: Settings, alg: str | None = None) -> Rotation:
    """Add a new signing key, retire the others, and delete keys whose tokens have all expired.

    A retired key expires one access-token lifetime (plus clock skew) from now:
    every token it signed expires before that.
    """
    now = utcnow()
    deleted = list(
        session.scalars(
            delete(SigningKey)
            .where(SigningKey.expires_at.is_not(None), SigningKey.expires_at <= now)
            .returning(SigningKey.kid)
        )
    )
    retired = list(
        session.scalars(
            update(SigningKey)
            .where(SigningKey.retired_at.is_(None))
            .values(
                retired_at=now,
                expires_at=now
                + timedelta(seconds=settings.auth.access_token_ttl_seconds)
                + CLOCK_SKEW,
            )
            .returning(SigningKey.kid)
        )
    )
    new = add_key(session, settings, alg)
    return Rotation(new_kid=new.kid, retired=retired, deleted=deleted)


class TokenSigner:
    """The current private key, unsealed once per key; a rotation is picked up at the next token.

    The first token of a hub without keys makes the first key, so an embedded
    hub needs no set-up step.
    """

    def __init__(self, settings: Settings, sessions: sessionmaker[Session]) -> None:
        self.settings = settings
        self.sessions = sessions
        self._lock = threading.Lock()
        self._kid: str | None = None
        self._key: Key | None = None

    def current(self) -> Key:
        with self.sessions.begin() as session:
            row = current_key(session) or add_key(session, self.settings)
            kid, alg, sealed = row.kid, row.alg, row.private_key_encrypted
        with self._lock:
            if kid != self._kid or self._key is None:
                pem = _keyring(self.settings).decrypt(sealed)
                parameters = {"kid": kid, "alg": alg, "use": "sig"}
                cls = RSAKey if alg == "RS256" else OKPKey
                self._key = cls.import_key(pem, parameters=parameters)
                self._kid = kid
            return self._key
