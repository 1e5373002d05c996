"""consentRecord: record a consent decision; e-mail marketing ones also go to the platforms.

A consent is a history: each decision is a new row, the newest per purpose is in
force. When a MARKETING_EMAIL decision changes what is in force, the platforms
that know the customer are told in the same transaction (``queue_change``:
Shopify's e-mail marketing consent, Mailchimp's subscription); a decision equal
to the one in force, or older than it, changes nothing there.
"""

from __future__ import annotations

import enum
import json
from datetime import timedelta
from typing import Any

import graphene
from graphene.types.generic import GenericScalar
from sqlalchemy import insert, select, update

from hub.access.rows import customer_is_writable
from hub.access.scopes import Scope
from hub.api.core.audited import Audited
from hub.api.core.enums import ConsentPurposeEnum, ConsentStatusEnum, value_of
from hub.api.core.mutations import Mutation, UserError, error_type, id_argument
from hub.api.core.scalars import DateTime
from hub.api.customers.dataloaders import CustomerByIdLoader
from hub.models import Consent, Customer, new_id, utcnow
from hub.models.enums import ConsentPurpose
from hub.sync.writeback import enqueue_write_backs, queue_change


class ConsentErrorCode(enum.Enum):
    NOT_FOUND = "NOT_FOUND"
    INVALID = "INVALID"


ConsentError = error_type("ConsentError", ConsentErrorCode, "Why a consent was not recorded.")

MAX_SOURCE = 200
MAX_EVIDENCE = 10_000  # characters of JSON
FUTURE_TOLERANCE = timedelta(minutes=5)
consents = Consent.__table__


class ConsentRecordInput(graphene.InputObjectType):
    customer_id = graphene.ID(required=True)
    purpose = graphene.Field(ConsentPurposeEnum, required=True)
    status = graphene.Field(ConsentStatusEnum, required=True)
    source = graphene.String(
        default_value="crmhub", description="Where it was given: a form, a call, a store."
    )
    evidence = GenericScalar(description="What proves it (a JSON object): form id, IP, ...")
    recorded_at = DateTime(description="When the customer decided; now if not given.")


def _checked(input: dict[str, Any]) -> tuple[str, dict[str, Any], Any]:
    source = (input.get("source") or "").strip()
    if not 0 < len(source) <= MAX_SOURCE:
        raise UserError(ConsentErrorCode.INVALID, f"source is 1-{MAX_SOURCE} characters.",
                        "source")
    evidence = input.get("evidence") or {}
    if not isinstance(evidence, dict):
        raise UserError(ConsentErrorCode.INVALID, "evidence must be a JSON object.", "evidence")
    if len(json.dumps(evidence)) > MAX_EVIDENCE:
        raise UserError(ConsentErrorCode.INVALID,
                        f"evidence is over {MAX_EVIDENCE} characters of JSON.", "evidence")
    now = utcnow()
    recorded_at = input.get("recorded_at") or now
    if recorded_at > now + FUTURE_TOLERANCE:
        raise UserError(ConsentErrorCode.INVALID, "recordedAt is in the future.", "recordedAt")
    return source, evidence, recorded_at


class ConsentRecord(Mutation):
    """Record a customer's consent decision for one purpose; the newest decision is in force."""

    class Meta:
        scopes = (Scope.CUSTOMERS_WRITE,)
        error_type = ConsentError
        audit = Audited(
            record_type="customer",
            record="input.customer_id",
            details=("input.purpose", "input.status", "input.source"),
        )

    class Arguments:
        input = ConsentRecordInput(required=True)

    consent = graphene.Field("hub.api.consents.types.Consent")
    customer = graphene.Field("hub.api.customers.types.Customer")

    @classmethod
    async def perform(cls, info: graphene.ResolveInfo, input: dict[str, Any]) -> Any:
        customer_id = id_argument(
            input["customer_id"], "Customer", "customerId", ConsentErrorCode.INVALID,
            "Not a customer id.",
        )
        source, evidence, recorded_at = _checked(input)
        purpose, status = ConsentPurpose(value_of(input["purpose"])), value_of(input["status"])
        ctx = info.context
        row = {"id": new_id(), "customer_id": customer_id, "purpose": purpose, "status": status,
               "source": source, "recorded_at": recorded_at, "evidence": evidence}
        queued: list[Any] = []

        async def write(conn: Any) -> None:
            if not await customer_is_writable(conn, ctx.principal, customer_id):
                raise UserError(ConsentErrorCode.NOT_FOUND, "No such customer.", "customerId")
            in_force = (await conn.execute(
                select(consents.c.status, consents.c.recorded_at)
                .where(consents.c.customer_id == customer_id, consents.c.purpose == purpose)
                .order_by(consents.c.recorded_at.desc(), consents.c.id.desc()).limit(1)
            )).first()
            await conn.execute(insert(Consent), [row])
            await conn.execute(
                update(Customer).where(Customer.id == customer_id).values(updated_at=utcnow())
            )
            takes_force = in_force is None or recorded_at >= in_force.recorded_at
            changed = in_force is None or in_force.status != status
            if purpose == ConsentPurpose.MARKETING_EMAIL and takes_force and changed:
                queued.extend(await queue_change(
                    conn, ctx.principal, customer_id, "consent.marketing_email",
                    {"status": status, "recorded_at": recorded_at.isoformat()},
                ))

        await ctx.db.transaction(write)
        await enqueue_write_backs(queued)
        ctx.forget_loaded()
        consent = (await ctx.db.all(select(consents).where(consents.c.id == row["id"])))[0]
        customer = await ctx.loader(CustomerByIdLoader).load(customer_id)
        return cls(consent=consent, customer=customer, errors=[])
