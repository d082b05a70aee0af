"""Job functions used by the worker-plumbing tests (importable by work horses)."""
import os

from flask import current_app

from notifier.extensions import db
from notifier.models import Setting


def record_context(key: str) -> int:
    """Proves the job ran in a forked horse with an app context and a database."""
    db.session.merge(Setting(key=key, value={"pid": os.getpid(), "testing": current_app.testing}))
    db.session.commit()
    return os.getpid()
