"""Webhook intake: the hub's ``POST /webhooks/{connection}`` against a bare endpoint.

    .venv/bin/python -m tests.benchmarks.webhooks [--backend sqlite|postgresql|all]
        [--deliveries 10000] [--connections 20] [--rounds 5] [--warmup 2000] [--no-docs]

The LIMIT is a bare Starlette app (``bare_app`` below) whose endpoint only reads
the body and answers the same 200. The hub is ``hub.app:create_app`` on a fresh
migrated database (a temporary SQLite file; a PostgreSQL database created and
dropped here) with one example-connector connection. Each is served by uvicorn
in a subprocess (one worker, no access log, 127.0.0.1).

The load generator is another process (``--load``): ``--connections`` keep-alive
HTTP/1.1 connections on asyncio/uvloop, each with one request in flight, sending
the same ``--deliveries`` deliveries to both: about 10% badly signed or unsigned,
about 10% redeliveries of a recent event (``tests/webhooks/deliveries.burst``).
It writes raw HTTP, so that it costs far less per request than either server.
The rate is deliveries / wall time of the whole burst. After ``--warmup``
deliveries to each server, not counted, rounds alternate hub, bare, hub, bare...;
each server is paused (SIGSTOP) while the other runs, so that the hub's job
threads cannot take CPU from the bare run. The ratio is the median of each
round's hub rate over the bare rate of the run right after it: on a shared
machine the CPU both get drifts within a minute, and a pair a few seconds apart
shares most of that drift (the ratio of the medians is reported beside it).

Before a result counts, every hub answer is checked (401 for each forged one,
200 for each good one, each good event accepted exactly once) and so is the
database: one inbox row per distinct good event id (0 lost), none forged.
Results go to stdout and to the "Webhooks" section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from cryptography.fernet import Fernet
from sqlalchemy import func, select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

ROOT = Path(__file__).resolve().parents[2]
BEGIN, END = "<!-- webhooks-bench:begin -->", "<!-- webhooks-bench:end -->"
GOAL = 0.5
ACCEPTED = b'{"status":"accepted"}'


# -- the LIMIT ----------------------------------------------------------------------------------


def bare_app() -> Starlette:
    """Reads the body and answers 200: what any webhook endpoint costs at the least."""

    async def receive(request: Request) -> Response:
        await request.body()
        return Response(ACCEPTED, media_type="application/json")

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    return Starlette(routes=[
        Route("/webhooks/{connection_id}", receive, methods=["POST"]),
        Route("/healthz", healthz, methods=["GET"]),
    ])


# -- servers ------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    pid: int
    port: int

    @contextmanager
    def paused(self) -> Iterator[None]:
        """The server stopped (SIGSTOP) meanwhile: its background work (the hub's job
        threads processing what the last burst stored) must not take CPU from the other
        server's run."""
        os.kill(self.pid, signal.SIGSTOP)
        try:
            yield
        finally:
            os.kill(self.pid, signal.SIGCONT)


