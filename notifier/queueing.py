"""RQ plumbing shared by web and worker: queues, and a job class that runs
each job inside an app context."""
from __future__ import annotations

from collections.abc import Iterable
from weakref import WeakKeyDictionary

from flask import Flask, current_app
from rq import Queue
from rq.job import Job, JobStatus
from rq.utils import now

from .redis_conn import connect, get_redis

QUEUE_NAMES = ("default",)


class AppJob(Job):
    """Runs the job function inside the Flask app context of ``AppJob.app``.

    worker.py sets ``AppJob.app`` before forking, so every work horse inherits
    an app with imported modules and configuration: nothing is imported per job.
    """

    app: Flask | None = None

    def perform(self):
        app = type(self).app
        if app is None:
            from . import create_app

            app = type(self).app = create_app()
        with app.app_context():
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


# One atomic step per job: the job's hash, its id at the tail of the queue, and
# the queue in RQ's set of queues. Queue.enqueue_call sends the same writes as
# MULTI, SADD, HSET status, HSET job, RPUSH, EXEC: six commands for redis-py to
# pack and six replies to parse; a script is one command and one reply.
_ENQUEUE_SCRIPT = """
redis.call('SADD', KEYS[3], KEYS[2])
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
return redis.call('RPUSH', KEYS[2], ARGV[1])
"""
_scripts: "WeakKeyDictionary[object, object]" = WeakKeyDictionary()  # per Redis client


def enqueue_calls(queue: Queue, calls: Iterable[tuple[str, tuple, str]]) -> None:
    """Enqueue ``(function name, args, job id)`` jobs as RQ itself would store
    them (RQ builds and serializes each Job), for the hot paths (intake, outbox).

    Jobs without dependencies, retries, TTLs or callbacks only: those need
    ``queue.enqueue_call``. Several calls go in one pipeline (one round trip).
    Raises RedisError when Redis is down."""
    connection = queue.connection
    script = _scripts.get(connection)
    if script is None:
        script = _scripts[connection] = connection.register_script(_ENQUEUE_SCRIPT)
    calls = list(calls)
    target = connection.pipeline() if len(calls) > 1 else connection
    for func, args, job_id in calls:
        job = queue.create_job(func, args=args, job_id=job_id, status=JobStatus.QUEUED)
        job.origin = queue.name
        job.enqueued_at = now()
        job.timeout = queue._default_timeout
        fields = [item for pair in job.to_dict().items() for item in pair]
        script(keys=[job.key, queue.key, queue.redis_queues_keys], args=[job.id, *fields], client=target)
    if target is not connection:
        target.execute()


def worker_connection(app: Flask):
    """The worker blocks on Redis for new jobs, so no short socket timeout there."""
    return connect(app.config["REDIS_URL"], socket_timeout=None)


def queue_for(app: Flask | None = None, name: str = "default") -> Queue:
    app = app or current_app
    return Queue(name, connection=worker_connection(app), job_class=AppJob)
