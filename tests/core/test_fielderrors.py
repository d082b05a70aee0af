"""FieldErrors: the one exception for bad fields, raised by core parsers and services."""
import pytest

from notifier.core.criteria import parse_criteria
from notifier.core.events import parse_event
from notifier.core.fielderrors import FieldErrors
from notifier.core.workhours import Schedule


def test_keeps_its_own_copy_of_the_errors_and_says_them():
    errors = {"number": "Укажите номер", "time.period.from": "Укажите время в формате ЧЧ:ММ"}
    exc = FieldErrors(errors)
    errors.clear()
    assert exc.errors == {"number": "Укажите номер", "time.period.from": "Укажите время в формате ЧЧ:ММ"}
    assert str(exc) == "number: Укажите номер; time.period.from: Укажите время в формате ЧЧ:ММ"
    assert not exc.conflict and FieldErrors({"number": "занят"}, conflict=True).conflict


@pytest.mark.parametrize("parse, body, field", [
    (parse_criteria, {"types": []}, "types"),
    (parse_event, {}, "id"),
    (Schedule.from_json, {"timezone": "Mars/Olympus"}, "timezone"),
])
def test_every_core_parser_raises_it(parse, body, field):
    """So the API's one error handler and the screens catch one type."""
    with pytest.raises(FieldErrors) as info:
        parse(body)
    assert field in info.value.errors
