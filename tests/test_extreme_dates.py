"""Extreme dates: the webhook refuses implausible times with a 422, and a row that
holds one anyway (written before the check, by hand, by a restore) neither
breaks the «Журнал» pages and API nor makes its delivery fail."""
from datetime import datetime, timedelta, timezone

import pytest

from notifier.core.events import TIME_RANGE_ERROR
from notifier.extensions import db
from notifier.models import Decision, Delivery, Event, utcnow
from notifier.pipeline import delivery as dl

from . import factories
from .factories import configure_mail, missed_call
from .notify_setup import delivery
from .webhook_signing import post_event

FAR_FUTURE = datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone.utc)
DAWN = datetime(1, 1, 1, 0, 0, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("field, value", [
    ("started_at", "9999-12-31T23:59:59Z"),
    ("started_at", "0001-01-01T00:00:00+23:59"),
    ("started_at", "9999-12-31T23:59:59-23:59"),
    ("started_at", "1970-01-01T00:00:00Z"),
    ("ended_at", "9999-12-31T23:59:59-23:59"),
    ("ended_at", "0001-01-01T00:00:00+23:59"),
])
def test_webhook_refuses_implausible_times_with_422(app, client, field, value):
    resp = post_event(client, missed_call(event_id=f"evt-{field}-{value}", **{field: value}))
    assert resp.status_code == 422, resp.get_data(as_text=True)
    assert resp.get_json() == {"errors": {field: TIME_RANGE_ERROR}}
    assert db.session.query(Event).count() == 0


@pytest.mark.parametrize("ahead, status", [(timedelta(hours=12), 202), (timedelta(days=2), 422)])
def test_a_pbx_clock_ahead_by_hours_is_fine_by_days_is_not(client, ahead, status):
    started = (utcnow() + ahead).replace(microsecond=0)
    assert post_event(client, missed_call(started_at=started.isoformat())).status_code == status


def stored_event(moment: datetime, event_id: str) -> int:
    """An Event row with ``moment`` as its start, written directly (not through the intake)."""
    payload = missed_call(event_id=event_id, started_at=moment.isoformat(), to="102")
    row = Event(event_id=event_id, type="call.ended", payload=payload, started_at=moment,
                caller=payload["from"], caller_key="+79023855270", callee_key="102", result="no_answer",
                received_at=utcnow(), queued_at=utcnow(), processed_at=utcnow())
    db.session.add(row)
    db.session.commit()
    return row.id


@pytest.mark.parametrize("moment, zone", [
    (FAR_FUTURE, "Europe/Moscow"),       # UTC+3: past 9999-12-31
    (DAWN, "America/New_York"),          # UTC-5: before year 1
    (FAR_FUTURE, "UTC"),
])
def test_log_pages_and_api_survive_any_stored_date(app, auth_client, client, api_headers, moment, zone):
    app.config["TIMEZONE"] = zone
    pk = stored_event(moment, "evt-extreme")
    listing = auth_client.get("/log/")
    assert listing.status_code == 200 and 'data-event="evt-extreme"' in listing.get_data(as_text=True)
    detail = auth_client.get(f"/log/{pk}")
    assert detail.status_code == 200
    shown = moment.strftime("%d.%m.%Y")
    assert shown in detail.get_data(as_text=True)
    api = client.get("/api/v1/events", headers=api_headers)
    assert api.status_code == 200
    [item] = api.get_json()["items"]
    assert item["started_at"].startswith(f"{moment.year:04d}-")
    one = client.get("/api/v1/events/evt-extreme", headers=api_headers)
    assert one.status_code == 200 and one.get_json()["id"] == "evt-extreme"


def test_delivery_of_an_event_with_an_extreme_date_is_sent_once(app, smtp_server):
    """Its time cannot be shown in the company zone: it is shown in UTC, and the mail goes out."""
    configure_mail(smtp_server)
    sub = factories.subscriber()
    pk = stored_event(FAR_FUTURE, "evt-far")
    db.session.add(Decision(event_id=pk, subscriber_id=sub.id, subscriber_number=sub.number_key,
                            notify=True, reason="notify"))
    row = Delivery(event_id=pk, subscriber_id=sub.id, subscriber_number=sub.number_key, channel="email")
    db.session.add(row)
    db.session.commit()
    assert dl.deliver(row.id) is None
    assert (delivery(row.id).status, delivery(row.id).attempts) == ("sent", 1)
    [mail] = smtp_server.wait_for(1)
    assert "31.12.9999 23:59" in mail.get_body(("plain",)).get_content()
