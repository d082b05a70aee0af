"""The JSON admin API under /api/v1 (docs/api.md).

Bearer-token authentication for every endpoint except those marked
``@token_exempt`` (the PBX webhook, which checks its own signature).
The API is exempt from CSRF; the browser UI is not.

Handlers call the services and let them raise: a :class:`FieldErrors` becomes
422 ``{"errors": {field: message}}`` (409 for a conflict) in one place, the
error handler below; :class:`ApiError` is for the other 4xx answers.
"""
from __future__ import annotations

import os

from flask import Blueprint, Flask, g, jsonify, request

from notifier.core.fielderrors import FieldErrors
from notifier.extensions import csrf, db
from notifier.services import api_tokens

bp = Blueprint("api", __name__, url_prefix="/api/v1")
_TOKEN_EXEMPT: set[str] = set()


class ApiError(Exception):
    """Raised by API views for a clear 4xx answer ``{"error": message}``."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


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


@bp.before_request
def _authenticate():
    if request.endpoint in _TOKEN_EXEMPT:
        return None
    token = _bearer()
    if not token or not api_tokens.valid(token):
        resp = jsonify(error="нужен действительный API-токен: Authorization: Bearer <token>")
        resp.status_code = 401
        resp.headers["WWW-Authenticate"] = 'Bearer realm="api"'
        return resp
    g.api_client = True
    return None


@bp.errorhandler(ApiError)
def _api_error(err: ApiError):
    return jsonify(error=err.message), err.status


@bp.errorhandler(FieldErrors)
def _field_errors(err: FieldErrors):
    """Bad fields from any service or parser; nothing of the request is kept."""
    db.session.rollback()
    return jsonify(errors=err.errors), 409 if err.conflict else 422


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
