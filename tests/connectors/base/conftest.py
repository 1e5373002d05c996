"""A scripted JSON API on 127.0.0.1 and a clock that tests move by hand."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest


@dataclass
class Seen:
    """A request as the server received it."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


Reply = tuple[int, dict[str, str], Any]
Handler = Callable[[Seen], Reply]


@dataclass
class FakeApi:
    """Routes answer with a handler or with scripted replies in order (the last one repeats)."""

    url: str = ""
    routes: dict[tuple[str, str], Handler | list[Reply]] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)

    def route(self, method: str, path: str, answer: Handler | list[Reply]) -> None:
        self.routes[(method, path)] = answer

    def reply(self, request: Seen) -> Reply:
        self.seen.append(request)
        answer = self.routes.get((request.method, request.path))
        if answer is None:
            return 404, {}, {"error": "no such route"}
        if callable(answer):
            return answer(request)
        return answer.pop(0) if len(answer) > 1 else answer[0]


def _handler_for(api: FakeApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go out as separate writes

        def _serve(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            seen = Seen(
                method=self.command,
                path=parts.path,
                query={k: v[-1] for k, v in parse_qs(parts.query).items()},
                headers=dict(self.headers.items()),
                body=self.rfile.read(length) if length else b"",
            )
            status, headers, body = api.reply(seen)
            if not isinstance(body, bytes):
                body = (body if isinstance(body, str) else json.dumps(body)).encode()
                headers = {"Content-Type": "application/json", **headers}
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PUT = do_DELETE = _serve

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that timed out and hung up is part of the tests


@pytest.fixture(scope="session")
def _server() -> Iterator[FakeApi]:
    fake = FakeApi()
    server = QuietServer(("127.0.0.1", 0), _handler_for(fake))
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield fake
    server.shutdown()
    server.server_close()


@pytest.fixture
def api(_server: FakeApi) -> FakeApi:
    """The local API with no routes and no requests seen yet."""
    _server.routes.clear()
    _server.seen.clear()
    return _server


class FakeTime:
    """``clock`` and ``sleep`` for the code under test: sleeping moves the clock, instantly."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()
