"""The GraphQL endpoint over HTTP, after the GraphQL-over-HTTP specification.

- POST ``application/json`` bodies; GET for queries only (a mutation over GET
  is 405); other methods 405.
- ``application/graphql-response+json`` when the client accepts it: request
  errors (unparsable, invalid, over a limit) are then HTTP 400. Under the legacy
  ``application/json`` every well-formed request answers 200 and the errors
  travel in the body, as the specification requires for that media type.
- A browser asking for ``text/html`` gets GraphiQL.
- No valid bearer token: 401 with ``WWW-Authenticate: Bearer``.
- Over the client's rate limit: 429 with ``Retry-After``, ``extensions.code``
  RATE_LIMITED; every admitted request carries ``RateLimit-Policy`` and
  ``RateLimit`` (``hub.access.ratelimit``).
- Every response names its request in ``X-Request-ID`` (the client's own, when
  it sent a sensible one); audit events of the request carry the same id.
- The PII a partner read is written to the audit log after execution, in one
  insert; when that fails, nothing is returned.
"""

from __future__ import annotations

import logging
import re
import uuid
from pathlib import Path
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from graphql import GraphQLError
from hub.access.audit import AuditTrail, ReadAuditLog
from hub.access.ratelimit import RateLimited, RateLimiter
from hub.api.context import RequestContext, RequestDB
from hub.api.core.errors import ApiError, ErrorCode
from hub.api.executor import Executor, RequestError, is_mutation, public_error
from hub.auth.bearer import principal_from_bearer
from hub.settings import Settings

log = logging.getLogger("crmhub.api")

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"
GRAPHIQL = (Path(__file__).resolve().parent.parent / "templates" / "graphiql.html").read_text()
REQUEST_ID = "X-Request-ID"
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")


class HttpError(Exception):
    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.headers = headers or {}


def negotiate(accept: str) -> str | None:
    """The response media type for an Accept header; None when we can offer nothing acceptable."""
    if not accept.strip():
        return JSON
    best: tuple[float, int, str] | None = None
    for position, part in enumerate(accept.split(",")):
        media, *params = (p.strip() for p in part.split(";"))
        quality = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        media = media.lower()
        if media in (GRAPHQL_RESPONSE, JSON):
            chosen = media
        elif media in ("*/*", "application/*"):
            chosen = JSON
        else:
            continue
        if quality <= 0:
            continue
        # Higher quality wins; on a tie the client's earlier entry wins.
        rank = (quality, -position, chosen)
        if best is None or rank[:2] > best[:2]:
            best = rank
    return best[2] if best else None


def request_id_of(request: Request) -> str:
    given = request.headers.get(REQUEST_ID, "")
    return given if _REQUEST_ID.fullmatch(given) else uuid.uuid4().hex


