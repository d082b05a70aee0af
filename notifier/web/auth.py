"""Admin access: first-run setup link, login/logout, password change.

Every UI endpoint requires a logged-in admin unless it is listed in PUBLIC;
new pages are therefore protected without anyone remembering a decorator.
"""
from __future__ import annotations

import hmac
import json
import secrets
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Email, EqualTo, Length, ValidationError

from notifier.core import passwords
from notifier.extensions import db
from notifier.models import Setting, User, new_session_nonce, utcnow
from notifier.web import htmx
from notifier.web.security import LoginThrottle, hash_password, token_digest, verify_password

bp = Blueprint("auth", __name__)

PUBLIC = {"auth.login", "auth.setup", "auth.no_admin", "static", "health", "favicon"}
SETUP_KEY = "setup_token"
SETUP_TTL = timedelta(days=1)
PRODUCT_WORDS = ("notifier", "уведомления", "атс", "admin", "администратор")


def new_password_check(form, field) -> None:
    """The one password rule (notifier.core.passwords) as a WTForms validator.

    The account's email counts as a word an attacker knows: the setup form's
    field, else the logged-in admin's address."""
    email = form.email.data if "email" in form else getattr(g.get("user"), "email", "")
    error = passwords.problem(field.data or "", (email or "", *PRODUCT_WORDS))
    if error:
        raise ValidationError(error)


class SetupForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired("Укажите email"), Email("Неверный email"), Length(max=254)])
    password = PasswordField("Пароль", validators=[DataRequired("Укажите пароль"), new_password_check])
    confirm = PasswordField("Повторите пароль", validators=[EqualTo("password", "Пароли не совпадают")])


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired("Укажите email"), Length(max=254)])
    password = PasswordField("Пароль", validators=[DataRequired("Укажите пароль"), Length(max=256)])


class PasswordForm(FlaskForm):
    current = PasswordField("Текущий пароль", validators=[DataRequired("Укажите текущий пароль")])
    password = PasswordField("Новый пароль", validators=[DataRequired("Укажите новый пароль"), new_password_check])
    confirm = PasswordField("Повторите новый пароль", validators=[EqualTo("password", "Пароли не совпадают")])


def admin_exists() -> bool:
    return db.session.scalar(select(func.count(User.id))) > 0


def new_setup_link(base_url: str) -> str | None:
    """A fresh one-time setup link while no admin exists (older links stop working)."""
    if admin_exists():
        return None
    token = secrets.token_urlsafe(32)
    value = {"hash": token_digest(token), "expires": (utcnow() + SETUP_TTL).isoformat()}
    row = db.session.get(Setting, SETUP_KEY)
    if row:
        row.value = value
    else:
        db.session.add(Setting(key=SETUP_KEY, value=value))
    db.session.commit()
    return f"{base_url.rstrip('/')}/setup/{token}"


def _setup_token_valid(token: str) -> bool:
    row = db.session.get(Setting, SETUP_KEY)
    if not row or not isinstance(row.value, dict):
        return False
    expires = datetime.fromisoformat(row.value.get("expires", "1970-01-01T00:00:00+00:00"))
    return hmac.compare_digest(row.value.get("hash", ""), token_digest(token)) and expires > utcnow()


def create_or_reset_admin(email: str, password: str) -> User:
    email = email.strip().lower()
    user = db.session.scalar(select(User).where(User.email == email))
    if user is None:
        user = User(email=email, password_hash=hash_password(password))
        db.session.add(user)
    else:
        user.password_hash = hash_password(password)
        end_sessions(user)
    db.session.execute(db.delete(Setting).where(Setting.key == SETUP_KEY))
    db.session.commit()
    return user


def _login(user: User) -> None:
    session.clear()
    session.permanent = True
    session["uid"] = user.id
    session["nonce"] = user.session_nonce
    user.last_login_at = utcnow()
    db.session.commit()


def end_sessions(user: User) -> None:
    """Void every session cookie issued to ``user`` so far, on this and every
    other browser: a cookie copied before logout must not open pages for the
    rest of its 12 hours. The caller commits."""
    user.session_nonce = new_session_nonce()


def _safe_next(target: str | None) -> str:
    r"""Where to go after login: a path on this site, else the start page.

    Refused: other sites and schemes («//host», «https://…», «javascript:»);
    a backslash, which browsers read as «/» («/\host» is «//host»); and
    anything not printable: CR/LF would split the Location header (a 500 at
    best), and browsers drop tabs and newlines from URLs («/\t/host»)."""
    if target and target.startswith("/") and target.isprintable() and "\\" not in target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc:
            return target
    return url_for("rules.index")


