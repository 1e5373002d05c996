"""Partner access: Customer360 with a partner's token against the same query with an internal token.

    .venv/bin/python -m tests.benchmarks.partner [--backend sqlite|postgresql|all]
        [--duration 10] [--warmup 2] [--connections 8] [--customers 2000] [--rounds 3] [--no-docs]

For each backend: a fresh database migrated and seeded as ``make bench`` does
(``tests/benchmarks/common.py``), an internal client with every read scope, and a
partner whose one grant is a segment rule (``SEGMENT``, every read scope). So that
both tokens are answered the same data, every case and comment is shared with the partner
and every feedback is recorded as the partner's. The load cycles through 200 customers
the segment covers (and whose consent allows sharing), spread over the table.

Two hubs run under uvicorn as ``make bench`` serves one: the app as it is
(``hub.app:create_app``), and the same app with the audit of partners' PII reads
switched off (``app_without_read_audit`` below), so that the cost of row-level
access is measured apart from the cost of the audit log's write (DESIGN §8, a
partner-only cost too). Before measuring, the benchmark checks that both tokens get
the same ``data`` for a sample of those customers, and that the partner gets null for
a customer the segment does not cover. Then the load (``tests/benchmarks/load.py``,
its own process) runs internal, partner, then partner, internal ... on each hub
(``--rounds`` each) and the medians are compared: overhead = internal req/s /
partner req/s, goal ≤ 1.15x. Results go to stdout and to the "Partner access" section
of docs/benchmarks.md (``--no-docs`` to leave it alone).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import datetime as dt
import json
import multiprocessing
import os
import re
import sys
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import insert, select, update

from tests.benchmarks import common
from tests.benchmarks.__main__ import Side, load, serve

DOCS = common.ROOT / "docs" / "benchmarks.md"
BEGIN, END = "<!-- partner-bench:begin -->", "<!-- partner-bench:end -->"
RESULTS_MARK = "<!-- partner-bench-results:"
GOAL = 1.15
# Realistic: fields and an address country, so that coverage takes a join per customer.
SEGMENT = (
    "status=ACTIVE,lifecycle_stage=LEAD|PROSPECT|CUSTOMER|REPEAT_CUSTOMER,country=GB|DE|FR|ES|NL|US"
)


def app_without_read_audit() -> Any:
    """The hub with the audit of partners' PII reads switched off: for this benchmark only."""
    from hub.app import create_app

    _switch_off_read_audit()
    return create_app()


def _switch_off_read_audit() -> None:
    from hub.access import audit

    if not hasattr(audit.AuditTrail, "of"):
        raise RuntimeError(
            "hub.access.audit.AuditTrail.of is gone: update tests/benchmarks/partner.py"
        )
    audit.AuditTrail.of = classmethod(
        lambda cls, principal, request_id=None: cls(principal, request_id, audits_reads=False)
    )


def cpu_in_process(
    url: str, internal: str, partner: str, ids: list[str], audit: bool, blocks: int
) -> tuple[float, float, float]:
    """CPU-ms per request of each token, the app called in this process one request at a time.

    Internal and partner alternate in ``blocks`` blocks of 20 requests (order swapped
    every block) after a warm-up, with the garbage collector's long-lived objects
    frozen; returns the median CPU-ms of each and the median of the blocks' ratios.
    Run it in a fresh process: the seeding's objects would weigh on collections.
    """
    import asyncio
    import gc
    import statistics

    from hub.app import create_app
    from hub.settings import Settings
    from tests.benchmarks.profile_hub import call

    if not audit:
        _switch_off_read_audit()
    app = create_app(Settings(database_url=url))
    requests = common.customer360_workload(ids).hub
    headers = {"internal": common.hub_headers(internal), "partner": common.hub_headers(partner)}

    async def run() -> tuple[float, float, float]:
        for token_headers in headers.values():
            for req in requests[:40]:
                status, body = await call(app, req, token_headers)
                assert status == 200 and b'"errors"' not in body, body[:300]
        gc.collect()
        gc.freeze()
        per: dict[str, list[float]] = {"internal": [], "partner": []}
        ratios, i = [], 0
        for block in range(blocks):
            order = ("internal", "partner") if block % 2 == 0 else ("partner", "internal")
            got = {}
            for who in order:
                started = time.process_time()
                for _ in range(20):
                    await call(app, requests[i % len(requests)], headers[who])
                    i += 1
                got[who] = (time.process_time() - started) / 20 * 1000
                per[who].append(got[who])
            ratios.append(got["partner"] / got["internal"])
        await app.state.engine.dispose()
        return (
            statistics.median(per["internal"]),
            statistics.median(per["partner"]),
            statistics.median(ratios),
        )

    return asyncio.run(run())


