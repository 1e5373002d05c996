"""The Starlette application: routes, middleware and the engines' lifespan."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import AsyncIterator

from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from hub import tasks
from hub.api.executor import Executor
from hub.api.schema import schema
from hub.api.view import GraphQLView
from hub.auth.bearer import bind_token_checks
from hub.auth.pages import session_middleware
from hub.auth.routes import oauth_routes
from hub.auth.server import AuthState
from hub.db import create_async_db_engine, create_sync_engine, sync_session_factory
from hub.settings import Settings, get_settings
from hub.webhooks import WebhookEndpoint


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or get_settings()
    engine = create_async_db_engine(settings)
    sync_engine = create_sync_engine(settings)
    executor = Executor(schema.graphql_schema, settings.api)
    graphql = GraphQLView(executor, settings, engine)
    auth = AuthState(settings, sync_session_factory(sync_engine))
    bind_token_checks(engine, settings)

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        try:
            async with engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception as error:  # noqa: BLE001 - any failure means "not ready"
            return JSONResponse(
                {"status": "unavailable", "database": type(error).__name__}, status_code=503
            )
        return JSONResponse({"status": "ok", "database": "ok"})

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # Embedded mode runs jobs and the sync schedule in this process; with a broker, workers do.
        tasks.start(settings)
        # Everything built so far lives as long as the process: keep the collector from
        # walking it on every full collection of a request's short-lived objects.
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            tasks.shutdown()
        await graphql.limiter.close()
        await webhooks.close()
        await engine.dispose()
        sync_engine.dispose()

    webhooks = WebhookEndpoint(engine, settings, sync_engine=sync_engine)
    routes = [
        # A bound method, so that Starlette passes a Request rather than raw ASGI.
        Route("/graphql", graphql.__call__, methods=["GET", "POST", "PUT", "PATCH", "DELETE"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        *oauth_routes(auth),
        *webhooks.routes(),
    ]
    # Deliveries are answered ahead of the rest (hub/webhooks.py). The sign-in and consent
    # pages keep the user in a signed cookie; the API never reads it.
    middleware = [webhooks.middleware(), session_middleware(settings)]
    app = Starlette(debug=False, routes=routes, middleware=middleware, lifespan=lifespan)
    app.state.settings = settings
    app.state.engine = engine
    app.state.sync_engine = sync_engine
    app.state.webhooks = webhooks
    app.state.executor = executor
    return app
