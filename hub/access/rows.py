"""Row visibility, applied inside the SQL that loads rows (never by filtering afterwards).

Internal callers see every row. A partner sees a customer when

- the customer is covered by one of the partner's sharing grants in force
  (``Principal.grants``: not revoked, not expired when the request came in) that
  carries ``customers:read``, and
- the customer has not withdrawn PARTNER_SHARING consent: the newest
  PARTNER_SHARING consent row (by ``recorded_at``, then id) is not WITHDRAWN. A
  customer with no such row at all has not withdrawn, so is shared.

What the partner may do with that customer is the token's scopes intersected
with the union of the scopes of the grants covering THAT customer
(``grant_columns``, ``scopes_of``): ``customers:read_pii`` through one grant does
not open PII of customers that only another grant covers.

A child row (order, interaction, case, feedback) is visible when its customer
is, and a grant covering that customer carries the type's read scope; a case
only when it is shared with the partner; feedback only when the partner
collected it or it is about a case shared with them. Tables with no rule here
show a partner nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import (
    ColumnElement,
    FromClause,
    Select,
    Table,
    exists,
    false,
    func,
    or_,
    select,
    true,
)

from hub.access.principal import ActiveGrant, Principal
from hub.access.scopes import Scope
from hub.access.segments import compile_rule, rule_of, word
from hub.models import Case, Consent, Customer, SharingGrantCustomer
from hub.models.enums import ConsentPurpose, ConsentStatus, CustomerStatus

CUSTOMERS = Customer.__table__


def customer_rows(
    principal: Principal, customers: FromClause | None = None
) -> list[ColumnElement[bool]]:
    """Conditions on the customers table (or an alias of it) for what this caller may see."""
    if not principal.is_partner:
        return []
    customers = CUSTOMERS if customers is None else customers
    return [covered(principal, Scope.CUSTOMERS_READ, customers), sharing_allowed(customers)]


def covered(principal: Principal, scope: str, customers: FromClause) -> ColumnElement[bool]:
    """Whether one of the partner's grants carrying ``scope`` covers the customer."""
    grants = principal.granting(scope)
    if not grants:
        return false()
    listed = [g.id for g in grants if g.segment is None]
    parts = [_listed(listed, customers)] if listed else []
    parts += [compile_rule(rule_of(g.segment), customers) for g in grants if g.segment is not None]
    return parts[0] if len(parts) == 1 else or_(*parts)


def _listed(grant_ids: list[uuid.UUID], customers: FromClause) -> ColumnElement[bool]:
    links = SharingGrantCustomer.__table__
    return customers.c.id.in_(select(links.c.customer_id).where(links.c.grant_id.in_(grant_ids)))


def _covers(grant: ActiveGrant, customers: FromClause) -> ColumnElement[bool]:
    if grant.segment is None:
        return _listed([grant.id], customers)
    return compile_rule(rule_of(grant.segment), customers)


