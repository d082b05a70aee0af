"""Notification channels: one small module per channel behind one interface.

Like redash's destinations: ``CHANNELS[name]`` is an object with
``unavailable(subscriber)`` (the reason to skip, or None), ``address(...)``
and ``send(...)``. ``send`` raises Transient (try again later) or Permanent
(retrying will not help); the delivery job turns those into statuses.
"""
from __future__ import annotations

from typing import Protocol

from notifier.models import Subscriber
from notifier.channels.notification import Notification
from notifier.channels.recordings import Recording


class SendError(Exception):
    """A failed send; ``str()`` is the reason shown in the «Журнал» (Russian, token-free)."""


class Transient(SendError):
    """Worth retrying: network errors, timeouts, SMTP 4xx, Telegram 5xx/429."""

    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class Permanent(SendError):
    """Retrying will not help: SMTP 5xx, Telegram 400/403.

    ``unlink`` is set when the employee's Telegram chat is gone (blocked bot,
    deactivated user), so the employee is shown as not linked.
    """

    def __init__(self, message: str, unlink: bool = False):
        super().__init__(message)
        self.unlink = unlink


class Channel(Protocol):
    name: str
    health_key: str  # notifier.channels.checks channel name

    def unavailable(self, subscriber: Subscriber) -> str | None: ...

    def address(self, subscriber: Subscriber) -> str: ...

    def send(self, note: Notification, subscriber: Subscriber,
             recording: Recording | None, recording_error: str | None) -> None: ...


def get(name: str) -> Channel | None:
    from notifier.channels import email, telegram

    return {"email": email.CHANNEL, "telegram": telegram.CHANNEL}.get(name)
