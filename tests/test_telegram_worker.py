"""``python worker.py`` receives the bot's updates by long polling (a thread
beside RQ's loop) and stops cleanly on SIGTERM."""
import os
import signal
import subprocess
import sys

from notifier.services import settings
from notifier.telegram import link
from notifier.extensions import db
from notifier.models import Subscriber

from .conftest import ROOT


def test_worker_process_links_an_employee(app, fake_telegram, redis_url, tmp_path):
    app.config.update(TELEGRAM_BOT_TOKEN=fake_telegram.token, TELEGRAM_API_URL=fake_telegram.url)
    sub = Subscriber(number="102", number_key="102", name="Иванов Иван")
    db.session.add(sub)
    url, _ = link.new_link(sub)
    db.session.commit()
    sid = sub.id
    env = {**os.environ, "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "REDIS_URL": redis_url,
           "INSTANCE_PATH": str(tmp_path / "worker-instance"), "TELEGRAM_BOT_TOKEN": fake_telegram.token,
           "TELEGRAM_API_URL": fake_telegram.url}
    log = open(tmp_path / "worker.log", "w+")
    worker = subprocess.Popen([sys.executable, "worker.py"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        fake_telegram.push_update("/start " + url.split("=", 1)[1], 777)
        [answer] = fake_telegram.wait_for(1, timeout=30)
        assert "Иванов Иван" in answer["text"] and answer["chat_id"] == 777
    finally:
        worker.send_signal(signal.SIGTERM)
        code = worker.wait(30)
        log.seek(0)
        output = log.read()
    assert code == 0, output
    db.session.expire_all()  # the worker process wrote it
    assert db.session.get(Subscriber, sid).telegram_chat_id == 777
    assert isinstance(settings.get("telegram_offset")["next"], int)
