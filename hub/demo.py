"""Deterministic demo data: a believable customer base across every channel of the model.

Everything is drawn from one seeded ``random.Random`` and a seeded Faker, and every
timestamp is measured back from ANCHOR rather than from the clock, so the same
arguments give the same rows, ids included (for a given Faker version).

Callers check ``has_data(engine)`` first; ``seed`` itself refuses a database that
already has customers rather than add a second, overlapping population.
E-mail addresses use reserved ``example`` domains so demo data can never reach a real inbox.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from faker import Faker
from sqlalchemy import Connection as DBConnection
from sqlalchemy import Engine, Table, func, select

from hub.identity.normalise import email as normalise_email
from hub.identity.normalise import fold
from hub.models import (
    Address,
    Case,
    CaseComment,
    Connection,
    Consent,
    ContactPoint,
    Customer,
    CustomerTag,
    Feedback,
    Interaction,
    Order,
    OrderLine,
    SourceRecord,
)
from hub.models.enums import (
    CaseCategory,
    CasePriority,
    CaseStatus,
    Channel,
    CommentVisibility,
    ConnectionStatus,
    ConsentPurpose,
    ConsentStatus,
    ContactPointKind,
    CustomerKind,
    CustomerStatus,
    Direction,
    FeedbackKind,
    FinancialStatus,
    FulfillmentStatus,
    InteractionKind,
    LifecycleStage,
    OrderStatus,
)

ANCHOR = datetime(2026, 11, 1, tzinfo=UTC)
BATCH_SIZE = 500
CENT = Decimal("0.01")

customers_t: Table = Customer.__table__  # type: ignore[assignment]
connections_t: Table = Connection.__table__  # type: ignore[assignment]
cases_t: Table = Case.__table__  # type: ignore[assignment]
source_records_t: Table = SourceRecord.__table__  # type: ignore[assignment]
# Parents before children, so foreign keys hold at every insert.
TABLES: tuple[Table, ...] = tuple(
    m.__table__  # type: ignore[misc]
    for m in (
        Customer, SourceRecord, CustomerTag, ContactPoint, Address, Order, OrderLine,
        Case, CaseComment, Interaction, Feedback, Consent,
    )
)


@dataclass
class SeedSummary:
    customers: int = 0
    orders: int = 0
    order_lines: int = 0
    interactions: int = 0
    cases: int = 0
    case_comments: int = 0
    feedback: int = 0
    consents: int = 0
    contact_points: int = 0
    addresses: int = 0
    source_records: int = 0
    connections: int = 0


@dataclass(frozen=True)
class Market:
    language: str  # BCP 47, as stored in Customer.locale
    country: str
    currency: str
    tax_rate: Decimal
    region: str  # the Faker provider that names the address region
    stores: tuple[str, ...]


MARKETS = {
    "en_GB": Market("en-GB", "GB", "GBP", Decimal("0.20"), "county",
                    ("London Covent Garden", "Manchester Arndale", "Edinburgh Princes Street")),
    "de_DE": Market("de-DE", "DE", "EUR", Decimal("0.19"), "state",
                    ("Berlin Mitte", "München Marienplatz", "Hamburg Jungfernstieg")),
    "fr_FR": Market("fr-FR", "FR", "EUR", Decimal("0.20"), "region",
                    ("Paris Le Marais", "Lyon Presqu'île")),
    "en_US": Market("en-US", "US", "USD", Decimal("0.0725"), "state_abbr",
                    ("New York SoHo", "San Francisco Union Square", "Chicago Magnificent Mile")),
    "es_ES": Market("es-ES", "ES", "EUR", Decimal("0.21"), "state",
                    ("Madrid Salamanca", "Barcelona Eixample")),
    "nl_NL": Market("nl-NL", "NL", "EUR", Decimal("0.21"), "province",
                    ("Amsterdam Jordaan", "Utrecht Centrum")),
}
LOCALES = tuple(MARKETS)
LOCALE_WEIGHTS = (30, 20, 15, 15, 10, 10)

STAGES = tuple(LifecycleStage)
STAGE_WEIGHTS = (15, 15, 30, 30, 10)  # LEAD, PROSPECT, CUSTOMER, REPEAT_CUSTOMER, CHURNED

CATALOGUE = (
    ("TEE-ORG-001", "Organic cotton T-shirt", "24.00"),
    ("TEE-LS-002", "Long-sleeve merino top", "59.00"),
    ("HOOD-003", "Recycled fleece hoodie", "69.00"),
    ("JKT-RAIN-004", "Packable rain jacket", "129.00"),
    ("JKT-DOWN-005", "Lightweight down jacket", "189.00"),
    ("PANT-CHI-006", "Stretch chino trousers", "79.00"),
    ("PANT-HIK-007", "Hiking trousers", "95.00"),
    ("SOCK-3PK-008", "Wool hiking socks (3 pack)", "18.00"),
    ("BEAN-009", "Ribbed beanie", "22.00"),
    ("CAP-010", "Canvas cap", "19.50"),
    ("BAG-DAY-011", "20 L daypack", "85.00"),
    ("BAG-TOTE-012", "Canvas tote bag", "15.00"),
    ("BTL-013", "Insulated bottle 750 ml", "29.90"),
    ("SHOE-TRL-014", "Trail running shoes", "139.00"),
    ("SHOE-SNK-015", "Everyday sneakers", "99.00"),
    ("GLV-016", "Touchscreen gloves", "27.00"),
    ("SCF-017", "Lambswool scarf", "45.00"),
    ("SHRT-018", "Flannel shirt", "55.00"),
    ("DRS-019", "Jersey dress", "65.00"),
    ("GIFT-020", "Gift card", "50.00"),
)

TAGS_ANYONE = ("early-adopter", "eco", "price-sensitive", "gift-buyer")
CAMPAIGNS = (
    "Autumn sale: up to 30% off",
    "New arrivals for the season",
    "Your monthly style edit",
    "Last chance: free shipping ends tonight",
    "We miss you - here's 10% off",
    "Members' early access",
)
CASE_SUBJECTS = {
    CaseCategory.COMPLAINT: ("Parcel for order {order} arrived damaged",
                             "Wrong size delivered for order {order}",
                             "Charged twice for order {order}", "Rude staff at the store"),
    CaseCategory.QUESTION: ("When will order {order} ship?", "Do you ship to the Canary Islands?",
                            "How do I care for merino wool?", "Is the rain jacket seam-sealed?"),
    CaseCategory.REQUEST: ("Please change the delivery address of order {order}",
                           "Copy of the invoice for order {order}",
                           "Please delete my account data", "Return label needed"),
    CaseCategory.INCIDENT: ("Cannot log in to my account", "Payment failed at checkout",
                            "Discount code not accepted", "Tracking link is broken"),
}
COMMENTS = {
    CommentVisibility.INTERNAL: ("Checked with the warehouse: parcel was scanned at the depot.",
                                 "Refund approved by the team lead.",
                                 "Long-standing customer, handle with priority.",
                                 "Asked logistics for a proof of delivery.",
                                 "Duplicate charge confirmed in the payment provider."),
    CommentVisibility.SHARED: ("Thanks for your patience, we have escalated this to our courier.",
                               "A replacement is on its way, you will get a tracking e-mail.",
                               "We have issued a refund; it can take 3-5 working days.",
                               "Could you send us a photo of the item, please?",
                               "Happy to help! Is there anything else we can do?"),
}
FEEDBACK_COMMENTS = (
    ("Very disappointed, nobody answered my e-mails.", "Item fell apart after two washes."),
    ("Okay, delivery took a while.", "Good quality but a bit pricey."),
    ("Love the quality, will buy again!", "Super fast delivery and friendly service.",
     "Best rain jacket I have owned."),
)
SLA_HOURS = {  # (first response, resolution)
    CasePriority.URGENT: (1, 8),
    CasePriority.HIGH: (4, 24),
    CasePriority.NORMAL: (24, 72),
    CasePriority.LOW: (48, 168),
}


def has_data(engine: Engine) -> bool:
    """Whether any customer exists: the CLI and start-up only seed an empty hub."""
    with engine.connect() as conn:
        return _has_customers(conn)


def _has_customers(conn: DBConnection) -> bool:
    return conn.execute(select(customers_t.c.id).limit(1)).first() is not None


def seed(
    engine: Engine,
    customers: int = 1000,
    *,
    random_seed: int = 20261123,
    progress: Callable[[int], None] | None = None,
) -> SeedSummary:
    """Write ``customers`` demo customers and everything around them.

    Each batch of BATCH_SIZE customers is one transaction; ``progress(n)`` is
    called after each with the number of customers just written.
    """
    if customers < 0:
        raise ValueError("customers must not be negative")
    rng = random.Random(random_seed)
    fake = Faker(list(LOCALES))
    fake.seed_instance(random_seed)
    summary = SeedSummary()
    with engine.begin() as conn:
        if _has_customers(conn):
            raise ValueError("database already has customers; seed an empty database")
        connections, summary.connections = _connections(conn, rng)
        # Cases cascade with their customers, but stay clear of any number ever issued.
        next_case = max(1000, conn.scalar(select(func.max(cases_t.c.number))) or 0) + 1
    seeder = _Seeder(rng, fake, connections, next_case)
    for start in range(0, customers, BATCH_SIZE):
        count = min(BATCH_SIZE, customers - start)
        rows = seeder.batch(count)
        with engine.begin() as conn:
            for table in TABLES:
                if rows[table]:
                    conn.execute(table.insert(), rows[table])
        for table in TABLES:
            if table.name != "customer_tags":
                setattr(summary, table.name, getattr(summary, table.name) + len(rows[table]))
        if progress:
            progress(count)
    return summary


def _connections(conn: DBConnection, rng: random.Random) -> tuple[dict[str, uuid.UUID], int]:
    """The three demo connections by connector, reusing ones a previous demo left behind."""
    wanted = (
        ("shopify", "demo-shop", {"shop_domain": "demo-shop.myshopify.com"}),
        ("mailchimp", "demo-newsletter", {"data_center": "us21", "list_id": "d3m0l1st"}),
        ("facebook", "demo-page", {"page_id": "100200300400500"}),
    )
    existing = dict(conn.execute(select(connections_t.c.name, connections_t.c.id)).all())
    reused = [existing[name] for _, name, _ in wanted if name in existing]
    leftovers = select(source_records_t.c.id).where(source_records_t.c.connection_id.in_(reused))
    if reused and conn.execute(leftovers.limit(1)).first():
        # Same seed, same external ids: they would collide halfway through a seed.
        raise ValueError("demo connections already hold source records; seed an empty database")
    ids, new_rows = {}, []
    for connector, name, config in wanted:
        new_id = _uuid(rng)  # drawn either way, so the rest of the stream never shifts
        ids[connector] = existing.get(name, new_id)
        if name not in existing:
            new_rows.append({
                "id": new_id, "name": name, "connector": connector, "config": config,
                "credentials": None, "schedule": None, "status": ConnectionStatus.ACTIVE,
                "status_message": None, "created_at": ANCHOR - timedelta(days=1200),
                "updated_at": ANCHOR - timedelta(hours=1),
            })
    if new_rows:
        conn.execute(connections_t.insert(), new_rows)
    return ids, len(new_rows)


def _uuid(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "", fold(text).encode("ascii", "ignore").decode())


def _money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _payload_hash(payload: dict[str, Any]) -> str:
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass
class _Profile:
    """What later parts of one customer's story need to know about the earlier parts."""

    id: uuid.UUID
    locale: str
    market: Market
    created: datetime
    display_name: str
    is_org: bool
    emails: list[str] = field(default_factory=list)
    phone: str | None = None
    shopify: uuid.UUID | None = None
    mailchimp: uuid.UUID | None = None
    facebook: uuid.UUID | None = None
    psid: str | None = None  # the Facebook page-scoped id
    orders: list[dict[str, Any]] = field(default_factory=list)
    cases: list[dict[str, Any]] = field(default_factory=list)
    tags: set[str] = field(default_factory=set)
    last_activity: datetime | None = None

    def touch(self, moment: datetime) -> None:
        self.last_activity = max(self.last_activity or moment, moment)


