"""/api/v1/rules: notification rules (api.md "Rules"), through notifier.services.rules
so that the API and the «Email-уведомления» screen validate, list and summarise
alike. Invalid input raises FieldErrors, answered 422 by the API's error handler."""
from __future__ import annotations

from flask import request

from notifier.api import ApiError, bp, json_body
from notifier.core.fielderrors import FieldErrors
from notifier.extensions import db
from notifier.models import Rule
from notifier.services import rules as service
from notifier.services import subscribers


def _rule(rule_id: int) -> Rule:
    rule = service.get(rule_id)
    if rule is None:
        raise ApiError(404, "правило не найдено")
    return rule


def _subscriber_filter() -> int | None:
    """``?subscriber={id}``: an existing employee's id, else 422 or 404."""
    raw = request.args.get("subscriber")
    if raw is None:
        return None
    text = raw.strip()  # isdecimal: int() reads every such string; short: int() refuses thousands of digits
    subscriber_id = int(text) if text.isdecimal() and len(text) <= 10 else None
    if not service.valid_id(subscriber_id):
        raise FieldErrors({"subscriber": "Ожидается id сотрудника (целое число)"})
    if subscribers.get(subscriber_id) is None:
        raise ApiError(404, "сотрудник не найден")
    return subscriber_id


@bp.get("/rules")
def list_rules():
    return {"items": [service.to_json(rule) for rule in service.list_all(_subscriber_filter())]}


@bp.post("/rules")
def create_rules():
    rules = service.create(json_body())
    db.session.commit()
    return {"items": [service.to_json(rule) for rule in rules]}, 201


@bp.get("/rules/<int:rule_id>")
def get_rule(rule_id: int):
    return service.to_json(_rule(rule_id))


@bp.patch("/rules/<int:rule_id>")
def patch_rule(rule_id: int):
    rule = _rule(rule_id)
    body = json_body()
    if "subscribers" in body or "subscriber" in body:
        raise FieldErrors({"subscribers": "Сотрудника правила изменить нельзя: создайте новое правило"})
    service.update(rule, body)
    db.session.commit()
    return service.to_json(rule)


@bp.delete("/rules/<int:rule_id>")
def delete_rule(rule_id: int):
    service.delete([_rule(rule_id)])
    db.session.commit()
    return "", 204


@bp.post("/rules/bulk")
def bulk():
    """``{"ids": [...], "action": "update", "changes": {...}}`` or ``"action": "delete"``;
    all or nothing: one unknown id (404) or invalid change (422) changes no rule."""
    body = json_body()
    action = body.get("action")
    if action not in ("update", "delete"):
        raise FieldErrors({"action": "Ожидается «update» или «delete»"})
    try:
        rules = service.get_many(body.get("ids"))
    except LookupError as exc:
        missing = ", ".join(str(i) for i in exc.args[0][:10])
        raise ApiError(404, f"правила не найдены: {missing}") from None
    if action == "delete":
        deleted = service.delete(rules)
        db.session.commit()
        return {"deleted": deleted}
    if "changes" not in body:
        raise FieldErrors({"changes": "Укажите изменения"})
    service.bulk_update(rules, body["changes"])
    db.session.commit()
    return {"items": [service.to_json(rule) for rule in rules]}
