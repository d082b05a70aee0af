"""gunicorn settings, read by ``gunicorn app:app`` from the working directory
(the contract's web command, the Procfile) and passed by the launcher (``make run``).

The worker is gunicorn's gthread worker with client timeouts
(notifier/runtime/serving.py): slow or stalled clients cannot starve the app.
Command-line flags and GUNICORN_CMD_ARGS still override anything here.
"""
import os

worker_class = "notifier.runtime.serving.Worker"
# Per process. A stalled client holds one for notifier.runtime.serving.CLIENT_TIMEOUT at
# most, and only while it is inside a request: idle connections hold none.
threads = 32
# WEB_CONCURRENCY processes, 1 unless set (the launcher's and the Procfile's count):
# one process of 32 threads takes the intake a small office's PBXes send (626
# signed events/s measured alone on 2 cores, 816/s with 2 processes) for 28 MB
# less (issue 17). Set it to the number of cores for a busy UI or API.
workers = int(os.environ.get("WEB_CONCURRENCY") or 1)
graceful_timeout = 10
# The app is built once in the master and its workers are forked from it, so they
# share its pages (issue 17: 2 workers idle in 79 MB instead of 157). Under the
# launcher (`make run`) the master is itself forked from a process that built it.
preload_app = True
# HOST/PORT as the launcher reads them; without HOST, gunicorn's own default
# (127.0.0.1:8000, or 0.0.0.0:$PORT when PORT is set) stays.
if os.environ.get("HOST"):
    bind = [f"{os.environ['HOST']}:{os.environ.get('PORT') or 8000}"]


def when_ready(server):
    """Before the first worker is forked: keep the collector off the preloaded objects,
    or it would write to (and so copy) the pages the workers share."""
    import gc

    gc.collect()
    gc.freeze()


def post_fork(server, worker):
    """A forked worker opens its own database connections, never the master's."""
    from notifier.extensions import db

    app = server.app.wsgi()
    with app.app_context():
        db.engine.dispose(close=False)
