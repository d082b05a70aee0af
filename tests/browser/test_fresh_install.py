"""Issue 14's walk in a real browser: a fresh install from the one-time setup
link, through «С чего начать» (employee, mail set up and tested, rule), to a
test event that reaches the test SMTP server and shows in «Журнал»."""
import pytest

from notifier.web.auth import new_setup_link

pytestmark = pytest.mark.browser

PASSWORD = "Zelenyj-Slon-Tancuet-42"


def checklist(page) -> dict[str, str]:
    """Each step of «С чего начать» with its badge («Сделано» / «Не сделано»)."""
    items = page.locator(".checklist li")
    return {items.nth(i).locator("a, .checklist-title").first.inner_text(): items.nth(i).locator(".badge").inner_text()
            for i in range(items.count())}


def test_fresh_install_to_the_first_notification(app, page, live_server, smtp_server, run_worker, screenshot):
    link = new_setup_link(live_server.url)
    assert link and link.startswith(live_server.url + "/setup/")

    # 1. the setup link creates the admin, who lands on the empty rules page with the checklist
    page.goto(link)
    page.get_by_label("Email").fill("owner@example.com")
    page.get_by_label("Пароль", exact=True).fill(PASSWORD)
    page.get_by_label("Повторите пароль").fill(PASSWORD)
    page.get_by_role("button", name="Создать администратора").click()
    page.get_by_role("heading", name="С чего начать").wait_for()
    steps = checklist(page)
    assert list(steps.values()) == ["Не сделано"] * 4, steps
    screenshot("fresh-1-checklist")

    # 2. an employee, through the checklist's link
    page.locator(".checklist li").first.get_by_role("link").click()
    page.get_by_label("Номер").fill("101")
    page.get_by_label("Имя").fill("Петров Пётр")
    page.get_by_label("Email").fill("petrov@example.com")
    page.get_by_role("button", name="Добавить").click()
    page.get_by_text("Петров Пётр").first.wait_for()

    # 3. mail: the SMTP server saved, then a test message that arrives
    page.goto("/settings/#mail")
    mail = page.locator("#mail")
    mail.get_by_label("SMTP-сервер").fill(smtp_server.host)
    mail.get_by_label("Порт").fill(str(smtp_server.port))
    mail.get_by_label("Шифрование").select_option("none")
    mail.get_by_label("Отправитель").fill("АТС <pbx@example.com>")
    mail.get_by_role("button", name="Сохранить").click()
    page.locator("#mail").get_by_label("Кому").fill("owner@example.com")
    page.locator("#mail").get_by_role("button", name="Отправить тест").click()
    [test_mail] = smtp_server.wait_for(1)
    assert test_mail.rcpt_tos == ["owner@example.com"]
    screenshot("fresh-2-mail")

    page.goto("/")
    steps = checklist(page)
    assert list(steps.values()) == ["Сделано", "Не сделано", "Сделано", "Не сделано"], steps

    # 4. a rule for the employee (the dialog the checklist opens)
    page.get_by_role("button", name="Добавить правило").click()
    dialog = page.get_by_role("dialog", name="Правило уведомлений")
    dialog.wait_for()
    dialog.get_by_label("Сотрудник: номер, имя, email или Telegram").fill("101")
    dialog.get_by_role("button", name="Добавить", exact=True).click()
    dialog.locator(".chosen").get_by_text("Петров Пётр").wait_for()
    dialog.get_by_role("button", name="Добавить правило").click()
    dialog.wait_for(state="detached")
    page.locator("#rules-table").get_by_text("Петров Пётр").wait_for()
    screenshot("fresh-3-rule")

    # 5. a test event through the real intake, the worker, to the SMTP server and «Журнал»
    page.goto("/settings/")
    page.locator("#webhook > summary").click()
    form = page.locator("#test-event")
    form.get_by_label("Номер абонента").fill("101")
    form.get_by_role("button", name="Отправить тестовое событие").click()
    page.wait_for_url("**/log/*")
    run_worker()
    messages = smtp_server.wait_for(2)
    assert messages[-1].rcpt_tos == ["petrov@example.com"]
    page.reload()
    text = page.locator("#main").inner_text()
    assert "Петров Пётр" in text and "Отправлено" in text, text
    screenshot("fresh-4-first-notification")
