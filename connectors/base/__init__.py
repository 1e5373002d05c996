"""The connector framework: HTTP, pagination, auth, credentials, webhooks, streams, plugins.

A connector is declarations on top of these; see ``stream`` and ``connector``.
"""

from connectors.base.auth import ApiKeyAuth, BasicAuth, BearerAuth, OAuth2Auth
from connectors.base.budget import RateBudget
from connectors.base.connector import Connector, NoConfig, WriteAction
from connectors.base.credentials import Secret, decrypt, encrypt, generate_key, rotate
from connectors.base.errors import (
    AuthExpired,
    BadRequest,
    ConnectError,
    ConnectorError,
    CredentialsError,
    DecodingError,
    Forbidden,
    HTTPStatusError,
    NotFound,
    RateLimited,
    ServerError,
    SignatureError,
    Timeout,
    TransportError,
)
from connectors.base.http import HttpSession
from connectors.base.pagination import (
    CursorPaginator,
    LinkHeaderPaginator,
    OffsetPaginator,
    PageNumberPaginator,
    PageRequest,
    Paginator,
    SinglePage,
)
from connectors.base.policy import DEFAULT_ERROR_MAPPING, Action, RetryPolicy
from connectors.base.registry import ENTRY_POINT_GROUP, UnknownConnector, discover, get_connector
from connectors.base.stream import Page, Stream
from connectors.base.webhooks import (
    Headers,
    check_timestamp,
    hmac_base64,
    hmac_hex,
    verify_hmac,
)

__all__ = [
    "DEFAULT_ERROR_MAPPING",
    "ENTRY_POINT_GROUP",
    "Action",
    "ApiKeyAuth",
    "AuthExpired",
    "BadRequest",
    "BasicAuth",
    "BearerAuth",
    "ConnectError",
    "Connector",
    "ConnectorError",
    "CredentialsError",
    "CursorPaginator",
    "DecodingError",
    "Forbidden",
    "HTTPStatusError",
    "Headers",
    "HttpSession",
    "LinkHeaderPaginator",
    "NoConfig",
    "NotFound",
    "OAuth2Auth",
    "OffsetPaginator",
    "Page",
    "PageNumberPaginator",
    "PageRequest",
    "Paginator",
    "RateBudget",
    "RateLimited",
    "RetryPolicy",
    "Secret",
    "ServerError",
    "SignatureError",
    "SinglePage",
    "Stream",
    "Timeout",
    "TransportError",
    "UnknownConnector",
    "WriteAction",
    "check_timestamp",
    "decrypt",
    "discover",
    "encrypt",
    "generate_key",
    "get_connector",
    "hmac_base64",
    "hmac_hex",
    "rotate",
    "verify_hmac",
]
