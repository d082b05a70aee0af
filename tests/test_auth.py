"""Admin access: setup link, login, throttling, logout, password change."""
import re

import pytest
from sqlalchemy import select

from notifier.extensions import db
from notifier.models import User
from notifier.web.auth import new_setup_link

from .conftest import ADMIN_EMAIL, ADMIN_PASSWORD


def csrf(client, path):
    html = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', html).group(1)


def setup_path(app):
    return new_setup_link("http://x").removeprefix("http://x")


def test_without_admin_login_explains_setup(client):
    resp = client.get("/login")
    assert resp.status_code == 302 and resp.location.endswith("/welcome")
    assert "/setup/" in client.get("/welcome").get_data(as_text=True)


def test_setup_link_creates_first_admin_once(app, client):
    path = setup_path(app)
    token = csrf(client, path)
    resp = client.post(path, data={"email": "Boss@Example.com", "password": "long enough pw",
                                   "confirm": "long enough pw", "csrf_token": token})
    assert resp.status_code == 302
    assert client.get("/").status_code == 200  # logged in straight away
    user = db.session.scalar(select(User))
    assert user.email == "boss@example.com"
    assert user.password_hash.startswith("scrypt:")
    # one-time: the link no longer works
    assert client.get(path).status_code == 302
    assert new_setup_link("http://x") is None


def test_setup_link_errors(app, client):
    assert client.get("/setup/not-a-token").status_code == 404
    first = setup_path(app)
    second = setup_path(app)
    assert client.get(first).status_code == 404  # a new link invalidates the old
    token = csrf(client, second)
    resp = client.post(second, data={"email": "x", "password": "short", "confirm": "other", "csrf_token": token})
    assert resp.status_code == 422
    body = resp.get_data(as_text=True)
    assert "Неверный email" in body and "Пароль — от 10 символов" in body and "Пароли не совпадают" in body


