"""Rebuild this folder's cassettes from the shared Mailchimp recordings (see README.md).

    .venv/bin/python tests/connectors/mailchimp/cassettes/build_cassettes.py [FIXTURES]

FIXTURES defaults to ``../shared/fixtures/mailchimp`` (from the repository root). Bodies and
headers are the recorded ones; the request side is what the connector sends (its query and
JSON bodies), since the recordings were made by another client. Anything not recorded is
marked DERIVED or CONSTRUCTED below and in README.md.
"""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path
from urllib.parse import urlencode

import yaml

HERE = Path(__file__).parent
ROOT = "https://us3.api.mailchimp.com/3.0/"
LIST = "a36b032126"
MEMBERS = {"sort_field": "last_changed", "sort_dir": "ASC"}


def load(fixtures: Path) -> dict:
    def cassette(name: str) -> list[dict]:
        path = fixtures / f"grouparoo+grouparoo__{name}.vcr.yaml"
        return yaml.safe_load(path.read_text())["interactions"]

    airbyte = json.loads(
        (fixtures / "airbytehq+airbyte__source-mailchimp_expected_records.json").read_text()
    )
    return {
        "import": cassette("import_importRecords"),
        "export": cassette("export_exportRecord"),
        "airbyte": {r["stream"]: r["data"] for r in airbyte["records"]},
    }


def url(path: str, params: dict | None = None) -> str:
    return ROOT + path + ("?" + urlencode(params) if params else "")


def reply(recorded: dict, body: str | None = None, status: int | None = None) -> dict:
    """A recorded response, optionally with another body (Content-Length kept true)."""
    response = copy.deepcopy(recorded["response"])
    if body is not None:
        response["body"]["string"] = body
    if status is not None:
        response["status"] = {
            "code": status,
            "message": {429: "Too Many Requests", 401: "Unauthorized"}[status],
        }
    headers = response["headers"]
    headers.pop("Content-Length", None)
    if response["body"]["string"]:
        headers["Content-Length"] = [str(len(response["body"]["string"].encode()))]
    return response


def interaction(method: str, uri: str, response: dict, body: dict | None = None) -> dict:
    return {
        "request": {
            "method": method,
            "uri": uri,
            "body": json.dumps(body) if body is not None else None,
            "headers": {},
        },
        "response": response,
    }


def save(name: str, interactions: list[dict]) -> None:
    text = yaml.safe_dump({"interactions": interactions, "version": 1}, sort_keys=False, width=1000)
    (HERE / f"{name}.yaml").write_text(text)


def problem(recorded_404: dict, status: int, title: str, detail: str, request_id: str) -> dict:
    """CONSTRUCTED: Mailchimp's problem+json envelope (as recorded for 404) with another status."""
    body = json.loads(recorded_404["response"]["body"]["string"])
    body.update(title=title, status=status, detail=detail, instance=request_id)
    response = reply(recorded_404, json.dumps(body), status)
    response["headers"]["X-Request-Id"] = [request_id]
    return response


def with_members(page: dict, list_id: str, members: list[dict]) -> str:
    body = json.loads(page["response"]["body"]["string"])
    body.update(members=members, list_id=list_id, total_items=len(members))
    for link in body["_links"]:
        link["href"] = link["href"].replace(LIST, list_id)
    return json.dumps(body)


