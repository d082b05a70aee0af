"""«Записная книжка клиентов»: list/search/VIP filter, create with several numbers, 422 per number, delete."""
import re

import pytest

from notifier.extensions import db
from notifier.models import Contact, ContactNumber

from .pager_links import page_link

HX = {"HX-Request": "true", "HX-Target": "contact-results"}


def add(app, name, numbers, vip=False):
    from notifier.services import contacts as contacts_service

    contact = contacts_service.create({"name": name, "numbers": numbers, "vip": vip})
    db.session.commit()
    return contact.id


def post(client, path, **data):
    return client.post(path, data={"csrf_token": client.csrf_token, **data})


def test_empty_notebook(auth_client):
    html = auth_client.get("/contacts/").get_data(as_text=True)
    assert "Клиентов пока нет" in html and "Добавить клиента" in html


def test_create_vip_with_two_numbers_skipping_blank_rows(app, auth_client):
    resp = post(auth_client, "/contacts/new", name="ООО Ромашка", numbers=["+7 902 385-52-70", "", "8 495 123 45 67"], vip="1")
    assert resp.status_code == 302
    html = auth_client.get("/contacts/").get_data(as_text=True)
    assert "Клиент «ООО Ромашка» добавлен." in html
    assert "<li>+7 902 385-52-70</li><li>8 495 123 45 67</li>" in html and '<span class="badge warn">VIP</span>' in html
    contact = db.session.query(Contact).one()
    assert contact.vip and [n.number_key for n in contact.numbers] == ["+79023855270", "+74951234567"]


@pytest.mark.parametrize("data, message", [
    ({"name": "", "numbers": ["101"]}, "Укажите имя"),
    ({"name": "X", "numbers": ["", ""]}, "Укажите хотя бы один номер"),
    ({"name": "X", "numbers": ["101", "abc"]}, "Неверный номер телефона: «abc»"),
    ({"name": "X", "numbers": ["101", "385-52-70"]}, "укажите номер с кодом города"),
    ({"name": "X", "numbers": ["89023855270", "+7 902 385 52 70"]}, "Этот номер уже указан выше"),
])
def test_invalid_input_is_422_and_keeps_rows(app, auth_client, data, message):
    resp = post(auth_client, "/contacts/new", **data)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422 and message in html and "Клиент не сохранён" in html
    for n in data["numbers"]:
        if n:
            assert f'value="{n}"' in html
    assert db.session.query(Contact).count() == 0


def test_error_is_next_to_the_right_number_row(auth_client):
    html = post(auth_client, "/contacts/new", name="X", numbers=["101", "", "abc"]).get_data(as_text=True)
    row = html[html.index('value="abc"') - 200:html.index('value="abc"') + 400]
    assert "Неверный номер телефона" in row and 'aria-invalid="true"' in row


def test_number_of_another_contact_names_it(app, auth_client):
    add(app, "ИП Васильков", ["+7 912 000-00-01"])
    resp = post(auth_client, "/contacts/new", name="Новый", numbers=["8 912 000 00 01"])
    assert resp.status_code == 422
    assert "Номер 8 912 000 00 01 уже есть у контакта «ИП Васильков»" in resp.get_data(as_text=True)


def test_edit_replaces_numbers_and_flag(app, auth_client):
    cid = add(app, "Ромашка", ["101", "102"], vip=True)
    html = auth_client.get(f"/contacts/{cid}/edit").get_data(as_text=True)
    assert 'value="101"' in html and 'value="102"' in html and 'name="vip" value="1" checked' in html
    resp = post(auth_client, f"/contacts/{cid}/edit", name="Ромашка 2", numbers=["102", "103"])
    assert resp.status_code == 302
    contact = db.session.get(Contact, cid)
    assert (contact.name, contact.vip, [n.number for n in contact.numbers]) == ("Ромашка 2", False, ["102", "103"])
    resp = post(auth_client, f"/contacts/{cid}/edit", name="", numbers=["104"])
    assert resp.status_code == 422
    assert [n.number for n in db.session.get(Contact, cid).numbers] == ["102", "103"]


def test_search_and_vip_filter(app, auth_client):
    add(app, "ООО Ромашка", ["+7 902 385-52-70"], vip=True)
    add(app, "ИП Васильков", ["+7 912 000-00-01"])
    part = auth_client.get("/contacts/?q=8902385", headers=HX).get_data(as_text=True)
    assert part.lstrip().startswith('<div id="contact-results"') and "Ромашка" in part and "Васильков" not in part
    part = auth_client.get("/contacts/?vip=1", headers=HX).get_data(as_text=True)
    assert "Ромашка" in part and "Васильков" not in part
    assert "Васильков" in auth_client.get("/contacts/?q=васил").get_data(as_text=True)


def test_names_are_escaped(app, auth_client):
    add(app, '<img src=x onerror=alert(1)> "Кавычки"\nвторая строка', ["101"])
    html = auth_client.get("/contacts/").get_data(as_text=True)
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt; &#34;Кавычки&#34;\nвторая строка" in html


def test_delete(app, auth_client):
    cid = add(app, "Удаляемый", ["101", "102"], vip=True)
    html = auth_client.get(f"/contacts/{cid}/delete").get_data(as_text=True)
    assert "Удалить клиента?" in html and "101, 102" in html and "«VIP-номера»" in html
    assert post(auth_client, f"/contacts/{cid}/delete").status_code == 302
    assert db.session.query(Contact).count() == 0 and db.session.query(ContactNumber).count() == 0
    assert auth_client.get(f"/contacts/{cid}/edit").status_code == 404


def test_vip_filter_survives_the_page_links(app, auth_client):
    """Page 2 of «Только VIP» lists VIP clients only (its link used to drop the filter)."""
    db.session.add_all(Contact(name=f"Клиент {i:03}", vip=i % 2 == 0) for i in range(120))
    db.session.commit()
    vip_page2 = [f"Клиент {i:03}" for i in range(100, 120, 2)]  # VIP clients 51–60 in name order
    for headers in ({}, HX):  # a plain link, and the htmx swap of the results block
        first = auth_client.get("/contacts/?q=&vip=1", headers=headers).get_data(as_text=True)
        assert "Страница 1 из 2" in first
        href = page_link(first)
        assert "vip=1" in href and "page=2" in href
        second = auth_client.get(href, headers=headers).get_data(as_text=True)
        names = re.findall(r'<td class="name"><a [^>]*>([^<]*)</a>', second)
        assert names == vip_page2 and second.count('<span class="badge warn">VIP</span>') == 10
        assert "Страница 2 из 2" in second
        back = page_link(second, "prev")
        assert "vip=1" in back and "page=1" in back
    # The export link carries the same filters.
    assert 'href="/contacts/export.csv?vip=1"' in auth_client.get("/contacts/?vip=1").get_data(as_text=True)
