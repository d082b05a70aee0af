"""«Журнал» screen: received events, what was decided for whom and how delivery went.

Queries and wording live in ``notifier.services.event_log`` (shared with the API). The
list and the detail re-render themselves every 2 s through htmx only while
something may still change (an event not processed yet, a delivery pending or
retrying): the polling attribute is simply absent otherwise.
"""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from notifier.core import reasons
from notifier.extensions import db
from notifier.models import Delivery, Subscriber
from notifier.pipeline import delivery
from notifier.services import event_log
from notifier.web import htmx

bp = Blueprint("log", __name__, url_prefix="/log")

RESULTS_ID = "log-results"
FILTERS_ID = "log-filters"
DETAIL_ID = "event-detail"


@bp.get("/")
def index():
    filters, _ignored = event_log.parse_filters(request.args)  # the page ignores what makes no sense
    page = event_log.recent(filters)
    context = {"page": page, "filters": filters, "statuses": reasons.EVENT_STATUSES}
    if htmx.target() == RESULTS_ID:
        # The address bar shows only the filters set, not the form's empty fields.
        pushed = url_for("log.index", **filters.query_args()) if htmx.triggered_by() == FILTERS_ID else None
        return render_template("log/_results.html", **context), 200, htmx.headers(push_url=pushed)
    employee = db.session.get(Subscriber, filters.subscriber_id) if filters.subscriber_id else None
    return render_template("log/index.html", **context, employee=employee,
                           received_any=bool(page.entries) or event_log.any_event())


@bp.get("/<int:pk>")
def detail(pk: int):
    entry = event_log.by_pk(pk)
    if entry is None:
        abort(404, "Такого события нет в журнале.")
    if htmx.target() == DETAIL_ID:
        return render_template("log/_detail.html", entry=entry)
    return render_template("log/detail.html", entry=entry)


@bp.post("/deliveries/<int:delivery_id>/retry")
def retry(delivery_id: int):
    """«Повторить» for a failed delivery: the delivery module re-queues it."""
    return _requeue(delivery_id, delivery.retry, "Уведомление снова поставлено в очередь на отправку.",
                    "Повторить нельзя: уведомление уже не в статусе «Ошибка».")


@bp.post("/deliveries/<int:delivery_id>/send")
def send(delivery_id: int):
    """«Отправить» for a delivery skipped because the channel was not ready (issue 14, item 7)."""
    return _requeue(delivery_id, delivery.send_skipped, "Уведомление поставлено в очередь на отправку.",
                    "Отправить нельзя: уведомление не пропущено, событие старше "
                    f"{delivery.SEND_SKIPPED_WITHIN.days} дней или канал всё ещё не может его доставить.")


def _requeue(delivery_id: int, action, done: str, refused: str):
    """Run ``action(delivery_id)`` and show its outcome on the event's detail
    (re-rendered for htmx, else a flash and a redirect)."""
    row = db.session.get(Delivery, delivery_id)
    if row is None:
        abort(404, "Такого уведомления нет.")
    event_pk = row.event_id
    message, kind = (done, "success") if action(delivery_id) else (refused, "error")
    db.session.expire_all()  # the delivery module may have changed the row in its own session
    if htmx.target() == DETAIL_ID:
        entry = event_log.by_pk(event_pk)
        return render_template("log/_detail.html", entry=entry, message=message, kind=kind)
    flash(message, kind)
    return redirect(url_for("log.detail", pk=event_pk), 303)