def build(fx: dict) -> None:
    imp, exp, airbyte = fx["import"], fx["export"], fx["airbyte"]
    lists_page, first_page, empty_page = imp[0], imp[7], imp[9]
    since = {**MEMBERS, "since_last_changed": "2022-02-23T16:25:56.999Z"}

    lists = interaction("GET", url("lists", {"count": 1000, "offset": 0}), reply(lists_page))
    save("lists", [lists])

    def members(params: dict, recorded: dict, body: str | None = None, list_id: str = LIST) -> dict:
        return interaction("GET", url(f"lists/{list_id}/members", params), reply(recorded, body))

    page = {"count": 1000, "offset": 0}
    save("members_first_run", [members({**MEMBERS, **page}, first_page)])

    # The recorded account lists a36b032126 twice (the recorder's id rewrite); the other three
    # audiences' member pages are DERIVED: the recorded empty page with their list id.
    listed = [a["id"] for a in json.loads(lists_page["response"]["body"]["string"])["lists"]]
    every = [
        members({**MEMBERS, **page}, first_page)
        if list_id == LIST
        else members(
            {**MEMBERS, **page}, empty_page, with_members(empty_page, list_id, []), list_id
        )
        for list_id in dict.fromkeys(listed)
    ]
    save("members_of_every_audience", [lists, *every])

    small = [
        members({**since, "count": 4, "offset": offset}, imp[i])
        for offset, i in ((0, 12), (4, 13), (8, 14))
    ]
    save("members_incremental", small)

    later = {**MEMBERS, "since_last_changed": "2025-02-11T12:13:13.999Z", **page}
    save("members_nothing_new", [members(later, empty_page)])

    # DERIVED: the recorded empty page holding the recorded archived member (a GET by hash).
    archived = json.loads(exp[70]["response"]["body"]["string"])
    save(
        "archived_members",
        [
            members(
                {**MEMBERS, "status": "archived", **page},
                empty_page,
                with_members(empty_page, LIST, [archived]),
            )
        ],
    )

    # CONSTRUCTED around real bodies: a 200 whose body is an HTML error page, after a real page.
    html = reply(imp[13], "<html><body><h1>502 Bad Gateway</h1></body></html>")
    html["headers"]["Content-Type"] = ["text/html"]
    save("malformed_page", [small[0], interaction("GET", small[1]["request"]["uri"], html)])

    not_found = exp[0]
    throttled = problem(
        not_found,
        429,
        "Too Many Requests",
        "You have exceeded the limit of 10 simultaneous connections.",
        "5b1dc3c1-2c94-4b2e-a3a5-6a0d07ba2b1c",
    )
    save("rate_limited", [interaction("GET", lists["request"]["uri"], throttled), lists])
    refused = problem(
        not_found,
        401,
        "API Key Invalid",
        "Your API key may be invalid, or you've attempted to access the wrong datacenter.",
        "0c2f36fb-4c7e-4f6e-9a53-4c1b6b3a3f0e",
    )
    save("invalid_key", [interaction("GET", lists["request"]["uri"], refused)])

    # DERIVED from Airbyte's records (bodies only): the draft campaign re-dated as the sent
    # campaign 7847cdaeff its activity and unsubscribe records name, sent when its audience's
    # stats say the last campaign went out; activity un-flattened to the API's emails[].activity[].
    sent = copy.deepcopy(airbyte["campaigns"])
    sent.update(
        id="7847cdaeff", status="sent", send_time=airbyte["lists"]["stats"]["campaign_last_sent"]
    )
    opened = airbyte["email_activity"]
    recipient = {
        k: opened[k]
        for k in ("campaign_id", "list_id", "list_is_active", "email_id", "email_address")
    }
    thomas = airbyte["list_members"]
    emails = [
        {**recipient, "activity": [{k: opened[k] for k in ("action", "timestamp", "ip")}]},
        {
            **recipient,
            "email_id": thomas["id"],
            "email_address": thomas["email_address"],
            "activity": [
                {
                    "action": "click",
                    "timestamp": "2022-12-27T08:41:02+00:00",
                    "url": sent["long_archive_url"],
                    "ip": opened["ip"],
                },
                {"action": "bounce", "type": "soft", "timestamp": "2022-12-27T08:37:58+00:00"},
            ],
        },
    ]
    json_headers = reply(first_page)
    campaigns = copy.deepcopy(json_headers)
    campaigns["body"]["string"] = json.dumps({"campaigns": [sent], "total_items": 1})
    activity = copy.deepcopy(json_headers)
    activity["body"]["string"] = json.dumps(
        {"emails": emails, "campaign_id": sent["id"], "total_items": len(emails)}
    )
    for response in (campaigns, activity):
        response["headers"].pop("Link")
        response["headers"]["Content-Length"] = [str(len(response["body"]["string"].encode()))]
    save(
        "campaigns_and_activity",
        [
            interaction(
                "GET",
                url(
                    "campaigns",
                    {
                        "status": "sent",
                        "sort_field": "send_time",
                        "sort_dir": "ASC",
                        "count": 1000,
                        "offset": 0,
                    },
                ),
                campaigns,
            ),
            interaction(
                "GET",
                url(f"reports/{sent['id']}/email-activity", {"count": 1000, "offset": 0}),
                activity,
            ),
        ],
    )

    member = f"lists/{LIST}/members/5eb0d793a5aa4f1b9fd29305d6afbf7c"
    email = "wx3ti580f4ycqy185cumm@grouparoo.com"
    subscribe = {"email_address": email, "status_if_new": "subscribed", "status": "subscribed"}
    removal = json.loads(exp[56]["request"]["body"])
    save(
        "write_back",
        [
            interaction("PUT", url(member), reply(exp[23]), subscribe),
            interaction("PATCH", url(member), reply(exp[17]), {"status": "unsubscribed"}),
            interaction(
                "POST",
                url(member + "/tags"),
                reply(exp[45]),
                json.loads(exp[45]["request"]["body"]),
            ),
            interaction(
                "POST",
                url(f"lists/{LIST}/members/f0f4a3247e34526684cc57236c91d4da/tags"),
                reply(exp[56]),
                removal,
            ),
            interaction(
                "POST", url(member + "/tags"), reply(exp[0]), json.loads(exp[0]["request"]["body"])
            ),
        ],
    )


if __name__ == "__main__":
    build(load(Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/fixtures/mailchimp")))
