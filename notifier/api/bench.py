"""The benchmark's baseline endpoint: ``POST /api/v1/bench/bare`` answers 202
with an empty JSON body and does nothing else.

Why: ``make bench`` compares the webhook intake with the cheapest request the
same app, the same gunicorn and the same machine can answer, measured in the
same run. Registered only when the environment has ``BENCH_BARE_ENDPOINT=1``
(see ``init_app`` in notifier/api/__init__.py), never in normal operation.
"""
from __future__ import annotations

from notifier.api import bp, token_exempt


@bp.post("/bench/bare")
@token_exempt
def bench_bare():
    return {}, 202
