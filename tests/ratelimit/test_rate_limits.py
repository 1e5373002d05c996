"""Per-client token buckets on /graphql, paid in query cost, over real HTTP to a live server.

Every test runs twice: buckets in process memory (embedded) and in Redis.
"""

from __future__ import annotations

import re
import time

import httpx

from tests.ratelimit.conftest import COUNT, GRAPHQL_RESPONSE

# With first: 10 this costs 1 + 10 x (edges 1 + node 1 + id 1 + displayName 1) = 41.
PAGE = "query($n: Int!) { customers(first: $n) { edges { node { id displayName } } } }"
POLICY = re.compile(r'^"cost";q=(\d+);w=(\d+)$')
STATE = re.compile(r'^"cost";r=(\d+);t=(\d+)$')


def state(response: httpx.Response) -> tuple[int, int]:
    match = STATE.match(response.headers["ratelimit"])
    assert match, response.headers["ratelimit"]
    return int(match[1]), int(match[2])


def cost(response: httpx.Response) -> int:
    return response.json()["extensions"]["cost"]["estimated"]


def drain(caller, query: str = COUNT, limit: int = 1000, **variables) -> httpx.Response:
    """Send until refused; returns the 429."""
    for _ in range(limit):
        response = caller.post(query, **variables)
        if response.status_code == 429:
            return response
        assert response.status_code == 200, response.text
    raise AssertionError(f"no 429 after {limit} requests")


def test_each_request_pays_its_estimated_cost_and_says_what_is_left(live_hub):
    with live_hub(capacity=1000, refill_per_second=0.5) as (_, caller):
        api = caller()
        first = api.post(PAGE, n=10)
        assert first.status_code == 200, first.text
        price = cost(first)
        assert price == 41
        assert POLICY.match(first.headers["ratelimit-policy"]).groups() == ("1000", "2000")
        assert state(first)[0] == 1000 - price
        second = api.post(COUNT)
        remaining, reset = state(second)
        # A request of cost 2 took 2 more; at most a token or two came back meanwhile.
        assert 1000 - price - cost(second) <= remaining <= 1000 - price - cost(second) + 2
        assert reset >= (price + cost(second) - 2) * 2
        assert "retry-after" not in second.headers


def test_an_empty_bucket_answers_429_with_retry_after_then_recovers(live_hub):
    with live_hub(capacity=100, refill_per_second=10) as (_, caller):
        api = caller()
        refused = drain(api, PAGE, n=10)
        assert refused.headers["content-type"].startswith(GRAPHQL_RESPONSE)
        retry_after = int(refused.headers["retry-after"])
        assert 1 <= retry_after <= 5
        remaining, _ = state(refused)
        assert remaining < 41
        assert POLICY.match(refused.headers["ratelimit-policy"])
        [error] = refused.json()["errors"]
        assert error["extensions"]["code"] == "RATE_LIMITED"
        assert error["extensions"]["cost"] == 41 and error["extensions"]["capacity"] == 100
        assert error["extensions"]["retryAfter"] == retry_after
        assert error["message"].startswith("Rate limit exceeded: this request costs 41")
        assert "data" not in refused.json()

        time.sleep(retry_after + 0.2)
        again = api.post(PAGE, n=10)
        assert again.status_code == 200, again.text


def test_buckets_are_per_client(live_hub):
    with live_hub(capacity=20, refill_per_second=0.1) as (_, caller):
        greedy, other = caller(), caller()
        drain(greedy)
        assert greedy.post().status_code == 429
        assert other.post().status_code == 200


def test_a_query_dearer_than_the_whole_bucket_runs_on_a_full_one_and_empties_it(live_hub):
    with live_hub(capacity=10, refill_per_second=0.1) as (_, caller):
        api = caller()
        big = api.post(PAGE, n=10)
        assert big.status_code == 200 and cost(big) == 41
        assert state(big)[0] == 0
        assert api.post(COUNT).status_code == 429


def test_a_clients_own_limits_win_and_a_client_can_be_exempt(live_hub):
    with live_hub(capacity=1000, refill_per_second=10) as (_, caller):
        small = caller(client_settings={"rate_limit": {"capacity": 4, "refill_per_second": 0.01}})
        response = small.post()
        assert POLICY.match(response.headers["ratelimit-policy"]).groups() == ("4", "400")
        assert drain(small).status_code == 429
        # Read with the token: a change applies to the very next request.
        live_hub.set_client_settings(small.client_id, {"rate_limit": {"enabled": False}})
        assert small.post().status_code == 200

        exempt = caller(client_settings={"rate_limit": {"enabled": False}})
        for _ in range(30):
            response = exempt.post(PAGE, n=10)
            assert response.status_code == 200
            assert "ratelimit" not in response.headers

        nonsense = caller(client_settings={"rate_limit": {"capacity": "lots"}})
        assert POLICY.match(nonsense.post().headers["ratelimit-policy"]).group(1) == "1000"


def test_limits_can_be_switched_off(live_hub):
    with live_hub(enabled=False, capacity=1) as (_, caller):
        api = caller()
        for _ in range(5):
            response = api.post()
            assert response.status_code == 200 and "ratelimit" not in response.headers


def test_no_token_no_bucket(live_hub):
    with live_hub(capacity=1) as (base_url, _):
        response = httpx.post(f"{base_url}/graphql", json={"query": COUNT})
        assert response.status_code == 401
        assert "ratelimit" not in response.headers


def test_two_servers_share_buckets_only_through_redis(live_hub):
    """Memory buckets are per process; Redis ones are the client's wherever it lands."""
    with (
        live_hub(capacity=20, refill_per_second=0.1) as (_, caller_one),
        live_hub(capacity=20, refill_per_second=0.1) as (second_url, _),
    ):
        api = caller_one()
        drain(api)
        elsewhere = httpx.post(
            f"{second_url}/graphql",
            json={"query": COUNT},
            headers={"Authorization": api.http.headers["authorization"]},
        )
        shared = bool(live_hub.store)
        assert elsewhere.status_code == (429 if shared else 200)
