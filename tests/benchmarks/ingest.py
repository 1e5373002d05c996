"""Ingest: records/s through the whole sync pipeline against a raw bulk insert of the same rows.

    .venv/bin/python -m tests.benchmarks.ingest [--backend sqlite|postgresql|all]
        [--records 100000] [--page-size 500] [--rounds 1] [--profile] [--no-docs]

Each record is a person as a platform lists them (id, mixed-case e-mail,
international phone, names, ``updated_at``), generated lazily page by page, a
new person each (a first sync). Two sides, each in a fresh database of the
backend:

- **hub**: ``hub.sync.engine.run_stream`` with a stream-style mapping
  (raw dict -> ``SourceRecordData``): per page one transaction holding the
  records (``CanonicalWriter.write_page``: source identity look-up, payload hash,
  identity resolution by e-mail and phone with its profile hook, customers,
  contact points, the customer events), the stream bookmark and the run's counts.
- **raw (the LIMIT)**: the same canonical rows, customers + source records +
  contact points, built straight from the raw records (the normalised values the
  generator knows, the same search fields and payload hash) and written by the
  driver alone: ``executemany`` (sqlite3) or ``COPY ... FROM STDIN`` (psycopg's
  ``cursor.copy``), also one transaction per page.

Every side, set-up and check runs in a subprocess of its own, and this parent
imports nothing heavier than the standard library: a child's
``resource.getrusage(RUSAGE_SELF).ru_maxrss`` includes the high-water mark of the
process it was forked from, which must not be larger than the child's own.
Before reporting, the two databases are checked to hold the same rows (counts,
and every column but ids and timestamps for a sample of records). Results go to
stdout and to the "Ingest" section of docs/benchmarks.md (``--no-docs`` to leave
it alone). ``--profile`` runs the hub side under cProfile and prints its top costs.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy import Engine

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs" / "benchmarks.md"
BEGIN, END = "<!-- ingest-bench:begin -->", "<!-- ingest-bench:end -->"
RESULTS_MARK = "<!-- ingest-results:"
POSTGRES_ADMIN_URL = os.environ.get(
    "CRMHUB_BENCH_POSTGRES_URL",
    os.environ.get("CRMHUB_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
)
GOAL_RATIO = 0.25
# The hub's write path the results measure: rows measured on another are dropped from the docs.
WRITE_PATH = "page"
GOAL_RSS_MB = 300
T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
STREAM = "customers"
TABLES = ("customers", "source_records", "contact_points")  # in foreign-key order


# -- the records ------------------------------------------------------------------------------


def raw_record(i: int) -> dict[str, Any]:
    """Person ``i`` as a platform's API lists them; every value is unique to ``i``."""
    return {
        "id": i,
        "email": f"Person.{i}@Ingest.Example",
        "phone": f"+1 502-{200 + i // 10_000:03d}-{i % 10_000:04d}",
        "first_name": f"Given{i}",
        "last_name": f"Family{i % 1000}",
        "accepts_marketing": i % 3 == 0,
        "updated_at": (T0 + dt.timedelta(seconds=i)).isoformat(),
    }


def e164(i: int) -> str:
    return f"+1502{200 + i // 10_000:03d}{i % 10_000:04d}"


@dataclass
class Page:
    records: list[dict[str, Any]]
    bookmark: dict[str, Any] | None


def pages(records: int, page_size: int) -> Iterator[Page]:
    """The stream's pages, each made only when asked for."""
    for start in range(0, records, page_size):
        batch = [raw_record(i) for i in range(start, min(start + page_size, records))]
        yield Page(batch, {"updated_at": batch[-1]["updated_at"]})


def map_record(raw: dict[str, Any]) -> Any:
    """The connector's part: one raw record in the canonical model's words."""
    from hub.models.enums import ContactPointKind
    from hub.sync.records import ContactPointData, PersonData, SourceRecordData

    return SourceRecordData(
        object_type="customer",
        external_id=str(raw["id"]),
        payload=raw,
        source_updated_at=dt.datetime.fromisoformat(raw["updated_at"]),
        person=PersonData(
            given_name=raw["first_name"],
            family_name=raw["last_name"],
            contact_points=(
                ContactPointData(ContactPointKind.EMAIL, raw["email"], None, True),
                ContactPointData(ContactPointKind.PHONE, raw["phone"], None, False),
            ),
        ),
    )


