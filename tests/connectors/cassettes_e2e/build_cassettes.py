"""Builds the cassettes of ``test_one_person_three_sources.py`` from the connectors' own cassettes.

Run from the repository root: ``.venv/bin/python tests/connectors/cassettes_e2e/build_cassettes.py``.

One person, Bob Norman of Louisville (Shopify's own fixture customer), arrives
from three platforms. Every response is a recorded one from the connector's
cassettes (see their READMEs and builders for where those bytes come from),
trimmed to that person and rewritten as listed here:

* ``shopify.yaml`` — ``customers_pages.yaml`` page 1 (Bob, customer 207119551)
  and ``orders_pages.yaml`` page 1 (his order #1001). Each is the only page (no
  ``Link`` header). Rewritten: every e-mail of Bob's becomes ``E_MAIL`` (one no
  other test uses: all tests share one database, and identity resolution looks
  across every connection in it); his address phone ``555-625-1199`` becomes
  ``502-555-0147`` (Louisville, fictional 555-01xx range) and the order's
  customer phone ``+16136120707`` the same number in E.164, ``+15025550147``;
  the order's own ``phone`` (a Brazilian ``+557734881234``) is dropped.
* ``mailchimp.yaml`` — ``members_first_run.yaml`` member 1 (audience a36b032126)
  turned into Bob: ``email_address`` is ``E_MAIL`` in other case,
  ``Bob.Norman@Three-Sources.EXAMPLE`` (Mailchimp keeps what the subscriber
  typed), ``id`` its subscriber hash (MD5 of the lower-cased address), names and
  ``merge_fields`` PHONE ``+1 (502) 555-0147`` and ADDRESS in Mailchimp's
  documented shape; then ``campaigns_and_activity.yaml``: campaign 7847cdaeff
  with ``recipients.list_id`` set to that audience, and its recorded ``open``
  activity as Bob's (his ``email_id`` and address).
* ``facebook_conversations.yaml`` / ``facebook_messages.yaml`` —
  ``messages.yaml``'s first conversation (t_587956915396498) and its two messages,
  one page each, with the participant "Kun Liu" replaced by Bob under a
  synthetic page-scoped id ``PSID``. His ``email`` stays what Graph really
  returns for ``participants{email}``: the relay ``<PSID>@facebook.com``, never a
  person's address (see the test's docstring). The messages file replays the
  conversations page first: ``messages`` is a child stream that lists them again.

Request URIs are the ones the connectors send; request headers are not stored
(none of the tests match on them), and no token is in any file.
"""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
CONNECTORS = HERE.parent
E_MAIL = "bob.norman@three-sources.example"
MAILCHIMP_E_MAIL = "Bob.Norman@Three-Sources.EXAMPLE"
PHONE_NATIONAL, PHONE_E164, PHONE_MAILCHIMP = "502-555-0147", "+15025550147", "+1 (502) 555-0147"
LIST_ID = "a36b032126"
PSID = "5550000000000042"
PAGE = "2121008874780932"
CONVERSATION = "t_587956915396498"


def recorded(connector: str, cassette: str) -> list[dict[str, Any]]:
    path = CONNECTORS / connector / "cassettes" / f"{cassette}.yaml"
    return yaml.safe_load(path.read_text())["interactions"]


def body(interaction: dict[str, Any]) -> Any:
    return json.loads(interaction["response"]["body"]["string"])


def answer(interaction: dict[str, Any], new_body: Any, drop_headers: tuple[str, ...] = ()) -> dict:
    """The recorded exchange with another body (and without the named response headers)."""
    out = copy.deepcopy(interaction)
    out["request"]["headers"] = {}
    out["response"]["body"] = {"string": json.dumps(new_body, ensure_ascii=False)}
    headers = out["response"]["headers"]
    for name in [h for h in headers if h.lower() in drop_headers or h.lower() == "content-length"]:
        del headers[name]
    return out


def write(name: str, interactions: list[dict[str, Any]]) -> None:
    header = "# Built by build_cassettes.py from the connectors' cassettes; see its docstring.\n"
    text = yaml.safe_dump({"interactions": interactions, "version": 1}, allow_unicode=True,
                          sort_keys=False, width=100)
    (HERE / f"{name}.yaml").write_text(header + text)


