"""Creating, listing, changing and deleting notification rules: the one path shared by
the «Email-уведомления» screens and ``/api/v1/rules``.

Criteria are validated by :func:`notifier.core.criteria.parse_criteria` only,
so the UI and the API accept exactly the same rules and show the same
``summary``. Functions here add and delete but never commit: the caller does,
once, so that a multi-subscriber create or a bulk change is all-or-nothing.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import joinedload

from notifier.core import phones
from notifier.core.criteria import Criteria, criteria_to_json, merge_changes, parse_criteria, summary
from notifier.core.fielderrors import FieldErrors
from notifier.extensions import db
from notifier.models import Rule, Subscriber, valid_id
from notifier.services.subscriber_search import matching
from notifier.web.paging import PER_PAGE, Page, paginate

MAX_SUBSCRIBERS = 500  # per create request
MAX_IDS = 1000  # per bulk request


def stored(c: Criteria) -> dict:
    """What ``Rule.criteria`` keeps: the API shape with canonical listed numbers."""
    data = criteria_to_json(c)
    if c.callers_mode == "listed":
        data["callers"]["numbers"] = list(c.numbers)
    return data


def criteria_of(rule: Rule) -> Criteria:
    return parse_criteria(rule.criteria)


def rule_summary(rule: Rule) -> str:
    """The list's «Критерий уведомлений»; a stored rule that no longer parses is said so, not a 500."""
    try:
        return summary(criteria_of(rule))
    except FieldErrors:
        return "Неверный критерий (исправьте правило)"


def to_json(rule: Rule) -> dict:
    """A rule as the API answers it (api.md "Rules")."""
    try:
        body = criteria_to_json(criteria_of(rule))
    except FieldErrors:
        body = {k: rule.criteria.get(k) for k in ("types", "time", "callers")}
    sub = rule.subscriber
    return {
        "id": rule.id,
        "subscriber": {"id": sub.id, "number": sub.number, "name": sub.name},
        "morning_digest": False,  # criteria_to_json names it only when true
        **body,
        "summary": rule_summary(rule),
        "created_at": rule.created_at.isoformat(),
        "updated_at": rule.updated_at.isoformat(),
    }


# ------------------------------------------------------------------ subscribers


def resolve_subscribers(raw: Any) -> list[Subscriber]:
    """Subscribers named by id (an integer) or by number (a string in any
    notation), in the given order without repeats. Raises FieldErrors."""
    key = "subscribers"
    if raw is None or (isinstance(raw, list) and not raw):
        raise FieldErrors({key: "Добавьте хотя бы одного сотрудника"})
    if not isinstance(raw, list):
        raise FieldErrors({key: "Ожидается список номеров или id сотрудников"})
    if len(raw) > MAX_SUBSCRIBERS:
        raise FieldErrors({key: f"Не больше {MAX_SUBSCRIBERS} сотрудников за раз"})
    refs: list[tuple[str, Any, str]] = []  # ("id", 7, "7") / ("key", "+7902…", typed) / ("bad", None, typed)
    for item in raw:
        if isinstance(item, bool) or not isinstance(item, (int, str)):
            raise FieldErrors({key: "Сотрудник задаётся номером (строкой) или id (числом)"})
        if isinstance(item, int):
            refs.append(("id", item, str(item)))
            continue
        try:
            number_key = phones.normalize(item) if len(item) <= 64 else None
        except phones.InvalidNumber:
            number_key = None
        refs.append(("key", number_key, item) if number_key else ("bad", None, item))
    ids = [value for kind, value, _ in refs if kind == "id" and valid_id(value)]
    keys = [value for kind, value, _ in refs if kind == "key"]
    by_id = {s.id: s for s in db.session.scalars(select(Subscriber).where(Subscriber.id.in_(ids)))} if ids else {}
    by_key = {s.number_key: s for s in db.session.scalars(
        select(Subscriber).where(Subscriber.number_key.in_(keys)))} if keys else {}
    result: dict[int, Subscriber] = {}
    unknown: list[str] = []
    for kind, value, typed in refs:
        sub = by_id.get(value) if kind == "id" else by_key.get(value) if kind == "key" else None
        if sub is None:
            unknown.append(typed.strip()[:40])
        else:
            result.setdefault(sub.id, sub)
    unknown = list(dict.fromkeys(unknown))
    if unknown:
        shown = ", ".join(unknown[:3]) + (f" и ещё {len(unknown) - 3}" if len(unknown) > 3 else "")
        raise FieldErrors({key: f"Сотрудник не найден: {shown}"})
    return list(result.values())


