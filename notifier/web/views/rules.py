"""Инструменты → «Email-уведомления»: the rules list and the «Правило уведомлений» dialog.

The dialog is server-driven: every button in it (add or remove an employee or
a number, save) posts the whole form and gets the dialog back, so it works the
same with htmx (the form swaps itself; 422 on validation errors) and as plain
form posts without JavaScript (the page is rendered with the dialog open).
Rules are created and changed through notifier.services.rules, like the API.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from notifier.core import phones
from notifier.core.criteria import WEEKDAYS, criteria_to_json, parse_criteria
from notifier.core.fielderrors import FieldErrors
from notifier.core.rule_check import KINDS as CHECK_KINDS
from notifier.core.rule_check import parse_probe
from notifier.extensions import db
from notifier.models import Rule, Subscriber
from notifier.services import onboarding, rule_check, settings
from notifier.services import rules as service
from notifier.services import subscribers as subscriber_service
from notifier.services.people_fields import query as clean_query
from notifier.services.subscriber_search import find as find_subscribers
from notifier.web import htmx

bp = Blueprint("rules", __name__)

MAX_RESULTS = 8
CHANGED = "rules-changed"  # HX-Trigger: the list reloads itself
CLOSE = "rule-dialog-close"  # HX-Trigger: rules.js closes the dialog
WEEKDAY_NAMES = dict(zip(WEEKDAYS, ("Пн", "Вт", "Ср", "Чт", "Пт", "Сб", "Вс")))
ADDRESS_ERRORS = ("subscribers", "q")


def _int(value: Any, default: int | None = None) -> int | None:
    text = str(value or "").strip()
    return int(text) if text.isdigit() and len(text) < 10 else default


def _ids(values: list[str]) -> list[int]:
    return list(dict.fromkeys(i for i in (_int(v) for v in values) if i))


# -------------------------------------------------------------------- the list


@bp.get("/")
def index():
    """The page; with htmx only the part asked for (the table, or the whole list after a change)."""
    listing = _listing()
    target = htmx.target()
    if target == "rules-table":
        return render_template("rules/_rows.html", **listing)
    if target == "rules-list":
        return render_template("rules/_list.html", **listing)
    return render_template("rules/index.html", **listing)


def _listing() -> dict:
    q = clean_query(request.args.get("q"))
    subscriber = subscriber_service.get(_int(request.args.get("subscriber"), 0) or 0)
    page = service.list_page(q, request.args.get("page"), subscriber_id=subscriber.id if subscriber else None)
    return {"p": page, "q": q, "subscriber": subscriber, "total_all": service.count_all(),
            "summary": service.rule_summary, "checklist": onboarding.checklist,
            # The list's filters, carried by its page links.
            "list_args": {"q": q or None, "subscriber": subscriber.id if subscriber else None}}


# -------------------------------------------------------------------- the dialog


@dataclass
class Dialog:
    """Everything the dialog template shows; built from a rule, or from the posted form."""

    mode: str  # "create", "edit" or "bulk"
    action: str  # the URL the form posts to
    values: dict
    subscribers: list[Subscriber] = field(default_factory=list)
    rules: list[Rule] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    results: list[Subscriber] | None = None
    tab: str = "addresses"
    focus: str | None = None  # id of the input to focus after a swap
    note: str | None = None
    error_note: str | None = None  # the banner over field errors, when not «не сохранено»
    check: rule_check.Result | None = None  # «Проверить правило»: the verdicts
    check_errors: dict[str, str] = field(default_factory=dict)

    @property
    def tab_errors(self) -> dict[str, bool]:
        addresses = any(k in self.errors for k in ADDRESS_ERRORS)
        return {"addresses": addresses, "criteria": any(k not in ADDRESS_ERRORS for k in self.errors)}


def default_values() -> dict:
    return {"types": ["missed_calls"], "time_mode": "all", "weekdays": list(WEEKDAYS), "from": "",
            "to": "", "start_date": "", "end_date": "", "callers_mode": "all", "numbers": [],
            "number": "", "q": "", "morning_digest": False}


def values_of(criteria: dict) -> dict:
    """Form values of stored criteria (listed numbers in display form)."""
    data = criteria_to_json(parse_criteria(criteria))
    period = data["time"].get("period") or {}
    values = default_values()
    values.update(types=data["types"], time_mode=data["time"]["mode"], callers_mode=data["callers"]["mode"],
                  numbers=data["callers"].get("numbers", []), morning_digest=data.get("morning_digest", False))
    if period:
        start, end = period["from"], period["to"]
        if start == "00:00" and end == "24:00":
            start = end = ""  # the whole day: leave the time inputs empty
        elif end == "24:00":
            end = "00:00"
        values.update(weekdays=period["weekdays"], start_date=period["start_date"] or "",
                      end_date=period["end_date"] or "", **{"from": start, "to": end})
    return values


def values_from_form(form) -> dict:
    return {
        "types": form.getlist("types"),
        "time_mode": form.get("time_mode", "all"),
        "weekdays": form.getlist("weekdays"),
        "from": form.get("from", "").strip(),
        "to": form.get("to", "").strip(),
        "start_date": form.get("start_date", "").strip(),
        "end_date": form.get("end_date", "").strip(),
        "callers_mode": form.get("callers_mode", "all"),
        "numbers": [n for n in form.getlist("numbers") if n.strip()],
        "number": form.get("number", ""),
        "q": clean_query(form.get("q")),
        "morning_digest": form.get("morning_digest") == "1",
        # «Проверить правило»: never part of the rule; check_at None means not posted (then «now»).
        "check_number": form.get("check_number", ""),
        "check_at": form.get("check_at"),
        "check_type": form.get("check_type", "missed_call"),
        "check_all": form.get("check_all") == "1",
    }


def body_of(values: dict) -> dict:
    """The API rule body the form stands for. A number typed but not yet added
    counts; a time input cannot say 24:00, so an end of 00:00 means midnight."""
    time: dict[str, Any] = {"mode": values["time_mode"]}
    if values["time_mode"] == "period":
        to = values["to"]
        time["period"] = {
            "weekdays": values["weekdays"],
            "from": values["from"] or None,
            "to": "24:00" if to == "00:00" else (to or None),
            "start_date": values["start_date"] or None,
            "end_date": values["end_date"] or None,
        }
    callers: dict[str, Any] = {"mode": values["callers_mode"]}
    if values["callers_mode"] == "listed":
        callers["numbers"] = values["numbers"] + ([values["number"]] if values["number"].strip() else [])
    # morning_digest always: an unchecked box must switch it off on edit (a PATCH keeps what is missing)
    return {"types": values["types"], "time": time, "callers": callers,
            "morning_digest": bool(values.get("morning_digest"))}


def _rule(rule_id: int) -> Rule:
    return service.get(rule_id) or abort(404)


def _bulk_rules(values: list[str]) -> list[Rule]:
    """The checked rules that still exist; FieldErrors past service.MAX_IDS."""
    ids = _ids(values)
    if not ids:
        return []
    try:
        return service.get_many(ids)
    except LookupError as exc:  # deleted meanwhile: act on the rest
        missing = set(exc.args[0])
        return service.get_many([i for i in ids if i not in missing]) if len(missing) < len(ids) else []


@bp.get("/rules/new")
def new():
    return _show(Dialog("create", url_for("rules.create"), default_values()))


@bp.post("/rules/new")
def create():
    values = values_from_form(request.form)
    dialog = Dialog("create", url_for("rules.create"), values,
                    subscribers=subscriber_service.by_ids(_ids(request.form.getlist("subscribers"))),
                    tab=_tab("addresses"))
    return _handle(dialog)


@bp.route("/rules/<int:rule_id>/edit", methods=["GET", "POST"])
def edit(rule_id: int):
    rule = _rule(rule_id)
    action = url_for("rules.edit", rule_id=rule.id)
    if request.method == "GET":
        return _show(Dialog("edit", action, _safe_values(rule), [rule.subscriber], [rule], tab="criteria"))
    dialog = Dialog("edit", action, values_from_form(request.form), [rule.subscriber], [rule],
                    tab=_tab("criteria"))
    return _handle(dialog)


@bp.route("/rules/bulk-edit", methods=["GET", "POST"])
def bulk_edit():
    source = request.args if request.method == "GET" else request.form
    try:
        rules = _bulk_rules(source.getlist("ids"))
    except FieldErrors as exc:
        return _refused(exc)
    if not rules:
        return _nothing_checked()
    action = url_for("rules.bulk_edit")
    if request.method == "GET" or request.form.get("action") == "open":  # POST "open": from the list without JS
        criteria = {json.dumps(r.criteria, sort_keys=True) for r in rules}
        values = _safe_values(rules[0]) if len(criteria) == 1 else default_values()
        note = None if len(criteria) == 1 else "У отмеченных правил разные критерии: заданные здесь заменят их все."
        return _show(Dialog("bulk", action, values, _distinct(r.subscriber for r in rules), rules,
                            tab="criteria", note=note))
    dialog = Dialog("bulk", action, values_from_form(request.form), _distinct(r.subscriber for r in rules),
                    rules, tab=_tab("criteria"))
    return _handle(dialog)


def _tab(default: str) -> str:
    tab = request.form.get("tab")
    return tab if tab in ("addresses", "criteria") else default


def _distinct(subscribers) -> list[Subscriber]:
    return list({s.id: s for s in subscribers}.values())


def _safe_values(rule: Rule) -> dict:
    try:
        return values_of(rule.criteria)
    except FieldErrors:
        return default_values()


def _nothing_checked():
    message = "Отметьте правила в списке."
    if htmx.is_request():
        return "", 204, htmx.headers(trigger={CHANGED: {"message": message}})
    flash(message, "error")
    return redirect(url_for("rules.index"))


def _refused(exc: FieldErrors):
    """A bulk request the service refuses as a whole (too many rules): 422 with
    its message, in the list's status line (htmx) or on the page."""
    message = "; ".join(exc.errors.values())
    if htmx.is_request():
        return "", 422, htmx.headers(trigger={CHANGED: {"message": message}}, reswap="none")
    flash(message, "error")
    return render_template("rules/index.html", **_listing()), 422


