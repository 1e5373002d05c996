"""What a person sees in the authorization-code flow: a sign-in form and a consent form.

Plain server-rendered HTML that works without JavaScript. The signed-in user
lives in Starlette's signed session cookie (``session_middleware``); every form
carries the session's CSRF token, and a POST without the right one changes
nothing. Pages may not be framed (consent clickjacking, RFC 6749 §10.13) nor
cached. These are deliberately bare: the styled pages are a separate piece of
work and only need to post the same fields.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from html import escape
from typing import Any
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from hub.access.scopes import DESCRIPTIONS, Scope
from hub.auth.adapter import SubmittedRequest
from hub.auth.grants import ResourceOwner
from hub.auth.server import AuthorizationRefused, AuthState, ConsentPrompt, may_authorize
from hub.auth.users import sign_in
from hub.settings import Settings

SESSION_COOKIE = "crmhub_session"
SESSION_USER = "user_id"
SESSION_CSRF = "csrf"
CSRF_FIELD = "csrf_token"

PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}


def session_middleware(settings: Settings) -> Middleware:
    """The signed cookie session the sign-in and consent pages keep the user in."""
    return Middleware(
        SessionMiddleware,
        secret_key=session_secret(settings),
        session_cookie=SESSION_COOKIE,
        max_age=settings.auth.session_max_age_seconds,
        same_site="lax",
        https_only=not settings.auth.allow_insecure_transport,
    )


def session_secret(settings: Settings) -> str:
    """``auth.session_secret``, or else a key derived from the hub's newest secret key."""
    configured = settings.auth.session_secret.get_secret_value()
    if configured:
        return configured
    from connectors.base.credentials import configured_keys

    newest = configured_keys(settings)[0]
    return hmac.new(newest.encode(), b"crmhub browser session", hashlib.sha256).hexdigest()


# -- the session -------------------------------------------------------------------------------


def csrf_token(request: Request) -> str:
    token = request.session.get(SESSION_CSRF)
    if not isinstance(token, str) or not token:
        token = request.session[SESSION_CSRF] = secrets.token_urlsafe(32)
    return token


def csrf_ok(request: Request, form: dict[str, str]) -> bool:
    expected = request.session.get(SESSION_CSRF)
    given = form.get(CSRF_FIELD, "")
    return bool(expected) and isinstance(expected, str) and hmac.compare_digest(expected, given)


async def signed_in_user(request: Request, state: AuthState) -> ResourceOwner | None:
    raw = request.session.get(SESSION_USER)
    if not isinstance(raw, str):
        return None
    try:
        user_id = uuid.UUID(raw)
    except ValueError:
        return None
    user = await run_in_threadpool(state.server.active_user, user_id)
    if user is None:  # disabled or deleted since signing in
        request.session.clear()
    return user


# -- the endpoints -----------------------------------------------------------------------------


async def authorize(request: Request, state: AuthState, form: dict[str, str] | None) -> Response:
    """``GET`` shows the consent form for a valid request; ``POST`` acts on the decision."""
    server = state.server
    if request.method == "GET":
        submitted = SubmittedRequest(
            method="GET",
            url=str(request.url),
            headers=request.headers,
            query=request.query_params.multi_items(),
        )
        prompt = await run_in_threadpool(server.authorization_prompt, submitted)
        if not isinstance(prompt, ConsentPrompt):
            return _refused_or_redirect(prompt)
        user = await signed_in_user(request, state)
        if user is None:
            # Relative, like `next`: never built from a Host header.
            next_url = request.url.path + "?" + request.url.query
            login = request.url_for("oauth_login").path + "?" + urlencode({"next": next_url})
            return RedirectResponse(login, status_code=303, headers=PAGE_HEADERS)
        if not may_authorize(user, prompt.client):
            return _error_page(403, "This account cannot authorize this application.")
        return _consent_page(request, prompt, user)

    assert form is not None
    if not csrf_ok(request, form):
        return _error_page(403, "The form has expired. Go back to the application and start again.")
    user = await signed_in_user(request, state)
    if user is None:
        return _error_page(401, "You are signed out. Go back to the application and start again.")
    decision = form.get("decision")
    if decision not in ("allow", "deny"):
        return _error_page(400, "Choose Allow or Deny.")
    submitted = SubmittedRequest(
        method="POST",
        url=str(request.url),
        headers=request.headers,
        form=[(key, value) for key, value in form.items() if key not in (CSRF_FIELD, "decision")],
    )
    result = await run_in_threadpool(server.authorize, submitted, user, allow=decision == "allow")
    return _refused_or_redirect(result)


