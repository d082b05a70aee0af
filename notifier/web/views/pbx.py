"""«Подключение АТС» in Settings: for each PBX of notifier.pbx.registry its
address to copy, its credentials, its last request and counters, its files
(3CX's template), built from the registry so that an adapter adds no page code.

Credentials follow the settings rules: an environment value wins and is shown
read-only; a secret is shown back only masked, and an empty secret field keeps
the saved one.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, abort, current_app, flash, redirect, url_for
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import Length, Optional, Regexp, ValidationError

from notifier.extensions import db
from notifier.pbx import registry
from notifier.pbx.base import Vendor, VendorFile
from notifier.services import pbx_status, settings

bp = Blueprint("pbx", __name__, url_prefix="/settings/pbx")


def _printable(form, field):
    value = field.data or ""
    if value and (not value.isprintable() or value != value.strip()):
        raise ValidationError("Без пробелов по краям и управляющих символов")


def credentials_form(vendor: Vendor, formdata=None, **data) -> FlaskForm:
    """A form with one field per credential of the vendor (secrets as password fields)."""

    class CredentialsForm(FlaskForm):
        pass

    for cred in vendor.credentials:
        kind = PasswordField if cred.secret else StringField
        checks = [Optional(), Length(max=cred.max_length, message=f"Не длиннее {cred.max_length} символов"), _printable]
        if cred.pattern:
            checks.append(Regexp(f"^(?:{cred.pattern})$", message=cred.pattern_message or "Неверный формат"))
        setattr(CredentialsForm, cred.key, kind(cred.label, validators=checks))
    kwargs = {} if formdata is not False else {"formdata": None}
    return CredentialsForm(prefix=f"pbx-{vendor.slug}", **kwargs, **data)


def _vendor_or_404(slug: str) -> Vendor:
    vendor = registry.get(slug)
    if vendor is None or not vendor.available:
        abort(404)
    return vendor


def address(vendor: Vendor) -> str | None:
    """The full address to give the PBX (PUBLIC_URL, else this request's address)."""
    if not vendor.endpoint:
        return None
    return settings.public_url() + url_for("api.pbx_request", vendor=vendor.slug)


@dataclass
class Card:
    """One PBX on the settings page."""

    vendor: Vendor
    address: str | None
    credentials: settings.PbxCredentials
    status: pbx_status.VendorStatus
    form: FlaskForm

    @property
    def configured(self) -> bool:
        return self.vendor.configured(self.credentials.values)

    def shown(self, key: str) -> str:
        """A credential as the page may show it: secrets masked."""
        from notifier.web.views.settings import mask

        value = self.credentials.get(key) or ""
        secret = any(c.secret for c in self.vendor.credentials if c.key == key)
        return mask(value) if secret else value


def cards(failed: tuple[str, FlaskForm] | None = None) -> list[Card]:
    statuses = pbx_status.statuses()
    result = []
    for vendor in registry.VENDORS:
        creds = settings.pbx_credentials(vendor)
        if failed and failed[0] == vendor.slug:
            form = failed[1]
        else:  # non-secret values shown for editing; secrets never leave the server
            form = credentials_form(vendor, formdata=False, data={
                c.key: creds.get(c.key) for c in vendor.credentials
                if not c.secret and c.key not in creds.from_env and c.key in creds.saved})
        result.append(Card(vendor, address(vendor), creds, statuses.get(vendor.slug) or pbx_status.VendorStatus(),
                           form))
    return result


@bp.post("/<slug>")
def save(slug: str):
    from notifier.web.views.settings import _page

    vendor = _vendor_or_404(slug)
    form = credentials_form(vendor)
    creds = settings.pbx_credentials(vendor)
    if not form.validate():
        return _page(pbx_failed=(slug, form)), 422
    changes: dict[str, str | None] = {}
    for cred in vendor.credentials:
        if cred.key in creds.from_env:
            continue  # the environment wins; the field is read-only
        value = (form[cred.key].data or "").strip()
        if cred.secret and not value:
            continue  # empty: keep the saved secret
        changes[cred.key] = value or None
    settings.save_pbx_credentials(changes)
    db.session.commit()
    flash(f"Настройки {vendor.title} сохранены.", "success")
    return redirect(url_for("settings.index") + f"#pbx-{slug}")


@bp.post("/<slug>/clear")
def clear(slug: str):
    vendor = _vendor_or_404(slug)
    settings.save_pbx_credentials({c.key: None for c in vendor.credentials})
    db.session.commit()
    flash(f"Сохранённые настройки {vendor.title} удалены.", "success")
    return redirect(url_for("settings.index") + f"#pbx-{slug}")


@bp.get("/<slug>/files/<name>")
def download(slug: str, name: str):
    """A file the admin uploads to the PBX, made with the current address and credentials."""
    vendor = _vendor_or_404(slug)
    file: VendorFile | None = next((f for f in vendor.files if f.name == name), None)
    if file is None:
        abort(404)
    creds = settings.pbx_credentials(vendor)
    if not vendor.configured(creds.values):
        flash(f"Сначала задайте настройки {vendor.title}: файл содержит их.", "error")
        return redirect(url_for("settings.index") + f"#pbx-{slug}")
    content = file.build(address(vendor), creds.values)
    resp = current_app.response_class(content, mimetype=file.media_type)
    resp.headers["Content-Disposition"] = f'attachment; filename="{file.name}"'
    resp.headers["Cache-Control"] = "no-store"  # it carries a credential
    return resp

from notifier.web.views import pbx_asterisk  # noqa: E402,F401  (the Asterisk card's routes on this blueprint)