def wants_html(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return "text/html" in accept and "query" not in request.query_params


class GraphQLView:
    def __init__(
        self,
        executor: Executor,
        settings: Settings,
        engine: Any,
        limiter: RateLimiter | None = None,
    ) -> None:
        self.executor = executor
        self.settings = settings
        self.engine = engine
        self.limiter = limiter if limiter is not None else RateLimiter(settings)
        self.read_audit = ReadAuditLog()

    async def __call__(self, request: Request) -> Response:
        request_id = request_id_of(request)
        response = await self._answer(request, request_id)
        response.headers[REQUEST_ID] = request_id
        return response

    async def _answer(self, request: Request, request_id: str) -> Response:
        if request.method not in ("GET", "POST"):
            return self._plain(405, "Use GET or POST.", {"Allow": "GET, POST"})
        if request.method == "GET" and wants_html(request) and self.settings.api.graphiql:
            return HTMLResponse(GRAPHIQL)
        media = negotiate(request.headers.get("accept", ""))
        if media is None:
            return self._plain(
                406, f"Accept {GRAPHQL_RESPONSE} or {JSON}.", {"Vary": "Accept"}
            )
        db = RequestDB(self.engine)
        try:
            # Authenticate first: without a token the answer is 401 whatever the
            # body, and we do not read (up to max_body_bytes of) it for nothing.
            principal = await db.using(principal_from_bearer, request.headers.get("authorization"))
            if principal is None:
                return self._errors(
                    401,
                    [_coded("A valid bearer token is required.", ErrorCode.UNAUTHENTICATED)],
                    media,
                    {"WWW-Authenticate": 'Bearer realm="crmhub"'},
                )
            try:
                params = await self._params(request)
            except HttpError as error:
                return self._errors(error.status, [GraphQLError(str(error))], media, error.headers)
            return await self._execute(request, params, media, principal, db, request_id)
        finally:
            await db.close()

    async def _execute(
        self,
        request: Request,
        params: dict[str, Any],
        media: str,
        principal: Any,
        db: RequestDB,
        request_id: str,
    ) -> Response:
        executor = self.executor
        prepared = executor.prepare(params["query"])
        # A request that cannot run: 400 under graphql-response+json; the legacy
        # application/json answers 200 to every well-formed request (the spec).
        request_status = 400 if media == GRAPHQL_RESPONSE else 200
        if request.method == "GET" and prepared.document is not None:
            # Refused before validation: a GET never changes anything, valid or not.
            operation = prepared.operation(params["operationName"])
            if operation is not None and is_mutation(operation):
                return self._errors(
                    405,
                    [GraphQLError("Mutations must be sent with POST.")],
                    media,
                    {"Allow": "POST"},
                )
        limits: dict[str, str] = {}

        async def admit(cost: int) -> None:
            decision = await self.limiter.take(principal, cost)
            if decision is not None:
                limits.update(decision.headers())
                if not decision.allowed:
                    raise RateLimited(decision)

        audit = AuditTrail.of(principal, request_id)
        try:
            operation = executor.operation_for(prepared, params["operationName"])
            context = RequestContext(principal=principal, db=db, settings=self.settings, audit=audit)
            result, cost = await executor.run(
                prepared, operation, params["variables"], params["operationName"], context, admit
            )
        except RequestError as error:
            # Parse, validation, variable and limit errors alike: the request never ran.
            return self._errors(request_status, error.errors, media)
        except RateLimited as refused:
            return self._errors(429, [_rate_limited(refused)], media, limits)
        if audit.reads:
            try:
                await db.using(self.read_audit.write, audit.take_reads())
            except Exception:  # whatever broke, unaudited PII must not go out
                log.exception("could not write the audit log of request %s", request_id)
                message = "The audit log could not be written, so nothing is returned; try again."
                return self._errors(500, [_coded(message, ErrorCode.INTERNAL_SERVER_ERROR)], media)
        body: dict[str, Any] = {}
        if result.errors:
            body["errors"] = [public_error(e, self.settings.debug) for e in result.errors]
        # Execution started, so this is a GraphQL response even if a field error
        # nulled all of `data`: 200 under either media type.
        body["data"] = result.data
        body["extensions"] = {"cost": {"estimated": cost, "limit": self.settings.api.max_cost}}
        return self._respond(200, body, media, limits)

    async def _params(self, request: Request) -> dict[str, Any]:
        if request.method == "GET":
            raw: dict[str, Any] = dict(request.query_params)
            for key in ("variables", "extensions"):
                if raw.get(key):
                    try:
                        raw[key] = orjson.loads(raw[key])
                    except orjson.JSONDecodeError:
                        raise HttpError(400, f"`{key}` is not valid JSON.") from None
        else:
            raw = await self._json_body(request)
        return _checked_params(raw)

    async def _json_body(self, request: Request) -> dict[str, Any]:
        content_type = request.headers.get("content-type", "")
        media = content_type.split(";")[0].strip().lower()
        if media != JSON:
            raise HttpError(415, f"Send the request as {JSON}, not {media or 'no content type'}.")
        limit = self.settings.api.max_body_bytes
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > limit:
                raise HttpError(413, f"The request body is over {limit} bytes.")
        try:
            parsed = orjson.loads(body)
        except orjson.JSONDecodeError as error:
            raise HttpError(400, f"The request body is not valid JSON: {error}.") from None
        if not isinstance(parsed, dict):
            raise HttpError(400, "The request body must be a JSON object.")
        return parsed

    def _errors(
        self,
        status: int,
        errors: list[GraphQLError],
        media: str,
        headers: dict[str, str] | None = None,
    ) -> Response:
        body = {"errors": [public_error(e, self.settings.debug) for e in errors]}
        return self._respond(status, body, media, headers)

    @staticmethod
    def _respond(
        status: int, body: dict[str, Any], media: str, headers: dict[str, str] | None = None
    ) -> Response:
        return Response(
            orjson.dumps(body),
            status_code=status,
            media_type=f"{media}; charset=utf-8",
            headers=headers,
        )

    @staticmethod
    def _plain(status: int, message: str, headers: dict[str, str]) -> Response:
        return Response(
            orjson.dumps({"errors": [{"message": message}]}),
            status_code=status,
            media_type=f"{JSON}; charset=utf-8",
            headers=headers,
        )


def _coded(message: str, code: ErrorCode) -> GraphQLError:
    return GraphQLError(message, extensions={"code": code.value})


def _rate_limited(refused: RateLimited) -> ApiError:
    decision = refused.decision
    return ApiError(
        str(refused),
        ErrorCode.RATE_LIMITED,
        cost=decision.cost,
        remaining=decision.remaining,
        capacity=decision.policy.capacity,
        refillPerSecond=decision.policy.refill_per_second,
        retryAfter=decision.retry_after,
    )


def _checked_params(raw: dict[str, Any]) -> dict[str, Any]:
    query = raw.get("query")
    if not isinstance(query, str) or not query.strip():
        raise HttpError(400, "`query` must be a non-empty string.")
    variables = raw.get("variables")
    if variables is not None and not isinstance(variables, dict):
        raise HttpError(400, "`variables` must be a JSON object.")
    operation_name = raw.get("operationName")
    if operation_name is not None and not isinstance(operation_name, str):
        raise HttpError(400, "`operationName` must be a string.")
    extensions = raw.get("extensions")
    if extensions is not None and not isinstance(extensions, dict):
        raise HttpError(400, "`extensions` must be a JSON object.")
    return {"query": query, "variables": variables, "operationName": operation_name}
