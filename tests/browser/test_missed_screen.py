"""«Пропущенные» in Chromium: the list with states, the chart, filters through htmx,
«Закрыть» on a row, and the page without JavaScript."""
import re

import pytest
from playwright.sync_api import expect

from tests import missed_data

pytestmark = pytest.mark.browser


@pytest.fixture
def office(app):
    return missed_data.office(app)


def test_list_chart_filters_and_close(office, admin_page, screenshot):
    page = admin_page
    page.get_by_role("link", name="Пропущенные").click()
    page.get_by_role("heading", name="Пропущенные").wait_for()
    rows = page.locator("tr.missed-row")
    expect(rows).to_have_count(4)
    assert re.search(r"Перезвонили: Петров Пётр, \d\d:\d\d, через 12 мин", rows.nth(2).inner_text())
    assert "VIP" in rows.nth(1).inner_text()
    chart = page.locator(".missed-chart")
    assert "12 мин" in chart.locator(".missed-totals").inner_text()
    assert page.locator("svg.missed-svg g.bar").count() == 14
    # every bar explains itself (a <title> is the browser's tooltip)
    titles = page.locator("svg.missed-svg g.bar title").all_text_contents()
    assert any(re.search(r"пропущено 3, перезвонили 1 \(33%\)", t) for t in titles)
    screenshot("missed")

    # Filters through htmx: the list is swapped and the address follows.
    page.get_by_label("Только VIP").check()
    expect(rows).to_have_count(1)
    expect(page).to_have_url(re.compile(r"/missed/\?.*vip=1"))
    page.get_by_label("Только VIP").uncheck()
    page.get_by_label("Только открытые").check()
    expect(rows).to_have_count(3)
    page.get_by_label("Сотрудник").select_option(label="Петров Пётр (103)")
    expect(rows).to_have_count(1)
    page.get_by_label("Сотрудник").select_option(label="Все")
    expect(rows).to_have_count(3)
    screenshot("missed-open-only")

    # «Закрыть»: the row changes in place.
    vip_row = page.locator("tr.missed-row", has_text="VIP")
    vip_row.get_by_role("button", name=re.compile("^Закрыть")).click()
    expect(vip_row.locator(".missed-state .badge")).to_have_text("Закрыт вручную")
    assert "Звонок закрыт." in vip_row.inner_text()
    assert vip_row.get_by_role("button").count() == 0
    screenshot("missed-closed")

    page.reload()
    expect(rows).to_have_count(2)  # still «Только открытые»: the closed call is gone


def test_page_works_without_javascript(office, browser, live_server, admin):
    from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD

    context = browser.new_context(base_url=live_server.url, locale="ru-RU", java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto("/login")
        page.get_by_label("Email").fill(ADMIN_EMAIL)
        page.get_by_label("Пароль").fill(ADMIN_PASSWORD)
        page.get_by_role("button", name="Войти").click()
        page.goto("/missed/")
        page.get_by_label("Только открытые").check()
        page.get_by_role("button", name="Показать").click()
        rows = page.locator("tr.missed-row")
        expect(rows).to_have_count(3)
        expect(page).to_have_url(re.compile(r"open_only=1"))
        rows.first.get_by_role("button", name=re.compile("^Закрыть")).click()
        page.get_by_text("Звонок закрыт.").wait_for()
        assert page.locator("tr.missed-row[data-status=closed]").count() == 1
        page.locator(".missed-numbers summary").click()
        assert page.locator(".missed-numbers table").is_visible()
    finally:
        context.close()
