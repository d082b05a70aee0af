"""Growing waits after failed tries (login, current-password checks).

Pure: the caller keeps the count of failures and the time of the last one, and
passes the time now. A few failures are free; after that each failure doubles
the wait before the next try, up to a cap. A person who mistypes waits a minute
at worst; a guesser is slowed to one try per ``max_wait``.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Backoff:
    free: int  # failures allowed without any wait (at least 1)
    first_wait: float  # seconds, after failure number ``free``
    max_wait: float  # seconds, the longest wait

    def wait_after(self, failures: int) -> float:
        """Seconds to wait after the last of ``failures`` failures before the next try."""
        if failures < self.free:
            return 0.0
        doublings = failures - self.free
        if doublings >= 64:  # 2**64 minutes exceeds any cap
            return float(self.max_wait)
        return float(min(self.max_wait, self.first_wait * 2 ** doublings))

    def retry_after(self, failures: int, last_failure: float, now: float) -> float:
        """Seconds from ``now`` until the next try is allowed (0: allowed now)."""
        return max(0.0, last_failure + self.wait_after(failures) - now)
