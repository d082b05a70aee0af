"""Reusable pytest fixtures for the fakes; import them from conftest.py:

    from tests.fakes.fixtures import fake_telegram, smtp_server  # noqa: F401

Function scope so failure injection and records never leak between tests.
"""
import pytest

from .smtp_server import FakeSMTP
from .telegram_server import FakeTelegram


@pytest.fixture
def fake_telegram():
    """A running FakeTelegram; pass ``.url`` as TELEGRAM_API_URL, ``.token`` as the token."""
    with FakeTelegram() as tg:
        yield tg


@pytest.fixture
def smtp_server():
    """A running FakeSMTP on 127.0.0.1:``.port`` (no TLS; any AUTH accepted)."""
    with FakeSMTP() as smtp:
        yield smtp
