"""Fixtures of the case tests: staff with case scopes."""

from __future__ import annotations

import pytest

from tests.api.cases.people import STAFF_SCOPES
from tests.api.conftest import Api


@pytest.fixture(scope="session")
def staff(http, mint_token) -> Api:
    """An internal app that reads and works cases and feedback."""
    return Api(http, mint_token(STAFF_SCOPES))