def steal_seconds() -> float:
    """CPU time the machine's host took from this VM so far (all CPUs, /proc/stat)."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()
    return int(fields[8]) / os.sysconf("SC_CLK_TCK") if len(fields) > 8 else 0.0


def thread_cpu(pid: int) -> dict[str, float]:
    """User + system CPU seconds of each thread of ``pid``: "main" and the others by id."""
    tick, cpu = os.sysconf("SC_CLK_TCK"), {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:  # the thread ended meanwhile
            continue
        cpu["main" if task.name == str(pid) else task.name] = (
            (int(fields[11]) + int(fields[12])) / tick)
    return cpu


@contextmanager
def serve(name: str, factory: str, env: dict[str, str], log_dir: Path) -> Iterator[Server]:
    port = free_port()
    environment = {k: v for k, v in os.environ.items() if not k.startswith("CRMHUB_")}
    environment.update(env, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    log_path = log_dir / f"{name}.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--factory", factory, "--host", "127.0.0.1",
             "--port", str(port), "--workers", "1", "--no-access-log", "--log-level", "warning"],
            cwd=ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 60
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"{name} exited: {log_path.read_text()[-2000:]}")
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).is_success:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{name} did not start on port {port}")
                time.sleep(0.1)
            yield Server(process.pid, port)
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


# -- the load generator (its own process) -------------------------------------------------------


def _request(path: str, headers: dict[str, str], raw: bytes) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {len(raw)}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + raw


async def fire(port: int, requests: list[bytes], connections: int,
               server_pid: int) -> dict[str, Any]:
    """Send every request once over ``connections`` keep-alive connections; statuses in order.

    The server's CPU is read from /proc just before the first request and just after
    the last answer, so that it counts the burst alone (not this process starting).
    """
    statuses: list[int] = [0] * len(requests)
    bodies: list[bytes] = [b""] * len(requests)
    latencies: list[float] = []
    queue = iter(range(len(requests)))

    async def connection() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            for i in queue:
                sent = time.perf_counter()
                writer.write(requests[i])
                head = await reader.readuntil(b"\r\n\r\n")
                length = int(re.search(rb"(?i)\r\ncontent-length: *(\d+)", head).group(1))
                bodies[i] = await reader.readexactly(length)
                statuses[i] = int(head[9:12])
                latencies.append(time.perf_counter() - sent)
        finally:
            writer.close()

    sched = Path(f"/proc/{server_pid}/task/{server_pid}/schedstat")
    sched_before = [int(x) for x in sched.read_text().split()]
    server_before, steal = thread_cpu(server_pid), steal_seconds()
    started, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(connection() for _ in range(connections)))
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    server_after, steal = thread_cpu(server_pid), steal_seconds() - steal
    sched_after = [int(x) for x in sched.read_text().split()]
    main_cpu = server_after["main"] - server_before["main"]
    all_cpu = sum(server_after.values()) - sum(server_before.values())
    latencies.sort()
    return {
        "elapsed": elapsed,
        "rps": len(requests) / elapsed,
        "p50_ms": latencies[len(latencies) // 2] * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99)] * 1000,
        "statuses": statuses,
        "bodies": [b.decode() for b in bodies],
        "client_cpu": cpu / elapsed,
        "cpu_us": all_cpu * 1e6 / len(requests),
        "main_cpu_us": main_cpu * 1e6 / len(requests),
        "main_run": (sched_after[0] - sched_before[0]) / 1e9 / elapsed,
        "main_runq": (sched_after[1] - sched_before[1]) / 1e9 / elapsed,
        "steal": steal / elapsed / (os.cpu_count() or 1),
    }


def load_main() -> None:
    from tests.webhooks.deliveries import burst

    spec = json.load(sys.stdin)
    deliveries = burst(spec["ns"], spec["deliveries"])
    requests = [_request(spec["path"], d.headers, d.raw) for d in deliveries]
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop comes with uvicorn[standard]
        result = asyncio.run(fire(spec["port"], requests, spec["connections"], spec["pid"]))
    else:
        result = uvloop.run(fire(spec["port"], requests, spec["connections"], spec["pid"]))
    # A file, not stdout: the event loop may leave stdout non-blocking, cutting a big write.
    Path(spec["out"]).write_text(json.dumps(result))


def load(server: Server, path: str, ns: str, args: argparse.Namespace,
         deliveries: int | None = None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        spec = {"port": server.port, "pid": server.pid, "path": path, "ns": ns,
                "deliveries": deliveries or args.deliveries,
                "connections": args.connections, "out": str(out)}
        done = subprocess.run([sys.executable, "-m", "tests.benchmarks.webhooks", "--load"],
                              input=json.dumps(spec).encode(), capture_output=True, cwd=ROOT,
                              timeout=600, check=False)
        if done.returncode != 0 or not out.exists():
            raise RuntimeError(f"load generator failed: {done.stderr.decode()[-2000:]}")
        result = json.loads(out.read_text())
    return result


# -- checks -------------------------------------------------------------------------------------


def check_hub(result: dict[str, Any], ns: str, deliveries: int, engine: Any,
              connection_id: uuid.UUID) -> dict[str, int]:
    """Refuse the run unless every answer and every stored row is right; return the counts."""
    from hub.models import InboundEvent
    from tests.webhooks.deliveries import burst

    plan = burst(ns, deliveries)
    accepted: dict[str, int] = defaultdict(int)
    for d, status, text in zip(plan, result["statuses"], result["bodies"], strict=True):
        expected = 200 if d.good else 401
        if status != expected:
            raise AssertionError(f"{d.event_id}: HTTP {status} {text[:200]}, not {expected}")
        if d.good and "accepted" in text:
            accepted[d.event_id] += 1
    good = {d.event_id for d in plan if d.good}
    if set(accepted) != good or any(n != 1 for n in accepted.values()):
        raise AssertionError("some good event was not accepted exactly once")
    with engine.connect() as conn:
        rows = conn.execute(select(InboundEvent.provider_event_id)
                            .where(InboundEvent.connection_id == connection_id)).scalars().all()
    if sorted(rows) != sorted(good):
        lost, extra = good - set(rows), set(rows) - good
        raise AssertionError(f"inbox rows differ: {len(lost)} lost, {len(extra)} not expected")
    return {"deliveries": len(plan), "forged": sum(not d.good for d in plan),
            "redelivered": sum(d.good for d in plan) - len(good), "stored": len(rows),
            "lost": len(good - set(rows)), "wrongly_accepted": 0}


# -- one backend --------------------------------------------------------------------------------


def bench_backend(backend: str, args: argparse.Namespace) -> dict[str, Any]:
    from hub.db import create_sync_engine
    from hub.migrate import upgrade
    from hub.models import InboundEvent
    from hub.settings import Settings
    from tests.benchmarks import common
    from tests.webhooks.deliveries import new_connection

    key = Fernet.generate_key().decode()
    hub_runs, bare_runs, checks = [], [], []
    with common.database(backend) as url, tempfile.TemporaryDirectory() as tmp:
        engine = create_sync_engine(Settings(database_url=url))
        upgrade(engine)
        env = {"CRMHUB_DATABASE_URL": url, "CRMHUB_SECRET_KEYS": key}
        if args.broker:
            env["CRMHUB_JOBS__BROKER_URL"] = args.broker
        with serve("hub", "hub.app:create_app", env, Path(tmp)) as hub, \
                serve("bare", "tests.benchmarks.webhooks:bare_app", env, Path(tmp)) as bare:
            if args.warmup:
                # Not counted: both servers' first requests (imports, caches, prepared
                # statements, the inbox's connections) are not what a burst costs.
                warm = new_connection(engine, [key])
                for server, other in ((hub, bare), (bare, hub)):
                    with other.paused():
                        load(server, f"/webhooks/{warm}", f"warm{uuid.uuid4().hex[:6]}", args,
                             args.warmup)
            for n in range(args.rounds):
                connection_id = new_connection(engine, [key])
                ns = f"bench{n}{uuid.uuid4().hex[:6]}"
                print(f"  {backend} round {n + 1}: hub ...", end=" ", flush=True)
                with bare.paused():
                    result = load(hub, f"/webhooks/{connection_id}", ns, args)
                checks.append(check_hub(result, ns, args.deliveries, engine, connection_id))
                hub_runs.append(result)
                print(f"{result['rps']:.0f}/s {result['cpu_us']:.0f} CPU-us/req "
                      f"({result['main_cpu_us']:.0f} main thread); bare ...",
                      end=" ", flush=True)
                with hub.paused():  # its job threads would process the burst meanwhile
                    result = load(bare, f"/webhooks/{connection_id}", ns, args)
                if any(status != 200 for status in result["statuses"]):
                    raise AssertionError("the bare endpoint answered something else than 200")
                bare_runs.append(result)
                print(f"{result['rps']:.0f}/s {result['cpu_us']:.0f} CPU-us/req: "
                      f"{hub_runs[-1]['rps'] / result['rps']:.2f}x")
        with engine.connect() as conn:
            processed = conn.execute(select(func.count()).select_from(InboundEvent)
                                     .where(InboundEvent.processed_at.is_not(None))).scalar()
        engine.dispose()

    def median(runs: list[dict[str, Any]], key: str) -> float:
        return statistics.median(r[key] for r in runs)

    hub_rps, bare_rps = median(hub_runs, "rps"), median(bare_runs, "rps")
    paired = [h["rps"] / b["rps"] for h, b in zip(hub_runs, bare_runs, strict=True)]
    return {
        "backend": backend, "hub_rps": hub_rps, "bare_rps": bare_rps,
        "ratio": statistics.median(paired), "paired": paired,
        "ratio_of_medians": hub_rps / bare_rps,
        "steal": max(r["steal"] for r in hub_runs + bare_runs),
        "hub_p50_ms": median(hub_runs, "p50_ms"), "hub_p99_ms": median(hub_runs, "p99_ms"),
        "bare_p50_ms": median(bare_runs, "p50_ms"), "bare_p99_ms": median(bare_runs, "p99_ms"),
        "hub_cpu_us": median(hub_runs, "cpu_us"), "bare_cpu_us": median(bare_runs, "cpu_us"),
        "bare_cpu_range": (min(r["cpu_us"] for r in bare_runs),
                           max(r["cpu_us"] for r in bare_runs)),
        "hub_main_cpu_us": median(hub_runs, "main_cpu_us"),
        "client_cpu": max(r["client_cpu"] for r in hub_runs + bare_runs),
        "checks": checks[-1], "processed_during_runs": processed,
        "stored_total": sum(c["stored"] for c in checks),
    }


# -- the report ---------------------------------------------------------------------------------


def report(rows: list[dict[str, Any]], skipped: dict[str, str], args: argparse.Namespace,
           load_average: str) -> str:
    from tests.benchmarks.common import machine

    table = [("| backend | hub deliveries/s | bare deliveries/s | ratio (goal ≥ 0.5) | "
              "each round | ratio of the medians | server CPU µs per delivery, hub (event "
              "loop) / bare | hub p50 / p99 ms | lost | forged accepted |"),
             "|---|---:|---:|---:|---|---:|---:|---:|---:|---:|"]
    for r in rows:
        c = r["checks"]
        table.append(
            f"| {r['backend']} | {r['hub_rps']:.0f} | {r['bare_rps']:.0f} | "
            f"**{r['ratio']:.2f}x** {'met' if r['ratio'] >= GOAL else 'not met'} | "
            f"{' '.join(f'{x:.2f}' for x in r['paired'])} | {r['ratio_of_medians']:.2f}x | "
            f"{r['hub_cpu_us']:.0f} ({r['hub_main_cpu_us']:.0f}) / {r['bare_cpu_us']:.0f} | "
            f"{r['hub_p50_ms']:.1f} / {r['hub_p99_ms']:.1f} | {c['lost']} of "
            f"{c['deliveries']:,} | {c['wrongly_accepted']} of {c['forged']} |"
        )
    notes = "".join(f"- {backend}: skipped ({why}).\n" for backend, why in skipped.items())
    processed = "; ".join(
        f"{r['backend']}: {r['processed_during_runs']:,} of {r['stored_total']:,}"
        for r in rows
    )
    client = max((r["client_cpu"] for r in rows), default=0)
    steal = max((r["steal"] for r in rows), default=0)
    drift = ", ".join(f"{r['backend']} {r['bare_cpu_range'][0]:.0f}-{r['bare_cpu_range'][1]:.0f}"
                      for r in rows)
    return f"""{BEGIN}
