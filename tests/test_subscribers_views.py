"""«Абоненты» screen: list and search (htmx partial), create/edit with 422 per field, delete with rules, Telegram block."""
import re

import pytest

from notifier.extensions import db
from notifier.models import Rule, Subscriber
from tests.factories import subscriber

from .pager_links import page_link

HX = {"HX-Request": "true", "HX-Target": "subscriber-results"}


def post(client, path, **data):
    return client.post(path, data={"csrf_token": client.csrf_token, **data})


def test_empty_list_invites_to_add_or_import(auth_client):
    html = auth_client.get("/subscribers/").get_data(as_text=True)
    assert "Абонентов пока нет" in html and "Импорт CSV" in html and "Добавить абонента" in html


def test_create_then_listed_and_found(app, auth_client):
    resp = post(auth_client, "/subscribers/new", number="8 (902) 385-52-70", name="Петрова Анна",
                email="petrova@example.com", telegram="petrova_a")
    assert resp.status_code == 302 and resp.location.endswith("/subscribers/")
    html = auth_client.get("/subscribers/").get_data(as_text=True)
    assert "Абонент «Петрова Анна» (8 (902) 385-52-70) добавлен." in html
    assert "petrova@example.com" in html and "@petrova_a" in html and "не подключён" in html
    assert db.session.query(Subscriber).one().number_key == "+79023855270"


def test_search_returns_only_the_results_block_for_htmx(app, auth_client):
    subscriber(number="101", name="Иванов Иван", email=None)
    subscriber(number="102", name="Сидоров Пётр", email=None)
    part = auth_client.get("/subscribers/?q=иван", headers=HX).get_data(as_text=True)
    assert part.lstrip().startswith('<div id="subscriber-results"') and "<html" not in part
    assert "Иванов Иван" in part and "Сидоров" not in part
    full = auth_client.get("/subscribers/?q=иван").get_data(as_text=True)
    assert "<html" in full and 'value="иван"' in full and "Сидоров" not in full
    # a history restore needs the whole page
    restore = auth_client.get("/subscribers/?q=иван", headers={**HX, "HX-History-Restore-Request": "true"})
    assert "<html" in restore.get_data(as_text=True)
    assert "Никого не найдено по запросу «zzz»" in auth_client.get("/subscribers/?q=zzz", headers=HX).get_data(as_text=True)


def test_pagination(app, auth_client):
    db.session.add_all(Subscriber(number=str(100 + i), number_key=str(100 + i), name=f"Сотрудник {i:03}") for i in range(60))
    db.session.commit()
    first = auth_client.get("/subscribers/").get_data(as_text=True)
    assert "Страница 1 из 2" in first and "Сотрудник 000" in first and "Сотрудник 059" not in first
    second = auth_client.get("/subscribers/?page=2").get_data(as_text=True)
    assert "Сотрудник 059" in second and "показаны 51–60" in second
    assert auth_client.get("/subscribers/?page=abc").status_code == 200
    assert "Страница 2 из 2" in auth_client.get("/subscribers/?page=99").get_data(as_text=True)


def test_search_survives_the_page_links(app, auth_client):
    db.session.add_all(Subscriber(number=str(100 + i), number_key=str(100 + i),
                                  name=f"{'Сотрудник' if i % 2 else 'Подрядчик'} {i:03}") for i in range(120))
    db.session.commit()
    for headers in ({}, HX):
        first = auth_client.get("/subscribers/?q=сотрудник", headers=headers).get_data(as_text=True)
        href = page_link(first)
        assert "page=2" in href and "q=" in href
        second = auth_client.get(href, headers=headers).get_data(as_text=True)
        names = re.findall(r'<td class="name">([^<]*)</td>', second)
        assert names == [f"Сотрудник {i:03}" for i in range(101, 120, 2)]


@pytest.mark.parametrize("fields, field, message", [
    ({"number": ""}, "number", "Укажите номер"),
    ({"number": "385-52-70"}, "number", "укажите номер с кодом города"),
    ({"number": "12ab"}, "number", "Неверный номер телефона"),
    ({"number": "101", "email": "ivanov@"}, "email", "Неверный email"),
    ({"number": "101", "telegram": "иванов"}, "telegram", "имя пользователя Telegram"),
    ({"number": "101", "name": "я" * 201}, "name", "Не длиннее 200 символов"),
])
def test_invalid_input_is_422_next_to_the_field(app, auth_client, fields, field, message):
    resp = post(auth_client, "/subscribers/new", **fields)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert re.search(rf'id="f-{field}-error">[^<]*{re.escape(message)}', html), html
    assert "Абонент не сохранён" in html
    assert db.session.query(Subscriber).count() == 0


