"""«Записная книжка клиентов» in Chromium: a VIP client with two numbers (add a
number row with the button), then found by the second number; «Только VIP»
holds on page 2."""
import pytest

from notifier.extensions import db
from notifier.models import Contact

pytestmark = pytest.mark.browser


def test_create_vip_contact_with_two_numbers(app, admin_page, screenshot):
    page = admin_page
    page.get_by_role("link", name="Записная книжка клиентов").click()
    page.get_by_role("link", name="Добавить клиента").first.click()
    page.get_by_label("Имя").fill("ООО Ромашка")
    numbers = page.get_by_label("Номер телефона")
    assert numbers.count() == 1
    numbers.first.fill("+7 902 385-52-70")
    page.get_by_role("button", name="+ Добавить номер").click()
    assert numbers.count() == 2
    numbers.nth(1).fill("8 495 123 45")  # too short
    page.get_by_label("VIP-клиент").check()
    page.get_by_role("button", name="Добавить", exact=True).click()
    page.get_by_text("Клиент не сохранён").wait_for()
    assert page.get_by_label("VIP-клиент").is_checked()
    screenshot("contacts-form-error")
    page.get_by_label("Номер телефона").nth(1).fill("8 495 123-45-67")
    page.get_by_role("button", name="Добавить", exact=True).click()
    page.get_by_text("Клиент «ООО Ромашка» добавлен.").wait_for()
    row = page.locator("#contact-results tbody tr").first
    assert "+7 902 385-52-70" in row.inner_text() and "8 495 123-45-67" in row.inner_text() and "VIP" in row.inner_text()
    screenshot("contacts-list")
    contact = db.session.query(Contact).one()
    assert contact.vip and [n.number_key for n in contact.numbers] == ["+79023855270", "+74951234567"]

    page.get_by_label("Поиск клиентов").fill("4951234567")
    page.wait_for_url("**/contacts/?q=4951234567*")
    assert page.locator("#contact-results tbody tr").count() == 1
    page.get_by_label("Поиск клиентов").fill("нет такого")
    page.get_by_text("Никого не найдено").wait_for()


def test_vip_only_holds_on_page_two(app, admin_page, screenshot):
    db.session.add_all(Contact(name=f"Клиент {i:03}", vip=i % 2 == 0) for i in range(120))
    db.session.commit()
    page = admin_page
    page.goto("/contacts/")
    page.get_by_text("Страница 1 из 3").wait_for()
    page.get_by_label("Только VIP").check()
    page.get_by_text("Страница 1 из 2").wait_for()
    page.get_by_role("link", name="Вперёд →").click()
    page.get_by_text("Страница 2 из 2").wait_for()
    assert "vip=1" in page.url and "page=2" in page.url
    rows = page.locator("#contact-results tbody tr")
    assert rows.locator("td.name").all_inner_texts() == [f"Клиент {i:03}" for i in range(100, 120, 2)]
    assert rows.filter(has_text="VIP").count() == 10
    screenshot("contacts-vip-page-2")
    page.reload()  # the address bar holds the filter too
    page.get_by_text("Страница 2 из 2").wait_for()
    assert page.get_by_label("Только VIP").is_checked() and rows.count() == 10
