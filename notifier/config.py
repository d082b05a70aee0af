"""Configuration from the environment, as docs/configuration.md names it.

Secrets that the self-hoster did not set are generated once and kept in the
instance folder, so a restart keeps sessions and the PBX's webhook secret valid.
"""
from __future__ import annotations

import base64
import json
import logging
import os
import secrets
import stat
from pathlib import Path

from notifier.pbx.registry import CREDENTIAL_KEYS

SECRETS_FILE = "secrets.json"

MAIL_KEYS = (
    "MAIL_SERVER", "MAIL_PORT", "MAIL_USE_TLS", "MAIL_USE_SSL",
    "MAIL_USERNAME", "MAIL_PASSWORD", "MAIL_DEFAULT_SENDER",
)


def _bool(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def database_url(raw: str | None, instance_path: str) -> str:
    """The SQLAlchemy URL; plain postgresql:// URLs use the psycopg 3 driver we ship."""
    if not raw:
        return "sqlite:///" + str(Path(instance_path) / "notifier.db")
    for prefix in ("postgres://", "postgresql://"):
        if raw.startswith(prefix):
            return "postgresql+psycopg://" + raw[len(prefix):]
    return raw


def trusted_proxies(raw: str | None) -> int:
    """How many reverse proxies in front of the app append to X-Forwarded-For.

    0 (the default) trusts no forwarding header: the client address is the
    peer's, so nobody can pick their own address to dodge login throttling.
    Behind one proxy (nginx) set 1, else every user shares the proxy's address."""
    value = (raw or "0").strip()
    if not value.isdigit():
        raise ValueError(f"TRUSTED_PROXIES must be a whole number of proxies (0, 1, 2...), not {raw!r}")
    return int(value)


def settings_encryption_key(raw: str | None) -> str | None:
    """SETTINGS_ENCRYPTION_KEY: comma-separated Fernet keys (the first encrypts),
    checked at start so a typo is not found at the first saved password."""
    if not raw or not raw.strip():
        return None
    from cryptography.fernet import Fernet

    for key in raw.split(","):
        try:
            Fernet(key.strip().encode())
        except ValueError:
            raise ValueError("SETTINGS_ENCRYPTION_KEY must be Fernet keys (32 url-safe base64-encoded bytes), "
                             "comma-separated; make one with: python -c 'from cryptography.fernet import "
                             "Fernet; print(Fernet.generate_key().decode())'") from None
    return raw.strip()


def new_webhook_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def make_private(instance_path: str) -> None:
    """Owner-only instance files: the database (and its -wal/-shm), secrets.json,
    the embedded Redis's data, log and socket hold secrets and personal data.

    Sets this process's umask to 077, so what it creates from now on is 0600
    (folders 0700): SQLite, redis-server (a child, it inherits the umask) and
    our own writes alike. Every process that writes there (the launcher, each
    gunicorn worker, ``worker.py``, ``flask db upgrade``) builds the app first, so
    this runs in each before any instance file is touched; gunicorn keeps the
    umask it started with. What already exists (an older install's 0644 files)
    is made owner-only too.
    """
    os.umask(0o077)
    for folder, _dirs, files in os.walk(instance_path):
        _owner_only(folder)
        for name in files:
            _owner_only(os.path.join(folder, name))


def _owner_only(path: str) -> None:
    """Drop group and other permission bits (symbolic links are left alone)."""
    try:
        mode = os.lstat(path).st_mode
        if not stat.S_ISLNK(mode) and stat.S_IMODE(mode) & 0o077:
            os.chmod(path, stat.S_IMODE(mode) & 0o700)
    except FileNotFoundError:
        pass  # gone meanwhile (a temporary file of SQLite or Redis)
    except OSError as err:  # not ours (e.g. a volume mounted read-only): say so, keep running
        logging.getLogger(__name__).warning("cannot make %s owner-only: %s", path, err)


class InstanceSecrets:
    """Generated-once values kept in instance/secrets.json (mode 0600)."""

    def __init__(self, instance_path: str):
        self.path = Path(instance_path) / SECRETS_FILE

    def _load(self) -> dict:
        try:
            return json.loads(self.path.read_text())
        except (FileNotFoundError, ValueError):
            return {}

    def _save(self, data: dict) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(data, fh)
        os.replace(tmp, self.path)

    def get(self, key: str, make) -> str:
        data = self._load()
        if not data.get(key):
            data[key] = make()
            self._save(data)
        return data[key]

    def set(self, key: str, value: str) -> None:
        data = self._load()
        data[key] = value
        self._save(data)


WORKER_THREADS_DEFAULT = 8
WORKER_THREADS_MAX = 64


def worker_threads(raw: str | None) -> int:
    """Jobs one worker process runs at once: 1..64, the default for unset or unusable values."""
    try:
        value = int((raw or "").strip() or WORKER_THREADS_DEFAULT)
    except ValueError:
        logging.getLogger(__name__).warning("WORKER_THREADS=%r is not a number; using %d", raw,
                                            WORKER_THREADS_DEFAULT)
        return WORKER_THREADS_DEFAULT
    return min(max(value, 1), WORKER_THREADS_MAX)


def from_environment(instance_path: str, env=os.environ) -> dict:
    """Flask config values from the environment and the instance folder."""
    stored = InstanceSecrets(instance_path)
    cfg = {
        "SECRET_KEY": env.get("SECRET_KEY") or stored.get("SECRET_KEY", lambda: secrets.token_hex(32)),
        "SETTINGS_ENCRYPTION_KEY": settings_encryption_key(env.get("SETTINGS_ENCRYPTION_KEY")),
        "SQLALCHEMY_DATABASE_URI": database_url(env.get("DATABASE_URL"), instance_path),
        "REDIS_URL": env.get("REDIS_URL") or None,
        "WEBHOOK_SECRET_FROM_ENV": bool(env.get("WEBHOOK_SECRET")),
        "WEBHOOK_SECRET": env.get("WEBHOOK_SECRET") or stored.get("WEBHOOK_SECRET", new_webhook_secret),
        "API_TOKEN": env.get("API_TOKEN") or None,
        "TELEGRAM_BOT_TOKEN": env.get("TELEGRAM_BOT_TOKEN") or None,
        "TELEGRAM_BOT_USERNAME": (env.get("TELEGRAM_BOT_USERNAME") or "").lstrip("@") or None,
        "TELEGRAM_API_URL": (env.get("TELEGRAM_API_URL") or "https://api.telegram.org").rstrip("/"),
        "TIMEZONE": env.get("TIMEZONE") or "Europe/Moscow",
        "TRUSTED_PROXIES": trusted_proxies(env.get("TRUSTED_PROXIES")),
        "RECORDING_URL_HOSTS": [h.strip().lower() for h in (env.get("RECORDING_URL_HOSTS") or "").split(",")
                                if h.strip()],
        "MAIL_FROM_ENV": [k for k in MAIL_KEYS if env.get(k)],
        "PUBLIC_URL": (env.get("PUBLIC_URL") or "").strip().rstrip("/") or None,
        "WORKER_THREADS": worker_threads(env.get("WORKER_THREADS")),
        # PBX adapters' credentials (notifier.pbx.registry); unset ones may be saved in the UI.
        **{key: env.get(key) or None for key in CREDENTIAL_KEYS},
    }
    if env.get("MAIL_SERVER"):
        cfg.update(
            MAIL_SERVER=env["MAIL_SERVER"],
            MAIL_PORT=int(env.get("MAIL_PORT") or 25),
            MAIL_USE_TLS=_bool(env.get("MAIL_USE_TLS")),
            MAIL_USE_SSL=_bool(env.get("MAIL_USE_SSL")),
            MAIL_USERNAME=env.get("MAIL_USERNAME") or None,
            MAIL_PASSWORD=env.get("MAIL_PASSWORD") or None,
            MAIL_DEFAULT_SENDER=env.get("MAIL_DEFAULT_SENDER") or None,
        )
    return cfg


DEFAULTS = {
    # Sessions: HttpOnly + SameSite=Lax; Secure when served over HTTPS (SESSION_COOKIE_SECURE=1).
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "SESSION_COOKIE_SECURE": _bool(os.environ.get("SESSION_COOKIE_SECURE")),
    "PERMANENT_SESSION_LIFETIME": 12 * 3600,
    "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the session
    "MAX_CONTENT_LENGTH": 2 * 1024 * 1024,  # CSV imports; the webhook has its own 64 KiB limit
    # No pool_pre_ping (a SELECT 1 on every checkout, i.e. every request):
    # extensions.init_db pings a server connection only after it sat idle.
    "SQLALCHEMY_ENGINE_OPTIONS": {},
    "MAIL_SUPPRESS_SEND": False,
    "SMTP_TIMEOUT": 15,
    "MAIL_SERVER": None,
    # Redis in the web process: fail fast instead of redis-py's multi-second retries.
    "REDIS_SOCKET_TIMEOUT": 0.5,
    # Password tries (notifier.web.security.LoginThrottle): free failures per
    # account and address, and per address; then waits from 1 to 15 minutes,
    # doubling; counts forgotten after a day without a try.
    "LOGIN_FREE_ATTEMPTS": 5,
    "LOGIN_ADDRESS_FREE_ATTEMPTS": 20,
    "LOGIN_FIRST_WAIT_SECONDS": 60,
    "LOGIN_MAX_WAIT_SECONDS": 15 * 60,
    "LOGIN_FORGET_SECONDS": 24 * 3600,
}
