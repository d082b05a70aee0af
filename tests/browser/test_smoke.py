"""First run in a real browser: setup link → admin → empty rules page."""
import pytest

from notifier.web.auth import new_setup_link

pytestmark = pytest.mark.browser


def test_first_run_setup_then_login(app, page, live_server, screenshot):
    link = new_setup_link(live_server.url)
    page.goto(link)
    page.get_by_label("Email").fill("boss@example.com")
    page.get_by_label("Пароль", exact=True).fill("long enough pw")
    page.get_by_label("Повторите пароль").fill("long enough pw")
    page.get_by_role("button", name="Создать администратора").click()
    page.get_by_text("Уведомления отключены").wait_for()
    screenshot("rules-empty")

    page.get_by_role("button", name="Выйти").click()
    page.get_by_role("heading", name="Вход").wait_for()
    page.get_by_label("Email").fill("boss@example.com")
    page.get_by_label("Пароль").fill("long enough pw")
    page.get_by_role("button", name="Войти").click()
    page.get_by_role("link", name="Email-уведомления").wait_for()
    assert page.get_by_role("button", name="Добавить правило").is_visible()