@bp.get("/rules/subscriber-search")
def subscriber_search():
    """Active search in the «Адреса» tab: matching employees to add."""
    q = clean_query(request.args.get("q"))
    chosen = set(_ids(request.args.getlist("subscribers")))
    results = find_subscribers(q, MAX_RESULTS) if q else None
    return render_template("rules/_results.html", results=results, chosen=chosen, search_q=q)


def _handle(dialog: Dialog):
    """One posted dialog: an in-dialog action (re-render) or save."""
    action, _, arg = request.form.get("action", "save").partition(":")
    if dialog.mode != "create" and action in ("add_subscriber", "remove_subscriber"):
        action = "refresh"
    if action == "add_subscriber":
        _add_subscriber(dialog, _int(arg))
    elif action == "remove_subscriber":
        dialog.subscribers = [s for s in dialog.subscribers if s.id != _int(arg)]
        dialog.tab, dialog.focus = "addresses", "rule-q"
    elif action == "add_number":
        _add_number(dialog)
    elif action == "remove_number":
        index = _int(arg, -1)
        dialog.values["numbers"] = [n for i, n in enumerate(dialog.values["numbers"]) if i != index]
        dialog.tab, dialog.focus = "criteria", "rule-number"
    elif action == "check":
        _check(dialog)
    elif action == "save":
        return _save(dialog)
    return _show(dialog, 422 if dialog.errors or dialog.check_errors else 200)


