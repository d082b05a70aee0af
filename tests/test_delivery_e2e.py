"""End to end: signed POST -> real Redis -> the shipped worker (burst) -> SMTP and Telegram servers."""
from datetime import timedelta

import pytest

from notifier.core.criteria import criteria_to_json, parse_criteria
from notifier.extensions import db
from notifier.models import Delivery, Event, Rule

from .factories import contact as add_contact
from .factories import missed_call, voicemail
from .notify_setup import FileServer, linked_employee, notified_employee, run_jobs
from .webhook_signing import post_event


@pytest.fixture
def employee(app, smtp_server, fake_telegram):
    """Employee 102 with a rule for both types; both channels configured."""
    app.config["DELIVERY_RETRY_BASE"] = 1
    return notified_employee(smtp_server, fake_telegram, ("missed_calls", "voicemail")).id


def statuses(app) -> list[tuple[str, str, int]]:
    db.session.expire_all()
    return sorted((d.channel, d.status, d.attempts) for d in db.session.query(Delivery))


def test_missed_call_reaches_email_and_telegram_once(app, client, employee, smtp_server, fake_telegram):
    add_contact("ООО Ромашка", "+7 902 385-52-70", vip=True)
    assert post_event(client, missed_call()).status_code == 202
    assert post_event(client, missed_call()).status_code == 200  # the PBX redelivers: a duplicate
    run_jobs(app)
    [mail] = smtp_server.wait_for(1)
    assert mail["Subject"] == "Пропущенный звонок от +7 902 385-52-70, ООО Ромашка, VIP"
    assert mail.rcpt_tos == ["ivanov@example.com"]
    [message] = fake_telegram.wait_for(1)
    assert message["chat_id"] == 5551234 and "ООО Ромашка" in message["text"]
    assert statuses(app) == [("email", "sent", 1), ("telegram", "sent", 1)]
    run_jobs(app)  # nothing left to do
    assert len(smtp_server.messages) == 1 and len(fake_telegram.messages) == 1


def test_caller_hang_up_notifies_nobody(app, client, employee, smtp_server, fake_telegram):
    assert post_event(client, missed_call(result="caller_hangup")).status_code == 202
    run_jobs(app)
    assert statuses(app) == []
    assert smtp_server.messages == [] and fake_telegram.requests == []


def test_voicemail_with_recording_despite_transient_failures(app, client, employee, smtp_server, fake_telegram):
    with FileServer() as files:
        files.files["/vm/1.ogg"] = (b"OggS" + b"\0" * 500, "audio/ogg")
        app.config["RECORDING_URL_HOSTS"] = [files.host()]
        smtp_server.fail_next(451)
        fake_telegram.fail_next("429", retry_after=1)
        assert post_event(client, voicemail(recording_url=files.url("/vm/1.ogg"))).status_code == 202
        run_jobs(app)
    [mail] = smtp_server.wait_for(1)
    assert mail["Subject"].startswith("Голосовое сообщение от +7 902 385-52-70")
    assert [a.get_filename() for a in mail.iter_attachments()] == ["1.ogg"]
    assert len(fake_telegram.sent("sendVoice")) == 1
    assert statuses(app) == [("email", "sent", 2), ("telegram", "sent", 2)]
    assert db.session.query(Event).count() == 1


