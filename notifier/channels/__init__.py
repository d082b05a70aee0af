"""Notification channels: one small module per channel behind one interface.

Like redash's destinations: ``CHANNELS[name]`` is an object with
``unavailable(subscriber)`` (the reason to skip, or None), ``address(...)``
and ``send(...)``. ``send`` raises Transient (try again later) or Permanent
(retrying will not help); the delivery job turns those into statuses.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from notifier.channels.notification import Notification
from notifier.channels.recordings import Recording
from notifier.models import Subscriber


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


def _nothing() -> None:
    return None


@dataclass(frozen=True)
class Attempt:
    """The delivery a send is for.

    ``key`` is the same on every try of one delivery and differs between
    deliveries (the email's Message-ID is built from it), so a copy sent again
    after a crash is recognisable as the same message. ``accepted`` is called
    by a channel the moment the far side has taken the message when more of
    the conversation follows (SMTP's QUIT): the delivery is then recorded as
    sent at once, and a failure or a crash after that point sends nothing twice.
    """

    key: str
    accepted: Callable[[], None] = _nothing


class Channel(Protocol):
    name: str
    health_key: str  # notifier.channels.checks channel name

    def unavailable(self, subscriber: Subscriber) -> str | None: ...

    def address(self, subscriber: Subscriber) -> str: ...

    def send(self, note: Notification, subscriber: Subscriber,
             recording: Recording | None, recording_error: str | None,
             attempt: Attempt | None = None) -> None: ...


def get(name: str) -> Channel | None:
    from notifier.channels import email, telegram

    return {"email": email.CHANNEL, "telegram": telegram.CHANNEL}.get(name)
