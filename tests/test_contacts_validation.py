"""The contact's clean() and number list as tables of cases (pure, no database)."""
import pytest

from notifier.core.fielderrors import FieldErrors
from notifier.services import contacts as service


@pytest.mark.parametrize("raw, keys", [
    (["101"], ["101"]),
    ("101", ["101"]),
    (["", "101", None, "  ", "+7 902 385 52 70"], ["101", "+79023855270"]),
    (["89023855270", "+74951234567"], ["+79023855270", "+74951234567"]),
])
def test_numbers(raw, keys):
    assert [key for _, key in service.clean_numbers(raw)] == keys


@pytest.mark.parametrize("raw, errors", [
    ([], {"numbers": "Укажите хотя бы один номер"}),
    (["", " "], {"numbers": "Укажите хотя бы один номер"}),
    (None, {"numbers": "Нужен список номеров"}),
    (5, {"numbers": "Нужен список номеров"}),
    (["101", "", "abc"], {"numbers.2": "Неверный номер телефона: «abc» (допустимы только цифры, «+» и разделители)"}),
    (["89023855270", "9023855270"], {"numbers.1": "Этот номер уже указан выше"}),
    ([str(100 + i) for i in range(21)], {"numbers": "Не больше 20 номеров у одного контакта"}),
    ([101], None),  # an integer extension is fine
])
def test_number_errors(raw, errors):
    if errors is None:
        assert service.clean_numbers(raw) == [("101", "101")]
        return
    with pytest.raises(FieldErrors) as e:
        service.clean_numbers(raw)
    assert e.value.errors == errors


@pytest.mark.parametrize("data, errors", [
    ({"numbers": ["101"]}, {"name"}),
    ({"name": " \n ", "numbers": ["101"]}, {"name"}),
    ({"name": "x" * 201, "numbers": ["101"]}, {"name"}),
    ({"name": "X", "numbers": ["101"], "vip": "?"}, {"vip"}),
    ({"name": None, "numbers": [], "vip": "?"}, {"name", "numbers", "vip"}),
])
def test_clean_errors(data, errors):
    with pytest.raises(FieldErrors) as e:
        service.clean(data)
    assert set(e.value.errors) == errors


def test_clean_values():
    assert service.clean({"name": "ООО <Ромашка>\n", "numbers": ["+7 902 385 52 70"], "vip": True}) == {
        "name": "ООО <Ромашка>\n", "numbers": [("+7 902 385 52 70", "+79023855270")], "vip": True}
    assert service.clean({"name": "X", "numbers": ["101"]})["vip"] is False
    assert service.clean({"vip": "да"}, partial=True) == {"vip": True}
