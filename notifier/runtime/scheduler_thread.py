"""RQ's scheduler in a thread of the worker, not in a process forked for it.

RQ forks a process per worker for its scheduler, which only moves due jobs
(retries waiting out their interval) to their queue once a second: a whole
process (about 40 MB, issue 17) for a loop that mostly sleeps. This one runs the
same loop (RQ's own ``run``, so the same log lines) in a daemon thread, with its
own Redis connection; the worker's maintenance restarts it if it died, as it
would the process, and takes over the lock of a scheduler that vanished.
"""
from __future__ import annotations

import threading

from rq.scheduler import RQScheduler, run


class ThreadScheduler(RQScheduler):
    def start(self):
        self._status = self.Status.STARTED
        self._stop_requested = False
        self._connection = None  # a connection of its own, not shared with the worker's loop
        thread = threading.Thread(target=run, args=(self,), name="rq-scheduler", daemon=True)
        # RQ's Worker.stop_scheduler signals and joins a scheduler process with a pid;
        # without one it leaves this thread to stop_thread().
        thread.pid = None
        self._process = thread
        thread.start()
        return thread

    def _install_signal_handlers(self):
        pass  # signals belong to the worker's main thread; stop_thread() ends this loop

    def stop_thread(self, timeout: float = 5.0) -> None:
        """Ends the loop; it then releases its locks (another worker's scheduler takes over)."""
        self.request_stop()
        if self._process is not None:
            self._process.join(timeout)


def start_scheduler(worker) -> ThreadScheduler:
    """The worker's scheduler (``worker.work(with_scheduler=False)``): started now if it
    gets the lock, else later by the worker's maintenance once the lock is free."""
    scheduler = ThreadScheduler(worker.queues, connection=worker.connection, logging_level="INFO",
                                serializer=worker.serializer)
    worker.scheduler = scheduler
    scheduler.acquire_locks(auto_start=True)
    return scheduler
