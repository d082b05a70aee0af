"""«Email-уведомления» in a real browser: the empty state, the rule dialog
(addresses, criteria, listed numbers, errors), edit, bulk edit, bulk delete."""
import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from notifier.extensions import db
from notifier.models import Rule

from ..factories import rule, subscriber

pytestmark = pytest.mark.browser


@pytest.fixture
def people(app):
    return {
        "ivanov": subscriber("101", "Иванов Иван", email="ivanov@example.com", chat_id=42).id,
        "petrova": subscriber("102", "Петрова Анна", email="petrova@example.com").id,
        "reserve": subscriber("+7 902 385-52-80", "Резерв", email="reserve@example.com").id,
    }


def add_rules(app, *subscriber_ids, **body):
    for sid in subscriber_ids:
        rule(sid, **body)


def saved(app):
    return [(r.subscriber.number, r.criteria) for r in db.session.scalars(select(Rule).order_by(Rule.id))]


def rows(page):
    return page.locator("#rules-table tbody tr")


def open_dialog(page):
    page.get_by_role("button", name="Добавить правило").click()
    dialog = page.get_by_role("dialog", name="Правило уведомлений")
    dialog.wait_for()
    return dialog


def add_employee(dialog, text):
    search = dialog.get_by_label("Сотрудник: номер, имя, email или Telegram")
    search.fill(text)
    dialog.get_by_role("button", name="Добавить", exact=True).click()
    dialog.locator("#rule-q:focus").wait_for()  # the new form is in and settled


def test_empty_state(admin_page, screenshot):
    page = admin_page
    page.get_by_role("heading", name="Уведомления отключены").wait_for()
    assert page.get_by_text("Добавьте абонентов, которые будут получать уведомления о пропущенных звонках "
                            "согласно указанным критериям").is_visible()
    assert page.get_by_role("button", name="Добавить правило").is_visible()
    assert page.locator("table").count() == 0


def test_create_a_rule_for_two_employees(app, admin_page, people, screenshot):
    page = admin_page
    app.config["TELEGRAM_BOT_USERNAME"] = "tele2_pbx_bot_test"
    dialog = open_dialog(page)
    assert dialog.get_by_text("Для получения уведомлений в telegram необходимо подключить чат-бота @tele2_pbx_bot_test").is_visible()
    assert dialog.get_by_role("tab", name="Адреса").get_attribute("aria-selected") == "true"

    # active search: results appear while typing; a click adds one
    dialog.get_by_label("Сотрудник: номер, имя, email или Telegram").fill("петр")
    result = dialog.get_by_role("button", name="Петрова Анна")
    result.click()
    dialog.locator(".chosen").get_by_text("Петрова Анна").wait_for()
    # the «Добавить» button adds the one match, Enter too
    add_employee(dialog, "ivanov@example")
    dialog.locator(".chosen").get_by_text("Иванов Иван").wait_for()
    assert dialog.locator(".chosen li").count() == 2
    dialog.get_by_label("Сотрудник: номер, имя, email или Telegram").fill("10")
    found = dialog.get_by_role("list", name="Найденные сотрудники").get_by_role("button", name="Петрова Анна")
    found.wait_for()  # listed, marked as already chosen
    assert found.is_disabled()
    screenshot("rules-dialog-addresses")

    dialog.get_by_role("tab", name="Критерии").click()
    dialog.get_by_label("Поступившие голосовые сообщения").check()
    dialog.get_by_label("В рабочее время").check()
    screenshot("rules-dialog")
    dialog.get_by_role("button", name="Добавить правило").click()

    dialog.wait_for(state="detached")
    expect(rows(page)).to_have_count(2)
    expect(page.get_by_role("status")).to_have_text("Добавлено правил: 2.")
    table = page.locator("#rules-table").inner_text()
    assert "Иванов Иван" in table and "Петрова Анна" in table
    assert table.count("Голосовые сообщения и все пропущенные звонки в рабочее время") == 2
    assert [n for n, _ in saved(app)] == ["102", "101"]
    screenshot("rules-list")


