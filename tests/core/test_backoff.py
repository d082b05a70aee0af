"""Growing waits after failed password tries."""
import pytest

from notifier.core.backoff import Backoff

LOGIN = Backoff(free=5, first_wait=60, max_wait=900)


@pytest.mark.parametrize("failures, wait", [
    (0, 0), (1, 0), (4, 0),  # a person mistyping
    (5, 60), (6, 120), (7, 240), (8, 480),  # doubling
    (9, 900), (10, 900), (1000, 900), (10**9, 900),  # capped, even for huge counts
])
def test_wait_after(failures, wait):
    assert LOGIN.wait_after(failures) == wait


@pytest.mark.parametrize("failures, last, now, retry", [
    (4, 1000.0, 1000.0, 0),  # still free
    (5, 1000.0, 1000.0, 60),  # just locked
    (5, 1000.0, 1030.0, 30),
    (5, 1000.0, 1060.0, 0),  # waited it out
    (5, 1000.0, 5000.0, 0),
    (6, 1000.0, 1001.0, 119),
    (0, 0.0, 1000.0, 0),  # never failed
])
def test_retry_after(failures, last, now, retry):
    assert LOGIN.retry_after(failures, last, now) == retry


def test_one_free_failure():
    strict = Backoff(free=1, first_wait=1, max_wait=8)
    assert [strict.wait_after(n) for n in range(7)] == [0, 1, 2, 4, 8, 8, 8]
