"""The baseline job: what RQ and the shipped worker cost with no work at all.

``python worker.py`` runs from the repository root, so it can import this
module; the job notes its key and finish time in a Redis list.
"""
from __future__ import annotations

import time

from rq import get_current_job

DONE_KEY = "bench:noop:done"


def noop(key: str) -> None:
    get_current_job().connection.rpush(DONE_KEY, f"{key} {time.time():.6f}")