def test_forms_need_csrf(app, client, admin):
    resp = client.post("/login", data={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    assert resp.status_code == 400
    assert "Обновите страницу" in resp.get_data(as_text=True)


def test_every_ui_page_requires_login(app, client, admin):
    public = {"auth.login", "auth.setup", "auth.no_admin", "static", "health", "favicon"}
    checked = 0
    for rule in app.url_map.iter_rules():
        if rule.endpoint in public or rule.endpoint.startswith("api.") or "GET" not in rule.methods:
            continue
        url = rule.rule
        for arg in rule.arguments:
            url = url.replace(f"<{arg}>", "1").replace(f"<int:{arg}>", "1")
        resp = client.get(url)
        assert resp.status_code == 302 and "/login" in resp.location, rule.rule
        checked += 1
    assert checked >= 6
    resp = client.get("/", headers={"HX-Request": "true"})
    assert resp.status_code == 401 and "/login" in resp.headers["HX-Redirect"]


def test_login_logout(client, admin):
    token = csrf(client, "/login")
    resp = client.post("/login?next=/contacts", data={"email": ADMIN_EMAIL.upper(), "password": ADMIN_PASSWORD,
                                                     "csrf_token": token})
    assert resp.status_code == 302 and resp.location.endswith("/contacts")
    assert client.get("/").status_code == 200
    assert client.get("/logout").status_code == 405  # logging out is a POST with CSRF
    resp = client.post("/logout", data={"csrf_token": token})
    assert resp.status_code == 400  # the session was renewed at login: the old token is void
    resp = client.post("/logout", data={"csrf_token": csrf(client, "/account/password")})
    assert resp.status_code == 302
    assert client.get("/").status_code == 302


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", "javascript:alert(1)"])
def test_login_never_redirects_off_site(client, admin, target):
    token = csrf(client, "/login")
    resp = client.post(f"/login?next={target}", data={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD,
                                                     "csrf_token": token})
    assert resp.location == "/"


def test_login_is_throttled(app, client, admin):
    token = csrf(client, "/login")
    for _ in range(app.config["LOGIN_FREE_ATTEMPTS"]):
        resp = client.post("/login", data={"email": ADMIN_EMAIL, "password": "wrong", "csrf_token": token})
        assert resp.status_code == 401
        assert "Неверный email или пароль" in resp.get_data(as_text=True)
    resp = client.post("/login", data={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD, "csrf_token": token})
    assert resp.status_code == 429
    assert "Слишком много неудачных попыток" in resp.get_data(as_text=True)


def test_password_change_logs_out_other_sessions(app, auth_client, admin):
    other = app.test_client()
    token = csrf(other, "/login")
    other.post("/login", data={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD, "csrf_token": token})
    assert other.get("/").status_code == 200

    token = csrf(auth_client, "/account/password")
    resp = auth_client.post("/account/password", data={"current": "nope", "password": "new password 1",
                                                       "confirm": "new password 1", "csrf_token": token})
    assert resp.status_code == 422 and "Неверный текущий пароль" in resp.get_data(as_text=True)
    resp = auth_client.post("/account/password", data={"current": ADMIN_PASSWORD, "password": "new password 1",
                                                       "confirm": "new password 1", "csrf_token": token})
    assert resp.status_code == 302
    assert auth_client.get("/").status_code == 200
    assert other.get("/").status_code == 302


def test_cli_create_admin(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["create-admin", "--email", "ops@example.com", "--password", "short"])
    assert result.exit_code != 0
    result = runner.invoke(args=["create-admin", "--email", "ops@example.com", "--password", "long enough pw"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(args=["setup-link"])
    assert "an admin exists already" in result.output


# --- the password rule refuses the commonest passwords (issue 12, item 10) ---

COMMON = "Этот пароль слишком распространён или легко угадывается"


def test_setup_refuses_a_common_password(app, client):
    path = setup_path(app)
    for weak in ("aaaaaaaaaa", "1234567890", "qwertyuiop"):
        resp = client.post(path, data={"email": "boss@example.com", "password": weak, "confirm": weak,
                                       "csrf_token": csrf(client, path)})
        assert resp.status_code == 422, weak
        assert COMMON in resp.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(User)) is None


def test_password_change_refuses_a_common_password(app, auth_client):
    token = csrf(auth_client, "/account/password")
    resp = auth_client.post("/account/password", data={"current": ADMIN_PASSWORD, "password": "password123",
                                                       "confirm": "password123", "csrf_token": token})
    assert resp.status_code == 422 and COMMON in resp.get_data(as_text=True)
    # the admin's own email is a guessable word too
    resp = auth_client.post("/account/password", data={"current": ADMIN_PASSWORD, "password": "admin@example.com1",
                                                       "confirm": "admin@example.com1", "csrf_token": token})
    assert resp.status_code == 422 and COMMON in resp.get_data(as_text=True)
    other = app.test_client()  # the password is unchanged
    resp = other.post("/login", data={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD,
                                      "csrf_token": csrf(other, "/login")})
    assert resp.status_code == 302


def test_cli_create_admin_refuses_a_common_password(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["create-admin", "--email", "ops@example.com", "--password", "aaaaaaaaaa"])
    assert result.exit_code != 0 and COMMON in result.output
    result = runner.invoke(args=["create-admin", "--email", "ops@example.com", "--password", "short"])
    assert result.exit_code != 0 and "Пароль — от 10 символов" in result.output
    with app.app_context():
        assert db.session.scalar(select(User)) is None


# --- login does the same work for known and unknown emails (issue 12, item 6) ---

def test_login_hashes_once_whether_or_not_the_email_exists(app, client, admin, monkeypatch):
    """Timing told which emails exist (~90 ms of scrypt for a known one, ~5 ms for
    an unknown one). Count the scrypt runs (the real ones: the spy only counts)."""
    import hashlib

    real_scrypt = hashlib.scrypt
    runs = []

    def counting_scrypt(*args, **kwargs):
        runs.append(1)
        return real_scrypt(*args, **kwargs)

    monkeypatch.setattr(hashlib, "scrypt", counting_scrypt)

    def scrypt_runs_for(email: str) -> int:
        token = csrf(client, "/login")
        runs.clear()
        resp = client.post("/login", data={"email": email, "password": "wrong password", "csrf_token": token})
        assert resp.status_code == 401
        assert "Неверный email или пароль" in resp.get_data(as_text=True)
        return len(runs)

    assert scrypt_runs_for(ADMIN_EMAIL) == 1
    assert scrypt_runs_for("nobody@example.com") == 1


# --- logout ends the session on the server (issue 12, item 5) ---

def replay(app, cookie: str):
    """A new browser that presents a copied session cookie."""
    thief = app.test_client()
    thief.set_cookie("session", cookie)
    return thief


def test_a_cookie_saved_before_logout_no_longer_opens_pages(app, auth_client):
    saved = auth_client.get_cookie("session").value
    assert replay(app, saved).get("/settings/").status_code == 200  # the copy works while logged in

    resp = auth_client.post("/logout", data={"csrf_token": csrf(auth_client, "/account/password")})
    assert resp.status_code == 302

    resp = replay(app, saved).get("/settings/")
    assert resp.status_code == 302 and "/login" in resp.location
    resp = replay(app, saved).get("/settings/", headers={"HX-Request": "true"})
    assert resp.status_code == 401 and "/login" in resp.headers["HX-Redirect"]


def test_a_cookie_saved_before_a_password_change_no_longer_opens_pages(app, auth_client):
    saved = auth_client.get_cookie("session").value
    token = csrf(auth_client, "/account/password")
    resp = auth_client.post("/account/password", data={"current": ADMIN_PASSWORD, "password": "new password 1",
                                                       "confirm": "new password 1", "csrf_token": token})
    assert resp.status_code == 302
    assert auth_client.get("/settings/").status_code == 200  # the browser that changed it stays in
    assert replay(app, saved).get("/settings/").status_code == 302


def test_create_admin_reset_ends_sessions(app, auth_client):
    saved = auth_client.get_cookie("session").value
    result = app.test_cli_runner().invoke(args=["create-admin", "--email", ADMIN_EMAIL,
                                                "--password", "another long secret"])
    assert result.exit_code == 0, result.output
    assert replay(app, saved).get("/settings/").status_code == 302
    assert auth_client.get("/settings/").status_code == 302


def test_logging_in_again_after_logout_works(app, auth_client):
    auth_client.post("/logout", data={"csrf_token": csrf(auth_client, "/account/password")})
    resp = auth_client.post("/login", data={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD,
                                            "csrf_token": csrf(auth_client, "/login")})
    assert resp.status_code == 302
    assert auth_client.get("/settings/").status_code == 200


# --- throttling that strangers cannot turn against the owner (issue 12, item 7) ---

TOO_MANY = "Слишком много неудачных попыток"


def try_login(client, email, password, addr="127.0.0.1", headers=None):
    token = csrf(client, "/login")
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token},
                       environ_base={"REMOTE_ADDR": addr}, headers=headers or {})


@pytest.fixture
def clock(monkeypatch):
    """Moves the wall clock forward (time.time, as every process would see it)."""
    import time

    real = time.time
    offset = [0.0]
    monkeypatch.setattr(time, "time", lambda: real() + offset[0])

    def advance(seconds):
        offset[0] += seconds

    return advance


def test_strangers_cannot_lock_the_owner_out(app, client, admin):
    for n in range(5):
        for _ in range(app.config["LOGIN_FREE_ATTEMPTS"] + 2):
            assert try_login(client, ADMIN_EMAIL, "wrong", addr=f"203.0.113.{n}").status_code in (401, 429)
        assert try_login(client, ADMIN_EMAIL, "wrong", addr=f"203.0.113.{n}").status_code == 429
    resp = try_login(client, ADMIN_EMAIL, ADMIN_PASSWORD, addr="198.51.100.7")
    assert resp.status_code == 302, resp.get_data(as_text=True)


def test_one_address_waits_longer_after_each_failure(app, client, admin, clock):
    addr = "203.0.113.9"
    for _ in range(app.config["LOGIN_FREE_ATTEMPTS"]):
        assert try_login(client, ADMIN_EMAIL, "wrong", addr=addr).status_code == 401
    resp = try_login(client, ADMIN_EMAIL, ADMIN_PASSWORD, addr=addr)  # even the right one waits
    assert resp.status_code == 429
    assert f"{TOO_MANY}. Повторите через 1 мин." in resp.get_data(as_text=True)

    clock(61)
    assert try_login(client, ADMIN_EMAIL, "wrong", addr=addr).status_code == 401
    clock(61)  # the second wait is two minutes
    resp = try_login(client, ADMIN_EMAIL, "wrong", addr=addr)
    assert resp.status_code == 429 and "Повторите через 1 мин." in resp.get_data(as_text=True)
    clock(60)
    assert try_login(client, ADMIN_EMAIL, "wrong", addr=addr).status_code == 401
    resp = try_login(client, ADMIN_EMAIL, "wrong", addr=addr)
    assert resp.status_code == 429 and "Повторите через 4 мин." in resp.get_data(as_text=True)

    clock(4 * 60 + 1)  # waiting it out always works, and the right password clears the count
    assert try_login(client, ADMIN_EMAIL, ADMIN_PASSWORD, addr=addr).status_code == 302
    other = app.test_client()
    for _ in range(app.config["LOGIN_FREE_ATTEMPTS"]):
        assert try_login(other, ADMIN_EMAIL, "wrong", addr=addr).status_code == 401


def test_an_address_guessing_many_accounts_is_slowed(app, client, admin):
    addr = "203.0.113.50"
    for n in range(app.config["LOGIN_ADDRESS_FREE_ATTEMPTS"]):
        assert try_login(client, f"user{n}@example.com", "wrong", addr=addr).status_code == 401
    assert try_login(client, "one-more@example.com", "wrong", addr=addr).status_code == 429
    assert try_login(client, ADMIN_EMAIL, ADMIN_PASSWORD, addr="198.51.100.7").status_code == 302


def test_forwarded_for_is_ignored_without_trusted_proxies(app, client, admin):
    """By default nobody can choose their address with X-Forwarded-For to dodge the count."""
    assert app.config["TRUSTED_PROXIES"] == 0
    for n in range(app.config["LOGIN_FREE_ATTEMPTS"]):
        resp = try_login(client, ADMIN_EMAIL, "wrong", headers={"X-Forwarded-For": f"192.0.2.{n}"})
        assert resp.status_code == 401
    resp = try_login(client, ADMIN_EMAIL, ADMIN_PASSWORD, headers={"X-Forwarded-For": "192.0.2.99"})
    assert resp.status_code == 429


@pytest.fixture
def app_behind_proxy(app, monkeypatch):
    """The same database and Redis, served behind one trusted reverse proxy."""
    from notifier import create_app

    monkeypatch.setenv("TRUSTED_PROXIES", "1")
    keys = ("TESTING", "SQLALCHEMY_DATABASE_URI", "REDIS_URL", "SECRET_KEY", "API_TOKEN",
            "WEBHOOK_SECRET", "WEBHOOK_SECRET_FROM_ENV", "SERVER_NAME")
    proxied = create_app({**{k: app.config[k] for k in keys}, "INSTANCE_PATH": app.instance_path})
    yield proxied
    with proxied.app_context():
        db.engine.dispose()


def test_behind_a_trusted_proxy_each_client_is_counted_apart(app_behind_proxy, admin):
    """Behind nginx every client had the proxy's address: one guesser locked everyone out."""
    app = app_behind_proxy
    client = app.test_client()
    proxy = "10.0.0.2"
    for _ in range(app.config["LOGIN_FREE_ATTEMPTS"]):
        resp = try_login(client, ADMIN_EMAIL, "wrong", addr=proxy, headers={"X-Forwarded-For": "192.0.2.66"})
        assert resp.status_code == 401
    resp = try_login(client, ADMIN_EMAIL, "wrong", addr=proxy, headers={"X-Forwarded-For": "192.0.2.66"})
    assert resp.status_code == 429
    # a spoofed first entry does not help: the proxy appends the real peer, the last entry counts
    resp = try_login(client, ADMIN_EMAIL, "wrong", addr=proxy, headers={"X-Forwarded-For": "1.2.3.4, 192.0.2.66"})
    assert resp.status_code == 429
    resp = try_login(client, ADMIN_EMAIL, ADMIN_PASSWORD, addr=proxy, headers={"X-Forwarded-For": "198.51.100.8"})
    assert resp.status_code == 302


@pytest.mark.parametrize("raw, hops", [(None, 0), ("", 0), ("0", 0), ("1", 1), (" 2 ", 2)])
def test_trusted_proxies_setting(tmp_path, raw, hops):
    from notifier.config import from_environment

    env = {} if raw is None else {"TRUSTED_PROXIES": raw}
    assert from_environment(str(tmp_path), env)["TRUSTED_PROXIES"] == hops


@pytest.mark.parametrize("raw", ["-1", "yes", "1.5"])
def test_trusted_proxies_must_be_a_count(tmp_path, raw):
    from notifier.config import from_environment

    with pytest.raises(ValueError, match="TRUSTED_PROXIES"):
        from_environment(str(tmp_path), {"TRUSTED_PROXIES": raw})


def test_current_password_check_is_throttled(app, auth_client):
    token = csrf(auth_client, "/account/password")

    def change(current):
        return auth_client.post("/account/password", data={
            "current": current, "password": "new password 1", "confirm": "new password 1", "csrf_token": token})

    for _ in range(app.config["LOGIN_FREE_ATTEMPTS"]):
        assert change("wrong").status_code == 422
    resp = change(ADMIN_PASSWORD)
    assert resp.status_code == 429 and TOO_MANY in resp.get_data(as_text=True)
    other = app.test_client()  # the password was not changed
    assert try_login(other, ADMIN_EMAIL, "new password 1", addr="198.51.100.9").status_code == 401


def test_parallel_tries_cannot_pass_the_limit_together(app, admin):
    """Tries are counted before the password is checked, atomically in Redis:
    of 20 simultaneous tries at the limit's edge exactly the free ones pass."""
    from concurrent.futures import ThreadPoolExecutor

    from notifier.web.security import LoginThrottle

    def attempt(_):
        with app.app_context():
            return LoginThrottle.from_config(app.config).begin(ADMIN_EMAIL, "203.0.113.77")

    with ThreadPoolExecutor(max_workers=20) as pool:
        waits = list(pool.map(attempt, range(20)))
    assert waits.count(0) == app.config["LOGIN_FREE_ATTEMPTS"]
    assert all(w > 0 for w in waits if w)


def test_throttling_goes_on_in_process_while_redis_is_down(app, client, admin, tmp_path):
    from notifier.runtime.embedded_redis import EmbeddedRedis
    from notifier.web.security import LoginThrottle

    server = EmbeddedRedis(str(tmp_path / "own-redis"), persist=False).start()
    app.config["REDIS_URL"] = server.url
    app.extensions.pop("redis", None)
    server.stop()
    addr = "203.0.113.201"
    try:
        for _ in range(app.config["LOGIN_FREE_ATTEMPTS"]):
            assert try_login(client, ADMIN_EMAIL, "wrong", addr=addr).status_code == 401
        assert try_login(client, ADMIN_EMAIL, ADMIN_PASSWORD, addr=addr).status_code == 429
        assert try_login(client, ADMIN_EMAIL, ADMIN_PASSWORD, addr="198.51.100.10").status_code == 302
    finally:
        for key in LoginThrottle.keys(ADMIN_EMAIL, addr):
            LoginThrottle._local.pop(key, None)


def test_cli_setup_link_uses_public_url(app):
    """In a container HOST is 0.0.0.0: the link must name the address a browser reaches (issue 14, item 9)."""
    app.config["PUBLIC_URL"] = "https://pbx-notify.example.ru"
    result = app.test_cli_runner().invoke(args=["setup-link"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("https://pbx-notify.example.ru/setup/")
