"""What the benchmark and the profiler share: databases, demo data, the token, the requests."""

from __future__ import annotations

import contextlib
import os
import platform
import re
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import create_engine, insert, text
from sqlalchemy.engine import make_url

from hub.db import create_sync_engine, sync_session_factory
from hub.migrate import upgrade
from hub.models import OAuthToken, new_id, utcnow
from hub.models.enums import ClientKind
from hub.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
OPERATIONS = ROOT / "graphql" / "operations"
DOCS = ROOT / "docs" / "benchmarks.md"
POSTGRES_ADMIN_URL = os.environ.get(
    "CRMHUB_BENCH_POSTGRES_URL",
    os.environ.get("CRMHUB_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
)
READ_ALL = (
    "customers:read customers:read_pii orders:read interactions:read cases:read feedback:read"
)
UNTHROTTLED = {"capacity": 1_000_000_000, "refill_per_second": 1_000_000_000}
# How many distinct customers / pages the load cycles through.
CUSTOMER_IDS = 200
GRAPHQL_ACCEPT = "application/graphql-response+json"


def operation(name: str) -> str:
    return (OPERATIONS / f"{name}.graphql").read_text()


# -- databases --------------------------------------------------------------------------------


def postgres_available(admin_url: str = POSTGRES_ADMIN_URL) -> str | None:
    """None when a PostgreSQL server answers, else why not."""
    try:
        engine = create_engine(make_url(admin_url).set(drivername="postgresql+psycopg"))
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as error:  # noqa: BLE001 - any failure means "skip PostgreSQL"
        return f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
    return None


@contextlib.contextmanager
def database(backend: str) -> Iterator[str]:
    """A new, empty database URL of the backend, removed afterwards."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="crmhub-bench-") as tmp:
            yield f"sqlite:///{Path(tmp) / 'bench.db'}"
        return
    name = f"crmhub_bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(
        make_url(POSTGRES_ADMIN_URL).set(drivername="postgresql+psycopg"),
        isolation_level="AUTOCOMMIT",
    )
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def prepare(url: str, customers: int) -> str:
    """Migrate, seed the demo data and return a bearer token with every read scope."""
    from hub.auth.clients import create_client
    from hub.auth.secrets import new_token, token_digest
    from hub.demo import seed

    engine = create_sync_engine(Settings(database_url=url))
    try:
        upgrade(engine)
        seed(engine, customers)
        if engine.dialect.name == "postgresql":
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE"))
        else:
            with engine.begin() as conn:
                conn.execute(text("ANALYZE"))
        token = new_token()
        with sync_session_factory(engine).begin() as session:
            client, _ = create_client(
                session,
                name=f"bench-{uuid.uuid4().hex[:8]}",
                kind=ClientKind.INTERNAL,
                scopes=READ_ALL,
            )
            # A client with limits of its own (as a busy internal integration would have):
            # the rate limiter still does its accounting on every request, but never refuses.
            client.settings = {**(client.settings or {}), "rate_limit": UNTHROTTLED}
            # A Core insert of the columns a bearer token needs (the others keep their
            # defaults), as tests/conftest.py `mint_token` makes one.
            session.execute(
                insert(OAuthToken.__table__).values(
                    id=new_id(),
                    access_token_hash=token_digest(token),
                    client_id=client.client_id,
                    scope=READ_ALL,
                    token_type="Bearer",
                    issued_at=utcnow(),
                    expires_at=utcnow() + timedelta(hours=6),
                )
            )
        return token
    finally:
        engine.dispose()


def customer_ids(url: str, count: int = CUSTOMER_IDS) -> list[str]:
    """Global ids of ``count`` customers spread evenly over the table (deterministic)."""
    from hub.api.core.ids import to_global_id

    engine = create_sync_engine(Settings(database_url=url))
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT id FROM customers ORDER BY id")).scalars().all()
    finally:
        engine.dispose()
    step = max(1, len(rows) // count)
    ids = rows[::step][:count]
    return [
        to_global_id("Customer", i if isinstance(i, uuid.UUID) else uuid.UUID(hex=i)) for i in ids
    ]


# -- the requests -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Req:
    method: str
    path: str
    body: bytes | None = None


@dataclass(frozen=True)
class Workload:
    """One operation as both targets are asked it: the same list of arguments, cycled."""

    name: str
    label: str
    hub: list[Req]
    raw: list[Req]
    expect: bytes  # every successful body starts with this


def hub_body(op: str, variables: dict[str, Any]) -> bytes:
    return orjson.dumps({"query": operation(op), "operationName": op, "variables": variables})


def customer360_workload(ids: list[str]) -> Workload:
    return Workload(
        name="customer360",
        label="Customer360",
        hub=[Req("POST", "/graphql", hub_body("Customer360", {"id": i})) for i in ids],
        raw=[Req("GET", f"/raw/customer360/{i}") for i in ids],
        expect=b'{"data":{"customer":{',
    )


def customers_workload(cursors: list[str | None]) -> Workload:
    return Workload(
        name="customers",
        label="CustomersWithOrders (50 + orders)",
        hub=[
            Req("POST", "/graphql", hub_body("CustomersWithOrders", {"first": 50, "after": c}))
            for c in cursors
        ],
        raw=[Req("GET", "/raw/customers" + (f"?after={c}" if c else "")) for c in cursors],
        expect=b'{"data":{"customers":{',
    )


def hub_headers(token: str) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {token}",
        "Content-Type": "application/json",
        "Accept": GRAPHQL_ACCEPT,
    }


def walk_pages(
    fetch: Callable[[str | None], dict[str, Any]], limit: int = 1000
) -> list[str | None]:
    """The ``after`` of every page of CustomersWithOrders, starting with None."""
    cursors: list[str | None] = [None]
    while len(cursors) < limit:
        info = fetch(cursors[-1])["customers"]["pageInfo"]
        if not info["hasNextPage"]:
            break
        cursors.append(info["endCursor"])
    return cursors


def machine() -> str:
    """What a run was measured on: CPUs, their model, Python and the system."""
    cpu = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return (f"{os.cpu_count()} CPUs (nproc {len(os.sched_getaffinity(0))}), {cpu}; "
            f"Python {platform.python_version()} on {platform.system()} {platform.release()}")


def write_section(begin: str, end: str, text: str) -> None:
    """``text`` in place of the section of docs/benchmarks.md between ``begin`` and ``end``,
    or appended when the file has none yet."""
    # Re-read just before writing: the other sections of the file belong to other benchmarks.
    current = DOCS.read_text() if DOCS.exists() else "# Benchmarks\n"
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.DOTALL)
    if pattern.search(current):
        updated = pattern.sub(lambda _: text, current)
    else:
        updated = current.rstrip("\n") + "\n\n" + text + "\n"
    DOCS.write_text(updated)
    print(f"\nwrote {DOCS.relative_to(ROOT)}")
