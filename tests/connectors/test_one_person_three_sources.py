"""One person, three platforms: Shopify, Mailchimp and Facebook replayed through ``sync_connection``.

Bob Norman is a Shopify customer (``bob.norman@three-sources.example``, phone
``502-555-0147`` on his address, his order #1001 with the phone in E.164), a
Mailchimp subscriber (``Bob.Norman@Three-Sources.EXAMPLE``, PHONE ``+1 (502)
555-0147``, one campaign open) and a Messenger contact of a Facebook Page. The
cassettes in ``cassettes_e2e/`` are cut from each connector's recorded ones (see
``cassettes_e2e/build_cassettes.py``); nothing here touches the network.

Shopify and Mailchimp meet in the sync itself: the writer's resolver
(``hub/sync/resolution.py``, ``MatchByEmailOrPhone``) links a newly seen person
to the ACTIVE customer with the same normalised e-mail (else phone), and the
order and the campaign open follow their ``person_ref`` to the same customer.

Facebook cannot be linked by the sync, for two reasons that do not depend on
the test data:

1. The Graph API does document ``participants{email}`` on a conversation
   ("Email for the person or Page", Page messaging only), but what it returns is
   the relay address ``<page-scoped id>@facebook.com`` (as in every recorded
   conversation: ``2711636948859886@facebook.com``), never the address a person
   gave Shopify or Mailchimp. The Facebook mapping drops it on purpose
   (``connectors/facebook/mapping.py``, docs/connectors/facebook.md), so a
   Facebook person carries only the SOCIAL point ``facebook:<psid>`` and a name.
   A cassette putting Bob's real address there would replay a response Graph
   never sends.
2. Even with an e-mail, the writer would not ask the resolver: a record with a
   ``person_ref`` (every Facebook record names its ``("user", psid)`` anchor)
   belongs to the anchor's customer (``CanonicalWriter._customer_for_person``
   with ``follow_ref``); the resolver is asked only about unlinked identities,
   and matches only EMAIL and PHONE points, never SOCIAL ones.

So the Facebook person lands on a customer of its own, and is linked by a later
merge (``hub.identity.merge.merge``, what an operator's ``customerMerge`` does).
After it, the next Facebook sync (messages) lands on Bob through the anchor, and
Bob's name stays the one Shopify and Mailchimp give whole: Facebook's display
name, which arrives as a given name, loses to them by survivorship.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import vcr
from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session

from connectors.base.credentials import encrypt
from hub.access.audit import SYSTEM
from hub.identity.merge import merge
from hub.identity.survivorship import SurvivorshipSettings
from hub.models import (
    Connection,
    Consent,
    ContactPoint,
    Customer,
    Interaction,
    Order,
    SourceRecord,
)
from hub.models.enums import (
    ConsentPurpose,
    ConsentStatus,
    ContactPointKind,
    CustomerStatus,
    InteractionKind,
    SyncRunStatus,
)
from hub.sync.runner import sync_connection
from tests.connectors.cassettes_e2e.build_cassettes import (
    CONVERSATION,
    E_MAIL,
    LIST_ID,
    MAILCHIMP_E_MAIL,
    PAGE,
    PHONE_E164,
    PSID,
    subscriber_hash,
)

CASSETTES = Path(__file__).parent / "cassettes_e2e"
MEMBER = f"{LIST_ID}:{subscriber_hash(E_MAIL)}"
ACTIVITY = f"7847cdaeff:{subscriber_hash(E_MAIL)}:open:2023-11-06T20:17:57+00:00"
MESSAGE_IN = "m_rU2w1v7XMh8JR7jDSmW3pBMylUFmkYY4bHogy9C1otJUI2R3JKjhRblmg6DHQeVLHU6GP0qwqSqdSg0gnkE8tw"
MESSAGE_OUT = "m_Pg7ReplyFromThePageToKunLiu0000000000000000000000000000000000000000000000000"

REPLAY = vcr.VCR(
    cassette_library_dir=str(CASSETTES),
    record_mode="none",
    filter_headers=["Authorization", "X-Shopify-Access-Token"],
    # Graph echoes the token into its next links; the session never sends it in the URL.
    filter_query_parameters=["access_token", "appsecret_proof"],
    match_on=["method", "scheme", "host", "port", "path", "query"],
)


@pytest.fixture
def connect(sync_engine: Engine) -> Iterator[Callable[..., uuid.UUID]]:
    """``connect(connector, config, credentials)``: a new connection, removed after the test
    with every customer and order its syncs made (all tests share one database)."""
    ns = f"e2e{uuid.uuid4().hex[:10]}"
    made: list[uuid.UUID] = []

    def add(connector: str, config: dict, credentials: dict) -> uuid.UUID:
        with Session(sync_engine) as session, session.begin():
            row = Connection(name=f"{ns}-{connector}", connector=connector, config=config,
                             credentials=encrypt(credentials))
            session.add(row)
            session.flush()
            made.append(row.id)
            return row.id

    yield add
    with Session(sync_engine) as session, session.begin():
        synced = set(session.scalars(select(SourceRecord.customer_id).where(
            SourceRecord.connection_id.in_(made), SourceRecord.customer_id.is_not(None))))
        synced |= set(session.scalars(select(Customer.id).where(
            Customer.merged_into_id.in_(synced))))
        session.execute(delete(Order).where(Order.customer_id.in_(synced)))
        session.execute(delete(Customer).where(Customer.id.in_(synced)))
        session.execute(delete(Connection).where(Connection.id.in_(made)))


def replay(engine: Engine, cassette: str, connection_id: uuid.UUID, streams: list[str]) -> None:
    """Sync these streams from the cassette; every recorded answer must be asked for."""
    with REPLAY.use_cassette(f"{cassette}.yaml", allow_playback_repeats=False) as tape:
        runs = sync_connection(engine, connection_id, streams=streams)
    assert [(r.stream, r.status, r.records_failed) for r in runs] == [
        (s, SyncRunStatus.SUCCEEDED, 0) for s in streams], [r.error for r in runs]
    assert tape.all_played, f"{cassette}: {len(tape.data) - tape.play_count} answers not asked for"


def records_of(engine: Engine, connections: dict[uuid.UUID, str]) -> dict[tuple, uuid.UUID]:
    """(connector, object type, external id) -> customer, for every record of these connections."""
    with Session(engine) as session:
        rows = session.execute(
            select(SourceRecord.connection_id, SourceRecord.object_type,
                   SourceRecord.external_id, SourceRecord.customer_id)
            .where(SourceRecord.connection_id.in_(list(connections)))
        ).all()
    return {(connections[c], t, e): customer for c, t, e, customer in rows}


def contact_points_of(engine: Engine, customer_id: uuid.UUID) -> set[tuple]:
    """(kind, normalised, as the source gave it, connector, object type, external id)."""
    with Session(engine) as session:
        rows = session.execute(
            select(ContactPoint.kind, ContactPoint.normalised_value, ContactPoint.raw_value,
                   Connection.connector, SourceRecord.object_type, SourceRecord.external_id)
            .join(SourceRecord, SourceRecord.id == ContactPoint.source_record_id)
            .join(Connection, Connection.id == SourceRecord.connection_id)
            .where(ContactPoint.customer_id == customer_id)
        ).all()
    return {tuple(row) for row in rows}


def test_one_person_from_three_platforms_is_one_customer(sync_engine: Engine, connect):
    engine = sync_engine
    shop = connect("shopify", {"shop_domain": "crmhub-test.myshopify.com"},
                   {"access_token": "shpat_e2e0123456789abcdef0123456789ab"})
    mail = connect("mailchimp", {"list_ids": [LIST_ID]},
                   {"api_key": "8f14e45fceea167a5a36dedd4bea2543-us3"})
    page = connect("facebook", {"page_id": PAGE},
                   {"page_access_token": "EAAGe2ePageToken0123456789abcdef"})
    connections = {shop: "shopify", mail: "mailchimp", page: "facebook"}

    replay(engine, "shopify", shop, ["customers", "orders"])
    replay(engine, "mailchimp", mail, ["members", "email_activity"])
    replay(engine, "facebook_conversations", page, ["conversations"])

    # Shopify and Mailchimp: one customer, found by the e-mail in another case.
    records = records_of(engine, connections)
    bob = records[("shopify", "customer", "207119551")]
    assert bob is not None
    assert records[("shopify", "order", "450789469")] == bob
    assert records[("mailchimp", "member", MEMBER)] == bob
    assert records[("mailchimp", "email_activity", ACTIVITY)] == bob
    # Facebook: a customer of its own, known only by the page-scoped id; the relay e-mail is
    # not a contact point.
    somebody = records[("facebook", "user", PSID)]
    assert records[("facebook", "conversation", CONVERSATION)] == somebody != bob
    assert contact_points_of(engine, somebody) == {
        (ContactPointKind.SOCIAL, f"facebook:{PSID}", f"facebook:{PSID}", "facebook",
         "conversation", CONVERSATION)}

    # The later merge: the Facebook person is Bob.
    with engine.begin() as db:
        merge(db, bob, somebody, actor=SYSTEM, survivorship=SurvivorshipSettings())
    # ... and what Facebook sends next lands on Bob through the Facebook anchor.
    replay(engine, "facebook_messages", page, ["messages"])

    records = records_of(engine, connections)
    assert set(records.values()) == {bob}
    assert sorted(records) == sorted([
        ("shopify", "customer", "207119551"), ("shopify", "order", "450789469"),
        ("mailchimp", "member", MEMBER), ("mailchimp", "email_activity", ACTIVITY),
        ("facebook", "user", PSID), ("facebook", "conversation", CONVERSATION),
        ("facebook", "message", MESSAGE_IN), ("facebook", "message", MESSAGE_OUT),
    ])
    # One person record per connection: the Shopify customer, the Mailchimp member, the
    # Facebook user (the anchor every Facebook record names).
    people = [key for key in records if key[1] in ("customer", "member", "user")]
    assert sorted(connector for connector, _, _ in people) == ["facebook", "mailchimp", "shopify"]

    with Session(engine) as session:
        customer = session.get_one(Customer, bob)
        # Facebook's whole display name arrives as a given name ("Bob Norman", no family
        # name); the golden record takes the name whole from the most complete source.
        assert (customer.status, customer.given_name, customer.family_name,
                customer.display_name) == (CustomerStatus.ACTIVE, "Bob", "Norman", "Bob Norman")
        merged = session.get_one(Customer, somebody)
        assert (merged.status, merged.merged_into_id) == (CustomerStatus.MERGED, bob)
        assert session.scalars(select(Order.number).where(Order.customer_id == bob)).all() == [
            "#1001"]
        kinds = sorted(session.scalars(select(Interaction.kind).where(
            Interaction.customer_id == bob)).all())
        assert kinds == sorted([InteractionKind.EMAIL_OPEN, InteractionKind.MESSAGE,
                                InteractionKind.MESSAGE])
        consents = session.execute(select(Consent.purpose, Consent.status, Consent.source).where(
            Consent.customer_id == bob)).all()
        assert [tuple(c) for c in consents] == [
            (ConsentPurpose.MARKETING_EMAIL, ConsentStatus.GRANTED, "mailchimp")]

    # Provenance: every contact point names the record (and so the platform) it came from;
    # one e-mail and one phone, each given three ways.
    assert contact_points_of(engine, bob) == {
        (ContactPointKind.EMAIL, E_MAIL, E_MAIL, "shopify", "customer", "207119551"),
        (ContactPointKind.PHONE, PHONE_E164, "502-555-0147", "shopify", "customer", "207119551"),
        (ContactPointKind.EMAIL, E_MAIL, E_MAIL, "shopify", "order", "450789469"),
        (ContactPointKind.PHONE, PHONE_E164, PHONE_E164, "shopify", "order", "450789469"),
        (ContactPointKind.EMAIL, E_MAIL, MAILCHIMP_E_MAIL, "mailchimp", "member", MEMBER),
        (ContactPointKind.PHONE, PHONE_E164, "+1 (502) 555-0147", "mailchimp", "member", MEMBER),
        (ContactPointKind.SOCIAL, f"facebook:{PSID}", f"facebook:{PSID}", "facebook",
         "conversation", CONVERSATION),
        (ContactPointKind.SOCIAL, f"facebook:{PSID}", f"facebook:{PSID}", "facebook",
         "message", MESSAGE_IN),
        (ContactPointKind.SOCIAL, f"facebook:{PSID}", f"facebook:{PSID}", "facebook",
         "message", MESSAGE_OUT),
    }
