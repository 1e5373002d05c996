"""The webhooks API: subscriptions, the secret shown once, deliveries and attempts, redelivery."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.events.delivery import sweep
from hub.events.outbox import emit
from hub.models import AuditEvent, WebhookSubscription
from hub.models.enums import ClientKind
from tests.events.conftest import hook_settings_for

MANAGE = "webhooks:manage"

CREATE = """
mutation ($input: WebhookSubscriptionCreateInput!) {
  webhookSubscriptionCreate(input: $input) {
    secret
    subscription { id url eventTypes enabled }
    errors { field code message }
  }
}"""

UPDATE = """
mutation ($input: WebhookSubscriptionUpdateInput!) {
  webhookSubscriptionUpdate(input: $input) {
    secret
    subscription { id url eventTypes enabled disabledReason consecutiveFailures }
    errors { field code message }
  }
}"""

DELETE = """
mutation ($id: ID!) {
  webhookSubscriptionDelete(id: $id) { deletedId errors { field code message } }
}"""

REDELIVER = """
mutation ($input: WebhookRedeliverInput!) {
  webhookRedeliver(input: $input) {
    deliveries { id status attemptCount event { id type } }
    errors { field code message }
  }
}"""

SUBSCRIPTION = """
query ($id: ID!) {
  webhookSubscription(id: $id) {
    url enabled
    deliveries(first: 10) {
      totalCount
      edges { node {
        id status attemptCount deliveredAt
        event { id type data }
        attempts { succeeded statusCode durationMs error responseExcerpt }
      } }
    }
  }
}"""

LIST = "{ webhookSubscriptions(first: 100) { totalCount edges { node { id url } } } }"


def _path() -> str:
    return f"/api-hooks/{uuid.uuid4().hex[:12]}"


async def _create(api, receiver, path, types=("customer.*",)) -> dict:
    data = await api.query(CREATE, {"input": {"url": f"{receiver.base_url}{path}",
                                              "eventTypes": list(types)}})
    payload = data["webhookSubscriptionCreate"]
    assert payload["errors"] == [], payload
    receiver.secrets[path] = payload["secret"]
    return payload


async def test_create_returns_the_secret_once_and_stores_it_sealed(api_as, receiver, quiet):
    api = api_as(MANAGE)
    path = _path()
    payload = await _create(api, receiver, path)
    secret = payload["secret"]
    assert secret.startswith("whsec_") and len(secret) > 40
    sub = payload["subscription"]
    assert sub["enabled"] and sub["eventTypes"] == ["customer.*"]
    listed = await api.query(LIST)
    assert sub["id"] in {e["node"]["id"] for e in listed["webhookSubscriptions"]["edges"]}
    with Session(quiet) as session:
        rows = session.scalars(select(WebhookSubscription)
                               .where(WebhookSubscription.url.endswith(path))).all()
        assert len(rows) == 1 and secret.encode() not in rows[0].secret_encrypted
        audit = session.scalars(select(AuditEvent).where(
            AuditEvent.action == "webhook_subscription.create",
            AuditEvent.record_id == str(rows[0].id))).all()
        assert len(audit) == 1
        assert secret not in repr(audit[0].details) + repr(audit[0].fields)


async def test_refused_urls_and_types_are_typed_errors_and_nothing_is_stored(api_as, quiet):
    api = api_as(MANAGE)
    cases = [
        # Only 127.0.0.1 itself is allowed here (the test receiver); the rest of loopback is not.
        ("https://127.0.0.2/h", ["customer.created"], "PRIVATE_ADDRESS", "url"),
        ("https://[::1]/h", ["customer.created"], "PRIVATE_ADDRESS", "url"),
        ("https://10.0.0.8/h", ["customer.created"], "PRIVATE_ADDRESS", "url"),
        ("https://169.254.169.254/h", ["customer.created"], "PRIVATE_ADDRESS", "url"),
        ("ftp://93.184.215.14/h", ["customer.created"], "INVALID_URL", "url"),
        ("https://93.184.215.14/h", ["customer.exploded"], "UNKNOWN_EVENT_TYPE", "eventTypes"),
        ("https://93.184.215.14/h", [], "INVALID", "eventTypes"),
    ]
    with Session(quiet) as session:
        before = len(session.scalars(select(WebhookSubscription.id)).all())
    for url, types, code, field in cases:
        data = await api.query(CREATE, {"input": {"url": url, "eventTypes": types}})
        payload = data["webhookSubscriptionCreate"]
        assert payload["subscription"] is None and payload["secret"] is None
        [error] = payload["errors"]
        assert (error["code"], error["field"]) == (code, field), (url, error)
        assert error["message"]
    with Session(quiet) as session:
        assert len(session.scalars(select(WebhookSubscription.id)).all()) == before


async def test_every_webhook_field_and_mutation_needs_the_scope(api_as, receiver):
    api = api_as("customers:read cases:write")
    response = await api.post(LIST)
    body = response.json()
    assert body["data"] is None or body["data"].get("webhookSubscriptions") is None
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    response = await api.post(CREATE, {"input": {"url": f"{receiver.base_url}/x",
                                                 "eventTypes": ["*"]}})
    body = response.json()
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert not body.get("data") or body["data"]["webhookSubscriptionCreate"] is None


async def test_partners_cannot_subscribe(api_as, engine):
    from hub.models import Partner

    with Session(engine) as session, session.begin():
        partner = Partner(name=f"wh-partner-{uuid.uuid4().hex[:6]}", kind="SUPPLIER")
        session.add(partner)
        session.flush()
        partner_id = partner.id
    api = api_as(MANAGE, kind=ClientKind.PARTNER, partner_id=partner_id)
    data = await api.query(CREATE, {"input": {"url": "https://93.184.215.14/h",
                                              "eventTypes": ["*"]}})
    [error] = data["webhookSubscriptionCreate"]["errors"]
    assert error["code"] == "PARTNER_NOT_ALLOWED"
    assert (await api.query(LIST))["webhookSubscriptions"]["totalCount"] == 0


async def test_deliveries_attempts_and_redelivery(api_as, receiver, quiet, hook_settings):
    api = api_as(MANAGE)
    path = _path()
    receiver.script[path] = [500]
    sub_id = (await _create(api, receiver, path))["subscription"]["id"]
    with Session(quiet) as session, session.begin():
        event_id = emit(session, "customer.created", {"kind": "PERSON"},
                        subject=("Customer", uuid.uuid4()))
    sweep(quiet, hook_settings)  # 500: retried later

    data = await api.query(SUBSCRIPTION, {"id": sub_id})
    [edge] = data["webhookSubscription"]["deliveries"]["edges"]
    delivery = edge["node"]
    assert delivery["status"] == "PENDING" and delivery["attemptCount"] == 1
    assert delivery["event"] == {"id": str(event_id), "type": "customer.created",
                                 "data": {"id": delivery["event"]["data"]["id"], "kind": "PERSON"}}
    [attempt] = delivery["attempts"]
    assert attempt["statusCode"] == 500 and not attempt["succeeded"]
    assert attempt["error"] == "the receiver answered 500"

    # Redeliver now, instead of waiting out the backoff.
    data = await api.query(REDELIVER, {"input": {"deliveryId": delivery["id"]}})
    assert data["webhookRedeliver"]["errors"] == []
    assert sweep(quiet, hook_settings).delivered == 1
    data = await api.query(SUBSCRIPTION, {"id": sub_id})
    node = data["webhookSubscription"]["deliveries"]["edges"][0]["node"]
    assert node["status"] == "DELIVERED" and node["deliveredAt"]
    assert [a["statusCode"] for a in node["attempts"]] == [500, 200]

    # Redeliver the event: the receiver gets the same webhook-id again, verified.
    data = await api.query(REDELIVER, {"input": {"eventId": str(event_id)}})
    assert [d["status"] for d in data["webhookRedeliver"]["deliveries"]] == ["PENDING"]
    assert sweep(quiet, hook_settings).delivered == 1
    messages = receiver.at(path)
    assert [m.headers["webhook-id"] for m in messages] == [str(event_id)] * 3
    assert [m.verified for m in messages] == [True] * 3

    # ... and to a subscription made after the event.
    later = _path()
    later_id = (await _create(api, receiver, later, ["case.*"]))["subscription"]["id"]
    data = await api.query(REDELIVER, {"input": {"eventId": str(event_id),
                                                 "subscriptionId": later_id}})
    assert data["webhookRedeliver"]["errors"] == []
    sweep(quiet, hook_settings)
    assert [m.headers["webhook-id"] for m in receiver.at(later)] == [str(event_id)]

    data = await api.query(REDELIVER, {"input": {"eventId": str(uuid.uuid4())}})
    assert data["webhookRedeliver"]["errors"][0]["code"] == "NOT_FOUND"
    data = await api.query(REDELIVER, {"input": {}})
    assert data["webhookRedeliver"]["errors"][0]["code"] == "INVALID"


async def test_update_disables_enables_rotates_and_delete_forgets(api_as, receiver, quiet,
                                                                  database_url):
    settings = hook_settings_for(database_url)
    api = api_as(MANAGE)
    path = _path()
    created = await _create(api, receiver, path, ["feedback.created"])
    sub_id, old_secret = created["subscription"]["id"], created["secret"]

    data = await api.query(UPDATE, {"input": {"id": sub_id, "enabled": False}})
    payload = data["webhookSubscriptionUpdate"]
    assert not payload["subscription"]["enabled"]
    assert payload["subscription"]["disabledReason"].startswith("disabled by ")
    with Session(quiet) as session, session.begin():
        missed = emit(session, "feedback.created", {"score": 9})
    sweep(quiet, settings)
    assert receiver.at(path) == []  # not queued for a disabled subscription

    data = await api.query(UPDATE, {"input": {"id": sub_id, "enabled": True,
                                              "rotateSecret": True,
                                              "eventTypes": ["feedback.created", "case.*"]}})
    payload = data["webhookSubscriptionUpdate"]
    assert payload["errors"] == [] and payload["subscription"]["enabled"]
    new_secret = payload["secret"]
    assert new_secret.startswith("whsec_") and new_secret != old_secret
    receiver.secrets[path] = new_secret
    sweep(quiet, settings)
    assert receiver.at(path) == []
    data = await api.query(REDELIVER, {"input": {"eventId": str(missed),
                                                 "subscriptionId": sub_id}})
    assert data["webhookRedeliver"]["errors"] == []
    sweep(quiet, settings)
    [message] = receiver.at(path)  # signed with the new secret
    assert message.verified and message.payload["data"]["score"] == 9

    data = await api.query(UPDATE, {"input": {"id": sub_id, "url": "https://192.168.1.1/x"}})
    assert data["webhookSubscriptionUpdate"]["errors"][0]["code"] == "PRIVATE_ADDRESS"

    data = await api.query(DELETE, {"id": sub_id})
    assert data["webhookSubscriptionDelete"] == {"deletedId": sub_id, "errors": []}
    assert (await api.query(SUBSCRIPTION, {"id": sub_id}))["webhookSubscription"] is None
    data = await api.query(DELETE, {"id": sub_id})
    assert data["webhookSubscriptionDelete"]["errors"][0]["code"] == "NOT_FOUND"
