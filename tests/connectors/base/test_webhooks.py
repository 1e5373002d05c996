"""Webhook HMAC checks in the encodings the platforms use, and replay protection."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from connectors.base import (
    Headers,
    SignatureError,
    check_timestamp,
    hmac_base64,
    hmac_hex,
    verify_hmac,
)

SECRET = "whsec_test"
BODY = b'{"id":820982911946154508,"email":"jon@example.com"}'
DIGEST = hmac.new(SECRET.encode(), BODY, hashlib.sha256).digest()


def test_hex_and_base64_digests():
    assert hmac_hex(SECRET, BODY) == DIGEST.hex()
    assert hmac_base64(SECRET, BODY) == base64.b64encode(DIGEST).decode()


@pytest.mark.parametrize(
    ("signature", "encoding", "prefix"),
    [
        (base64.b64encode(DIGEST).decode(), "base64", None),  # Shopify, WooCommerce
        ("sha256=" + DIGEST.hex(), "hex", "sha256="),  # Meta
        ("sha256=" + DIGEST.hex().upper(), "hex", "sha256="),
        (DIGEST.hex(), "hex", None),  # LinkedIn
    ],
)
def test_valid_signatures_pass(signature, encoding, prefix):
    verify_hmac(SECRET, BODY, signature, encoding, prefix=prefix)


@pytest.mark.parametrize(
    ("secret", "body", "signature", "encoding", "prefix"),
    [
        ("other", BODY, base64.b64encode(DIGEST).decode(), "base64", None),
        (SECRET, BODY + b" ", base64.b64encode(DIGEST).decode(), "base64", None),
        (SECRET, BODY, DIGEST.hex(), "hex", "sha256="),  # prefix missing
        (SECRET, BODY, "sha1=" + DIGEST.hex(), "hex", "sha256="),
        (SECRET, BODY, "", "hex", None),
        (SECRET, BODY, None, "base64", None),
        (SECRET, BODY, "não-ascii", "base64", None),
    ],
)
def test_invalid_signatures_raise(secret, body, signature, encoding, prefix):
    with pytest.raises(SignatureError):
        verify_hmac(secret, body, signature, encoding, prefix=prefix)


def test_timestamp_tolerance():
    check_timestamp("1700000000", tolerance=300, now=1700000299)
    check_timestamp(1700000100, tolerance=300, now=1700000000)
    for stale in ("1699999000", None, "yesterday"):
        with pytest.raises(SignatureError):
            check_timestamp(stale, tolerance=300, now=1700000000)


def test_headers_are_read_in_any_case_and_never_shown():
    headers = Headers([("X-Example-Signature", "sha256=abc"), ("content-type", "a"),
                       ("Content-Type", "b")])
    assert headers["x-example-signature"] == headers.get("X-EXAMPLE-SIGNATURE") == "sha256=abc"
    assert "X-Example-Signature" in headers and 1 not in headers
    assert headers.get("X-Missing") is None and headers.get("X-Missing", "d") == "d"
    assert dict(headers) == {"x-example-signature": "sha256=abc", "content-type": "b"}
    assert "abc" not in repr(headers)
    assert Headers.of(headers) is headers
    assert Headers.of({"X-A": "1"})["x-a"] == "1"