class _Seeder:
    def __init__(self, rng: random.Random, fake: Faker, connections: dict[str, uuid.UUID],
                 next_case: int) -> None:
        self.rng, self.fake, self.connections = rng, fake, connections
        self.next_order = 1001
        self.next_case = next_case
        self.next_shopify_id = 7_300_000_000_000
        self.next_psid = 2_540_000_000_000_000
        self.used_emails: set[str] = set()
        self.rows: dict[Table, list[dict[str, Any]]] = {}

    # -- helpers ----------------------------------------------------------------------------

    def id(self) -> uuid.UUID:
        return _uuid(self.rng)

    def between(self, start: datetime, end: datetime) -> datetime:
        seconds = max(0, int((end - start).total_seconds()))
        return start + timedelta(seconds=self.rng.randint(0, seconds))

    def later(self, start: datetime, min_hours: float, max_hours: float) -> datetime:
        moment = start + timedelta(seconds=int(self.rng.uniform(min_hours, max_hours) * 3600))
        # Past the anchor, spread over what is left rather than pile up on the anchor itself.
        return moment if moment <= ANCHOR else self.between(start, ANCHOR)

    def add(self, table: type, **row: Any) -> dict[str, Any]:
        self.rows[table.__table__].append(row)  # type: ignore[attr-defined]
        return row

    def batch(self, count: int) -> dict[Table, list[dict[str, Any]]]:
        self.rows = {table: [] for table in TABLES}
        for _ in range(count):
            self.customer()
        return self.rows

    # -- one customer -------------------------------------------------------------------------

    def customer(self) -> None:
        rng = self.rng
        locale = rng.choices(LOCALES, LOCALE_WEIGHTS)[0]
        market, fake = MARKETS[locale], self.fake[locale]
        stage = rng.choices(STAGES, STAGE_WEIGHTS)[0]
        # Churned customers need a past long enough to have stopped buying in.
        oldest = ANCHOR - timedelta(days=1100)
        newest = ANCHOR - timedelta(days=400 if stage is LifecycleStage.CHURNED else 3)
        created = self.between(oldest, newest)

        is_org = rng.random() < 0.08
        if is_org:
            given = family = None
            org = fake.company()
            display, sort_name = org, fold(org)
        else:
            given, family, org = fake.first_name(), fake.last_name(), None
            display, sort_name = f"{given} {family}", fold(f"{family} {given}")
        p = _Profile(self.id(), locale, market, created, display, is_org)
        p.touch(created)

        order_count = {LifecycleStage.CUSTOMER: 1, LifecycleStage.CHURNED: rng.randint(1, 3),
                       LifecycleStage.REPEAT_CUSTOMER: rng.randint(2, 8)}.get(stage, 0)
        marketing = rng.random() < 0.85
        marketing_source = rng.choice(("mailchimp", "checkout")) if marketing else None
        # Sign-up at checkout implies a shop account; any marketing consent syncs to the audience.
        if order_count or marketing_source == "checkout" or rng.random() < 0.3:
            p.shopify = self.id()
        if marketing:
            p.mailchimp = self.id()
        if rng.random() < 0.3 or not (p.shopify or p.mailchimp):
            p.facebook, p.psid = self.id(), str(self.next_psid)
            self.next_psid += rng.randint(1, 10**6)

        self.contact_points(p, given, family, org)
        self.addresses(p, fake)
        self.orders(p, order_count, stage)
        self.cases(p)
        granted, withdrawn = self.consents(p, marketing_source)
        self.interactions(p, granted, withdrawn)
        self.feedback(p)
        self.source_records(p, given, family, granted, withdrawn)

        spent = sum((o["total"] for o in p.orders if o["status"] is not OrderStatus.CANCELLED),
                    Decimal(0))
        tier = ("bronze" if spent < 200 else "silver" if spent < 600
                else "gold" if spent < 1500 else "platinum")
        if tier == "platinum":
            p.tags.add("vip")
        if is_org:
            p.tags.add(rng.choice(("b2b", "wholesale")))
        tags = set(rng.sample(TAGS_ANYONE, rng.randint(0, 2)))
        # Sorted: set order varies between processes, and the draws must not.
        tags |= {t for t in sorted(p.tags) if rng.random() < 0.8}
        for tag in sorted(tags)[:3]:
            self.add(CustomerTag, customer_id=p.id, tag=tag,
                     created_at=self.between(created, p.last_activity or created))
        attributes: dict[str, Any] = {"loyalty_tier": tier,
                                      "preferred_store": rng.choice(market.stores)}
        if is_org:
            attributes["vat_number"] = f"{market.country}{rng.randint(10**8, 10**9 - 1)}"
        birth_date = None
        if not is_org and rng.random() < 0.85:
            birth_date = date(2008, 1, 1) - timedelta(days=rng.randint(0, 60 * 365))

        self.add(
            Customer, id=p.id, kind=CustomerKind.ORGANIZATION if is_org else CustomerKind.PERSON,
            given_name=given, family_name=family, organization_name=org, display_name=display,
            sort_name=sort_name,
            search_text=fold(" ".join(filter(None, [given, family, org, *p.emails, p.phone]))),
            birth_date=birth_date, locale=market.language, lifecycle_stage=stage,
            attributes=attributes, status=CustomerStatus.ACTIVE, merged_into_id=None,
            created_at=created, updated_at=p.last_activity, version=1,
        )

    def contact_points(self, p: _Profile, given: str | None, family: str | None,
                       org: str | None) -> None:
        rng = self.rng
        if org:
            domain = f"{_slug(org)[:24] or 'company'}.example"
            locals_ = ["info", "accounts"][: rng.randint(1, 2)]
            addresses = [f"{name}@{domain}" for name in locals_]
        else:
            first, last = _slug(given or "") or "customer", _slug(family or "") or "demo"
            patterns = (f"{first}.{last}", f"{first[0]}{last}", f"{last}.{first}",
                        f"{first}{rng.randint(1, 99)}")
            domains = ("example.com", "example.net", "example.org", "mail.example")
            addresses = [f"{rng.choice(patterns)}@{rng.choice(domains)}"]
            if rng.random() < 0.3:
                addresses.append(f"{first}.{last}@work.example")
        for position, raw in enumerate(addresses):
            value = normalise_email(raw)
            while value in self.used_emails:  # two Anna Müllers should not share an inbox
                local, domain = value.split("@")
                value = f"{local}{rng.randint(1, 999)}@{domain}"
            self.used_emails.add(value)
            p.emails.append(value)
            raw_value = value if rng.random() < 0.8 else value.capitalize()
            self.contact_point(p, ContactPointKind.EMAIL, raw_value, value,
                               "work" if org or "work." in value else "personal", position == 0,
                               p.shopify or p.mailchimp)
        if rng.random() < 0.8:
            p.phone, raw = _phone(rng, p.market.country)
            self.contact_point(p, ContactPointKind.PHONE, raw, p.phone,
                               "work" if org else "mobile", True, p.shopify)
        if p.facebook and p.psid:
            self.contact_point(p, ContactPointKind.SOCIAL, p.psid, f"facebook:{p.psid}",
                               "facebook", True, p.facebook)
        if org and rng.random() < 0.7:
            self.contact_point(p, ContactPointKind.WEB, f"www.{addresses[0].split('@')[1]}",
                               f"https://www.{addresses[0].split('@')[1]}", "website", True, None)

    def contact_point(self, p: _Profile, kind: ContactPointKind, raw: str, value: str,
                      label: str, primary: bool, source: uuid.UUID | None) -> None:
        self.add(ContactPoint, id=self.id(), customer_id=p.id, kind=kind, raw_value=raw,
                 normalised_value=value, label=label, is_primary=primary,
                 source_record_id=source, created_at=p.created)

    def addresses(self, p: _Profile, fake: Faker) -> None:
        for position in range(self.rng.choice((1, 1, 1, 2))):
            *extra, line1 = fake.street_address().strip().split("\n")
            self.add(
                Address, id=self.id(), customer_id=p.id,
                label=(("billing", "shipping") if p.is_org else ("home", "work"))[position],
                line1=line1, line2=" ".join(extra) or None, city=fake.city(),
                region=getattr(fake, p.market.region)(), postal_code=fake.postcode(),
                country=p.market.country, is_primary=position == 0, source_record_id=p.shopify,
                created_at=p.created,
            )

    def orders(self, p: _Profile, count: int, stage: LifecycleStage) -> None:
        rng, market = self.rng, p.market
        last = ANCHOR - timedelta(days=200) if stage is LifecycleStage.CHURNED else ANCHOR
        for placed in sorted(self.between(p.created, last) for _ in range(count)):
            order_id = self.id()
            subtotal = Decimal(0)
            products = rng.sample(CATALOGUE, rng.randint(1, 4))
            for position, (sku, title, price) in enumerate(products):
                quantity = rng.choices((1, 2, 3), (70, 20, 10))[0]
                line_total = Decimal(price) * quantity
                subtotal += line_total
                self.add(OrderLine, id=self.id(), order_id=order_id, position=position, sku=sku,
                         title=title, quantity=quantity, unit_price=Decimal(price),
                         total=line_total)
            discount = Decimal(0)
            if rng.random() < 0.2:  # a promo code
                discount = _money(subtotal * rng.choice((Decimal("0.10"), Decimal("0.15"))))
            tax = _money((subtotal - discount) * market.tax_rate)
            shipping = Decimal(0) if subtotal - discount >= 60 else Decimal("4.95")

            cancelled_at = None
            if rng.random() < 0.06:
                status, fulfillment = OrderStatus.CANCELLED, FulfillmentStatus.UNFULFILLED
                financial = rng.choice((FinancialStatus.VOIDED, FinancialStatus.REFUNDED))
                cancelled_at = updated = self.later(placed, 0.5, 48)
            elif ANCHOR - placed < timedelta(days=10):  # still on its way
                status = OrderStatus.OPEN
                financial = rng.choices((FinancialStatus.PAID, FinancialStatus.AUTHORIZED),
                                        (70, 30))[0]
                fulfillment = rng.choice((FulfillmentStatus.UNFULFILLED, FulfillmentStatus.PARTIAL))
                updated = self.later(placed, 0, 6)
            else:
                status, fulfillment = OrderStatus.CLOSED, FulfillmentStatus.FULFILLED
                financial = rng.choices((FinancialStatus.PAID, FinancialStatus.PARTIALLY_REFUNDED,
                                         FinancialStatus.REFUNDED), (90, 7, 3))[0]
                updated = self.later(placed, 24, 24 * 6)
            p.touch(updated)
            p.orders.append(self.add(
                Order, id=order_id, customer_id=p.id, source_record_id=None,
                number=f"#{self.next_order}", status=status, financial_status=financial,
                fulfillment_status=fulfillment, currency=market.currency, subtotal=subtotal,
                discount_total=discount, tax_total=tax, shipping_total=shipping,
                total=subtotal - discount + tax + shipping, placed_at=placed, updated_at=updated,
                cancelled_at=cancelled_at,
            ))
            self.next_order += 1
        if len(p.orders) >= 2:
            p.tags.add("returning")

    def cases(self, p: _Profile) -> None:
        rng = self.rng
        if rng.random() >= 0.2:
            return
        for _ in range(rng.choices((1, 2), (80, 20))[0]):
            category = rng.choices(tuple(CaseCategory), (35, 30, 20, 15))[0]
            priority = rng.choices(tuple(CasePriority), (20, 50, 22, 8))[0]
            status = rng.choices(tuple(CaseStatus), (10, 20, 15, 20, 35))[0]
            done = status in (CaseStatus.RESOLVED, CaseStatus.CLOSED)
            # Open cases are recent; finished ones had time to run their course.
            if done and p.created < ANCHOR - timedelta(days=20):
                created = self.between(p.created, ANCHOR - timedelta(days=20))
            else:
                created = self.between(max(p.created, ANCHOR - timedelta(days=21)),
                                       ANCHOR - timedelta(hours=1))
            respond_sla, resolve_sla = SLA_HOURS[priority]
            responded = resolved = closed = None
            if status is not CaseStatus.NEW:
                responded = self.later(created, 0.1 * respond_sla, 1.3 * respond_sla)
            if done:
                resolved = self.later(responded, 0.2 * resolve_sla, 1.4 * resolve_sla)
            if status is CaseStatus.CLOSED:
                closed = self.later(resolved, 24, 24 * 7)
            order = rng.choice(p.orders) if p.orders else None
            subjects = [s for s in CASE_SUBJECTS[category] if order or "{order}" not in s]
            subject = rng.choice(subjects).format(order=order["number"] if order else "")
            channel = rng.choice((Channel.EMAIL, Channel.PHONE, Channel.CHAT, Channel.SOCIAL,
                                  Channel.WEB))
            case_id = self.id()
            end = closed or resolved or ANCHOR
            comment_times = sorted(self.between(created, end) for _ in range(rng.randint(0, 4)))
            for moment in comment_times:
                visibility = rng.choices(tuple(CommentVisibility), (60, 40))[0]
                self.add(CaseComment, id=self.id(), case_id=case_id,
                         body=rng.choice(COMMENTS[visibility]), visibility=visibility,
                         author_user_id=None, author_client_id=None, author_partner_id=None,
                         created_at=moment)
            updated = max([created, *filter(None, (responded, resolved, closed)), *comment_times])
            p.touch(updated)
            p.cases.append(self.add(
                Case, id=case_id, number=self.next_case, customer_id=p.id, subject=subject,
                description=f"{subject}. Raised by the customer via {channel.lower()}.",
                status=status, priority=priority, category=category, channel=channel,
                first_response_due_at=created + timedelta(hours=respond_sla),
                resolution_due_at=created + timedelta(hours=resolve_sla),
                first_responded_at=responded, resolved_at=resolved, closed_at=closed,
                shared_with_partner_id=None, created_at=created, updated_at=updated,
            ))
            self.next_case += 1
            if category is CaseCategory.COMPLAINT:
                p.tags.add("complainer")

    def consents(self, p: _Profile, marketing_source: str | None
                 ) -> tuple[datetime | None, datetime | None]:
        """Record consent decisions; returns when marketing e-mail was granted and withdrawn."""
        rng = self.rng
        granted = withdrawn = None
        if marketing_source:
            mailchimp = marketing_source == "mailchimp"
            evidence: dict[str, Any]
            if not mailchimp and p.orders:  # the box ticked at the first checkout
                granted = p.orders[0]["placed_at"]
                evidence = {"checkbox": "Email me with news and offers",
                            "order_number": p.orders[0]["number"]}
            else:
                granted = self.later(p.created, 0, 24 * 30)
                evidence = {"form": "newsletter-signup" if mailchimp else "account-signup",
                            "double_opt_in": mailchimp}
            evidence["ip"] = _documentation_ip(rng)
            confirmed = not mailchimp or rng.random() > 0.04  # some never click the opt-in link
            self.consent(p, ConsentPurpose.MARKETING_EMAIL,
                         ConsentStatus.GRANTED if confirmed else ConsentStatus.PENDING,
                         marketing_source, granted, evidence)
            if not confirmed:
                granted = None
            elif rng.random() < 0.18 and granted < ANCHOR - timedelta(days=2):
                withdrawn = self.between(granted + timedelta(days=1), ANCHOR)
                self.consent(p, ConsentPurpose.MARKETING_EMAIL, ConsentStatus.WITHDRAWN,
                             "mailchimp", withdrawn,
                             {"method": "unsubscribe-link", "campaign": rng.choice(CAMPAIGNS)})
            else:
                p.tags.add("newsletter")
        if rng.random() < 0.7:
            self.decision_history(p, ConsentPurpose.PARTNER_SHARING, 0.85,
                                  rng.choice(("preference-centre", "checkout")),
                                  {"wording_version": "2025-03"})
        if rng.random() < 0.3:
            self.decision_history(p, ConsentPurpose.PROFILING, 0.75, "cookie-banner",
                                  {"banner_version": "v4", "categories": ["analytics", "ads"]})
        return granted, withdrawn

    def decision_history(self, p: _Profile, purpose: ConsentPurpose, granted_share: float,
                         source: str, evidence: dict[str, Any]) -> None:
        rng = self.rng
        moment = self.between(p.created, ANCHOR)
        evidence = {**evidence, "ip": _documentation_ip(rng)}
        if rng.random() < granted_share:
            self.consent(p, purpose, ConsentStatus.GRANTED, source, moment, evidence)
        elif rng.random() < 0.5:  # changed their mind
            self.consent(p, purpose, ConsentStatus.GRANTED, source, moment, evidence)
            self.consent(p, purpose, ConsentStatus.WITHDRAWN, "preference-centre",
                         self.between(moment, ANCHOR), evidence)
        else:
            self.consent(p, purpose, ConsentStatus.WITHDRAWN, source, moment, evidence)

    def consent(self, p: _Profile, purpose: ConsentPurpose, status: ConsentStatus, source: str,
                moment: datetime, evidence: dict[str, Any]) -> None:
        p.touch(moment)
        self.add(Consent, id=self.id(), customer_id=p.id, purpose=purpose, status=status,
                 source=source, recorded_at=moment, evidence=evidence)

    def interactions(self, p: _Profile, granted: datetime | None,
                     withdrawn: datetime | None) -> None:
        rng = self.rng
        budget = rng.randint(0, 12)
        if withdrawn:
            budget = max(0, budget - 1)
            self.interaction(p, Channel.EMAIL, InteractionKind.UNSUBSCRIBE, Direction.INBOUND,
                             withdrawn, "Unsubscribed from the newsletter", None, None, p.mailchimp)
        # Only reachable channels: no campaigns without consent, no DMs without a page follower.
        channels = {Channel.WEB: 10, Channel.STORE: 10, Channel.CHAT: 8}
        if granted:
            channels[Channel.EMAIL] = 45
        if p.facebook:
            channels[Channel.SOCIAL] = 20
        if p.phone:
            channels[Channel.PHONE] = 10
        while budget > 0:
            channel = rng.choices(tuple(channels), tuple(channels.values()))[0]
            if channel is Channel.EMAIL and granted:
                budget -= self.campaign(p, budget, self.between(granted, withdrawn or ANCHOR))
            else:
                self.conversation(p, channel, self.between(p.created, ANCHOR))
                budget -= 1

    def campaign(self, p: _Profile, budget: int, sent: datetime) -> int:
        """One newsletter: sent, then a bounce or perhaps an open and a click; returns the count."""
        rng = self.rng
        name = rng.choice(CAMPAIGNS)
        self.interaction(p, Channel.EMAIL, InteractionKind.EMAIL_SENT, Direction.OUTBOUND, sent,
                         name, None, None, p.mailchimp)
        if budget > 1 and rng.random() < 0.04:
            self.interaction(p, Channel.EMAIL, InteractionKind.EMAIL_BOUNCE, Direction.INBOUND,
                             self.later(sent, 0, 0.1), name, "550 mailbox unavailable", None,
                             p.mailchimp)
            return 2
        if budget == 1 or rng.random() > 0.55:
            return 1
        opened = self.later(sent, 0.05, 48)
        self.interaction(p, Channel.EMAIL, InteractionKind.EMAIL_OPEN, Direction.INBOUND, opened,
                         name, None, None, p.mailchimp)
        if budget == 2 or rng.random() > 0.35:
            return 2
        link = f"https://demo-shop.example/collections/{rng.choice(('new', 'sale', 'outdoor'))}"
        self.interaction(p, Channel.EMAIL, InteractionKind.EMAIL_CLICK, Direction.INBOUND,
                         self.later(opened, 0, 0.2), name, None, f"{link}?utm_source=mailchimp",
                         p.mailchimp)
        return 3

    def conversation(self, p: _Profile, channel: Channel, moment: datetime) -> None:
        rng, product = self.rng, self.rng.choice(CATALOGUE)[1].lower()
        order = rng.choice(p.orders)["number"] if p.orders else None
        about = f"order {order}" if order else "my order"
        if channel is Channel.SOCIAL:
            kind = rng.choices((InteractionKind.MESSAGE, InteractionKind.COMMENT,
                                InteractionKind.MENTION, InteractionKind.REVIEW),
                               (50, 25, 15, 10))[0]
            if kind is InteractionKind.MESSAGE and rng.random() < 0.4:
                self.interaction(p, channel, kind, Direction.OUTBOUND, moment, None,
                                 "Thanks for reaching out! We'll look into it right away.",
                                 None, p.facebook)
                return
            body = {
                InteractionKind.MESSAGE: f"Hi, is the {product} available in blue?",
                InteractionKind.COMMENT: "When will this be back in stock?",
                InteractionKind.MENTION: f"Just got my new {product} from @demo-page!",
                InteractionKind.REVIEW: "Great service and fast delivery.",
            }[kind]
            post = f"https://www.facebook.com/demo-page/posts/{rng.randint(10**14, 10**15)}"
            self.interaction(p, channel, kind, Direction.INBOUND, moment, None, body,
                             None if kind is InteractionKind.MESSAGE else post, p.facebook)
        elif channel is Channel.PHONE:
            inbound = rng.random() < 0.7
            outcome = rng.choice(("Answered on the call.", "Sent details by e-mail.",
                                  "Customer will call back."))
            self.interaction(p, channel, InteractionKind.CALL,
                             Direction.INBOUND if inbound else Direction.OUTBOUND, moment,
                             f"Call about {about}" if inbound else "Follow-up call",
                             f"{rng.randint(2, 25)} min call. {outcome}", None, None)
        elif channel is Channel.STORE:
            store = rng.choice(p.market.stores)
            if rng.random() < 0.6:
                self.interaction(p, channel, InteractionKind.MEETING, Direction.INBOUND, moment,
                                 f"Styling appointment at {store}", f"Tried on the {product}.",
                                 None, None)
            else:
                self.interaction(p, channel, InteractionKind.NOTE, Direction.INTERNAL, moment,
                                 f"Store note: {store}", f"Asked us to reserve the {product}.",
                                 None, None)
        else:  # a web contact form or a live chat
            topic = rng.choice(("delivery times", "returns", about, "sizing", "gift cards"))
            prefix = "Contact form" if channel is Channel.WEB else "Live chat"
            self.interaction(p, channel, InteractionKind.MESSAGE, Direction.INBOUND, moment,
                             f"{prefix}: {topic}", f"Question about {topic}.", None, None)

    def interaction(self, p: _Profile, channel: Channel, kind: InteractionKind,
                    direction: Direction, moment: datetime, subject: str | None,
                    body: str | None, link: str | None, source: uuid.UUID | None) -> None:
        p.touch(moment)
        self.add(Interaction, id=self.id(), customer_id=p.id, channel=channel, kind=kind,
                 direction=direction, occurred_at=moment, subject=subject, body=body, link=link,
                 source_record_id=source)

    def feedback(self, p: _Profile) -> None:
        rng = self.rng
        if rng.random() >= 0.4:
            return
        finished = [c for c in p.cases if c["resolved_at"]]
        delivered = [o for o in p.orders if o["status"] is not OrderStatus.CANCELLED]
        for _ in range(rng.choices((1, 2), (80, 20))[0]):
            case = order = source = None
            if finished and rng.random() < 0.5:
                kind, case = FeedbackKind.CSAT, rng.choice(finished)
                channel, moment = case["channel"], self.later(case["resolved_at"], 1, 48)
            else:
                kind = rng.choices(tuple(FeedbackKind), (40, 30, 30))[0]
                channel = Channel.SOCIAL if kind is FeedbackKind.REVIEW else Channel.EMAIL
                if kind is not FeedbackKind.NPS and delivered:
                    order = rng.choice(delivered)
                    moment = self.later(order["placed_at"], 72, 24 * 20)
                else:
                    moment = self.between(p.created, ANCHOR)
                if kind is FeedbackKind.REVIEW:
                    source = p.facebook
            if kind is FeedbackKind.NPS:
                scale, score = 10, rng.choices(range(11), (2, 1, 1, 2, 2, 4, 6, 12, 18, 22, 30))[0]
            else:
                scale, score = 5, rng.choices(range(1, 6), (5, 6, 12, 30, 47))[0]
            # Detractor, passive, promoter: NPS 0-6, 7-8, 9-10; stars 1-3, 4, 5.
            sentiment = 0 if score / scale < 0.7 else 1 if score / scale < 0.9 else 2
            comment = rng.choice(FEEDBACK_COMMENTS[sentiment]) if rng.random() < 0.6 else None
            p.touch(moment)
            self.add(Feedback, id=self.id(), customer_id=p.id, kind=kind, score=score,
                     scale_max=scale, comment=comment, channel=channel,
                     case_id=case["id"] if case else None,
                     order_id=order["id"] if order else None, partner_id=None,
                     source_record_id=source, occurred_at=moment)

    def source_records(self, p: _Profile, given: str | None, family: str | None,
                       granted: datetime | None, withdrawn: datetime | None) -> None:
        rng = self.rng
        last_seen = ANCHOR - timedelta(minutes=rng.randint(5, 360))  # the last sync run
        if p.shopify:
            self.next_shopify_id += rng.randint(1, 5000)
            spent = sum((o["total"] for o in p.orders if o["status"] is not OrderStatus.CANCELLED),
                        Decimal(0))
            payload = {"id": self.next_shopify_id, "email": p.emails[0], "first_name": given,
                       "last_name": family, "phone": p.phone, "orders_count": len(p.orders),
                       "total_spent": str(spent), "currency": p.market.currency,
                       "state": "enabled", "verified_email": True}
            self.source_record(p, "shopify", "customer", str(self.next_shopify_id), payload,
                               p.created, last_seen)
        if p.mailchimp:
            status = "unsubscribed" if withdrawn else "subscribed" if granted else "pending"
            # Mailchimp names a member by the MD5 of the lower-cased address.
            subscriber_hash = hashlib.md5(p.emails[0].encode(), usedforsecurity=False).hexdigest()
            payload = {"id": subscriber_hash, "email_address": p.emails[0], "status": status,
                       "merge_fields": {"FNAME": given or p.display_name, "LNAME": family or ""},
                       "language": p.locale[:2]}
            self.source_record(p, "mailchimp", "member", subscriber_hash, payload,
                               granted or p.created, last_seen)
        if p.facebook and p.psid:
            payload = {"id": p.psid, "name": p.display_name, "locale": p.locale}
            self.source_record(p, "facebook", "user", p.psid, payload,
                               self.later(p.created, 0, 24 * 60), last_seen)

    def source_record(self, p: _Profile, connector: str, object_type: str, external_id: str,
                      payload: dict[str, Any], first_seen: datetime, last_seen: datetime) -> None:
        first_seen = min(first_seen, last_seen)
        self.add(SourceRecord, id=getattr(p, connector), connection_id=self.connections[connector],
                 object_type=object_type, external_id=external_id, customer_id=p.id,
                 payload=payload, payload_hash=_payload_hash(payload),
                 source_updated_at=self.between(first_seen, last_seen), first_seen_at=first_seen,
                 last_seen_at=last_seen, deleted_at=None)


