"""«Проверить правило» in a real browser: the rule dialog judges a caller at a
working hour and at night for each chosen employee; nothing is stored."""
import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from notifier.extensions import db
from notifier.models import Decision, Event, Rule

from ..factories import contact, rule, subscriber

pytestmark = pytest.mark.browser


@pytest.fixture
def people(app):
    ivanov = subscriber("101", "Иванов Иван", email="ivanov@example.com", chat_id=42).id
    petrova = subscriber("102", "Петрова Анна", email="petrova@example.com").id
    rule(ivanov, time={"mode": "off_hours"}, callers={"mode": "vip"})  # his other rule: VIP callers at night
    contact("ООО Ромашка", "+7 902 385-52-70", vip=True)
    return {"ivanov": ivanov, "petrova": petrova}


def stored(model):
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model))


def verdicts(dialog):
    result = dialog.locator("#rule-check-result")
    return [[cell.inner_text().replace("\n", " ").strip() for cell in row.locator("th, td").all()]
            for row in result.locator("tbody tr").all()]


def test_check_a_new_rule_at_a_working_hour_and_at_night(app, admin_page, people, screenshot):
    page = admin_page
    page.get_by_role("button", name="Добавить правило").click()
    dialog = page.get_by_role("dialog", name="Правило уведомлений")
    search = dialog.get_by_label("Сотрудник: номер, имя, email или Telegram")
    for name in ("101", "102"):
        search = dialog.get_by_label("Сотрудник: номер, имя, email или Telegram")
        search.fill(name)
        dialog.get_by_role("button", name="Добавить", exact=True).click()
        dialog.locator("#rule-q:focus").wait_for()
    dialog.get_by_role("tab", name="Критерии").click()
    dialog.get_by_label("В рабочее время").check()

    dialog.get_by_text("Проверить правило", exact=True).click()  # the section opens
    assert dialog.get_by_text("Проверяется только это правило").is_visible()
    dialog.get_by_label("Номер звонящего").fill("8 902 385 52 70")
    dialog.get_by_label("Дата и время звонка").fill("2026-12-03T10:00")
    dialog.get_by_role("button", name="Проверить", exact=True).click()
    dialog.locator("#rule-check-result").get_by_text("четверг, 03.12.2026 10:00").wait_for()
    assert "рабочее время. Номер входит в VIP-номера." in dialog.locator("#rule-check-result").inner_text()
    assert verdicts(dialog) == [
        ["Иванов Иван 101", "будет уведомлён Событие подходит под правило сотрудника"],
        ["Петрова Анна 102", "будет уведомлён Событие подходит под правило сотрудника"]]
    screenshot("rule-check-day")

    # at night, also with the employees' other rules (Enter in the field runs the check, not «save»)
    dialog.get_by_label("С учётом остальных правил сотрудника").check()
    at = dialog.get_by_label("Дата и время звонка")
    at.fill("2026-12-03T23:00")
    at.press("Enter")
    dialog.locator("#rule-check-result").get_by_text("23:00").wait_for()
    assert dialog.get_by_role("columnheader", name="С остальными правилами").is_visible()
    assert verdicts(dialog) == [
        ["Иванов Иван 101", "не будет уведомлён Вне рабочего времени",
         "будет уведомлён Событие подходит под правило сотрудника"],
        ["Петрова Анна 102", "не будет уведомлён Вне рабочего времени", "не будет уведомлён Вне рабочего времени"]]
    assert dialog.get_by_role("tab", name="Критерии").get_attribute("aria-selected") == "true"
    screenshot("rule-check-night")

    # a bad number: the field says so, the dialog stays
    dialog.get_by_label("Номер звонящего").fill("385-52-70")
    dialog.get_by_role("button", name="Проверить", exact=True).click()
    dialog.get_by_text("укажите номер с кодом города").wait_for()
    assert dialog.get_by_label("Номер звонящего").get_attribute("aria-invalid") == "true"
    assert dialog.locator("#rule-check-result").count() == 0
    screenshot("rule-check-error")

    assert (stored(Event), stored(Decision), stored(Rule)) == (0, 0, 1)  # only the fixture's rule
    # the rule itself is still there to save, with the morning digest asked for
    dialog.get_by_label("Утренняя сводка").check()
    dialog.get_by_label("Утренняя сводка").scroll_into_view_if_needed()
    screenshot("rule-dialog-digest")
    dialog.get_by_role("button", name="Добавить правило").click()
    dialog.wait_for(state="detached")
    assert stored(Rule) == 3
    new = db.session.scalars(select(Rule).order_by(Rule.id)).all()[1:]
    assert [r.criteria.get("morning_digest") for r in new] == [True, True]
    expect(page.get_by_text("Все пропущенные звонки в рабочее время; утренняя сводка")).to_have_count(2)  # the list reloads
