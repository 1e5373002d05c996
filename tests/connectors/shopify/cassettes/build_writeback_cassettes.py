"""Builds the write-back queue's Shopify cassettes from the recorded ones next to it.

Run from the repository root:
``.venv/bin/python tests/connectors/shopify/cassettes/build_writeback_cassettes.py``.

* ``writeback_throttled.yaml`` — the tag action's first read (``write_tag_customer.yaml``)
  answered five times (the session's attempts) by the live 429 of
  ``orders_rate_limited.yaml``, with ``Retry-After`` set to ``0`` so that the test
  does not wait: the job then records a FAILED attempt and retries later.
* ``writeback_unauthorized.yaml`` — the same read answered by the 401 of
  ``customers_unauthorized.yaml`` (a revoked or wrong access token).
"""

from __future__ import annotations

import copy
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
ATTEMPTS = 5  # connectors.base.policy.RetryPolicy.max_attempts


def interactions(name: str) -> list[dict]:
    return yaml.safe_load((HERE / name).read_text())["interactions"]


class _Plain(yaml.SafeDumper):
    def ignore_aliases(self, data: object) -> bool:  # every interaction written out in full
        return True


def write(name: str, comment: str, played: list[dict]) -> None:
    body = yaml.dump({"interactions": played, "version": 1}, Dumper=_Plain, allow_unicode=True,
                     sort_keys=False, width=100)
    (HERE / name).write_text(f"# {comment}\n{body}")


def main() -> None:
    read_tags = interactions("write_tag_customer.yaml")[0]["request"]
    throttled = copy.deepcopy(interactions("orders_rate_limited.yaml")[0]["response"])
    throttled["headers"]["Retry-After"] = ["0"]
    write("writeback_throttled.yaml",
          "Built by build_writeback_cassettes.py: the tag read throttled on every attempt.",
          [{"request": read_tags, "response": throttled} for _ in range(ATTEMPTS)])
    refused = interactions("customers_unauthorized.yaml")[0]["response"]
    write("writeback_unauthorized.yaml",
          "Built by build_writeback_cassettes.py: the tag read refused with a 401.",
          [{"request": read_tags, "response": refused}])


if __name__ == "__main__":
    main()
