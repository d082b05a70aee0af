"""/api/v1/subscribers per api.md: CRUD, search, 400/404/409/422, rules deleted with the employee."""
import pytest

from notifier.extensions import db
from notifier.models import Rule, Subscriber

URL = "/api/v1/subscribers"


def create(client, headers, **body):
    return client.post(URL, json=body, headers=headers)


def test_create_get_list_patch_delete(app, client, api_headers):
    resp = create(client, api_headers, number="102", name="Иванов Иван", email="ivanov@example.com", telegram="@ivanov")
    assert resp.status_code == 201
    body = resp.get_json()
    assert body == {"id": body["id"], "number": "102", "name": "Иванов Иван", "email": "ivanov@example.com",
                    "telegram": "@ivanov", "telegram_linked": False}
    sid = body["id"]
    assert client.get(f"{URL}/{sid}", headers=api_headers).get_json() == body
    items = client.get(URL, headers=api_headers).get_json()["items"]
    assert [i["id"] for i in items] == [sid]

    resp = client.patch(f"{URL}/{sid}", json={"email": None, "name": "Иванов И."}, headers=api_headers)
    assert resp.status_code == 200
    assert resp.get_json()["email"] is None and resp.get_json()["name"] == "Иванов И."
    assert resp.get_json()["number"] == "102"

    assert client.delete(f"{URL}/{sid}", headers=api_headers).status_code == 204
    assert client.get(f"{URL}/{sid}", headers=api_headers).status_code == 404


def test_search_by_q(client, api_headers):
    create(client, api_headers, number="101", name="Петров")
    create(client, api_headers, number="+7 902 385-52-70", name="Сидорова", telegram="sid_tg")
    assert [i["name"] for i in client.get(URL + "?q=8902385", headers=api_headers).get_json()["items"]] == ["Сидорова"]
    assert [i["name"] for i in client.get(URL + "?q=sid_tg", headers=api_headers).get_json()["items"]] == ["Сидорова"]
    assert len(client.get(URL + "?q=", headers=api_headers).get_json()["items"]) == 2


def test_duplicate_number_after_normalisation_is_409(client, api_headers):
    assert create(client, api_headers, number="+7 902 385-52-70", name="Первый").status_code == 201
    resp = create(client, api_headers, number="8 (902) 385 52 70")
    assert resp.status_code == 409
    assert "Первый" in resp.get_json()["errors"]["number"]
    other = create(client, api_headers, number="103").get_json()["id"]
    resp = client.patch(f"{URL}/{other}", json={"number": "89023855270"}, headers=api_headers)
    assert resp.status_code == 409 and "number" in resp.get_json()["errors"]


@pytest.mark.parametrize("body, field", [
    ({}, "number"),
    ({"number": ""}, "number"),
    ({"number": "385-52-70"}, "number"),
    ({"number": "abc"}, "number"),
    ({"number": "anonymous"}, "number"),
    ({"number": ["101"]}, "number"),
    ({"number": "101", "email": "not-an-email"}, "email"),
    ({"number": "101", "email": 5}, "email"),
    ({"number": "101", "telegram": "@a b"}, "telegram"),
    ({"number": "101", "name": "x" * 201}, "name"),
])
def test_invalid_fields_are_422(app, client, api_headers, body, field):
    resp = create(client, api_headers, **body)
    assert resp.status_code == 422
    assert field in resp.get_json()["errors"]
    assert db.session.query(Subscriber).count() == 0


def test_extension_and_integer_number(client, api_headers):
    body = create(client, api_headers, number=7).get_json()
    assert body["number"] == "7"
    assert create(client, api_headers, number="007").status_code == 201  # leading zeros kept: another key


def test_html_quotes_newlines_kept(client, api_headers):
    name = '<b>"Ромашка"</b>\nи \'сыновья\''
    body = create(client, api_headers, number="104", name=name).get_json()
    assert body["name"] == name


def test_bad_body_unknown_id_and_auth(client, api_headers):
    assert client.post(URL, data="[1]", content_type="application/json", headers=api_headers).status_code == 400
    assert client.post(URL, data="nope", content_type="application/json", headers=api_headers).status_code == 400
    assert client.patch(f"{URL}/999999", json={"name": "x"}, headers=api_headers).status_code == 404
    assert client.delete(f"{URL}/999999", headers=api_headers).status_code == 404
    assert client.get(URL).status_code == 401


def test_patch_invalid_changes_nothing(client, api_headers):
    sid = create(client, api_headers, number="105", name="Имя").get_json()["id"]
    resp = client.patch(f"{URL}/{sid}", json={"name": "Новое", "email": "bad"}, headers=api_headers)
    assert resp.status_code == 422 and list(resp.get_json()["errors"]) == ["email"]
    assert client.get(f"{URL}/{sid}", headers=api_headers).get_json()["name"] == "Имя"


def test_delete_removes_rules(app, client, api_headers):
    sid = create(client, api_headers, number="106").get_json()["id"]
    db.session.add(Rule(subscriber_id=sid, criteria={"types": ["voicemail"]}))
    db.session.commit()
    assert client.delete(f"{URL}/{sid}", headers=api_headers).status_code == 204
    assert db.session.query(Rule).count() == 0


def test_telegram_linked_flag(app, client, api_headers):
    sid = create(client, api_headers, number="107").get_json()["id"]
    db.session.get(Subscriber, sid).telegram_chat_id = 42
    db.session.commit()
    assert client.get(f"{URL}/{sid}", headers=api_headers).get_json()["telegram_linked"] is True


def test_control_characters_are_422_not_500(client, api_headers):
    resp = create(client, api_headers, number="101", name="Иван\x00ов")
    assert resp.status_code == 422 and "name" in resp.get_json()["errors"]
    assert client.get(URL, query_string={"q": "10\x001"}, headers=api_headers).status_code == 200
