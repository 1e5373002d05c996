"""`crmhub audit`: the log on the command line, filtered, newest first, as a table or JSON."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from hub.access.audit import Actor, record_sync
from hub.models import OAuthClient, Partner
from hub.models.audit import ActorKind
from hub.models.enums import ClientKind, PartnerKind

ROOT = Path(__file__).resolve().parents[2]


def crmhub(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRMHUB_")}
    env["CRMHUB_DATABASE_URL"] = database_url
    env["COLUMNS"] = "200"
    return subprocess.run(
        [sys.executable, "-c", "from hub.cli import main; main()", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )


@pytest.fixture(scope="module")
def acme(sync_engine):
    """A partner and its client, with three events of theirs and one of somebody else."""
    suffix = uuid.uuid4().hex[:8]
    partner_id, client_id = uuid.uuid4(), f"cli-{suffix}"
    with sync_engine.begin() as conn:
        conn.execute(Partner.__table__.insert().values(
            id=partner_id, name=f"Acme {suffix}", kind=PartnerKind.RESELLER, created_at=_now(),
        ))
        conn.execute(OAuthClient.__table__.insert().values(
            client_id=client_id, name=f"Acme app {suffix}", kind=ClientKind.PARTNER,
            partner_id=partner_id, scope="", grant_types=[], redirect_uris=[],
            token_endpoint_auth_method="client_secret_basic", settings={}, created_at=_now(),
        ))
        actor = Actor(ActorKind.CLIENT, client_id, None, partner_id)
        record_sync(conn, actor, "customer.read_pii", "customer", uuid.uuid4(), ["birthDate"])
        record_sync(conn, actor, "customer.tag", "customer", uuid.uuid4(), ["tags"], {"tags": ["vip"]})
        record_sync(conn, actor, "case.comment", "case", uuid.uuid4(), ["body"])
        record_sync(conn, Actor(ActorKind.CLIENT, "someone-else"), "customer.tag", "customer", None)
    return {"partner": f"Acme {suffix}", "partner_id": partner_id, "client": client_id}


def _now():
    from hub.models import utcnow

    return utcnow()


def test_by_partner_name_as_json_newest_first(database_url, acme):
    result = crmhub(database_url, "audit", "--partner", acme["partner"], "--json")
    assert result.returncode == 0, result.stderr
    events = json.loads(result.stdout)
    assert [e["action"] for e in events] == ["case.comment", "customer.tag", "customer.read_pii"]
    assert {e["partner_id"] for e in events} == {str(acme["partner_id"])}
    assert events[1]["details"] == {"tags": ["vip"]} and events[1]["actor_kind"] == "CLIENT"


def test_by_client_action_since_and_limit(database_url, acme):
    args = ["audit", "--client", acme["client"], "--since", "1h", "--json"]
    only_customers = json.loads(crmhub(database_url, *args, "--action", "customer.*").stdout)
    assert [e["action"] for e in only_customers] == ["customer.tag", "customer.read_pii"]
    two = json.loads(crmhub(database_url, *args, "--action", "case.comment", "--action", "customer.tag").stdout)
    assert [e["action"] for e in two] == ["case.comment", "customer.tag"]
    assert len(json.loads(crmhub(database_url, *args, "--limit", "1").stdout)) == 1
    future = json.loads(crmhub(database_url, *args[:3], "--since", "2999-01-01T00:00", "--json").stdout)
    assert future == []


def test_a_table_for_people(database_url, acme):
    result = crmhub(database_url, "audit", "--client", acme["client"])
    assert result.returncode == 0, result.stderr
    assert "customer.read_pii" in result.stdout and "birthDate" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--partner", "Nobody Ltd"], "no partner named or numbered 'Nobody Ltd'"),
        (["--client", "nope"], "no client with the id or name 'nope'"),
        (["--since", "yesterday"], "--since 'yesterday'"),
    ],
)
def test_clear_errors(database_url, acme, args, message):
    result = crmhub(database_url, "audit", *args)
    assert result.returncode == 1
    assert message in " ".join(result.stderr.split())