def _check(dialog: Dialog) -> None:
    """«Проверить правило»: the form's criteria (saved or not) for each chosen employee; nothing stored."""
    values = dialog.values
    dialog.focus = "rule-check-number"
    try:
        probe = parse_probe(values["check_number"], values["check_at"] or "", values["check_type"],
                            settings.company_timezone())
    except FieldErrors as exc:
        dialog.check_errors.update(exc.errors)
        probe = None
    try:
        criteria = parse_criteria(body_of(values))
    except FieldErrors as exc:
        dialog.errors = exc.errors
        dialog.error_note = "Проверить правило нельзя: исправьте отмеченные поля."
        dialog.check_errors["check"] = "Критерии правила заполнены с ошибками — исправьте их, чтобы проверить."
        dialog.tab = "criteria"
        return
    if not dialog.subscribers:
        dialog.check_errors["check"] = "Выберите сотрудников на вкладке «Адреса»."
    if probe is None or dialog.check_errors:
        return
    dialog.check = rule_check.check(probe, criteria, dialog.subscribers, [r.id for r in dialog.rules],
                                    with_others=values["check_all"])
    dialog.focus = "rule-check-result"


def _add_subscriber(dialog: Dialog, subscriber_id: int | None) -> None:
    dialog.tab, dialog.focus = "addresses", "rule-q"
    q = dialog.values["q"]
    if subscriber_id:
        found = subscriber_service.by_ids([subscriber_id])
    elif not q:
        dialog.errors["q"] = "Введите номер, имя, email или Telegram сотрудника"
        return
    else:
        found = find_subscribers(q, MAX_RESULTS + 1)
        exact = [s for s in found if s.number_key == _number_key(q)]
        found = exact or found
    if not found:
        dialog.errors["q"] = "Сотрудник не найден"
        dialog.results = []
        return
    if len(found) > 1:
        dialog.errors["q"] = "Найдено несколько сотрудников — выберите из списка"
        dialog.results = found[:MAX_RESULTS]
        return
    if all(s.id != found[0].id for s in dialog.subscribers):
        dialog.subscribers.append(found[0])
    dialog.values["q"] = ""