def sharing_allowed(customers: FromClause) -> ColumnElement[bool]:
    """The customer's newest PARTNER_SHARING consent is not a withdrawal (none at all is fine).

    The enum values are SQL literals (``segments.word``): this goes into every
    statement that loads a partner's rows.
    """
    consents = Consent.__table__
    newest = (
        select(consents.c.status)
        .where(
            consents.c.customer_id == customers.c.id,
            consents.c.purpose == word(ConsentPurpose.PARTNER_SHARING),
        )
        .order_by(consents.c.recorded_at.desc(), consents.c.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    return func.coalesce(newest, word(ConsentStatus.GRANTED)) != word(ConsentStatus.WITHDRAWN)


# -- children of customers ----------------------------------------------------------------------


def _customer_shared(
    principal: Principal, table: Table, scope: str, among: Any
) -> ColumnElement[bool]:
    """The row's customer is visible to the partner, with ``scope`` from a grant covering it.

    ``among``, when given, binds the ids the rows' customers are among (the parents of
    a page): each customer's sharing is then decided once, not once per row.
    """
    customers = CUSTOMERS.alias("shared_customer")
    conditions = [covered(principal, scope, customers), sharing_allowed(customers)]
    # Every grant carries customers:read, so unless the token took it from one of the
    # grants with ``scope``, coverage with ``scope`` implies coverage with customers:read.
    if any(Scope.CUSTOMERS_READ not in g.scopes for g in principal.granting(scope)):
        conditions.append(covered(principal, Scope.CUSTOMERS_READ, customers))
    if among is not None:
        return table.c.customer_id.in_(
            select(customers.c.id).where(customers.c.id.in_(among), *conditions)
        )
    return exists(select(customers.c.id).where(customers.c.id == table.c.customer_id, *conditions))


RowRule = Callable[[Principal, Table, Any], list[ColumnElement[bool]]]


def _child_of_customer(scope: str) -> RowRule:
    def rule(principal: Principal, table: Table, among: Any) -> list[ColumnElement[bool]]:
        if not principal.granting(scope):
            return [false()]
        return [_customer_shared(principal, table, scope, among)]

    return rule


def _case_rows(principal: Principal, table: Table, among: Any) -> list[ColumnElement[bool]]:
    if principal.partner_id is None or not principal.granting(Scope.CASES_READ):
        return [false()]
    return [
        table.c.shared_with_partner_id == principal.partner_id,
        _customer_shared(principal, table, Scope.CASES_READ, among),
    ]


def _feedback_rows(principal: Principal, table: Table, among: Any) -> list[ColumnElement[bool]]:
    if principal.partner_id is None or not principal.granting(Scope.FEEDBACK_READ):
        return [false()]
    cases = Case.__table__
    about_a_shared_case = exists(
        select(cases.c.id).where(
            cases.c.id == table.c.case_id, cases.c.shared_with_partner_id == principal.partner_id
        )
    )
    return [
        or_(table.c.partner_id == principal.partner_id, about_a_shared_case),
        _customer_shared(principal, table, Scope.FEEDBACK_READ, among),
    ]


def _customers(principal: Principal, table: Table, among: Any) -> list[ColumnElement[bool]]:
    return customer_rows(principal, table)


_RULES: dict[str, RowRule] = {
    "customers": _customers,
    "orders": _child_of_customer(Scope.ORDERS_READ),
    "interactions": _child_of_customer(Scope.INTERACTIONS_READ),
    "cases": _case_rows,
    "feedback": _feedback_rows,
}


def visible_rows(
    principal: Principal, table: Table, among: Any = None
) -> list[ColumnElement[bool]]:
    """Conditions on ``table`` for the rows this caller may load; nothing for tables without a rule.

    ``among``: for rows of a customer's children, a bound list of ids their customers
    are among (a page's parents), which lets the database decide each customer once.
    """
    if not principal.is_partner:
        return []
    rule = _RULES.get(table.name)
    return rule(principal, table, among) if rule is not None else [false()]


# -- what a partner may do with one customer ----------------------------------------------------


def grant_columns(principal: Principal, customers: FromClause) -> list[Any]:
    """For a partner, one column per grant in force: whether it covers the row's customer.

    Selected along with customers' rows that ``customer_rows`` lets through, they say
    what the partner may do with each (``scopes_of``) without another statement.
    Nothing for internal callers.
    """
    if not principal.is_partner:
        return []
    if len(principal.grants) == 1:
        # The rows are visible ones (``customer_rows``): the only grant covers them all.
        return [true().label("_grant_0")]
    return [_covers(g, customers).label(f"_grant_{i}") for i, g in enumerate(principal.grants)]


def scope_statement(principal: Principal, keys: Any) -> Select[Any]:
    """Per visible customer id: whether each grant of the principal covers it.

    Customers the partner may not see at all are left out; read the rows with
    ``scopes_of``. ``keys`` is a list of ids or an expanding bind parameter.
    """
    customers = CUSTOMERS
    return select(customers.c.id, *grant_columns(principal, customers)).where(
        customers.c.id.in_(keys), *customer_rows(principal, customers)
    )


def scopes_of(principal: Principal, row: Any) -> frozenset[str]:
    """The scopes a partner holds on the customer of a row selected with ``grant_columns``."""
    mapping = row._mapping
    held: set[str] = set()
    for i, grant in enumerate(principal.grants):
        if mapping[f"_grant_{i}"]:
            held |= grant.scopes
    return frozenset(held)


async def customer_is_writable(conn: Any, principal: Principal, customer_id: uuid.UUID) -> bool:
    """Whether this caller may change this customer: it exists, is active, and is visible to them
    with a grant that carries ``customers:write`` (for a partner)."""
    customers = CUSTOMERS
    writable = (
        [covered(principal, Scope.CUSTOMERS_WRITE, customers)] if principal.is_partner else []
    )
    found = await conn.scalar(
        select(customers.c.id).where(
            customers.c.id == customer_id,
            customers.c.status == CustomerStatus.ACTIVE,
            *customer_rows(principal, customers),
            *writable,
        )
    )
    return found is not None
