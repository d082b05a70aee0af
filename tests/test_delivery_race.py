"""Two workers on one delivery: the database lease lets exactly one send."""
import threading
import time

from notifier.pipeline import delivery as dl
from tests.fakes.telegram_server import FakeTelegram

from .factories import configure_telegram, missed_call
from .factories import deliveries as add_deliveries
from .notify_setup import delivery, linked_employee


def test_workers_racing_on_one_delivery_send_once(app, fake_telegram):
    configure_telegram(fake_telegram)
    [tg_id] = add_deliveries(missed_call(), linked_employee().id, channels=("telegram",))
    start = threading.Barrier(6)
    errors = []

    def worker():
        try:
            start.wait()
            with app.app_context():  # each worker thread its own, as in production
                dl.deliver(tg_id)
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    assert len(fake_telegram.requests) == 1 and len(fake_telegram.messages) == 1
    row = delivery(tg_id)
    assert (row.status, row.attempts) == ("sent", 1)


def test_second_worker_does_nothing_while_the_first_is_sending(app):
    with FakeTelegram(hang_max=1.5) as tg:
        configure_telegram(tg)
        [tg_id] = add_deliveries(missed_call(), linked_employee().id, channels=("telegram",))
        tg.fail_next("hang")
        first = threading.Thread(target=lambda: _deliver(app, tg_id))
        first.start()
        while not tg.requests:  # the first worker is now waiting for Telegram
            time.sleep(0.05)
        assert dl.deliver(tg_id) is None
        assert delivery(tg_id).locked_until is not None
        first.join(30)
        assert len(tg.requests) == 1
        row = delivery(tg_id)
        assert (row.status, row.attempts, row.locked_until) == ("retrying", 1, None)
        assert "504" in row.last_error


def _deliver(app, delivery_id):
    with app.app_context():  # the thread's own
        dl.deliver(delivery_id)
