"""Effective settings: the environment wins, then values saved in the UI
(``settings`` table), then defaults. One place for every reader (web, worker)."""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from flask import current_app, g

from notifier.config import InstanceSecrets, new_webhook_secret
from notifier.core.workhours import Schedule
from notifier.extensions import db
from notifier.models import Setting
from notifier.pbx.base import Vendor

SCHEDULE_KEY = "schedule"
MAIL_KEY = "mail"
TELEGRAM_KEY = "telegram"


_ABSENT = object()
# Worker jobs read settings through a cache of this process, kept this long:
# every job asks for the mail, bot and schedule settings several times, and
# each ask was a query (issue 15's profile). A value saved in the UI reaches
# the worker within that time; one saved in this process at once.
JOB_CACHE_SECONDS = 1.0
_job_cache: dict[str, tuple[float, Any]] = {}


def remember_for_this_job() -> None:
    """Let this app context (a worker job) read settings through the job cache;
    web requests always read afresh."""
    g.settings_cached = True


def get(key: str, default: Any = None) -> Any:
    if g.get("settings_cached"):
        now = time.monotonic()
        hit = _job_cache.get(key)
        if hit is not None and hit[0] > now:
            value = hit[1]
        else:
            value = _load(key)
            _job_cache[key] = (now + JOB_CACHE_SECONDS, value)
    else:
        value = _load(key)
    return default if value is _ABSENT else value


def _load(key: str) -> Any:
    row = db.session.get(Setting, key)
    return _ABSENT if row is None else row.value


def put(key: str, value: Any) -> None:
    """Save a value (the caller commits)."""
    row = db.session.get(Setting, key)
    if row is None:
        db.session.add(Setting(key=key, value=value))
    else:
        row.value = value
    _job_cache.clear()


@dataclass(frozen=True)
class MailSettings:
    server: str | None
    port: int
    use_tls: bool
    use_ssl: bool
    username: str | None
    password: str | None
    sender: str | None
    from_env: tuple[str, ...]  # which MAIL_* came from the environment (shown read-only)

    @property
    def configured(self) -> bool:
        return bool(self.server and (self.sender or self.username))


def mail() -> MailSettings:
    cfg = current_app.config
    saved = get(MAIL_KEY, {}) or {}
    env = set(cfg.get("MAIL_FROM_ENV") or ())

    def pick(env_key: str, saved_key: str, default=None):
        return cfg.get(env_key) if env_key in env else saved.get(saved_key, default)

    return MailSettings(
        server=pick("MAIL_SERVER", "server"),
        port=int(pick("MAIL_PORT", "port", 25) or 25),
        use_tls=bool(pick("MAIL_USE_TLS", "use_tls", False)),
        use_ssl=bool(pick("MAIL_USE_SSL", "use_ssl", False)),
        username=pick("MAIL_USERNAME", "username"),
        password=pick("MAIL_PASSWORD", "password"),
        sender=pick("MAIL_DEFAULT_SENDER", "sender"),
        from_env=tuple(sorted(env)),
    )


@dataclass(frozen=True)
class TelegramSettings:
    token: str | None
    username: str | None  # the bot's @name without "@", from env, saved getMe answer, or None
    api_url: str
    token_from_env: bool

    @property
    def configured(self) -> bool:
        return bool(self.token)


def telegram() -> TelegramSettings:
    cfg = current_app.config
    saved = get(TELEGRAM_KEY, {}) or {}
    env_token = cfg.get("TELEGRAM_BOT_TOKEN")
    return TelegramSettings(
        token=env_token or saved.get("token"),
        username=cfg.get("TELEGRAM_BOT_USERNAME") or saved.get("username"),
        api_url=cfg["TELEGRAM_API_URL"],
        token_from_env=bool(env_token),
    )


# The PBX adapters' credentials saved in the UI: one setting, {CREDENTIAL KEY: value};
# which keys there are, and which are secret, is notifier.pbx.registry (CREDENTIAL_KEYS, SECRET_KEYS).
PBX_KEY = "pbx"


@dataclass(frozen=True)
class PbxCredentials:
    """One vendor's effective credentials: environment, else saved, else the default."""

    values: dict[str, str | None]
    from_env: frozenset[str]
    saved: frozenset[str]  # keys with a value saved in the UI (an env value hides it)

    def get(self, key: str) -> str | None:
        return self.values.get(key)


def pbx_credentials(vendor: Vendor) -> PbxCredentials:
    cfg = current_app.config
    saved = get(PBX_KEY, {}) or {}
    values, from_env, stored = {}, set(), set()
    for cred in vendor.credentials:
        env_value = cfg.get(cred.key)
        saved_value = saved.get(cred.key) if isinstance(saved.get(cred.key), str) else None
        if saved_value:
            stored.add(cred.key)
        if env_value:
            from_env.add(cred.key)
        values[cred.key] = env_value or saved_value or cred.default
    return PbxCredentials(values, frozenset(from_env), frozenset(stored))


def save_pbx_credentials(changes: dict[str, str | None]) -> None:
    """Save (a str) or forget (None) credentials; the caller commits."""
    current = dict(get(PBX_KEY, {}) or {})
    for key, value in changes.items():
        if value:
            current[key] = value
        else:
            current.pop(key, None)
    put(PBX_KEY, current)


def public_url() -> str:
    """The address PBXes reach the app at (PUBLIC_URL), else the one this request came to."""
    configured = current_app.config.get("PUBLIC_URL")
    if configured:
        return configured
    from flask import has_request_context, request

    return request.url_root.rstrip("/") if has_request_context() else "http://127.0.0.1:8000"


def webhook_secret() -> str:
    """Read per request: a secret re-generated in one web process is seen by all."""
    if current_app.config.get("WEBHOOK_SECRET_FROM_ENV"):
        return current_app.config["WEBHOOK_SECRET"]
    return InstanceSecrets(current_app.instance_path).get("WEBHOOK_SECRET", new_webhook_secret)


def regenerate_webhook_secret() -> str:
    """A new secret (unless WEBHOOK_SECRET is set in the environment)."""
    if current_app.config.get("WEBHOOK_SECRET_FROM_ENV"):
        raise RuntimeError("WEBHOOK_SECRET is set in the environment")
    secret = new_webhook_secret()
    InstanceSecrets(current_app.instance_path).set("WEBHOOK_SECRET", secret)
    current_app.config["WEBHOOK_SECRET"] = secret
    return secret


def schedule() -> Schedule:
    """The company's working hours; Mon–Fri 09–18 with Russian holidays until set."""
    data = get(SCHEDULE_KEY)
    if data:
        return Schedule.from_json(data)
    return Schedule.default(current_app.config["TIMEZONE"])


def save_schedule(schedule: Schedule) -> None:
    """Save a validated schedule (the «Рабочее время» screen and the API)."""
    put(SCHEDULE_KEY, schedule.to_json())
    db.session.commit()


def company_timezone() -> str:
    """The time zone times are shown in: the working-hours one, else TIMEZONE.

    Kept on ``g`` so a page that formats many times reads the setting once."""
    if "company_timezone" not in g:
        g.company_timezone = schedule().timezone
    return g.company_timezone