def _documentation_ip(rng: random.Random) -> str:
    # RFC 5737 ranges: realistic-looking evidence that points at nobody.
    return f"{rng.choice(('192.0.2', '198.51.100', '203.0.113'))}.{rng.randint(1, 254)}"


def _phone(rng: random.Random, country: str) -> tuple[str, str]:
    """A mobile number as (E.164, as the customer typed it); built normalised, so no parsing."""
    digits = "".join(rng.choices("0123456789", k=8))
    if country == "GB":
        sub = f"7{rng.randint(400, 999)}{digits[:6]}"
        return f"+44{sub}", f"0{sub[:4]} {sub[4:]}"
    if country == "DE":
        sub = f"1{rng.choice(('51', '52', '60', '70', '76'))}{digits}"
        return f"+49{sub}", f"0{sub[:3]} {sub[3:]}"
    if country == "FR":
        sub = f"{rng.choice('67')}{digits}"
        return f"+33{sub}", "0" + " ".join([sub[0], *(sub[i:i + 2] for i in range(1, 9, 2))])
    if country == "US":
        sub = f"{rng.randint(201, 989)}{rng.randint(200, 999)}{digits[:4]}"
        return f"+1{sub}", f"({sub[:3]}) {sub[3:6]}-{sub[6:]}"
    if country == "ES":
        sub = f"6{digits}"
        return f"+34{sub}", f"{sub[:3]} {sub[3:6]} {sub[6:]}"
    sub = f"6{digits}"  # NL
    return f"+31{sub}", f"06 {sub[1:]}"
