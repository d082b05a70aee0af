"""The RQ worker as shipped: app and job modules imported once at start, an
app context per job, the scheduler on (retries with intervals), and fast
recovery of jobs abandoned by a killed worker.

Jobs run in the worker process itself, not in a work horse forked per job:
our jobs take a few milliseconds, and fork + wait cost several times that
(measured: 34 jobs/s forking, 271 jobs/s without). Up to ``WORKER_THREADS``
jobs run at once, each in a thread of its own: a job mostly waits on the
network (SMTP, the Bot API), so one process overlaps many of those waits
instead of sending one thing at a time (issue 15). RQ's main loop still
dequeues one job at a time, and only when a thread is free, so a job is never
taken from the queue before it can start. A heartbeat thread keeps each
running job's registry entry fresh, so the heartbeat TTL stays short whatever
the job's timeout, and a killed worker's jobs are re-queued within about 30 s.
"""
from __future__ import annotations

import importlib
import logging
import os
import threading
from concurrent.futures import ThreadPoolExecutor

from flask import Flask
from rq import SimpleWorker
from rq.exceptions import StopRequested
from rq.timeouts import TimerDeathPenalty
from rq.utils import now as utcnow
from rq.worker import WorkerStatus

from notifier.extensions import db
from notifier.pipeline.queueing import QUEUE_NAMES, AppJob, worker_connection

# Everything a job needs is imported once, at start (jobs run in this process).
JOB_MODULES = ("notifier.pipeline.processing", "notifier.pipeline.delivery", "notifier.pipeline.digest",
               "notifier.services.telegram_threads")

# RQ keeps a job "started" for its heartbeat TTL after its worker vanished
# (monitoring interval + 60 s by default) and cleans registries every 10 min.
# These make an abandoned job go back to the queue within about 30 s.
JOB_MONITORING_INTERVAL = 5
HEARTBEAT_GRACE = 10
MAINTENANCE_INTERVAL = 15
HEARTBEAT_EVERY = 1.0  # seconds between the worker's own heartbeats (its key lives worker_ttl)


