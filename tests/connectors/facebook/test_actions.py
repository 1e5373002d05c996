"""Write-back through the session: a comment reply, and a Messenger reply retried under its key."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from connectors.base import ConnectorError


def test_reply_to_a_comment_and_to_a_message(graph, connector, fake_time):
    session, _, tape, sent = graph("actions")
    comment = connector.run_action(
        session,
        "reply_to_comment",
        {
            "comment_id": "10158407654328553_10158407835073553",
            "message": "Hi Maria, we have sent you the steps in Messenger.",
        },
        "action-comment-1",
    )
    assert comment == {"id": "10158407654328553_10158409984103553"}
    message = connector.run_action(
        session,
        "reply_to_message",
        {"recipient_id": "2711636948859886", "text": "Thanks, Kun! Your order ships today."},
        "action-message-1",
    )
    assert message["recipient_id"] == "2711636948859886"
    assert tape.all_played  # the Send API's 500 (code 2) was retried once
    assert len(fake_time.sleeps) == 1
    assert [r.headers.get("Idempotency-Key") for r in sent] == [
        "action-comment-1",
        "action-message-1",
        "action-message-1",
    ]
    assert all(r.method == "POST" and r.headers["Content-Type"] == "application/json" for r in sent)


def test_action_input_is_validated_before_anything_is_sent(graph, connector):
    session, _, _tape, sent = graph("actions")
    for name, data in (
        ("reply_to_comment", {"comment_id": "../me/feed", "message": "x"}),
        ("reply_to_comment", {"comment_id": "1_2", "message": ""}),
        ("reply_to_message", {"recipient_id": "2711636948859886", "text": "x" * 2001}),
    ):
        with pytest.raises(ValidationError):
            connector.run_action(session, name, data, "action-x")
    with pytest.raises(ConnectorError):
        connector.run_action(session, "delete_post", {}, "action-y")
    assert sent == []