def subscriber_hash(email: str) -> str:
    return hashlib.md5(email.strip().lower().encode(), usedforsecurity=False).hexdigest()


# -- Shopify --------------------------------------------------------------------------------


def shopify() -> list[dict[str, Any]]:
    customers = recorded("shopify", "customers_pages")[0]
    bob = body(customers)["customers"][0]
    assert bob["id"] == 207119551
    bob["email"] = E_MAIL
    for address in [bob["default_address"], *bob["addresses"]]:
        address["phone"] = PHONE_NATIONAL

    orders = recorded("shopify", "orders_pages")[0]
    order = body(orders)["orders"][0]
    assert order["id"] == 450789469 and order["customer"]["id"] == 207119551
    order["email"] = order["contact_email"] = order["customer"]["email"] = E_MAIL
    order["customer"]["phone"] = PHONE_E164
    order["phone"] = None
    for key in ("billing_address", "shipping_address"):
        order[key]["phone"] = PHONE_NATIONAL
    default = order["customer"].get("default_address")
    if isinstance(default, dict):
        default["phone"] = PHONE_NATIONAL
    return [answer(customers, {"customers": [bob]}, ("link",)),
            answer(orders, {"orders": [order]}, ("link",))]


# -- Mailchimp ------------------------------------------------------------------------------


def mailchimp() -> list[dict[str, Any]]:
    members = recorded("mailchimp", "members_first_run")[0]
    page = body(members)
    member = {k: v for k, v in page["members"][0].items() if k != "_links"}
    member.update(
        id=subscriber_hash(MAILCHIMP_E_MAIL), email_address=MAILCHIMP_E_MAIL,
        full_name="Bob Norman", list_id=LIST_ID,
    )
    member["merge_fields"].update(
        FNAME="Bob", LNAME="Norman", PHONE=PHONE_MAILCHIMP,
        ADDRESS={"addr1": "Chestnut Street 92", "addr2": "", "city": "Louisville",
                 "state": "KY", "zip": "40202", "country": "US"},
    )
    members_page = {"members": [member], "list_id": LIST_ID, "total_items": 1}

    campaigns, activity = recorded("mailchimp", "campaigns_and_activity")
    campaign_page = body(campaigns)
    campaign_page["campaigns"][0]["recipients"]["list_id"] = LIST_ID
    activity_page = body(activity)
    opened = next(e for e in activity_page["emails"]
                  if [a["action"] for a in e["activity"]] == ["open"])
    opened.update(list_id=LIST_ID, email_id=subscriber_hash(MAILCHIMP_E_MAIL),
                  email_address=MAILCHIMP_E_MAIL)
    activity_page.update(emails=[opened], total_items=1)
    return [answer(members, members_page), answer(campaigns, campaign_page),
            answer(activity, activity_page)]


# -- Facebook -------------------------------------------------------------------------------


def facebook() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    tape = recorded("facebook", "messages")
    conversations = next(i for i in tape if i["request"]["uri"].endswith("limit=50")
                         and "/conversations?" in i["request"]["uri"])
    messages = next(i for i in tape if f"/{CONVERSATION}/messages?" in i["request"]["uri"]
                    and "after=" not in i["request"]["uri"])
    bob = {"name": "Bob Norman", "email": f"{PSID}@facebook.com", "id": PSID}

    def as_bob(value: Any) -> Any:
        if isinstance(value, dict):
            if value.get("name") == "Kun Liu":
                return dict(bob)
            return {k: as_bob(v) for k, v in value.items()}
        if isinstance(value, list):
            return [as_bob(v) for v in value]
        return value

    page = body(conversations)
    conversation = as_bob(page["data"][0])
    assert conversation["id"] == CONVERSATION
    listing = {"data": [conversation], "paging": {"cursors": {"before": "before",
                                                               "after": "after"}}}
    thread = as_bob(body(messages))
    thread["data"][0]["message"] = "Hi! Has my order #1001 shipped?"
    del thread["paging"]["next"]
    first = answer(conversations, listing)
    return [first], [first, answer(messages, thread)]


def main() -> None:
    write("shopify", shopify())
    write("mailchimp", mailchimp())
    conversations, messages = facebook()
    write("facebook_conversations", conversations)
    write("facebook_messages", messages)


if __name__ == "__main__":
    main()
