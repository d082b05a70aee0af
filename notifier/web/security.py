"""Security defaults shared by every response: headers, password hashing,
login throttling."""
from __future__ import annotations

import functools
import hashlib
import secrets
import threading
import time

from flask import Flask, current_app, request
from werkzeug.security import check_password_hash, generate_password_hash

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
    """At most N failed logins per window, per client address and per account.

    Counters live in Redis so all web processes share them; if Redis is down,
    an in-process fallback still limits guessing.
    """

    _local: dict[str, list[float]] = {}
    _lock = threading.Lock()

    def __init__(self, max_attempts: int, window: int):
        self.max_attempts = max_attempts
        self.window = window

    @staticmethod
    def keys(email: str) -> list[str]:
        addr = request.remote_addr or "?"
        return [f"login-fail:ip:{addr}", f"login-fail:user:{email.strip().lower()}"]

    def _redis(self):
        from notifier.runtime.redis_conn import get_redis

        return get_redis()

    def retry_after(self, email: str) -> int:
        """Seconds until another try is allowed, 0 if allowed now."""
        worst = 0
        for key in self.keys(email):
            try:
                r = self._redis()
                count = int(r.get(key) or 0)
                ttl = r.ttl(key) if count >= self.max_attempts else 0
            except Exception:
                count, ttl = self._local_count(key)
            if count >= self.max_attempts:
                worst = max(worst, int(ttl) if ttl and ttl > 0 else self.window)
        return worst

    def failed(self, email: str) -> None:
        for key in self.keys(email):
            try:
                r = self._redis()
                with r.pipeline() as p:  # the window starts at the first failure
                    p.set(key, 0, ex=self.window, nx=True)
                    p.incr(key)
                    p.execute()
            except Exception:
                current_app.logger.warning("login throttle: Redis unavailable, using in-process counters")
                with self._lock:
                    self._local.setdefault(key, []).append(time.monotonic())

    def succeeded(self, email: str) -> None:
        key = self.keys(email)[1]
        try:
            self._redis().delete(key)
        except Exception:
            pass
        with self._lock:
            self._local.pop(key, None)

    def _local_count(self, key: str) -> tuple[int, int]:
        now = time.monotonic()
        with self._lock:
            hits = [t for t in self._local.get(key, []) if now - t < self.window]
            self._local[key] = hits
        ttl = int(self.window - (now - hits[0])) if hits else 0
        return len(hits), ttl
