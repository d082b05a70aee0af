"""Delivery jobs end to end on real parts: RQ worker, SMTP server, fake Telegram Bot API."""
import re
from datetime import timedelta

from notifier.channels import checks as channel_checks
from notifier.extensions import db
from notifier.models import Subscriber, utcnow
from notifier.pipeline import delivery as dl
from notifier.pipeline.queueing import get_queue
from notifier.runtime.redis_conn import get_redis

from .factories import configure_mail, configure_telegram, missed_call
from .factories import deliveries as add_deliveries
from .notify_setup import delivery, linked_employee, run_jobs


def setup(app, smtp_server, fake_telegram, **sub):
    configure_mail(smtp_server)
    configure_telegram(fake_telegram)
    app.config["DELIVERY_RETRY_BASE"] = 1
    sid = linked_employee(**sub).id
    email_id, tg_id = add_deliveries(missed_call(), sid)
    return sid, email_id, tg_id


def test_one_mail_and_one_telegram_message(app, smtp_server, fake_telegram):
    _, email_id, tg_id = setup(app, smtp_server, fake_telegram)
    dl.enqueue([email_id, tg_id])
    dl.enqueue([email_id, tg_id])  # de-duplicated by job id
    assert get_queue().count == 2
    run_jobs(app)
    [mail] = smtp_server.wait_for(1)
    assert mail.rcpt_tos == ["ivanov@example.com"]
    [message] = fake_telegram.wait_for(1)
    assert message["chat_id"] == 5551234
    for did, address in ((email_id, "ivanov@example.com"), (tg_id, "@ivanov")):
        row = delivery(did)
        assert (row.status, row.attempts, row.last_error, row.address) == ("sent", 1, None, address)
        assert row.sent_at is not None and row.locked_until is None
    assert channel_checks.status("mail", True).state == "working"
    assert channel_checks.status("telegram", True).state == "working"
    # Running the job again (a redelivered job) sends nothing.
    assert dl.deliver(email_id) is None and dl.deliver(tg_id) is None
    assert len(smtp_server.messages) == 1 and len(fake_telegram.messages) == 1


def test_unconfigured_channels_are_skipped_with_the_reason(app):
    sid = linked_employee().id
    email_id, tg_id = add_deliveries(missed_call(), sid)
    dl.deliver(email_id)
    dl.deliver(tg_id)
    assert (delivery(email_id).status, delivery(email_id).last_error) == ("skipped", "Почта (SMTP) не настроена")
    assert (delivery(tg_id).status, delivery(tg_id).last_error) == ("skipped", "Telegram-бот не настроен")
    assert delivery(email_id).attempts == 0


def test_employee_without_email_or_telegram_is_skipped(app, smtp_server, fake_telegram):
    sid, email_id, tg_id = setup(app, smtp_server, fake_telegram, email=None, chat_id=None)
    db.session.get(Subscriber, sid).telegram_unlinked_reason = "Пользователь отправил /stop"
    db.session.commit()
    dl.deliver(email_id)
    dl.deliver(tg_id)
    assert (delivery(email_id).status, delivery(email_id).last_error) == ("skipped", "У сотрудника не указан email")
    row = delivery(tg_id)
    assert row.status == "skipped" and "не подключил Telegram" in row.last_error
    assert "/stop" in row.last_error
    assert smtp_server.messages == [] and fake_telegram.requests == []


def test_smtp_refusing_then_accepting_sends_exactly_one_mail(app, smtp_server, fake_telegram):
    _, email_id, _ = setup(app, smtp_server, fake_telegram)
    smtp_server.fail_next(451, count=2)
    before = utcnow()
    retry = dl.deliver(email_id)
    row = delivery(email_id)
    assert row.status == "retrying" and row.attempts == 1 and "451" in row.last_error
    assert row.next_attempt_at >= before + timedelta(seconds=1) and row.locked_until is None
    assert retry is not None and retry.intervals[0] >= 1
    # Not due yet: a second copy of the job sends nothing and comes back when due.
    assert dl.deliver(email_id).intervals[0] >= 1
    assert delivery(email_id).attempts == 1
    dl.enqueue([email_id])
    run_jobs(app)
    assert len(smtp_server.wait_for(1)) == 1
    assert smtp_server.rejections == [("DATA", 451), ("DATA", 451)]
    row = delivery(email_id)
    assert (row.status, row.attempts, row.last_error) == ("sent", 3, None)