def test_criteria_blocks_disabled_when_missed_calls_unchecked(admin_page, people):
    page = admin_page
    dialog = open_dialog(page)
    # keyboard: arrows move between the tabs
    dialog.get_by_role("tab", name="Адреса").focus()
    page.keyboard.press("ArrowRight")
    assert dialog.get_by_role("tab", name="Критерии").get_attribute("aria-selected") == "true"
    assert dialog.get_by_role("tabpanel", name="Критерии").is_visible()
    assert not dialog.get_by_role("tabpanel", name="Адреса").is_visible()
    time_block = dialog.get_by_role("group", name="По времени")
    caller_block = dialog.get_by_role("group", name="По номеру вызывающего абонента")
    assert dialog.get_by_label("В нерабочее время").is_enabled()
    dialog.get_by_label("Уведомления о пропущенных звонках").uncheck()
    assert time_block.evaluate("el => el.disabled") and caller_block.evaluate("el => el.disabled")
    assert "Блоки «По времени» и «По номеру вызывающего абонента» действуют только" in dialog.inner_text()
    assert dialog.get_by_label("В нерабочее время").is_disabled()
    assert dialog.get_by_label("VIP-номера").is_disabled()
    dialog.get_by_label("Уведомления о пропущенных звонках").check()
    assert dialog.get_by_label("VIP-номера").is_enabled()
    # the period reveals its fields only when chosen
    assert not dialog.get_by_text("Дни недели").is_visible()
    dialog.get_by_label("В заданный период").check()
    assert dialog.get_by_text("Дни недели").is_visible()
    # Escape closes the modal and focus returns to the button that opened it
    page.keyboard.press("Escape")
    dialog.wait_for(state="detached")
    assert page.get_by_role("button", name="Добавить правило").evaluate("el => el === document.activeElement")


def test_add_and_remove_listed_numbers(app, admin_page, people):
    page = admin_page
    dialog = open_dialog(page)
    add_employee(dialog, "101")
    dialog.locator(".chosen").get_by_text("Иванов Иван").wait_for()
    dialog.get_by_role("tab", name="Критерии").click()
    dialog.get_by_label("Указанные номера").check()
    numbers = dialog.get_by_role("list", name="Список номеров")
    assert numbers.inner_text() == "Номеров еще нет"
    number = dialog.get_by_label("Номер телефона")
    number.fill("8 (902) 385 52 70")
    number.press("Enter")
    numbers.get_by_text("+7 902 385-52-70").wait_for()
    number = dialog.get_by_label("Номер телефона")
    assert number.input_value() == "" and number.evaluate("el => el === document.activeElement")
    number.fill("102")
    dialog.locator("#rule-listed").get_by_role("button", name="Добавить").click()
    numbers.get_by_text("102").wait_for()
    assert numbers.locator("li").count() == 2
    dialog.get_by_role("button", name="Удалить номер +7 902 385-52-70").click()
    numbers.get_by_text("+7 902 385-52-70").wait_for(state="detached")
    assert numbers.locator("li span").all_inner_texts() == ["102"]
    dialog.get_by_role("button", name="Добавить правило").click()
    dialog.wait_for(state="detached")
    assert saved(app)[0][1]["callers"] == {"mode": "listed", "numbers": ["102"]}


def test_validation_error_shown_in_the_dialog(app, admin_page, people, screenshot):
    page = admin_page
    dialog = open_dialog(page)
    dialog.get_by_role("tab", name="Критерии").click()
    dialog.get_by_label("Указанные номера").check()
    dialog.get_by_label("Номер телефона").fill("385-52-70")
    dialog.get_by_role("button", name="Добавить правило").click()
    # both problems: the current tab shows its error, the other tab is marked
    dialog.get_by_text("Правило не сохранено: исправьте отмеченные поля.").wait_for()
    assert dialog.get_by_text("укажите номер с кодом города").is_visible()
    assert dialog.get_by_label("Номер телефона").get_attribute("aria-invalid") == "true"
    addresses = dialog.get_by_role("tab", name="Адреса")
    assert addresses.get_by_title("Есть ошибки").is_visible()
    addresses.click()
    assert dialog.get_by_text("Добавьте хотя бы одного сотрудника").is_visible()
    dialog.get_by_role("tab", name="Критерии").click()
    screenshot("rules-dialog-error")
    assert page.get_by_role("dialog").is_visible() and saved(app) == []


