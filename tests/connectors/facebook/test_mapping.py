"""The mapping's rules and its refusals, record by record."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from connectors.facebook import mapping
from hub.models.enums import Direction
from hub.sync.records import MappingError

PAGE = "2121008874780932"
KUN = {"name": "Kun Liu", "email": "2711636948859886@facebook.com", "id": "2711636948859886"}
PAGE_USER = {"name": "MyLife", "email": f"{PAGE}@facebook.com", "id": PAGE}


def test_graph_times_and_webhook_times_read_alike():
    expected = datetime(2021, 7, 23, 9, 50, 48, tzinfo=UTC)
    assert mapping.graph_time("2021-07-23T09:50:48+0000", "x") == expected
    assert mapping.graph_time(1627033848, "x") == expected
    assert mapping.graph_time(1627033848000, "x") == expected
    with pytest.raises(MappingError, match="x: unreadable time"):
        mapping.graph_time("yesterday", "x")
    with pytest.raises(MappingError):
        mapping.graph_time(None, "x")


def test_the_facebook_proxy_email_is_never_a_contact_point():
    person = mapping.person(KUN)
    assert [(p.kind.value, p.value) for p in person.contact_points] == [
        ("SOCIAL", "facebook:2711636948859886")
    ]
    assert person.given_name == "Kun Liu" and person.family_name is None
    assert mapping.person({"id": "1"}).given_name is None


def test_a_conversation_needs_someone_besides_the_page():
    record = {
        "id": "t_1",
        "updated_time": "2021-06-08T08:24:57+0000",
        "participants": {"data": [PAGE_USER]},
    }
    with pytest.raises(MappingError, match="t_1: no participant other than the Page"):
        mapping.conversation(record, PAGE)
    with pytest.raises(MappingError, match="conversation has no id"):
        mapping.conversation({"participants": {"data": [KUN]}}, PAGE)


def test_messages_without_a_sender_or_a_recipient_are_refused():
    base = {"id": "m_1", "created_time": "2021-07-23T09:50:48+0000"}
    with pytest.raises(MappingError, match="m_1 has no sender"):
        mapping.message(base, PAGE)
    with pytest.raises(MappingError, match="sent by the Page to no one else"):
        mapping.message({**base, "from": PAGE_USER, "to": {"data": [PAGE_USER]}}, PAGE)
    sent = mapping.message({**base, "from": PAGE_USER, "to": {"data": [KUN]}, "message": ""}, PAGE)
    assert sent.interaction.direction is Direction.OUTBOUND and sent.interaction.body is None


def test_comments_without_an_author_say_which_permission_is_missing():
    record = {"id": "1_2", "created_time": "2021-08-10T18:45:03+0000", "message": "hi"}
    with pytest.raises(MappingError, match="pages_read_user_content"):
        mapping.comment(record, PAGE)
    own = mapping.comment({**record, "from": PAGE_USER}, PAGE)
    assert own.interaction is None and own.person is None and own.external_id == "1_2"


@pytest.mark.parametrize(
    ("record", "score"),
    [
        ({"recommendation_type": "positive"}, 5),
        ({"recommendation_type": "negative", "review_text": "meh"}, 1),
        ({"recommendation_type": "negative", "rating": 2, "has_rating": True}, 2),
        ({"recommendation_type": "positive", "rating": 3, "has_rating": False}, 5),
    ],
)
def test_recommendations_score_on_the_declared_five_point_scale(record, score):
    mapped = mapping.rating(
        {"created_time": "2021-07-24T08:00:00+0000", "reviewer": KUN, **record}, PAGE
    )
    assert (mapped.feedback.score, mapped.feedback.scale_max) == (score, mapping.REVIEW_SCALE)


def test_ratings_without_a_reviewer_or_a_verdict_are_refused():
    with pytest.raises(MappingError, match="no reviewer"):
        mapping.rating(
            {"created_time": "2021-07-24T08:00:00+0000", "recommendation_type": "positive"}, PAGE
        )
    with pytest.raises(MappingError, match="neither a 1–5 rating"):
        mapping.rating(
            {
                "created_time": "2021-07-24T08:00:00+0000",
                "reviewer": KUN,
                "recommendation_type": "meh",
                "rating": 9,
            },
            PAGE,
        )
