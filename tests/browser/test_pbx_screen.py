"""«Подключение АТС» in a real browser: connect 3CX (token, template download),
3CX's request arrives, the card shows it, «Журнал» shows the raw request."""
import pytest
import requests

from ..test_pbx_3cx import MISSED, TOKEN
from ..threecx_engine import report_call

pytestmark = pytest.mark.browser


def test_connect_3cx_and_see_its_request(app, admin_page, live_server, screenshot, tmp_path):
    page = admin_page
    page.goto("/settings/#pbx")
    card = page.locator("#pbx-3cx")
    assert "не подключена" in card.locator("summary").inner_text()
    card.locator("summary").click()
    card.get_by_label("Токен для шаблона интеграции").fill(TOKEN)
    card.get_by_role("button", name="Сохранить").click()
    page.get_by_text("Настройки 3CX сохранены.").wait_for()

    card = page.locator("#pbx-3cx")
    address = card.get_by_label("Адрес для АТС").input_value()
    assert address == f"{live_server.url}/api/v1/pbx/3cx"
    assert TOKEN not in page.content()
    with page.expect_download() as download:
        card.get_by_role("link", name="Скачать шаблон для 3CX").click()
    template = tmp_path / "3cx.xml"
    download.value.save_as(template)
    assert f'Default="{address}"' in template.read_text()

    # 3CX reports a missed call the way the downloaded template tells it to
    req = report_call(template.read_text(), **MISSED)
    assert requests.post(req.url, json=req.body, headers=req.headers, timeout=10).status_code == 202
    page.reload()
    card = page.locator("#pbx-3cx")
    assert "принят" in card.locator("summary").inner_text()
    assert "принят — 1" in card.inner_text()
    card.scroll_into_view_if_needed()
    screenshot("settings-pbx")

    page.goto("/log/")
    page.locator("tr.log-row").first.get_by_role("link").click()
    page.get_by_role("heading", name="Запрос от АТС (3CX)").wait_for()
    raw = page.locator("pre.log-raw").inner_text()
    assert '"call_type": "Missed"' in raw and TOKEN not in raw and '"token": "***"' in raw
    assert '"result": "no_answer"' in page.locator("pre.log-payload").inner_text()
    screenshot("log-pbx-raw")
