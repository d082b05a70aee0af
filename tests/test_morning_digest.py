"""Morning digest end to end: signed events through the real intake and the
shipped worker, the digest loop's round at a given moment, the SMTP server and
the Telegram Bot API doubles. Once per employee and day, whatever runs twice."""
from __future__ import annotations

import threading
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from notifier.extensions import db
from notifier.models import DigestSend, MissedCall, MorningDigest
from notifier.pipeline import digest as digest_job
from notifier.runtime.redis_conn import get_redis
from notifier.services import morning_digest

from . import factories
from .notify_setup import linked_employee, run_jobs
from .webhook_signing import post_event

MSK = ZoneInfo("Europe/Moscow")
# Wednesday 4 Nov 2026 is a holiday (День народного единства): Thursday's digest covers Tue 18:00 .. Thu 09:00.
THURSDAY_MORNING = datetime(2026, 11, 5, 9, 1, tzinfo=MSK)
ROMASHKA = "+7 902 385-52-70"
OTHER = "+7 903 111-22-33"


def missed(event_id: str, when: str, caller=ROMASHKA, to="101") -> dict:
    return factories.missed_call(event_id, caller=caller, to=to, started_at=when)


@pytest.fixture(autouse=True)
def fast_retries(app):
    app.config["DELIVERY_RETRY_BASE"] = 1


@pytest.fixture
def office(app, smtp_server, fake_telegram):
    """Иванов asks for the digest (rule: working hours only + «Утренняя сводка»);
    Петрова has a rule without it; Ромашка is a VIP client."""
    factories.configure_mail(smtp_server)
    factories.configure_telegram(fake_telegram)
    ivanov = linked_employee("101", "Иванов Иван", email="ivanov@example.com", rules=[
        {"types": ["missed_calls"], "time": {"mode": "work_hours"}, "morning_digest": True}])
    petrova = factories.subscriber("102", "Петрова Анна", email="petrova@example.com", chat_id=777, rules=[
        {"types": ["missed_calls"], "time": {"mode": "work_hours"}}])
    factories.contact("ООО <Ромашка> & Co", ROMASHKA, vip=True)
    return {"ivanov": ivanov.id, "petrova": petrova.id}


def post_all(client, *payloads) -> None:
    for payload in payloads:
        assert post_event(client, payload).status_code == 202, payload


def night_calls(client, app, smtp_server, fake_telegram):
    post_all(client,
             missed("before", "2026-11-03T12:00:00+03:00", caller=OTHER),      # working hours: not in the digest
             missed("tue-evening", "2026-11-03T20:15:00+03:00"),                # VIP
             missed("holiday", "2026-11-04T11:00:00+03:00", caller=OTHER),      # the holiday counts as night
             missed("called-back", "2026-11-04T12:00:00+03:00", caller="+7 904 000-00-01"),
             {"id": "back", "type": "call.ended", "started_at": "2026-11-04T12:20:00+03:00",
              "direction": "outgoing", "from": "101", "to": "+7 904 000-00-01", "result": "answered"},
             missed("hidden", "2026-11-05T08:30:00+03:00", caller="anonymous"),
             missed("thursday", "2026-11-05T09:30:00+03:00", caller=OTHER),     # after the window
             missed("petrova-night", "2026-11-04T23:00:00+03:00", to="102"))    # no opt-in
    run_jobs(app)
    # the rule notifies at once in working hours only: the two daytime calls
    assert len(smtp_server.wait_for(2)) == 2 and len(fake_telegram.wait_for(2)) == 2
    smtp_server.reset()
    fake_telegram.reset()


def count(model) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model))


def sends() -> list[tuple]:
    db.session.expire_all()
    return [(s.channel, s.status, s.attempts) for s in db.session.scalars(select(DigestSend).order_by(DigestSend.id))]


