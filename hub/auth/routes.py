"""HTTP routes of the OAuth 2 server; so far the token endpoint, ``POST /oauth/token``."""

from __future__ import annotations

from urllib.parse import parse_qsl

from authlib.oauth2.rfc6749 import InvalidRequestError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from hub.auth.server import AuthState, SubmittedRequest

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
# A token request is a handful of short parameters; anything larger is not one.
MAX_TOKEN_REQUEST_BYTES = 16 * 1024
MAX_TOKEN_REQUEST_FIELDS = 32
_ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


class _BadRequestBody(Exception):
    def __init__(self, description: str, status_code: int = 400) -> None:
        super().__init__(description)
        self.description = description
        self.status_code = status_code


def oauth_routes(state: AuthState) -> list[Route]:
    """The OAuth routes, bound to one ``AuthState``."""

    async def token(request: Request) -> Response:
        if request.method != "POST":
            return JSONResponse(
                {"error": "invalid_request", "error_description": "Use POST."},
                status_code=405,
                headers={"Allow": "POST", "Cache-Control": "no-store", "Pragma": "no-cache"},
            )
        try:
            form = await _read_form(request)
        except _BadRequestBody as bad:
            return state.server.error_response(
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
        return await run_in_threadpool(state.server.create_token_response, submitted)

    # Every method reaches the endpoint so that a wrong one gets a JSON answer too.
    return [Route("/oauth/token", token, methods=_ALL_METHODS, name="oauth_token")]


async def _read_form(request: Request) -> list[tuple[str, str]]:
    """The urlencoded body as name/value pairs, read with a size limit.

    Parsed here rather than with ``request.form()``: the token endpoint takes
    only ``application/x-www-form-urlencoded`` (RFC 6749 §4.4.2), and
    Starlette's form parser needs python-multipart, which crmhub does not use.
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