def test_smtp_permanent_rejection_fails_with_the_reason(app, smtp_server, fake_telegram):
    _, email_id, _ = setup(app, smtp_server, fake_telegram)
    smtp_server.fail_next(550, stage="RCPT", message="No such user")
    dl.enqueue([email_id])
    run_jobs(app)
    row = delivery(email_id)
    assert row.status == "failed" and row.attempts == 1
    assert "550" in row.last_error and "No such user" in row.last_error
    assert smtp_server.messages == []


def test_smtp_server_down_is_retried(app, smtp_server, fake_telegram):
    _, email_id, _ = setup(app, smtp_server, fake_telegram)
    smtp_server.refuse_connections()
    dl.deliver(email_id)
    row = delivery(email_id)
    assert row.status == "retrying" and "отклонено" in row.last_error
    dl.enqueue([email_id])
    smtp_server.accept_connections()
    run_jobs(app)
    assert len(smtp_server.wait_for(1)) == 1


def test_telegram_429_waits_retry_after_then_sends_once(app, smtp_server, fake_telegram):
    _, _, tg_id = setup(app, smtp_server, fake_telegram)
    fake_telegram.fail_next("429", retry_after=3)
    before = utcnow()
    retry = dl.deliver(tg_id)
    row = delivery(tg_id)
    assert row.status == "retrying" and "429" in row.last_error
    assert row.next_attempt_at >= before + timedelta(seconds=3)
    health = channel_checks.status("telegram", True)
    assert health.state == "error" and "429" in health.error
    assert retry.intervals[0] >= 3
    dl.enqueue([tg_id])  # processing's job is gone; queue it like the sweep would
    run_jobs(app)
    assert len(fake_telegram.wait_for(1)) == 1
    first, second = fake_telegram.requests
    assert (first["status"], second["status"]) == (429, 200)
    assert second["time"] - first["time"] >= 3
    assert (delivery(tg_id).status, delivery(tg_id).attempts) == ("sent", 2)


def test_telegram_500_then_200(app, smtp_server, fake_telegram):
    _, _, tg_id = setup(app, smtp_server, fake_telegram)
    fake_telegram.fail_next("500")
    dl.enqueue([tg_id])
    run_jobs(app)
    assert len(fake_telegram.wait_for(1)) == 1
    assert [r["status"] for r in fake_telegram.requests] == [500, 200]
    assert (delivery(tg_id).status, delivery(tg_id).attempts) == ("sent", 2)


def test_telegram_403_fails_and_unlinks_the_employee(app, smtp_server, fake_telegram):
    sid, _, tg_id = setup(app, smtp_server, fake_telegram)
    fake_telegram.fail_next("403")
    dl.enqueue([tg_id])
    run_jobs(app)
    row = delivery(tg_id)
    assert row.status == "failed" and "blocked" in row.last_error
    sub = db.session.get(Subscriber, sid)
    assert sub.telegram_chat_id is None and "blocked" in sub.telegram_unlinked_reason
    assert fake_telegram.messages == []


def test_retry_of_a_failed_delivery_sends_once(app, smtp_server, fake_telegram):
    _, email_id, _ = setup(app, smtp_server, fake_telegram)
    smtp_server.fail_next(554, message="Rejected")
    dl.enqueue([email_id])
    run_jobs(app)
    assert delivery(email_id).status == "failed"
    assert dl.retry(email_id) is True
    row = delivery(email_id)
    assert (row.status, row.attempts) == ("pending", 1)
    run_jobs(app)
    row = delivery(email_id)
    assert (row.status, row.attempts) == ("sent", 2)
    assert dl.retry(email_id) is False  # sent stays sent
    run_jobs(app)
    assert len(smtp_server.messages) == 1


def test_retry_of_a_retrying_delivery_sends_now(app, smtp_server, fake_telegram):
    _, email_id, _ = setup(app, smtp_server, fake_telegram)
    app.config["DELIVERY_RETRY_BASE"] = 600
    smtp_server.fail_next(421)
    dl.enqueue([email_id])
    make_worker_run(app)
    assert delivery(email_id).status == "retrying"
    assert len(get_queue().scheduled_job_registry) == 1
    assert dl.retry(email_id) is True
    assert len(get_queue().scheduled_job_registry) == 0
    run_jobs(app, max_seconds=10)
    assert len(smtp_server.wait_for(1)) == 1


def make_worker_run(app):
    from notifier.pipeline.worker import make_worker

    make_worker(app).work(burst=True, with_scheduler=False, logging_level="WARNING")


