"""/api/v1/pbx/<vendor>[/<path>]: the PBX adapters' HTTP plumbing (contract: pbx.md).

The same steps for every vendor, around its two pure functions
(notifier.pbx.base): the body is capped like the webhook's (64 KiB), a
vendor's address check is answered, credentials must be configured, the
vendor verifies its own authentication, translates, and the events take the
one intake path (``intake.accept``: stored once by their id, committed, then
queued) with the vendor's request kept beside them. Every request's outcome
is counted for Settings (services.pbx_status). No bearer token and no CSRF:
each vendor authenticates its own way. Any input gets a 2xx or a clear 4xx
(503 only while the database is down), never a 500.
"""
from __future__ import annotations

import json
import logging
from io import BytesIO

from flask import current_app, request, url_for
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.formparser import FormDataParser

from notifier.api import bp, token_exempt
from notifier.core import phones
from notifier.extensions import db
from notifier.models import Contact, ContactNumber
from notifier.pbx import base, registry
from notifier.pbx.base import AdapterError, DirectoryContact, Reply, Translation, Vendor, VendorRequest
from notifier.pipeline import intake
from notifier.services import pbx_calls, pbx_status, settings

log = logging.getLogger(__name__)

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
MAX_RAW_TEXT = 16 * 1024  # of a body that is neither a form nor JSON, kept for «Журнал»
KEPT_HEADERS = ("content-type", "user-agent")
REDACTED = "***"


class DbDirectory:
    """base.Directory over the client notebook, the working-hours time zone and
    the call marks of services.pbx_calls."""

    def find_contact(self, number: str) -> DirectoryContact | None:
        try:
            key = phones.normalize(number)
        except Exception:  # phones.InvalidNumber or odd text
            return None
        if key is None:
            return None
        row = db.session.execute(select(Contact.id, Contact.name, Contact.vip).join(ContactNumber)
                                 .where(ContactNumber.number_key == key).limit(1)).first()
        if row is None:
            return None
        url = settings.public_url() + url_for("contacts.edit", contact_id=row.id)
        return DirectoryContact(row.id, row.name, bool(row.vip), url)

    def contact_name(self, number: str) -> str | None:
        contact = self.find_contact(number)
        return contact.name if contact else None

    def time_zone(self) -> str:
        return settings.company_timezone()

    def call_marks(self, vendor: str, call_id: str) -> frozenset[str]:
        return pbx_calls.marks(vendor, call_id)

    def mark_call(self, vendor: str, call_id: str, mark: str) -> None:
        pbx_calls.note(vendor, call_id, mark)


# --------------------------------------------------------------------------- the request as data

def _first_values(multidict) -> dict[str, str]:
    return {key: multidict.get(key) for key in multidict.keys()}


def vendor_request(path: str, body: bytes) -> VendorRequest:
    """The Flask request as base.VendorRequest (the form parsed from ``body``,
    which intake.read_body has already read)."""
    form: dict[str, str] = {}
    if request.mimetype in FORM_TYPES and body:
        parser = FormDataParser(silent=True, max_form_memory_size=intake.MAX_BODY, max_form_parts=1000)
        _, fields, _ = parser.parse(BytesIO(body), request.mimetype, len(body), request.mimetype_params)
        form = _first_values(fields)
    return VendorRequest(
        method=request.method, path=path, query=_first_values(request.args), form=form, body=body,
        content_type=request.mimetype, headers={k.lower(): v for k, v in request.headers.items()},
    )


def _safe(value):
    """Strings any database stores (no NUL, no lone surrogates), recursively."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd").encode("utf-8", "replace").decode("utf-8")
    if isinstance(value, dict):
        return {_safe(str(k)): _safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_safe(v) for v in value]
    return value


def raw_request(vendor: Vendor, req: VendorRequest) -> dict:
    """What «Журнал» shows as the vendor's request: method, address, parameters
    or body, a few headers; the vendor's ``redact`` names never keep their values."""
    hidden = {name.lower() for name in vendor.redact}

    def redact(values: dict) -> dict:
        return {k: (REDACTED if k.lower() in hidden else v) for k, v in values.items()}

    raw: dict = {"method": req.method, "path": f"/api/v1/pbx/{vendor.slug}" + (f"/{req.path}" if req.path else "")}
    if req.query:
        raw["query"] = redact(dict(req.query))
    if req.form:
        raw["form"] = redact(dict(req.form))
    elif req.body:
        try:
            value = req.json() if "json" in req.content_type else None
        except AdapterError:
            value = None
        if isinstance(value, dict):
            raw["json"] = redact(value)
        elif value is not None:
            raw["json"] = value
        else:
            raw["body"] = req.body[:MAX_RAW_TEXT].decode("utf-8", "replace")
    headers = {name: req.headers[name] for name in (*KEPT_HEADERS, *(h.lower() for h in vendor.raw_headers))
               if name in req.headers}
    if headers:
        raw["headers"] = redact(headers)
    return _safe(raw)


