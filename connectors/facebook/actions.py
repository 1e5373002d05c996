"""Write-back: answering a comment in its thread, and a Messenger message by the Send API.

Both run through the connection's session under the action's idempotency key
(``Connector.run_action``). Graph does not deduplicate by that key, so a retry
after a response that was lost on the way back can post twice; the hub's
action log stops a finished action from being run again.

The hub queues them (``WriteAction.carries``, ``plan``) for ``interactionReply``
on an interaction that came from a Facebook comment or Messenger message.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, Field

from connectors.base import HttpSession, WriteAction

GRAPH_ID = r"^[0-9]+(_[0-9]+)?$"


class CommentReply(BaseModel):
    comment_id: str = Field(pattern=GRAPH_ID, description="The comment answered ({post}_{id}).")
    message: str = Field(min_length=1, max_length=8000)


class MessageReply(BaseModel):
    recipient_id: str = Field(pattern=r"^[0-9]+$", description="The person's page-scoped id.")
    text: str = Field(min_length=1, max_length=2000)  # the Send API's limit for a text message


def reply_to_comment(session: HttpSession, reply: CommentReply) -> dict[str, Any]:
    """``POST /{comment-id}/comments``: ``{"id": <new comment id>}``."""
    return session.post(f"{reply.comment_id}/comments", json={"message": reply.message}).json()


def reply_to_message(session: HttpSession, reply: MessageReply) -> dict[str, Any]:
    """``POST /me/messages`` (``me`` is the Page a Page token belongs to), a RESPONSE.

    RESPONSE is only allowed within 24 hours of the person's last message;
    later, Graph refuses it (code 10, subcode 2018278) and the error says so.
    """
    body = {
        "recipient": {"id": reply.recipient_id},
        "messaging_type": "RESPONSE",
        "message": {"text": reply.text},
    }
    return session.post("me/messages", json=body).json()


def plan_comment_reply(record: Any, change: Mapping[str, Any]) -> dict[str, Any] | None:
    """A reply in the comment's thread (Graph nests one level: a reply's reply joins its parent)."""
    if record.object_type != "comment":
        return None
    parent = (record.payload or {}).get("parent") or {}
    return {"comment_id": parent.get("id") or record.external_id, "message": change["text"]}


def plan_message_reply(record: Any, change: Mapping[str, Any]) -> dict[str, Any] | None:
    """An answer to the person of a Messenger message: its sender, or whom the Page wrote to."""
    if record.object_type != "message":
        return None
    payload = record.payload or {}
    sender = (payload.get("from") or {}).get("id")
    if change.get("direction") == "OUTBOUND":
        to = [r.get("id") for r in (payload.get("to") or {}).get("data") or [] if r]
        person = next((r for r in to if r and r != sender), None)
    else:
        person = sender
    return {"recipient_id": str(person), "text": change["text"]} if person else None


WRITE_ACTIONS = (
    WriteAction(
        "reply_to_comment",
        CommentReply,
        reply_to_comment,
        "Reply to a comment on a Page post, as the Page.",
        carries=("interaction.reply",),
        plan=plan_comment_reply,
    ),
    WriteAction(
        "reply_to_message",
        MessageReply,
        reply_to_message,
        "Answer a person in Messenger, as the Page (within 24 h of their message).",
        carries=("interaction.reply",),
        plan=plan_message_reply,
    ),
)
