"""Outbound webhooks: events from the outbox to acknowledged at a receiver, against a plain loop.

    .venv/bin/python -m tests.benchmarks.outbound [--backend sqlite|postgresql|all]
        [--events 2000] [--rounds 2] [--no-docs]

The receiver is a bare Starlette app (``receiver_app``) served by uvicorn in a
subprocess (one worker, no access log, 127.0.0.1): it reads the body, notes the
``webhook-id`` and answers 204. Each round gets a fresh receiver path.

- **hub**: ``--events`` events committed to the outbox (not timed), one subscription to
  the receiver, then ``hub.events.delivery.sweep`` runs until none is due (timed): the
  fan-out into deliveries, claiming, Standard Webhooks signing, the POSTs
  (``[webhooks] concurrency`` at a time, default 8), the attempt log and the outcome
  updates, every one of them in the database. Also measured with ``concurrency = 1``.
- **LIMIT**: a plain loop of ``requests`` POSTs (one keep-alive ``requests.Session``)
  of the same bodies with the same headers, to the same receiver, one after another
  (``trust_env`` off, as the hub's session).

The rate is events / wall time. Rounds alternate hub, loop, hub, loop... and the median
of each side is reported. A round counts only when the receiver holds every event id
exactly once, a sample of the hub's messages verifies with the ``standardwebhooks``
library, and every delivery is DELIVERED with one attempt logged.
Results go to stdout and to the "Outbound webhooks" section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import requests
from cryptography.fernet import Fernet
from sqlalchemy import func, insert, select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

ROOT = Path(__file__).resolve().parents[2]
BEGIN, END = "<!-- outbound-bench:begin -->", "<!-- outbound-bench:end -->"
GOAL = 0.5
SAMPLE = 50  # hub messages checked with standardwebhooks per round


# -- the receiver ---------------------------------------------------------------------------------


def receiver_app() -> Starlette:
    """Reads the body and answers 204; keeps what arrived per path for the checks."""
    seen: dict[str, list[tuple[dict[str, str], bytes]]] = {}

    async def receive(request: Request) -> Response:
        body = await request.body()
        seen.setdefault(request.url.path, []).append((dict(request.headers), body))
        return Response(status_code=204)

    async def report(request: Request) -> Response:
        messages = seen.pop("/" + request.path_params["path"], [])
        return JSONResponse([{"headers": h, "body": b.decode()} for h, b in messages])

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    return Starlette(routes=[
        Route("/healthz", healthz, methods=["GET"]),
        Route("/seen/{path:path}", report, methods=["GET"]),
        Route("/{path:path}", receive, methods=["POST"]),
    ])


def collected(port: int, path: str) -> list[dict[str, Any]]:
    return requests.get(f"http://127.0.0.1:{port}/seen{path}", timeout=60).json()


# -- the two sides --------------------------------------------------------------------------------


def settings_for(url: str, keys: list[str], concurrency: int) -> Any:
    from hub.settings import Settings

    return Settings(database_url=url, secret_keys=keys, webhooks={
        "allow_http": True, "allowed_networks": ["127.0.0.1/32"], "concurrency": concurrency,
        "batch_size": 200})


def stage(engine: Any, settings: Any, port: int, path: str, events: int) -> tuple[Any, Any]:
    """A subscription to the receiver and ``events`` committed events; returns their ids."""
    from hub.events.delivery import fan_out
    from hub.events.outbox import event_row
    from hub.events.secrets import new_secret, seal
    from hub.models import OutboxEvent, WebhookSubscription

    # Earlier rounds' subscriptions stop taking events.
    with engine.begin() as conn:
        conn.execute(WebhookSubscription.__table__.update().values(enabled=False))
    fan_out(engine, settings.webhooks)
    secret = new_secret()
    subscription_id = uuid.uuid4()
    rows = [event_row("customer.updated", {"changed": ["tags"], "tagsAdded": ["vip", f"n{i}"]},
                      subject=("Customer", uuid.uuid4())) for i in range(events)]
    with engine.begin() as conn:
        conn.execute(insert(WebhookSubscription), [{
            "id": subscription_id, "url": f"http://127.0.0.1:{port}{path}",
            "event_types": ["customer.*"], "secret_encrypted": seal(secret, settings),
            "enabled": True, "consecutive_failures": 0,
        }])
        conn.execute(insert(OutboxEvent), rows)
    return subscription_id, secret


def run_hub(engine: Any, settings: Any, port: int, events: int) -> dict[str, Any]:
    from hub.events.delivery import sweep
    from hub.models import WebhookDelivery, WebhookDeliveryAttempt, WebhookDeliveryStatus

    path = f"/hub/{uuid.uuid4().hex[:10]}"
    subscription_id, secret = stage(engine, settings, port, path, events)
    started = time.perf_counter()
    report = sweep(engine, settings)
    seconds = time.perf_counter() - started
    with engine.connect() as conn:
        delivered = conn.scalar(select(func.count()).select_from(WebhookDelivery).where(
            WebhookDelivery.subscription_id == subscription_id,
            WebhookDelivery.status == WebhookDeliveryStatus.DELIVERED))
        attempts = conn.scalar(select(func.count()).select_from(WebhookDeliveryAttempt).join(
            WebhookDelivery, WebhookDelivery.id == WebhookDeliveryAttempt.delivery_id).where(
            WebhookDelivery.subscription_id == subscription_id))
    messages = collected(port, path)
    verified = _verify(messages[:SAMPLE], secret.reveal())
    ids = [m["headers"]["webhook-id"] for m in messages]
    ok = (report.delivered == events and delivered == events and attempts == events
          and len(ids) == events and len(set(ids)) == events and verified == min(SAMPLE, events))
    return {"seconds": seconds, "rate": events / seconds, "ok": ok, "received": len(ids),
            "distinct": len(set(ids)), "verified": verified, "delivered": delivered}


def _verify(messages: list[dict[str, Any]], secret: str) -> int:
    from standardwebhooks.webhooks import Webhook, WebhookVerificationError

    webhook, good = Webhook(secret), 0
    for message in messages:
        try:
            webhook.verify(message["body"], message["headers"])
            good += 1
        except WebhookVerificationError:
            pass
    return good


def run_loop(engine: Any, settings: Any, port: int, events: int) -> dict[str, Any]:
    """The same bodies and headers, POSTed one after another on one keep-alive session."""
    from hub.events.delivery import envelope
    from hub.events.outbox import event_row
    from hub.events.secrets import new_secret

    path = f"/loop/{uuid.uuid4().hex[:10]}"
    url = f"http://127.0.0.1:{port}{path}"
    from standardwebhooks.webhooks import Webhook

    signer = Webhook(new_secret().reveal())
    now = dt.datetime.now(dt.UTC)
    prepared = []
    for i in range(events):
        row = event_row("customer.updated", {"changed": ["tags"], "tagsAdded": ["vip", f"n{i}"]},
                        subject=("Customer", uuid.uuid4()))
        body = envelope(row["type"], row["occurred_at"], row["payload"])
        message_id = str(row["id"])
        prepared.append((body.encode(), {
            "content-type": "application/json", "webhook-id": message_id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": signer.sign(message_id, now, body)}))
    session = requests.Session()
    session.trust_env = False  # as the hub's: no proxy or .netrc look-up per request
    started = time.perf_counter()
    for body, headers in prepared:
        response = session.post(url, data=body, headers=headers, timeout=(5, 15),
                                allow_redirects=False)
        response.raise_for_status()
    seconds = time.perf_counter() - started
    session.close()
    ids = [m["headers"]["webhook-id"] for m in collected(port, path)]
    return {"seconds": seconds, "rate": events / seconds, "ok": len(set(ids)) == events,
            "received": len(ids), "distinct": len(set(ids))}


def bench_backend(backend: str, args: argparse.Namespace) -> dict[str, Any]:
    from hub.db import create_sync_engine
    from hub.migrate import upgrade
    from tests.benchmarks import common
    from tests.benchmarks.webhooks import serve

    keys = [Fernet.generate_key().decode()]
    result: dict[str, Any] = {"backend": backend, "events": args.events}
    with common.database(backend) as url, tempfile.TemporaryDirectory() as tmp:
        settings = settings_for(url, keys, args.concurrency)
        serial = settings_for(url, keys, 1)
        engine = create_sync_engine(settings)
        upgrade(engine)
        with serve("receiver", "tests.benchmarks.outbound:receiver_app", {}, Path(tmp)) as rx:
            sides: dict[str, list[dict[str, Any]]] = {"hub": [], "hub1": [], "loop": []}
            for round_ in range(args.rounds):
                for name, run, chosen in (("hub", run_hub, settings), ("loop", run_loop, settings),
                                          ("hub1", run_hub, serial)):
                    outcome = run(engine, chosen, rx.port, args.events)
                    sides[name].append(outcome)
                    print(f"  {name:<5} #{round_ + 1}: {outcome['rate']:8.0f} events/s "
                          f"({outcome['seconds']:.2f} s) received {outcome['received']}, "
                          f"distinct {outcome['distinct']}, ok {outcome['ok']}", flush=True)
        engine.dispose()
    for name, runs in sides.items():
        result[f"{name}_rate"] = statistics.median(r["rate"] for r in runs)
        result[f"{name}_ok"] = all(r["ok"] for r in runs)
    result["ratio"] = result["hub_rate"] / result["loop_rate"]
    result["ratio_serial"] = result["hub1_rate"] / result["loop_rate"]
    result["concurrency"] = args.concurrency
    result["date"] = dt.date.today().isoformat()
    return result


# -- report ---------------------------------------------------------------------------------------


def report(rows: list[dict[str, Any]], skipped: dict[str, str], args: argparse.Namespace,
           load_average: str) -> str:
    from tests.benchmarks.common import machine

    lines = ["| Backend | Events | Hub events/s (concurrency {c}) | Hub events/s (concurrency 1) "
             "| Plain loop events/s | Hub/loop | Hub (1)/loop | Goal | Met | Checks | Date |"
             .format(c=args.concurrency), "|" + "---|" * 11]
    for r in rows:
        met = r["ratio"] >= GOAL and r["hub_ok"] and r["loop_ok"]
        checks = "all passed" if r["hub_ok"] and r["hub1_ok"] and r["loop_ok"] else "FAILED"
        lines.append(f"| {r['backend']} | {r['events']} | {r['hub_rate']:.0f} | "
                     f"{r['hub1_rate']:.0f} | {r['loop_rate']:.0f} | **{r['ratio']:.2f}x** | "
                     f"{r['ratio_serial']:.2f}x | ≥ {GOAL}x | {'yes' if met else 'NO'} | "
                     f"{checks} | {r['date']} |")
    notes = "".join(f"\n- {backend}: skipped ({why})." for backend, why in skipped.items())
    return f"""{BEGIN}