# --------------------------------------------------------------------------- answers

def _json(status: int, body: dict):
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":")) + "\n"
    return current_app.response_class(text, status, mimetype="application/json")


def _reply(reply: Reply):
    return current_app.response_class(reply.body, reply.status, content_type=reply.content_type)


def _refuse(vendor: Vendor, status: int, outcome: str, message: str):
    pbx_status.record(vendor.slug, outcome, message)
    return _json(status, {"error": message})


# --------------------------------------------------------------------------- the endpoint

@bp.route("/pbx/<vendor>", methods=["GET", "POST"], defaults={"path": ""})
@bp.route("/pbx/<vendor>/<path:path>", methods=["GET", "POST"])
@token_exempt
def pbx_request(vendor: str, path: str):
    found = registry.get(vendor)
    if found is None or not found.endpoint or not found.available:
        return _json(404, {"error": "такого адаптера АТС нет"})
    return handle(found, path)


def handle(vendor: Vendor, path: str):
    body = intake.read_body(request)
    if body is None:
        return _refuse(vendor, 413, base.BAD_BODY, f"тело запроса больше {intake.MAX_BODY // 1024} КиБ")
    req = vendor_request(path, body)
    try:
        creds = settings.pbx_credentials(vendor)
    except SQLAlchemyError:
        log.exception("cannot read the %s adapter's settings", vendor.slug)
        return _json(503, {"error": "база данных недоступна, повторите позже"})
    try:
        if vendor.probe is not None:
            reply = vendor.probe(req)
            if reply is not None:
                pbx_status.record(vendor.slug, base.CHECK)
                return _reply(reply)
        if not vendor.configured(creds.values):
            missing = ", ".join(c.key for c in vendor.credentials if c.required and not creds.get(c.key))
            return _refuse(vendor, 403, base.NOT_CONFIGURED, f"адаптер не настроен: задайте {missing}")
        vendor.verify(req, creds.values)
        translation = vendor.translate(req, DbDirectory())
    except AdapterError as err:
        return _refuse(vendor, err.status, err.outcome, err.message)
    except SQLAlchemyError:  # a look-up or a call mark of the adapter's: the PBX may retry
        log.exception("the database failed under the %s adapter", vendor.slug)
        db.session.rollback()
        return _json(503, {"error": "база данных недоступна, повторите позже"})
    except Exception:  # a vendor's translation tripping over odd input: its bug, still a 4xx for the PBX
        log.exception("the %s adapter failed on a request", vendor.slug)
        return _refuse(vendor, 400, base.ERROR, "запрос не удалось разобрать")
    return _take(vendor, req, translation)


def _take(vendor: Vendor, req: VendorRequest, translation: Translation):
    results: list[tuple[str, str]] = []
    if translation.events:
        try:
            results = intake.accept(translation.events, source=vendor.slug, raw=raw_request(vendor, req))
        except intake.Rejected as err:
            if err.answer.status == 422:  # the translation made an invalid event: the adapter's bug
                log.error("the %s adapter made invalid events: %s", vendor.slug, err.answer.body)
                pbx_status.record(vendor.slug, base.INVALID, json.dumps(err.answer.body, ensure_ascii=False))
            return _json(err.answer.status, err.answer.body)
    accepted = any(status == "accepted" for _, status in results)
    outcome = base.DUPLICATE if results and not accepted else base.ACCEPTED
    detail = translation.note or ", ".join(f"{event_id}: {status}" for event_id, status in results) or "без событий"
    pbx_status.record(vendor.slug, outcome, detail)
    if translation.reply is not None:
        return _reply(translation.reply)
    return _json(202 if accepted else 200, {"events": [{"id": i, "status": s} for i, s in results]})
