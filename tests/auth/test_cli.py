"""`crmhub users create` and `crmhub keys rotate|list` (their Typer apps, run in-process)."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import chain

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select
from typer.testing import CliRunner

from hub.auth.passwords import verify_password
from hub.cli_keys import keys_app
from hub.cli_users import users_app
from hub.db import create_sync_engine, sync_session_factory
from hub.migrate import upgrade
from hub.models.access import Partner, SigningKey, User
from hub.models.enums import PartnerKind, UserRole
from hub.settings import Settings, get_settings
from tests.auth.conftest import BACKENDS, empty_database

runner = CliRunner()
PASSWORD = "a long enough password"


@pytest.fixture(scope="module", params=BACKENDS)
def database(request: pytest.FixtureRequest) -> Iterator[Settings]:
    """One migrated database for the module; the commands find it through the environment."""
    with pytest.MonkeyPatch.context() as monkeypatch, empty_database(request, request.param) as url:
        monkeypatch.setenv("CRMHUB_DATABASE_URL", url)
        monkeypatch.setenv("CRMHUB_SECRET_KEYS", Fernet.generate_key().decode())
        get_settings.cache_clear()
        settings = get_settings()
        engine = create_sync_engine(settings)
        upgrade(engine)
        engine.dispose()
        yield settings
    get_settings.cache_clear()


def users(settings: Settings, email: str) -> list[User]:
    engine = create_sync_engine(settings)
    try:
        with sync_session_factory(engine)() as session:
            return list(session.scalars(select(User).where(User.email == email)))
    finally:
        engine.dispose()


def test_users_create_stores_an_argon2_hash(database: Settings) -> None:
    result = runner.invoke(
        users_app,
        ["create", "--email", "Bob@Example.com", "--name", "Bob", "--password-stdin"],
        input=PASSWORD + "\n",
    )

    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output
    [bob] = users(database, "bob@example.com")
    assert bob.email == "bob@example.com" and bob.role is UserRole.STAFF and bob.partner_id is None
    assert bob.password_hash.startswith("$argon2id$")
    assert verify_password(bob.password_hash, PASSWORD)


def test_users_create_prompts_for_the_password(database: Settings) -> None:
    result = runner.invoke(
        users_app,
        ["create", "--email", "eve@example.com", "--name", "Eve"],
        input=f"{PASSWORD}\n{PASSWORD}\n",
    )
    assert result.exit_code == 0, result.output
    assert verify_password(users(database, "eve@example.com")[0].password_hash, PASSWORD)


def test_users_create_for_a_partner(database: Settings) -> None:
    engine = create_sync_engine(database)
    with sync_session_factory(engine).begin() as session:
        partner = Partner(name="Acme Resellers", kind=PartnerKind.RESELLER)
        session.add(partner)
        session.flush()
        partner_id = partner.id
    engine.dispose()

    result = runner.invoke(
        users_app,
        [
            "create",
            "--email",
            "pat@acme.example",
            "--name",
            "Pat",
            "--partner",
            "Acme Resellers",
            "--password-stdin",
        ],
        input=PASSWORD + "\n",
    )

    assert result.exit_code == 0, result.output
    [pat] = users(database, "pat@acme.example")
    assert pat.partner_id == partner_id and pat.role is UserRole.PARTNER


@pytest.mark.parametrize(
    ("options", "password", "message"),
    [
        ({"--partner": "Nobody Inc"}, PASSWORD, "no partner"),
        ({}, "short", "at least"),
        ({"--email": "not-an-address"}, PASSWORD, "e-mail"),
    ],
)
def test_users_create_refuses(
    database: Settings, options: dict[str, str], password: str, message: str
) -> None:
    options = {"--email": "ann@example.com", "--name": "Ann", **options}
    email = options["--email"]
    argv = ["create", *chain.from_iterable(options.items()), "--password-stdin"]

    result = runner.invoke(users_app, argv, input=password + "\n")

    assert result.exit_code == 1
    assert message in result.output
    assert users(database, email) == []


def test_users_create_refuses_a_taken_address(database: Settings) -> None:
    argv = ["create", "--email", "cy@example.com", "--name", "Cy", "--password-stdin"]
    assert runner.invoke(users_app, argv, input=PASSWORD + "\n").exit_code == 0
    argv[2] = "CY@example.com"
    again = runner.invoke(users_app, argv, input=PASSWORD + "\n")
    assert again.exit_code == 1
    assert "exists" in again.output


def test_keys_rotate_and_list(database: Settings) -> None:
    first = runner.invoke(keys_app, ["rotate"])
    second = runner.invoke(keys_app, ["rotate", "--alg", "Ed25519"])
    listing = runner.invoke(keys_app, ["list"])

    assert first.exit_code == 0 and second.exit_code == 0, first.output + second.output
    engine = create_sync_engine(database)
    with sync_session_factory(engine)() as session:
        keys = {key.kid: key for key in session.scalars(select(SigningKey))}
    engine.dispose()
    assert len(keys) == 2
    [current] = [key for key in keys.values() if key.retired_at is None]
    assert current.alg == "Ed25519" and current.kid in second.output
    assert "retired" in second.output
    assert listing.exit_code == 0, listing.output
    assert "signing" in listing.output and "verifies" in listing.output
    assert runner.invoke(keys_app, ["rotate", "--alg", "HS256"]).exit_code != 0
