"""Security defaults shared by every response: headers, password hashing,
login throttling."""
from __future__ import annotations

import functools
import hashlib
import math
import secrets
import threading
import time

from flask import Flask, current_app, request
from werkzeug.security import check_password_hash, generate_password_hash

from notifier.core.backoff import Backoff

# htmx is loaded from static/ and configured by a <meta> tag, so no inline script is needed.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; "
    "form-action 'self'; base-uri 'none'; object-src 'none'"
)


def init_app(app: Flask) -> None:
    _dummy_hash()  # made now, so that the first login for an unknown email is not the slow one

    @app.after_request
    def _headers(response):
        h = response.headers
        h.setdefault("X-Content-Type-Options", "nosniff")
        h.setdefault("X-Frame-Options", "DENY")
        h.setdefault("Referrer-Policy", "same-origin")
        h.setdefault("Content-Security-Policy", CSP)
        if response.mimetype == "text/html":
            h.setdefault("Cache-Control", "no-store")
        if request.is_secure:
            h.setdefault("Strict-Transport-Security", "max-age=31536000")
        return response


def hash_password(password: str) -> str:
    """scrypt (Werkzeug's default KDF): memory-hard, no extra dependency."""
    return generate_password_hash(password, method="scrypt")


def verify_password(stored_hash: str | None, password: str) -> bool:
    """Check a password; with no account (``stored_hash`` None) do the same
    scrypt work against a throw-away hash and answer False, so the time a login
    takes does not tell whether the email exists."""
    if stored_hash is None:
        check_password_hash(_dummy_hash(), password)
        return False
    return check_password_hash(stored_hash, password)


@functools.cache
def _dummy_hash() -> str:
    """A hash with today's parameters of a password nobody knows (made once per process)."""
    return hash_password(secrets.token_urlsafe(16))


def token_digest(token: str) -> str:
    """Random tokens are stored only as SHA-256 digests (they carry 256 bits of entropy)."""
    return hashlib.sha256(token.encode()).hexdigest()


class LoginThrottle:
    """Password tries (login, and the current password on a password change)
    slowed down without letting a stranger lock the owner out.

    Tries are counted per (account, client address) and per client address,
    never per account alone: five wrong passwords from five addresses used to
    lock the admin out everywhere for 15 minutes. Each scope allows a few free
    failures, then waits that double up to a cap (notifier.core.backoff).

    A try is counted when it starts and taken back when the password was right,
    so that parallel requests cannot all pass the check before any failure is
    recorded. Counts live in Redis (optimistic transactions) so all web
    processes share them; if Redis is down, in-process counts still slow guessing.
    The client address is ``request.remote_addr`` as ProxyFix sets it from
    TRUSTED_PROXIES (see notifier.config).
    """

    _local: dict[str, tuple[int, float]] = {}
    _lock = threading.Lock()

    def __init__(self, per_account_and_address: Backoff, per_address: Backoff, forget_after: int):
        self.policies = (per_account_and_address, per_address)
        self.forget_after = forget_after

    @classmethod
    def from_config(cls, cfg) -> "LoginThrottle":
        first, cap = cfg["LOGIN_FIRST_WAIT_SECONDS"], cfg["LOGIN_MAX_WAIT_SECONDS"]
        return cls(Backoff(cfg["LOGIN_FREE_ATTEMPTS"], first, cap),
                   Backoff(cfg["LOGIN_ADDRESS_FREE_ATTEMPTS"], first, cap),
                   cfg["LOGIN_FORGET_SECONDS"])

    @staticmethod
    def keys(account: str, address: str) -> tuple[str, str]:
        account = account.strip().lower()
        return f"login-fail:account-address:{address}:{account}", f"login-fail:address:{address}"

    def begin(self, account: str, address: str) -> int:
        """Count a try and answer 0, or answer the whole seconds the client must
        wait first (then nothing is counted, so waiting it out always works)."""
        now = time.time()  # wall time: shared by every web process

        def decide(states):
            wait = max(policy.retry_after(n, last, now) for policy, (n, last) in zip(self.policies, states))
            if wait > 0:
                return math.ceil(wait), None
            return 0, [(n + 1, now) for n, _ in states]

        return self._update(self.keys(account, address), decide)

    def succeeded(self, account: str, address: str) -> None:
        """The password was right: forget this account's failures from this
        address, and take back the try counted against the address."""
        self._update(self.keys(account, address),
                     lambda states: (None, [(0, 0.0), (states[1][0] - 1, states[1][1])]))

    def _update(self, keys, decide):
        try:
            from notifier.runtime.redis_conn import get_redis

            return get_redis().transaction(lambda pipe: self._in_redis(pipe, keys, decide), *keys,
                                           value_from_callable=True)
        except Exception as exc:  # redis errors, or no Redis configured at all
            current_app.logger.warning("login throttle: Redis unavailable (%s), using in-process counts", exc)
            with self._lock:
                states = [self._local.get(key, (0, 0.0)) for key in keys]
                result, new = decide(states)
                for key, state in zip(keys, new or ()):
                    if state[0] > 0:
                        self._local[key] = state
                    else:
                        self._local.pop(key, None)
                return result

    def _in_redis(self, pipe, keys, decide):
        states = []
        for key in keys:
            n, last = pipe.hmget(key, "n", "last")
            states.append((int(n or 0), float(last or 0)))
        result, new = decide(states)
        pipe.multi()
        for key, (n, last) in zip(keys, new or ()):
            if n > 0:
                pipe.hset(key, mapping={"n": n, "last": last})
                pipe.expire(key, self.forget_after)
            else:
                pipe.delete(key)
        return result
