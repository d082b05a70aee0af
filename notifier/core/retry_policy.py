"""When to try a failed notification again, and when to give up (pure).

Exponential backoff from ``base`` seconds, doubling up to ``cap``, with
upward-only jitter (so the lower bounds still add up to the promise) spread
over ``ROUND`` attempts. With the defaults (30 s, cap 30 min) the minimum
delays are 30+60+120+240+480+960+1800 s = 61.5 min: a notification is
retried for more than an hour before it is marked failed. Telegram's 429
``retry_after`` is a floor, never shortened.

Attempts are counted in rounds of ``ROUND``: «Повторить» keeps the attempt
count (the log shows every try) and still gets a full round of retries.
"""
from __future__ import annotations

import math
import random

BASE = 30.0
CAP = 30 * 60.0
ROUND = 8          # 1 try + 7 retries
JITTER = 0.5       # delay * [1, 1 + JITTER)


def failures_in_round(attempts: int) -> int:
    """1..ROUND: which failure of the current round ``attempts`` (>= 1, this one included) is."""
    return (attempts - 1) % ROUND + 1


def gives_up(attempts: int) -> bool:
    """True when the attempt just made was the last one of its round."""
    return failures_in_round(attempts) >= ROUND


def delay(attempts: int, retry_after: float | None = None, base: float = BASE,
          cap: float = CAP, rand: random.Random | None = None) -> int:
    """Whole seconds to wait after the failed attempt number ``attempts``."""
    n = failures_in_round(attempts)
    wait = min(base * 2 ** (n - 1), cap)
    wait *= 1 + (rand or random).random() * JITTER
    if retry_after is not None:
        wait = max(wait, float(retry_after))
    return max(1, math.ceil(wait))
