"""/api/v1/missed-calls: missed calls and their callback state (api.md "Missed calls").

The same filters and wording as the «Пропущенные» page (``services.missed_calls``);
here a parameter that makes no sense is a 422 naming it. Closing by hand is
idempotent for a call already closed by hand (200 with its state); a call
that was called back cannot be closed (409 with its state).
"""
from __future__ import annotations

from flask import jsonify, request

from notifier.api import ApiError, bp
from notifier.core import callbacks as cb
from notifier.core import localtime
from notifier.core.fielderrors import FieldErrors
from notifier.models import utcnow
from notifier.services import missed_calls
from notifier.services.settings import company_timezone


@bp.get("/missed-calls")
def missed_calls_list():
    filters, errors = missed_calls.parse_filters(request.args)
    if errors:
        raise FieldErrors(errors)
    page = missed_calls.listed(filters, company_timezone())
    return {"items": [entry.to_json() for entry in page.entries], "next_before": page.next_before}


@bp.get("/missed-calls/stats")
def missed_calls_stats():
    """The page's chart as numbers: per day, the share called back, the median wait."""
    filters, errors = missed_calls.parse_filters(request.args)
    if errors:
        raise FieldErrors(errors)
    zone = company_timezone()
    first, last = missed_calls.period(filters, localtime.in_zone(utcnow(), zone)[0].date())
    stats = missed_calls.stats(filters, zone, first, last)
    return {
        "from": first.isoformat(), "to": last.isoformat(), "timezone": zone,
        "missed": stats.missed, "called_back": stats.called_back, "called_back_share": stats.share,
        "median_time_to_callback_seconds": int(stats.median.total_seconds()) if stats.median is not None else None,
        "days": [{"date": d.day.isoformat(), "missed": d.missed, "called_back": d.called_back} for d in stats.days],
    }


@bp.get("/missed-calls/<int:missed_id>")
def missed_calls_get(missed_id: int):
    entry = missed_calls.get(missed_id, company_timezone())
    if entry is None:
        raise ApiError(404, "пропущенный звонок не найден")
    return entry.to_json()


@bp.post("/missed-calls/<int:missed_id>/close")
def missed_calls_close(missed_id: int):
    row, done = missed_calls.close_by_hand(missed_id, missed_calls.API)
    if row is None:
        raise ApiError(404, "пропущенный звонок не найден")
    entry = missed_calls.get(missed_id, company_timezone())
    if done or row.status == cb.CLOSED:
        return entry.to_json()
    resp = jsonify(error="звонок уже перезвонен, закрыть его нельзя", missed_call=entry.to_json())
    resp.status_code = 409
    return resp
