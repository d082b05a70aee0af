"""The RQ plumbing: real Redis, the shipped worker class, an app context per job."""
import os

from notifier.extensions import db
from notifier.models import Setting
from notifier.pipeline.queueing import get_queue
from notifier.pipeline.worker import HEARTBEAT_GRACE, JOB_MONITORING_INTERVAL, MAINTENANCE_INTERVAL, make_worker
from notifier.runtime.embedded_redis import EmbeddedRedis

from .jobs_for_tests import outlive_heartbeats, record_context


def test_job_runs_in_the_worker_process_with_app_context(app, run_worker):
    job = get_queue().enqueue(record_context, "ctx-check", job_id="ctx-check")
    run_worker()
    row = db.session.get(Setting, "ctx-check")
    assert row is not None, "the job did not run"
    assert row.value["testing"] is True
    assert row.value["pid"] == os.getpid()  # no work horse forked per job
    assert job.get_status(refresh=True) == "finished"


def test_abandoned_jobs_are_recovered_quickly(app):
    worker = make_worker(app)
    assert worker.job_monitoring_interval == JOB_MONITORING_INTERVAL
    assert worker.maintenance_interval == MAINTENANCE_INTERVAL

    class J:
        timeout = 180

    # A dead worker's job expires after its heartbeat TTL, then the next
    # maintenance pass re-queues it: about 30 s in all, not RQ's ~11 minutes.
    assert worker.get_heartbeat_ttl(J()) + MAINTENANCE_INTERVAL <= 35
    assert worker.get_heartbeat_ttl(J()) == JOB_MONITORING_INTERVAL + HEARTBEAT_GRACE
    # ...and an idle worker does run that pass: it waits for jobs no longer than one interval.
    assert worker.dequeue_timeout <= MAINTENANCE_INTERVAL


def test_a_long_job_keeps_its_registry_entry_fresh(app):
    """The heartbeat thread extends the running job's started-registry expiry,
    so a live job is never taken for abandoned, however long it runs."""
    get_queue().enqueue(outlive_heartbeats, "beats", 2.5, job_id="beats")
    worker = make_worker(app)
    worker.job_monitoring_interval = 1
    worker.work(burst=True, with_scheduler=False, logging_level="WARNING")
    value = db.session.get(Setting, "beats").value
    assert len(value["first"]) == len(value["last"]) == 1
    assert value["last"][0] >= value["first"][0] + 1.5


def test_embedded_redis_is_shared_and_persistent(tmp_path):
    first = EmbeddedRedis(str(tmp_path)).start()
    try:
        import redis

        client = redis.Redis.from_url(first.url)
        client.set("k", "v")
        second = EmbeddedRedis(str(tmp_path)).start()  # a second process finds the running server
        assert second.process is None
        assert redis.Redis.from_url(second.url).get("k") == b"v"
    finally:
        first.stop()
    assert not (tmp_path / "redis.sock").exists()
    third = EmbeddedRedis(str(tmp_path)).start()  # restarted: the append-only file kept the data
    try:
        assert redis.Redis.from_url(third.url).get("k") == b"v"
    finally:
        third.stop()


def test_migrations_match_models(app):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
    assert diff == []
