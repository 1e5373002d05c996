"""Every stream against replayed Graph API pages: paging, children per parent, bookmarks."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from connectors.base import DecodingError
from hub.models.enums import Channel, ContactPointKind, Direction, FeedbackKind, InteractionKind
from tests.connectors.facebook.conftest import DEV_PAGE, PAGE, TOKEN, records


def test_conversations_follow_paging_next_and_map_to_their_person(graph, connector):
    session, config, tape, _sent = graph("conversations")
    stream = connector.stream("conversations", config)
    pages = list(stream.pages(session))
    assert [[r["id"] for r in p.records] for p in pages] == [
        ["t_587956915396498"],
        ["t_233782918546745"],
    ]
    assert tape.all_played
    kun = stream.map(pages[0].records[0])
    assert (kun.object_type, kun.external_id) == ("conversation", "t_587956915396498")
    assert kun.person_ref == ("user", "2711636948859886")
    assert kun.person.given_name == "Kun Liu"
    point = kun.person.contact_points[0]
    assert (point.kind, point.value) == (ContactPointKind.SOCIAL, "facebook:2711636948859886")
    assert kun.interaction is None
    assert kun.source_updated_at == datetime(2021, 6, 8, 8, 24, 57, tzinfo=UTC)


def test_messages_are_read_per_conversation_with_direction_by_sender(graph, connector):
    session, config, tape, _ = graph("messages")
    stream = connector.stream("messages", config)
    mapped = [stream.map(r) for r in records(stream, session)]
    assert tape.all_played  # two conversation pages, 2 + 1 message pages
    assert [(m.interaction.direction, m.interaction.body) for m in mapped] == [
        (Direction.INBOUND, None),  # a video: no text
        (Direction.OUTBOUND, "Thank you! How can we help?"),
        (Direction.INBOUND, "Love is peace!😏"),
        (Direction.INBOUND, "hehe"),
    ]
    # The Page's own message belongs to the person it was sent to.
    assert [m.person_ref for m in mapped] == [("user", "2711636948859886")] * 3 + [
        ("user", "5550000000000001")
    ]
    first = mapped[0]
    assert (first.interaction.channel, first.interaction.kind) == (
        Channel.SOCIAL,
        InteractionKind.MESSAGE,
    )
    assert first.external_id.startswith("m_rU2w1v7X")
    assert first.interaction.occurred_at == datetime(2021, 7, 23, 10, 24, 23, tzinfo=UTC)


def test_the_token_travels_in_the_header_with_the_appsecret_proof(graph, connector):
    session, config, _, sent = graph("conversations")
    list(connector.stream("conversations", config).pages(session))
    assert len(sent) == 2
    for request in sent:
        assert request.headers["Authorization"] == f"Bearer {TOKEN}"
        assert "appsecret_proof=" in request.url
        assert request.url.count("appsecret_proof=") == 1
    # Our first request never puts the token in the URL; the second follows Graph's next link.
    assert "access_token" not in sent[0].url


def test_comments_are_read_per_post_across_pages_with_a_bookmark_per_post(graph, connector):
    session, config, tape, _ = graph("comments", DEV_PAGE)
    stream = connector.stream("comments", config)
    pages = list(stream.pages(session))
    assert tape.all_played  # 2 feed pages, 2 comment pages of the first post, 7 empty posts
    comments = [r for p in pages for r in p.records]
    assert len(comments) == 15
    post = "post_id=19292868552_10158333323653553"
    assert pages[0].bookmark == {
        "partitions": {post: {"created_time": "2021-08-12T18:30:51+00:00"}}
    }
    assert pages[-1].bookmark["partitions"][post] == {"created_time": "2021-08-14T07:24:42+00:00"}
    first = stream.map(comments[0])
    assert (first.object_type, first.external_id) == (
        "comment",
        "10158407654328553_10158407835073553",
    )
    assert (first.interaction.kind, first.interaction.direction) == (
        InteractionKind.COMMENT,
        Direction.INBOUND,
    )
    assert first.person_ref == ("user", "6100000000000001")
    assert first.interaction.link.endswith("comment_id=10158407835073553")


def test_the_pages_replies_are_outbound_to_whom_they_answer(graph, connector):
    session, config, _, _ = graph("comments", DEV_PAGE)
    stream = connector.stream("comments", config)
    mapped = [stream.map(r) for r in records(stream, session)]
    replies = [m for m in mapped if m.interaction.direction is Direction.OUTBOUND]
    assert len(replies) == 4
    answer = next(m for m in replies if m.interaction.body.startswith("Hi, please access"))
    assert answer.person_ref == ("user", "6100000000000002")  # Jordan Lee asked
    assert answer.person.given_name == "Jordan Lee"


def test_comments_resume_from_the_posts_bookmark_with_since(graph, connector):
    session, config, tape, sent = graph("comments_incremental", DEV_PAGE)
    stream = connector.stream("comments", config)
    post = "post_id=19292868552_10158333323653553"
    start = {"partitions": {post: {"created_time": "2021-08-12T18:30:51+00:00"}}}
    pages = list(stream.pages(session, start))
    assert tape.all_played
    assert len([r for p in pages for r in p.records]) == 5
    asked = [r.url for r in sent if "10158333323653553/comments" in r.url]
    assert len(asked) == 1 and "since=1628793051" in asked[0]
    assert pages[-1].bookmark["partitions"][post] == {"created_time": "2021-08-14T07:24:42+00:00"}


def test_ratings_page_and_map_to_reviews_on_a_five_point_scale(graph, connector):
    session, config, tape, _ = graph("ratings")
    stream = connector.stream("ratings", config)
    mapped = [stream.map(r) for r in records(stream, session)]
    assert tape.all_played
    assert [(m.external_id, m.feedback.score, m.feedback.comment) for m in mapped] == [
        ("2711636948859886", 5, "Quick answers in Messenger, great service."),
        ("5550000000000001", 1, "Never got a reply."),
        ("6100000000000001", 4, None),  # an old star rating keeps its stars
    ]
    review = mapped[0].feedback
    assert (review.kind, review.scale_max, review.channel) == (
        FeedbackKind.REVIEW,
        5,
        Channel.SOCIAL,
    )
    assert mapped[1].person_ref == ("user", "5550000000000001")


def test_a_malformed_comment_page_is_a_clear_error_after_the_good_page(graph, connector):
    session, config, _, _ = graph("comments_malformed", DEV_PAGE)
    pages = connector.stream("comments", config).pages(session)
    first = next(pages)
    assert len(first.records) == 10 and first.bookmark is not None  # kept, committed
    with pytest.raises(DecodingError) as caught:
        next(pages)
    assert "comments (post_id=19292868552_10158333323653553, page 2)" in str(caught.value)
    assert "data is not a list" in str(caught.value)


def test_a_non_json_message_page_names_the_conversation_and_keeps_the_others(graph, connector):
    session, config, _, _ = graph("messages_malformed")
    pages = connector.stream("messages", config).pages(session)
    kept = [next(pages), next(pages)]
    assert sum(len(p.records) for p in kept) == 3
    with pytest.raises(DecodingError, match=r"conversation_id=t_233782918546745.*not JSON"):
        next(pages)


def test_config_names_the_page_and_the_api_version(connector):
    assert connector.parse_config({"page_id": PAGE}).api_version == "v21.0"
    session = connector.session(
        {"page_id": PAGE, "api_version": "v24.0"}, {"page_access_token": TOKEN}
    )
    assert session.base_url == "https://graph.facebook.com/v24.0/"
    for bad in ({"page_id": "my page"}, {"page_id": PAGE, "api_version": "21"}):
        with pytest.raises(ValueError):
            connector.parse_config(bad)
    assert [s.name for s in connector.streams] == [
        "conversations",
        "messages",
        "comments",
        "ratings",
    ]


def test_the_connector_is_installed_and_keeps_secrets_out_of_its_errors(connector):
    from connectors.base import CredentialsError, get_connector
    from connectors.facebook import FacebookConnector

    assert get_connector("facebook") is FacebookConnector
    schema = connector.credentials_schema()
    assert {"page_access_token", "app_secret", "verify_token"} <= set(schema["properties"])
    with pytest.raises(CredentialsError) as caught:
        connector.session({"page_id": PAGE}, {"page_access_token": [TOKEN]})
    assert "page_access_token" in str(caught.value) and TOKEN not in str(caught.value)
    assert repr(connector.parse_credentials({"page_access_token": TOKEN})).count(TOKEN) == 0