def test_sweep_requeues_lost_jobs(app, smtp_server, fake_telegram):
    _, email_id, tg_id = setup(app, smtp_server, fake_telegram)
    assert dl.requeue_stale() == 0  # fresh pending rows: processing queues them itself
    assert dl.requeue_stale(now=utcnow() + timedelta(minutes=2)) == 2
    assert dl.requeue_stale(now=utcnow() + timedelta(minutes=2)) == 0  # already queued
    run_jobs(app)
    assert len(smtp_server.messages) == 1 and len(fake_telegram.messages) == 1


def test_enqueue_survives_redis_being_down(app, smtp_server, fake_telegram):
    _, email_id, _ = setup(app, smtp_server, fake_telegram)
    real_url = app.config["REDIS_URL"]
    app.config["REDIS_URL"] = "redis://127.0.0.1:1/0"
    app.extensions.pop("redis", None)
    try:
        dl.enqueue([email_id])  # no exception into the caller
    finally:
        app.config["REDIS_URL"] = real_url
        app.extensions.pop("redis", None)
    assert get_queue().count == 0
    assert dl.requeue_stale(now=utcnow() + timedelta(minutes=2)) == 2
    run_jobs(app)
    assert len(smtp_server.messages) == 1 and len(fake_telegram.messages) == 1


def test_sweep_waits_for_a_dead_workers_lease_to_run_out(app, smtp_server, fake_telegram):
    """A worker died while sending: its lease keeps others out until it runs out."""
    _, email_id, _ = setup(app, smtp_server, fake_telegram)
    now = utcnow()
    row = delivery(email_id)
    row.created_at = now - timedelta(minutes=5)
    row.locked_until = now + timedelta(seconds=30)
    db.session.commit()
    assert dl.requeue_stale(now=now) == 0
    assert dl.deliver(email_id) is None  # a job that runs anyway does nothing
    assert dl.requeue_stale(now=now + timedelta(seconds=31)) == 1
    row = delivery(email_id)
    row.locked_until = now - timedelta(seconds=1)  # time passes
    db.session.commit()
    run_jobs(app)
    assert len(smtp_server.messages) == 1


def test_sweep_frees_the_lease_of_a_job_rq_gave_up_on(app, smtp_server, fake_telegram):
    """A killed worker's job is marked failed by RQ (abandoned) within ~30 s:
    its delivery is queued again without waiting for the lease to run out.
    A job still "started" (a live send) or missing (Redis lost it) keeps its lease."""
    from rq.job import Job

    _, email_id, telegram_id = setup(app, smtp_server, fake_telegram)
    now = utcnow()
    for delivery_id in (email_id, telegram_id):
        delivery(delivery_id).locked_until = now + timedelta(seconds=50)
        db.session.commit()
    dl.enqueue([email_id, telegram_id])
    queue = get_queue()
    for delivery_id, status in ((email_id, "failed"), (telegram_id, "started")):
        job = Job.fetch(dl.job_id(delivery_id), connection=queue.connection)
        queue.remove(job.id)
        job.set_status(status)
    assert dl.requeue_stale(now=now) == 1
    assert delivery(email_id).locked_until is None
    assert delivery(telegram_id).locked_until is not None
    assert queue.job_ids == [dl.job_id(email_id)]
    Job.fetch(dl.job_id(telegram_id), connection=queue.connection).delete()
    assert dl.requeue_stale(now=now) == 0  # missing job: wait for the lease
    run_jobs(app)
    assert len(smtp_server.messages) == 1 and len(fake_telegram.messages) == 0


def test_sweep_queues_a_fresh_delivery_whose_job_was_abandoned_before_its_claim(app, smtp_server, fake_telegram):
    """Killed after RQ started the job but before the claim: no lease, and the
    row is younger than a minute; RQ marked the job failed, so it goes now."""
    from rq.job import Job

    _, email_id, telegram_id = setup(app, smtp_server, fake_telegram)
    dl.enqueue([email_id, telegram_id])
    queue = get_queue()
    job = Job.fetch(dl.job_id(email_id), connection=queue.connection)
    queue.remove(job.id)
    job.set_status("failed")
    assert dl.requeue_stale() == 1
    run_jobs(app)
    assert len(smtp_server.messages) == 1 and len(fake_telegram.messages) == 1


