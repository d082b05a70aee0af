"""«Абоненты»: PBX employees. List with search, create, edit, delete (with
their rules, after a confirmation that counts them), CSV import and export,
and the employee's Telegram link (the block from views/telegram.py)."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from notifier.core.fielderrors import FieldErrors
from notifier.extensions import db
from notifier.models import Subscriber
from notifier.services import csv_io, subscriber_search
from notifier.services import subscribers as service
from notifier.web import htmx
from notifier.web.paging import paginate
from notifier.web.views import people

bp = Blueprint("subscribers", __name__, url_prefix="/subscribers")
RESULTS = "subscriber-results"
IMPORT_TEXTS = {
    "title": "Импорт абонентов", "section": "Абоненты", "list_endpoint": "subscribers.index",
    "example": ("Номер;Имя;Email;Telegram\r\n101;Иванов Иван;ivanov@example.com;@ivanov\r\n"
                "+7 902 385-52-70;Петрова Анна;;"),
    "rule": "Абонент с тем же номером (после нормализации) обновляется, остальные создаются. "
            "Обновляются только столбцы, которые есть в файле; пустая ячейка очищает поле.",
}


def _get(subscriber_id: int) -> Subscriber:
    return service.get(subscriber_id) or abort(404)


@bp.get("/")
def index():
    q = people.query_arg()
    page = paginate(subscriber_search.search(q), request.args.get("page"))
    template = "subscribers/_results.html" if htmx.target() == RESULTS else "subscribers/index.html"
    return render_template(template, q=q, page=page, list_args={"q": q or None},
                           counts=service.rule_counts([s.id for s in page.items]))


def _form() -> dict:
    return {name: request.form.get(name, "") for name in service.FIELDS}


@bp.route("/new", methods=["GET", "POST"])
def create():
    values, errors = {name: "" for name in service.FIELDS}, {}
    if request.method == "POST":
        values = _form()
        try:
            subscriber = service.create(values)
            service.commit()
        except FieldErrors as e:
            db.session.rollback()
            errors = e.errors
        else:
            flash(f"Абонент {service.label(subscriber)} добавлен.", "success")
            return redirect(url_for("subscribers.index"))
    page = render_template("subscribers/form.html", subscriber=None, values=values, errors=errors)
    return page, 422 if errors else 200


@bp.route("/<int:subscriber_id>/edit", methods=["GET", "POST"])
def edit(subscriber_id: int):
    subscriber = _get(subscriber_id)
    values = {name: getattr(subscriber, name) or "" for name in service.FIELDS}
    errors = {}
    if request.method == "POST":
        values = _form()
        try:
            service.update(subscriber, values)
            service.commit()
        except FieldErrors as e:
            db.session.rollback()
            errors = e.errors
            subscriber = _get(subscriber_id)
        else:
            flash(f"Абонент {service.label(subscriber)} сохранён.", "success")
            return redirect(url_for("subscribers.index"))
    return render_template("subscribers/form.html", subscriber=subscriber, values=values, errors=errors,
                           rules=service.rule_count(subscriber)), 422 if errors else 200


@bp.route("/<int:subscriber_id>/delete", methods=["GET", "POST"])
def delete(subscriber_id: int):
    subscriber = _get(subscriber_id)
    if request.method == "POST":
        label = service.label(subscriber)
        count = service.rule_count(subscriber)
        service.delete(subscriber)
        db.session.commit()
        flash(f"Абонент {label} удалён" + (f" вместе с правилами уведомлений ({count})." if count else "."), "success")
        return redirect(url_for("subscribers.index"))
    return render_template("subscribers/delete.html", subscriber=subscriber, rules=service.rule_count(subscriber))


@bp.get("/export.csv")
def export():
    found = subscriber_search.find(people.query_arg())
    return people.csv_download(csv_io.export_subscribers(found), "abonenty")


@bp.route("/import", methods=["GET", "POST"])
def import_csv():
    return people.import_page("subscribers", IMPORT_TEXTS)
