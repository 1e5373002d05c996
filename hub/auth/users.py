"""People who sign in to authorize applications: creating them and checking their passwords."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from hub.auth.grants import ResourceOwner
from hub.auth.passwords import (
    check_new_password,
    hash_password,
    password_needs_rehash,
    verify_password,
)
from hub.models.access import Partner, User
from hub.models.enums import UserRole

MAX_EMAIL_LENGTH = 320  # User.email


class UserExistsError(ValueError):
    pass


def create_user(
    session: Session,
    *,
    email: str,
    name: str,
    password: str,
    partner_id: uuid.UUID | None = None,
) -> User:
    """Add a user (flushed, not committed): staff, or a partner's when ``partner_id`` is given.

    The e-mail address is kept in lower case, the password as an argon2id hash.
    Raises ``ValueError`` for a bad address, name, password or partner, and
    ``UserExistsError`` for an address already taken.
    """
    email = email.strip().lower()
    name = name.strip()
    if "@" not in email or len(email) > MAX_EMAIL_LENGTH or any(c.isspace() for c in email):
        raise ValueError("an e-mail address is needed")
    if not name:
        raise ValueError("a user needs a name")
    check_new_password(password)
    if partner_id is not None and session.get(Partner, partner_id) is None:
        raise ValueError(f"no partner {partner_id}")
    if session.scalar(select(User.id).where(func.lower(User.email) == email)) is not None:
        raise UserExistsError(f"a user with e-mail {email} exists")
    user = User(
        email=email,
        name=name,
        password_hash=hash_password(password),
        role=UserRole.PARTNER if partner_id else UserRole.STAFF,
        partner_id=partner_id,
    )
    session.add(user)
    session.flush()
    return user


def sign_in(sessions: sessionmaker[Session], email: str, password: str) -> ResourceOwner | None:
    """The active user with this e-mail address and password, or None.

    An unknown address, a disabled user and a wrong password cost the same and fail alike.
    """
    email = email.strip().lower()
    with sessions.begin() as session:
        user = None
        if email and len(email) <= MAX_EMAIL_LENGTH:
            user = session.scalar(select(User).where(func.lower(User.email) == email))
        if user is None or not user.is_active:
            verify_password(None, password)
            return None
        if not verify_password(user.password_hash, password):
            return None
        if password_needs_rehash(user.password_hash or ""):
            session.execute(
                update(User).where(User.id == user.id).values(password_hash=hash_password(password))
            )
        return ResourceOwner(id=user.id, partner_id=user.partner_id, email=user.email)
