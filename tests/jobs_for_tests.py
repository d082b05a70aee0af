"""Job functions used by the worker-plumbing tests (importable by name, as RQ finds them)."""
import os

from flask import current_app

from notifier.extensions import db
from notifier.models import Setting


def record_context(key: str) -> int:
    """Proves the job ran with an app context and a database, and where."""
    db.session.merge(Setting(key=key, value={"pid": os.getpid(), "testing": current_app.testing}))
    db.session.commit()
    return os.getpid()


def outlive_heartbeats(key: str, seconds: float) -> None:
    """Runs longer than the heartbeat TTL; records the job's started-registry
    expiry at its start and at its end."""
    import time

    from rq import get_current_job

    job = get_current_job()
    registry = job.started_job_registry

    def expiry():
        entries = registry.connection.zrange(registry.key, 0, -1, withscores=True)
        return [score for member, score in entries if member.decode().startswith(job.id + ":")]

    first = expiry()
    time.sleep(seconds)
    db.session.merge(Setting(key=key, value={"first": first, "last": expiry()}))
    db.session.commit()
