"""Builds the vcrpy cassettes in ``cassettes/`` from the recorded Graph API bodies.

Run from the repository root: ``.venv/bin/python tests/connectors/facebook/build_cassettes.py``.

Provenance (see ../shared/fixtures/SOURCES.md): response bodies come from the
sns-sdks/python-facebook recordings of real Graph API calls, whose author had
already replaced tokens with ``access_token`` and cursors with ``before``/
``after``. What is added here, and why:

* envelopes: ``{"data", "paging": {"cursors", "next"}}`` as recorded; the
  ``next`` links are rebuilt the way Graph builds them (our own query plus
  ``access_token``, ``pretty=0``, ``after``) under the configured v21.0;
* records keep only the fields the stream asks for;
* the second conversation and its message (participant "Ana Souza"), the
  Page's outgoing message, and comment ``id``/``from``/``parent`` (the
  recorded comment pages were fetched without them; ids follow the recorded
  ``{post}_{comment}`` form, taken from each comment's permalink) are derived
  in the shape of the recorded ``models_conversation``/``models_message``/
  ``models_comment`` objects; people's ids and names there are synthetic;
* ratings follow the documented Recommendation fields (no recording exists);
* errors use the recorded error body shape (``base_error_data.json``) with the
  documented codes 190/463, 4 and 32; the usage header the recorded shape of
  ``X-Business-Use-Case-Usage`` (grouparoo cassette);
* write-back responses are the documented ``{"id"}`` and Send API bodies.

Request URIs carry no ``access_token``/``appsecret_proof`` (vcrpy filters them
before matching, as it would before recording).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import yaml

ROOT = Path(__file__).resolve().parents[3]
FIXTURES = ROOT.parent / "shared" / "fixtures" / "facebook"
OUT = Path(__file__).resolve().parent / "cassettes"
GRAPH = "https://graph.facebook.com/v21.0"
PAGE = "2121008874780932"  # "MyLife", the recording author's test Page (conversations)
DEV_PAGE = "19292868552"  # "Facebook for Developers" (feed and comments)

CONVERSATION_FIELDS = "id,link,updated_time,message_count,unread_count,snippet,participants"
CONVERSATIONS_Q = {"platform": "messenger", "fields": CONVERSATION_FIELDS, "limit": 50}
MESSAGES_Q = {"fields": "id,created_time,from,to,message", "limit": 50}
POSTS_Q = {"fields": "id,created_time", "limit": 50}
COMMENT_FIELDS = "id,created_time,from,message,permalink_url,parent{id,from},is_hidden"
COMMENTS_Q = {"fields": COMMENT_FIELDS, "filter": "stream", "order": "chronological", "limit": 100}
RATINGS_Q = {
    "fields": "created_time,recommendation_type,review_text,rating,has_rating,has_review,"
    "reviewer{id,name}",
    "limit": 50,
}
GRAPH_HEADERS = {
    "Content-Type": ["application/json; charset=UTF-8"],
    "facebook-api-version": ["v21.0"],
    "x-fb-request-id": ["AqkmbF8mVPVI3vZ8HP2ZOif"],
    "x-fb-trace-id": ["FBM3HxACPkE"],
}


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / f"sns-sdks+python-facebook__{name}.json").read_text())


def only(record: dict[str, Any], fields: str) -> dict[str, Any]:
    wanted = {f.split("{")[0] for f in fields.split(",")}
    return {k: v for k, v in record.items() if k in wanted}


def uri(path: str, query: dict[str, Any] | None = None) -> str:
    return f"{GRAPH}/{path}" + (f"?{urlencode(query)}" if query else "")


def page(data: list[dict], path: str, query: dict[str, Any], more: bool) -> dict[str, Any]:
    paging: dict[str, Any] = {"cursors": {"before": "before", "after": "after"}}
    if more:
        echoed = {"access_token": "access_token", "pretty": 0, **query, "after": "after"}
        paging["next"] = uri(path, echoed)
    return {"data": data, "paging": paging}


def get(
    path: str,
    query: dict[str, Any],
    body: Any,
    status: int = 200,
    headers: dict[str, list[str]] | None = None,
    after: bool = False,
) -> dict[str, Any]:
    sent = {**query, **({"pretty": 0, "after": "after"} if after else {})}
    return exchange("GET", uri(path, sent), None, status, body, headers)


def exchange(
    method: str,
    url: str,
    request_body: Any,
    status: int,
    body: Any,
    headers: dict[str, list[str]] | None = None,
) -> dict[str, Any]:
    text = body if isinstance(body, str) else json.dumps(body, ensure_ascii=False)
    return {
        "request": {
            "body": None if request_body is None else json.dumps(request_body),
            "headers": {},
            "method": method,
            "uri": url,
        },
        "response": {
            "body": {"string": text},
            "headers": {k: list(v) for k, v in {**GRAPH_HEADERS, **(headers or {})}.items()},
            "status": {"code": status, "message": {200: "OK"}.get(status, "Error")},
        },
    }


def write(name: str, interactions: list[dict[str, Any]]) -> None:
    OUT.mkdir(exist_ok=True)
    header = "# Built by build_cassettes.py from shared/fixtures/facebook; see its docstring.\n"
    text = yaml.safe_dump(
        {"interactions": interactions, "version": 1}, allow_unicode=True, sort_keys=False, width=100
    )
    (OUT / f"{name}.yaml").write_text(header + text)


# -- conversations and messages -------------------------------------------------------------

KUN = {"name": "Kun Liu", "email": "2711636948859886@facebook.com", "id": "2711636948859886"}
ANA = {"name": "Ana Souza", "email": "5550000000000001@facebook.com", "id": "5550000000000001"}
MYLIFE = {"name": "MyLife", "email": f"{PAGE}@facebook.com", "id": PAGE}


def conversations() -> tuple[dict, dict]:
    first = only(fixture("facebook_models_conversation"), CONVERSATION_FIELDS)
    recorded = fixture("facebook_apidata_conversations_cvses_info")["t_233782918546745"]
    second = {**recorded, "participants": {"data": [ANA, MYLIFE]}}
    path = f"{PAGE}/conversations"
    return (
        page([first], path, CONVERSATIONS_Q, True),
        page([second], path, CONVERSATIONS_Q, False),
    )


def messages() -> dict[str, list[dict]]:
    fields = MESSAGES_Q["fields"]
    inbound = only(fixture("facebook_models_message"), fields)
    video = only(
        fixture("facebook_apidata_messages_messages_info")[
            "m_rU2w1v7XMh8JR7jDSmW3pBMylUFmkYY4bHogy9C1otJUI2R3JKjhRblmg6DHQeVLHU6GP0qwqSqdSg0gnkE8tw"
        ],
        fields,
    )
    outbound = {
        "id": "m_Pg7ReplyFromThePageToKunLiu0000000000000000000000000000000000000000000000000",
        "created_time": "2021-07-23T10:00:00+0000",
        "from": MYLIFE,
        "to": {"data": [KUN]},
        "message": "Thank you! How can we help?",
    }
    hehe = {
        "id": "m_AnaSouzaSaysHehe000000000000000000000000000000000000000000000000000000000000",
        "created_time": "2021-07-23T09:30:39+0000",
        "from": ANA,
        "to": {"data": [MYLIFE]},
        "message": "hehe",
    }
    # Graph lists a thread's messages newest first.
    return {"t_587956915396498": [[video, outbound], [inbound]], "t_233782918546745": [[hehe]]}


def conversation_interactions() -> list[dict]:
    p1, p2 = conversations()
    path = f"{PAGE}/conversations"
    return [get(path, CONVERSATIONS_Q, p1), get(path, CONVERSATIONS_Q, p2, after=True)]


def message_interactions(broken_thread: str | None = None) -> list[dict]:
    out = []
    for thread, pages in messages().items():
        path = f"{thread}/messages"
        if thread == broken_thread:
            out.append(
                get(path, MESSAGES_Q, "<html><body>Sorry, something went wrong.</body></html>")
            )
            continue
        for number, records in enumerate(pages):
            more = number + 1 < len(pages)
            out.append(
                get(path, MESSAGES_Q, page(records, path, MESSAGES_Q, more), after=number > 0)
            )
    return out


# -- posts and comments ---------------------------------------------------------------------

AUTHORS = {
    "10158407835073553": ("6100000000000001", "Maria Silva"),
    "10158407903973553": ("6100000000000002", "Jordan Lee"),
    "10158408043788553": ("6100000000000003", "Piotr Nowak"),
    "10158408729028553": ("6100000000000004", "Sam Taylor"),
    "10158408729313553": ("6100000000000005", "Alex Kim"),
    "10158409984053553": ("6100000000000002", "Jordan Lee"),
    "10158410332078553": ("6100000000000006", "Carlos Ruiz"),
    "10158412899928553": ("6100000000000007", "Priya Shah"),
    "10158414379883553": ("6100000000000008", "Shatira Gray"),
    "10158414379973553": ("6100000000000008", "Shatira Gray"),
    "10158414644018553": ("6100000000000009", "Budi Santoso"),
}
DEVELOPERS = {"id": DEV_PAGE, "name": "Facebook for Developers"}


def commented(record: dict[str, Any]) -> dict[str, Any]:
    """A recorded comment with the id, author and parent Graph gives when asked for them."""
    query = dict(p.split("=") for p in record["permalink_url"].split("?")[1].split("&"))
    post = record["permalink_url"].split("/posts/")[1].split("/")[0]
    own = query.get("reply_comment_id", query["comment_id"])
    author = AUTHORS.get(own)
    shaped = {
        "id": f"{post}_{own}",
        **record,
        "from": {"id": author[0], "name": author[1]} if author else DEVELOPERS,
        "is_hidden": False,
    }
    if "reply_comment_id" in query:
        parent = AUTHORS[query["comment_id"]]
        shaped["parent"] = {
            "id": f"{post}_{query['comment_id']}",
            "from": {"id": parent[0], "name": parent[1]},
        }
    return shaped


def post_interactions() -> list[dict]:
    path = f"{DEV_PAGE}/feed"
    p1 = fixture("base_full_connecions_p1")["data"]
    p2 = fixture("base_full_connecions_p2")["data"]
    return [
        get(path, POSTS_Q, page([only(r, "id,created_time") for r in p1], path, POSTS_Q, True)),
        get(
            path,
            POSTS_Q,
            page([only(r, "id,created_time") for r in p2], path, POSTS_Q, False),
            after=True,
        ),
    ]


def post_ids() -> list[str]:
    return [
        r["id"]
        for name in ("base_full_connecions_p1", "base_full_connecions_p2")
        for r in fixture(name)["data"]
    ]


def comment_interactions(since: int | None = None, malformed: bool = False) -> list[dict]:
    first, *others = post_ids()
    path = f"{first}/comments"
    c1 = [commented(r) for r in fixture("facebook_apidata_comments_comments_p1")["data"]]
    c2 = [commented(r) for r in fixture("facebook_apidata_comments_comments_p2")["data"]]
    out = []
    if since is None:
        out.append(get(path, COMMENTS_Q, page(c1, path, COMMENTS_Q, True)))
        body2 = (
            {"data": {"message": "not a list"}, "paging": {}}
            if malformed
            else page(c2, path, COMMENTS_Q, False)
        )
        out.append(get(path, COMMENTS_Q, body2, after=True))
    else:
        query = {**COMMENTS_Q, "since": since}
        out.append(get(path, query, page([c for c in c2], path, query, False)))
    if not malformed:
        out += [get(f"{post}/comments", COMMENTS_Q, {"data": []}) for post in others]
    return out


# -- ratings --------------------------------------------------------------------------------

RATINGS = [
    [
        {
            "created_time": "2021-07-24T08:00:00+0000",
            "recommendation_type": "positive",
            "review_text": "Quick answers in Messenger, great service.",
            "has_rating": False,
            "has_review": True,
            "reviewer": {"id": KUN["id"], "name": KUN["name"]},
        },
        {
            "created_time": "2021-07-25T18:30:00+0000",
            "recommendation_type": "negative",
            "review_text": "Never got a reply.",
            "has_rating": False,
            "has_review": True,
            "reviewer": {"id": ANA["id"], "name": ANA["name"]},
        },
    ],
    [
        {
            "created_time": "2018-05-02T12:00:00+0000",
            "recommendation_type": "positive",
            "rating": 4,
            "has_rating": True,
            "has_review": False,
            "reviewer": {"id": "6100000000000001", "name": "Maria Silva"},
        },
    ],
]


def rating_interactions() -> list[dict]:
    path = f"{PAGE}/ratings"
    return [
        get(path, RATINGS_Q, page(RATINGS[0], path, RATINGS_Q, True)),
        get(path, RATINGS_Q, page(RATINGS[1], path, RATINGS_Q, False), after=True),
    ]


# -- failures -------------------------------------------------------------------------------


def graph_error(code: int, message: str, subcode: int | None = None) -> dict[str, Any]:
    error = {"message": message, "type": "OAuthException", "code": code}
    if subcode:
        error["error_subcode"] = subcode
    return {"error": {**error, "fbtrace_id": "AQt_hJ68vFybS4TnupatNtX"}}


EXPIRED = graph_error(
    190,
    "Error validating access token: Session has expired on Friday, 20-Nov-26 09:00:00 PST. "
    "The current time is Monday, 23-Nov-26 04:00:00 PST.",
    463,
)


def usage(minutes: int) -> dict[str, list[str]]:
    entry = {
        "type": "pages",
        "call_count": 100,
        "total_cputime": 12,
        "total_time": 25,
        "estimated_time_to_regain_access": minutes,
    }
    return {"x-business-use-case-usage": [json.dumps({PAGE: [entry]}, separators=(",", ":"))]}


def throttled_interactions() -> list[dict]:
    path = f"{PAGE}/ratings"
    p1, p2 = rating_interactions()
    page_limit = get(
        path,
        RATINGS_Q,
        graph_error(32, "(#32) Page request limit reached"),
        status=400,
        headers=usage(1),
    )
    app_limit = get(
        path,
        RATINGS_Q,
        graph_error(4, "(#4) Application request limit reached"),
        status=403,
        headers={"x-app-usage": ['{"call_count":100,"total_cputime":9,"total_time":14}']},
    )
    return [page_limit, app_limit, p1, p2]


# -- write-back -----------------------------------------------------------------------------


def action_interactions() -> list[dict]:
    comment = "10158407654328553_10158407835073553"
    reply = {"message": "Hi Maria, we have sent you the steps in Messenger."}
    send = {
        "recipient": {"id": KUN["id"]},
        "messaging_type": "RESPONSE",
        "message": {"text": "Thanks, Kun! Your order ships today."},
    }
    sent = {
        "recipient_id": KUN["id"],
        "message_id": "m_AG5Hz2Uq7tuwNEhXfYYKj8mJEM_QPpz5jdCK48PnKAjSdjfipqxqMvK8ma6AC8",
    }
    outage = graph_error(2, "An unexpected error has occurred. Please retry your request later.")
    return [
        exchange(
            "POST",
            uri(f"{comment}/comments"),
            reply,
            200,
            {"id": "10158407654328553_10158409984103553"},
        ),
        exchange("POST", uri("me/messages"), send, 500, outage),
        exchange("POST", uri("me/messages"), send, 200, sent),
    ]


def main() -> None:
    write("conversations", conversation_interactions())
    write("messages", conversation_interactions() + message_interactions())
    write(
        "messages_malformed",
        conversation_interactions() + message_interactions(broken_thread="t_233782918546745"),
    )
    write("comments", post_interactions() + comment_interactions())
    write("comments_incremental", post_interactions() + comment_interactions(since=1628793051))
    write("comments_malformed", post_interactions() + comment_interactions(malformed=True))
    write("ratings", rating_interactions())
    write("throttled", throttled_interactions())
    write("expired_token", [get(f"{PAGE}/conversations", CONVERSATIONS_Q, EXPIRED, status=400)])
    write("actions", action_interactions())


if __name__ == "__main__":
    main()
