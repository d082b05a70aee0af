"""Long polling of the bot's updates, run by ``python worker.py`` in a thread
next to RQ's work loop.

One poller at a time across all workers: a Redis lock is held while polling; a
worker that does not hold it looks again every LOCK_RETRY seconds and takes over
when the holder dies. The lock's TTL is short (LOCK_TTL) and a second thread
renews it every LOCK_RENEW seconds while the poll thread makes progress, however
long one getUpdates or one answer takes: after a worker is killed, another one
polls within LOCK_TTL + LOCK_RETRY seconds (it took up to two minutes with a
TTL long enough to cover a whole poll). The thread idles while no token is
configured or webhook mode is on, so a token saved in Settings is picked up
without a restart.

``step()`` is one iteration (tests call it directly); ``run()`` loops over it.
"""
from __future__ import annotations

import logging
import threading
import time

import redis
from flask import Flask
from redis.exceptions import LockError

from notifier.extensions import db
from notifier.pipeline.queueing import worker_connection
from notifier.runtime.singleton_loop import SingletonLoop
from notifier.services import settings
from notifier.telegram import bot
from notifier.telegram.api import BotAPI, TelegramError

log = logging.getLogger(__name__)

LOCK_KEY = "telegram:poller-lock"
POLL_TIMEOUT = 25      # getUpdates long-poll seconds
LOCK_TTL = 15          # a dead poller's lock is free after this at most
LOCK_RENEW = 5         # the holder renews its lock this often (well within LOCK_TTL)
LOCK_RETRY = 5         # another worker polls: look again after this
STUCK_AFTER = 120      # a poll thread without progress this long (> one getUpdates + one answer)
                       # is stuck: its lock is no longer renewed, another worker takes over
IDLE = 30              # no token, or webhook mode
MAX_BACKOFF = 60       # network / server errors: 2, 4, 8 ... seconds up to this
AUTH_BACKOFF = 300     # bad token: Telegram will not change its mind soon
MAX_REPLY_WAIT = 60    # longest 429 retry_after worth waiting for before answering


class Poller(SingletonLoop):
    name = "telegram-poller"
    max_backoff = MAX_BACKOFF

    def __init__(self, app: Flask, connection: redis.Redis | None = None,
                 poll_timeout: int = POLL_TIMEOUT):
        super().__init__(connection or worker_connection(app), LOCK_KEY, LOCK_TTL)
        self.app = app
        self.poll_timeout = poll_timeout
        self._api: BotAPI | None = None
        self._api_key: tuple[str, str] | None = None
        self._keeper: threading.Thread | None = None
        self._progress = time.monotonic()  # the poll thread's last sign of life
        self._webhook_checked: tuple[str, str] | None = None

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
            if api is not None and self._webhook_checked != self._api_key:
                self._check_webhook(api)
            return IDLE
        if not self.hold_lock():
            return LOCK_RETRY
        try:
            self._progress = time.monotonic()
            updates = api.get_updates(offset=bot.stored_offset(), timeout=self.poll_timeout)
        except TelegramError as e:
            return self._failed(e)
        for update in updates:
            if self.stopping.is_set() or not self.hold_lock():
                break  # not confirmed: the next poller gets the rest
            self._progress = time.monotonic()
            bot.process(update, api, MAX_REPLY_WAIT, self.stopping.wait)
        self.failures = 0
        if bot.record_ok():
            db.session.commit()
        return 0

    def _check_webhook(self, api: BotAPI) -> None:
        """Once per token in webhook mode: make sure Telegram sends button presses too."""
        try:
            bot.upgrade_webhook(api)
            self._webhook_checked = self._api_key
        except TelegramError as e:  # asked again next round
            log.warning("Telegram webhook not checked: %s", e)

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

    # -- the lock renewal ---------------------------------------------------------
    def keep_lock(self) -> None:
        """The keeper thread: renew the lock this poller holds every LOCK_RENEW
        seconds, while the poll thread shows progress."""
        while not self.stopping.wait(LOCK_RENEW):
            if self.lock.local.token is None:
                continue  # not held
            if time.monotonic() - self._progress > STUCK_AFTER:
                log.warning("Telegram poller shows no progress; leaving its lock to expire")
                continue
            try:
                self.lock.reacquire()
            except LockError:
                pass  # lost (expired meanwhile, or released): the poll thread finds out in hold_lock()
            except redis.RedisError as err:
                log.warning("Telegram poller lock not renewed: %s", err)

    def start(self) -> "Poller":
        self._keeper = threading.Thread(target=self.keep_lock, name="telegram-poller-lock", daemon=True)
        self._keeper.start()
        return super().start()

    def stop(self, timeout: float = 5.0) -> None:
        """Ask the loop to end; a getUpdates in flight is abandoned (daemon thread)
        and its updates, never confirmed, go to the next poller."""
        self.stopping.set()
        if self._keeper is not None:
            self._keeper.join(timeout)
        super().stop(timeout)


def start(app: Flask) -> Poller:
    """The worker's poller thread (see notifier.pipeline.worker.main)."""
    return Poller(app).start()
