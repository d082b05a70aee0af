"""Credentials in the ``settings`` table are kept encrypted, so that a database
dump or backup does not hand out the SMTP password or the bot's token.

One place, :data:`SECRET_FIELDS`, names which settings (or which keys of a
setting's JSON object) are credentials; PBX adapters add theirs here. The model
(notifier.models.Setting) encrypts them on assignment and decrypts them on
read, so every reader and writer of a setting gets this without knowing it.

Encryption: Fernet (AES-128-CBC + HMAC-SHA256, from the ``cryptography``
package). An encrypted value is stored as ``{"$fernet": "<token>"}``; anything
else is a value saved before encryption existed and is read as it is (migration
0003 encrypts those once).

The key is not in the database. By default it is derived (HKDF-SHA256, its own
label) from SECRET_KEY, which already lives outside the database (environment
or instance/secrets.json) and which every web and worker machine must already
share, so no deployment gains a new value to copy. SETTINGS_ENCRYPTION_KEY
(one or more comma-separated Fernet keys, the first encrypts) makes it
independent of SECRET_KEY; values made with the derived key stay readable.
A value no key opens (SECRET_KEY changed) reads as unset: enter it again.
"""
from __future__ import annotations

import base64
import functools
import json
from typing import Any

import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

from notifier.pbx.registry import SECRET_KEYS

WHOLE = None
# setting key -> the keys of its JSON object that are credentials, or WHOLE
SECRET_FIELDS: dict[str, tuple[str, ...] | None] = {
    "mail": ("password",),  # notifier.services.settings.MAIL_KEY: SMTP password
    "telegram": ("token",),  # notifier.services.settings.TELEGRAM_KEY: the bot's token
    "telegram_webhook_secret": WHOLE,  # notifier.telegram.bot.WEBHOOK_SECRET_KEY
    "pbx": SECRET_KEYS,  # notifier.services.settings.PBX_KEY: the adapters' secrets (notifier.pbx.registry)
}
MARK = "$fernet"
_HKDF_INFO = b"notifier settings encryption v1"


def new_key() -> str:
    """A fresh key for SETTINGS_ENCRYPTION_KEY."""
    return Fernet.generate_key().decode()


@functools.lru_cache(maxsize=8)
def _box(explicit: str, secret_key: str) -> MultiFernet:
    keys = [Fernet(k.strip().encode()) for k in explicit.split(",") if k.strip()]
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO).derive(secret_key.encode())
    keys.append(Fernet(base64.urlsafe_b64encode(derived)))
    return MultiFernet(keys)


def box() -> MultiFernet:
    cfg = current_app.config
    return _box(cfg.get("SETTINGS_ENCRYPTION_KEY") or "", str(cfg["SECRET_KEY"]))


def is_sealed(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {MARK} and isinstance(value[MARK], str)


def _seal(value: Any) -> Any:
    if value is None or is_sealed(value):
        return value
    return {MARK: box().encrypt(json.dumps(value).encode()).decode()}


def _open(key: str, value: Any) -> Any:
    if not is_sealed(value):
        return value  # saved before encryption, or empty
    try:
        return json.loads(box().decrypt(value[MARK].encode()))
    except InvalidToken:
        current_app.logger.warning("stored credential in setting %r cannot be decrypted (SECRET_KEY or "
                    "SETTINGS_ENCRYPTION_KEY changed?): treated as not set, enter it again", key)
        return None


def conceal(key: str, value: Any) -> Any:
    """The value as stored: the credentials of ``key`` encrypted."""
    if key not in SECRET_FIELDS:
        return value
    fields = SECRET_FIELDS[key]
    if fields is WHOLE:
        return _seal(value)
    if not isinstance(value, dict):
        return value
    return {k: _seal(v) if k in fields else v for k, v in value.items()}


def reveal(key: str, stored: Any) -> Any:
    """The value as saved, from the stored one."""
    if key not in SECRET_FIELDS:
        return stored
    fields = SECRET_FIELDS[key]
    if fields is WHOLE:
        return _open(key, stored)
    if not isinstance(stored, dict):
        return stored
    return {k: _open(key, v) if k in fields else v for k, v in stored.items()}


def seal_stored_rows(conn: sa.Connection) -> int:
    """Encrypt every credential still stored in clear (migration 0003); values
    already encrypted stay as they are. Returns how many rows changed."""
    return _rewrite_rows(conn, conceal)


def open_stored_rows(conn: sa.Connection) -> int:
    """Store every credential in clear again (downgrade of migration 0003)."""
    return _rewrite_rows(conn, reveal)


def _rewrite_rows(conn: sa.Connection, change) -> int:
    table = sa.table("settings", sa.column("key", sa.String), sa.column("value", sa.JSON))
    changed = 0
    rows = conn.execute(sa.select(table.c.key, table.c.value).where(table.c.key.in_(list(SECRET_FIELDS)))).all()
    for key, stored in rows:
        new = change(key, stored)
        if new != stored:
            conn.execute(table.update().where(table.c.key == key).values(value=new))
            changed += 1
    return changed
