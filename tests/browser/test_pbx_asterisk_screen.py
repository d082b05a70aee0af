"""The Asterisk card in a real browser: save the AMI address, the worker's connection
comes up (the in-test AMI server), «Проверить подключение», a call in «Журнал»."""
import pytest

from notifier.pipeline.asterisk_listener import Listener

from ..ami_calls import direct_no_answer
from ..fakes.ami_server import FakeAmi
from ..pbx_helpers import stored_events
from ..test_asterisk_listener import wait_until

pytestmark = pytest.mark.browser


def test_connect_asterisk_and_check(app, admin_page, screenshot):
    page = admin_page
    with FakeAmi() as server:
        page.goto("/settings/#pbx")
        card = page.locator("#pbx-asterisk")
        card.locator("summary").click()
        card.get_by_label("Адрес AMI").fill(server.url())
        card.get_by_role("button", name="Сохранить").click()
        page.get_by_text("Настройки Asterisk / FreePBX сохранены.").wait_for()
        assert server.secret not in page.content()

        listener = Listener(app).start()
        try:
            server.wait_for_login()
            page.locator("#pbx-asterisk").get_by_role("button", name="Проверить подключение").click()
            page.get_by_text("Проверка AMI: Подключено к 127.0.0.1").wait_for()
            card = page.locator("#pbx-asterisk")
            assert "подключено" in card.locator("#pbx-asterisk-connection").inner_text()
            card.scroll_into_view_if_needed()
            screenshot("settings-pbx-asterisk")

            server.send(*[event for _, event in direct_no_answer()[1]])
            wait_until(lambda: stored_events(app), what="the call stored")
        finally:
            listener.stop()
    page.goto("/log/")
    page.locator("tr.log-row").first.get_by_role("link").click()
    raw = page.locator("pre.log-raw").inner_text()
    assert '"DialStatus": "NOANSWER"' in raw
    screenshot("log-pbx-asterisk-raw")
