"""«Отправить» in «Журнал» for deliveries skipped because the channel was not
set up yet (issue 14, item 7): offered once the channel works, for recent
events only; the send goes through the real worker to the test SMTP server."""
from __future__ import annotations

import re
from datetime import timedelta

from notifier.extensions import db
from notifier.models import Delivery, Event, utcnow
from notifier.pipeline import delivery

from . import factories


def _skipped_email(event_id="evt-skip-1") -> tuple[int, int]:
    """An event notified by email while SMTP was not configured: the real send path skips it."""
    sub = factories.subscriber("102", "Иванов Иван", email="ivanov@example.com")
    [did] = factories.deliveries(factories.missed_call(event_id), sub.id, channels=("email",))
    delivery.deliver(did)
    row = db.session.get(Delivery, did)
    assert row.status == "skipped" and row.last_error == "Почта (SMTP) не настроена"
    return row.event_id, did


def _send_button(html: str, did: int) -> bool:
    return bool(re.search(rf'action="/log/deliveries/{did}/send"', html))


def test_send_appears_once_mail_works_and_reaches_smtp(app, auth_client, smtp_server, run_worker):
    event_pk, did = _skipped_email()
    assert not _send_button(auth_client.get(f"/log/{event_pk}").get_data(as_text=True), did)
    factories.configure_mail(smtp_server)
    html = auth_client.get(f"/log/{event_pk}").get_data(as_text=True)
    assert _send_button(html, did) and ">Отправить</button>" in html
    resp = auth_client.post(f"/log/deliveries/{did}/send", data={"csrf_token": auth_client.csrf_token},
                            headers={"HX-Request": "true", "HX-Target": "event-detail"})
    assert resp.status_code == 200 and "поставлено в очередь" in resp.get_data(as_text=True)
    run_worker()
    [msg] = smtp_server.wait_for(1)
    assert msg["To"] == "ivanov@example.com"
    db.session.expire_all()
    assert db.session.get(Delivery, did).status == "sent"
    # sent now: no button, and a second press is refused
    assert not _send_button(auth_client.get(f"/log/{event_pk}").get_data(as_text=True), did)
    assert delivery.send_skipped(did) is False


def test_not_offered_for_old_events_or_while_the_channel_still_cannot_send(app, auth_client, smtp_server):
    event_pk, did = _skipped_email()
    assert delivery.send_skipped(did) is False  # SMTP still not configured
    factories.configure_mail(smtp_server)
    db.session.get(Event, event_pk).received_at = utcnow() - delivery.SEND_SKIPPED_WITHIN - timedelta(minutes=1)
    db.session.commit()
    assert not _send_button(auth_client.get(f"/log/{event_pk}").get_data(as_text=True), did)
    resp = auth_client.post(f"/log/deliveries/{did}/send", data={"csrf_token": auth_client.csrf_token})
    assert resp.status_code == 303
    assert "Отправить нельзя" in auth_client.get(resp.location).get_data(as_text=True)
    assert db.session.get(Delivery, did).status == "skipped"


def test_send_needs_csrf_and_a_real_delivery(app, auth_client, smtp_server):
    event_pk, did = _skipped_email()
    factories.configure_mail(smtp_server)
    assert auth_client.post(f"/log/deliveries/{did}/send").status_code == 400
    assert db.session.get(Delivery, did).status == "skipped"
    assert auth_client.post("/log/deliveries/999999/send",
                            data={"csrf_token": auth_client.csrf_token}).status_code == 404
