"""/api/v1/contacts per api.md: CRUD, search, numbers unique across contacts (409), 422 per field."""
import pytest

from notifier.extensions import db
from notifier.models import Contact, ContactNumber

URL = "/api/v1/contacts"


def create(client, headers, **body):
    return client.post(URL, json=body, headers=headers)


def test_create_get_list_patch_delete(app, client, api_headers):
    resp = create(client, api_headers, name="ООО Ромашка", numbers=["+7 902 385 52 70", "101"], vip=True)
    assert resp.status_code == 201
    body = resp.get_json()
    assert body == {"id": body["id"], "name": "ООО Ромашка", "numbers": ["+7 902 385 52 70", "101"], "vip": True}
    cid = body["id"]
    assert client.get(f"{URL}/{cid}", headers=api_headers).get_json() == body
    assert client.get(URL, headers=api_headers).get_json() == {"items": [body]}

    resp = client.patch(f"{URL}/{cid}", json={"numbers": ["101", "8 495 123-45-67"], "vip": False}, headers=api_headers)
    assert resp.status_code == 200
    assert resp.get_json()["numbers"] == ["101", "8 495 123-45-67"] and resp.get_json()["vip"] is False
    assert {n.number_key for n in db.session.query(ContactNumber)} == {"101", "+74951234567"}

    assert client.delete(f"{URL}/{cid}", headers=api_headers).status_code == 204
    assert client.get(f"{URL}/{cid}", headers=api_headers).status_code == 404
    assert db.session.query(ContactNumber).count() == 0


def test_search_by_name_or_any_number(client, api_headers):
    create(client, api_headers, name="ООО Ромашка", numbers=["+7 902 385 52 70", "+7 495 111-22-33"])
    create(client, api_headers, name="ИП Васильков", numbers=["+7 912 000 00 01"])
    def names(q):
        return [i["name"] for i in client.get(URL, query_string={"q": q}, headers=api_headers).get_json()["items"]]

    assert names("ромаш") == ["ООО Ромашка"]
    assert names("111 22") == ["ООО Ромашка"]
    assert names("8 902 385") == ["ООО Ромашка"]
    assert names("9120000001") == ["ИП Васильков"]
    assert names("") == ["ИП Васильков", "ООО Ромашка"]


def test_number_of_another_contact_is_409_naming_it(client, api_headers):
    create(client, api_headers, name="ООО Ромашка", numbers=["+7 902 385 52 70"])
    resp = create(client, api_headers, name="Другой", numbers=["101", "89023855270"])
    assert resp.status_code == 409
    assert resp.get_json()["errors"] == {"numbers.1": "Номер 89023855270 уже есть у контакта «ООО Ромашка»"}


@pytest.mark.parametrize("body, field", [
    ({"numbers": ["101"]}, "name"),
    ({"name": "  ", "numbers": ["101"]}, "name"),
    ({"name": "X"}, "numbers"),
    ({"name": "X", "numbers": []}, "numbers"),
    ({"name": "X", "numbers": "101"}, None),  # a single string is accepted
    ({"name": "X", "numbers": {"a": 1}}, "numbers"),
    ({"name": "X", "numbers": ["101", "abc"]}, "numbers.1"),
    ({"name": "X", "numbers": ["101", "101"]}, "numbers.1"),
    ({"name": "X", "numbers": ["101"], "vip": "maybe"}, "vip"),
])
def test_invalid_fields_are_422(app, client, api_headers, body, field):
    resp = create(client, api_headers, **body)
    if field is None:
        assert resp.status_code == 201
        return
    assert resp.status_code == 422, resp.get_json()
    assert field in resp.get_json()["errors"]
    assert db.session.query(Contact).count() == 0


def test_patch_keeps_unchanged_numbers_and_reorders(client, api_headers):
    cid = create(client, api_headers, name="X", numbers=["101", "102"]).get_json()["id"]
    resp = client.patch(f"{URL}/{cid}", json={"numbers": ["102", "101", "103"]}, headers=api_headers)
    assert resp.get_json()["numbers"] == ["102", "101", "103"]
    resp = client.patch(f"{URL}/{cid}", json={"name": "Y"}, headers=api_headers)
    assert resp.get_json() == {"id": cid, "name": "Y", "numbers": ["102", "101", "103"], "vip": False}


def test_bad_body_and_unknown_id(client, api_headers):
    assert client.post(URL, data="1", content_type="application/json", headers=api_headers).status_code == 400
    assert client.get(f"{URL}/999999", headers=api_headers).status_code == 404
    assert client.patch(f"{URL}/999999", json={}, headers=api_headers).status_code == 404
    assert client.get(URL).status_code == 401


def test_control_characters_are_422_not_500(client, api_headers):
    resp = create(client, api_headers, name="Ромашка\x00", numbers=["101"])
    assert resp.status_code == 422 and "name" in resp.get_json()["errors"]
    assert client.get(URL, query_string={"q": "\x00"}, headers=api_headers).status_code == 200
