"""The htmx side of a request and of its answer, in one place.

A page is answered whole, or (for an htmx request) as the part the request
swaps. What was asked is read here only, so that every view decides alike and
every answer says which request headers it depended on (``Vary``, added after
the request). Nothing uses hx-boost, so HX-Boosted is not looked at.
"""
from __future__ import annotations

import json
from typing import Any

from flask import Flask, g, has_request_context, request


def _depends_on(*headers: str) -> None:
    g.setdefault("htmx_vary", set()).update(headers)


def is_request() -> bool:
    """An htmx request that swaps part of a page. A history restore (htmx
    fetching a page missing from its cache) wants the whole page: not one."""
    _depends_on("HX-Request", "HX-History-Restore-Request")
    return bool(request.headers.get("HX-Request")) and not request.headers.get("HX-History-Restore-Request")


def target() -> str | None:
    """The id of the element an htmx request swaps; None when the whole page is wanted."""
    if not is_request():
        return None
    _depends_on("HX-Target")
    return request.headers.get("HX-Target")


def triggered_by() -> str | None:
    """The id of the element whose event sent the htmx request (its HX-Trigger header)."""
    if not is_request():
        return None
    _depends_on("HX-Trigger")
    return request.headers.get("HX-Trigger")


def headers(*, trigger: str | dict[str, Any] | None = None, reswap: str | None = None,
            push_url: str | None = None, redirect: str | None = None) -> dict[str, str]:
    """Response headers for htmx. ``trigger``: an event name, or events with
    their details (``{"rules-changed": {"message": "..."}}``) sent as JSON."""
    out = {}
    if trigger:
        # ASCII JSON: header values are latin-1.
        out["HX-Trigger"] = trigger if isinstance(trigger, str) else json.dumps(trigger)
    if reswap:
        out["HX-Reswap"] = reswap
    if push_url:
        out["HX-Push-Url"] = push_url
    if redirect:
        out["HX-Redirect"] = redirect
    return out


def init_app(app: Flask) -> None:
    @app.after_request
    def _vary(response):
        response.vary.update(g.get("htmx_vary", ()))
        return response

    @app.context_processor
    def _is_htmx():
        # Outside a request (a notification email rendered in the worker) nothing is htmx.
        return {"is_htmx": has_request_context() and is_request()}
