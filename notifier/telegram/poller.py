"""Long polling of the bot's updates, run by ``python worker.py`` in a thread
next to RQ's work loop.

One poller at a time across all workers: a Redis lock (with a TTL, renewed
before every getUpdates and every update) is held while polling; a worker that
does not hold it looks again every LOCK_RETRY seconds and takes over when the
holder dies. The thread idles while no token is configured or webhook mode is
on, so a token saved in Settings is picked up without a restart.

``step()`` is one iteration (tests call it directly); ``run()`` loops over it.
"""
from __future__ import annotations

import logging
import threading

import redis
from flask import Flask
from redis.exceptions import LockError

from notifier.services import settings
from notifier.telegram import bot
from notifier.extensions import db
from notifier.pipeline.queueing import worker_connection
from notifier.telegram.api import BotAPI, TelegramError

log = logging.getLogger(__name__)

LOCK_KEY = "telegram:poller-lock"
POLL_TIMEOUT = 25      # getUpdates long-poll seconds
LOCK_TTL = 120         # > one getUpdates (POLL_TIMEOUT + read margin) + one update's answer
LOCK_RETRY = 30        # another worker polls: look again after this
IDLE = 30              # no token, or webhook mode
MAX_BACKOFF = 60       # network / server errors: 2, 4, 8 ... seconds up to this
AUTH_BACKOFF = 300     # bad token: Telegram will not change its mind soon
MAX_REPLY_WAIT = 60    # longest 429 retry_after worth waiting for before answering


class Poller:
    def __init__(self, app: Flask, connection: redis.Redis | None = None,
                 poll_timeout: int = POLL_TIMEOUT):
        self.app = app
        self.redis = connection or worker_connection(app)
        self.lock = self.redis.lock(LOCK_KEY, timeout=LOCK_TTL, thread_local=False)
        self.poll_timeout = poll_timeout
        self.stopping = threading.Event()
        self.failures = 0
        self._api: BotAPI | None = None
        self._api_key: tuple[str, str] | None = None
        self._thread: threading.Thread | None = None

    # -- one iteration -------------------------------------------------------------
    def step(self) -> float:
        """Poll once if this process may; return the seconds to wait before the next step."""
        with self.app.app_context():
            try:
                return self._step()
            finally:
                db.session.remove()

    def _step(self) -> float:
        api = self._client()
        if api is None or bot.webhook_url():
            self.release()
            return IDLE
        if not self.hold_lock():
            return LOCK_RETRY
        try:
            updates = api.get_updates(offset=bot.stored_offset(), timeout=self.poll_timeout)
        except TelegramError as e:
            return self._failed(e)
        for update in updates:
            if self.stopping.is_set() or not self.hold_lock():
                break  # not confirmed: the next poller gets the rest
            bot.process(update, api, MAX_REPLY_WAIT, self.stopping.wait)
        self.failures = 0
        if bot.record_ok():
            db.session.commit()
        return 0

    def _client(self) -> BotAPI | None:
        """Reuse one client (and its HTTP connections) while token and URL stay the same."""
        tg = settings.telegram()
        key = (tg.token, tg.api_url) if tg.configured else None
        if key != self._api_key:
            self._api, self._api_key = (BotAPI(*key) if key else None), key
        return self._api

    def _failed(self, err: TelegramError) -> float:
        self.failures += 1
        log.warning("Telegram getUpdates failed: %s", err)
        bot.record_error(err)
        db.session.commit()
        if err.status == 429 and err.retry_after is not None:
            return err.retry_after
        if err.status in (401, 404):  # bad token (404 for a malformed one)
            return AUTH_BACKOFF
        return min(2 ** self.failures, MAX_BACKOFF)

    # -- the lock -----------------------------------------------------------------
    def hold_lock(self) -> bool:
        """Take the lock, or renew it if this poller holds it."""
        try:
            if self.lock.owned():
                self.lock.reacquire()
                return True
            return bool(self.lock.acquire(blocking=False))
        except LockError:  # expired between owned() and reacquire()
            return bool(self.lock.acquire(blocking=False))

    def release(self) -> None:
        try:
            if self.lock.owned():
                self.lock.release()
        except (LockError, redis.RedisError):
            pass  # expired, or Redis is gone: the TTL frees it

    # -- the loop -----------------------------------------------------------------
    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                delay = self.step()
            except Exception:  # Redis or the database is down: back off, keep going
                log.exception("Telegram poller step failed")
                self.failures += 1
                delay = min(2 ** self.failures, MAX_BACKOFF)
            self.stopping.wait(delay)
        self.release()

    def start(self) -> "Poller":
        self._thread = threading.Thread(target=self.run, name="telegram-poller", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Ask the loop to end; a getUpdates in flight is abandoned (daemon thread)
        and its updates, never confirmed, go to the next poller."""
        self.stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self.release()


def start(app: Flask) -> Poller:
    """The worker's poller thread (see notifier.pipeline.worker.main)."""
    return Poller(app).start()
