"""«Журнал» in Chromium: the list, active-search filters, one event's detail, auto-refresh."""
import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from notifier.extensions import db
from notifier.models import Delivery
from tests import event_log_data as data
from tests import factories

pytestmark = pytest.mark.browser


@pytest.fixture
def events(app):
    ivanov = factories.subscriber("102", "Иванов Иван", "ivanov@example.com")
    petrova = factories.subscriber("103", "Петрова Анна", "petrova@example.com")
    factories.contact("ООО Ромашка", "+7 902 385 52 70", vip=True)
    t = data.T0
    data.event("evt-0001", caller="101", started_at=t, decisions=[(ivanov, True, "notify")], deliveries=[
        {"subscriber": ivanov, "channel": "email", "status": "sent", "attempts": 1},
        {"subscriber": ivanov, "channel": "telegram", "status": "skipped", "address": "",
         "last_error": "Сотрудник не подключил Telegram"}])
    data.event("evt-0002", caller="+7 902 385-52-70", to="103", started_at=t + timedelta(minutes=7),
               direction="external", routing="direct", line="+7 495 123-45-67",
               decisions=[(petrova, True, "notify")], deliveries=[
                   {"subscriber": petrova, "channel": "email", "status": "failed", "attempts": 3,
                    "last_error": "SMTP 550 5.1.1 <petrova@example.com>: mailbox unavailable"}])
    data.event("evt-0003", caller="101", result="caller_hangup", started_at=t + timedelta(minutes=9),
               decisions=[(ivanov, False, "caller_hangup")])
    data.event("evt-0004", caller="8 902 385 52 80", type="voicemail.received", result=None,
               started_at=t + timedelta(hours=11), duration_seconds=17,
               decisions=[(petrova, False, "no_rule")], to="103")
    db.session.commit()


def test_filter_open_an_event_and_see_reasons_and_deliveries(events, admin_page, screenshot):
    page = admin_page
    page.get_by_role("link", name="Журнал").click()
    page.get_by_role("heading", name="Журнал").wait_for()
    rows = page.locator("tr.log-row")
    assert rows.count() == 4
    assert "ООО Ромашка" in rows.nth(2).inner_text() and "VIP" in rows.nth(2).inner_text()
    screenshot("log")

    # Active search: type part of the number in another notation, no button press.
    page.get_by_label("Звонящий").fill("385-52-70")
    expect(rows).to_have_count(1, timeout=10_000)
    assert "evt-0002" == rows.first.get_attribute("data-event")
    expect(page).to_have_url(re.compile(r"/log/\?caller=385-52-70$"))  # the filtered list has its own address
    page.get_by_label("Звонящий").fill("")
    page.get_by_label("Статус").select_option(label="Без уведомления")
    expect(rows).to_have_count(2, timeout=10_000)
    assert "Звонящий положил трубку" in page.locator("#log-results").inner_text()
    page.get_by_label("Статус").select_option(label="Ошибка доставки")
    expect(rows).to_have_count(1, timeout=10_000)

    rows.first.get_by_role("link").click()
    page.get_by_role("heading", name="Событие evt-0002").wait_for()
    decisions = page.locator("section", has=page.get_by_role("heading", name="Решение по правилам"))
    assert "Петрова Анна" in decisions.inner_text() and "Уведомить" in decisions.inner_text()
    email = page.locator("tr.log-delivery[data-channel=email]")
    assert "mailbox unavailable" in email.inner_text() and "Ошибка" in email.inner_text()
    assert "+7 495 123-45-67" in page.locator(".log-facts").inner_text()
    assert email.get_by_role("button", name="Повторить").is_visible()
    assert '"routing": "direct"' in page.locator(".log-payload").inner_text()
    screenshot("log-detail")

    # «Повторить»: the delivery goes back to the queue (no worker runs here) and the detail follows it.
    email.get_by_role("button", name="Повторить").click()
    page.get_by_text("Уведомление снова поставлено в очередь на отправку.").wait_for()
    assert email.locator(".badge").inner_text() == "В очереди"
    assert email.get_by_role("button", name="Повторить").count() == 0
    assert page.locator("#event-detail[hx-trigger='every 2s']").count() == 1

    page.get_by_role("link", name="Журнал").first.click()
    page.get_by_role("heading", name="Журнал").wait_for()
    page.get_by_label("Сотрудник").fill("иванов")
    expect(rows).to_have_count(2, timeout=10_000)


def test_pending_delivery_refreshes_by_itself(app, events, admin_page):
    sub = factories.subscriber("104", "Сидоров Пётр", "sidorov@example.com")
    ev = data.event("evt-0005", caller="101", to="104", started_at=data.T0 + timedelta(days=1),
                    decisions=[(sub, True, "notify")],
                    deliveries=[{"subscriber": sub, "channel": "email", "status": "pending"}])
    db.session.commit()
    delivery_id, pk = ev.deliveries[0].id, ev.id
    page = admin_page
    page.goto(f"/log/{pk}")
    badge = page.locator("tr.log-delivery .badge")
    assert badge.inner_text() == "В очереди"
    assert page.locator("#event-detail[hx-trigger='every 2s']").count() == 1
    # what the worker would do meanwhile
    row = db.session.get(Delivery, delivery_id)
    row.status, row.attempts, row.sent_at = "sent", 1, data.T0 + timedelta(days=1, seconds=3)
    db.session.commit()
    page.locator("tr.log-delivery .badge", has_text="Отправлено").wait_for()
    assert page.locator("#event-detail[hx-trigger]").count() == 0  # done: polling stops