def test_digest_at_the_start_of_the_day_after_a_holiday(app, client, office, smtp_server, fake_telegram):
    night_calls(client, app, smtp_server, fake_telegram)
    assert count(MissedCall) == 7 and smtp_server.messages == [] and fake_telegram.messages == []
    assert digest_job.run_round(datetime(2026, 11, 5, 8, 59, tzinfo=MSK)) is None  # not yet
    assert count(MorningDigest) == 0

    assert digest_job.run_round(THURSDAY_MORNING) == THURSDAY_MORNING.date()
    run_jobs(app)
    [mail] = smtp_server.wait_for(1)
    [telegram] = fake_telegram.wait_for(1)
    assert mail["To"] == "ivanov@example.com"
    assert mail["Subject"] == "Утренняя сводка: 3 пропущенных звонка за нерабочее время"
    text = mail.get_body(("plain",)).get_content()
    assert "Иванов Иван (101): 3 пропущенных звонка за нерабочее время (с 03.11.2026 18:00 до 05.11.2026 09:00)" in text
    # newest first; VIP marked; the called-back, the working-hours and the later call are not there
    lines = [line for line in text.splitlines() if line[:2].isdigit()]
    assert lines == ["05.11 08:30  Скрытый номер",
                     "04.11 11:00  +7 903 111-22-33",
                     "03.11 20:15  +7 902 385-52-70, ООО <Ромашка> & Co, VIP"]
    html = mail.get_body(("html",)).get_content()
    assert "ООО &lt;Ромашка&gt; &amp; Co" in html and "<Ромашка>" not in html
    assert '<a href="tel:+79023855270">+7 902 385-52-70</a>' in html
    assert telegram["chat_id"] in (5551234, "5551234") and telegram["parse_mode"] == "HTML"
    assert telegram["text"].splitlines() == [
        "<b>Утренняя сводка</b>",
        "Иванов Иван (101): 3 пропущенных звонка за нерабочее время",
        "<i>с 03.11.2026 18:00 до 05.11.2026 09:00</i>",
        "",
        "1. 05.11 08:30 — Скрытый номер",
        "2. 04.11 11:00 — +7 903 111-22-33",
        "3. 03.11 20:15 — +7 902 385-52-70, ООО &lt;Ромашка&gt; &amp; Co, <b>VIP</b>"]
    assert sends() == [("email", "sent", 1), ("telegram", "sent", 1)]
    [digest] = db.session.scalars(select(MorningDigest)).all()
    assert (digest.subscriber_id, digest.day, digest.total) == (office["ivanov"], THURSDAY_MORNING.date(), 3)

    # rounds again, from this worker or a restarted one: nothing more
    for done in (THURSDAY_MORNING.date(), None):
        digest_job.run_round(datetime(2026, 11, 5, 10, 0, tzinfo=MSK), done)
    run_jobs(app)
    assert len(smtp_server.messages) == 1 and len(fake_telegram.messages) == 1 and count(MorningDigest) == 1


def test_worker_started_late_still_sends_that_morning(app, client, office, smtp_server, fake_telegram):
    night_calls(client, app, smtp_server, fake_telegram)
    assert digest_job.run_round(datetime(2026, 11, 5, 18, 0, tzinfo=MSK)) is None  # the working day is over
    assert count(MorningDigest) == 0
    digest_job.run_round(datetime(2026, 11, 5, 11, 0, tzinfo=MSK))
    run_jobs(app)
    assert smtp_server.wait_for(1)[0]["Subject"].startswith("Утренняя сводка: 3 ")
    assert len(fake_telegram.wait_for(1)) == 1


def test_rule_without_opt_in_gets_nothing(app, client, office, smtp_server, fake_telegram):
    post_all(client, missed("p1", "2026-11-04T23:00:00+03:00", to="102"),
             missed("p2", "2026-11-05T07:00:00+03:00", to="102"))
    run_jobs(app)
    assert morning_digest.opted_in() == [office["ivanov"]]
    digest_job.run_round(THURSDAY_MORNING)
    run_jobs(app)
    assert count(MorningDigest) == 0 and smtp_server.messages == [] and fake_telegram.messages == []


def test_nothing_open_nothing_sent(app, client, office, smtp_server):
    post_all(client, missed("day", "2026-11-03T12:00:00+03:00"))
    run_jobs(app)
    assert digest_job.run_round(THURSDAY_MORNING) == THURSDAY_MORNING.date()
    assert count(MorningDigest) == 0


def test_two_loops_and_a_restart_send_once(app, client, office, smtp_server, fake_telegram):
    night_calls(client, app, smtp_server, fake_telegram)
    clock = lambda: THURSDAY_MORNING  # noqa: E731
    first = digest_job.DigestLoop(app, get_redis(), clock=clock)
    second = digest_job.DigestLoop(app, get_redis(), clock=clock)
    try:
        first.step()
        second.step()  # the lock is held: this worker does nothing
        assert first.done == THURSDAY_MORNING.date() and second.done is None
        first.step()
        first.release()  # the first worker dies; the second takes over with no memory of the day
        second.step()
        assert second.done == THURSDAY_MORNING.date()
    finally:
        first.release()
        second.release()
    run_jobs(app)
    assert len(smtp_server.wait_for(1)) == 1 and len(fake_telegram.wait_for(1)) == 1
    assert count(MorningDigest) == 1 and count(DigestSend) == 2


def test_concurrent_rounds_claim_once(app, client, office, smtp_server, fake_telegram):
    night_calls(client, app, smtp_server, fake_telegram)
    results, errors = [], []
    start = threading.Barrier(4)

    def one_round():
        try:
            with app.app_context():
                start.wait()
                results.append(morning_digest.claim_due(THURSDAY_MORNING).send_ids)
                db.session.remove()
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=one_round) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors, errors
    assert sorted(len(r) for r in results) == [0, 0, 0, 2]
    assert count(MorningDigest) == 1 and count(DigestSend) == 2


def test_a_second_claim_of_the_same_day_is_refused(app, office):
    from notifier.core.digest import window
    from notifier.services import settings

    w = window(settings.schedule(), THURSDAY_MORNING.date())
    assert len(morning_digest.claim(office["ivanov"], w, [])) == 2
    assert morning_digest.claim(office["ivanov"], w, []) == []
    assert count(MorningDigest) == 1


