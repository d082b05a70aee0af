"""RQ plumbing shared by web and worker: queues, and a job class that runs
each job inside an app context."""
from __future__ import annotations

import zlib
from collections.abc import Iterable
from weakref import WeakKeyDictionary

from flask import Flask, current_app
from rq import Queue
from rq.job import Job, JobStatus
from rq.utils import get_call_string, now, utcformat

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
# The fields that are the same for every job of a function (status, origin,
# timeout, the empty ones...) are written into the script from a job that RQ
# built itself, so a call sends only what differs: id, data, description, time.
_DYNAMIC = ("data", "description", "created_at", "enqueued_at")
_SCRIPT = """
redis.call('SADD', KEYS[3], KEYS[2])
redis.call('HSET', KEYS[1], 'data', ARGV[2], 'description', ARGV[3], 'created_at', ARGV[4],
           'enqueued_at', ARGV[4]{static})
return redis.call('RPUSH', KEYS[2], ARGV[1])
"""


def _lua_string(value) -> str:
    """``value`` as redis-py would send it (bytes as they are, a str or str enum by its text)."""
    if isinstance(value, bytes):
        raw = value
    elif isinstance(value, str):
        raw = value.encode()  # JobStatus.QUEUED -> b"queued", as redis-py's Encoder does
    else:
        raw = repr(value).encode()
    return '"' + "".join(f"\\{byte}" for byte in raw) + '"'  # decimal escapes: any byte is safe


class _JobWriter:
    """Writes jobs of one function on one queue as RQ stores them."""

    def __init__(self, queue: Queue, func: str):
        template = queue.create_job(func, args=(0,), job_id="template", status=JobStatus.QUEUED)
        template.origin = queue.name
        template.enqueued_at = now()
        template.timeout = queue._default_timeout
        fields = template.to_dict()
        assert all(name in fields for name in _DYNAMIC), "RQ's job hash changed"
        static = "".join(f", {_lua_string(k)}, {_lua_string(v)}" for k, v in fields.items() if k not in _DYNAMIC)
        self.script = queue.connection.register_script(_SCRIPT.format(static=static))
        self.serializer = template.serializer
        self.func = func
        self.prefix = template.redis_job_namespace_prefix
        self.keys = (queue.key, queue.redis_queues_keys)

    def __call__(self, args: tuple, job_id: str, client) -> None:
        data = zlib.compress(self.serializer.dumps((self.func, None, args, {})))  # Job.data
        description = get_call_string(self.func, args, {}, max_length=75)  # Job.get_call_string
        self.script(keys=(self.prefix + job_id, *self.keys), args=(job_id, data, description, utcformat(now())),
                    client=client)


_writers: "WeakKeyDictionary[object, dict]" = WeakKeyDictionary()  # per Redis client


def enqueue_calls(queue: Queue, calls: Iterable[tuple[str, tuple, str]]) -> None:
    """Enqueue ``(function name, args, job id)`` jobs exactly as RQ's
    ``Queue.enqueue_call`` stores them, for the hot paths (intake, outbox).

    Jobs without dependencies, retries, TTLs, meta or callbacks only: those
    need ``queue.enqueue_call``. Several calls go in one pipeline (one round
    trip). Raises RedisError when Redis is down."""
    connection = queue.connection
    writers = _writers.setdefault(connection, {})
    calls = list(calls)
    target = connection.pipeline() if len(calls) > 1 else connection
    for func, args, job_id in calls:
        writer = writers.get((queue.name, func))
        if writer is None:
            writer = writers[(queue.name, func)] = _JobWriter(queue, func)
        writer(tuple(args), job_id, target)
    if target is not connection:
        target.execute()


def worker_connection(app: Flask):
    """The worker blocks on Redis for new jobs, so no short socket timeout there."""
    return connect(app.config["REDIS_URL"], socket_timeout=None)


def queue_for(app: Flask | None = None, name: str = "default") -> Queue:
    app = app or current_app
    return Queue(name, connection=worker_connection(app), job_class=AppJob)
