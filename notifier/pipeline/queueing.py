"""RQ plumbing shared by web and worker: queues, and a job class that runs
each job inside an app context."""
from __future__ import annotations

from collections.abc import Iterable

from flask import Flask, current_app
from rq import Queue
from rq.job import Job

from notifier.runtime.redis_conn import connect, get_redis
from notifier.services import settings

QUEUE_NAMES = ("default",)
# Seconds; RQ stops a stuck job before a delivery's 60 s lease (delivery.LEASE) ends.
JOB_TIMEOUT = 55
# A failed job is kept a week (the sweep reads its state; an admin may look); a
# finished one not at all: the database has the outcome, and RQ's default kept
# every finished job and its result for 500 s, 25,000 of them in Redis at 50
# events/s (issue 17: 170 MB of the embedded Redis).
FAILURE_TTL = 7 * 24 * 3600


class AppJob(Job):
    """Runs the job function inside the Flask app context of ``AppJob.app``.

    worker.py sets ``AppJob.app`` once at start, so every job runs in an app
    with imported modules and configuration: nothing is imported per job.
    """

    app: Flask | None = None

    def perform(self):
        app = type(self).app
        if app is None:
            from notifier import create_app

            app = type(self).app = create_app()
        with app.app_context():
            settings.remember_for_this_job()
            return super().perform()


def get_queue(name: str = "default") -> Queue:
    """A queue on the web process's Redis client (short timeouts).

    One Queue object per app and name, reused while the Redis client is the
    same (building one per request showed in the intake's profile)."""
    connection = get_redis()
    queues = current_app.extensions.setdefault("rq_queues", {})
    cached = queues.get(name)
    if cached is None or cached.connection is not connection:
        cached = queues[name] = Queue(name, connection=connection, job_class=AppJob)
    return cached


def enqueue_calls(queue: Queue, calls: Iterable[tuple[str, tuple, str]]) -> None:
    """Enqueue ``(function name, args, job id)`` jobs with RQ's own
    ``enqueue_call``, all in one pipeline: one round trip whatever their number.

    Raises RedisError when Redis is down (the caller's outbox covers that)."""
    with queue.connection.pipeline() as pipe:
        for func, args, job_id in calls:
            queue.enqueue_call(func, args=tuple(args), job_id=job_id, timeout=JOB_TIMEOUT, result_ttl=0,
                               failure_ttl=FAILURE_TTL, pipeline=pipe)
        pipe.execute()


def discard_job(job: Job, pipeline=None) -> None:
    """Delete a finished, failed or abandoned job so its id can be queued again.

    RQ 3's ``Job.delete`` raises ValueError for a job abandoned by a killed
    worker (its execution record has expired); then the job's registries and
    keys are removed without it."""
    try:
        job.delete(pipeline=pipeline)
    except ValueError:
        from rq.results import Result

        target = pipeline if pipeline is not None else job.connection
        job._remove_from_registries(pipeline=pipeline, remove_from_queue=True)
        target.delete(job.key, job.dependents_key, job.dependencies_key, Result.get_key(job.id),
                      job.execution_registry.key)


def worker_connection(app: Flask):
    """The worker blocks on Redis for new jobs, so no short socket timeout there."""
    return connect(app.config["REDIS_URL"], socket_timeout=None)


def queue_for(app: Flask | None = None, name: str = "default") -> Queue:
    app = app or current_app
    return Queue(name, connection=worker_connection(app), job_class=AppJob)
