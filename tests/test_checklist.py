"""«С чего начать» on the empty rules page: each step ticked from real state,
each open step linking to where to do it."""
from __future__ import annotations

import re

from notifier.channels import checks
from notifier.extensions import db

from . import factories


def _steps(html: str) -> list[tuple[str, str]]:
    """(badge text, link or "") per step, in order."""
    section = re.search(r'<section class="card checklist".*?</section>', html, re.S)
    assert section, "no checklist"
    out = []
    for li in re.findall(r"<li class=\"(?:done|todo)\">(.*?)</li>", section.group(0), re.S):
        badge = re.search(r'<span class="badge [a-z]+">([^<]+)</span>', li).group(1)
        link = re.search(r'<a href="([^"]+)"', li)
        out.append((badge, link.group(1) if link else ""))
    return out


def test_fresh_install_links_every_step(auth_client):
    html = auth_client.get("/").get_data(as_text=True)
    assert "С чего начать" in html
    assert _steps(html) == [("Не сделано", "/subscribers/new"), ("Не сделано", "/rules/new"),
                            ("Не сделано", "/settings/#mail"), ("Не сделано", "/settings/#pbx")]
    for _, href in _steps(html):  # every link leads somewhere real
        assert auth_client.get(href.split("#")[0]).status_code == 200, href


def test_steps_tick_from_real_state(app, auth_client, smtp_server):
    factories.subscriber("102", "Иванов Иван")
    factories.configure_mail(smtp_server)
    db.session.commit()
    html = auth_client.get("/").get_data(as_text=True)
    assert [b for b, _ in _steps(html)] == ["Сделано", "Не сделано", "Не сделано", "Не сделано"]
    assert "почта: настроено, но ещё не проверено" in html
    # the settings page's «Отправить тест», as an admin would press it
    assert checks.send_test_email("admin@example.com") is None
    smtp_server.wait_for(1)
    factories.event(factories.missed_call())
    html = auth_client.get("/").get_data(as_text=True)
    assert [b for b, _ in _steps(html)] == ["Сделано", "Не сделано", "Сделано", "Сделано"]
    assert "событий получено: 1" in html


def test_gone_once_a_rule_exists(app, auth_client):
    sub = factories.subscriber("102", "Иванов Иван")
    db.session.commit()
    factories.rule(sub.id)
    db.session.commit()
    assert "С чего начать" not in auth_client.get("/").get_data(as_text=True)
