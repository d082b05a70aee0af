"""The outbox sweep: events stored but never queued, or queued and lost, are
queued again; waiting jobs are not duplicated; one sweeper at a time; and
``python worker.py`` runs it."""
from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from rq import Queue
from rq.job import Job
from sqlalchemy import select

from notifier.extensions import db
from notifier.models import Decision, Delivery, Event, utcnow
from notifier.pipeline import delivery, outbox
from notifier.pipeline.intake import enqueue_processing
from notifier.runtime.redis_conn import get_redis

from .conftest import WEBHOOK_SECRET
from .webhook_signing import example

ROOT = Path(__file__).resolve().parent.parent


def stored(event_id: str, age: timedelta, queued_age: timedelta | None = None, processed=False) -> int:
    """An event row as intake leaves it, ``age`` ago (queued ``queued_age`` ago, or never)."""
    now = utcnow()
    payload = dict(example("missed-internal"), id=event_id)
    ev = Event(event_id=event_id, type="call.ended", payload=payload, started_at=now,
               caller="101", caller_key="101", callee_key="102", result="no_answer",
               received_at=now - age, queued_at=None if queued_age is None else now - queued_age,
               processed_at=now if processed else None)
    db.session.add(ev)
    db.session.commit()
    return ev.id


def job_ids() -> list[str]:
    return Queue("default", connection=get_redis()).job_ids


def test_never_queued_events_are_queued_after_a_grace(app):
    old = stored("old", timedelta(seconds=30))
    stored("new", timedelta(seconds=0))
    stored("done", timedelta(minutes=5), processed=True)
    assert outbox.sweep()["events"] == 1
    assert job_ids() == [f"event-{old}"]
    assert db.session.get(Event, old).queued_at is not None
    assert outbox.sweep()["events"] == 0


def test_lost_jobs_are_queued_again_waiting_ones_are_not(app):
    lost = stored("lost", timedelta(minutes=10), queued_age=timedelta(minutes=10))
    waiting = stored("waiting", timedelta(minutes=10), queued_age=timedelta(minutes=10))
    failed = stored("failed", timedelta(minutes=10), queued_age=timedelta(minutes=10))
    recent = stored("recent", timedelta(seconds=10), queued_age=timedelta(seconds=10))
    enqueue_processing([waiting, failed])
    job = Job.fetch(f"event-{failed}", connection=get_redis())
    Queue("default", connection=get_redis()).remove(job)
    job.set_status("failed")
    assert outbox.sweep()["events"] == 2
    assert sorted(job_ids()) == sorted(f"event-{pk}" for pk in (waiting, lost, failed))
    assert f"event-{recent}" not in job_ids()
    # All three were looked at just now: the next pass leaves them alone.
    assert outbox.sweep()["events"] == 0


def test_a_job_a_dead_worker_took_but_never_started_is_queued_again(app):
    """Killed between RQ's dequeue and the job's start: the job sits in RQ's
    intermediate queue, still "queued", where RQ itself looks only after a minute."""
    stuck = stored("stuck", timedelta(minutes=1), queued_age=timedelta(minutes=1))
    enqueue_processing([stuck])
    queue = Queue("default", connection=get_redis())
    queue.connection.lmove(queue.key, queue.intermediate_queue_key)  # what a worker's dequeue does
    assert job_ids() == []
    assert outbox.sweep()["events"] == 1
    assert job_ids() == [f"event-{stuck}"]
    assert queue.connection.lrange(queue.intermediate_queue_key, 0, -1) == []


def test_sweep_also_queues_deliveries_whose_job_was_lost(app):
    event = db.session.get(Event, stored("delivered", timedelta(minutes=5), timedelta(minutes=5), processed=True))
    row = Delivery(event_id=event.id, subscriber_number="102", channel="email", address="a@example.com",
                   created_at=utcnow() - timedelta(minutes=5))  # pending, and no job in Redis
    db.session.add(row)
    db.session.commit()
    assert outbox.sweep() == {"events": 0, "deliveries": 1, "telegram_edits": 0}
    assert job_ids() == [delivery.job_id(row.id)]
    assert outbox.sweep() == {"events": 0, "deliveries": 0, "telegram_edits": 0}  # its job is waiting now


def test_one_sweeper_at_a_time(app):
    stored("old", timedelta(seconds=30))
    other = get_redis().lock(outbox.LOCK_KEY, timeout=60)
    assert other.acquire(blocking=False)
    sweeper = outbox.Sweeper(app)
    assert sweeper.step() is None  # another worker holds the lock
    other.release()
    assert sweeper.step()["events"] == 1
    assert get_redis().get(outbox.LOCK_KEY) is None  # released after the pass


def test_sweeper_thread_starts_and_stops(app):
    pk = stored("old", timedelta(seconds=30))
    sweeper = outbox.Sweeper(app, interval=3600).start()
    try:
        for _ in range(200):
            if job_ids():
                break
            sweeper.stopping.wait(0.05)
    finally:
        sweeper.stop()
    assert not sweeper._thread.is_alive()
    assert job_ids() == [f"event-{pk}"]


def test_worker_py_burst_drains_the_outbox(app, database_uri, redis_url, tmp_path):
    """The shipped entry point: sweeps, then processes, in a real process."""
    pk = stored("stranded", timedelta(minutes=1))
    env = dict(os.environ, DATABASE_URL=database_uri, REDIS_URL=redis_url, WEBHOOK_SECRET=WEBHOOK_SECRET,
               INSTANCE_PATH=str(tmp_path / "worker-instance"))
    done = subprocess.run([sys.executable, "worker.py", "--burst"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    assert db.session.get(Event, pk).processed_at is not None
    assert db.session.scalar(select(Decision.reason).where(Decision.event_id == pk)) == "unknown_subscriber"
