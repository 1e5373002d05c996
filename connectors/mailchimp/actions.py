"""Write-back to Mailchimp: a member's subscription status and tags.

Each action addresses the member by subscriber hash, so it needs no lookup
first, and each is idempotent at Mailchimp (a PUT upsert, a PATCH of the
status, a POST that sets tags active or inactive): a retry under the
session's idempotency key cannot apply it twice.

The hub queues them (``WriteAction.carries`` and ``plan``) when a customer
with a Mailchimp member record is tagged or changes its MARKETING_EMAIL
consent: the member's audience and address come from the record.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, Field, model_validator

from connectors.base import HttpSession, WriteAction
from connectors.mailchimp.mapping import MEMBER, subscriber_hash


class MemberAction(BaseModel):
    list_id: str = Field(pattern=r"^[0-9A-Za-z]+$", description="The audience (list) id.")
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+$", description="The member's e-mail address.")

    @property
    def path(self) -> str:
        return f"lists/{self.list_id}/members/{subscriber_hash(self.email)}"


class Subscribe(MemberAction):
    double_opt_in: bool = Field(
        False,
        description="Send Mailchimp's confirmation e-mail to a new address (status pending) "
        "instead of subscribing it at once; existing members keep their status.",
    )
    merge_fields: dict[str, Any] = Field(default_factory=dict, description="FNAME, LNAME, …")


class Unsubscribe(MemberAction):
    pass


class TagChange(MemberAction):
    add: list[str] = Field(default_factory=list, description="Tags to set active.")
    remove: list[str] = Field(default_factory=list, description="Tags to set inactive.")

    @model_validator(mode="after")
    def _something_to_change(self) -> TagChange:
        if not self.add and not self.remove:
            raise ValueError("name at least one tag to add or remove")
        if both := set(self.add) & set(self.remove):
            raise ValueError(f"tags both added and removed: {', '.join(sorted(both))}")
        return self


def subscribe(session: HttpSession, change: Subscribe) -> dict[str, Any]:
    if change.double_opt_in:
        body: dict[str, Any] = {"email_address": change.email, "status_if_new": "pending"}
    else:
        body = {
            "email_address": change.email,
            "status_if_new": "subscribed",
            "status": "subscribed",
        }
    if change.merge_fields:
        body["merge_fields"] = change.merge_fields
    return session.request("PUT", change.path, json=body).json()


def unsubscribe(session: HttpSession, change: Unsubscribe) -> dict[str, Any]:
    # PATCH, not PUT: unsubscribing an address must never add it to the audience.
    return session.request("PATCH", change.path, json={"status": "unsubscribed"}).json()


def tag(session: HttpSession, change: TagChange) -> dict[str, list[str]]:
    tags = [{"name": name, "status": "active"} for name in change.add]
    tags += [{"name": name, "status": "inactive"} for name in change.remove]
    session.post(f"{change.path}/tags", json={"tags": tags})  # 204, no body
    return {"active": change.add, "inactive": change.remove}


def _member(record: Any) -> dict[str, str] | None:
    """The audience and address of a member record (its key is ``{list_id}:{hash}``)."""
    payload = record.payload or {}
    email = payload.get("email_address")
    if record.object_type != MEMBER or not isinstance(email, str):
        return None
    return {"list_id": payload.get("list_id") or record.external_id.split(":", 1)[0],
            "email": email}


def plan_tags(record: Any, change: Mapping[str, Any]) -> dict[str, Any] | None:
    member = _member(record)
    side = "add" if change["change"] == "customer.tag" else "remove"
    return member and {**member, side: list(change["tags"])}


def plan_subscribe(record: Any, change: Mapping[str, Any]) -> dict[str, Any] | None:
    # PENDING: the person has yet to confirm, so Mailchimp sends its confirmation e-mail.
    if change["status"] not in ("GRANTED", "PENDING"):
        return None
    member = _member(record)
    return member and {**member, "double_opt_in": change["status"] == "PENDING"}


def plan_unsubscribe(record: Any, change: Mapping[str, Any]) -> dict[str, Any] | None:
    return _member(record) if change["status"] == "WITHDRAWN" else None


ACTIONS = (
    WriteAction("subscribe", Subscribe, subscribe, "Subscribe an e-mail address to an audience.",
                carries=("consent.marketing_email",), plan=plan_subscribe),
    WriteAction("unsubscribe", Unsubscribe, unsubscribe, "Unsubscribe a member of an audience.",
                carries=("consent.marketing_email",), plan=plan_unsubscribe),
    WriteAction("tag", TagChange, tag, "Set a member's tags active or inactive.",
                carries=("customer.tag", "customer.untag"), plan=plan_tags),
)
