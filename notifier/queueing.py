"""RQ plumbing shared by web and worker: queues, and a job class that runs
each job inside an app context."""
from __future__ import annotations

from flask import Flask, current_app
from rq import Queue
from rq.job import Job

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
    """A queue on the web process's Redis client (short timeouts)."""
    return Queue(name, connection=get_redis(), job_class=AppJob)


def worker_connection(app: Flask):
    """The worker blocks on Redis for new jobs, so no short socket timeout there."""
    return connect(app.config["REDIS_URL"], socket_timeout=None)


def queue_for(app: Flask | None = None, name: str = "default") -> Queue:
    app = app or current_app
    return Queue(name, connection=worker_connection(app), job_class=AppJob)
