"""``make bench BENCHES=hub``: the hub against the hand-written LIMIT, on SQLite and PostgreSQL.

    .venv/bin/python -m tests.benchmarks [--backend sqlite|postgresql|all]
        [--duration 10] [--warmup 2] [--connections 8] [--customers 2000] [--rounds 2]

For each backend: a fresh database (a temporary SQLite file; a PostgreSQL database
created and dropped here, skipped when no server answers), migrated and seeded with
the demo data, and an internal token with every read scope. The hub
(``hub.app:create_app``) and the raw app (``tests/benchmarks/raw_app.py``) are each
served by uvicorn in a subprocess (one worker, no access log, loopback, a free port).
Before measuring, the raw JSON is checked equal to the hub's GraphQL ``data``, and the
hub is checked to refuse a request without the bearer token that the load sends.

The load generator (``tests/benchmarks/load.py``) runs in its own process. Each
workload is measured hub, raw, hub, raw, ... (``--rounds`` each) and the median of
each side is reported, so that the machine's noise hits both. Results go to stdout
and to this benchmark's section of docs/benchmarks.md (``--no-docs`` to leave it alone).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.benchmarks import common
from tests.benchmarks.common import Req, Workload

GOALS = {"customer360": 0.5, "customers": 0.33}
DOCS = common.ROOT / "docs" / "benchmarks.md"
RESULTS_MARK = "<!-- bench-results:"
# docs/benchmarks.md is shared with other benchmarks: this one owns what is between these.
BEGIN, END = "<!-- hub-bench:begin -->", "<!-- hub-bench:end -->"


# -- servers ----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    name: str
    process: subprocess.Popen
    base_url: str

    def cpu_seconds(self) -> float:
        """User + system CPU of the server process (all its threads) so far."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def serve(name: str, factory: str, database_url: str, log_dir: Path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRMHUB_")}
    env["CRMHUB_DATABASE_URL"] = database_url
    env["PYTHONPATH"] = str(common.ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    log = open(log_dir / f"{name}.log", "wb")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            factory,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        cwd=common.ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    server = Server(name, process, f"http://127.0.0.1:{port}")
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(
                    f"{name} exited: {(log_dir / f'{name}.log').read_text()[-2000:]}"
                )
            try:
                if httpx.get(f"{server.base_url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not start on port {port}")
            time.sleep(0.1)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


# -- checks -----------------------------------------------------------------------------------


def check(hub: Server, raw: Server, token: str, ids: list[str]) -> list[str | None]:
    """Refuse to measure unless both sides answer the same; returns the page cursors."""
    with httpx.Client(timeout=30) as http:
        # The load sends the token; without it the hub must refuse (the raw app has no auth).
        body = common.hub_body("Customer360", {"id": ids[0]})
        anonymous = http.post(
            f"{hub.base_url}/graphql",
            content=body,
            headers={k: v for k, v in common.hub_headers(token).items() if k != "Authorization"},
        )
        assert anonymous.status_code == 401, f"hub without a token: {anonymous.status_code}"
        authorised = http.post(
            f"{hub.base_url}/graphql", content=body, headers=common.hub_headers(token)
        )
        assert authorised.status_code == 200, authorised.text[:500]

        def hub_data(body: bytes) -> dict[str, Any]:
            response = http.post(
                f"{hub.base_url}/graphql", content=body, headers=common.hub_headers(token)
            )
            assert response.status_code == 200, response.text[:500]
            parsed = response.json()
            assert "errors" not in parsed, parsed["errors"]
            return parsed["data"]

        def raw_data(path: str) -> dict[str, Any]:
            response = http.get(f"{raw.base_url}{path}")
            assert response.status_code == 200, response.text[:500]
            return response.json()["data"]

        sample = ids[:: max(1, len(ids) // 10)]
        for global_id in sample:
            expected = hub_data(common.hub_body("Customer360", {"id": global_id}))
            assert expected["customer"] is not None, global_id
            got = raw_data(f"/raw/customer360/{global_id}")
            assert got == expected, f"raw Customer360 differs from the hub for {global_id}"

        def page(after: str | None) -> dict[str, Any]:
            return hub_data(common.hub_body("CustomersWithOrders", {"first": 50, "after": after}))

        cursors = common.walk_pages(page)
        # A spread of pages, the first and the last among them.
        checked = list(dict.fromkeys(cursors[:: max(1, len(cursors) // 5)] + cursors[-1:]))
        for after in checked:
            got = raw_data("/raw/customers" + (f"?after={after}" if after else ""))
            assert got == page(after), f"raw CustomersWithOrders differs from the hub after {after}"
        print(
            f"  checked: hub refuses no token (401); raw == hub for {len(sample)} customers "
            f"and {len(checked)} of {len(cursors)} pages",
            flush=True,
        )
        return cursors


# -- load -------------------------------------------------------------------------------------


def load(
    server: Server,
    requests: list[Req],
    headers: dict[str, str],
    expect: bytes,
    args: argparse.Namespace,
) -> dict[str, Any]:
    spec = {
        "base_url": server.base_url,
        "requests": [
            {"method": r.method, "path": r.path, "body": r.body.decode() if r.body else None}
            for r in requests
        ],
        "headers": headers,
        "connections": args.connections,
        "warmup": args.warmup,
        "duration": args.duration,
        "expect": expect.decode(),
    }
    cpu_before = server.cpu_seconds()
    done = subprocess.run(
        [sys.executable, "-m", "tests.benchmarks.load"],
        input=json.dumps(spec).encode(),
        capture_output=True,
        cwd=common.ROOT,
        timeout=args.warmup + args.duration + 120,
        check=False,
    )
    cpu = server.cpu_seconds() - cpu_before
    if done.returncode != 0:
        raise RuntimeError(f"load generator failed: {done.stderr.decode()[-2000:]}")
    result = json.loads(done.stdout)
    result["server_cpu_ms_per_request"] = (
        cpu * 1000 / result["completed_total"] if result["completed_total"] else float("nan")
    )
    return result


@dataclass
class Side:
    runs: list[dict[str, Any]] = field(default_factory=list)

    def median(self, key: str) -> float:
        return statistics.median(r[key] for r in self.runs)

    @property
    def errors(self) -> int:
        return sum(r["errors"] for r in self.runs)


@dataclass
class Row:
    backend: str
    workload: str
    label: str
    hub_rps: float
    raw_rps: float
    hub_p50: float
    hub_p99: float
    raw_p50: float
    raw_p99: float
    hub_cpu: float
    raw_cpu: float
    hub_errors: int
    raw_errors: int
    client_cpu: float
    hub_bytes: float
    raw_bytes: float
    date: str

    @property
    def ratio(self) -> float:
        return self.hub_rps / self.raw_rps if self.raw_rps else float("nan")

    @property
    def goal(self) -> float:
        return GOALS[self.workload]

    @property
    def met(self) -> bool:
        return self.ratio >= self.goal and not self.hub_errors and not self.raw_errors


def measure(
    workload: Workload, hub: Server, raw: Server, token: str, args: argparse.Namespace, backend: str
) -> Row:
    sides = {"hub": Side(), "raw": Side()}
    for round_ in range(args.rounds):
        for name, server, requests, headers in (
            ("hub", hub, workload.hub, common.hub_headers(token)),
            ("raw", raw, workload.raw, {}),
        ):
            result = load(server, requests, headers, workload.expect, args)
            sides[name].runs.append(result)
            print(
                f"  {workload.name:<12} {name} #{round_ + 1}: {result['rps']:8.1f} req/s  "
                f"p50 {result['p50_ms']:6.1f} ms  p99 {result['p99_ms']:6.1f} ms  "
                f"errors {result['errors']}  server {result['server_cpu_ms_per_request']:.2f} "
                f"CPU-ms/req  client CPU {result['client_cpu']:.0%}",
                flush=True,
            )
            for sample in result["error_samples"]:
                print(f"    error: {sample}", flush=True)
    h, r = sides["hub"], sides["raw"]
    return Row(
        backend=backend,
        workload=workload.name,
        label=workload.label,
        hub_rps=h.median("rps"),
        raw_rps=r.median("rps"),
        hub_p50=h.median("p50_ms"),
        hub_p99=h.median("p99_ms"),
        raw_p50=r.median("p50_ms"),
        raw_p99=r.median("p99_ms"),
        hub_cpu=h.median("server_cpu_ms_per_request"),
        raw_cpu=r.median("server_cpu_ms_per_request"),
        hub_errors=h.errors,
        raw_errors=r.errors,
        client_cpu=max(x["client_cpu"] for x in h.runs + r.runs),
        hub_bytes=h.median("bytes_mean"),
        raw_bytes=r.median("bytes_mean"),
        date=dt.date.today().isoformat(),
    )


def bench_backend(backend: str, args: argparse.Namespace) -> list[Row]:
    print(f"\n== {backend}: {args.customers} demo customers", flush=True)
    started = time.monotonic()
    with common.database(backend) as url:
        token = common.prepare(url, args.customers)
        ids = common.customer_ids(url)
        print(f"  migrated and seeded in {time.monotonic() - started:.1f} s", flush=True)
        with (
            tempfile.TemporaryDirectory(prefix="crmhub-bench-logs-") as logs,
            serve(f"hub-{backend}", "hub.app:create_app", url, Path(logs)) as hub,
            serve(
                f"raw-{backend}", "tests.benchmarks.raw_app:app_from_env", url, Path(logs)
            ) as raw,
        ):
            cursors = check(hub, raw, token, ids)
            rows = [
                measure(common.customer360_workload(ids), hub, raw, token, args, backend),
                measure(common.customers_workload(cursors), hub, raw, token, args, backend),
            ]
    return rows


# -- report -----------------------------------------------------------------------------------


def table(rows: list[Row]) -> str:
    head = (
        "| Backend | Workload | Hub req/s | Raw req/s | Hub/raw | Goal | Met | "
        "Hub p50 / p99 ms | Raw p50 / p99 ms | Server CPU-ms/req hub / raw | "
        "Raw/hub by CPU | Errors | Date |"
    )
    lines = [head, "|" + "---|" * 13]
    for r in rows:
        lines.append(
            f"| {r.backend} | {r.label} | {r.hub_rps:.0f} | {r.raw_rps:.0f} | "
            f"**{r.ratio:.2f}x** | ≥ {r.goal:.2f}x | {'yes' if r.met else 'NO'} | "
            f"{r.hub_p50:.1f} / {r.hub_p99:.1f} | {r.raw_p50:.1f} / {r.raw_p99:.1f} | "
            f"{r.hub_cpu:.2f} / {r.raw_cpu:.2f} | {r.raw_cpu / r.hub_cpu:.2f}x | "
            f"{r.hub_errors + r.raw_errors} | {r.date} |"
        )
    return "\n".join(lines)


def previous_rows() -> list[Row]:
    if not DOCS.exists():
        return []
    text = DOCS.read_text()
    section = re.search(re.escape(BEGIN) + r"(.*?)" + re.escape(END), text, re.DOTALL)
    if not section:
        return []
    match = re.search(re.escape(RESULTS_MARK) + r"\s*(.*?)\s*-->", section.group(1), re.DOTALL)
    if not match:
        return []
    try:
        return [Row(**row) for row in json.loads(match.group(1))]
    except (ValueError, TypeError):
        return []


def write_docs(
    rows: list[Row], skipped: dict[str, str], args: argparse.Namespace, load: str
) -> None:
    # Backends not run this time keep their last results.
    ran = {r.backend for r in rows}
    kept = [r for r in previous_rows() if r.backend not in ran and r.backend not in skipped]
    all_rows = sorted(
        kept + rows, key=lambda r: (r.backend != "sqlite", r.workload != "customer360")
    )
    notes = "".join(f"\n- {backend}: skipped ({why}).\n" for backend, why in skipped.items())
    verdicts = "\n".join(
        f"- {r.backend}, {r.label}: {r.ratio:.2f}x against a goal of {r.goal:.2f}x: "
        f"**{'met' if r.met else 'not met'}**."
        for r in all_rows
    )
    if all_rows:
        verdicts += (
            f"\n\nThe load generator used at most {max(r.client_cpu for r in all_rows):.0%} of one "
            "CPU in any run: it was not what limited the servers."
        )
    text = TEMPLATE.format(
        machine=common.machine(),
        load=load,
        duration=args.duration,
        warmup=args.warmup,
        connections=args.connections,
        customers=args.customers,
        rounds=args.rounds,
        table=table(all_rows),
        verdicts=verdicts or "- no results yet",
        notes=notes,
        results=json.dumps([asdict(r) for r in all_rows], indent=1),
        mark=RESULTS_MARK,
        begin=BEGIN,
        end=END,
    )
    # Re-read just before writing: other sections of the file belong to other benchmarks.
    current = DOCS.read_text() if DOCS.exists() else "# Benchmarks\n"
    pattern = re.compile(re.escape(BEGIN) + r".*?" + re.escape(END), re.DOTALL)
    if pattern.search(current):
        updated = pattern.sub(lambda _: text, current)
    else:
        updated = current.rstrip("\n") + "\n\n" + text + "\n"
    DOCS.write_text(updated)
    print(f"\nwrote {DOCS.relative_to(common.ROOT)}")


TEMPLATE = """\
{begin}
## The hub against a hand-written LIMIT (`make bench BENCHES=hub`)

*This section is written by `python -m tests.benchmarks`; edit `tests/benchmarks/__main__.py` instead.*

### What is measured

Two read workloads, each served two ways from the same database:

- **Customer360** (`graphql/operations/Customer360.graphql`): one customer with
  everything: tags, contact points, addresses, sources, consents, 20 orders with their
  lines, 50 interactions, 20 cases with their comments, 20 feedback, each connection
  with `totalCount`. The load cycles through 200 customers spread over the table.
- **CustomersWithOrders** (`graphql/operations/CustomersWithOrders.graphql`): a page of
  50 customers, each with their 10 latest orders and lines, plus `totalCount` and
  `pageInfo`. The load cycles through every page (`after` cursors).

The two servers:

- **hub**: the whole application, `hub.app:create_app(settings)`: HTTP parsing and
  content negotiation, bearer-token lookup in the database, the cached
  parsed-and-validated document, cost check, the per-client rate limit,
  graphene/graphql-core execution with DataLoaders, JSON out: whatever `create_app`
  does per request at the time of the run. Requests are `POST /graphql` with the
  operation text and an `Authorization: Bearer` header (an opaque token of an internal
  client with every read scope, whose own rate limit is set high enough that the
  limiter keeps its accounts but never refuses).
- **raw (the LIMIT)**: `tests/benchmarks/raw_app.py`, a bare Starlette app with
  hand-written SQL (SQLAlchemy Core `text()` on the hub's own async engine, so the
  same drivers, pool and SQLite pragmas), one connection per request, no ORM, no
  GraphQL, returning byte-for-byte the same `data` (same fields, order, page sizes,
  global ids, cursors, money and timestamp formats). Requests are `GET` with the id or
  cursor in the URL. **It does no authentication**: the hub's token lookup (one indexed
  select per request) is part of what the hub pays and the LIMIT does not.

Before measuring, the benchmark checks that the raw JSON equals the hub's GraphQL
`data` (10 customers and a spread of pages) and that the hub answers 401 without the
token the load sends; it refuses to measure otherwise.

How: each server runs under uvicorn in its own process (one worker, `--no-access-log`,
127.0.0.1, a free port). The load generator is another process: asyncio + httpx with
{connections} keep-alive connections, each with one request in flight, {warmup:g} s of
warm-up then {duration:g} s measured, cycling through the fixed list of requests. Any
response that is not HTTP 200 with the expected data (GraphQL `errors`, a null
customer) is an error, and errors must be 0. Each workload runs hub, raw, hub, raw ...
({rounds} runs each) and the median of each side is reported, so the machine's noise
hits both. Server CPU-ms/req is the server process's CPU time (all threads) over the
run divided by the requests it answered; it does not include PostgreSQL's own CPU.
Both servers and the load generator share the machine's CPUs, as does PostgreSQL.

Demo data: `hub.demo.seed(engine, {customers})` (deterministic), i.e. per customer up
to 8 orders, up to 12 interactions, a few cases, consents and contact points: most
connections are well below their page size.

### Repeat it

```sh
make bench BENCHES=hub             # = .venv/bin/python -m tests.benchmarks
.venv/bin/python -m tests.benchmarks --backend sqlite --duration 10 --connections 8
.venv/bin/python -m tests.benchmarks --backend postgresql --customers 2000 --rounds 2
```

Options: `--backend sqlite|postgresql|all` (default all), `--duration` seconds measured
per run (10), `--warmup` (2), `--connections` (8), `--customers` (2000), `--rounds`
runs per side (2), `--no-docs`. PostgreSQL: `CRMHUB_BENCH_POSTGRES_URL` (default
`postgresql://postgres@127.0.0.1:5432/postgres`); a database is created and dropped for
the run; without a server the backend is reported as skipped.

To see where the hub's time goes: `.venv/bin/python -m tests.benchmarks.profile_hub
--backend sqlite --workload customers` (cProfile of the ASGI app called in-process, one
request at a time, after `gc.freeze()` as the app does at start-up; `--gc default`
to see it with full garbage collections,
`--profiler none` to sample it with py-spy instead).

### Machine

{machine}. {load}

### Results

{table}
{notes}
Goals: Customer360 hub/raw ≥ 0.5x; page of 50 with orders hub/raw ≥ 0.33x, on
requests per second (the goal is judged on this). "Raw/hub by CPU" is the same
comparison made on the server CPU each spends per request: it moves less with other
work on the machine, and is what the throughput ratio tends to once both servers are
CPU-bound.

{verdicts}

### How the ratios moved (2026-11-23)

Same command, same machine, same day; hub/raw on requests per second (server CPU
ratio in brackets):

| Backend | Workload | First run of this benchmark | Start of this round | End of this round | Five lists in one statement |
|---|---|---|---|---|---|
| sqlite | Customer360 | 0.42x (0.32x) | 0.43x (0.35x) | 0.61x (0.50x) | 0.57x (0.56x) |
| sqlite | CustomersWithOrders | 0.10x (0.10x) | 0.16x (0.15x) | 0.37x (0.38x) | 0.44x (0.44x) |
| postgresql | Customer360 | 0.34x (0.30x) | 0.45x (0.37x) | 0.42x (0.43x) | 0.73x (0.62x) |
| postgresql | CustomersWithOrders | 0.16x (0.11x) | 0.29x (0.16x) | 0.47x (0.44x) | 0.55x (0.47x) |

The last column is the run above, on a quieter machine (load average about 2.5
against 6 for "End of this round"), which lifts both sides; the server CPU ratio moves
less with the machine's load. "Start of this round" already had `gc.freeze()` after start-up (`hub/app.py`) and
the partner row rules (`hub/access/rows.py`, which internal callers skip). What
changed since, each measured in-process with `profile_hub.py` (SQLite, CPU per
request, on a machine shared with other work, so ±15 %):

1. **Plain fields without graphql-core's per-field machinery** (`hub/api/executor.py`,
   `HubExecutionContext`). A page of 50 customers with their orders and lines is about
   2,500 scalar fields that graphene answers with its default resolver; graphql-core
   built a `ResolveInfo`, coerced (no) arguments, called the resolver through
   `functools.partial`, made a `Path` and dispatched completion for each. They are now
   read and serialised in one step, global ids too (`NodeObjectType.resolve_id` says
   how); anything unusual takes the general path.
2. **Fewer awaits.** A nested connection's `totalCount` is `COUNT(*) OVER (PARTITION
   BY parent)` in its page statement when the page has no cursor, and a root
   connection's an uncorrelated subquery of its page statement, so `totalCount`
   resolves without a future. Order lines load with their orders' page when asked
   (`Relation.children`), and a page of customers loads the nested connections asked
   under `edges.node` for all its rows before execution (internal callers), so that
   `Customer.orders` and `Order.lines` resolve with plain values. An object with one
   pending field awaits it without a task. Per page of 50: from 154 asyncio tasks and
   204 gathered objects to none and 13.
3. **Statements built once.** `ListByKeyLoader` statements (tags, contact points,
   addresses, sources, consents, lines, comments) and the bearer-token lookup
   (`hub/auth/bearer.py`, about 0.5 ms per request) are built once with their
   parameters bound at execution, as the page statements already were. Customer360
   went from 16 statements to 12 (the LIMIT runs 11 to 12 and authenticates
   nobody), the page of 50 from 6 to 4.
4. **Only the columns asked.** A page selects its id, parent key, sort keys,
   customer key and the columns of the fields the query asks (a field graphene answers
   by default reads its own column; a resolver says what it reads with `@reads`; a
   field that does not say gets the whole row). The page of 50 reads 3 of 17 customer
   and 7 of 16 order columns: 40 % fewer money and timestamp conversions.
5. **Objects completed in one step**: an object of a concrete type goes straight to
   its fields instead of through graphql-core's two-call, five-test dispatch.
6. The estimated cost of a cached document is walked once per operation and
   page-size variables (`hub/api/core/limits.py`); edges make their cursor only when
   the query asks for it.
7. **One statement for a customer's five small lists.** Tags, contact points,
   addresses, sources and consents asked together load as one `UNION ALL`
   (`ListsByKeyLoader` in `hub/api/core/dataloaders.py`): each branch selects only the
   columns its type reads, with typed NULLs in the other lists' columns and a
   `row_number()` that keeps each list's order; SQLite runs the same statement.
   Customer360 went from 12 statements to 8 (the LIMIT runs 11 to 12), a page of
   customers asking for all five lists from 13 to 9. PostgreSQL Customer360 server
   CPU went from about 12.9 to 7.7-9.3 ms per request in the benchmark.

In-process CPU per request went from about 46 to 18-20 ms for the page of 50 (Python
calls per request from about 64,000 before the last three steps to 51,500), and from
about 10 to 8 ms for Customer360.

### Where the rest goes

From `profile_hub.py` with cProfile (counts are exact; shares of own time are
cProfile's, which over-weighs many small calls):

- **Page of 50 customers with orders and lines** (51,500 Python calls per request):
  building the response, object by object: 600 objects (50 customers, 179 edges,
  129 orders, 332 lines, the page infos) each get a dict filled field by field by our
  `execute_fields` (27 % of own time with the rest of the hub's code), and about 400
  fields still take graphql-core's general path (edges, node, orders, lines,
  pageInfo, totalCount: 15 %); most of the remaining half is the builtins those call
  (type tests, dict lookups, string formatting of money). Then the SQLite rows' type
  conversions: 751 `uuid.UUID`, 598 money and 202 timestamp conversions per request;
  order lines are still selected whole (their loader is shared by every use in a
  request). Next steps: order lines selected by column like the pages; money on
  SQLite serialised from its stored integer (1/10,000 units) rather than through
  `Decimal`; lists of edges built by the connection itself instead of one object
  completion per edge.
- **Customer360**: statements. Its 12 statements were about 40 % of its own time
  in SQLAlchemy's execution path plus the `aiosqlite` thread hand-offs, and on
  PostgreSQL SQLAlchemy's execution path 36 % and psycopg 31 %, graphql-core 5 %, the
  hub's own code about 8 %. With the five small lists in one statement it runs 8
  (the LIMIT 11 to 12, and it authenticates nobody); the split per statement is the
  same (psycopg and SQLAlchemy about 60 % of own time on PostgreSQL), so what is left
  is the cost of each statement. Next steps: order lines and case comments selected by
  column like the pages (their loaders still select whole rows); the orders,
  interactions, cases and feedback pages of one customer could ride one statement the
  same way; every batched statement binds its keys as an expanding `IN`, which
  SQLAlchemy renders anew at each execution (`= ANY(:keys)` on PostgreSQL would not).

{mark}
{results}
-->
{end}"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.benchmarks",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "all"], default="all")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds measured per run")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds before measuring")
    parser.add_argument("--connections", type=int, default=8, help="concurrent connections")
    parser.add_argument("--customers", type=int, default=2000, help="demo customers to seed")
    parser.add_argument("--rounds", type=int, default=2, help="runs per side, alternating")
    parser.add_argument("--no-docs", action="store_true", help="do not write docs/benchmarks.md")
    args = parser.parse_args(argv)

    backends = ["sqlite", "postgresql"] if args.backend == "all" else [args.backend]
    load_before = os.getloadavg()[0]
    print(f"machine: {common.machine()}; load average {load_before:.2f}", flush=True)
    rows: list[Row] = []
    skipped: dict[str, str] = {}
    for backend in backends:
        if backend == "postgresql":
            why = common.postgres_available()
            if why is not None:
                skipped[backend] = f"no PostgreSQL server: {why}"
                print(f"\n== postgresql: SKIPPED ({why})", flush=True)
                continue
        rows.extend(bench_backend(backend, args))

    print()
    print(table(rows))
    for backend, why in skipped.items():
        print(f"{backend}: skipped ({why})")
    for r in rows:
        print(
            f"{r.backend:<10} {r.workload:<12} hub/raw {r.ratio:.2f}x (goal ≥ {r.goal}x): "
            f"{'met' if r.met else 'NOT met'}"
        )
    load = (
        f"Load average (1 min) of the machine at the start and end of the last run: "
        f"{load_before:.2f} and {os.getloadavg()[0]:.2f} (the benchmark itself keeps about "
        "2 busy; more means other work shared the CPUs)."
    )
    print(load)
    if not args.no_docs:
        write_docs(rows, skipped, args, load)
    return 1 if any(r.hub_errors or r.raw_errors for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
