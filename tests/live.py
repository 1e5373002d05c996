"""A real uvicorn server in a background thread, for tests that need a live URL.

    with serve(create_app(settings)) as base_url:
        httpx.get(f"{base_url}/healthz")

The server runs its own event loop in its thread, so give it an app of its own
(not one already bound to the test's event loop).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

STARTUP_TIMEOUT = 30.0
SHUTDOWN_TIMEOUT = 10.0


@contextmanager
def serve(app: Any, **config: Any) -> Iterator[str]:
    """Serve `app` on a free 127.0.0.1 port; yields its base URL, e.g. ``http://127.0.0.1:54321``.

    Extra keyword arguments go to `uvicorn.Config`.
    """
    # We bind the socket ourselves and hand it to uvicorn, so no other process
    # can take the port between choosing it and listening on it.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    options = {"host": "127.0.0.1", "port": port, "log_level": "warning", "lifespan": "on"}
    server = uvicorn.Server(uvicorn.Config(app, **{**options, **config}))
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name=f"uvicorn:{port}", daemon=True
    )
    thread.start()
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not server.started:
            # A failed startup (e.g. the lifespan raised) ends the thread without `started`.
            if not thread.is_alive():
                raise RuntimeError("the live server failed to start; see its log above")
            if time.monotonic() > deadline:
                raise TimeoutError(f"the live server did not start in {STARTUP_TIMEOUT}s")
            time.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(SHUTDOWN_TIMEOUT)
        if thread.is_alive():
            # Open keep-alive connections or a stuck request: stop waiting for them.
            server.force_exit = True
            thread.join(SHUTDOWN_TIMEOUT)
        sock.close()
