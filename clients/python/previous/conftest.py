"""The old client's tests share one client generated from the previous spec."""

from __future__ import annotations

import os
from collections.abc import Iterator

import httpx
import pytest
from taskman_client import Client


@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    base_url = os.environ.get("TASKMAN_URL")
    if not base_url:
        pytest.fail("TASKMAN_URL is not set (e.g. http://127.0.0.1:8080)")
    # The previous spec declares bearer auth; the server under test runs
    # without a token, so the plain Client is what such a user has.
    with Client(base_url=base_url, timeout=httpx.Timeout(30.0), raise_on_unexpected_status=True) as c:
        yield c
