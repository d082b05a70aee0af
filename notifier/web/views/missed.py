"""«Пропущенные» screen: missed calls with their callback state, a chart per day.

Queries and wording live in ``notifier.services.missed_calls`` (shared with the
API). The filter form is a plain GET form that htmx submits as it changes;
the list then re-renders itself every 30 s on the first page, so a callback
shows up without a reload. The chart is inline SVG drawn here, readable
without JavaScript: a <title> per bar, text labels, and the numbers in a table.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from sqlalchemy import select

from notifier.core import callbacks as cb
from notifier.core import localtime
from notifier.extensions import db
from notifier.models import Subscriber, utcnow
from notifier.services import missed_calls
from notifier.services.settings import company_timezone
from notifier.web import htmx

bp = Blueprint("missed", __name__, url_prefix="/missed")

RESULTS_ID = "missed-results"
FILTERS_ID = "missed-filters"
POLL_SECONDS = 30

# The chart's drawing box, in SVG user units (it scales to the page's width).
WIDTH, HEIGHT = 720, 200
LEFT, RIGHT, TOP, BOTTOM = 36, 8, 22, 28


@dataclass
class Bar:
    day: cb.Day
    x: float
    width: float
    missed_y: float
    back_y: float
    label: str  # shown under the bar, or ""
    title: str


@dataclass
class Chart:
    bars: list[Bar]
    ticks: list[tuple[float, int]]  # (y, value) of the horizontal lines
    plot_bottom: float
    show_counts: bool  # the count above each bar fits


def _chart(stats: cb.Stats) -> Chart:
    days = stats.days
    top = max((d.missed for d in days), default=0)
    step = max(1, -(-top // 4))  # four lines at most, whole numbers
    scale_max = max(step * 4, 1)
    plot_h = HEIGHT - TOP - BOTTOM
    slot = (WIDTH - LEFT - RIGHT) / max(len(days), 1)
    label_every = max(1, -(-len(days) // 12))  # no more than about 12 date labels

    def y(value: int) -> float:
        return round(TOP + plot_h - plot_h * value / scale_max, 1)

    bars = []
    for i, day in enumerate(days):
        share = f", перезвонили {day.called_back} ({round(day.share * 100)}%)" if day.missed else ""
        bars.append(Bar(
            day=day, x=round(LEFT + i * slot + slot * 0.15, 1), width=round(max(slot * 0.7, 1), 1),
            missed_y=y(day.missed), back_y=y(day.called_back),
            label=day.day.strftime("%d.%m") if i % label_every == 0 or i == len(days) - 1 else "",
            title=f"{day.day:%d.%m.%Y}: пропущено {day.missed}{share}",
        ))
    ticks = [(y(v), v) for v in range(0, scale_max + 1, step)]
    return Chart(bars, ticks, TOP + plot_h, show_counts=len(days) <= 31)


def _employees() -> list[Subscriber]:
    return list(db.session.scalars(select(Subscriber).order_by(Subscriber.name, Subscriber.number)))


@bp.get("/")
def index():
    filters, _ignored = missed_calls.parse_filters(request.args)  # the page ignores what makes no sense
    zone = company_timezone()
    today = localtime.in_zone(utcnow(), zone)[0].date()
    first, last = missed_calls.period(filters, today)
    scoped = replace(filters, date_from=first, date_to=last)
    page = missed_calls.listed(scoped, zone)
    stats = missed_calls.stats(scoped, zone, first, last)
    context = {"page": page, "filters": filters, "first": first, "last": last, "stats": stats,
               "chart": _chart(stats), "chart_box": (WIDTH, HEIGHT, LEFT, RIGHT),
               "duration_text": cb.duration_text, "poll": POLL_SECONDS if not filters.before else None}
    if htmx.target() == RESULTS_ID:
        pushed = url_for("missed.index", **filters.query_args()) if htmx.triggered_by() == FILTERS_ID else None
        return render_template("missed/_results.html", **context), 200, htmx.headers(push_url=pushed)
    return render_template("missed/index.html", **context, employees=_employees(),
                           any_missed=bool(page.entries) or missed_calls.any_missed_call())


@bp.post("/<int:missed_id>/close")
def close(missed_id: int):
    """«Закрыть»: an open missed call closed by hand (the row re-rendered for htmx)."""
    row, done = missed_calls.close_by_hand(missed_id, g.user.email)
    if row is None:
        abort(404, "Такого пропущенного звонка нет.")
    message, kind = (("Звонок закрыт.", "success") if done else
                     ("Закрыть нельзя: звонок уже не открыт.", "error"))
    if htmx.is_request():
        entry = missed_calls.get(missed_id, company_timezone())
        return render_template("missed/_row.html", entry=entry, message=message, kind=kind)
    flash(message, kind)
    return redirect(url_for("missed.index"), 303)