async def login(request: Request, state: AuthState, form: dict[str, str] | None) -> Response:
    """``GET`` shows the sign-in form; ``POST`` signs in and goes on to ``next``."""
    authorize_path = request.url_for("oauth_authorize").path
    if request.method == "GET":
        next_url = _safe_next(request.query_params.get("next", ""), authorize_path)
        return _login_page(request, next_url)
    assert form is not None
    next_url = _safe_next(form.get("next", ""), authorize_path)
    if not csrf_ok(request, form):
        return _login_page(request, next_url, "The form has expired; try again.", status=403)
    user = await run_in_threadpool(
        sign_in, state.sessions, form.get("email", ""), form.get("password", "")
    )
    if user is None:
        return _login_page(request, next_url, "Wrong e-mail address or password.", status=401)
    # A new session on signing in, so a session planted beforehand is worth nothing.
    request.session.clear()
    request.session[SESSION_USER] = str(user.id)
    request.session[SESSION_CSRF] = secrets.token_urlsafe(32)
    if next_url:
        return RedirectResponse(next_url, status_code=303, headers=PAGE_HEADERS)
    return _page(200, "Signed in", "<p>You are signed in.</p>")


def _safe_next(next_url: str, authorize_path: str) -> str:
    # Only ever back to our own authorization endpoint: `next` must not become an open redirect.
    if next_url.startswith(authorize_path + "?") and not any(c in next_url for c in "\\\r\n"):
        return next_url
    return ""


# -- the pages ---------------------------------------------------------------------------------


def _refused_or_redirect(result: Any) -> Response:
    if isinstance(result, AuthorizationRefused):
        return _error_page(result.status_code, result.description or result.error, result.error)
    return result


def _consent_page(request: Request, prompt: ConsentPrompt, user: ResourceOwner) -> Response:
    hidden = "".join(
        f'<input type="hidden" name="{escape(key)}" value="{escape(value)}">'
        for key, value in (*prompt.params, (CSRF_FIELD, csrf_token(request)))
    )
    items = "".join(f"<li>{escape(_describe(scope))}</li>" for scope in prompt.scopes)
    body = f"""
<h1>Allow {escape(prompt.client_name)}?</h1>
<p><strong>{escape(prompt.client_name)}</strong> asks to use the CRM hub on your behalf
(signed in as {escape(user.email)}). It will be able to:</p>
<ul>{items or "<li>Nothing beyond knowing you signed in</li>"}</ul>
<form method="post" action="{escape(request.url.path)}">
{hidden}
<button type="submit" name="decision" value="allow">Allow</button>
<button type="submit" name="decision" value="deny">Deny</button>
</form>"""
    return _page(200, "Authorize an application", body)


def _login_page(request: Request, next_url: str, message: str = "", status: int = 200) -> Response:
    notice = f'<p role="alert">{escape(message)}</p>' if message else ""
    body = f"""
<h1>Sign in to the CRM hub</h1>
{notice}
<form method="post" action="{escape(request.url.path)}">
<input type="hidden" name="{CSRF_FIELD}" value="{escape(csrf_token(request))}">
<input type="hidden" name="next" value="{escape(next_url)}">
<p><label>E-mail address <input type="email" name="email" autocomplete="username" required></label></p>
<p><label>Password <input type="password" name="password" autocomplete="current-password" required></label></p>
<button type="submit">Sign in</button>
</form>"""
    return _page(status, "Sign in", body)


def _error_page(status: int, message: str, error: str = "") -> Response:
    code = f"<p><small>{escape(error)}</small></p>" if error else ""
    return _page(
        status, "Cannot continue", f"<h1>Cannot continue</h1><p>{escape(message)}</p>{code}"
    )


def _describe(scope: str) -> str:
    try:
        return DESCRIPTIONS[Scope(scope)]
    except ValueError:
        return scope


def _page(status: int, title: str, body: str) -> Response:
    html = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title></head><body>{body}</body></html>"
    )
    return HTMLResponse(html, status_code=status, headers=PAGE_HEADERS)