# ------------------------------------------------------------------ changes


def create(body: dict) -> list[Rule]:
    """One rule per subscriber of ``body["subscribers"]``; every error at once."""
    errors: dict[str, str] = {}
    subscribers: list[Subscriber] = []
    try:
        subscribers = resolve_subscribers(body.get("subscribers"))
    except FieldErrors as exc:
        errors.update(exc.errors)
    try:
        criteria = parse_criteria(body)
    except FieldErrors as exc:
        errors.update(exc.errors)
    if errors:
        raise FieldErrors(errors)
    data = stored(criteria)
    rules = [Rule(subscriber=sub, criteria=data) for sub in subscribers]
    db.session.add_all(rules)
    db.session.flush()
    return rules


def update(rule: Rule, changes: Any) -> Rule:
    """Replace whichever of types/time/callers/morning_digest ``changes`` has (see merge_changes)."""
    rule.criteria = stored(parse_criteria(merge_changes(rule.criteria, changes)))
    return rule


def get(rule_id: Any) -> Rule | None:
    return db.session.get(Rule, rule_id) if valid_id(rule_id) else None


def get_many(ids: Any) -> list[Rule]:
    """The rules of a bulk request; FieldErrors for a bad list, LookupError naming unknown ids."""
    if not isinstance(ids, list) or not ids:
        raise FieldErrors({"ids": "Укажите список id правил"})
    if len(ids) > MAX_IDS:
        raise FieldErrors({"ids": f"Не больше {MAX_IDS} правил за раз"})
    if any(isinstance(i, bool) or not isinstance(i, int) for i in ids):
        raise FieldErrors({"ids": "id правил — целые числа"})
    wanted = list(dict.fromkeys(ids))
    rules = {r.id: r for r in db.session.scalars(select(Rule).options(joinedload(Rule.subscriber))
                                                 .where(Rule.id.in_([i for i in wanted if valid_id(i)])))}
    missing = [i for i in wanted if i not in rules]
    if missing:
        raise LookupError(missing)
    return [rules[i] for i in wanted]


def bulk_update(rules: Sequence[Rule], changes: Any) -> None:
    """Apply the same changes to each rule, keeping each rule's subscriber.

    Validated per rule (changes may replace only ``types``, so the result
    depends on each rule's current criteria); the first failure is raised.
    """
    if not isinstance(changes, dict):
        raise FieldErrors({"changes": "Ожидается JSON-объект"})
    for rule in rules:
        update(rule, changes)


def delete(rules: Iterable[Rule]) -> int:
    count = 0
    for rule in rules:
        db.session.delete(rule)
        count += 1
    return count


# ------------------------------------------------------------------ listing


def listing(query: str | None = None, subscriber_id: int | None = None, by_id: bool = False) -> Select:
    """The rules list, shared by the «Email-уведомления» page and ``GET /api/v1/rules``:
    rules of the employees matching ``query``, of one employee when ``subscriber_id``
    is given, each with its employee loaded in the same query. Ordered by
    employee then age, as the page shows them, or ``by_id`` as the API answers."""
    stmt = select(Rule).join(Rule.subscriber).options(joinedload(Rule.subscriber))
    condition = matching(query)
    if condition is not None:
        stmt = stmt.where(Rule.subscriber_id.in_(select(Subscriber.id).where(condition)))
    if subscriber_id is not None:
        stmt = stmt.where(Rule.subscriber_id == subscriber_id)
    return stmt.order_by(Rule.id) if by_id else stmt.order_by(Subscriber.name, Subscriber.number_key, Rule.id)


def list_page(query: str | None = None, page: str | None = None, per_page: int = PER_PAGE,
              subscriber_id: int | None = None) -> Page:
    """One page of the list, for the screen."""
    return paginate(listing(query, subscriber_id), page, per_page)


def list_all(subscriber_id: int | None = None) -> list[Rule]:
    """Every rule (of one employee), by id, for the API."""
    return list(db.session.scalars(listing(subscriber_id=subscriber_id, by_id=True)))


def count_all() -> int:
    return db.session.scalar(select(func.count(Rule.id))) or 0
