"""/api/v1/rules: notification rules (api.md "Rules"), through notifier.services.rules
so that the API and the «Email-уведомления» screen validate and summarise alike."""
from __future__ import annotations

from flask import request
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from notifier.services import rules as service
from notifier.extensions import db
from notifier.models import Rule, Subscriber
from notifier.api import ApiError, bp, json_body


def _rule(rule_id: int) -> Rule:
    rule = service.get(rule_id)
    if rule is None:
        raise ApiError(404, "правило не найдено")
    return rule


def _invalid(exc: service.RuleError):
    db.session.rollback()
    return ApiError(422, errors=exc.errors)


@bp.get("/rules")
def list_rules():
    stmt = select(Rule).options(joinedload(Rule.subscriber)).order_by(Rule.id)
    raw = request.args.get("subscriber")
    if raw is not None:
        subscriber_id = int(raw) if raw.strip().isdigit() else None
        if not service.valid_id(subscriber_id):
            raise ApiError(422, errors={"subscriber": "Ожидается id сотрудника (целое число)"})
        if db.session.get(Subscriber, subscriber_id) is None:
            raise ApiError(404, "сотрудник не найден")
        stmt = stmt.where(Rule.subscriber_id == subscriber_id)
    return {"items": [service.to_json(rule) for rule in db.session.scalars(stmt)]}


@bp.post("/rules")
def create_rules():
    try:
        rules = service.create(json_body())
    except service.RuleError as exc:
        raise _invalid(exc) from None
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
        raise ApiError(422, errors={"subscribers": "Сотрудника правила изменить нельзя: создайте новое правило"})
    try:
        service.update(rule, body)
    except service.RuleError as exc:
        raise _invalid(exc) from None
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
        raise ApiError(422, errors={"action": "Ожидается «update» или «delete»"})
    try:
        rules = service.get_many(body.get("ids"))
    except service.RuleError as exc:
        raise _invalid(exc) from None
    except LookupError as exc:
        missing = ", ".join(str(i) for i in exc.args[0][:10])
        raise ApiError(404, f"правила не найдены: {missing}") from None
    if action == "delete":
        deleted = service.delete(rules)
        db.session.commit()
        return {"deleted": deleted}
    if "changes" not in body:
        raise ApiError(422, errors={"changes": "Укажите изменения"})
    try:
        service.bulk_update(rules, body["changes"])
    except service.RuleError as exc:
        raise _invalid(exc) from None
    db.session.commit()
    return {"items": [service.to_json(rule) for rule in rules]}
