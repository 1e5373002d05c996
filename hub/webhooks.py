"""``/webhooks/{connection_id}``: inbound deliveries, verified, stored, acknowledged in milliseconds.

``POST``: the connection (404 if there is none) names the connector that checks
the delivery against the connection's secret (401, and nothing stored, when it
fails); the verified delivery goes into the inbox (``hub/sync/inbox.py``) with
``INSERT … ON CONFLICT DO NOTHING`` on the async engine, and is acknowledged
once committed; a job to process it (one per the events committed in 50 ms) is
then enqueued. A redelivery of a stored event is acknowledged (200) and ignored.
Nothing here calls the platform or writes canonical data: the platform is
waiting, and most retry a slow answer.

``GET``: the platform's check of the callback URL (Facebook's ``hub.challenge``,
Mailchimp's ping), answered by the connector's ``webhook_challenge``.

Answers: 200 ``{"status": "accepted" | "duplicate"}``; 400 a delivery that names
no event; 401 a bad or missing signature (or no secret configured); 404 an
unknown connection; 405 a GET to a connector without a URL check; 413 a body
over the limit; 503 the hub cannot read the connection's connector or
credentials (a configuration fault: the platform retries later).
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette._utils import get_route_path
from starlette.datastructures import QueryParams
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from connectors.base.connector import Connector
from connectors.base.credentials import configured_keys, decrypt
from connectors.base.errors import ConnectorError, SignatureError
from connectors.base.registry import get_connector
from connectors.base.webhooks import Headers
from hub import tasks
from hub.models import Connection
from hub.settings import Settings
from hub.sync import inbox

log = logging.getLogger(__name__)

# Generous for one event (a large Shopify order is tens of kB), small for a flood.
MAX_BODY_BYTES = 1024 * 1024
# A connection's connector, config and secret are kept this long: a rotated secret takes
# effect within it, a deleted connection at once (its insert fails).
CACHE_SECONDS = 5.0
_CACHE_SIZE = 10_000
# New events whose jobs may wait to be enqueued; beyond that the inbox sweep takes them.
ENQUEUE_BACKLOG = 10_000

_ACCEPTED = b'{"status":"accepted"}'
_DUPLICATE = b'{"status":"duplicate"}'

Enqueue = Callable[..., Any]


class _Refused(Exception):
    def __init__(self, status: int, error: str, message: str) -> None:
        super().__init__(message)
        self.status, self.error, self.message = status, error, message

    def body(self) -> bytes:
        return json.dumps({"error": self.error, "message": self.message},
                          ensure_ascii=False, separators=(",", ":")).encode()


_NO_CONNECTION = (404, "connection", "no such connection")


class WebhookEndpoint:
    """The two routes, with what they share: connections read, the inbox, the job queue.

    ``sync_engine`` is the same database's: SQLite deliveries are written through it
    (see ``InboxWriter``). ``enqueue`` defaults to ``hub.tasks.enqueue``.
    """

    def __init__(self, engine: AsyncEngine, settings: Settings, *,
                 sync_engine: Engine | None = None, enqueue: Enqueue | None = None,
                 max_body_bytes: int = MAX_BODY_BYTES,
                 cache_seconds: float = CACHE_SECONDS) -> None:
        self.receivers = Receivers(engine, settings, cache_seconds)
        self.jobs = _Enqueuer(enqueue, in_thread=bool(settings.jobs.broker_url))
        self.inbox = inbox.InboxWriter(engine, after_commit=self.jobs.submit,
                                       sync_engine=sync_engine)
        self.max_body_bytes = max_body_bytes

    async def close(self) -> None:
        """Close what intake holds open (the inbox's own connections), and enqueue the
        jobs of the events held for their job."""
        await self.inbox.close()
        await self.jobs.close()

    def routes(self) -> list[Route]:
        return [
            Route("/webhooks/{connection_id}", self.receive, methods=["POST"]),
            Route("/webhooks/{connection_id}", self.challenge, methods=["GET"]),
        ]

    def middleware(self) -> Middleware:
        """Deliveries taken ahead of the app's other middleware and its router.

        Put first in the app's middleware: a ``POST /webhooks/{id}`` is answered
        here, without the session middleware, the exception middleware and the
        match against every route, which together cost a delivery about as much
        as checking its signature. Anything else goes on to the app as usual.
        """
        return Middleware(_Intake, endpoint=self)

    # -- POST ---------------------------------------------------------------------------------

    async def receive(self, request: Request) -> Response:
        """The POST route: for an app that does not put ``middleware`` first."""
        answer = await self.deliver(request.path_params["connection_id"], request.scope,
                                    request.receive)
        if answer is None:
            raise ClientDisconnect
        status, body = answer
        return Response(body, status, media_type="application/json")

    async def deliver(self, raw_id: str, scope: Scope, receive: Receive
                      ) -> tuple[int, bytes] | None:
        """The status and JSON body that answer one delivery; None if its sender went away.

        Straight from the ASGI scope and messages: Starlette's request and response
        objects cost a delivery about as much as checking its signature does.
        """
        try:
            receiver = await self.receivers.get(raw_id)
            # Once, from the raw scope: Starlette's Headers decode on every lookup.
            headers = Headers.from_asgi(scope["headers"])
            body = await self._body(receive, headers.get("content-length"))
            if body is None:
                return None
            query = dict(QueryParams(scope["query_string"])) if scope["query_string"] else {}
            event_id, topic = receiver.check(headers, body, query)
            stored = await self.inbox.store(receiver.connection_id, event_id, topic,
                                            inbox.storable_headers(headers), body)
        except _Refused as refused:
            return refused.status, refused.body()
        except IntegrityError:
            # The inbox's only other constraint is the connection: it was just deleted.
            self.receivers.forget(raw_id)
            refused = _Refused(*_NO_CONNECTION)
            return refused.status, refused.body()
        return 200, _ACCEPTED if stored is not None else _DUPLICATE

    async def _body(self, receive: Receive, declared: str | None) -> bytes | None:
        if declared is not None:
            if not declared.isdigit():
                raise _Refused(400, "delivery", "Content-Length is not a number")
            if int(declared) > self.max_body_bytes:
                raise self._too_large()
            # Then the server stops at the declared length.
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return None  # http.disconnect
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                raise self._too_large()
            chunks.append(chunk)
            if not message.get("more_body", False):
                return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    def _too_large(self) -> _Refused:
        return _Refused(413, "too_large", f"the body is over {self.max_body_bytes} bytes")

    # -- GET ----------------------------------------------------------------------------------

    async def challenge(self, request: Request) -> Response:
        try:
            receiver = await self.receivers.get(request.path_params["connection_id"])
            try:
                answer = receiver.connector.webhook_challenge(
                    dict(request.query_params), receiver.config, receiver.credentials
                )
            except SignatureError as error:
                raise _Refused(401, "signature", str(error)) from None
        except _Refused as refused:
            return Response(refused.body(), refused.status, media_type="application/json")
        if answer is None:
            return JSONResponse(
                {"error": "method", "message": f"{receiver.connector.title} sends no GET check"},
                status_code=405, headers={"Allow": "POST"},
            )
        return PlainTextResponse(answer)


class _Intake:
    """The pure ASGI middleware of ``WebhookEndpoint.middleware``."""

    PREFIX = "/webhooks/"

    def __init__(self, app: ASGIApp, endpoint: WebhookEndpoint) -> None:
        self.app = app
        self.endpoint = endpoint

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            path = get_route_path(scope)
            connection_id = path[len(self.PREFIX):]
            # The same paths as the route "/webhooks/{connection_id}" matches.
            if path.startswith(self.PREFIX) and connection_id and "/" not in connection_id:
                answer = await self.endpoint.deliver(connection_id, scope, receive)
                if answer is not None:  # else the sender went away: no one to answer
                    status, body = answer
                    await send({"type": "http.response.start", "status": status,
                                "headers": _json_headers(len(body))})
                    await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)


@functools.lru_cache(maxsize=64)
def _json_headers(length: int) -> list[tuple[bytes, bytes]]:
    return [(b"content-length", str(length).encode()), (b"content-type", b"application/json")]


@dataclass(frozen=True)
class Receiver:
    """What checking one connection's deliveries needs, read from its row once."""

    connection_id: uuid.UUID
    connector: Connector
    config: BaseModel
    credentials: Any
    secret: str

    def check(self, headers: Headers, body: bytes,
              query: dict[str, str]) -> tuple[str, str]:
        """The delivery's event id and topic once it is verified; _Refused if it is not."""
        if not self.secret:
            # An empty key would make every signature anyone's to compute.
            raise _Refused(401, "signature", "no webhook secret is configured")
        try:
            self.connector.verify_webhook(headers, body, self.secret, query, config=self.config)
            event_id = self.connector.webhook_event_id(headers, body)
            topic = self.connector.webhook_topic(headers, body)
        except SignatureError as error:
            raise _Refused(401, "signature", str(error)) from None
        except (ConnectorError, ValueError) as error:
            raise _Refused(400, "delivery", str(error)) from None
        if not event_id:
            raise _Refused(400, "delivery", "the delivery names no event")
        return event_id, topic


class Receivers:
    """Connections ready to check deliveries: each read at most once per ``ttl`` at a time.

    When an entry expires, the requests that find it so wait for ONE read of the row,
    not one each.
    """

    def __init__(self, engine: AsyncEngine, settings: Settings, ttl: float) -> None:
        self.engine = engine
        self.settings = settings
        self.ttl = ttl
        # Keyed by the id's usual spelling (``str(uuid)``).
        self._cache: dict[str, tuple[float, Receiver]] = {}
        self._reading: dict[str, asyncio.Task[Receiver]] = {}
        self._connectors: dict[str, Connector] = {}

    async def get(self, raw_id: str) -> Receiver:
        # By the id as the URL spells it, so that the usual spelling costs no parsing; any
        # other spelling of the same id is looked up as the usual one.
        receiver = self._cached(raw_id)
        if receiver is not None:
            return receiver
        try:
            connection_id = uuid.UUID(raw_id)
        except ValueError:
            raise _Refused(*_NO_CONNECTION) from None
        key = str(connection_id)
        receiver = self._cached(key)
        if receiver is not None:
            return receiver
        reading = self._reading.get(key)
        if reading is None:
            reading = self._reading[key] = asyncio.create_task(self._read(key, connection_id))
            reading.add_done_callback(lambda _: self._reading.pop(key, None))
        # Shielded: a waiter that goes away must not cancel the others' read.
        return await asyncio.shield(reading)

    def _cached(self, key: str) -> Receiver | None:
        cached = self._cache.get(key)
        return cached[1] if cached is not None and cached[0] > time.monotonic() else None

    def forget(self, raw_id: str) -> None:
        try:
            self._cache.pop(str(uuid.UUID(raw_id)), None)
        except ValueError:
            pass

    async def _read(self, key: str, connection_id: uuid.UUID) -> Receiver:
        async with self.engine.connect() as conn:
            row = (await conn.execute(
                select(Connection.connector, Connection.config, Connection.credentials)
                .where(Connection.id == connection_id)
            )).first()
        if row is None:
            raise _Refused(*_NO_CONNECTION)
        receiver = self._open(connection_id, row)
        if len(self._cache) >= _CACHE_SIZE:
            self._cache.clear()
        self._cache[key] = (time.monotonic() + self.ttl, receiver)
        return receiver

    def _open(self, connection_id: uuid.UUID, row: Any) -> Receiver:
        try:
            connector = self._connectors.get(row.connector)
            if connector is None:
                connector = self._connectors[row.connector] = get_connector(row.connector)()
            config = connector.parse_config(row.config or {})
            sealed = (decrypt(row.credentials, configured_keys(self.settings))
                      if row.credentials else None)
            credentials = connector.parse_credentials(sealed)
            secret = connector.webhook_secret(config, credentials) or ""
        except (ConnectorError, ValueError) as error:
            # Never the platform's fault: say so in the log (without the secret-bearing
            # message), and let the platform retry later.
            log.error("webhooks for connection %s cannot be checked: %s", connection_id,
                      type(error).__name__)
            raise _Refused(503, "unavailable",
                           "this connection cannot receive webhooks now") from None
        return Receiver(connection_id, connector, config, credentials, secret)


class _Enqueuer:
    """Enqueues processing jobs for the events committed in the last ``HOLD_FOR`` seconds.

    Each commit's new event ids are held, and one job per at most ``JOB_SIZE`` of them
    is enqueued ``HOLD_FOR`` seconds after the first: during a burst that is one job
    per hundreds of events, not one per commit. An enqueue costs the serving process
    more than storing a delivery does (the arguments' JSON round trip, a job thread
    woken to take the GIL), and the embedded job queue is bounded: per-commit jobs
    filled it within a second of a burst and left the rest to the sweep. Processing
    loses nothing by waiting: it waits for a pause in intake anyway (``IntakeGate``).

    Embedded, enqueueing is a bounded, non-blocking hand-over to this process's
    job threads: done at once. With a broker each enqueue is a network round
    trip: done from a thread of its own, so that no delivery waits for it. Events
    whose job is never enqueued (the queue is full or unreachable, the backlog is
    full, the process stops before ``close``) are stored all the same, and the inbox
    sweep (``process_pending_inbox``) processes them; that is said in the log at most
    once per ``WARN_EVERY`` seconds, with how many, so a burst does not flood it.
    """

    HOLD_FOR = 0.05
    JOB_SIZE = 200
    WARN_EVERY = 10.0

    def __init__(self, enqueue: Enqueue | None, *, in_thread: bool,
                 backlog: int = ENQUEUE_BACKLOG) -> None:
        self._enqueue = enqueue
        self.backlog = backlog
        self._held: list[uuid.UUID] = []
        self._release: asyncio.TimerHandle | None = None
        self._waiting = 0
        self._lock = threading.Lock()
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="crmhub-webhook-jobs") \
            if in_thread else None
        self._left = {"backlog full": 0, "job queue full or unreachable": 0}
        self._warned_at = float("-inf")

    def submit(self, event_ids: list[uuid.UUID]) -> None:
        """Hold the new events of one commit (called on the event loop, after the commit)."""
        self._held += event_ids
        if len(self._held) >= self.JOB_SIZE:
            self.flush()
        elif self._release is None:
            self._release = asyncio.get_running_loop().call_later(self.HOLD_FOR, self.flush)

    def flush(self) -> None:
        """Enqueue the jobs of every event held now."""
        if self._release is not None:
            self._release.cancel()
            self._release = None
        held, self._held = self._held, []
        for start in range(0, len(held), self.JOB_SIZE):
            self._hand_over(held[start:start + self.JOB_SIZE])

    async def close(self, timeout: float = 10.0) -> None:
        """Enqueue what is held; with a broker, wait (at most ``timeout`` seconds) until
        the thread has sent it."""
        self.flush()
        if self._thread is not None:
            # One thread, in order: done when everything handed to it before is.
            sent = asyncio.wrap_future(self._thread.submit(lambda: None))
            done, _ = await asyncio.wait({sent}, timeout=timeout)
            if not done:
                log.warning("inbound events' jobs still being sent to the broker after %.0f s "
                            "at shutdown; the inbox sweep will process any that are not",
                            timeout)

    def _hand_over(self, event_ids: list[uuid.UUID]) -> None:
        if self._thread is None:
            self._run(event_ids)
            return
        with self._lock:
            if self._waiting + len(event_ids) > self.backlog:
                self._left_to_sweep("backlog full", len(event_ids))
                return
            self._waiting += len(event_ids)
        self._thread.submit(self._run, event_ids)

    def _run(self, event_ids: list[uuid.UUID]) -> None:
        enqueue = self._enqueue or tasks.enqueue
        try:
            enqueue("process_inbound_events", event_ids=[str(e) for e in event_ids])
        except Exception:  # noqa: BLE001 - stored is what counts: the sweep takes them
            with self._lock:
                self._left_to_sweep("job queue full or unreachable", len(event_ids))
        if self._thread is not None:
            with self._lock:
                self._waiting -= len(event_ids)

    def _left_to_sweep(self, why: str, count: int) -> None:
        """Count events not enqueued; warn now and then (hold ``_lock``)."""
        self._left[why] += count
        now = time.monotonic()
        if now - self._warned_at < self.WARN_EVERY:
            return
        self._warned_at = now
        said = "; ".join(f"{n} {reason}" for reason, n in self._left.items() if n)
        log.warning("inbound events stored but not enqueued (%s); the inbox sweep will "
                    "process them", said)
        self._left = dict.fromkeys(self._left, 0)
