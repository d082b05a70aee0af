"""Shared fixtures: a fresh app and database per test, a real Redis, the
in-process SMTP server and local Telegram Bot API server, a real worker, and a
real browser.

Environment: DATABASE_URL / REDIS_URL point the suite at PostgreSQL and a
Redis server (CI does both runs); without them it uses SQLite and the
embedded Redis.
"""
from __future__ import annotations

import contextvars
import os
import shutil
import threading
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import text

from notifier import create_app
from notifier.channels import mailer
from notifier.config import database_url
from notifier.extensions import db
from notifier.runtime.embedded_redis import EmbeddedRedis

pytest_plugins = ["tests.fakes.fixtures"]

ROOT = Path(__file__).resolve().parent.parent
API_TOKEN = "test-api-token-0123456789"
WEBHOOK_SECRET = "whsec_dGVzdC13ZWJob29rLXNlY3JldC0wMTIzNDU2Nzg5"
ADMIN_EMAIL = "admin@example.com"
ADMIN_PASSWORD = "correct horse battery"
ARTIFACTS = ROOT / "test-output"


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory):
    url = os.environ.get("REDIS_URL")
    if url:
        yield url
        return
    server = EmbeddedRedis(str(tmp_path_factory.mktemp("redis")), persist=False).start()
    yield server.url
    server.stop()


@pytest.fixture(scope="session")
def database_uri(tmp_path_factory):
    """Migrated once per session; each test then starts from empty tables."""
    raw = os.environ.get("DATABASE_URL")
    uri = database_url(raw, str(tmp_path_factory.mktemp("db"))) if raw else (
        "sqlite:///" + str(tmp_path_factory.mktemp("db") / "test.db"))
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": uri,
                      "INSTANCE_PATH": str(tmp_path_factory.mktemp("instance"))})
    from flask_migrate import upgrade

    with app.app_context():
        if uri.startswith("postgresql"):
            # A clean schema even if an earlier run died half-way.
            db.session.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
            db.session.commit()
        upgrade()
        db.engine.dispose()
    return uri


@pytest.fixture
def app(database_uri, redis_url, tmp_path):
    app = create_app({
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": database_uri,
        "REDIS_URL": redis_url,
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "SECRET_KEY": "test-secret-key",
        "API_TOKEN": API_TOKEN,
        "WEBHOOK_SECRET": WEBHOOK_SECRET,
        "WEBHOOK_SECRET_FROM_ENV": True,
        "SERVER_NAME": None,
    })
    from notifier.pipeline.queueing import AppJob
    from notifier.runtime.redis_conn import get_redis

    AppJob.app = app
    app.test_client_class = IsolatedClient
    with app.app_context():  # the test body runs in it; requests get their own
        get_redis().flushdb()
        yield app
        db.session.remove()
        mailer.pool(app).close()  # the SMTP sessions kept for notifications (issue 15)
        for table in reversed(db.metadata.sorted_tables):
            db.session.execute(table.delete())
        db.session.commit()
        try:
            get_redis().flushdb()
        except Exception:
            pass  # a fault test may have stopped Redis
        db.engine.dispose()
    AppJob.app = None


class IsolatedClient(FlaskClient):
    """A test client whose every request runs in its own app context, as in
    production, although the test body holds the app fixture's context (Flask
    would otherwise reuse that one: one ``g``, one session for test and request).
    Afterwards the test's session forgets what it had loaded, so it reads what
    the request wrote."""

    def open(self, *args, **kwargs):
        response = contextvars.Context().run(super().open, *args, **kwargs)
        db.session.expire_all()
        return response


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def admin(app):
    from notifier.web.auth import create_or_reset_admin

    user = create_or_reset_admin(ADMIN_EMAIL, ADMIN_PASSWORD)
    return user.id


@pytest.fixture
def auth_client(app, admin):
    """A test client logged in as the admin (through the real login form)."""
    client = app.test_client()
    resp = client.post("/login", data={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD,
                                       "csrf_token": csrf_token_of(client, "/login")})
    assert resp.status_code == 302, resp.get_data(as_text=True)
    client.csrf_token = csrf_token_of(client, "/")  # login renews the session, and with it the token
    return client


def csrf_token_of(client, path: str) -> str:
    """The CSRF token a page renders (form field or the htmx header on <body>)."""
    import re

    html = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or re.search(
        r'"X-CSRFToken": "([^"]+)"', html)
    assert match, "no CSRF token on the login page"
    return match.group(1)


@pytest.fixture
def api_headers():
    return {"Authorization": f"Bearer {API_TOKEN}"}


@pytest.fixture
def run_worker(app):
    """Run the shipped worker in burst mode until the queues are empty."""
    from notifier.pipeline.worker import make_worker

    def run(max_rounds: int = 5):
        for _ in range(max_rounds):
            worker = make_worker(app)
            if not worker.work(burst=True, with_scheduler=False, logging_level="WARNING"):
                break

    return run


# --- Browser (Playwright driving Debian's Chromium) -------------------------

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="session")
def browser():
    if not shutil.which(CHROMIUM) and not os.path.exists(CHROMIUM):
        pytest.skip(f"browser tests need Chromium at {CHROMIUM} (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def live_server(app):
    """The test app served over HTTP on a free local port, in a thread."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.url = f"http://127.0.0.1:{server.server_port}"
    yield server
    server.shutdown()
    thread.join(5)


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server.url, locale="ru-RU", viewport={"width": 1280, "height": 860})
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def admin_page(page, admin):
    """A browser page logged in as the admin."""
    page.goto("/login")
    page.get_by_label("Email").fill(ADMIN_EMAIL)
    page.get_by_label("Пароль").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Войти").click()
    page.wait_for_url("**/")
    return page


@pytest.fixture
def screenshot(page):
    """Save a screenshot into test-output/ for a person to look at."""
    ARTIFACTS.mkdir(exist_ok=True)

    def shot(name: str):
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return shot