def _number_key(text: str) -> str | None:
    try:
        return phones.normalize(text)
    except phones.InvalidNumber:
        return None


def _add_number(dialog: Dialog) -> None:
    """Validated exactly as saving would (parse_criteria), shown normalised."""
    dialog.tab, dialog.focus = "criteria", "rule-number"
    raw = dialog.values["number"]
    if not raw.strip():
        dialog.errors["number"] = "Введите номер"
        return
    try:
        parsed = parse_criteria({"types": ["missed_calls"], "callers": {"mode": "listed", "numbers": [raw]}})
    except FieldErrors as exc:
        dialog.errors["number"] = exc.errors.get("callers.numbers", "Неверный номер телефона")
        return
    shown = phones.display(parsed.numbers[0])
    known = {_number_key(n) for n in dialog.values["numbers"]}
    if parsed.numbers[0] not in known:
        dialog.values["numbers"].append(shown)
    dialog.values["number"] = ""
    dialog.values["callers_mode"] = "listed"


def _save(dialog: Dialog):
    body = body_of(dialog.values)
    try:
        if dialog.mode == "create":
            rules = service.create({**body, "subscribers": [s.id for s in dialog.subscribers]})
            message = ("Правило добавлено." if len(rules) == 1 else f"Добавлено правил: {len(rules)}.")
        elif dialog.mode == "edit":
            service.update(dialog.rules[0], body)
            message = "Правило изменено."
        else:
            service.bulk_update(dialog.rules, body)
            message = f"Изменено правил: {len(dialog.rules)}."
    except FieldErrors as exc:
        db.session.rollback()
        dialog.errors = exc.errors
        if "number" in dialog.errors:  # never a key of the service; keep the shapes apart
            del dialog.errors["number"]
        tabs = dialog.tab_errors
        if not tabs.get(dialog.tab):
            dialog.tab = "addresses" if tabs["addresses"] else "criteria"
        return _show(dialog, 422)
    db.session.commit()
    return _done(message)


def _done(message: str):
    if htmx.is_request():
        return "", 200, htmx.headers(trigger={CHANGED: {"message": message}, CLOSE: True}, reswap="none")
    flash(message, "success")
    return redirect(url_for("rules.index"))


def _show(dialog: Dialog, status: int = 200):
    """htmx: the dialog (GET) or its form (POST); else the page with the dialog open."""
    telegram = settings.telegram()
    timezone = settings.company_timezone()
    for key, default in _check_defaults(timezone).items():
        if dialog.values.get(key) is None:
            dialog.values[key] = default
    ctx = {"d": dialog, "v": dialog.values, "errors": dialog.errors, "telegram": telegram,
           "check_errors": dialog.check_errors, "check_kinds": CHECK_KINDS, "timezone": timezone,
           "mail_configured": settings.mail().configured,
           "weekday_names": WEEKDAY_NAMES, "chosen": {s.id for s in dialog.subscribers},
           "results": dialog.results, "search_q": dialog.values["q"]}
    if htmx.is_request():
        template = "rules/_dialog.html" if request.method == "GET" else "rules/_form.html"
        return render_template(template, **ctx), status
    return render_template("rules/index.html", **_listing(), **ctx, dialog=True), status


def _check_defaults(timezone: str) -> dict:
    """«Проверить правило» starts at the current minute of the company's clock."""
    now = datetime.now(ZoneInfo(timezone)).strftime("%Y-%m-%dT%H:%M")
    return {"check_number": "", "check_at": now, "check_type": "missed_call", "check_all": False}


# -------------------------------------------------------------------- delete


@bp.post("/rules/<int:rule_id>/delete")
def delete(rule_id: int):
    rule = _rule(rule_id)
    return _delete([rule], url_for("rules.delete", rule_id=rule.id))


@bp.post("/rules/bulk-delete")
def bulk_delete():
    try:
        rules = _bulk_rules(request.form.getlist("ids"))
    except FieldErrors as exc:
        return _refused(exc)
    if not rules:
        return _nothing_checked()
    return _delete(rules, url_for("rules.bulk_delete"))


def _delete(rules: list[Rule], action: str):
    """Deletes once confirmed (htmx asks with hx-confirm); a plain post gets a confirmation page."""
    if request.form.get("confirmed") != "1":
        return render_template("rules/confirm_delete.html", rules=rules, action=action,
                               summary=service.rule_summary)
    count = service.delete(rules)
    db.session.commit()
    return _done("Правило удалено." if count == 1 else f"Удалено правил: {count}.")