CUSTOMER_COLUMNS = (
    "id", "kind", "status", "given_name", "family_name", "organization_name", "locale",
    "attributes", "display_name", "sort_name", "search_text", "lifecycle_stage", "created_at",
    "updated_at", "version",
)
SOURCE_COLUMNS = (
    "id", "connection_id", "object_type", "external_id", "customer_id", "payload",
    "payload_hash", "source_updated_at", "first_seen_at", "last_seen_at",
)
POINT_COLUMNS = (
    "id", "customer_id", "kind", "raw_value", "normalised_value", "label", "is_primary",
    "source_record_id", "created_at",
)


def canonical_rows(raw: dict[str, Any], connection_id: Any, now: Any, sqlite: bool
                   ) -> tuple[tuple[Any, ...], tuple[Any, ...], tuple[Any, ...], tuple[Any, ...]]:
    """The customer, source record, e-mail and phone rows the hub writes for ``raw``.

    In SQLite's storage form when ``sqlite`` (uuid hex, naive UTC text, 0/1), as
    SQLAlchemy's types write them; ``connection_id`` and ``now`` come in that form.
    """
    import hashlib

    import orjson

    from hub.identity.normalise import fold
    from hub.models import new_id

    given, family, email = raw["first_name"], raw["last_name"], raw["email"].lower()
    phone = e164(raw["id"])
    customer_id, source_id, email_id, phone_id = (new_id() for _ in range(4))
    updated: Any = dt.datetime.fromisoformat(raw["updated_at"])
    if sqlite:
        customer_id, source_id, email_id, phone_id = (
            customer_id.hex, source_id.hex, email_id.hex, phone_id.hex)
        updated = updated.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    payload = orjson.dumps(raw, option=orjson.OPT_SORT_KEYS)
    customer = (
        customer_id, "PERSON", "ACTIVE", given, family, None, None, "{}", f"{given} {family}",
        fold(f"{family} {given}"), fold(f"{given} {family} {email} {phone}"), "LEAD", now, now, 1,
    )
    source = (
        source_id, connection_id, "customer", str(raw["id"]), customer_id, payload.decode(),
        hashlib.sha256(payload).hexdigest(), updated, now, now,
    )
    yes, no = (1, 0) if sqlite else (True, False)
    email_point = (email_id, customer_id, "EMAIL", raw["email"], email, None, yes, source_id, now)
    phone_point = (phone_id, customer_id, "PHONE", raw["phone"], phone, None, no, source_id, now)
    return customer, source, email_point, phone_point


# -- the children: each prints one JSON line ------------------------------------------------


def _peak_kb() -> int:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _engine(url: str) -> Engine:
    from hub.db import create_sync_engine
    from hub.settings import Settings

    return create_sync_engine(Settings(database_url=url))


def _connection(engine: Engine) -> uuid.UUID:
    from sqlalchemy.orm import Session

    from hub.models import Connection

    with Session(engine) as session, session.begin():
        row = Connection(name=f"ingest-{uuid.uuid4().hex[:8]}", connector="example",
                         config={"api_url": "https://api.example.com/v1"})
        session.add(row)
        session.flush()
        return row.id


