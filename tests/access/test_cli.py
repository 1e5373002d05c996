"""`crmhub partners …`, `crmhub grants …` and `crmhub clients create --partner`, run in-process."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from hub.api.core.ids import from_global_id
from hub.auth.secrets import verify_secret
from hub.cli import app
from hub.models import Customer, OAuthClient, SharingGrant, SharingGrantCustomer
from hub.models.enums import ClientKind, CustomerStatus
from hub.settings import get_settings
from tests.access.conftest import column, gid, one

runner = CliRunner()


@pytest.fixture
def cli(settings, seeded) -> Iterator[callable]:
    """Run `crmhub ARGS` against the test database of this backend."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setenv("CRMHUB_DATABASE_URL", settings.database_url)
        get_settings.cache_clear()

        def run(*args: str, ok: bool = True):
            result = runner.invoke(app, list(args))
            result.text = " ".join(result.output.split())  # rich wraps long lines
            if ok:
                assert result.exit_code == 0, result.output
            else:
                assert result.exit_code != 0, result.output
            return result

        yield run
    get_settings.cache_clear()


def json_of(result) -> object:
    return json.loads(result.stdout)


def test_partners_create_and_list(cli):
    name = f"cli-{uuid.uuid4().hex[:8]}"
    made = json_of(cli("partners", "create", name, "--kind", "RESELLER", "--json"))
    assert made["name"] == name and made["kind"] == "RESELLER"
    duplicate = cli("partners", "create", name, "--kind", "RESELLER", ok=False)
    assert "exists" in duplicate.text
    listed = {p["name"]: p for p in json_of(cli("partners", "list", "--json"))}
    assert listed[name]["id"] == made["id"] and listed[name]["active_grants"] == 0
    plain = cli("partners", "list").stdout
    assert made["id"] in plain  # whole, never wrapped


def test_grants_create_list_and_revoke(cli, sync_engine):
    name = f"cli-{uuid.uuid4().hex[:8]}"
    cli("partners", "create", name, "--kind", "SUPPLIER")
    ids = column(
        sync_engine,
        select(Customer.id)
        .where(Customer.status == CustomerStatus.ACTIVE)
        .order_by(Customer.id)
        .limit(2),
    )
    listed = json_of(
        cli(
            "grants",
            "create",
            "--partner",
            name,
            "--customer",
            gid("Customer", ids[0]),
            "--customer",
            str(ids[1]),
            "--scopes",
            "customers:read orders:read",
            "--expires",
            "2099-12-31",
            "--json",
        )
    )
    assert listed["covers"] == "2 customer(s)"
    segment = json_of(
        cli(
            "grants",
            "create",
            "--partner",
            name,
            "--segment",
            "tag=wholesale,country!=fr",
            "--scopes",
            "customers:read",
            "--expires",
            "2099-06-30T12:00:00Z",
            "--json",
        )
    )
    assert segment["covers"] == "tag=wholesale,country!=FR"
    segment_row = one(
        sync_engine,
        select(SharingGrant).where(SharingGrant.id == from_global_id(segment["id"])[1]),
    )
    assert segment_row.segment == {
        "all": [{"tag": "wholesale"}, {"not": {"field": "country", "eq": "FR"}}]
    }
    assert segment_row.expires_at.isoformat().startswith("2099-06-30T12:00:00")
    grant_id = uuid.UUID(
        hex=__import__("hub.api.core.ids", fromlist=["x"]).from_global_id(listed["id"])[1].hex
    )
    row = one(sync_engine, select(SharingGrant).where(SharingGrant.id == grant_id))
    assert row.scope == "customers:read orders:read" and row.expires_at.isoformat().startswith(
        "2100-01-01"
    )
    assert sorted(
        column(
            sync_engine,
            select(SharingGrantCustomer.customer_id).where(
                SharingGrantCustomer.grant_id == grant_id
            ),
        )
    ) == sorted(ids)

    grants = json_of(cli("grants", "list", "--partner", name, "--json"))
    assert [g["state"] for g in grants] == ["ACTIVE", "ACTIVE"]
    cli("grants", "revoke", listed["id"])
    again = cli("grants", "revoke", listed["id"])
    assert "revoked" in again.stdout
    states = {
        g["id"]: g["state"] for g in json_of(cli("grants", "list", "--partner", name, "--json"))
    }
    assert states == {listed["id"]: "REVOKED", segment["id"]: "ACTIVE"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--segment", "tg=x"], "unknown field 'tg'"),
        (["--segment", "lifecycle_stage=BUYER"], "not a lifecycle_stage"),
        (["--segment", "tag="], "empty"),
        (["--segment", "tag=a", "--customer", "x"], "not both"),
        ([], "either --customer"),
        (["--customer", "nope"], "neither a Customer id nor a UUID"),
        (["--customer", str(uuid.UUID(int=7))], "No such customer"),
        (["--segment", "tag=a", "--expires", "someday"], "not a date"),
        (["--segment", "tag=a", "--expires", "2001-01-01"], "in the past"),
    ],
)
def test_grants_create_says_what_is_wrong(cli, args, message):
    name = f"cli-{uuid.uuid4().hex[:8]}"
    cli("partners", "create", name, "--kind", "AGENCY")
    result = cli(
        "grants", "create", "--partner", name, "--scopes", "customers:read", *args, ok=False
    )
    assert message in result.text
    assert "Traceback" not in result.output


def test_grants_create_refuses_scopes_a_grant_cannot_carry(cli):
    name = f"cli-{uuid.uuid4().hex[:8]}"
    cli("partners", "create", name, "--kind", "AGENCY")
    result = cli(
        "grants",
        "create",
        "--partner",
        name,
        "--segment",
        "tag=a",
        "--scopes",
        "orders:read",
        ok=False,
    )
    assert "must include customers:read" in result.text
    result = cli(
        "grants",
        "create",
        "--partner",
        "no-such-partner",
        "--segment",
        "tag=a",
        "--scopes",
        "customers:read",
        ok=False,
    )
    assert "No partner named" in result.text


def test_clients_create_for_a_partner(cli, sync_engine):
    name = f"cli-{uuid.uuid4().hex[:8]}"
    made = json_of(cli("partners", "create", name, "--kind", "SUPPLIER", "--json"))
    both = cli(
        "clients",
        "create",
        "--name",
        "x",
        "--scopes",
        "customers:read",
        "--internal",
        "--partner",
        name,
        ok=False,
    )
    assert "either --internal or --partner" in both.text
    neither = cli("clients", "create", "--name", "x", "--scopes", "customers:read", ok=False)
    assert "either --internal or --partner" in neither.text
    admin = cli(
        "clients",
        "create",
        "--name",
        "x",
        "--scopes",
        "customers:read partners:admin",
        "--partner",
        name,
        ok=False,
    )
    assert "cannot be given to a partner" in admin.text
    created = json_of(
        cli(
            "clients",
            "create",
            "--name",
            "their app",
            "--scopes",
            "customers:read",
            "--partner",
            name,
            "--json",
        )
    )
    row = one(sync_engine, select(OAuthClient).where(OAuthClient.client_id == created["client_id"]))
    assert row.kind is ClientKind.PARTNER and gid("Partner", row.partner_id) == made["id"]
    # The secret is printed once, stored only as its argon2 hash, and that hash is its own.
    assert row.secret_hash.startswith("$argon2") and created["client_secret"] not in row.secret_hash
    assert verify_secret(row.secret_hash, created["client_secret"])
    assert not verify_secret(row.secret_hash, created["client_secret"] + "x")
    assert row.scope == "customers:read"