class NotifierWorker(SimpleWorker):
    """Runs up to ``threads`` jobs at once in this process; a thread beats for each.

    With ``threads=1`` (or a burst run) jobs run one after the other in the
    main thread, as RQ's SimpleWorker does."""

    # SIGALRM, RQ's default job timeout, works in the main thread only; a
    # timer raises the timeout in whichever thread runs the job.
    death_penalty_class = TimerDeathPenalty

    def __init__(self, *args, threads: int = 1, **kwargs):
        super().__init__(*args, **kwargs)
        self.threads = max(1, threads)
        self._free = threading.BoundedSemaphore(self.threads)
        self._running = 0
        self._count_lock = threading.Lock()
        self._waiting = False  # the main loop waits for a free thread or the next job
        self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="job") if self.threads > 1 else None

    @property
    def dequeue_timeout(self) -> int:
        """An idle worker waits for jobs at most this long between maintenance passes.

        RQ runs maintenance (abandoned jobs, taking over the scheduler of a dead
        worker) only between two waits, and waits up to worker_ttl - 15 = 405 s:
        after a crash on a quiet queue, the abandoned job stayed "started" (so no
        sweep re-queued it) for minutes. `make bench` found it (issue 7)."""
        return MAINTENANCE_INTERVAL

    def get_heartbeat_ttl(self, job, working_time: float = 0.0) -> int:
        return self.job_monitoring_interval + HEARTBEAT_GRACE

    def heartbeat(self, timeout=None, pipeline=None):
        """RQ beats before and after every dequeue and after every job: three
        round trips each time, for a key that lives ``worker_ttl`` (7 minutes).
        A beat on its own is sent at most once a second; those within a
        pipeline, and those that set another timeout, always."""
        last = self.last_heartbeat
        if (pipeline is None and timeout is None and last is not None
                and (utcnow() - last).total_seconds() < HEARTBEAT_EVERY):
            return
        super().heartbeat(timeout, pipeline)

    def set_state(self, state, pipeline=None):
        """Jobs run side by side: the worker is idle only when none runs."""
        if pipeline is None and state == WorkerStatus.IDLE and self._busy():
            return
        super().set_state(state, pipeline)

    def _count(self, step: int) -> None:
        with self._count_lock:
            self._running += step

    def _busy(self) -> bool:
        with self._count_lock:
            return self._running > 0

    def dequeue_job_and_maintain_ttl(self, timeout, max_idle_time=None):
        """Take a job from the queue only once a thread is free to run it: a job
        taken and then left waiting would be neither queued nor started, and
        after a crash nothing would see it for a minute (`make bench`, issue 15)."""
        self._waiting = True
        try:
            while not self._free.acquire(timeout=1):
                self.heartbeat()  # all threads busy: still alive
                if self._stop_requested:
                    return None
            try:
                result = super().dequeue_job_and_maintain_ttl(timeout, max_idle_time)
            except BaseException:
                self._free.release()
                raise
        finally:
            self._waiting = False
        if result is None:
            self._free.release()
        return result

    def _shutdown(self):
        """TERM or INT. RQ stops waiting for the next job at once when the worker
        is idle, and lets a busy one finish its job first; here the main loop may
        wait for the next job while jobs run in threads: it stops waiting at once
        too, and the running jobs finish in ``teardown``."""
        if self._waiting:
            raise StopRequested()
        super()._shutdown()

    def execute_job(self, job, queue):
        # The thread was reserved by dequeue_job_and_maintain_ttl.
        self._count(+1)
        try:
            execution = self.prepare_execution(job)
            if self._pool is None:
                self._run(job, queue, execution)
            else:
                self._pool.submit(self._run, job, queue, execution)
        except BaseException:
            self._count(-1)
            self._free.release()
            raise

    def _run(self, job, queue, execution) -> None:
        done = threading.Event()
        beat = threading.Thread(target=self._beat, args=(job, execution, done), name="rq-heartbeat", daemon=True)
        beat.start()
        try:
            self.perform_job(job, queue, execution)
        except BaseException:  # perform_job records failures itself; this is RQ's own bookkeeping failing
            self.log.exception("job %s: the worker could not finish it", job.id)
        finally:
            done.set()
            beat.join()
            self._count(-1)
            self._free.release()

    def teardown(self):
        """Warm shutdown: the jobs already running finish (their sends are under way)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
        super().teardown()

    def _beat(self, job, execution, done: threading.Event) -> None:
        # A beat racing the job's end may leave a registry entry behind; RQ's
        # cleanup ignores entries of jobs no longer "started".
        while not done.wait(self.job_monitoring_interval):
            try:
                self.maintain_heartbeats(job, execution)
            except Exception:  # a missed beat only shortens the lease; never kill the job
                self.log.warning("heartbeat failed", exc_info=True)


def _dispose_pool_in_child() -> None:
    """Forked processes (RQ's scheduler) must not reuse the parent's database connections."""
    try:
        db.engine.dispose(close=False)
    except RuntimeError:
        pass  # no app context in this process: nothing to dispose


def make_worker(app: Flask, queues=QUEUE_NAMES, threads: int = 1) -> NotifierWorker:
    for module in JOB_MODULES:
        importlib.import_module(module)
    AppJob.app = app
    with app.app_context():
        db.engine.dispose()
    os.register_at_fork(after_in_child=lambda: _in_app(app, _dispose_pool_in_child))
    return NotifierWorker(
        list(queues),
        connection=worker_connection(app),
        job_class=AppJob,
        job_monitoring_interval=JOB_MONITORING_INTERVAL,
        maintenance_interval=MAINTENANCE_INTERVAL,
        threads=threads,
    )


def _in_app(app: Flask, fn) -> None:
    with app.app_context():
        fn()


def main(burst: bool = False, app: Flask | None = None) -> None:
    """``app``: one built already (the launcher's, whose pages its forked children share)."""
    from notifier import create_app
    from notifier.channels import mailer
    from notifier.pipeline import asterisk_listener, outbox
    from notifier.pipeline import digest as morning_digest
    from notifier.runtime.embedded_redis import EmbeddedRedis
    from notifier.runtime.scheduler_thread import start_scheduler
    from notifier.telegram import poller as telegram_poller

    embedded = None
    if app is None:
        if not os.environ.get("REDIS_URL"):
            probe = create_app()
            embedded = EmbeddedRedis(os.path.join(probe.instance_path, "redis")).start()
            os.environ["REDIS_URL"] = embedded.url
        app = create_app()
    worker = make_worker(app, threads=1 if burst else app.config.get("WORKER_THREADS", 1))
    logging.basicConfig(level=logging.INFO)
    # Telegram long polling and the outbox sweep run in threads beside RQ's loop
    # (the poller idles without a token; one sweeper at a time, by a Redis lock).
    # A burst run sweeps once first, so it also drains what intake could not queue.
    poller = None if burst else telegram_poller.start(app)
    # The morning digest: a minute loop, one worker at a time (issue 16).
    digest_loop = None if burst else morning_digest.start(app)
    # The AMI connection to Asterisk / FreePBX (idles until ASTERISK_AMI_URL is set).
    listener = None if burst else asterisk_listener.start(app)
    sweeper = outbox.Sweeper(app)
    if burst:
        sweeper.step()
    else:
        sweeper.start()
    # RQ's scheduler in a thread, not a forked process (issue 17); a burst run lets RQ
    # move the due jobs once, in this process.
    scheduler = None if burst else start_scheduler(worker)
    try:
        worker.work(burst=burst, with_scheduler=burst, logging_level="INFO")
    finally:
        mailer.pool(app).close()  # QUIT the SMTP sessions kept for the next notification
        if scheduler:
            scheduler.stop_thread()
        sweeper.stop()
        if poller:
            poller.stop()
        if digest_loop:
            digest_loop.stop()
        if listener:
            listener.stop()
        if embedded:
            embedded.stop()
