"""The worker's AMI connection to Asterisk / FreePBX, run by ``python worker.py``
in a thread next to RQ's work loop (like the Telegram poller).

One connection across all worker processes: a Redis lock with a short TTL
(LOCK_TTL), renewed every LOCK_RENEW seconds by the reading loop itself while
it is connected; a worker that does not hold it looks again every LOCK_RETRY
seconds, so a killed worker's place is taken within LOCK_TTL + LOCK_RETRY.
The reading loop never blocks longer than READ_TIMEOUT, so a loop that stops
renewing is a stuck one, and its lock expires.

Connection: ``ASTERISK_AMI_URL`` (environment, else saved in Settings; re-read
every CONFIG_CHECK seconds, so a new address is picked up without a restart),
login with ``Events: on``; on a lost connection or a refused login it tries
again after 1, 2, 4 ... MAX_BACKOFF seconds (AUTH_BACKOFF after bad
credentials). The holder writes STATUS_KEY: the connection's state for the
settings card, with a short TTL while connected (a dead worker's "connected"
expires) and a day for errors.

Calls: every AMI event of a call goes through notifier.pbx.asterisk.apply with
the call's state, kept in Redis (CALL_KEY, CALL_TTL) after every event, so a
worker restart or a lost connection mid-call continues with what was seen
before, and one seen twice changes nothing. After each login the listener asks
for Asterisk's channels (CoreShowChannels): a kept call with none of them left
ended while the connection was down, and is translated from what was seen. A finished call's events are
written into its state first (``pending``) and then handed to
``intake.accept``; only then is the state marked delivered. If the database
is down the call stays pending and is retried every PENDING_RETRY seconds;
a crash in between only makes ``accept`` answer "duplicate" next time (the
event ids are derived from the Linkedid), never a second notification.
"""
from __future__ import annotations

import json
import logging
import time
from datetime import datetime, timezone

import redis
from flask import Flask

from notifier.extensions import db
from notifier.pbx import ami, asterisk
from notifier.pbx.base import ACCEPTED, BAD_AUTH, DUPLICATE
from notifier.pipeline import intake
from notifier.runtime.redis_conn import connect
from notifier.runtime.singleton_loop import SingletonLoop
from notifier.services import pbx_status, settings

log = logging.getLogger(__name__)

LOCK_KEY = "asterisk:ami-lock"
STATUS_KEY = "asterisk:ami-status"
CALL_KEY = "asterisk:call:"  # + Linkedid -> the call's state (JSON)
PENDING_KEY = "asterisk:pending"  # set of Linkedids whose events are not taken in yet
MWI_KEY = "asterisk:mwi"  # hash mailbox -> new messages, as last seen

LOCK_TTL = 15
LOCK_RENEW = 5
LOCK_RETRY = 5
READ_TIMEOUT = 1.0
CONFIG_CHECK = 10
IDLE = 10  # no address configured: look again after this
MAX_BACKOFF = 60
AUTH_BACKOFF = 60
PENDING_RETRY = 10
STATUS_TTL = 3 * LOCK_RENEW  # "connected" outlives its writer by at most this
ERROR_TTL = 24 * 3600
CALL_TTL = 12 * 3600  # a call's state (longer calls are translated from what is seen after)
DONE_TTL = 3600  # a finished call's marker: late events of it change nothing
MAX_RAW = 80  # AMI events kept per call for «Журнал»
RAW_FIELDS = ("Event", "Channel", "Uniqueid", "CallerIDNum", "Exten", "Context", "DestChannel", "DestUniqueid",
              "DestCallerIDNum", "DialString", "DialStatus", "Cause", "Cause-txt", "Queue", "Mailbox", "New", "Old")

CONNECTED, CONNECTING, FAILED, REFUSED, OFF = "connected", "connecting", "error", "bad_auth", "off"


def now() -> datetime:
    return datetime.now(timezone.utc)


def read_status(connection: redis.Redis) -> dict | None:
    """The connection's state as the holder last wrote it (None: no worker wrote one lately)."""
    raw = connection.get(STATUS_KEY)
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None


def configured_target(app: Flask) -> tuple[str | None, asterisk.AmiTarget | None, str]:
    """(the URL, its parts or None, why not) from the environment or Settings."""
    with app.app_context():
        try:
            url = settings.pbx_credentials(asterisk.VENDOR).get(asterisk.URL_KEY)
        finally:
            db.session.remove()
    if not url:
        return None, None, "адрес AMI не задан"
    try:
        return url, asterisk.parse_url(url), ""
    except ValueError as err:
        return url, None, str(err)


