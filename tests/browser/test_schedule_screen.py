"""«Рабочее время» in a real browser: change the hours, see the check panel follow."""
from datetime import date, timedelta

import pytest

pytestmark = pytest.mark.browser


def test_weekend_hours_remove_weekends_from_upcoming_non_working_days(admin_page, screenshot):
    page = admin_page
    page.get_by_role("link", name="Рабочее время").click()
    page.get_by_role("heading", name="Рабочее время").wait_for()
    upcoming = page.locator("#upcoming")
    reasons = upcoming.locator(".reason")
    assert "Выходной" in reasons.all_inner_texts()  # plain weekends

    # Saturday: fill the empty row. Sunday: add a row with the button, drop a spare one.
    page.get_by_label("Суббота: начало").fill("10:00")
    page.get_by_label("Суббота: конец").fill("16:00")
    sunday = page.locator("#sun-list")
    page.locator('[data-add-row="sun-list"]').click()
    assert sunday.locator(".row-item").count() == 2
    sunday.locator(".row-item").nth(0).get_by_label("Воскресенье: начало").fill("11:00")
    sunday.locator(".row-item").nth(0).get_by_label("Воскресенье: конец").fill("15:00")
    sunday.locator(".row-item").nth(1).get_by_role("button", name="Удалить интервал").click()
    assert sunday.locator(".row-item").count() == 1
    day_off = date.today() + timedelta(days=2)
    page.get_by_label("Нерабочий день").last.fill(day_off.isoformat())
    page.get_by_role("button", name="Сохранить").click()

    page.get_by_text("Рабочее время сохранено.").wait_for()
    assert "Выходной" not in reasons.all_inner_texts()
    assert day_off.strftime("%d.%m.%Y") in upcoming.inner_text()
    assert page.get_by_label("Суббота: начало").first.input_value() == "10:00"
    screenshot("schedule")


def test_invalid_interval_is_shown_next_to_the_day(admin_page, screenshot):
    page = admin_page
    page.goto("/schedule/")
    page.get_by_label("Понедельник: начало").first.fill("19:00")
    page.get_by_role("button", name="Сохранить").click()
    page.get_by_text("Расписание не сохранено").wait_for()
    assert "должно быть раньше конца" in page.locator(".week-day", has_text="Понедельник").inner_text()
    screenshot("schedule-error")
