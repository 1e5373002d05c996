"""Write-back to Shopify: customer tags and e-mail marketing consent.

Both run through the connection's session inside ``Connector.run_action``,
so every write carries the action's idempotency key. Shopify's REST API does
not honour that header; the writes are idempotent by construction instead:
tags are merged as a set (a repeat finds nothing to add and sends nothing)
and the consent is an absolute PUT. REST has no conditional update, so a tag
edited in Shopify between our read and our write can be lost; GraphQL's
``tagsAdd``/``tagsRemove`` would close that window.

Each action also says which hub change it carries (``WriteAction.carries``)
and how a Shopify customer record becomes its input (``plan``): the hub queues
it when a customer with a Shopify source is tagged or changes consent.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, Field, field_validator

from connectors.base import DecodingError, HttpSession, WriteAction
from connectors.shopify.mapping import split_tags

MAX_TAG_LENGTH = 255


class CustomerTags(BaseModel):
    customer_id: int = Field(gt=0, description="The Shopify customer id.")
    tags: list[str] = Field(min_length=1, description="Tags to add (or remove); no commas.")

    @field_validator("tags")
    @classmethod
    def _clean(cls, tags: list[str]) -> list[str]:
        cleaned = [tag.strip() for tag in tags]
        for tag in cleaned:
            if not tag or "," in tag or len(tag) > MAX_TAG_LENGTH:
                raise ValueError(f"a tag must be 1-{MAX_TAG_LENGTH} characters without commas")
        return list(dict.fromkeys(cleaned))


class EmailMarketingConsent(BaseModel):
    customer_id: int = Field(gt=0, description="The Shopify customer id.")
    # The states Shopify accepts as input; not_subscribed, redacted and invalid are read-only.
    state: Literal["subscribed", "unsubscribed", "pending"]
    opt_in_level: Literal["single_opt_in", "confirmed_opt_in", "unknown"] | None = None
    consent_updated_at: AwareDatetime | None = Field(
        None, description="When the customer decided; Shopify uses the time of the call if absent."
    )


def tag_customer(session: HttpSession, data: CustomerTags) -> dict[str, Any]:
    """Add tags, keeping the customer's others; adding present tags changes nothing."""
    current = _tags(session, data.customer_id)
    present = {tag.casefold() for tag in current}
    wanted = current + [tag for tag in data.tags if tag.casefold() not in present]
    return _write_tags(session, data.customer_id, current, wanted)


def untag_customer(session: HttpSession, data: CustomerTags) -> dict[str, Any]:
    """Remove tags, keeping the customer's others; removing absent tags changes nothing."""
    current = _tags(session, data.customer_id)
    dropped = {tag.casefold() for tag in data.tags}
    wanted = [tag for tag in current if tag.casefold() not in dropped]
    return _write_tags(session, data.customer_id, current, wanted)


def set_email_marketing_consent(
    session: HttpSession, data: EmailMarketingConsent
) -> dict[str, Any]:
    consent: dict[str, Any] = {"state": data.state}
    if data.opt_in_level is not None:
        consent["opt_in_level"] = data.opt_in_level
    if data.consent_updated_at is not None:
        consent["consent_updated_at"] = data.consent_updated_at.isoformat()
    customer = _put(session, data.customer_id, {"email_marketing_consent": consent})
    return {
        "customer_id": data.customer_id,
        "email_marketing_consent": customer.get("email_marketing_consent"),
    }


def _tags(session: HttpSession, customer_id: int) -> list[str]:
    response = session.get(f"customers/{customer_id}.json", params={"fields": "id,tags"})
    customer = _customer(response, customer_id)
    return list(split_tags(customer.get("tags"), f"shopify customer {customer_id}"))


def _write_tags(
    session: HttpSession, customer_id: int, current: list[str], wanted: list[str]
) -> dict[str, Any]:
    if wanted == current:
        return {"customer_id": customer_id, "tags": current, "changed": False}
    customer = _put(session, customer_id, {"tags": ", ".join(wanted)})
    tags = split_tags(customer.get("tags"), f"shopify customer {customer_id}")
    return {"customer_id": customer_id, "tags": list(tags), "changed": True}


def _put(session: HttpSession, customer_id: int, fields: dict[str, Any]) -> dict[str, Any]:
    body = {"customer": {"id": customer_id, **fields}}
    return _customer(
        session.request("PUT", f"customers/{customer_id}.json", json=body), customer_id
    )


def _customer(response: Any, customer_id: int) -> dict[str, Any]:
    try:
        customer = response.json().get("customer")
    except (ValueError, AttributeError):
        customer = None
    if not isinstance(customer, dict):
        raise DecodingError(f"shopify customer {customer_id}: the answer has no customer object")
    return customer


# The hub's consent statuses as Shopify's e-mail marketing states.
CONSENT_STATES = {"GRANTED": "subscribed", "WITHDRAWN": "unsubscribed", "PENDING": "pending"}


def plan_tags(record: Any, change: Mapping[str, Any]) -> dict[str, Any] | None:
    """The tags of a hub customer's change, for its Shopify customer record."""
    if record.object_type != "customer":
        return None
    return {"customer_id": record.external_id, "tags": list(change["tags"])}


def plan_consent(record: Any, change: Mapping[str, Any]) -> dict[str, Any] | None:
    """A MARKETING_EMAIL decision recorded in the hub, for its Shopify customer record."""
    state = CONSENT_STATES.get(change["status"])
    if record.object_type != "customer" or state is None:
        return None
    return {
        "customer_id": record.external_id,
        "state": state,
        "consent_updated_at": change.get("recorded_at"),
    }


WRITE_ACTIONS = (
    WriteAction(
        "tag_customer",
        CustomerTags,
        tag_customer,
        "Add tags to a Shopify customer, keeping the tags it has.",
        carries=("customer.tag",),
        plan=plan_tags,
    ),
    WriteAction(
        "untag_customer",
        CustomerTags,
        untag_customer,
        "Remove tags from a Shopify customer, keeping the others.",
        carries=("customer.untag",),
        plan=plan_tags,
    ),
    WriteAction(
        "set_email_marketing_consent",
        EmailMarketingConsent,
        set_email_marketing_consent,
        "Record a customer's e-mail marketing consent in Shopify.",
        carries=("consent.marketing_email",),
        plan=plan_consent,
    ),
)

__all__ = ["WRITE_ACTIONS", "CustomerTags", "EmailMarketingConsent"]
