"""customerTag and customerUntag: add or remove tags, one statement each, version bumped."""

from __future__ import annotations

from typing import Any, ClassVar

import graphene
from sqlalchemy import delete, update
from sqlalchemy.dialects import postgresql, sqlite

from hub.access.rows import customer_is_writable
from hub.access.scopes import Scope
from hub.api.core.audited import Audited
from hub.api.core.mutations import Mutation, UserError, id_argument
from hub.api.customers.dataloaders import CustomerByIdLoader
from hub.api.customers.errors import CustomerError, CustomerErrorCode
from hub.events.outbox import emit
from hub.models import Customer, utcnow
from hub.models import CustomerTag as CustomerTagRow
from hub.sync.writeback import enqueue_write_backs, queue_change

MAX_TAGS = 50
MAX_TAG_LENGTH = 100


def clean_tags(tags: list[str]) -> list[str]:
    cleaned = sorted({t.strip() for t in tags})
    if not cleaned or "" in cleaned:
        raise UserError(CustomerErrorCode.INVALID, "Tags must be non-empty text.", "tags")
    if len(cleaned) > MAX_TAGS:
        raise UserError(CustomerErrorCode.TOO_MANY, f"At most {MAX_TAGS} tags at once.", "tags")
    long = [t for t in cleaned if len(t) > MAX_TAG_LENGTH]
    if long:
        raise UserError(
            CustomerErrorCode.INVALID,
            f"Tags are at most {MAX_TAG_LENGTH} characters; {long[0][:20]!r}... is longer.",
            "tags",
        )
    return cleaned


async def change_tags(info: graphene.ResolveInfo, customer_id: str, tags: list[str], add: bool) -> Any:
    id_ = id_argument(
        customer_id, "Customer", "customerId", CustomerErrorCode.INVALID,
        f"{customer_id!r} is not a customer id.",
    )
    wanted = clean_tags(tags)
    ctx = info.context

    async def write(conn: Any) -> None:
        if not await customer_is_writable(conn, ctx.principal, id_):
            # Hidden and missing answer alike: a partner learns nothing from the difference.
            # Raised inside the transaction, so that it and its audit event roll back.
            raise UserError(CustomerErrorCode.NOT_FOUND, "No such customer.", "customerId")
        if add:
            now = utcnow()
            rows = [{"customer_id": id_, "tag": t, "created_at": now} for t in wanted]
            insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
            stmt = insert(CustomerTagRow).on_conflict_do_nothing().returning(CustomerTagRow.tag)
            changed = (await conn.execute(stmt, rows)).all()
        else:
            stmt = delete(CustomerTagRow).where(
                CustomerTagRow.customer_id == id_, CustomerTagRow.tag.in_(wanted)
            )
            changed = (await conn.execute(stmt.returning(CustomerTagRow.tag))).all()
        if changed:
            await conn.execute(
                update(Customer)
                .where(Customer.id == id_)
                .values(version=Customer.version + 1, updated_at=utcnow())
            )
            key = "tagsAdded" if add else "tagsRemoved"
            await emit(conn, "customer.updated", {"changed": ["tags"],
                                                  key: sorted(t for (t,) in changed)},
                       subject=("Customer", id_))
            # Only tags that changed travel to the platforms: a repeat sends nothing.
            change = "customer.tag" if add else "customer.untag"
            queued.extend(await queue_change(
                conn, ctx.principal, id_, change, {"tags": sorted(t for (t,) in changed)}
            ))

    queued: list[Any] = []
    await ctx.db.transaction(write)
    await enqueue_write_backs(queued)
    ctx.forget_loaded()
    return await ctx.loader(CustomerByIdLoader).load(id_)


class CustomerTag(Mutation):
    """Add tags to a customer; tags it already has are left as they are."""

    adds: ClassVar[bool] = True

    class Meta:
        scopes = (Scope.CUSTOMERS_WRITE,)
        error_type = CustomerError
        audit = Audited(details=("tags",))

    class Arguments:
        customer_id = graphene.ID(required=True)
        tags = graphene.List(graphene.NonNull(graphene.String), required=True)

    customer = graphene.Field("hub.api.customers.types.Customer")

    @classmethod
    async def perform(cls, info: graphene.ResolveInfo, customer_id: str, tags: list[str]) -> Any:
        return cls(customer=await change_tags(info, customer_id, tags, add=cls.adds), errors=[])


class CustomerUntag(CustomerTag):
    """Remove tags from a customer; tags it does not have are ignored."""

    adds: ClassVar[bool] = False

    class Meta:
        scopes = (Scope.CUSTOMERS_WRITE,)
        error_type = CustomerError
        audit = Audited(details=("tags",))