def test_transient_failures_are_retried_and_sent_once(app, client, office, smtp_server, fake_telegram):
    night_calls(client, app, smtp_server, fake_telegram)
    smtp_server.fail_next(451)
    fake_telegram.fail_next("429", method="sendMessage")
    digest_job.run_round(THURSDAY_MORNING)
    run_jobs(app)
    assert len(smtp_server.wait_for(1)) == 1 and len(fake_telegram.wait_for(1)) == 1
    assert sends() == [("email", "sent", 2), ("telegram", "sent", 2)]
    run_jobs(app)
    assert len(smtp_server.messages) == 1 and len(fake_telegram.messages) == 1


def test_waits_for_events_still_being_processed(app, client, office, smtp_server):
    post_all(client, missed("late", "2026-11-05T08:50:00+03:00"))  # stored, not processed yet
    assert digest_job.run_round(THURSDAY_MORNING) is None
    assert count(MorningDigest) == 0
    run_jobs(app)
    digest_job.run_round(THURSDAY_MORNING)
    run_jobs(app)
    assert smtp_server.wait_for(1)[0]["Subject"] == "Утренняя сводка: 1 пропущенный звонок за нерабочее время"


def test_channels_not_set_up_are_skipped(app, client, office, smtp_server, fake_telegram):
    night_calls(client, app, smtp_server, fake_telegram)
    app.config["TELEGRAM_BOT_TOKEN"] = ""
    digest_job.run_round(THURSDAY_MORNING)
    run_jobs(app)
    assert len(smtp_server.wait_for(1)) == 1
    assert sends() == [("email", "sent", 1), ("telegram", "skipped", 0)]


def test_a_long_night_is_counted_and_cut(app, office, smtp_server, fake_telegram):
    """150 calls: the email names 100, Telegram 40 (within its 4096 limit); both say how many."""
    from notifier.models import Event
    from notifier.telegram.api import MESSAGE_LIMIT, utf16_len

    for i in range(150):
        event = factories.event(missed(f"n{i}", f"2026-11-04T{i // 60:02d}:{i % 60:02d}:00+03:00"))
        row = MissedCall(event_id=event.id, subscriber_id=office["ivanov"], subscriber_number="101",
                         caller=ROMASHKA, caller_key="+79023855270", vip=True,
                         missed_at=event.started_at, status="open")
        db.session.add(row)
    db.session.execute(Event.__table__.update().values(processed_at=THURSDAY_MORNING))
    db.session.commit()
    digest_job.run_round(THURSDAY_MORNING)
    run_jobs(app)
    [mail] = smtp_server.wait_for(1)
    assert mail["Subject"] == "Утренняя сводка: 150 пропущенных звонков за нерабочее время"
    text = mail.get_body(("plain",)).get_content()
    assert text.count("ООО <Ромашка> & Co, VIP") == 100 and "… и ещё 50" in text
    assert text.index("04.11 02:29") < text.index("04.11 02:28")  # newest first
    [message] = fake_telegram.wait_for(1)
    assert message["text"].count("<b>VIP</b>") == 40 and message["text"].endswith("… и ещё 110")
    assert utf16_len(message["text"]) <= MESSAGE_LIMIT


@pytest.mark.parametrize("n, word", [(1, "пропущенный звонок"), (2, "пропущенных звонка"), (4, "пропущенных звонка"),
                                     (5, "пропущенных звонков"), (11, "пропущенных звонков"),
                                     (12, "пропущенных звонков"), (21, "пропущенный звонок"),
                                     (22, "пропущенных звонка"), (111, "пропущенных звонков")])
def test_russian_count(n, word):
    from notifier.channels.digest import plural

    assert plural(n, "пропущенный звонок", "пропущенных звонка", "пропущенных звонков") == word


def test_a_send_whose_job_was_lost_goes_out_with_a_later_round(app, client, office, smtp_server, fake_telegram):
    from datetime import timedelta

    from notifier.models import utcnow

    night_calls(client, app, smtp_server, fake_telegram)
    claimed = morning_digest.claim_due(THURSDAY_MORNING)  # claimed, then the worker died before queueing
    assert len(claimed.send_ids) == 2 and get_redis().flushdb()
    digest_job.run_round(THURSDAY_MORNING, claimed.done)
    run_jobs(app)
    assert smtp_server.messages == []  # a minute's grace: its job may still be on the way
    db.session.execute(DigestSend.__table__.update().values(created_at=utcnow() - timedelta(minutes=2)))
    db.session.commit()
    digest_job.run_round(THURSDAY_MORNING, claimed.done)
    run_jobs(app)
    assert len(smtp_server.wait_for(1)) == 1 and len(fake_telegram.wait_for(1)) == 1
    assert sends() == [("email", "sent", 1), ("telegram", "sent", 1)]