## Outbound webhooks (`python -m tests.benchmarks.outbound`)

*This section is written by `tests/benchmarks/outbound.py`; edit that file instead.*

How fast committed events reach a receiver, against the least any sender could do: a
plain loop of `requests` POSTs of the same bodies and headers to the same receiver.

- **Receiver**: a bare Starlette app under uvicorn in its own process (one worker, no
  access log, 127.0.0.1) that reads the body, notes the `webhook-id` and answers 204.
- **Hub**: {args.events} `customer.updated` events committed to the outbox and one
  subscription to the receiver (set up, not timed); then the sweep
  (`hub.events.delivery.sweep`) runs until nothing is due, timed: fan-out into one
  delivery per event, claims, Standard Webhooks signing with the subscription's
  sealed secret, the POSTs ({args.concurrency} at a time, `[webhooks] concurrency`;
  also measured one at a time), one attempt row and one outcome update per delivery.
- **Plain loop (the LIMIT)**: the same number of envelopes, signed beforehand, POSTed
  one after another on one keep-alive `requests.Session` (without the environment's
  proxy and `.netrc` look-ups, like the hub's); nothing is written anywhere.

Each round alternates hub, loop, hub with concurrency 1 ({args.rounds} rounds); the
median of each is reported. A round counts only if the receiver got every event id
exactly once, the first {SAMPLE} hub messages verify with the `standardwebhooks`
library, and every delivery is DELIVERED with one attempt logged. The benchmark,
the receiver and the database share the machine's CPUs.

Repeat it: `.venv/bin/python -m tests.benchmarks.outbound --backend all --events 2000`.

Machine: {machine()}. Load average at the start: {load_average}.

{chr(10).join(lines)}
{notes}
Goal: hub/loop ≥ {GOAL}x in events per second. With one POST at a time the hub also
pays its database work between POSTs, so its ratio shows what that costs; with
concurrent POSTs that work overlaps the receiver's.

<!-- outbound-bench-results:
{json.dumps(rows, indent=1)}
-->
{END}"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "all"], default="all")
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--no-docs", action="store_true")
    args = parser.parse_args(argv)
    from tests.benchmarks import common

    backends = ["sqlite", "postgresql"] if args.backend == "all" else [args.backend]
    rows, skipped = [], {}
    load_average = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    for backend in backends:
        if backend == "postgresql" and (why := common.postgres_available()):
            skipped[backend] = why
            continue
        print(f"{backend}:", flush=True)
        row = bench_backend(backend, args)
        rows.append(row)
        print(f"  hub {row['hub_rate']:.0f}/s (1 at a time: {row['hub1_rate']:.0f}/s), "
              f"loop {row['loop_rate']:.0f}/s: {row['ratio']:.2f}x (goal {GOAL}x)", flush=True)
    text = report(rows, skipped, args, load_average)
    if not args.no_docs:
        common.write_section(BEGIN, END, text)
    ok = rows and all(r["ratio"] >= GOAL and r["hub_ok"] and r["loop_ok"] for r in rows)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
