"""The write-back queue on a real database: stored with its change, run once under its key.

Platforms are replayed from the connectors' cassettes (tests/connectors/*/cassettes);
every write a run sends must match a recorded one, body and Idempotency-Key included.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import vcr
from sqlalchemy import Engine, delete, func, select
from sqlalchemy.orm import Session

from connectors.base.credentials import encrypt
from hub.db import create_async_db_engine
from hub.models import (
    AuditEvent,
    Connection,
    Customer,
    CustomerTag,
    InboundEvent,
    SourceRecord,
    WriteBack,
    WriteBackStatus,
    utcnow,
)
from hub.models.enums import ConnectionStatus
from hub.settings import Settings
from hub.sync.inbox import process_event
from hub.sync.writeback import (
    PENDING_AFTER,
    WriteBackRefused,
    due_write_backs,
    queue_change,
    request_write_back,
    run,
)

CONNECTORS = Path(__file__).resolve().parents[1] / "connectors"
SHOP = "crmhub-test.myshopify.com"
SHOPIFY_TOKEN = "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"
MAILCHIMP_KEY = "0123456789abcdef0123456789abcdef-us3"
PAGE_TOKEN = "EAAGwritebackPageToken0123456789"
BOB = 207119551  # Shopify's fixture customer, in every Shopify cassette
LIST_ID = "a36b032126"
MEMBER_EMAIL = "wx3ti580f4ycqy185cumm@grouparoo.com"  # mailchimp/cassettes/write_back.yaml


SENT_KEYS: list[str | None] = []


def idempotency_key(live, recorded) -> None:
    """A write carries the key it was recorded with (cassettes without headers: any key)."""
    if live.method != "GET":
        SENT_KEYS.append(live.headers.get("Idempotency-Key"))
    expected = recorded.headers.get("Idempotency-Key")
    if expected is not None and live.headers.get("Idempotency-Key") != expected:
        raise AssertionError(f"Idempotency-Key {live.headers.get('Idempotency-Key')!r} "
                             f"!= recorded {expected!r}")


REPLAY = vcr.VCR(
    cassette_library_dir=str(CONNECTORS),
    record_mode="none",
    filter_headers=["X-Shopify-Access-Token", "Authorization"],
    filter_query_parameters=["access_token", "appsecret_proof"],
    match_on=["method", "scheme", "host", "port", "path", "query", "body", "idempotency_key"],
)
REPLAY.register_matcher("idempotency_key", idempotency_key)


def tape(name: str):
    return REPLAY.use_cassette(name, allow_playback_repeats=False)


@pytest.fixture
def connect(engine: Engine) -> Iterator:
    """``connect(connector, config, credentials)``: a connection, removed with its customers."""
    made: list[uuid.UUID] = []

    def add(connector: str, config: dict, credentials: dict) -> uuid.UUID:
        with Session(engine) as session, session.begin():
            row = Connection(name=f"wb-{connector}-{uuid.uuid4().hex[:10]}", connector=connector,
                             config=config, credentials=encrypt(credentials))
            session.add(row)
            session.flush()
            made.append(row.id)
            return row.id

    yield add
    with Session(engine) as session, session.begin():
        customers = set(session.scalars(select(SourceRecord.customer_id).where(
            SourceRecord.connection_id.in_(made), SourceRecord.customer_id.is_not(None))))
        session.execute(delete(Customer).where(Customer.id.in_(customers)))
        session.execute(delete(Connection).where(Connection.id.in_(made)))


@pytest.fixture
def shop(connect) -> uuid.UUID:
    return connect("shopify", {"shop_domain": SHOP}, {"access_token": SHOPIFY_TOKEN})


@pytest.fixture
def audience(connect) -> uuid.UUID:
    return connect("mailchimp", {"list_ids": [LIST_ID]}, {"api_key": MAILCHIMP_KEY})


@pytest.fixture
async def async_engine(settings: Settings):
    engine = create_async_db_engine(settings)
    yield engine
    await engine.dispose()


def customer_with(engine: Engine, *records: tuple[uuid.UUID, str, str, dict]) -> uuid.UUID:
    """A customer known to these connections as (connection, object type, external id, payload)."""
    with Session(engine) as session, session.begin():
        customer = Customer(display_name="Bob Norman")
        session.add(customer)
        session.flush()
        for connection_id, object_type, external_id, payload in records:
            session.add(SourceRecord(connection_id=connection_id, object_type=object_type,
                                     external_id=external_id, customer_id=customer.id,
                                     payload=payload))
        return customer.id


def request(engine: Engine, connection_id: uuid.UUID, action: str, params: dict,
            key: str | None = None) -> uuid.UUID:
    with Session(engine) as session, session.begin():
        return request_write_back(session, connection_id, action, params, key)


def write_back(engine: Engine, write_back_id: uuid.UUID) -> WriteBack:
    with Session(engine) as session:
        return session.get_one(WriteBack, write_back_id)


def write_backs_of(engine: Engine, customer_id: uuid.UUID) -> list[WriteBack]:
    with Session(engine) as session:
        return list(session.scalars(select(WriteBack).where(WriteBack.customer_id == customer_id)
                                    .order_by(WriteBack.action)))


def connection(engine: Engine, connection_id: uuid.UUID) -> Connection:
    with Session(engine) as session:
        return session.get_one(Connection, connection_id)


def test_runs_once_under_its_key_and_a_rerun_sends_nothing(engine, shop):
    tag = {"customer_id": BOB, "tags": ["VIP"]}
    wid = request(engine, shop, "tag_customer", tag, "hub-action-41")
    # The same key again is the same write-back.
    assert request(engine, shop, "tag_customer", tag, "hub-action-41") == wid

    with tape("shopify/cassettes/write_tag_customer.yaml") as played:
        assert run(engine, wid) == WriteBackStatus.DONE
        assert played.play_count == 2  # read the tags, PUT the merged list
        assert run(engine, wid) == WriteBackStatus.DONE
        assert played.play_count == 2  # nothing sent the second time

    done = write_back(engine, wid)
    assert (done.status, done.attempts, done.last_error) == (WriteBackStatus.DONE, 1, None)
    assert done.result == {"customer_id": BOB, "tags": ["Léon", "Noël", "VIP"], "changed": True}
    assert done.finished_at is not None
    with Session(engine) as session:
        events = session.scalars(select(AuditEvent).where(
            AuditEvent.action == "write_back.run", AuditEvent.record_id == str(wid))).all()
    assert [(e.record_type, e.details["status"], e.details["action"]) for e in events] == [
        ("write_back", "DONE", "tag_customer")]


def test_a_throttled_run_is_retried_later_with_the_same_key(engine, shop):
    wid = request(engine, shop, "tag_customer", {"customer_id": BOB, "tags": ["VIP"]},
                  "hub-action-41")
    with tape("shopify/cassettes/writeback_throttled.yaml") as played:
        assert run(engine, wid) == WriteBackStatus.FAILED
    assert played.all_played  # the session's own five attempts, then the job gives up for now
    failed = write_back(engine, wid)
    assert failed.attempts == 1 and "429" in failed.last_error
    assert SHOPIFY_TOKEN not in failed.last_error
    now = utcnow()
    assert failed.next_attempt_at > now
    assert wid not in due_write_backs(engine, now)
    # Too early: the job leaves it alone and sends nothing.
    with tape("shopify/cassettes/write_tag_customer.yaml") as played:
        assert run(engine, wid, now=now) == WriteBackStatus.FAILED
        assert played.play_count == 0

    later = failed.next_attempt_at + timedelta(seconds=1)
    assert wid in due_write_backs(engine, later)
    with tape("shopify/cassettes/write_tag_customer.yaml") as played:
        assert run(engine, wid, now=later) == WriteBackStatus.DONE
        assert played.play_count == 2
    assert write_back(engine, wid).attempts == 2


def test_a_5xx_is_retried_within_the_run_with_the_same_key(engine, connect):
    page = connect("facebook", {"page_id": "2121008874780932"}, {"page_access_token": PAGE_TOKEN})
    wid = request(engine, page, "reply_to_message",
                  {"recipient_id": "2711636948859886",
                   "text": "Thanks, Kun! Your order ships today."},
                  "hub-action-52")
    SENT_KEYS.clear()
    with tape("facebook/cassettes/actions.yaml") as played:
        assert run(engine, wid) == WriteBackStatus.DONE
    assert played.play_count == 2  # the 500, then the answer
    assert set(SENT_KEYS) == {"hub-action-52"}
    done = write_back(engine, wid)
    assert done.attempts == 1 and done.result["message_id"]


def test_expired_credentials_wait_for_new_ones(engine, shop):
    wid = request(engine, shop, "tag_customer", {"customer_id": BOB, "tags": ["VIP"]})
    with tape("shopify/cassettes/writeback_unauthorized.yaml"):
        assert run(engine, wid) == WriteBackStatus.PENDING
    shop_row = connection(engine, shop)
    assert shop_row.status == ConnectionStatus.NEEDS_REAUTH
    assert "authorise the connection again" in shop_row.status_message
    assert "401" in write_back(engine, wid).last_error
    for text in (shop_row.status_message, write_back(engine, wid).last_error):
        assert SHOPIFY_TOKEN not in text
    later = utcnow() + timedelta(hours=2)
    assert wid not in due_write_backs(engine, later)
    with tape("shopify/cassettes/write_tag_customer.yaml") as played:
        assert run(engine, wid, now=later) == WriteBackStatus.PENDING
        assert played.play_count == 0
    # New credentials: the connection is usable again, and the write-back is due.
    with Session(engine) as session, session.begin():
        session.get_one(Connection, shop).status = ConnectionStatus.ACTIVE
    assert wid in due_write_backs(engine, later)


def test_a_refused_write_is_dead_and_never_retried(engine, audience):
    wid = request(engine, audience, "tag", {
        "list_id": LIST_ID, "email": MEMBER_EMAIL,
        "remove": ["list one", "list two", "list three", "list four"]})
    with tape("mailchimp/cassettes/write_back.yaml") as played:
        assert run(engine, wid) == WriteBackStatus.DEAD
        assert played.play_count == 1
    dead = write_back(engine, wid)
    assert "404" in dead.last_error and MAILCHIMP_KEY not in dead.last_error
    assert wid not in due_write_backs(engine, utcnow() + timedelta(days=1))


@pytest.mark.parametrize(("action", "params", "code", "field"), [
    ("delete_customer", {"customer_id": BOB}, "UNKNOWN_ACTION", "action"),
    ("tag_customer", {"customer_id": "../orders/1", "tags": ["VIP"]}, "INVALID_PARAMS", "params"),
    ("tag_customer", {"customer_id": BOB, "tags": ["VIP, Gold"]}, "INVALID_PARAMS", "params"),
    ("set_email_marketing_consent", {"customer_id": BOB, "state": "redacted"},
     "INVALID_PARAMS", "params"),
])
def test_bad_requests_are_refused_and_store_nothing(engine, shop, action, params, code, field):
    with Session(engine) as session, session.begin():
        before = session.scalar(select(func.count()).select_from(WriteBack))
        with pytest.raises(WriteBackRefused) as refused:
            request_write_back(session, shop, action, params)
        after = session.scalar(select(func.count()).select_from(WriteBack))
    assert (refused.value.code, refused.value.field, after) == (code, field, before)
    assert "../orders" not in refused.value.message  # says what is wrong, not what was sent


def test_a_paused_connection_refuses_when_asked_to(engine, shop):
    with Session(engine) as session, session.begin():
        session.get_one(Connection, shop).status = ConnectionStatus.PAUSED
    with Session(engine) as session, pytest.raises(WriteBackRefused) as refused:
        request_write_back(session, shop, "tag_customer", {"customer_id": BOB, "tags": ["VIP"]},
                           require_usable=True)
    assert refused.value.code == "PAUSED"
    # Queued without the check, it waits: nothing runs while the connection is paused.
    wid = request(engine, shop, "tag_customer", {"customer_id": BOB, "tags": ["VIP"]})
    with tape("shopify/cassettes/write_tag_customer.yaml") as played:
        assert run(engine, wid) == WriteBackStatus.PENDING
        assert played.play_count == 0
    assert wid not in due_write_backs(engine, utcnow() + PENDING_AFTER * 2)


async def test_a_change_queues_for_every_platform_in_its_own_transaction(
        engine, async_engine, shop, audience):
    bob = customer_with(engine, (shop, "customer", str(BOB), {}),
                        (audience, "member", f"{LIST_ID}:5eb0d793a5aa4f1b9fd29305d6afbf7c",
                         {"list_id": LIST_ID, "email_address": MEMBER_EMAIL}))

    class Abandoned(Exception):
        pass

    # The tag and its write-backs roll back together...
    with pytest.raises(Abandoned):
        async with async_engine.begin() as conn:
            await conn.execute(CustomerTag.__table__.insert(), [{"customer_id": bob, "tag": "VIP",
                                                                 "created_at": utcnow()}])
            assert len(await queue_change(conn, None, bob, "customer.tag", {"tags": ["VIP"]})) == 2
            raise Abandoned
    assert write_backs_of(engine, bob) == []
    # ... and commit together.
    async with async_engine.begin() as conn:
        await queue_change(conn, None, bob, "customer.tag", {"tags": ["VIP"]})
    queued = write_backs_of(engine, bob)
    assert [(w.connection_id, w.action, w.params, w.status) for w in queued] == [
        (audience, "tag", {"list_id": LIST_ID, "email": MEMBER_EMAIL, "add": ["VIP"],
                           "remove": []}, WriteBackStatus.PENDING),
        (shop, "tag_customer", {"customer_id": BOB, "tags": ["VIP"]}, WriteBackStatus.PENDING),
    ]
    assert len({w.idempotency_key for w in queued}) == 2


async def test_a_tag_the_platform_cannot_take_is_kept_dead_not_dropped(
        engine, async_engine, shop):
    bob = customer_with(engine, (shop, "customer", str(BOB), {}))
    async with async_engine.begin() as conn:
        await queue_change(conn, None, bob, "customer.tag", {"tags": ["VIP, Gold"]})
    (dead,) = write_backs_of(engine, bob)
    assert dead.status == WriteBackStatus.DEAD and dead.attempts == 0
    assert dead.last_error.startswith("not sent: Invalid params: tags")


async def test_the_platform_echoing_a_write_back_queues_nothing(engine, async_engine, shop):
    bob = customer_with(engine, (shop, "customer", str(BOB), {}))
    async with async_engine.begin() as conn:
        (wid,) = await queue_change(conn, None, bob, "customer.tag", {"tags": ["VIP"]})
    with Session(engine) as session, session.begin():
        session.get_one(WriteBack, wid).idempotency_key = "hub-action-41"  # the recorded one
    with tape("shopify/cassettes/write_tag_customer.yaml"):
        assert run(engine, wid) == WriteBackStatus.DONE

    # Shopify's customers/update webhook for the tag just written, processed as usual.
    body = json.loads((CONNECTORS / "shopify" / "payloads" / "customer_bob_updated.json")
                      .read_text())
    body["tags"] = "Léon, Noël, VIP"
    with Session(engine) as session, session.begin():
        event = InboundEvent(connection_id=shop, provider_event_id=f"echo-{uuid.uuid4()}",
                             topic="customers/update", body=json.dumps(body).encode(),
                             headers={"X-Shopify-Topic": "customers/update",
                                      "X-Shopify-Webhook-Id": f"echo-{uuid.uuid4()}",
                                      "X-Shopify-Shop-Domain": SHOP})
        session.add(event)
        session.flush()
        event_id = event.id
    process_event(engine, event_id)

    with Session(engine) as session:
        assert session.get_one(InboundEvent, event_id).processed_at is not None
        tags = set(session.scalars(select(CustomerTag.tag).where(CustomerTag.customer_id == bob)))
    assert "VIP" in tags
    assert [w.id for w in write_backs_of(engine, bob)] == [wid]
    assert due_write_backs(engine, utcnow() + timedelta(days=1)).count(wid) == 0


def test_the_sweep_is_scheduled_and_enqueues_what_is_due(engine, shop, settings, monkeypatch):
    from hub import tasks
    from hub.sync import writeback

    beat = tasks.create_celery(settings).conf.beat_schedule
    assert "crmhub.run_due_write_backs" in {entry["task"] for entry in beat.values()}
    assert "run_due_write_backs" in tasks.SCHEDULED_JOBS  # the embedded ticker's list

    wid = request(engine, shop, "tag_customer", {"customer_id": BOB, "tags": ["VIP"]})
    with Session(engine) as session, session.begin():  # its enqueue was lost a while ago
        session.get_one(WriteBack, wid).created_at = utcnow() - PENDING_AFTER * 2
    sent: list[tuple[str, dict]] = []
    monkeypatch.setattr(writeback, "job_engine", lambda: engine)
    monkeypatch.setattr(tasks, "enqueue", lambda name, **kwargs: sent.append((name, kwargs)))
    assert str(wid) in writeback.run_due_write_backs()
    assert ("run_write_back", {"write_back_id": str(wid)}) in sent


def test_an_expired_page_token_turns_the_connection_needs_reauth(engine, connect):
    page = connect("facebook", {"page_id": "2121008874780932"}, {"page_access_token": PAGE_TOKEN})
    wid = request(engine, page, "reply_to_comment", {
        "comment_id": "10158407654328553_10158407835073553",
        "message": "Hi Maria, we have sent you the steps in Messenger."})
    with tape("facebook/cassettes/writeback_expired_token.yaml") as played:
        assert run(engine, wid) == WriteBackStatus.PENDING
        assert played.play_count == 1  # refused once: neither retried nor posted twice
    page_row = connection(engine, page)
    assert page_row.status == ConnectionStatus.NEEDS_REAUTH
    assert "Session has expired" in page_row.status_message
    assert PAGE_TOKEN not in page_row.status_message
    assert PAGE_TOKEN not in write_back(engine, wid).last_error


def test_a_run_abandoned_by_its_worker_is_taken_again(engine, shop):
    wid = request(engine, shop, "tag_customer", {"customer_id": BOB, "tags": ["VIP"]},
                  "hub-action-41")
    started = utcnow() - timedelta(hours=1)
    with Session(engine) as session, session.begin():
        row = session.get_one(WriteBack, wid)
        row.status, row.started_at, row.attempts = WriteBackStatus.RUNNING, started, 1
    now = utcnow()
    assert wid in due_write_backs(engine, now)
    with tape("shopify/cassettes/write_tag_customer.yaml") as played:
        assert run(engine, wid, now=now) == WriteBackStatus.DONE
        assert played.play_count == 2
    assert write_back(engine, wid).attempts == 2
    # A run still going (started a moment ago) is not taken from its worker.
    fresh = request(engine, shop, "tag_customer", {"customer_id": BOB, "tags": ["VIP"]})
    with Session(engine) as session, session.begin():
        row = session.get_one(WriteBack, fresh)
        row.status, row.started_at = WriteBackStatus.RUNNING, utcnow()
    assert fresh not in due_write_backs(engine, utcnow())
    assert run(engine, fresh) == WriteBackStatus.RUNNING


def test_credentials_the_connector_refuses_wait_for_new_ones(engine, connect):
    shop = connect("shopify", {"shop_domain": SHOP}, {"webhook_secret": "no access token"})
    wid = request(engine, shop, "tag_customer", {"customer_id": BOB, "tags": ["VIP"]})
    assert run(engine, wid) == WriteBackStatus.PENDING  # nothing sent: no session was made
    assert connection(engine, shop).status == ConnectionStatus.NEEDS_REAUTH
    assert "access_token" in write_back(engine, wid).last_error


def test_an_answer_the_action_cannot_read_is_retried_then_dead(engine, connect, api):
    ns = f"wb{uuid.uuid4().hex[:10]}"
    api.route("POST", f"/{ns}/notes", [(201, {"Content-Type": "text/html"}, b"<html>ok</html>")])
    example = connect("example", {"api_url": f"{api.url}/{ns}"}, {"api_key": "ex_live_0123"})
    wid = request(engine, example, "add_note", {"contact_id": "c1", "body": "Called back."})
    now = utcnow()
    for attempt in range(1, 6):
        status = run(engine, wid, now=now)
        row = write_back(engine, wid)
        assert row.attempts == attempt and "JSONDecodeError" in row.last_error
        if attempt < 5:
            assert status == WriteBackStatus.FAILED
            now = row.next_attempt_at
    assert status == WriteBackStatus.DEAD and row.last_error.startswith("gave up after 5")
    assert "ex_live_0123" not in row.last_error
