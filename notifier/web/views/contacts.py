"""«Записная книжка клиентов»: clients with one or more numbers and a VIP
flag. List with search, create, edit, delete, CSV import and export; the
rules live in notifier.services.contacts."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from notifier.core.fielderrors import FieldErrors
from notifier.extensions import db
from notifier.models import Contact
from notifier.services import contact_search, csv_io
from notifier.services import contacts as service
from notifier.web import htmx
from notifier.web.paging import paginate
from notifier.web.views import people

bp = Blueprint("contacts", __name__, url_prefix="/contacts")
RESULTS = "contact-results"
IMPORT_TEXTS = {
    "title": "Импорт клиентов", "section": "Записная книжка клиентов", "list_endpoint": "contacts.index",
    "example": ("Имя;Номера;VIP\r\nООО Ромашка;+7 902 385-52-70, +7 495 123-45-67;да\r\n"
                "ИП Васильков;8 912 000-00-01;нет"),
    "rule": "Несколько номеров одного клиента — в одной ячейке через запятую. Если номер уже есть у клиента "
            "в книжке, этот клиент обновляется: имя, VIP и номера становятся такими, как в файле.",
}


def _get(contact_id: int) -> Contact:
    return service.get(contact_id) or abort(404)


def _vip_only() -> bool:
    return request.args.get("vip") == "1"


@bp.get("/")
def index():
    q, vip = people.query_arg(), _vip_only()
    page = paginate(contact_search.search(q, vip_only=vip), request.args.get("page"))
    template = "contacts/_results.html" if htmx.target() == RESULTS else "contacts/index.html"
    # The list's filters, carried by its page links and its export link.
    list_args = {"q": q or None, "vip": "1" if vip else None}
    return render_template(template, q=q, vip=vip, page=page, list_args=list_args)


def _form() -> dict:
    return {"name": request.form.get("name", ""), "numbers": request.form.getlist("numbers"),
            "vip": bool(request.form.get("vip"))}


def _page(contact: Contact | None, values: dict, errors: dict):
    return render_template("contacts/form.html", contact=contact, values=values, errors=errors), 422 if errors else 200


@bp.route("/new", methods=["GET", "POST"])
def create():
    if request.method == "GET":
        return _page(None, {"name": "", "numbers": [], "vip": request.args.get("vip") == "1"}, {})
    values = _form()
    try:
        contact = service.create(values)
        service.commit()
    except FieldErrors as e:
        db.session.rollback()
        return _page(None, values, e.errors)
    flash(f"Клиент «{contact.name}» добавлен.", "success")
    return redirect(url_for("contacts.index"))


@bp.route("/<int:contact_id>/edit", methods=["GET", "POST"])
def edit(contact_id: int):
    contact = _get(contact_id)
    if request.method == "GET":
        return _page(contact, {"name": contact.name, "numbers": [n.number for n in contact.numbers],
                               "vip": contact.vip}, {})
    values = _form()
    try:
        service.update(contact, values)
        service.commit()
    except FieldErrors as e:
        db.session.rollback()
        return _page(_get(contact_id), values, e.errors)
    flash(f"Клиент «{contact.name}» сохранён.", "success")
    return redirect(url_for("contacts.index"))


@bp.route("/<int:contact_id>/delete", methods=["GET", "POST"])
def delete(contact_id: int):
    contact = _get(contact_id)
    if request.method == "POST":
        name = contact.name
        service.delete(contact)
        db.session.commit()
        flash(f"Клиент «{name}» удалён.", "success")
        return redirect(url_for("contacts.index"))
    return render_template("contacts/delete.html", contact=contact)


@bp.get("/export.csv")
def export():
    found = contact_search.find(people.query_arg(), vip_only=_vip_only())
    return people.csv_download(csv_io.export_contacts(found), "klienty")


@bp.route("/import", methods=["GET", "POST"])
def import_csv():
    return people.import_page("contacts", IMPORT_TEXTS)