def throttle() -> LoginThrottle:
    return LoginThrottle.from_config(current_app.config)


def client_address() -> str:
    """The client's address as ProxyFix (TRUSTED_PROXIES) sets it."""
    return request.remote_addr or "?"


def too_many_tries(field, wait: int) -> None:
    minutes = max(1, (wait + 59) // 60)
    field.errors.append(f"Слишком много неудачных попыток. Повторите через {minutes} мин.")


@bp.route("/setup/<token>", methods=["GET", "POST"])
def setup(token: str):
    if admin_exists():
        flash("Администратор уже создан. Войдите.", "info")
        return redirect(url_for("auth.login"))
    if not _setup_token_valid(token):
        abort(404)
    form = SetupForm()
    if form.validate_on_submit():
        user = create_or_reset_admin(form.email.data, form.password.data)
        _login(user)
        flash("Администратор создан.", "success")
        return redirect(url_for("rules.index"))
    return render_template("auth/setup.html", form=form), 422 if form.errors else 200


@bp.route("/login", methods=["GET", "POST"])
def login():
    if not admin_exists():
        return redirect(url_for("auth.no_admin"))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        email = form.email.data.strip().lower()
        wait = throttle().begin(email, client_address())
        if wait:
            too_many_tries(form.email, wait)
            return render_template("auth/login.html", form=form), 429
        user = db.session.scalar(select(User).where(User.email == email))
        matches = verify_password(user.password_hash if user else None, form.password.data)
        if user is not None and matches:
            throttle().succeeded(email, client_address())
            _login(user)
            return redirect(_safe_next(request.args.get("next")))
        form.password.errors.append("Неверный email или пароль")
        status = 401
    elif form.errors:
        status = 422
    return render_template("auth/login.html", form=form), status


@bp.route("/welcome")
def no_admin():
    """No admin yet: explain where the setup link is instead of a dead end."""
    if admin_exists():
        return redirect(url_for("auth.login"))
    return render_template("auth/no_admin.html")


@bp.post("/logout")
def logout():
    end_sessions(g.user)
    db.session.commit()
    session.clear()
    flash("Вы вышли.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
def change_password():
    form = PasswordForm()
    if form.validate_on_submit():
        # The current password is a password try like a login (a stolen session
        # must not be a way to guess it), counted in the same place.
        wait = throttle().begin(g.user.email, client_address())
        if wait:
            too_many_tries(form.current, wait)
            return render_template("auth/password.html", form=form), 429
        if not verify_password(g.user.password_hash, form.current.data):
            form.current.errors.append("Неверный текущий пароль")
        else:
            throttle().succeeded(g.user.email, client_address())
            g.user.password_hash = hash_password(form.password.data)
            end_sessions(g.user)
            db.session.commit()
            _login(g.user)
            flash("Пароль изменён.", "success")
            return redirect(url_for("rules.index"))
    return render_template("auth/password.html", form=form), 422 if form.errors else 200


def _load_user() -> None:
    g.user = None
    uid = session.get("uid")
    if uid is not None:
        user = db.session.get(User, uid)
        if user and hmac.compare_digest(str(session.get("nonce", "")), user.session_nonce):
            g.user = user


def _require_login():
    endpoint = request.endpoint or ""
    if endpoint in PUBLIC or endpoint.startswith("api.") or request.blueprint == "api":
        return None
    _load_user()
    if g.user is not None:
        return None
    if request.endpoint is None:
        return None  # a 404 stays a 404
    login_url = url_for("auth.login", next=request.full_path if request.method == "GET" else None)
    if htmx.is_request():
        return "", 401, htmx.headers(redirect=login_url)
    return redirect(login_url)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.before_request(_require_login)

    @app.get("/favicon.ico")
    def favicon():
        """Browsers ask for /favicon.ico on every page whatever base.html links;
        answered from static/ (public, cached) instead of a 404 in every log."""
        return current_app.send_static_file("favicon.ico")

    @app.get("/health")
    def health():
        """Unauthenticated, for probes (Docker HEALTHCHECK, monitoring): 503 when notifications cannot flow."""
        from notifier.services import health as health_service

        body, code = health_service.report()
        resp = current_app.response_class(json.dumps(body, ensure_ascii=False), status=code,
                                          mimetype="application/json")
        resp.headers["Cache-Control"] = "no-store"
        return resp

    @app.context_processor
    def _user():
        return {"current_user": g.get("user")}
