"""Token revocation (RFC 7009) and introspection (RFC 7662), for authenticated clients.

Both find a token by the digest of either of its strings (``HubAuthorizationServer.find_token``).
Revoking an access token revokes its row (and the refresh token issued with
it); revoking a refresh token revokes every token of its family (RFC 7009
§2.1). Either takes effect on the next request (``hub.auth.revocation``).

A client may introspect its own tokens; an internal client, being a resource
server of ours, any token. Anything else is ``{"active": false}``, as is an
unknown, expired, revoked or spent token.
"""

from __future__ import annotations

from typing import Any, ClassVar

from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7662 import IntrospectionEndpoint

from hub.auth.grants import IssuedToken
from hub.models.enums import ClientKind


class TokenRevocation(RevocationEndpoint):
    CLIENT_AUTH_METHODS: ClassVar[list[str]] = ["client_secret_basic"]

    def query_token(self, token_string: str, token_type_hint: str | None) -> IssuedToken | None:
        return self.server.find_token(token_string, token_type_hint)

    def revoke_token(self, token: IssuedToken, request: Any) -> None:
        revocations = self.server.revocations
        with self.server.sessions.begin() as session:
            if token.kind == "refresh_token" and token.family_id is not None:
                revocations.revoke_family(session, token.family_id)
            else:
                revocations.revoke_token(session, token.id)


class TokenIntrospection(IntrospectionEndpoint):
    CLIENT_AUTH_METHODS: ClassVar[list[str]] = ["client_secret_basic"]

    def query_token(self, token_string: str, token_type_hint: str | None) -> IssuedToken | None:
        return self.server.find_token(token_string, token_type_hint)

    def check_permission(self, token: IssuedToken, client: Any, request: Any) -> bool:
        return client.kind is ClientKind.INTERNAL or token.client_id == client.get_client_id()

    def introspect_token(self, token: IssuedToken) -> dict[str, Any]:
        auth = self.server.settings.auth
        payload: dict[str, Any] = {
            "active": True,
            "scope": token.scope,
            "client_id": token.client_id,
            "sub": str(token.user_id) if token.user_id else token.client_id,
            "iss": auth.issuer,
            "iat": int(token.issued_at.timestamp()),
            "exp": int(token.ends_at.timestamp()),
        }
        if token.kind == "access_token":
            payload["token_type"] = "Bearer"
            payload["aud"] = auth.token_audience
            if token.jti:
                payload["jti"] = token.jti
        return payload
