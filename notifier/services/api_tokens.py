"""Bearer tokens for the JSON API: made and revoked on the «Настройки» screen,
checked on every API request.

Only a token's SHA-256 digest and its first characters (to recognise it in the
list) are stored; the token itself is shown once, to whoever created it.
``API_TOKEN`` from the environment is accepted too and is never stored.
"""
from __future__ import annotations

import hmac
import secrets

from flask import current_app
from sqlalchemy import select

from notifier.extensions import db
from notifier.models import ApiToken, utcnow
from notifier.web.security import token_digest

PREFIX = 8  # characters kept in clear, shown as «abcd1234…»


def create(name: str) -> str:
    """A new token named ``name`` (saved); the token itself, to show once."""
    token = secrets.token_urlsafe(32)
    db.session.add(ApiToken(name=name, token_hash=token_digest(token), prefix=token[:PREFIX]))
    db.session.commit()
    return token


def revoke(token_id: int) -> ApiToken | None:
    """Revoke a token in use; the row revoked now, or None (unknown or already revoked)."""
    row = db.session.get(ApiToken, token_id)
    if row is None or row.revoked_at is not None:
        return None
    row.revoked_at = utcnow()
    db.session.commit()
    return row


def active() -> list[ApiToken]:
    """Tokens not revoked, newest first (the screen's list)."""
    return list(db.session.scalars(select(ApiToken).where(ApiToken.revoked_at.is_(None))
                                   .order_by(ApiToken.created_at.desc())))


def valid(token: str) -> bool:
    """Whether ``token`` is ``API_TOKEN`` or an unrevoked token (its last use is recorded)."""
    env_token = current_app.config.get("API_TOKEN")
    if env_token and hmac.compare_digest(env_token.encode(), token.encode()):
        return True
    row = db.session.scalar(
        select(ApiToken).where(ApiToken.token_hash == token_digest(token), ApiToken.revoked_at.is_(None))
    )
    if row is None:
        return False
    row.last_used_at = utcnow()
    db.session.commit()
    return True
