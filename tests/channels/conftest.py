"""Fixtures for the HTTP channels: a real server on 127.0.0.1 and a client whose pool ends with the test."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from duress.channels.http_client import HttpClient
from tests.channels.http_server import HttpServer


@pytest.fixture
async def server() -> AsyncIterator[HttpServer]:
    peer = await HttpServer().start()
    try:
        yield peer
    finally:
        await peer.stop()


@pytest.fixture
async def http() -> AsyncIterator[HttpClient]:
    client = HttpClient()
    try:
        yield client
    finally:
        await client.aclose()