def test_worker_py_burst_delivers(app, client, employee, smtp_server, fake_telegram, database_uri, redis_url,
                                  tmp_path):
    """The shipped entry point in its own process: `python worker.py --burst`."""
    import os
    import subprocess
    import sys

    from .conftest import ROOT, WEBHOOK_SECRET

    assert post_event(client, missed_call(event_id="evt-proc")).status_code == 202
    env = dict(os.environ, DATABASE_URL=database_uri, REDIS_URL=redis_url, WEBHOOK_SECRET=WEBHOOK_SECRET,
               INSTANCE_PATH=str(tmp_path / "worker-instance"), TELEGRAM_BOT_TOKEN=fake_telegram.token,
               TELEGRAM_API_URL=fake_telegram.url)
    done = subprocess.run([sys.executable, "worker.py", "--burst"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    assert len(smtp_server.wait_for(1)) == 1 and len(fake_telegram.wait_for(1)) == 1
    assert statuses(app) == [("email", "sent", 1), ("telegram", "sent", 1)]


def _count_sent(app) -> int:
    with app.app_context():
        return db.session.query(Delivery).filter(Delivery.status == "sent").count()


def test_worker_killed_mid_send_then_restarted_delivers_each_once(
        app, client, employee, smtp_server, fake_telegram, database_uri, redis_url, tmp_path):
    """Fault: `python worker.py` is SIGKILLed while a Telegram send hangs, mid-batch.

    After the restart every notification is delivered exactly once: finished
    ones are not repeated, queued ones run, and the one that died mid-send is
    queued again by the sweep once its lease has run out (the lease expiry is
    simulated by moving the rows' clocks back, instead of waiting a minute).
    """
    import os
    import signal
    import subprocess
    import sys
    import time

    from sqlalchemy import update

    from notifier.models import utcnow

    from .conftest import ROOT, WEBHOOK_SECRET

    for number in ("103", "104"):
        sid = linked_employee(number=number, email=f"u{number}@example.com", chat_id=int(number) * 1000).id
        db.session.add(Rule(subscriber_id=sid, criteria=criteria_to_json(parse_criteria({"types": ["voicemail"]}))))
    db.session.commit()
    fake_telegram.fail_next("hang", method="sendMessage")
    for n, to in enumerate(("102", "103", "104")):
        assert post_event(client, voicemail(event_id=f"evt-kill-{n}", to=to)).status_code == 202
    env = dict(os.environ, DATABASE_URL=database_uri, REDIS_URL=redis_url, WEBHOOK_SECRET=WEBHOOK_SECRET,
               INSTANCE_PATH=str(tmp_path / "worker-instance"), TELEGRAM_BOT_TOKEN=fake_telegram.token,
               TELEGRAM_API_URL=fake_telegram.url)
    log = open(tmp_path / "worker.log", "w+")
    worker = subprocess.Popen([sys.executable, "worker.py"], cwd=ROOT, env=env, stdout=log,
                              stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        # The worker sends several things at once: the kill comes when the hanging send
        # is the only one still under way (the others have been recorded).
        while not (any(r["method"] == "sendMessage" and r["status"] is None for r in fake_telegram.requests)
                   and _count_sent(app) == 5):
            assert time.monotonic() < deadline and worker.poll() is None, "the worker never reached Telegram"
            time.sleep(0.05)
    finally:
        os.killpg(worker.pid, signal.SIGKILL)  # the worker and its scheduler process
        worker.wait(30)
    assert db.session.query(Delivery).filter(Delivery.status == "sent").count() < 6
    past = utcnow() - timedelta(minutes=5)
    db.session.execute(update(Delivery).where(Delivery.status.in_(("pending", "retrying")))
                       .values(created_at=past, locked_until=past))
    db.session.commit()
    done = subprocess.run([sys.executable, "worker.py", "--burst"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    assert sorted(m.rcpt_tos[0] for m in smtp_server.wait_for(3)) == [
        "ivanov@example.com", "u103@example.com", "u104@example.com"]
    assert sorted(p["chat_id"] for p in fake_telegram.wait_for(3)) == [103000, 104000, 5551234]
    assert [s for _, s, _ in statuses(app)] == ["sent"] * 6
    assert len(smtp_server.messages) == 3 and len(fake_telegram.messages) == 3


def test_worker_killed_with_a_kept_smtp_session_sends_nothing_twice(
        app, client, employee, smtp_server, fake_telegram, database_uri, redis_url, tmp_path):
    """Fault (issues 12 and 15): `python worker.py` keeps its SMTP session open for the
    next notification (no QUIT after each mail) and is SIGKILLed with it open, after
    the server took the mail. The delivery was recorded as sent when the server
    answered 250: after the restart nothing is sent again, and the next event goes
    out on a new session."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from sqlalchemy import update

    from notifier.models import utcnow

    from .conftest import ROOT, WEBHOOK_SECRET

    env = dict(os.environ, DATABASE_URL=database_uri, REDIS_URL=redis_url, WEBHOOK_SECRET=WEBHOOK_SECRET,
               INSTANCE_PATH=str(tmp_path / "worker-instance"), TELEGRAM_BOT_TOKEN=fake_telegram.token,
               TELEGRAM_API_URL=fake_telegram.url)
    assert post_event(client, missed_call(event_id="evt-kept")).status_code == 202
    log = open(tmp_path / "worker.log", "w+")
    worker = subprocess.Popen([sys.executable, "worker.py"], cwd=ROOT, env=env, stdout=log,
                              stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while _count_sent(app) < 2:
            assert time.monotonic() < deadline and worker.poll() is None, "the worker never sent both"
            time.sleep(0.05)
        assert smtp_server.quits == []  # the session is kept open for the next mail
    finally:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(30)
    assert len(smtp_server.messages) == 1
    past = utcnow() - timedelta(minutes=5)  # every lease long gone: the sweep and a new worker may do anything left
    db.session.execute(update(Delivery).values(created_at=past, locked_until=past))
    db.session.commit()
    assert post_event(client, missed_call(event_id="evt-after", caller="+7 902 385-52-71")).status_code == 202
    done = subprocess.run([sys.executable, "worker.py", "--burst"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    assert len(smtp_server.wait_for(2)) == 2 and len(fake_telegram.wait_for(2)) == 2
    assert statuses(app) == [("email", "sent", 1)] * 2 + [("telegram", "sent", 1)] * 2
    assert smtp_server.sessions == 2
