"""Retry policy (pure): backoff with jitter for more than an hour, retry_after as a floor."""
import random

import pytest

from notifier.core import retry_policy as rp
from notifier.extensions import db
from notifier.pipeline import delivery as dl

from .factories import configure_mail, missed_call
from .factories import deliveries as add_deliveries
from .notify_setup import delivery, linked_employee


class Low(random.Random):
    def random(self):
        return 0.0


class High(random.Random):
    def random(self):
        return 0.999999


@pytest.mark.parametrize("attempts, low, high", [
    (1, 30, 45), (2, 60, 90), (3, 120, 180), (4, 240, 360), (5, 480, 720), (6, 960, 1440),
    (7, 1800, 2700), (9, 30, 45),  # a new round after «Повторить»
])
def test_backoff_doubles_with_upward_jitter(attempts, low, high):
    assert rp.delay(attempts, rand=Low()) == low
    assert rp.delay(attempts, rand=High()) == high


@pytest.mark.parametrize("attempts, gives_up", [(1, False), (7, False), (8, True), (9, False), (16, True)])
def test_gives_up_after_a_round(attempts, gives_up):
    assert rp.gives_up(attempts) is gives_up


def test_retries_last_more_than_an_hour_even_with_the_least_jitter():
    total = sum(rp.delay(n, rand=Low()) for n in range(1, rp.ROUND))
    assert total >= 3600


@pytest.mark.parametrize("retry_after, expected", [(None, 30), (5, 30), (120, 120), (0.5, 30)])
def test_retry_after_is_a_floor(retry_after, expected):
    assert rp.delay(1, retry_after, rand=Low()) == expected


def test_last_attempt_of_a_round_fails_the_delivery(app, smtp_server):
    configure_mail(smtp_server)
    smtp_server.fail_next(451)
    [email_id] = add_deliveries(missed_call(), linked_employee().id, channels=("email",))
    delivery(email_id).attempts = rp.ROUND - 1
    db.session.commit()
    assert dl.deliver(email_id) is None
    row = delivery(email_id)
    assert (row.status, row.attempts, row.next_attempt_at) == ("failed", rp.ROUND, None)
    assert "451" in row.last_error and "повторы прекращены" in row.last_error
