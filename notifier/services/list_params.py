"""Query-string parameters the list screens and list APIs share («Журнал», «Пропущенные»).

Ids and the page size are positive whole numbers in ASCII digits and within
bounds (a database integer), so an absurd value is refused with a message
instead of reaching the database."""
from __future__ import annotations

from notifier.models import MAX_ID

MAX_LIMIT = 200


def positive(raw: str | None, maximum: int) -> int:
    raw = (raw or "").strip()
    if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= maximum:
        raise ValueError
    return int(raw)


def read_ids_and_limit(args, filters, errors: dict[str, str]) -> None:
    """``subscriber``, ``before`` (ids) and ``limit`` onto ``filters``'s
    subscriber_id / before / limit; a Russian message per bad one into ``errors``."""
    for name, attr, maximum in (("subscriber", "subscriber_id", MAX_ID), ("before", "before", MAX_ID),
                                ("limit", "limit", MAX_LIMIT)):
        raw = args.get(name)
        if raw in (None, ""):
            continue
        try:
            setattr(filters, attr, positive(raw, maximum))
        except ValueError:
            errors[name] = (f"Укажите число от 1 до {MAX_LIMIT}" if name == "limit"
                            else "Укажите положительный целый номер")