def test_sweep_sends_the_first_try_of_an_event_job_rq_gave_up_on(app, smtp_server, fake_telegram):
    """Issue 15: a first try is made by the event's own job (no delivery job exists).
    Killed mid-send, that job is marked failed by RQ within ~30 s: its open deliveries
    are queued as jobs of their own at once, leases freed; while the event job is still
    "started", they keep their leases."""
    from rq.job import Job

    from notifier.pipeline.intake import process_job_id

    _, email_id, telegram_id = setup(app, smtp_server, fake_telegram)
    now = utcnow()
    for delivery_id in (email_id, telegram_id):
        delivery(delivery_id).locked_until = now + timedelta(seconds=50)  # claimed by the event job
    db.session.commit()
    queue = get_queue()
    event_job = queue.enqueue_call("notifier.pipeline.processing.process_event",
                                   args=(delivery(email_id).event_id,), job_id=process_job_id(delivery(email_id).event_id))
    queue.remove(event_job.id)
    event_job.set_status("started")
    assert dl.requeue_stale(now=now) == 0  # a live first try keeps its leases
    event_job.set_status("failed")
    assert dl.requeue_stale(now=now) == 2
    assert delivery(email_id).locked_until is None and delivery(telegram_id).locked_until is None
    assert sorted(queue.job_ids) == sorted([dl.job_id(email_id), dl.job_id(telegram_id)])
    Job.fetch(event_job.id, connection=queue.connection).delete()
    run_jobs(app)
    assert len(smtp_server.messages) == 1 and len(fake_telegram.messages) == 1


# --- the duplicate window (issue 12, item 13) -----------------------------------------------

def test_a_send_marked_accepted_in_redis_is_recorded_not_sent_again(app, smtp_server, fake_telegram):
    """Killed after the server took the message, before «sent» reached the database:
    the mark set at acceptance makes the next try record it instead of sending it."""
    _, email_id, telegram_id = setup(app, smtp_server, fake_telegram)
    assert dl.deliver(email_id) is None
    assert get_redis().exists(f"delivery:{email_id}:accepted")  # set when the server said 250
    get_redis().set(f"delivery:{telegram_id}:accepted", 1)  # as if the worker died right after Telegram's answer
    assert dl.deliver(telegram_id) is None
    row = delivery(telegram_id)
    assert (row.status, row.attempts) == ("sent", 1)
    assert len(fake_telegram.messages) == 0 and len(smtp_server.messages) == 1


MESSAGE_ID = re.compile(r"^<delivery-(\d+)\.[0-9a-f]{16}@example\.com>$")


def test_message_id_is_the_same_on_every_try_of_a_delivery_and_differs_between_deliveries(
        app, smtp_server, fake_telegram):
    sid, email_id, _ = setup(app, smtp_server, fake_telegram)
    smtp_server.fail_next(451)
    dl.deliver(email_id)
    assert delivery(email_id).status == "retrying"
    assert dl.retry(email_id)
    dl.deliver(email_id)
    assert (delivery(email_id).status, delivery(email_id).attempts) == ("sent", 2)
    [other_id, _] = add_deliveries(missed_call(event_id="evt-missed-2"), sid)
    dl.deliver(other_id)
    [refused] = smtp_server.refused
    first, second = smtp_server.wait_for(2)
    assert refused["Message-ID"] == first["Message-ID"]
    assert MESSAGE_ID.match(first["Message-ID"]).group(1) == str(email_id)
    assert MESSAGE_ID.match(second["Message-ID"]).group(1) == str(other_id)


def test_kept_session_lost_at_quit_after_the_server_accepted_is_sent_once(app, smtp_server, fake_telegram):
    """The server answered 250 to DATA; the session is kept for the next mail and
    later closed (the worker stops), and the server vanishes at that QUIT: the
    mail is delivered, and the delivery was recorded as sent before QUIT was even sent."""
    from notifier.channels import mailer

    _, email_id, _ = setup(app, smtp_server, fake_telegram)
    seen_at_quit = []

    def look():  # in the SMTP server's thread, while the worker waits for QUIT's answer
        with app.app_context():
            seen_at_quit.append(delivery(email_id).status)

    smtp_server.drop_at_quit(before=look)
    assert dl.deliver(email_id) is None
    row = delivery(email_id)
    assert (row.status, row.attempts, row.last_error, row.locked_until) == ("sent", 1, None, None)
    assert smtp_server.quits == []
    mailer.pool(app).close()
    assert seen_at_quit == ["sent"] and smtp_server.quits == ["dropped"]
    dl.enqueue([email_id])  # a redelivered job, and the sweep an hour later: nothing to resend
    dl.requeue_stale(utcnow() + timedelta(hours=1))
    run_jobs(app)
    assert len(smtp_server.messages) == 1
    assert (delivery(email_id).status, delivery(email_id).attempts) == ("sent", 1)