def prepare_partner(url: str) -> tuple[str, list[str], str | None]:
    """The partner, its segment grant and token; the customers it covers; one it does not."""
    from hub.access.principal import ActiveGrant, Principal
    from hub.access.rows import customer_rows
    from hub.access.segments import canonical, parse_cli, to_json
    from hub.access.sharing import GrantRequest, create_grant, create_partner
    from hub.api.core.ids import to_global_id
    from hub.auth.clients import create_client
    from hub.auth.secrets import new_token, token_digest
    from hub.db import create_sync_engine, sync_session_factory
    from hub.models import Case, CaseComment, Customer, Feedback, OAuthToken, new_id, utcnow
    from hub.models.enums import ClientKind, CommentVisibility, PartnerKind
    from hub.settings import Settings

    engine = create_sync_engine(Settings(database_url=url))
    try:
        rule = parse_cli(SEGMENT)
        with engine.begin() as conn:
            partner_id = create_partner(
                conn, f"bench-partner-{uuid.uuid4().hex[:6]}", PartnerKind.RESELLER
            )
            grant_id = create_grant(
                conn, GrantRequest(partner_id=partner_id, scopes=common.READ_ALL, segment=rule)
            )
            conn.execute(update(Case).values(shared_with_partner_id=partner_id))
            conn.execute(update(CaseComment).values(visibility=CommentVisibility.SHARED))
            conn.execute(update(Feedback).values(partner_id=partner_id))
        token = new_token()
        with sync_session_factory(engine).begin() as session:
            client, _ = create_client(
                session,
                name="bench-partner-app",
                kind=ClientKind.PARTNER,
                scopes=common.READ_ALL,
                partner_id=partner_id,
            )
            client.settings = {**(client.settings or {}), "rate_limit": common.UNTHROTTLED}
            session.execute(
                insert(OAuthToken.__table__).values(
                    id=new_id(),
                    access_token_hash=token_digest(token),
                    client_id=client.client_id,
                    scope=common.READ_ALL,
                    token_type="Bearer",
                    issued_at=utcnow(),
                    expires_at=utcnow() + dt.timedelta(hours=6),
                )
            )
        # Which customers the partner sees, by the hub's own rules (checked over HTTP below).
        principal = Principal(
            client_id="bench",
            kind=ClientKind.PARTNER,
            scopes=frozenset(common.READ_ALL.split()),
            partner_id=partner_id,
            grants=(
                ActiveGrant(grant_id, frozenset(common.READ_ALL.split()), canonical(to_json(rule))),
            ),
        )
        customers = Customer.__table__
        with engine.connect() as conn:
            covered = (
                conn.execute(
                    select(customers.c.id)
                    .where(*customer_rows(principal, customers))
                    .order_by(customers.c.id)
                )
                .scalars()
                .all()
            )
            outside = conn.execute(
                select(customers.c.id).where(customers.c.id.not_in(covered)).limit(1)
            ).scalar()
    finally:
        engine.dispose()
    step = max(1, len(covered) // common.CUSTOMER_IDS)
    ids = [to_global_id("Customer", i) for i in covered[::step][: common.CUSTOMER_IDS]]
    return token, ids, to_global_id("Customer", outside) if outside else None


def check(base_url: str, internal: str, partner: str, ids: list[str], outside: str | None) -> None:
    with httpx.Client(timeout=30) as http:

        def data(token: str, global_id: str) -> dict[str, Any]:
            response = http.post(
                f"{base_url}/graphql",
                content=common.hub_body("Customer360", {"id": global_id}),
                headers=common.hub_headers(token),
            )
            assert response.status_code == 200, response.text[:500]
            body = response.json()
            assert "errors" not in body, body["errors"]
            return body["data"]

        sample = ids[:: max(1, len(ids) // 10)]
        for global_id in sample:
            theirs = data(partner, global_id)
            assert theirs["customer"] is not None, global_id
            assert theirs == data(internal, global_id), (
                f"partner and internal differ for {global_id}"
            )
        if outside is not None:
            assert data(partner, outside) == {"customer": None}, (
                "the partner sees an uncovered customer"
            )
        print(
            f"  checked: partner == internal for {len(sample)} customers"
            + ("; an uncovered customer is null for the partner" if outside else ""),
            flush=True,
        )


@dataclass
class Result:
    backend: str
    hub: str  # "as served" or "no read audit"
    internal_rps: float
    partner_rps: float
    internal_p50: float
    partner_p50: float
    internal_p99: float
    partner_p99: float
    internal_cpu: float
    partner_cpu: float
    errors: int
    covered: int
    date: str
    # In-process, one request at a time, interleaved (``cpu_in_process``): steadier.
    inproc_internal_cpu: float = float("nan")
    inproc_partner_cpu: float = float("nan")
    inproc_ratio: float = float("nan")

    @property
    def overhead(self) -> float:
        return self.internal_rps / self.partner_rps if self.partner_rps else float("nan")

    @property
    def cpu_overhead(self) -> float:
        return self.partner_cpu / self.internal_cpu if self.internal_cpu else float("nan")

    @property
    def met(self) -> bool:
        return self.overhead <= GOAL and not self.errors


HUBS = {
    "as served": "hub.app:create_app",
    "no read audit": "tests.benchmarks.partner:app_without_read_audit",
}


def bench_backend(backend: str, args: argparse.Namespace) -> list[Result]:
    print(f"\n== {backend}: {args.customers} demo customers", flush=True)
    started = time.monotonic()
    with common.database(backend) as url:
        internal = common.prepare(url, args.customers)
        partner, ids, outside = prepare_partner(url)
        print(
            f"  migrated and seeded in {time.monotonic() - started:.1f} s; the segment covers "
            f"{len(ids)} of the customers the load uses",
            flush=True,
        )
        workload = common.customer360_workload(ids)
        with contextlib.ExitStack() as stack:
            logs = Path(
                stack.enter_context(tempfile.TemporaryDirectory(prefix="crmhub-bench-logs-"))
            )
            hubs = {
                name: stack.enter_context(serve(f"hub-{backend}-{i}", factory, url, logs))
                for i, (name, factory) in enumerate(HUBS.items())
            }
            for server in hubs.values():
                check(server.base_url, internal, partner, ids, outside)
            sides = {(name, who): Side() for name in hubs for who in ("internal", "partner")}
            tokens = (("internal", internal), ("partner", partner))
            for round_ in range(args.rounds):
                # Whichever goes second runs after the other's load: swapped every round.
                for name, server in hubs.items():
                    for who, token in tokens if round_ % 2 == 0 else tokens[::-1]:
                        result = load(
                            server, workload.hub, common.hub_headers(token), workload.expect, args
                        )
                        sides[name, who].runs.append(result)
                        print(
                            f"  Customer360 {name:<13} {who:<8} #{round_ + 1}: {result['rps']:8.1f} req/s  "
                            f"p50 {result['p50_ms']:6.1f} ms  p99 {result['p99_ms']:6.1f} ms  "
                            f"errors {result['errors']}  server {result['server_cpu_ms_per_request']:.2f} CPU-ms/req",
                            flush=True,
                        )
                        for sample in result["error_samples"]:
                            print(f"    error: {sample}", flush=True)
        spawn = multiprocessing.get_context("spawn")
        inproc = {}
        for name in HUBS:
            with concurrent.futures.ProcessPoolExecutor(1, mp_context=spawn) as pool:
                inproc[name] = pool.submit(
                    cpu_in_process, url, internal, partner, ids, name == "as served", args.blocks
                ).result()
            print(
                f"  in-process {name:<13}: internal {inproc[name][0]:.2f}, partner "
                f"{inproc[name][1]:.2f} CPU-ms/req; median ratio {inproc[name][2]:.3f}",
                flush=True,
            )
    results = []
    for name in HUBS:
        i, p = sides[name, "internal"], sides[name, "partner"]
        results.append(
            Result(
                backend=backend,
                hub=name,
                internal_rps=i.median("rps"),
                partner_rps=p.median("rps"),
                internal_p50=i.median("p50_ms"),
                partner_p50=p.median("p50_ms"),
                internal_p99=i.median("p99_ms"),
                partner_p99=p.median("p99_ms"),
                internal_cpu=i.median("server_cpu_ms_per_request"),
                partner_cpu=p.median("server_cpu_ms_per_request"),
                errors=i.errors + p.errors,
                covered=len(ids),
                date=dt.date.today().isoformat(),
                inproc_internal_cpu=inproc[name][0],
                inproc_partner_cpu=inproc[name][1],
                inproc_ratio=inproc[name][2],
            )
        )
    return results


def table(results: list[Result]) -> str:
    head = (
        "| Backend | Hub | Internal req/s | Partner req/s | Overhead (req/s) | Goal | Met | "
        "Internal p50 / p99 ms | Partner p50 / p99 ms | Server CPU-ms/req internal / partner | "
        "In-process CPU-ms/req internal / partner | Errors | Date |"
    )
    lines = [head, "|" + "---|" * 13]
    for r in results:
        lines.append(
            f"| {r.backend} | {r.hub} | {r.internal_rps:.0f} | {r.partner_rps:.0f} | **{r.overhead:.2f}x** | "
            f"≤ {GOAL:.2f}x | {'yes' if r.met else 'NO'} | {r.internal_p50:.1f} / {r.internal_p99:.1f} | "
            f"{r.partner_p50:.1f} / {r.partner_p99:.1f} | {r.internal_cpu:.2f} / {r.partner_cpu:.2f} "
            f"({r.cpu_overhead:.2f}x) | {r.inproc_internal_cpu:.2f} / {r.inproc_partner_cpu:.2f} "
            f"(**{r.inproc_ratio:.2f}x**) | {r.errors} | {r.date} |"
        )
    return "\n".join(lines)


TEMPLATE = """\
{begin}
## Partner access (`python -m tests.benchmarks.partner`)

*This section is written by `tests/benchmarks/partner.py`; edit that file instead.*

What it costs a partner to be a partner: **Customer360**
(`graphql/operations/Customer360.graphql`) asked with a partner's token, for customers
its sharing grant covers by a segment rule, against the same query asked with an
internal token, by the same hub process in the same run. The partner's one grant is
`{segment}` with every read scope; every case and case comment is shared with it and
every feedback is its own, so that both tokens are answered exactly the same data
(checked before measuring, with null for a customer the segment does not cover). The
load cycles through 200 covered customers; {connections} connections, {warmup:g} s warm-up,
{duration:g} s measured, internal and partner alternating ({rounds} runs each, which goes
first swapped every round), medians reported. Overhead = internal req/s / partner req/s,
goal ≤ {goal:.2f}x; "Server CPU" is the hub process's CPU per request under that load. Because both move with whatever
else the machine runs, the same comparison is also made **in-process**: the app called
one request at a time in a fresh process (no HTTP, as `profile_hub.py` does), internal
and partner interleaved in {blocks} blocks of 20 requests, CPU-ms per request, the
median of the blocks' partner/internal ratios. That one is the steadiest.

Two hubs are measured, one after the other:

- **as served**: `hub.app:create_app` as it is, so the partner also pays for the audit
  event of its PII reads (DESIGN §8, `hub/access/audit.py`): after execution, the
  `ReadAuditLog` writes the events of the requests that finish together in one insert
  on the request's connection and commits it before the answer goes out, each request
  waiting for its own; the insert is rendered once per dialect and handed to the
  database driver with each event as a tuple of values (`DriverInsert`), so what a
  request adds is the driver's insert and the commit;
- **no read audit**: the same app with only that audit switched off, which leaves the
  cost of row-level access: the grants in force (read with the token, in the same
  statement), the sharing conditions inside each statement that loads rows (the
  segment compiled to SQL, the newest PARTNER_SHARING consent, case and feedback
  sharing; decided once per customer of a page; the segment's enum values and country
  codes and the consent's constants written as SQL literals, free text bound), the
  scopes on the customer (selected with the customer's row) checked by the field
  guard, per-partner statements built once and cached like the internal ones
  (`hub/api/core/dataloaders.py`).

```sh
.venv/bin/python -m tests.benchmarks.partner --backend sqlite --duration 10 --rounds 3
.venv/bin/python -m tests.benchmarks.partner --backend all --blocks 60 --no-docs
.venv/bin/python -m tests.benchmarks.profile_hub --token partner   # where a partner's time goes
```

Machine: {machine}. {load}

{table}

{verdicts}

{mark}
{results}
-->
{end}"""


def write_docs(results: list[Result], args: argparse.Namespace, load_note: str) -> None:
    previous: list[Result] = []
    current = DOCS.read_text() if DOCS.exists() else "# Benchmarks\n"
    section = re.search(re.escape(BEGIN) + r"(.*?)" + re.escape(END), current, re.DOTALL)
    if section:
        found = re.search(re.escape(RESULTS_MARK) + r"\s*(.*?)\s*-->", section.group(1), re.DOTALL)
        if found:
            try:
                previous = [Result(**r) for r in json.loads(found.group(1))]
            except (ValueError, TypeError):
                previous = []
    ran = {r.backend for r in results}
    rows = sorted(
        [r for r in previous if r.backend not in ran] + results,
        key=lambda r: (r.backend != "sqlite", r.hub != "as served"),
    )
    verdicts = "\n".join(
        f"- {r.backend}, {r.hub}: {r.overhead:.2f}x by requests per second under load "
        f"({r.cpu_overhead:.2f}x by the server's CPU per request), {r.inproc_ratio:.2f}x by CPU "
        f"per request in-process, against a goal of ≤ {GOAL:.2f}x: "
        f"**{'met' if r.met else 'not met'}** by requests per second, "
        f"**{'met' if r.inproc_ratio <= GOAL else 'not met'}** in-process."
        for r in rows
    )
    text = TEMPLATE.format(
        begin=BEGIN,
        end=END,
        mark=RESULTS_MARK,
        segment=SEGMENT,
        connections=args.connections,
        warmup=args.warmup,
        duration=args.duration,
        rounds=args.rounds,
        blocks=args.blocks,
        goal=GOAL,
        machine=common.machine(),
        load=load_note,
        table=table(rows),
        verdicts=verdicts,
        results=json.dumps([asdict(r) for r in rows], indent=1),
    )
    common.write_section(BEGIN, END, text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.benchmarks.partner",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "all"], default="all")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds measured per run")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds before measuring")
    parser.add_argument("--connections", type=int, default=8, help="concurrent connections")
    parser.add_argument("--customers", type=int, default=2000, help="demo customers to seed")
    parser.add_argument("--rounds", type=int, default=3, help="runs per side, alternating")
    parser.add_argument(
        "--blocks", type=int, default=30, help="interleaved blocks of 20 requests, in-process"
    )
    parser.add_argument("--no-docs", action="store_true", help="do not write docs/benchmarks.md")
    args = parser.parse_args(argv)

    backends = ["sqlite", "postgresql"] if args.backend == "all" else [args.backend]
    load_before = os.getloadavg()[0]
    print(f"machine: {common.machine()}; load average {load_before:.2f}", flush=True)
    results = []
    for backend in backends:
        if backend == "postgresql":
            why = common.postgres_available()
            if why is not None:
                print(f"\n== postgresql: SKIPPED ({why})", flush=True)
                continue
        results.extend(bench_backend(backend, args))
    print()
    print(table(results))
    for r in results:
        print(
            f"{r.backend:<10} {r.hub:<13} partner overhead {r.overhead:.2f}x (goal ≤ {GOAL}x): "
            f"{'met' if r.met else 'NOT met'}; by server CPU {r.cpu_overhead:.2f}x; "
            f"in-process CPU {r.inproc_ratio:.2f}x"
        )
    load_note = (
        f"Load average (1 min) at the start and end of the last run: {load_before:.2f} and "
        f"{os.getloadavg()[0]:.2f}."
    )
    print(load_note)
    if not args.no_docs:
        write_docs(results, args, load_note)
    return 1 if any(r.errors for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
