"""Bidi overrides and zero-width characters in names (issue 12, item 10): dropped on
input (API, UI forms, CSV import, the webhook's numbers), and never shown by a
notification or the log, even for a name stored before names were cleaned."""
from __future__ import annotations

from sqlalchemy import select

from notifier.channels import notification
from notifier.extensions import db
from notifier.models import Contact, Event, Subscriber
from notifier.pipeline import delivery as dl

from . import factories
from .notify_setup import delivery, linked_employee
from .webhook_signing import example, post_event

RLO, ZWSP, LRI, PDI, BOM = "\u202e", "\u200b", "\u2066", "\u2069", "\ufeff"
SPOOFED = f"{BOM}Ива{ZWSP}нов{LRI}{RLO} Иван{PDI}"  # shows as another name where bidi is obeyed
CLEAN = "Иванов Иван"
INVISIBLE = (RLO, ZWSP, LRI, PDI, BOM)


def visible(text: str) -> bool:
    return not any(ch in text for ch in INVISIBLE)


def test_api_stores_names_without_them(app, client, api_headers):
    resp = client.post("/api/v1/subscribers", headers=api_headers,
                       json={"number": f"1{ZWSP}01", "name": SPOOFED, "email": f"ivanov{ZWSP}@example.com"})
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["name"] == CLEAN and resp.get_json()["number"] == "101"
    assert resp.get_json()["email"] == "ivanov@example.com"
    sid = resp.get_json()["id"]
    resp = client.patch(f"/api/v1/subscribers/{sid}", headers=api_headers, json={"name": f"{RLO}Петров"})
    assert resp.get_json()["name"] == "Петров"
    resp = client.post("/api/v1/contacts", headers=api_headers, json={"name": SPOOFED, "numbers": ["102"]})
    assert resp.status_code == 201 and resp.get_json()["name"] == CLEAN
    # a name of nothing but invisible characters is no name
    resp = client.post("/api/v1/contacts", headers=api_headers, json={"name": RLO + ZWSP, "numbers": ["103"]})
    assert resp.status_code == 422 and "name" in resp.get_json()["errors"]
    # and a search typed with them finds the clean name
    found = client.get("/api/v1/contacts", headers=api_headers, query_string={"q": f"Ива{ZWSP}нов"})
    assert [c["name"] for c in found.get_json()["items"]] == [CLEAN]


def test_ui_forms_store_names_without_them(app, auth_client):
    token = {"csrf_token": auth_client.csrf_token}
    resp = auth_client.post("/subscribers/new", data={**token, "number": "101", "name": SPOOFED})
    assert resp.status_code == 302
    resp = auth_client.post("/contacts/new", data={**token, "name": SPOOFED, "numbers": ["102"]})
    assert resp.status_code == 302
    assert db.session.scalar(select(Subscriber.name)) == CLEAN
    assert db.session.scalar(select(Contact.name)) == CLEAN
    for page in ("/subscribers/", "/contacts/"):
        html = auth_client.get(page).get_data(as_text=True)
        assert CLEAN in html and visible(html)


def test_csv_import_stores_names_without_them(app, auth_client):
    from .test_csv_import import confirm, upload

    raw = f"Номер;Имя\n101;{SPOOFED}\n".encode()
    html = upload(auth_client, "/subscribers/import", raw).get_data(as_text=True)
    assert confirm(auth_client, "/subscribers/import", html).status_code == 302
    assert db.session.scalar(select(Subscriber.name)) == CLEAN


def test_notifications_never_show_them(app, smtp_server, fake_telegram):
    """Names stored before the input was cleaned: email and Telegram drop them when rendering."""
    factories.configure_mail(smtp_server)
    factories.configure_telegram(fake_telegram)
    factories.contact(SPOOFED, "+7 902 385-52-70", vip=True)
    sub = linked_employee(name=f"Петров{RLO} Пётр")
    email_id, tg_id = factories.deliveries(factories.missed_call(), sub.id)
    note = notification.build(db.session.get(Event, delivery(email_id).event_id), sub)
    assert note.caller_name == CLEAN and note.employee_name == "Петров Пётр"
    dl.deliver(email_id)
    dl.deliver(tg_id)
    assert delivery(email_id).status == "sent" and delivery(tg_id).status == "sent"
    [mail] = smtp_server.wait_for(1)
    assert mail["Subject"] == f"Пропущенный звонок от +7 902 385-52-70, {CLEAN}, VIP"
    for part in ("html", "plain"):
        body = mail.get_body((part,)).get_content()
        assert CLEAN in body and visible(body)
    [message] = fake_telegram.messages
    assert CLEAN in message["text"] and visible(message["text"])


def test_webhook_numbers_drop_them_and_the_log_shows_them_escaped(app, client, auth_client):
    payload = dict(example("missed-internal"), id="evt-invisible", **{"from": f"anonymous{RLO}Иванов"})
    payload["to"] = f"1{ZWSP}01"
    assert post_event(client, payload).status_code == 202
    event = db.session.scalar(select(Event).where(Event.event_id == "evt-invisible"))
    assert event.caller == "anonymousИванов" and event.caller_key is None and event.callee_key == "101"
    html = auth_client.get(f"/log/{event.id}").get_data(as_text=True)
    assert visible(html)
    assert "anonymous\\u202eИванов" in html  # the raw payload as received, the override visible as an escape
    # other text fields are refused outright, so no silent change of the idempotency key
    resp = post_event(client, dict(payload, id=f"evt-{RLO}1"))
    assert resp.status_code == 422 and "id" in resp.get_json()["errors"]
    resp = post_event(client, dict(example("missed-external-direct"), id="evt-line", line=f"+7 495{ZWSP}"))
    assert resp.status_code == 422 and "line" in resp.get_json()["errors"]