class Progress:
    """Per committed page: the clock, for the rate at the start and the end of the run.

    On a PostgreSQL server with autovacuum off (as test servers often are), it also
    runs the ANALYZE autovacuum would (after 50 rows + 10 % of a table have changed,
    its defaults): without statistics, a plan the sync connection prepared while the
    tables were empty stays in use, and the resolver's look-up by e-mail and phone
    becomes a sequential scan of contact_points for every record.
    """

    def __init__(self, engine: Engine, records: int, analyze: bool) -> None:
        import time

        self.clock = time.perf_counter
        self.records = records
        self.done = 0
        self.marks: list[tuple[int, float]] = [(0, self.clock())]
        self.analyzed_at = 0
        self.analyses = 0
        self.admin = engine if analyze else None

    def __call__(self, read: int) -> None:
        self.done += read
        self.marks.append((self.done, self.clock()))
        # contact_points grows by two rows a record, the others by one: 10 % of each is alike.
        if self.admin is not None and self.done - self.analyzed_at > 50 + self.analyzed_at // 10:
            from sqlalchemy import text

            with self.admin.connect() as conn:
                conn.execute(text("ANALYZE customers, source_records, contact_points"))
                conn.commit()
            self.analyzed_at = self.done
            self.analyses += 1

    def rate(self, first: bool) -> float:
        """Records/s over the first (or last) tenth of the records."""
        tenth = max(1, self.records // 10)
        marks = self.marks
        if first:
            end = next(m for m in marks if m[0] >= tenth)
            return end[0] / (end[1] - marks[0][1])
        start = next(m for m in reversed(marks) if m[0] <= self.records - tenth)
        return (marks[-1][0] - start[0]) / (marks[-1][1] - start[1])


def ingest_hub(url: str, records: int, page_size: int, profile: bool,
               analyze: bool = True) -> dict[str, Any]:
    import cProfile
    import io
    import pstats
    import time

    from sqlalchemy import text

    from hub.sync.engine import run_stream

    engine = _engine(url)
    connection_id = _connection(engine)
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            analyze = analyze and conn.scalar(text("SHOW autovacuum")) == "off"
    else:
        analyze = False
    progress = Progress(engine, records, analyze)
    start_kb = _peak_kb()
    profiler = cProfile.Profile() if profile else None
    started = time.perf_counter()
    if profiler is not None:
        profiler.enable()
    run = run_stream(engine, connection_id, STREAM, pages(records, page_size), map_record,
                     progress=progress)
    if profiler is not None:
        profiler.disable()
    seconds = time.perf_counter() - started
    if run.records_created != records or run.records_failed:
        raise RuntimeError(f"hub run: {run.records_created} created, {run.records_failed} failed")
    out: dict[str, Any] = {
        "seconds": seconds, "start_kb": start_kb, "peak_kb": _peak_kb(),
        "first_tenth_rps": progress.rate(first=True), "last_tenth_rps": progress.rate(first=False),
        "analyses": progress.analyses,
    }
    if profiler is not None:
        buffer = io.StringIO()
        stats = pstats.Stats(profiler, stream=buffer)
        stats.sort_stats("tottime").print_stats(25)
        stats.sort_stats("cumulative").print_stats(40)
        out["profile"] = buffer.getvalue()
    return out


def ingest_raw(url: str, records: int, page_size: int) -> dict[str, Any]:
    import time

    engine = _engine(url)
    connection_id = _connection(engine)
    sqlite = engine.dialect.name == "sqlite"
    columns = dict(zip(TABLES, (CUSTOMER_COLUMNS, SOURCE_COLUMNS, POINT_COLUMNS), strict=True))
    if sqlite:
        statements = {name: f"INSERT INTO {name} ({', '.join(columns[name])}) "
                            f"VALUES ({', '.join('?' * len(columns[name]))})" for name in TABLES}
    else:
        statements = {name: f"COPY {name} ({', '.join(columns[name])}) FROM STDIN"
                      for name in TABLES}
    pooled = engine.raw_connection()  # with the hub's SQLite pragmas (WAL, synchronous=NORMAL)
    driver = pooled.driver_connection
    connection = connection_id.hex if sqlite else connection_id
    start_kb = _peak_kb()
    started = time.perf_counter()
    for page in pages(records, page_size):
        now: Any = dt.datetime.now(dt.UTC)
        if sqlite:
            now = now.strftime("%Y-%m-%d %H:%M:%S.%f")
        customers, sources, points = [], [], []
        for raw in page.records:
            customer, source, email_point, phone_point = canonical_rows(
                raw, connection, now, sqlite)
            customers.append(customer)
            sources.append(source)
            points += (email_point, phone_point)
        cursor = driver.cursor()
        for name, rows in zip(TABLES, (customers, sources, points), strict=True):
            if sqlite:
                cursor.executemany(statements[name], rows)
            else:
                with cursor.copy(statements[name]) as copy:
                    for row in rows:
                        copy.write_row(row)
        driver.commit()
    seconds = time.perf_counter() - started
    pooled.close()
    return {"seconds": seconds, "start_kb": start_kb, "peak_kb": _peak_kb()}


def _admin() -> Engine:
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    return create_engine(make_url(POSTGRES_ADMIN_URL).set(drivername="postgresql+psycopg"),
                         isolation_level="AUTOCOMMIT")


def probe_postgres() -> dict[str, Any]:
    """Whether a PostgreSQL server answers (``missing``: why not)."""
    from sqlalchemy import text

    try:
        engine = _admin()
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as error:  # noqa: BLE001 - any failure means "skip PostgreSQL"
        return {"missing": f"{type(error).__name__}: {str(error).splitlines()[0]}"}
    return {"missing": None}


def create_database(backend: str, directory: str) -> dict[str, Any]:
    """A new database of the backend, migrated."""
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    from hub.migrate import upgrade

    if backend == "sqlite":
        url = f"sqlite:///{Path(directory) / f'ingest-{uuid.uuid4().hex[:8]}.db'}"
    else:
        name = f"crmhub_ingest_{uuid.uuid4().hex[:12]}"
        admin = _admin()
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        url = make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(
            hide_password=False)
    engine = _engine(url)
    upgrade(engine)
    engine.dispose()
    return {"url": url}


def drop_database(url: str) -> dict[str, Any]:
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    if not url.startswith("sqlite"):
        admin = _admin()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
        admin.dispose()
    return {}


def check_same(hub_url: str, raw_url: str, records: int) -> dict[str, Any]:
    """Refuse to report unless both databases hold the same rows; returns the records compared."""
    hub, raw = _engine(hub_url), _engine(raw_url)
    try:
        expected = {"customers": records, "source_records": records,
                    "contact_points": 2 * records}
        for name in TABLES:
            counts = [_count(engine, name) for engine in (hub, raw)]
            assert counts == [expected[name]] * 2, f"{name}: hub {counts[0]}, raw {counts[1]} rows"
        sample = sorted({str(i) for i in range(0, records, max(1, records // 200))}
                        | {str(records - 1)})
        got = [_content(engine, sample) for engine in (hub, raw)]
        assert len(got[0]) == len(sample) and got[0] == got[1], _first_difference(*got)
        return {"checked": len(sample)}
    finally:
        hub.dispose()
        raw.dispose()


def _count(engine: Engine, table: str) -> int:
    from sqlalchemy import func, select

    from hub.models import Base

    with engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(Base.metadata.tables[table]))


_SKIPPED = {"id", "customer_id", "source_record_id", "connection_id", "created_at", "updated_at",
            "first_seen_at", "last_seen_at", "last_seen_run_id"}


def _content(engine: Engine, external_ids: list[str]) -> list[tuple[Any, ...]]:
    """Every column but ids and timestamps of these records, their customers and points."""
    from sqlalchemy import select

    from hub.models import ContactPoint, Customer, SourceRecord

    def kept(row: Any) -> tuple[Any, ...]:
        return tuple(sorted((k, v) for k, v in row._mapping.items() if k not in _SKIPPED))

    out = []
    with engine.connect() as conn:
        sources = conn.execute(select(SourceRecord).where(
            SourceRecord.external_id.in_(external_ids)).order_by(SourceRecord.external_id)).all()
        for source in sources:
            customer = conn.execute(select(Customer).where(Customer.id == source.customer_id)).one()
            points = conn.execute(select(ContactPoint).where(
                ContactPoint.source_record_id == source.id,
                ContactPoint.customer_id == customer.id).order_by(ContactPoint.kind)).all()
            out.append((kept(source), kept(customer), [kept(p) for p in points]))
    return out


def _first_difference(hub: list[Any], raw: list[Any]) -> str:
    for a, b in zip(hub, raw, strict=False):
        if a != b:
            return f"hub {a}\nraw {b}"
    return f"{len(hub)} records in the hub's sample, {len(raw)} in the raw one"


def child(args: argparse.Namespace) -> None:
    task = args.child
    if task == "hub":
        result = ingest_hub(args.url, args.records, args.page_size, args.profile,
                            analyze=not args.no_analyze)
    elif task == "raw":
        result = ingest_raw(args.url, args.records, args.page_size)
    elif task == "check":
        hub_url, raw_url = args.url.split(" ")
        result = check_same(hub_url, raw_url, args.records)
    elif task == "create":
        result = create_database(args.backend, args.url)
    elif task == "drop":
        result = drop_database(args.url)
    else:
        result = probe_postgres()
    print(json.dumps(result))


# -- the parent -------------------------------------------------------------------------------


def call(task: str, args: argparse.Namespace, url: str = "", backend: str = "") -> dict[str, Any]:
    command = [sys.executable, "-m", "tests.benchmarks.ingest", "--child", task, "--url", url,
               "--records", str(args.records), "--page-size", str(args.page_size),
               "--backend", backend or "sqlite"]
    if args.profile and task == "hub":
        command.append("--profile")
    if args.no_analyze and task == "hub":
        command.append("--no-analyze")
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{task} failed:\n{done.stderr.decode()[-4000:]}")
    return json.loads(done.stdout.decode().strip().splitlines()[-1])


@contextlib.contextmanager
def database(backend: str, args: argparse.Namespace) -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="crmhub-ingest-") as tmp:
        url = call("create", args, tmp, backend)["url"]
        try:
            yield url
        finally:
            call("drop", args, url, backend)


@dataclass
class Row:
    backend: str
    records: int
    page_size: int
    hub_rps: float
    raw_rps: float
    hub_rss_mb: float
    raw_rss_mb: float
    hub_start_rss_mb: float
    checked: int
    rounds: int
    date: str
    hub_first_tenth_rps: float = 0.0
    hub_last_tenth_rps: float = 0.0
    analyses: int = 0
    write_path: str = ""

    @property
    def ratio(self) -> float:
        return self.hub_rps / self.raw_rps if self.raw_rps else float("nan")


def _mb(kb: int) -> float:
    return kb / 1024


def bench_backend(backend: str, args: argparse.Namespace) -> Row:
    print(f"\n== {backend}: {args.records:,} records, pages of {args.page_size}", flush=True)
    hubs, raws, checked = [], [], 0
    for round_ in range(args.rounds):
        # hub, raw, hub, raw ...: the machine's noise hits both sides alike.
        with database(backend, args) as hub_url, database(backend, args) as raw_url:
            hub = call("hub", args, hub_url, backend)
            print(f"  hub #{round_ + 1}: {args.records / hub['seconds']:9,.0f} records/s "
                  f"({hub['seconds']:7.1f} s)  peak RSS {_mb(hub['peak_kb']):.0f} MB "
                  f"(before the first page {_mb(hub['start_kb']):.0f} MB); first tenth "
                  f"{hub['first_tenth_rps']:,.0f}/s, last tenth {hub['last_tenth_rps']:,.0f}/s"
                  + (f"; {hub['analyses']} ANALYZE (autovacuum is off)" if hub["analyses"]
                     else ""), flush=True)
            if "profile" in hub:
                print(hub["profile"], flush=True)
            raw = call("raw", args, raw_url, backend)
            print(f"  raw #{round_ + 1}: {args.records / raw['seconds']:9,.0f} records/s "
                  f"({raw['seconds']:7.1f} s)  peak RSS {_mb(raw['peak_kb']):.0f} MB", flush=True)
            checked = call("check", args, f"{hub_url} {raw_url}", backend)["checked"]
            print(f"  checked: same row counts; same rows for {checked} sampled records",
                  flush=True)
        hubs.append(hub)
        raws.append(raw)
    row = Row(backend=backend, records=args.records, page_size=args.page_size,
              hub_rps=args.records / statistics.median(h["seconds"] for h in hubs),
              raw_rps=args.records / statistics.median(r["seconds"] for r in raws),
              hub_rss_mb=_mb(max(h["peak_kb"] for h in hubs)),
              raw_rss_mb=_mb(max(r["peak_kb"] for r in raws)),
              hub_start_rss_mb=_mb(hubs[0]["start_kb"]), checked=checked, rounds=args.rounds,
              date=dt.date.today().isoformat(),
              hub_first_tenth_rps=statistics.median(h["first_tenth_rps"] for h in hubs),
              hub_last_tenth_rps=statistics.median(h["last_tenth_rps"] for h in hubs),
              analyses=hubs[0]["analyses"], write_path=WRITE_PATH)
    print(f"  hub/raw: {row.ratio:.3f}x (goal >= {GOAL_RATIO}x)", flush=True)
    return row


# -- report -----------------------------------------------------------------------------------


def table(rows: list[Row]) -> str:
    lines = [
        ("| Backend | Records | Hub records/s (first → last tenth) | Raw records/s | Hub/raw (goal ≥ "
         f"{GOAL_RATIO}x) | Hub peak RSS (goal ≤ {GOAL_RSS_MB} MB) | Raw peak RSS | Rounds | Date |"),
        "|" + "---|" * 9,
    ]
    for r in rows:
        lines.append(
            f"| {r.backend} | {r.records:,} | {r.hub_rps:,.0f} ({r.hub_first_tenth_rps:,.0f} → "
            f"{r.hub_last_tenth_rps:,.0f}) | {r.raw_rps:,.0f} | "
            f"**{r.ratio:.3f}x** {'met' if r.ratio >= GOAL_RATIO else 'NOT met'} | "
            f"{r.hub_rss_mb:.0f} MB {'met' if r.hub_rss_mb <= GOAL_RSS_MB else 'NOT met'} "
            f"(before the first page: {r.hub_start_rss_mb:.0f} MB) | {r.raw_rss_mb:.0f} MB | "
            f"{r.rounds} | {r.date} |"
        )
    return "\n".join(lines)


def previous_rows() -> list[Row]:
    if not DOCS.exists():
        return []
    section = re.search(re.escape(BEGIN) + r"(.*?)" + re.escape(END), DOCS.read_text(), re.DOTALL)
    if not section:
        return []
    found = re.search(re.escape(RESULTS_MARK) + r"\s*(.*?)\s*-->", section.group(1), re.DOTALL)
    try:
        return [Row(**row) for row in json.loads(found.group(1))] if found else []
    except (ValueError, TypeError):
        return []


def write_docs(rows: list[Row], skipped: dict[str, str], args: argparse.Namespace) -> None:
    ran = {(r.backend, r.records) for r in rows}
    kept = [r for r in previous_rows()
            if (r.backend, r.records) not in ran and r.write_path == WRITE_PATH]
    every = sorted(kept + rows, key=lambda r: (r.backend != "sqlite", r.records))
    notes = "".join(f"- {backend}: skipped ({why}).\n" for backend, why in skipped.items())
    section = TEMPLATE.format(
        begin=BEGIN, end=END, mark=RESULTS_MARK, table=table(every), notes=notes,
        machine=machine(), results=json.dumps([asdict(r) for r in every], indent=1),
        goal=GOAL_RATIO, rss=GOAL_RSS_MB, page_size=args.page_size,
    )
    # Re-read just before writing: the other sections belong to other benchmarks.
    current = DOCS.read_text() if DOCS.exists() else "# Benchmarks\n"
    pattern = re.compile(re.escape(BEGIN) + r".*?" + re.escape(END), re.DOTALL)
    if pattern.search(current):
        updated = pattern.sub(lambda _: section, current)
    else:
        updated = current.rstrip("\n") + "\n\n" + section + "\n"
    DOCS.write_text(updated)
    print(f"\nwrote {DOCS.relative_to(ROOT)}")


def machine() -> str:
    cpu = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return (f"{os.cpu_count()} CPUs, {cpu}; Python {platform.python_version()} on "
            f"{platform.system()} {platform.release()}")


TEMPLATE = """\
{begin}
## Ingest: the sync pipeline against a raw bulk insert (`python -m tests.benchmarks.ingest`)

*The table and the results below are written by `.venv/bin/python -m tests.benchmarks.ingest`;
the text is its template in `tests/benchmarks/ingest.py`.*

### What is measured

Records per second from a platform's pages into the canonical model, two ways, each in
a fresh, migrated database of the backend and in a subprocess of its own:

- **hub**: `hub.sync.engine.run_stream` with a stream-style mapping (raw dict ->
  `SourceRecordData` with a person, an e-mail and a phone), i.e. the whole pipeline a
  connector's stream goes through: per page of {page_size} one transaction with the
  records, the stream's bookmark and the run's counts; per page the source-identity
  look-up and identity resolution's look-up of every e-mail and phone
  (`MatchByEmailOrPhone.resolve_page`); per record the payload and its SHA-256, e-mail
  and phone normalisation (E.164 with `phonenumbers`), the customer with its search
  fields, the source record, its contact points and the source's profile, written with
  one statement per table for the page (`CanonicalWriter.write_page`; a `COPY ... FROM
  STDIN` on PostgreSQL); and per page the customers' `customer.created` events.
- **raw (the LIMIT)**: the same canonical rows, customers + source records + contact
  points, with the same values (names, normalised e-mail and phone, display/sort/search
  text, payload JSON and its hash, UUIDv7 ids), built straight from the raw records and
  written by the driver alone: sqlite3 `executemany`, or psycopg's `cursor.copy`
  (`COPY ... FROM STDIN`); one transaction per page too.

Each record is a new person (a first sync: every record creates a customer), made
lazily page by page by a generator both sides share. Before reporting, the benchmark
checks that both databases hold the same rows: equal counts, and every column but ids
and timestamps equal for about 200 records spread over the run.

Peak RSS is `resource.getrusage(RUSAGE_SELF).ru_maxrss` of the side's subprocess at
the end. The parent imports only the standard library, because a child's `ru_maxrss`
starts from the high-water mark of the process it was forked from. "Before the first
page" is the same figure once the side has imported the hub and connected.

PostgreSQL: the test server this was measured on runs with `autovacuum = off`. The hub
side then runs the `ANALYZE` autovacuum would (after 50 rows + 10 % of the tables
changed): without statistics, plans prepared while the tables were empty stay in use,
and the look-ups by source identity and by e-mail and phone become sequential scans.

### Repeat it

```sh
.venv/bin/python -m tests.benchmarks.ingest                     # 100,000 records, both backends
.venv/bin/python -m tests.benchmarks.ingest --backend sqlite --records 1000000
.venv/bin/python -m tests.benchmarks.ingest --backend sqlite --records 20000 --profile
```

Options: `--backend sqlite|postgresql|all`, `--records` (100,000), `--page-size` (500),
`--rounds` (1: runs of each side, alternating, median reported), `--profile` (cProfile
of the hub side), `--no-analyze`, `--no-docs`, `--docs-only`. PostgreSQL:
`CRMHUB_BENCH_POSTGRES_URL` (default `postgresql://postgres@127.0.0.1:5432/postgres`).

### Results

{table}

Goals: hub/raw ≥ {goal}x in the same run; hub peak RSS ≤ {rss} MB while ingesting
1,000,000 records.

{notes}Machine: {machine}. The machine was shared with other work during these runs
(load average 3-8 on 2 CPUs): absolute rates move by up to ±50 % between runs; the
ratio is taken in one run, hub then raw.

### Where the hub's time goes (2026-12-03, third pass: a page at a time; then COPY on PostgreSQL)

Counted at the driver (SQLAlchemy's `before_cursor_execute`, 2,000 records in pages
of 500, SQLite) and profiled with `--profile` (cProfile of the hub side, 10,000
records on each backend), on the shared 2-CPU machine at a load average of 2-4.

What changed: the writer works a page at a time (`CanonicalWriter.write_page`), and
the resolver with it (`PageResolver` in `hub/sync/resolution.py`).

- **Each table written once per page.** The records that only bring a person (no
  `person_ref`, order, interaction or feedback, not a deletion) under a source
  identity that is not stored (the page's look-up already tells) and not named
  earlier on the page are put to the resolver together:
  `MatchByEmailOrPhone.resolve_page` looks every e-mail and phone of the page up in
  one SELECT and settles the page's own repeats in Python, in page order. A person
  no stored contact point and no earlier record of the page shares an e-mail or phone
  with is NEW; their customers, source records, contact points, addresses, tags,
  consents and source profiles (`people_written`) are written with one statement per
  table, ahead of the rest of the page: an `executemany` on SQLite, a `COPY` on
  PostgreSQL (`hub.sync.copy.insert_rows`, see 3.). Every other record (updates, deletions,
  orders, people who match a stored customer or an earlier record of the page) is
  then written record by record, in page order, as before, so a later record sharing
  an address finds the new customer in the database as it would have. A resolver
  without the page methods gets every record written one at a time.
- **Only up to the first record that may make a customer.** Customers made on one
  page share their creation time, so their UUIDv7 ids (which grow with creation)
  decide which is older, and the resolver matches the oldest first. A new person after
  a record that is written in its turn and may make a customer (a person or a
  `person_ref` whose identity is not linked to one yet) is therefore left to the
  record-by-record pass too, or their customer would be made first and, on this page
  or a later one, a record showing both customers' e-mails would join the wrong one.
  A first sync's page is all new people and is written whole; a page of updates
  (identities already linked) does not stop it either. `tests/sync/test_write_page.py`
  has both cases, and writes generated pages (new people, repeats within the page,
  matches to stored customers, updates, older copies, deletions, orders naming stored,
  on-page, later and unknown customers, consents, a failing record) both ways on
  SQLite and PostgreSQL and compares every canonical table, ids and times aside.
- **Failures as before.** When a record fails to write, the page is rolled back and
  written again record by record, each in a SAVEPOINT (`CanonicalWriter.write`), so
  the culprit alone goes to the dead letters.
- **Normalised once.** `contact_points.usable` remembers its last answer: the writer
  and the resolver no longer normalise the same person twice.

What a first sync's page of 500 new people costs now:

1. **11 statements instead of about 2,500** (five per record before: the resolver's
   e-mail/phone SELECT, INSERT customer, INSERT source record, INSERT contact points,
   the source profile upsert): BEGIN IMMEDIATE (SQLite), the stored source records,
   the stored e-mails and phones, five `executemany` INSERTs (customers, source
   records, contact points, source profiles, the `customer.created` events; on
   PostgreSQL the first four are `COPY`s), the bookmark (SELECT and UPDATE) and the
   run's counts. A test holds the count of a page of new people the same whatever its
   size, `COPY`s included. The raw side sends three per page.
2. **SQLite: Python, mostly.** Of 6.9 s for 10,000 records under the profiler, about
   2.7 s are SQLAlchemy Core executing the page's statements, nearly all of it binding
   some 60,000 parameter sets through the column types (UUIDs, UTC timestamps, JSON,
   enums), with 0.5 s in sqlite3's `executemany` itself; 1.4 s normalising e-mails and
   phones (`phonenumbers.parse`: 1.0 s; the raw side knows the E.164 form); 0.3 s in
   commits; the rest is mapping, canonical JSON and its hash, UUIDv7 ids and building
   rows. The raw side binds tuples in C and writes no profiles or events.
3. **PostgreSQL: `COPY` for the new people.** Of 11.1 s for 10,000 records under the
   profiler, 5.3 s were psycopg's `executemany`: it pipelines the rows (one round trip
   per page, not per row) but still binds and executes each row as a statement of its
   own (SQLAlchemy's `insertmanyvalues` was slower still). A `COPY ... FROM STDIN` of
   500 customer rows took 26-30 ms against 63-90 ms. The page's new people's rows
   (customers, source records, contact points, addresses, tags, consents, source
   profiles) now go to PostgreSQL that way: `hub.sync.copy.insert_rows` sends a `COPY`
   on the session's own connection (same transaction), with every value converted by
   its column type's bind processor as an INSERT would (enums, JSON, aware
   timestamps) and the left-out columns' Python defaults, and turns driver errors
   into SQLAlchemy's, so a failing record is still redone record by record (the
   statement-count tests count a `COPY` at psycopg's cursor, which SQLAlchemy's
   events do not see). `tests/sync/test_copy.py` compares its
   rows with an INSERT's; `tests/sync/test_write_page.py` passes unchanged in what it
   compares. 20,000 records, two rounds, before and after on the same machine: the
   hub went from 1,374 and 1,680 records/s (0.234x and 0.245x of raw) to 1,849 and
   2,013 (0.309x and 0.302x). 100,000 records in three rounds: 0.249x from the median
   rates before it (rounds 0.249x, 0.306x, 0.168x), 0.264x after (rounds 0.286x,
   0.264x, 0.289x; the load average rose from 1.3 to 2.8 during that run).
4. **Memory stays flat.** Pages are made lazily and nothing accumulates across pages
   (the page's look-ups live in its transaction's session): ingesting 1,000,000
   records on SQLite peaked at 93 MB, 9 MB above what the hub side holds once it has
   imported and connected, the same as for 100,000.

Earlier passes: the first removed the SAVEPOINT per record (only a page that fails is
written again with one per record) and looked a page's stored source records up in
one SELECT per object type; the second built the profile upsert once per dialect.
Their rows measured the record-at-a-time writer (0.128x-0.147x on SQLite, 0.063x-0.091x
on PostgreSQL) and were taken out of the table; on the day of this pass, before it,
10,000 records measured 0.133x on SQLite and 0.056x on PostgreSQL.

<!-- ingest-results:
{results}
-->
{end}"""


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "all"], default="all")
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--page-size", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=1, help="runs of each side (median)")
    parser.add_argument("--profile", action="store_true", help="cProfile the hub side")
    parser.add_argument("--no-docs", action="store_true")
    parser.add_argument("--docs-only", action="store_true",
                        help="re-render the docs section from the results stored in it")
    parser.add_argument("--no-analyze", action="store_true",
                        help="PostgreSQL with autovacuum off: do not run its ANALYZE either")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    if args.docs_only:
        write_docs([], {}, args)
        return
    backends = ["sqlite", "postgresql"] if args.backend == "all" else [args.backend]
    rows, skipped = [], {}
    for backend in backends:
        if backend == "postgresql" and (why := call("probe", args)["missing"]):
            print(f"\n== postgresql: skipped ({why})", flush=True)
            skipped[backend] = why
            continue
        rows.append(bench_backend(backend, args))
    if rows:
        print("\n" + table(rows))
    if not args.no_docs and rows:
        write_docs(rows, skipped, args)


if __name__ == "__main__":
    main()
