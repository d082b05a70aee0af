"""«Абоненты» in Chromium: add an employee, see them in the list, active search,
the Telegram link block, delete with rules; CSV import preview and confirm."""
import pytest

from notifier.extensions import db
from notifier.models import Rule, Subscriber
from tests import factories

pytestmark = pytest.mark.browser


@pytest.fixture
def tg(app, fake_telegram):
    app.config.update(TELEGRAM_BOT_TOKEN=fake_telegram.token, TELEGRAM_API_URL=fake_telegram.url)
    return fake_telegram


def test_add_employee_search_and_telegram_link(app, tg, admin_page, screenshot):
    db.session.add(Subscriber(number="101", number_key="101", name="Иванов Иван", email="ivanov@example.com"))
    db.session.commit()
    page = admin_page
    page.get_by_role("link", name="Абоненты").click()
    page.get_by_role("link", name="Добавить абонента").first.click()
    page.get_by_label("Номер").fill("385-52-70")
    page.get_by_label("Имя").fill('Петрова <Анна> "Старшая"')
    page.get_by_label("Email").fill("petrova@example.com")
    page.get_by_role("button", name="Добавить").click()
    page.get_by_text("укажите номер с кодом города").wait_for()
    screenshot("subscribers-form-error")
    page.get_by_label("Номер").fill("+7 902 385-52-70")
    page.get_by_role("button", name="Добавить").click()
    page.get_by_text("добавлен.").wait_for()
    rows = page.locator("#subscriber-results tbody tr:not(.tg-row)")
    assert rows.count() == 2
    assert 'Петрова <Анна> "Старшая"' in page.locator("#subscriber-results").inner_text()
    screenshot("subscribers-list")

    page.get_by_label("Поиск абонентов").fill("8 902 385")
    page.wait_for_url("**/subscribers/?q=8*902*385")
    rows.filter(has_text="Иванов").wait_for(state="detached")
    assert rows.count() == 1 and "Петрова" in rows.first.inner_text()

    # the personal bot link, right in the list
    rows.first.get_by_role("button", name="Ссылка для подключения").click()
    field = page.get_by_label("Ссылка для подключения")
    field.wait_for()
    assert field.input_value().startswith("https://t.me/notifier_test_bot?start=")
    screenshot("subscribers-list-telegram")

    # the employee's page shows the same block; linked employees can be unlinked there
    sub = db.session.query(Subscriber).filter_by(number_key="+79023855270").one()
    sub.telegram_chat_id = 4242
    db.session.commit()
    rows.first.get_by_role("link", name="Изменить").click()
    page.get_by_text("Telegram подключён").wait_for()
    page.get_by_role("button", name="Отвязать").click()
    page.get_by_text("Telegram отвязан.").wait_for()
    assert page.get_by_text("Telegram не подключён").is_visible()
    screenshot("subscribers-edit-telegram")


def test_unlink_in_the_list_updates_the_row(app, tg, admin_page, screenshot):
    """The row's Telegram state follows an unlink made in its block, and the block stays open."""
    factories.subscriber("101", "Иванов Иван", chat_id=4242)
    page = admin_page
    page.goto("/subscribers/")
    cell = page.locator("#subscriber-results td.tg-cell")
    assert "подключён" in cell.inner_text() and "не подключён" not in cell.inner_text()
    cell.get_by_role("button", name="Управление").click()
    page.get_by_role("button", name="Отвязать").click()
    cell.get_by_text("не подключён").wait_for()
    assert cell.get_by_role("button", name="Ссылка для подключения").is_visible()
    assert page.get_by_text("Telegram отвязан.").is_visible()  # the block kept its answer
    screenshot("subscribers-list-unlinked")


def test_delete_employee_with_rules(app, admin_page):
    sub = Subscriber(number="102", number_key="102", name="Уходящий")
    db.session.add(sub)
    db.session.flush()
    db.session.add_all([Rule(subscriber_id=sub.id, criteria={"types": ["voicemail"]}) for _ in range(2)])
    db.session.commit()
    page = admin_page
    page.goto("/subscribers/")
    page.get_by_role("link", name="Удалить абонента 102").click()
    page.get_by_text("будут удалены его правила уведомлений: 2").wait_for()
    page.get_by_role("button", name="Удалить абонента и правила (2)").click()
    page.get_by_text("удалён вместе с правилами уведомлений (2)").wait_for()
    assert db.session.query(Rule).count() == 0


def test_csv_import_preview_and_confirm(app, admin_page, tmp_path, screenshot):
    db.session.add(Subscriber(number="101", number_key="101", name="Старое имя"))
    db.session.commit()
    path = tmp_path / "employees.csv"
    path.write_bytes("Номер;Имя;Email\r\n101;Иванов Иван;ivanov@example.com\r\n102;Петрова Анна;\r\n".encode("cp1251"))
    bad = tmp_path / "bad.csv"
    bad.write_bytes("Номер;Имя;Email\r\n103;Сидоров;sidorov@\r\n385-52-70;Без кода;\r\n".encode())
    page = admin_page
    page.goto("/subscribers/")
    page.get_by_role("link", name="Импорт CSV").click()
    page.get_by_label("CSV-файл").set_input_files(str(bad))
    page.get_by_role("button", name="Проверить файл").click()
    page.get_by_text("Файл не импортирован").wait_for()
    assert page.locator(".import-errors tbody tr").count() == 2
    screenshot("subscribers-import-errors")
    page.get_by_label("CSV-файл").set_input_files(str(path))
    page.get_by_role("button", name="Проверить файл").click()
    page.get_by_text("Создать: 1").wait_for()
    assert page.get_by_text("Обновить: 1").is_visible()
    assert page.get_by_text("Имя: «Старое имя» → «Иванов Иван»").is_visible()
    screenshot("subscribers-import-preview")
    page.get_by_role("button", name="Импортировать").click()
    page.get_by_text("Импорт завершён: создано 1, обновлено 1").wait_for()
    assert page.locator("#subscriber-results tbody tr:not(.tg-row)").count() == 2
    assert {s.name for s in db.session.query(Subscriber)} == {"Иванов Иван", "Петрова Анна"}