def test_edit_a_rule(app, admin_page, people, screenshot):
    add_rules(app, people["ivanov"])
    page = admin_page
    page.reload()
    page.get_by_role("link", name="Изменить правило: Иванов Иван").click()
    dialog = page.get_by_role("dialog", name="Правило уведомлений")
    assert dialog.get_by_role("tab", name="Критерии").get_attribute("aria-selected") == "true"
    assert dialog.get_by_label("Все пропущенные").is_checked()
    dialog.get_by_label("В заданный период").check()
    dialog.get_by_label("Пн").uncheck()  # visually a chip; the checkbox is still the control
    dialog.get_by_label("С", exact=True).fill("22:00")
    dialog.get_by_label("до", exact=True).fill("06:00")
    screenshot("rules-dialog-period")
    dialog.get_by_role("button", name="Сохранить").click()
    dialog.wait_for(state="detached")
    expect(page.get_by_role("status")).to_have_text("Правило изменено.")
    assert "Все пропущенные звонки по вт, ср, чт, пт, сб, вс с 22:00 до 06:00" in rows(page).first.inner_text()
    assert saved(app)[0][1]["time"]["period"]["from"] == "22:00"


def test_bulk_edit(app, admin_page, people):
    add_rules(app, people["ivanov"], people["petrova"], people["reserve"])
    page = admin_page
    page.reload()
    edit = page.locator(".bulk-actions").get_by_role("button", name="Изменить")
    assert edit.is_disabled()
    page.get_by_label("Отметить правило: Иванов Иван").check()
    page.get_by_label("Отметить правило: Резерв").check()
    assert page.locator("#rules-selected").inner_text() == "Отмечено: 2"
    edit.click()
    dialog = page.get_by_role("dialog", name="Правило уведомлений")
    dialog.get_by_label("VIP-номера").check()
    dialog.get_by_role("button", name="Изменить правила (2)").click()
    dialog.wait_for(state="detached")
    expect(page.get_by_role("status")).to_have_text("Изменено правил: 2.")
    texts = {r.locator(".who-name").inner_text(): r.locator(".criteria").inner_text() for r in rows(page).all()}
    assert texts == {"Иванов Иван": "Пропущенные звонки с VIP-номеров", "Петрова Анна": "Все пропущенные звонки",
                     "Резерв": "Пропущенные звонки с VIP-номеров"}


def test_bulk_delete(app, admin_page, people, screenshot):
    add_rules(app, people["ivanov"], people["petrova"], people["reserve"])
    page = admin_page
    page.reload()
    page.get_by_label("Отметить все правила на странице").check()
    page.get_by_label("Отметить правило: Петрова Анна").uncheck()
    assert page.get_by_label("Отметить все правила на странице").evaluate("el => el.indeterminate")
    page.once("dialog", lambda d: d.accept())
    page.locator(".bulk-actions").get_by_role("button", name="Удалить").click()
    expect(rows(page)).to_have_count(1)
    expect(page.get_by_role("status")).to_have_text("Удалено правил: 2.")
    assert rows(page).count() == 1 and "Петрова Анна" in rows(page).first.inner_text()
    # the last one through its icon: back to the empty state
    page.once("dialog", lambda d: d.accept())
    page.get_by_role("button", name="Удалить правило: Петрова Анна").click()
    page.get_by_role("heading", name="Уведомления отключены").wait_for()
    assert saved(app) == []
