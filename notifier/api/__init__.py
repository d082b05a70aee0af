"""The JSON admin API under /api/v1 (docs/api.md).

Bearer-token authentication for every endpoint except those marked
``@token_exempt`` (the PBX webhook, which checks its own signature).
The API is exempt from CSRF; the browser UI is not.
"""
from __future__ import annotations

import hmac
import os
from contextlib import contextmanager
from typing import Callable

from flask import Blueprint, Flask, abort, current_app, g, jsonify, request
from sqlalchemy import select

from notifier.extensions import csrf, db
from notifier.models import ApiToken, utcnow
from notifier.web.security import token_digest

bp = Blueprint("api", __name__, url_prefix="/api/v1")
_TOKEN_EXEMPT: set[str] = set()


class ApiError(Exception):
    """Raised by API views for a clear 4xx answer."""

    def __init__(self, status: int, message: str | None = None, errors: dict | None = None):
        super().__init__(message or "")
        self.status, self.message, self.errors = status, message, errors

    def body(self) -> dict:
        return {"errors": self.errors} if self.errors is not None else {"error": self.message}


@contextmanager
def saving(commit: Callable[[], None]):
    """Run a service's change and ``commit`` it; a service's per-field
    ``Invalid`` becomes 422 (409 for a duplicate) and nothing is kept."""
    from notifier.services.people_fields import Invalid

    try:
        yield
        commit()
    except Invalid as e:
        db.session.rollback()
        raise ApiError(409 if e.conflict else 422, errors=e.errors) from None


def token_exempt(view):
    """Mark an API view that authenticates the request itself."""
    _TOKEN_EXEMPT.add(f"{bp.name}.{view.__name__}")
    return view


def json_body() -> dict:
    """The request's JSON object, or a 400 that says what is wrong."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ApiError(400, "тело запроса должно быть JSON-объектом")
    return data


def _bearer() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def token_valid(token: str) -> bool:
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


@bp.before_request
def _authenticate():
    if request.endpoint in _TOKEN_EXEMPT:
        return None
    token = _bearer()
    if not token or not token_valid(token):
        resp = jsonify(error="нужен действительный API-токен: Authorization: Bearer <token>")
        resp.status_code = 401
        resp.headers["WWW-Authenticate"] = 'Bearer realm="api"'
        return resp
    g.api_client = True
    return None


@bp.errorhandler(ApiError)
def _api_error(err: ApiError):
    return jsonify(err.body()), err.status


@bp.get("/status")
def status():
    """A cheap authenticated call for integrations to check their token."""
    return {"status": "ok"}


def init_app(app: Flask) -> None:
    from notifier.api import routes  # noqa: F401  (endpoint modules register on bp)

    if os.environ.get("BENCH_BARE_ENDPOINT") == "1":  # `make bench` only: its intake baseline
        from notifier.api import bench  # noqa: F401

    csrf.exempt(bp)
    app.register_blueprint(bp)