def test_duplicate_number_names_the_other_employee(app, auth_client):
    subscriber(number="+7 902 385-52-70", name="Петрова", email=None)
    resp = post(auth_client, "/subscribers/new", number="89023855270", name="Новый")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "Этот номер уже есть у абонента «Петрова»" in html
    assert 'value="Новый"' in html  # what was typed is kept


def test_html_and_quotes_are_stored_as_typed_and_escaped(app, auth_client):
    name = '<script>alert("x")</script> & \'Co\''
    post(auth_client, "/subscribers/new", number="103", name=name)
    assert db.session.query(Subscriber).one().name == name
    html = auth_client.get("/subscribers/").get_data(as_text=True)
    assert "<script>alert" not in html and "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html


def test_name_with_newline_is_edited_in_a_textarea(app, auth_client):
    sid = subscriber(number="104", name="Строка 1\nСтрока 2", email=None).id
    html = auth_client.get(f"/subscribers/{sid}/edit").get_data(as_text=True)
    assert '<textarea id="f-name" name="name" rows="2">Строка 1\nСтрока 2</textarea>' in html


def test_edit_saves_and_invalid_edit_changes_nothing(app, auth_client):
    sid = subscriber(number="105", name="Старое", email=None).id
    html = auth_client.get(f"/subscribers/{sid}/edit").get_data(as_text=True)
    assert 'value="Старое"' in html and f'id="telegram-link-{sid}"' in html and "Telegram не подключён" in html
    resp = post(auth_client, f"/subscribers/{sid}/edit", number="105", name="Старое", email="bad")
    assert resp.status_code == 422
    resp = post(auth_client, f"/subscribers/{sid}/edit", number="106", name="Новое", email="", telegram="")
    assert resp.status_code == 302
    sub = db.session.get(Subscriber, sid)
    assert (sub.number, sub.number_key, sub.name, sub.email) == ("106", "106", "Новое", None)
    assert auth_client.get("/subscribers/999999/edit").status_code == 404


def test_delete_confirmation_counts_rules_and_deletes_them(app, auth_client):
    sid = subscriber(number="107", name="Уходящий", email=None).id
    db.session.add_all(Rule(subscriber_id=sid, criteria={"types": ["voicemail"]}) for _ in range(3))
    db.session.commit()
    html = auth_client.get(f"/subscribers/{sid}/delete").get_data(as_text=True)
    assert "Вместе с абонентом будут удалены его правила уведомлений: 3." in html
    assert "Удалить абонента и правила (3)" in html
    resp = post(auth_client, f"/subscribers/{sid}/delete")
    assert resp.status_code == 302
    assert "удалён вместе с правилами уведомлений (3)" in auth_client.get("/subscribers/").get_data(as_text=True)
    assert db.session.query(Subscriber).count() == 0 and db.session.query(Rule).count() == 0


def test_delete_needs_csrf(app, auth_client):
    sid = subscriber(number="108", email=None).id
    assert auth_client.post(f"/subscribers/{sid}/delete").status_code == 400
    assert db.session.get(Subscriber, sid) is not None


def test_linked_state_in_list(app, auth_client):
    subscriber(number="109", telegram="@linked", chat_id=42, email=None)
    html = auth_client.get("/subscribers/").get_data(as_text=True)
    assert '<span class="badge ok">подключён</span>' in html


def test_pages_need_login(client):
    assert client.get("/subscribers/").status_code in (302, 401)
    assert client.get("/subscribers/new").status_code in (302, 401)


def test_control_characters_in_search_and_form(auth_client):
    assert auth_client.get("/subscribers/?q=%00").status_code == 200
    assert auth_client.get("/contacts/?q=%00").status_code == 200
    resp = post(auth_client, "/subscribers/new", number="101", name="a\x00b")
    assert resp.status_code == 422 and "Недопустимый управляющий символ" in resp.get_data(as_text=True)