class Listener(SingletonLoop):
    name = "asterisk-ami"
    max_backoff = MAX_BACKOFF

    def __init__(self, app: Flask, connection: redis.Redis | None = None):
        super().__init__(connection or connect(app.config["REDIS_URL"], socket_timeout=10), LOCK_KEY, LOCK_TTL)
        self.app = app
        self.connects = 0  # successful logins so far (tests and logs)
        self._conn: ami.Connection | None = None
        self._last_error: tuple[str, str] | None = None

    # -- status --------------------------------------------------------------------
    def _status(self, state: str, detail: str = "", target: asterisk.AmiTarget | None = None, **extra) -> None:
        value = {"state": state, "detail": detail, "at": now().isoformat(timespec="seconds"),
                 "target": str(target) if target else "", **extra}
        ttl = STATUS_TTL if state in (CONNECTED, CONNECTING) else ERROR_TTL
        try:
            self.redis.set(STATUS_KEY, json.dumps(value, ensure_ascii=False), ex=ttl)
        except redis.RedisError:
            pass

    def _record_once(self, outcome: str, detail: str) -> None:
        """Count a refused login in Settings once per change, not once per retry."""
        if self._last_error == (outcome, detail):
            return
        self._last_error = (outcome, detail)
        with self.app.app_context():
            try:
                pbx_status.record(asterisk.SLUG, outcome, detail)
            finally:
                db.session.remove()

    # -- one connection ------------------------------------------------------------
    def step(self) -> float:
        """Connect and read until the connection ends; the seconds to wait before the next try."""
        url, target, problem = configured_target(self.app)
        if target is None:
            self.release()
            if url:
                self._status(FAILED, problem)
            else:
                self._status(OFF, problem)
            return IDLE
        if not self.hold_lock():
            return LOCK_RETRY
        self._status(CONNECTING, "", target)
        try:
            conn = ami.Connection.open(target.host, target.port)
        except ami.AmiError as err:
            return self._failed(target, FAILED, str(err))
        self._conn = conn
        try:
            try:
                conn.login(target.username, target.secret, events="on")
            except ami.AuthFailed as err:
                self._record_once(BAD_AUTH, str(err))
                self._status(REFUSED, str(err), target)
                log.warning("AMI login to %s refused: %s", target, err)
                self.failures += 1
                return AUTH_BACKOFF
            self.failures = 0
            self.connects += 1
            self._last_error = None
            log.info("AMI connected to %s (%s)", target, conn.banner)
            self.serve(conn, url, target)
            return 0 if self.stopping.is_set() else min(2 ** self.failures, MAX_BACKOFF)
        except ami.AmiError as err:
            return self._failed(target, FAILED, str(err))
        finally:
            self._conn = None
            conn.close()

    def _failed(self, target, state: str, detail: str) -> float:
        self.failures += 1
        self._status(state, detail, target)
        log.warning("AMI connection to %s: %s", target, detail)
        return min(2 ** (self.failures - 1), MAX_BACKOFF)

    def serve(self, conn: ami.Connection, url: str, target: asterisk.AmiTarget) -> None:
        """Read events until the connection drops, the lock is lost, the address changes or a stop."""
        connected_at = now()
        since = connected_at.isoformat(timespec="seconds")
        renewed = checked = retried = time.monotonic()
        self._status(CONNECTED, conn.banner, target, since=since)
        self.flush_pending()
        listing = conn.send({"Action": "CoreShowChannels"})  # calls that ended while we were away
        live: set[str] = set()
        while not self.stopping.is_set():
            message = conn.read(READ_TIMEOUT)  # ConnectionLost ends this connection
            if message is not None and message.get("ActionID") == listing and "Event" in message:
                if message["Event"] == "CoreShowChannel":
                    live.add(message.get("Linkedid") or message.get("Uniqueid") or "")
                elif message["Event"] == "CoreShowChannelsComplete":
                    self.close_calls_not_in(live, before=connected_at.isoformat())
            elif message is not None and "Event" in message:
                self.handle(message)
            moment = time.monotonic()
            if moment - renewed >= LOCK_RENEW:
                renewed = moment
                if not self.hold_lock():
                    log.warning("AMI lock lost; another worker takes over")
                    return
                self._status(CONNECTED, conn.banner, target, since=since)
            if moment - checked >= CONFIG_CHECK:
                checked = moment
                if configured_target(self.app)[0] != url:
                    log.info("AMI address changed; reconnecting")
                    return
            if moment - retried >= PENDING_RETRY:
                retried = moment
                self.flush_pending()

    # -- events ----------------------------------------------------------------------
    def handle(self, message: dict[str, str], at: datetime | None = None) -> None:
        at = at or now()
        if message.get("Event") == "MessageWaiting":
            self._voicemail(message, at)
            return
        linkedid = asterisk.call_key(message)
        if linkedid is None:
            return
        key = CALL_KEY + linkedid
        raw = self.redis.get(key)
        try:
            state = json.loads(raw) if raw else None
        except ValueError:
            state = None
        if state is not None and state.get("done"):
            return
        state, events = asterisk.apply(state, message, at)
        if state is None:
            return
        state["heard"] = at.isoformat()
        seen = state.setdefault("ami", [])
        if len(seen) < MAX_RAW:
            seen.append({k: message[k] for k in RAW_FIELDS if k in message})
        if not state.get("done"):
            self.redis.set(key, json.dumps(state), ex=CALL_TTL)
            return
        state["pending"] = events
        with self.redis.pipeline() as pipe:
            pipe.set(key, json.dumps(state), ex=CALL_TTL)
            pipe.sadd(PENDING_KEY, linkedid)
            pipe.execute()
        self.deliver(linkedid)

    def close_calls_not_in(self, live: set[str], before: str) -> None:
        """Translate the kept calls none of whose channels Asterisk has any more
        (only those last heard of ``before`` this connection: a call begun since
        may be missing from the list only because it is newer than it)."""
        for key in self.redis.scan_iter(match=CALL_KEY + "*", count=500):
            key = key.decode() if isinstance(key, bytes) else key
            linkedid = key[len(CALL_KEY):]
            raw = self.redis.get(key)
            state = json.loads(raw) if raw else None
            if not state or state.get("done") or linkedid in live or state.get("heard", "") >= before:
                continue
            state, events = asterisk.close_unseen(state)
            state["pending"] = events
            with self.redis.pipeline() as pipe:
                pipe.set(key, json.dumps(state), ex=CALL_TTL)
                pipe.sadd(PENDING_KEY, linkedid)
                pipe.execute()
            log.info("AMI call %s ended while disconnected: %d event(s)", linkedid, len(events))
            self.deliver(linkedid)

    def _voicemail(self, message: dict[str, str], at: datetime) -> None:
        counts = asterisk.new_messages(message)
        if counts is None:
            return
        mailbox, new = counts
        previous = self.redis.hget(MWI_KEY, mailbox)
        event = asterisk.voicemail(message, int(previous) if previous is not None else None, at)
        if event is not None:
            raw = {"ami": [{k: message[k] for k in RAW_FIELDS if k in message}]}
            self._take([event], raw, f"{event['id']}")
        self.redis.hset(MWI_KEY, mailbox, new)

    def deliver(self, linkedid: str) -> bool:
        """Hand a finished call's events to the intake; True when taken (or nothing to take)."""
        key = CALL_KEY + linkedid
        raw = self.redis.get(key)
        state = json.loads(raw) if raw else None
        if not state or not state.get("pending"):
            self.redis.srem(PENDING_KEY, linkedid)
            return True
        if not self._take(state["pending"], {"ami": state.get("ami", [])}, linkedid):
            return False
        done = {"linkedid": linkedid, "done": True, "delivered": [e["id"] for e in state["pending"]]}
        with self.redis.pipeline() as pipe:
            pipe.set(key, json.dumps(done), ex=DONE_TTL)
            pipe.srem(PENDING_KEY, linkedid)
            pipe.execute()
        return True

    def _take(self, events: list[dict], raw: dict, what: str) -> bool:
        with self.app.app_context():
            try:
                results = intake.accept(events, source=asterisk.SLUG, raw=raw)
            except intake.Rejected as err:
                if err.answer.status == 422:  # the translation's bug: keeping it would retry forever
                    log.error("the Asterisk adapter made invalid events %s: %s", what, err.answer.body)
                    pbx_status.record(asterisk.SLUG, "invalid", json.dumps(err.answer.body, ensure_ascii=False))
                    return True
                log.warning("Asterisk call %s not taken in yet: %s", what, err.answer.body)
                return False
            except Exception:
                log.exception("Asterisk call %s not taken in yet", what)
                return False
            finally:
                db.session.remove()
            accepted = any(status == "accepted" for _, status in results)
            detail = ", ".join(f"{i}: {s}" for i, s in results)
            pbx_status.record(asterisk.SLUG, ACCEPTED if accepted else DUPLICATE, detail)
            db.session.remove()
        return True

    def flush_pending(self) -> None:
        for linkedid in self.redis.smembers(PENDING_KEY):
            if self.stopping.is_set() or not self.deliver(linkedid.decode() if isinstance(linkedid, bytes)
                                                           else linkedid):
                return

    def stop(self, timeout: float = 5.0) -> None:
        """End the loop; a read still blocked after ``timeout`` has its socket closed."""
        self.stopping.set()
        conn = self._conn
        if self._thread is not None:
            self._thread.join(timeout)
        if conn is not None and self._thread is not None and self._thread.is_alive():
            conn.close()
        super().stop(0)


def start(app: Flask) -> Listener:
    """The worker's AMI thread (see notifier.pipeline.worker.main); idles until an address is set."""
    return Listener(app).start()
