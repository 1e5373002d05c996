"""HTTP routes of the OAuth 2 server.

- ``POST /oauth/token``: client credentials, authorization code, refresh token.
- ``POST /oauth/revoke`` (RFC 7009) and ``POST /oauth/introspect`` (RFC 7662).
- ``GET|POST /oauth/authorize`` and ``GET|POST /oauth/login``: the consent and
  sign-in pages (``hub.auth.pages``; they need ``pages.session_middleware``).
- ``GET /.well-known/oauth-authorization-server`` (RFC 8414) and ``GET /oauth/jwks.json``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import parse_qsl

from authlib.oauth2.rfc6749 import InvalidRequestError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from hub.auth import pages
from hub.auth.adapter import SubmittedRequest
from hub.auth.server import AuthState

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
# A token request is a handful of short parameters; anything larger is not one.
MAX_TOKEN_REQUEST_BYTES = 16 * 1024
MAX_TOKEN_REQUEST_FIELDS = 32
_ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
# Public documents: cacheable, but briefly, so a rotated key is seen soon.
DOCUMENT_CACHE = "public, max-age=300"


class _BadRequestBody(Exception):
    def __init__(self, description: str, status_code: int = 400) -> None:
        super().__init__(description)
        self.description = description
        self.status_code = status_code


def oauth_routes(state: AuthState) -> list[Route]:
    """The OAuth routes, bound to one ``AuthState``."""
    server = state.server

    def client_endpoint(
        run: Callable[[SubmittedRequest], Response],
    ) -> Callable[..., Awaitable[Response]]:
        """A POST endpoint of authenticated clients, answering JSON whatever goes wrong."""

        async def endpoint(request: Request) -> Response:
            if request.method != "POST":
                return JSONResponse(
                    {"error": "invalid_request", "error_description": "Use POST."},
                    status_code=405,
                    headers={"Allow": "POST", "Cache-Control": "no-store", "Pragma": "no-cache"},
                )
            try:
                form = await _read_form(request)
            except _BadRequestBody as bad:
                return server.error_response(
                    InvalidRequestError(bad.description, status_code=bad.status_code)
                )
            submitted = SubmittedRequest(
                method=request.method,
                url=str(request.url),
                headers=request.headers,
                form=form,
                query=request.query_params.multi_items(),
            )
            # authlib and the sync engine block: keep them off the event loop.
            return await run_in_threadpool(run, submitted)

        return endpoint

    def browser_endpoint(
        page: Callable[[Request, AuthState, dict[str, str] | None], Awaitable[Response]],
    ) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            form = None
            if request.method == "POST":
                try:
                    pairs = await _read_form(request)
                except _BadRequestBody as bad:
                    return PlainTextResponse(bad.description, status_code=bad.status_code)
                form = {}
                for key, value in pairs:
                    if key in form:  # a repeated field is not something our forms send
                        return PlainTextResponse("A form field is repeated.", status_code=400)
                    form[key] = value
            return await page(request, state, form)

        return endpoint

    async def metadata(request: Request) -> Response:
        return JSONResponse(server.metadata(), headers={"Cache-Control": DOCUMENT_CACHE})

    async def jwks(request: Request) -> Response:
        keys = await run_in_threadpool(server.jwks)
        return JSONResponse(
            keys, media_type="application/jwk-set+json", headers={"Cache-Control": DOCUMENT_CACHE}
        )

    def revoke(submitted: SubmittedRequest) -> Response:
        return server.create_endpoint_response("revocation", submitted)

    def introspect(submitted: SubmittedRequest) -> Response:
        return server.create_endpoint_response("introspection", submitted)

    # Every method reaches the client endpoints so that a wrong one gets a JSON answer too.
    return [
        Route(
            "/oauth/token",
            client_endpoint(server.create_token_response),
            methods=_ALL_METHODS,
            name="oauth_token",
        ),
        Route("/oauth/revoke", client_endpoint(revoke), methods=_ALL_METHODS, name="oauth_revoke"),
        Route(
            "/oauth/introspect",
            client_endpoint(introspect),
            methods=_ALL_METHODS,
            name="oauth_introspect",
        ),
        Route(
            "/oauth/authorize",
            browser_endpoint(pages.authorize),
            methods=["GET", "POST"],
            name="oauth_authorize",
        ),
        Route(
            "/oauth/login",
            browser_endpoint(pages.login),
            methods=["GET", "POST"],
            name="oauth_login",
        ),
        Route("/oauth/jwks.json", jwks, methods=["GET"], name="oauth_jwks"),
        Route(
            "/.well-known/oauth-authorization-server",
            metadata,
            methods=["GET"],
            name="oauth_metadata",
        ),
    ]


async def _read_form(request: Request) -> list[tuple[str, str]]:
    """The urlencoded body as name/value pairs, read with a size limit.

    Parsed here rather than with ``request.form()``: these endpoints take only
    ``application/x-www-form-urlencoded`` (RFC 6749 §4.4.2, and what a plain
    HTML form posts), and Starlette's form parser needs python-multipart,
    which crmhub does not use.
    """
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type != FORM_CONTENT_TYPE:
        raise _BadRequestBody(f"The request body must be {FORM_CONTENT_TYPE}.")
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_TOKEN_REQUEST_BYTES:
        raise _BadRequestBody("The request body is too large.", 413)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_TOKEN_REQUEST_BYTES:
            raise _BadRequestBody("The request body is too large.", 413)
    try:
        return parse_qsl(
            body.decode("utf-8"),
            keep_blank_values=True,
            strict_parsing=False,
            max_num_fields=MAX_TOKEN_REQUEST_FIELDS,
        )
    except ValueError:  # not UTF-8, or too many fields
        raise _BadRequestBody("The request body is not a valid form.") from None