## Webhooks

*Written by `.venv/bin/python -m tests.benchmarks.webhooks`; edit that file instead.*

What: the accept rate of `POST /webhooks/{{connection}}` (`hub/webhooks.py`): find the
connection (cached 5 s), read the body, check the example connector's HMAC signature
and timestamp, drop the secret headers, store the delivery with `INSERT … ON CONFLICT
DO NOTHING` (group commit: concurrent deliveries share a statement), answer 200 once
committed; the events' `process_inbound_events` jobs are enqueued 50 ms later, up to
200 events each. The LIMIT is a bare Starlette endpoint that only reads the body and
answers the same 200 (`bare_app` in `tests/benchmarks/webhooks.py`).

How: each server under uvicorn in its own process (one worker, no access log,
127.0.0.1), the database on the same machine (PostgreSQL over TCP). The load
generator is a third process writing raw HTTP/1.1 on asyncio + uvloop over
{args.connections} keep-alive connections, one request in flight each,
{args.deliveries:,} deliveries per run to both servers: about 10% badly signed or
unsigned, about 10% redeliveries of a recent event (`tests/webhooks/deliveries.burst`).
The rate is deliveries / wall time of the whole burst. After {args.warmup:,} deliveries
to each server that are not counted: hub, bare, hub, bare ... ({args.rounds} runs each),
each server stopped (SIGSTOP) while the other runs, so that the hub's job threads
take no CPU from the bare run. The ratio is the median of the rounds' ratios, each the
hub's rate over the bare rate of the run right after it ("each round"): the CPU this
shared machine gives drifts within a minute, and a pair seconds apart shares most of
the drift. Server CPU is the server process's user + system time over the burst, per
delivery, read from /proc by the load generator (medians; in brackets the hub's event
loop thread alone). The hub runs as shipped (embedded jobs, a job queue of 100): its
job threads wait while deliveries are arriving (processed by the end of the runs:
{processed}). Every run is checked before it counts: 401 for each forged delivery,
200 for each good one, each good event accepted exactly once, and the inbox holds
exactly the distinct good event ids.

