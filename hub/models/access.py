"""Who may come in: partners, users, OAuth 2 clients, codes, tokens and signing keys.

Secrets, codes and tokens are stored hashed; signing keys' private halves encrypted.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, LargeBinary, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from hub.models.base import Base, UTCDateTime, new_id, utcnow
from hub.models.enums import ClientKind, PartnerKind, UserRole, enum_type


class Partner(Base):
    __tablename__ = "partners"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[PartnerKind] = mapped_column(enum_type(PartnerKind))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class User(Base):
    __tablename__ = "users"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(String(200))
    role: Mapped[UserRole] = mapped_column(enum_type(UserRole), default=UserRole.STAFF)
    partner_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("partners.id", ondelete="CASCADE")
    )
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OAuthClient(Base):
    __tablename__ = "oauth_clients"

    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    # argon2 hash of the secret; the secret itself is shown once, at creation.
    secret_hash: Mapped[str | None] = mapped_column(String(200))
    kind: Mapped[ClientKind] = mapped_column(enum_type(ClientKind))
    partner_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("partners.id", ondelete="CASCADE"), index=True
    )
    scope: Mapped[str] = mapped_column(String(1000), default="")
    grant_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    redirect_uris: Mapped[list[str]] = mapped_column(JSON, default=list)
    token_endpoint_auth_method: Mapped[str] = mapped_column(
        String(50), default="client_secret_basic"
    )
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class OAuthToken(Base):
    __tablename__ = "oauth_tokens"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    # SHA-256 of the bearer token: tokens are high-entropy, a fast hash is enough.
    access_token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    refresh_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    client_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("oauth_clients.client_id", ondelete="CASCADE")
    )
    user_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="CASCADE")
    )
    scope: Mapped[str] = mapped_column(String(1000), default="")
    token_type: Mapped[str] = mapped_column(String(20), default="Bearer")
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The `jti` of a JWT access token: what bearer checks and revocation lists name.
    jti: Mapped[str | None] = mapped_column(String(64), unique=True)
    # Tokens from one authorization (its code, then every refresh) share a family,
    # so that a replayed code or a reused refresh token can revoke them all.
    family_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, index=True)
    rotated_from: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("oauth_tokens.id", ondelete="SET NULL")
    )
    refresh_token_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the refresh token was exchanged for the next one; presenting it again is reuse.
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_oauth_tokens_client", "client_id", "issued_at"),)


class AuthorizationCode(Base):
    """A code of the authorization-code grant, stored as its SHA-256 like tokens are."""

    __tablename__ = "oauth_authorization_codes"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    client_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("oauth_clients.client_id", ondelete="CASCADE")
    )
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id", ondelete="CASCADE"))
    redirect_uri: Mapped[str] = mapped_column(String(2000))
    scope: Mapped[str] = mapped_column(String(1000), default="")
    code_challenge: Mapped[str] = mapped_column(String(128))
    code_challenge_method: Mapped[str] = mapped_column(String(10), default="S256")
    # The family of the tokens the code is exchanged for, chosen up front.
    family_id: Mapped[uuid.UUID] = mapped_column(Uuid, default=new_id)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SigningKey(Base):
    """A key that signs JWT access tokens; retired keys stay published until their tokens expire."""

    __tablename__ = "oauth_signing_keys"

    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    alg: Mapped[str] = mapped_column(String(16))
    # The private key as PEM, sealed with the hub's secret keys (Fernet).
    private_key_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    public_jwk: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Set when a newer key took over signing; from then on the key only verifies.
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the last token it signed has expired; afterwards the key is dropped.
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
