"""Targets on internal addresses are refused when subscribing and again on the socket."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.events.delivery import sweep
from hub.events.outbox import emit
from hub.events.ssrf import TargetRefused, check_url
from hub.models import WebhookDelivery, WebhookDeliveryAttempt
from hub.settings import WebhooksSettings
from tests.events.conftest import hook_settings_for, subscribe

STRICT = WebhooksSettings()


@pytest.mark.parametrize(("url", "code"), [
    ("https://127.0.0.1/hook", "PRIVATE_ADDRESS"),
    ("https://127.8.9.10:8443/hook", "PRIVATE_ADDRESS"),
    ("https://10.1.2.3/hook", "PRIVATE_ADDRESS"),
    ("https://192.168.0.10/hook", "PRIVATE_ADDRESS"),
    ("https://169.254.169.254/latest/meta-data", "PRIVATE_ADDRESS"),
    ("https://[::1]/hook", "PRIVATE_ADDRESS"),
    ("https://[::ffff:127.0.0.1]/hook", "PRIVATE_ADDRESS"),
    ("https://[fd00::1]/hook", "PRIVATE_ADDRESS"),
    ("https://224.0.0.251/hook", "PRIVATE_ADDRESS"),
    ("https://0.0.0.0/hook", "PRIVATE_ADDRESS"),
    ("https://localhost/hook", "PRIVATE_ADDRESS"),  # a name that resolves to 127.0.0.1
    ("http://93.184.215.14/hook", "HTTPS_REQUIRED"),
    ("ftp://93.184.215.14/hook", "INVALID_URL"),
    ("https://user:pw@93.184.215.14/hook", "INVALID_URL"),
    ("not a url", "INVALID_URL"),
])
def test_internal_or_unsafe_targets_are_refused(url, code):
    with pytest.raises(TargetRefused) as refused:
        check_url(url, STRICT)
    assert refused.value.code == code
    assert refused.value.message


def test_public_addresses_pass_and_config_opens_listed_networks():
    assert check_url("https://93.184.215.14/hook", STRICT) == "https://93.184.215.14/hook"
    listed = WebhooksSettings(allowed_networks=["10.1.2.0/24"])
    assert check_url("https://10.1.2.3/hook", listed)
    with pytest.raises(TargetRefused):
        check_url("https://10.1.3.3/hook", listed)
    assert check_url("http://127.0.0.1/hook", WebhooksSettings(allow_private_targets=True,
                                                                 allow_http=True))


def test_a_name_resolving_to_loopback_at_delivery_time_is_refused_on_the_socket(
        quiet, database_url, receiver):
    # Subscribed while allowed (as a public name would be), then the rule tightens; the
    # delivery must not reach 127.0.0.1 (DNS rebinding looks the same from here).
    open_settings = hook_settings_for(database_url)
    path = f"/hooks/{uuid.uuid4().hex[:12]}"
    port = receiver.base_url.rsplit(":", 1)[1]
    sub = subscribe(quiet, open_settings, receiver, path, ["customer.updated"])
    with Session(quiet) as session, session.begin():
        session.get(type(sub), sub.id).url = f"http://localhost:{port}{path}"
        emit(session, "customer.updated", {"changed": ["tags"]})
    strict = hook_settings_for(database_url, allowed_networks=[])
    report = sweep(quiet, strict)
    assert report.delivered == 0
    assert receiver.at(path) == []
    with Session(quiet) as session:
        delivery = session.scalars(select(WebhookDelivery).where(
            WebhookDelivery.subscription_id == sub.id)).one()
        [attempt] = session.scalars(select(WebhookDeliveryAttempt).where(
            WebhookDeliveryAttempt.delivery_id == delivery.id)).all()
    assert attempt.status_code is None and not attempt.succeeded
    assert attempt.error.startswith("refused target: 127.0.0.1 is a private") or \
        attempt.error.startswith("refused target: ::1 is a private")
