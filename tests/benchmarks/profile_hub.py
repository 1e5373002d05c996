"""Where the hub's time goes: cProfile of the ASGI app called directly, one process, no HTTP.

    .venv/bin/python -m tests.benchmarks.profile_hub [--backend sqlite|postgresql]
        [--workload customer360|customers] [--token internal|partner] [--requests 300]
        [--customers 2000] [--top 40]

Seeds a fresh database as the benchmark does, then sends the same requests as the
load (same bodies, same token) straight into ``create_app(settings)`` one after the
other, and prints: the time per request, the SQL statements per request, the
cumulative and own-time top functions, and own time grouped by library.
``--token partner`` asks Customer360 with the partner token of the partner benchmark
(``tests/benchmarks/partner.py``: a segment grant, every case and feedback shared), for
customers its grant covers, to see what being a partner costs (its read audit's insert goes
to the database driver directly, so it is not among the SQL statements counted).
``--out FILE`` also saves the raw profile (for snakeviz, ``pstats``...).
``--profiler none`` only times the loop, for a sampling profiler without cProfile's
per-call overhead, e.g. ``py-spy record -f raw -o out.txt -- .venv/bin/python -m
tests.benchmarks.profile_hub --profiler none`` (py-spy is not a project dependency).
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import cProfile
import gc
import io
import multiprocessing
import pstats
import time
from collections import defaultdict
from typing import Any

from sqlalchemy import event

from hub.app import create_app
from hub.settings import Settings
from tests.benchmarks import common


async def call(app: Any, req: common.Req, headers: dict[str, str]) -> tuple[int, bytes]:
    body = req.body or b""
    path, _, query = req.path.partition("?")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": req.method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()]
        + [(b"content-length", str(len(body)).encode()), (b"host", b"bench")],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.sleep(3600)
        return {"type": "http.disconnect"}

    status = 0
    chunks: list[bytes] = []

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, b"".join(chunks)


def library(filename: str) -> str:
    if "site-packages/" in filename:
        return filename.split("site-packages/", 1)[1].split("/", 1)[0].removesuffix(".py")
    if "/hub/" in filename:
        parts = filename.split("/hub/", 1)[1].split("/")
        return "hub/" + "/".join(parts[:2] if parts[0] == "api" else parts[:1])
    if filename.startswith(("~", "<")):
        return "builtins (C)"
    return "stdlib"


async def profile(args: argparse.Namespace, url: str) -> None:
    # Seeded in another process, so that this one holds what a server holds (the demo
    # data generator's objects would otherwise weigh on every garbage collection).
    spawn = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(1, mp_context=spawn) as pool:
        token = pool.submit(common.prepare, url, args.customers).result()
        ids = pool.submit(common.customer_ids, url).result()
        if args.token == "partner":
            from tests.benchmarks.partner import prepare_partner

            token, ids, _ = pool.submit(prepare_partner, url).result()
    app = create_app(Settings(database_url=url))
    statements = 0

    @event.listens_for(app.state.engine.sync_engine, "before_cursor_execute")
    def count(*_: Any) -> None:
        nonlocal statements
        statements += 1

    headers = common.hub_headers(token)
    if args.workload == "customer360":
        requests = common.customer360_workload(ids).hub
    else:

        async def page(after: str | None) -> dict[str, Any]:
            import orjson

            req = common.Req(
                "POST",
                "/graphql",
                common.hub_body("CustomersWithOrders", {"first": 50, "after": after}),
            )
            return orjson.loads((await call(app, req, headers))[1])["data"]

        cursors: list[str | None] = [None]
        while True:
            info = (await page(cursors[-1]))["customers"]["pageInfo"]
            if not info["hasNextPage"]:
                break
            cursors.append(info["endCursor"])
        requests = common.customers_workload(cursors).hub

    for req in requests[:20]:  # warm: caches, pool, imports
        status, body = await call(app, req, headers)
        assert status == 200 and b'"errors"' not in body[:20], body[:300]
    if args.gc == "freeze":
        # What the hub would gain from `gc.freeze()` after start-up: the objects alive
        # now (modules, schema, SQLAlchemy metadata...) are no longer scanned by every
        # full collection.
        gc.collect()
        gc.freeze()

    statements = 0
    profiler = cProfile.Profile()
    cpu_started = time.process_time()
    started = time.perf_counter()
    if args.profiler == "cprofile":
        profiler.enable()
    for i in range(args.requests):
        status, body = await call(app, requests[i % len(requests)], headers)
        assert status == 200, body[:300]
    profiler.disable()
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    per_request = statements / args.requests
    if args.profiler == "none":  # e.g. under `py-spy record -- python -m ...`
        await app.state.engine.dispose()
        app.state.sync_engine.dispose()
        print(
            f"\n{args.backend} / {args.workload} / {args.token} token (gc {args.gc}): "
            f"{args.requests} requests, "
            f"{elapsed / args.requests * 1000:.2f} ms/request "
            f"({cpu / args.requests * 1000:.2f} ms CPU), {per_request:.1f} SQL statements each"
        )
        return

    plain_started = time.perf_counter()
    for i in range(args.requests):
        await call(app, requests[i % len(requests)], headers)
    plain = time.perf_counter() - plain_started

    await app.state.engine.dispose()
    app.state.sync_engine.dispose()

    print(
        f"\n{args.backend} / {args.workload} / {args.token} token: {args.requests} requests "
        f"(gc {args.gc})"
    )
    print(
        f"  without profiler: {plain / args.requests * 1000:.2f} ms/request "
        f"({args.requests / plain:.0f} req/s on one core)"
    )
    print(f"  under cProfile:   {elapsed / args.requests * 1000:.2f} ms/request")
    print(f"  SQL statements:   {per_request:.1f} per request")

    stats = pstats.Stats(profiler)
    if args.out:
        stats.dump_stats(args.out)
    by_library: dict[str, float] = defaultdict(float)
    total = 0.0
    for (filename, _line, _name), (_cc, _nc, tt, _ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        by_library[library(filename)] += tt
        total += tt
    print("\n  own time by library:")
    for name, seconds in sorted(by_library.items(), key=lambda kv: -kv[1])[:15]:
        print(f"    {seconds / total:6.1%}  {seconds / args.requests * 1000:7.2f} ms/req  {name}")
    for order in ("cumulative", "tottime"):
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats(order).print_stats(args.top)
        text = out.getvalue()
        print(f"\n  top {args.top} by {order}:")
        print(text[text.find("   ncalls") :])


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.benchmarks.profile_hub")
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--workload", choices=["customer360", "customers"], default="customer360")
    parser.add_argument(
        "--token",
        choices=["internal", "partner"],
        default="internal",
        help="partner: a partner's token, for customers its grant covers (customer360 only)",
    )
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--out", help="save the profile here")
    parser.add_argument(
        "--gc",
        choices=["default", "freeze"],
        default="freeze",
        help="freeze (the default, as the app does at start-up): gc.freeze() after the "
        "warm-up; default: full collections scan the long-lived objects too",
    )
    parser.add_argument(
        "--profiler",
        choices=["cprofile", "none"],
        default="cprofile",
        help="none: just time the loop (to sample it with py-spy)",
    )
    args = parser.parse_args()
    if args.token == "partner" and args.workload != "customer360":
        parser.error("--token partner goes with --workload customer360")
    with common.database(args.backend) as url:
        try:
            import uvloop  # the event loop uvicorn runs the hub on
        except ImportError:  # pragma: no cover - uvloop comes with uvicorn[standard]
            asyncio.run(profile(args, url))
        else:
            uvloop.run(profile(args, url))


if __name__ == "__main__":
    main()