Machine: {machine()}; load average {load_average} when the run started;
{dt.date.today().isoformat()}.

{chr(10).join(table)}

{notes}The load generator used at most {client:.0%} of one CPU. The host took up to
{steal:.0%} of this VM's CPU time during a run (steal time). The bare endpoint's own
CPU per delivery, the same code each run, ranged {drift} µs: read single runs with
care. Where the hub's time goes is in docs/webhooks.md ("Throughput").
{END}"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "all"], default="all")
    parser.add_argument("--deliveries", type=int, default=10_000)
    parser.add_argument("--connections", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=2_000,
                        help="deliveries sent to each server first, not counted")
    parser.add_argument("--broker", default="",
                        help="run the hub's jobs on Celery workers through this broker "
                             "(none are started: the jobs wait in the broker)")
    parser.add_argument("--no-docs", action="store_true")
    parser.add_argument("--load", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.load:
        load_main()
        return 0
    from tests.benchmarks import common

    backends = ["sqlite", "postgresql"] if args.backend == "all" else [args.backend]
    rows, skipped = [], {}
    load_average = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    for backend in backends:
        if backend == "postgresql" and (why := common.postgres_available()):
            skipped[backend] = why
            continue
        print(f"{backend}:")
        row = bench_backend(backend, args)
        rows.append(row)
        print(f"  hub {row['hub_rps']:.0f}/s, bare {row['bare_rps']:.0f}/s: "
              f"{row['ratio']:.2f}x, median of the rounds (goal {GOAL}x; ratio of the "
              f"medians {row['ratio_of_medians']:.2f}x); CPU µs/delivery "
              f"{row['hub_cpu_us']:.0f} / {row['bare_cpu_us']:.0f}; lost {row['checks']['lost']}")
    text = report(rows, skipped, args, load_average)
    if not args.no_docs:
        common.write_section(BEGIN, END, text)
    return 0 if rows and all(r["ratio"] >= GOAL for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
