"""The header's status line: worker, mail, Telegram, the PBX's last event, in
words (colour only repeats them), each linking to Settings."""
from __future__ import annotations

import re

from rq.utils import now, utcformat

from notifier.channels import checks
from notifier.extensions import db
from notifier.runtime.redis_conn import get_redis

from . import factories


def _glance(html: str) -> str:
    match = re.search(r'<nav class="status-glance" aria-label="Состояние системы">(.*?)</nav>', html, re.S)
    assert match, "no status line"
    return re.sub(r"\s+", " ", match.group(1))


def _item(glance: str, name: str) -> str:
    match = re.search(r'<li><a href="([^"]+)"[^>]*>\s*<span class="status-name">' + name +
                      r':</span>\s*<span class="badge ([a-z]*)">([^<]+)</span>', glance)
    assert match, f"{name} not in {glance}"
    return match.groups()


def test_fresh_install_says_what_is_missing(auth_client):
    glance = _glance(auth_client.get("/").get_data(as_text=True))
    assert _item(glance, "Обработчик") == ("/settings/", "bad", "не запущен")
    assert _item(glance, "Почта") == ("/settings/#mail", "warn", "не настроено")
    assert _item(glance, "Telegram") == ("/settings/#telegram", "", "не настроено")
    assert _item(glance, "АТС") == ("/settings/#pbx", "warn", "событий ещё не было")
    assert "запустите worker.py" in glance  # what to do, for screen readers too


def test_working_setup(app, auth_client, smtp_server):
    r = get_redis()
    r.sadd("rq:workers", "rq:worker:w1")
    r.hset("rq:worker:w1", "last_heartbeat", utcformat(now()))  # as RQ writes it
    factories.configure_mail(smtp_server)
    checks.record(checks.MAIL)  # a send succeeded
    factories.event(factories.missed_call())
    db.session.commit()
    glance = _glance(auth_client.get("/log/").get_data(as_text=True))
    assert _item(glance, "Обработчик")[1:] == ("ok", "работает")
    assert _item(glance, "Почта")[1:] == ("ok", "работает")
    assert _item(glance, "АТС")[2].startswith("последнее событие ")


def test_a_mail_error_is_named(app, auth_client, smtp_server):
    factories.configure_mail(smtp_server)
    checks.record(checks.MAIL, "535 <bad> credentials")
    db.session.commit()
    glance = _glance(auth_client.get("/settings/").get_data(as_text=True))
    assert _item(glance, "Почта")[1:] == ("bad", "последняя ошибка")
    assert "535 &lt;bad&gt; credentials" in glance  # escaped


def test_not_on_the_login_page(client):
    assert "status-glance" not in client.get("/login").get_data(as_text=True)
