"""Builds the write-back queue's Facebook cassette from the recorded ones next to it.

Run from the repository root:
``.venv/bin/python tests/connectors/facebook/cassettes/build_writeback_cassettes.py``.

* ``writeback_expired_token.yaml`` — the comment reply of ``actions.yaml`` answered
  by the expired-token error of ``expired_token.yaml`` (400, code 190, subcode 463).
"""

from __future__ import annotations

from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent


def interactions(name: str) -> list[dict]:
    return yaml.safe_load((HERE / name).read_text())["interactions"]


def main() -> None:
    reply = interactions("actions.yaml")[0]["request"]
    expired = interactions("expired_token.yaml")[0]["response"]
    body = yaml.safe_dump({"interactions": [{"request": reply, "response": expired}],
                           "version": 1}, allow_unicode=True, sort_keys=False, width=100)
    (HERE / "writeback_expired_token.yaml").write_text(
        "# Built by build_writeback_cassettes.py: a comment reply refused, the token expired.\n"
        + body)


if __name__ == "__main__":
    main()
