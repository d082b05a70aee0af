"""Diagnostic only: the shipped worker (notifier.rqworker, same app, threads and
settings) with RQ's SimpleWorker execution, i.e. no fork per job.

Why: the benchmark's profile shows the shipped worker spending most of each
job in RQ's fork/wait of a work horse; running this beside it in the same run
says how much of the worker throughput that costs. Not shipped, not used by
the app: ``python -m bench.nofork_worker`` is started by bench/measure.py only.
"""
from __future__ import annotations

import sys

from rq import SimpleWorker

from notifier import rqworker


class NoForkWorker(SimpleWorker, rqworker.NotifierWorker):
    """SimpleWorker.execute_job (in process) before the shipped class's methods."""


if __name__ == "__main__":
    rqworker.NotifierWorker = NoForkWorker  # make_worker() builds this class
    rqworker.main(burst="--burst" in sys.argv[1:])
