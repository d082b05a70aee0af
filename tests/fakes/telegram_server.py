"""A local HTTP server that speaks enough of the Telegram Bot API for tests.

Why a real socket instead of mocking ``requests``: the app's timeouts,
multipart uploads, retries and long polling get exercised for real, and the
same server can be handed to a subprocess via TELEGRAM_API_URL.

It behaves like api.telegram.org where tests can notice: per-token URLs, 401
for a wrong token, params as JSON / form / multipart / query string, Telegram
HTML validated (tags, 4096/1024 limits), getUpdates offset + long poll (and
its allowed_updates filter), 409 for getUpdates while a webhook is set,
inline keyboards, editMessageText on the messages it sent, callback queries
(``push_callback``, answerCallbackQuery), and injectable failures.

Formats follow the Bot API reference, core.telegram.org/bots/api: Update,
CallbackQuery (id, from, message, chat_instance, data), InlineKeyboardMarkup
(callback_data 1-64 bytes), "Updating messages" (editMessageText returns the
edited Message), answerCallbackQuery (text 0-200 characters). Error texts are
Telegram's own as bots meet them ("Bad Request: message is not modified: ...",
"Bad Request: message to edit not found", "Bad Request: message can't be
edited"), e.g. github.com/TelegramBotAPI/errors issue 7 and pull 6,
github.com/tdlib/telegram-bot-api issue 400, github.com/daniel-hauser/moneyman
pull 133.
"""
from __future__ import annotations

import email.message
import email.parser
import html
import itertools
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

DEFAULT_TOKEN = "123456:TEST-TOKEN"

MESSAGE_LIMIT = 4096
CAPTION_LIMIT = 1024

_METHODS = ("getMe", "sendMessage", "sendVoice", "sendAudio", "sendDocument",
            "getUpdates", "setWebhook", "deleteWebhook", "getWebhookInfo",
            "editMessageText", "answerCallbackQuery")
# Update types delivered when getUpdates never named any (the Bot API default
# leaves out chat_member, message_reaction and message_reaction_count).
_DEFAULT_UPDATES = {"message", "edited_message", "channel_post", "callback_query",
                    "inline_query", "my_chat_member"}
NOT_MODIFIED = ("Bad Request: message is not modified: specified new message content and "
                "reply markup are exactly the same as a current content and reply markup "
                "of the message")
_FILE_METHODS = {"sendVoice": "voice", "sendAudio": "audio", "sendDocument": "document"}

# Form/query values arrive as strings; the real API converts these fields.
_INT_FIELDS = {"chat_id", "offset", "limit", "timeout", "duration", "message_id",
               "reply_to_message_id", "max_connections", "message_thread_id"}
_BOOL_FIELDS = {"disable_web_page_preview", "disable_notification", "protect_content", "show_alert",
                "drop_pending_updates", "allow_sending_without_reply",
                "disable_content_type_detection"}
_JSON_FIELDS = {"allowed_updates", "reply_markup", "entities", "caption_entities",
                "link_preview_options", "reply_parameters"}

_FAILURES = {
    "400": (400, "Bad Request: chat not found"),
    "401": (401, "Unauthorized"),
    "403": (403, "Forbidden: bot was blocked by the user"),
    "429": (429, None),  # description built from retry_after
    "500": (500, "Internal Server Error"),
    "502": (502, None),  # an HTML page from a proxy, not JSON
    "hang": (None, None),
}


class _ApiError(Exception):
    def __init__(self, code: int, description: str, parameters: dict | None = None):
        super().__init__(description)
        self.code, self.description, self.parameters = code, description, parameters


class FakeTelegram:
    """Threaded fake Bot API on 127.0.0.1:<ephemeral>. Use as a context manager.

    ``.requests`` records every call (method, params, files, content_types,
    status; status is None while in flight). ``sent()``/``messages``/``wait_for``
    only count calls that succeeded, i.e. what a user would actually see.
    """

    def __init__(self, token: str = DEFAULT_TOKEN, bot_username: str = "notifier_test_bot",
                 hang_max: float = 30.0):
        self.token = token
        self.bot_username = bot_username
        self.bot_id = int(token.split(":", 1)[0]) if token.split(":", 1)[0].isdigit() else 1
        self.hang_max = hang_max  # "hang" failures answer after this, or at stop()
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._clear()

    def _clear(self) -> None:
        self.requests: list[dict] = []
        self.webhook: dict | None = None
        self._updates: list[dict] = []
        self._failures: list[dict] = []
        self._update_ids = itertools.count(700_000_001)
        self._message_ids = itertools.count(1)
        self._file_ids = itertools.count(1)
        self._callback_ids = itertools.count(1)
        self.allowed_updates: set[str] | None = None  # as the last getUpdates set it
        # (chat_id, message_id) -> {"text", "reply_markup", "editable"} of sent text messages
        self.chat_messages: dict[tuple[int, int], dict] = {}
        self.callbacks: dict[str, dict] = {}  # pushed callback queries by id; "answered" once answered
        self.latency: dict[str, float] = {}  # method -> seconds each call of it takes (race tests)

    # -- lifecycle ----------------------------------------------------------
    def start(self) -> "FakeTelegram":
        if self._server:
            return self
        self._stopping.clear()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.fake = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05},
                                        name="FakeTelegram", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; wakes long polls and "hang"s so no thread lingers."""
        if not self._server:
            return
        self._stopping.set()
        with self._cond:
            self._cond.notify_all()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)
        self._server = self._thread = None

    def __enter__(self) -> "FakeTelegram":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server, "FakeTelegram not started"
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        """Base URL, e.g. http://127.0.0.1:PORT (what TELEGRAM_API_URL expects)."""
        return f"http://127.0.0.1:{self.port}"

    # -- test controls -------------------------------------------------------
    def fail_next(self, kind: str, count: int = 1, method: str | None = None,
                  retry_after: int = 2) -> None:
        """Make the next ``count`` calls (of ``method``, or any) fail with ``kind``.

        kind: "429", "500", "502" (HTML body), "403" (blocked), "400" (chat not
        found), "401", or "hang" (no answer until hang_max seconds or stop()).
        """
        kind = str(kind)
        if kind not in _FAILURES:
            raise ValueError(f"unknown failure kind {kind!r}; one of {sorted(_FAILURES)}")
        with self._lock:
            self._failures.append({"kind": kind, "count": count, "method": method,
                                   "retry_after": retry_after})

    def reset(self) -> None:
        """Forget failures, records, updates and the webhook (server keeps running)."""
        with self._cond:
            self._clear()
            self._cond.notify_all()

    def push_update(self, message_text: str, chat_id: int, from_user: dict | None = None,
                    **message_fields) -> dict:
        """Queue a realistic private-chat message Update; returns it."""
        user = from_user or {"id": chat_id, "is_bot": False, "first_name": "Иван",
                             "last_name": "Петров", "username": "ivan_petrov",
                             "language_code": "ru"}
        if isinstance(chat_id, int) and chat_id < 0:
            chat = {"id": chat_id, "type": "supergroup" if str(chat_id).startswith("-100")
                    else "group", "title": "Тестовая группа"}
        else:
            chat = {"id": chat_id, "type": "private",
                    **{k: user[k] for k in ("first_name", "last_name", "username") if k in user}}
        with self._lock:
            message_id = next(self._message_ids)
        message = {"message_id": message_id, "from": user, "chat": chat,
                   "date": int(time.time()), "text": message_text}
        if message_text.startswith("/"):
            command = message_text.split()[0] if message_text.split() else message_text
            message["entities"] = [{"type": "bot_command", "offset": 0,
                                    "length": _utf16_len(command)}]
        message.update(message_fields)
        return self.push_raw({"message": message})

    def push_raw(self, update: dict) -> dict:
        """Queue an arbitrary Update dict (update_id assigned if missing)."""
        with self._cond:
            if "update_id" in update:
                nxt = next(self._update_ids)
                self._update_ids = itertools.count(max(nxt, update["update_id"] + 1))
            else:
                update = {"update_id": next(self._update_ids), **update}
            self._updates.append(update)
            self._cond.notify_all()
        return update

    def push_callback(self, chat_id: int, message_id: int, data: str,
                      from_user: dict | None = None) -> dict:
        """Queue the press of an inline button under message ``message_id`` in
        private chat ``chat_id`` (CallbackQuery as the Bot API sends it); returns the update."""
        user = from_user or {"id": chat_id, "is_bot": False, "first_name": "Иван",
                             "last_name": "Петров", "username": "ivan_petrov",
                             "language_code": "ru"}
        with self._lock:
            query_id = str(4_000_000_000_000 + next(self._callback_ids))
            shown = self.chat_messages.get((chat_id, message_id), {})
            self.callbacks[query_id] = {"answered": None}
        message = {"message_id": message_id, "from": self._bot_user(),
                   "chat": {"id": chat_id, "type": "private", "first_name": user.get("first_name", "")},
                   "date": int(time.time()), "text": shown.get("text", "")}
        if shown.get("reply_markup"):
            message["reply_markup"] = shown["reply_markup"]
        return self.push_raw({"callback_query": {
            "id": query_id, "from": user, "message": message,
            "chat_instance": f"-{abs(chat_id) * 7 + 3}", "data": data}})

    def make_uneditable(self, chat_id: int, message_id: int, deleted: bool = False) -> None:
        """From now on editMessageText of this message fails as for a message the
        bot may no longer edit, or (``deleted``) one the user deleted."""
        with self._lock:
            if deleted:
                self.chat_messages.pop((chat_id, message_id), None)
            else:
                self.chat_messages[(chat_id, message_id)]["editable"] = False

    def shown(self, chat_id: int, message_id: int) -> dict:
        """What the chat shows now for a sent text message: text (parsed) and reply_markup."""
        with self._lock:
            return dict(self.chat_messages[(chat_id, message_id)])

    def take_pending(self) -> list[dict]:
        """Remove and return the queued updates (to hand them to a webhook instead)."""
        with self._cond:
            taken, self._updates = self._updates, []
        return taken

    @property
    def pending_updates(self) -> list[dict]:
        with self._lock:
            return list(self._updates)

    # -- inspection ----------------------------------------------------------
    def sent(self, method: str | None = None) -> list[dict]:
        """Successful (HTTP 200) calls, optionally of one method."""
        with self._lock:
            return [r for r in self.requests
                    if r["status"] == 200 and (method is None or r["method"] == method)]

    @property
    def messages(self) -> list[dict]:
        """Params of every successful sendMessage."""
        return [r["params"] for r in self.sent("sendMessage")]

    def wait_for(self, count: int, method: str | None = "sendMessage",
                 timeout: float = 5) -> list[dict]:
        """Block until ``count`` successful calls of ``method``; return their params.

        Raises AssertionError on timeout, listing what did arrive.
        """
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                got = [r for r in self.requests if r["status"] == 200
                       and (method is None or r["method"] == method)]
                if len(got) >= count:
                    return [r["params"] for r in got]
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = [(r["method"], r["status"]) for r in self.requests]
                    raise AssertionError(f"expected {count} x {method}, got {len(got)}; "
                                         f"all calls: {seen}")
                self._cond.wait(left)

    # -- request handling (server threads) -------------------------------------
    def _handle(self, h: "_Handler") -> None:
        parts = urlsplit(h.path)
        m = re.fullmatch(r"/bot([^/]+)/([A-Za-z]+)", parts.path)
        record = {"method": None, "params": {}, "files": {}, "content_types": {},
                  "status": None, "time": time.time()}
        try:
            if not m:
                raise _ApiError(404, "Not Found")
            token, method = m.groups()
            method = {n.lower(): n for n in _METHODS}.get(method.lower(), method)
            record["method"] = method
            with self._cond:
                self.requests.append(record)
            params, files, ctypes = _parse_params(h, parts.query)
            record.update(params=params, files=files, content_types=ctypes)
            if token != self.token:
                raise _ApiError(401, "Unauthorized")
            if method not in _METHODS:
                raise _ApiError(404, "Not Found")
            if self.latency.get(method):
                self._stopping.wait(self.latency[method])
            failure = self._take_failure(method)
            if failure:
                status, body, ctype = self._failure_response(failure)
            else:
                result = getattr(self, "_m_" + method)(params, files, ctypes)
                status, body, ctype = 200, {"ok": True, "result": result}, None
        except _ApiError as e:
            status, ctype = e.code, None
            body = {"ok": False, "error_code": e.code, "description": e.description}
            if e.parameters:
                body["parameters"] = e.parameters
        with self._cond:
            record["status"] = status
            self._cond.notify_all()
        h.reply(status, body, ctype)

    def _take_failure(self, method: str) -> dict | None:
        with self._lock:
            for f in self._failures:
                if f["method"] in (None, method) and f["count"] > 0:
                    f["count"] -= 1
                    if f["count"] == 0:
                        self._failures.remove(f)
                    return f
        return None

    def _failure_response(self, f: dict):
        kind = f["kind"]
        if kind == "hang":
            self._stopping.wait(self.hang_max)
            return 504, {"ok": False, "error_code": 504, "description": "Gateway Timeout"}, None
        if kind == "502":
            page = b"<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"
            return 502, page, "text/html"
        code, desc = _FAILURES[kind]
        body = {"ok": False, "error_code": code}
        if kind == "429":
            body["description"] = f"Too Many Requests: retry after {f['retry_after']}"
            body["parameters"] = {"retry_after": f["retry_after"]}
        else:
            body["description"] = desc
        return code, body, None

    # -- Bot API methods -----------------------------------------------------
    def _bot_user(self) -> dict:
        return {"id": self.bot_id, "is_bot": True, "first_name": "Notifier Test Bot",
                "username": self.bot_username}

    def _m_getMe(self, params, files, ctypes) -> dict:
        return {**self._bot_user(), "can_join_groups": True,
                "can_read_all_group_messages": False, "supports_inline_queries": False}

    def _new_message(self, params: dict, **fields) -> dict:
        chat_id = params.get("chat_id")
        if chat_id in (None, ""):
            raise _ApiError(400, "Bad Request: chat_id is empty")
        if isinstance(chat_id, str) and chat_id.startswith("@"):
            chat = {"id": -1001000000001, "type": "channel", "title": chat_id[1:],
                    "username": chat_id[1:]}
        elif isinstance(chat_id, int) and chat_id < 0:
            chat = {"id": chat_id, "type": "supergroup" if str(chat_id).startswith("-100")
                    else "group", "title": "Тестовая группа"}
        elif isinstance(chat_id, int):
            chat = {"id": chat_id, "type": "private", "first_name": "Иван"}
        else:
            raise _ApiError(400, "Bad Request: chat not found")
        with self._lock:
            message_id = next(self._message_ids)
        return {"message_id": message_id, "from": self._bot_user(), "chat": chat,
                "date": int(time.time()), **fields}

    def _m_sendMessage(self, params, files, ctypes) -> dict:
        text = params.get("text")
        if not isinstance(text, str) or not text.strip():
            self._new_message(params)  # chat_id errors come first, as in the real API
            raise _ApiError(400, "Bad Request: message text is empty")
        plain = _parse_text(text, params.get("parse_mode"))
        if not plain.strip():
            raise _ApiError(400, "Bad Request: message text is empty")
        if _utf16_len(plain) > MESSAGE_LIMIT:
            raise _ApiError(400, "Bad Request: message is too long")
        markup = _inline_keyboard(params.get("reply_markup"))
        message = self._new_message(params, text=plain, **({"reply_markup": markup} if markup else {}))
        with self._lock:
            self.chat_messages[(message["chat"]["id"], message["message_id"])] = {
                "text": plain, "reply_markup": markup, "editable": True}
        return message

    def _m_editMessageText(self, params, files, ctypes) -> dict:
        chat_id, message_id = params.get("chat_id"), params.get("message_id")
        if chat_id in (None, "") or not isinstance(message_id, int):
            raise _ApiError(400, "Bad Request: message identifier is not specified")
        text = params.get("text")
        if not isinstance(text, str) or not text.strip():
            raise _ApiError(400, "Bad Request: message text is empty")
        plain = _parse_text(text, params.get("parse_mode"))
        if _utf16_len(plain) > MESSAGE_LIMIT:
            raise _ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        markup = _inline_keyboard(params.get("reply_markup"))
        with self._lock:
            shown = self.chat_messages.get((chat_id, message_id))
            if shown is None:
                raise _ApiError(400, "Bad Request: message to edit not found")
            if not shown["editable"]:
                raise _ApiError(400, "Bad Request: message can't be edited")
            if shown["text"] == plain and shown["reply_markup"] == markup:
                raise _ApiError(400, NOT_MODIFIED)
            shown.update(text=plain, reply_markup=markup)
        message = {"message_id": message_id, "from": self._bot_user(),
                   "chat": {"id": chat_id, "type": "private", "first_name": "Иван"},
                   "date": int(time.time()), "edit_date": int(time.time()), "text": plain}
        if markup:
            message["reply_markup"] = markup
        return message

    def _m_answerCallbackQuery(self, params, files, ctypes) -> bool:
        query_id = str(params.get("callback_query_id") or "")
        text = params.get("text")
        if text is not None and len(str(text)) > 200:
            raise _ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        with self._lock:
            query = self.callbacks.get(query_id)
            if query is None or query["answered"] is not None:
                raise _ApiError(400, "Bad Request: query is too old and response timeout "
                                     "expired or query ID is invalid")
            query["answered"] = {"text": text, "show_alert": bool(params.get("show_alert"))}
        return True

    def _send_file(self, method, params, files, ctypes) -> dict:
        field = _FILE_METHODS[method]
        fields = {}
        caption = params.get("caption")
        if caption:
            plain = _parse_text(caption, params.get("parse_mode"))
            if _utf16_len(plain) > CAPTION_LIMIT:
                raise _ApiError(400, "Bad Request: message caption is too long")
            fields["caption"] = plain
        with self._lock:
            n = next(self._file_ids)
        if field in files:
            filename, data = files[field]
            info = {"file_id": f"{field}-{n}", "file_unique_id": f"u{field}{n}",
                    "file_size": len(data)}
            ctype = ctypes.get(field)
        elif isinstance(params.get(field), str) and params[field]:  # file_id or URL
            info, filename, ctype = {"file_id": params[field], "file_unique_id": f"u{n}"}, None, None
        else:
            raise _ApiError(400, f"Bad Request: there is no {field} in the request")
        if field in ("voice", "audio"):
            info["duration"] = int(params.get("duration") or 0)
            info["mime_type"] = ctype or ("audio/ogg" if field == "voice" else "audio/mpeg")
        if field in ("audio", "document") and filename:
            info["file_name"] = filename
        if field == "document":
            info["mime_type"] = ctype or "application/octet-stream"
        for k in ("title", "performer"):
            if field == "audio" and params.get(k):
                info[k] = params[k]
        return self._new_message(params, **{field: info}, **fields)

    def _m_sendVoice(self, params, files, ctypes) -> dict:
        return self._send_file("sendVoice", params, files, ctypes)

    def _m_sendAudio(self, params, files, ctypes) -> dict:
        return self._send_file("sendAudio", params, files, ctypes)

    def _m_sendDocument(self, params, files, ctypes) -> dict:
        return self._send_file("sendDocument", params, files, ctypes)

    def _m_getUpdates(self, params, files, ctypes) -> list[dict]:
        offset = params.get("offset")
        limit = max(1, min(int(params.get("limit") or 100), 100))
        timeout = float(params.get("timeout") or 0)
        deadline = time.monotonic() + timeout
        with self._cond:
            if self.webhook:
                raise _ApiError(409, "Conflict: can't use getUpdates method while webhook "
                                     "is active; use deleteWebhook to delete the webhook first")
            if isinstance(params.get("allowed_updates"), list):
                self.allowed_updates = set(params["allowed_updates"]) or None
            allowed = self.allowed_updates or _DEFAULT_UPDATES
            while True:
                # Types the bot did not ask for are never delivered.
                self._updates = [u for u in self._updates if set(u) - {"update_id"} <= allowed]
                if offset is not None:  # confirms (drops) everything before offset
                    if offset < 0:
                        self._updates = self._updates[offset:]
                    else:
                        self._updates = [u for u in self._updates if u["update_id"] >= offset]
                left = deadline - time.monotonic()
                if self._updates or left <= 0 or self._stopping.is_set():
                    return list(self._updates[:limit])
                self._cond.wait(left)

    def _m_setWebhook(self, params, files, ctypes) -> bool:
        url = params.get("url") or ""
        if not url:
            return self._m_deleteWebhook(params, files, ctypes)
        if not url.startswith("https://"):
            raise _ApiError(400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook")
        secret = params.get("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", str(secret)):
            raise _ApiError(400, "Bad Request: secret token contains unallowed characters")
        with self._cond:
            self.webhook = {"url": url, "secret_token": secret,
                            "allowed_updates": params.get("allowed_updates")}
            if params.get("drop_pending_updates"):
                self._updates = []
        return True

    def _m_deleteWebhook(self, params, files, ctypes) -> bool:
        with self._cond:
            self.webhook = None
            if params.get("drop_pending_updates"):
                self._updates = []
        return True

    def _m_getWebhookInfo(self, params, files, ctypes) -> dict:
        with self._lock:
            info = {"url": self.webhook["url"] if self.webhook else "",
                    "has_custom_certificate": False,
                    "pending_update_count": len(self._updates)}
            if self.webhook and self.webhook.get("allowed_updates"):
                info["allowed_updates"] = self.webhook["allowed_updates"]
        return info


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # default 5 makes bursts of senders wait for SYN retries


class _Handler(BaseHTTPRequestHandler):
    # HTTP/1.0: one request per connection, so stop() really ends service
    # (no keep-alive connection survives in a pooled client session).
    protocol_version = "HTTP/1.0"
    server_version = "FakeTelegram/1.0"

    def do_POST(self) -> None:
        self.server.fake._handle(self)  # type: ignore[attr-defined]

    do_GET = do_POST

    def reply(self, status: int, body, ctype: str | None) -> None:
        data = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", ctype or "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            pass  # the client gave up (timeout test); nothing to answer

    def log_message(self, format, *args) -> None:  # keep pytest output clean
        pass


# -- parsing helpers ------------------------------------------------------------

def _parse_params(h: BaseHTTPRequestHandler, query: str):
    """Merge query-string and body params the way the Bot API accepts them."""
    params: dict = {k: _coerce(k, v) for k, v in parse_qsl(query, keep_blank_values=True)}
    files: dict = {}
    ctypes: dict = {}
    length = int(h.headers.get("Content-Length") or 0)
    body = h.rfile.read(length) if length else b""
    ctype = (h.headers.get("Content-Type") or "").lower()
    if not body:
        return params, files, ctypes
    if ctype.startswith("application/json"):
        try:
            data = json.loads(body)
        except ValueError:
            raise _ApiError(400, "Bad Request: can't parse JSON object") from None
        if not isinstance(data, dict):
            raise _ApiError(400, "Bad Request: can't parse JSON object")
        params.update(data)
    elif ctype.startswith("multipart/form-data"):
        for name, filename, part_ctype, data in _parse_multipart(body, h.headers["Content-Type"]):
            if filename is not None:
                files[name] = (filename, data)
                ctypes[name] = part_ctype
            else:
                params[name] = _coerce(name, data.decode("utf-8", "replace"))
    else:  # application/x-www-form-urlencoded (or unspecified)
        for k, v in parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True):
            params[k] = _coerce(k, v)
    return params, files, ctypes


def _parse_multipart(body: bytes, content_type: str):
    """Yield (name, filename|None, content_type|None, bytes) for each part.

    Split by hand on the boundary so file bytes come back untouched (the
    ``cgi`` module is deprecated and ``email`` parsing may rewrite line ends).
    """
    header = email.message.Message()
    header["Content-Type"] = content_type
    boundary = header.get_param("boundary")
    if not boundary:
        raise _ApiError(400, "Bad Request: bad multipart body")
    delim = b"--" + boundary.encode("latin-1")
    for part in body.split(delim)[1:]:
        if part.startswith(b"--"):
            break
        part = part[2:] if part.startswith(b"\r\n") else part
        head, _, data = part.partition(b"\r\n\r\n")
        if data.endswith(b"\r\n"):
            data = data[:-2]
        msg = email.parser.HeaderParser().parsestr(head.decode("utf-8", "replace"))
        name = msg.get_param("name", header="content-disposition")
        if name is None:
            continue
        filename = msg.get_filename()
        yield (name, filename, msg.get_content_type() if msg["Content-Type"] else None, data)


def _coerce(key: str, value: str):
    """Form values are strings; convert the fields the real API treats as typed."""
    if key in _INT_FIELDS and re.fullmatch(r"-?\d+", value):
        return int(value)
    if key in _BOOL_FIELDS and value.lower() in ("true", "false", "1", "0"):
        return value.lower() in ("true", "1")
    if key in _JSON_FIELDS:
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _utf16_len(s: str) -> int:
    return len(s.encode("utf-16-le")) // 2


def _inline_keyboard(markup) -> dict | None:
    """Check an InlineKeyboardMarkup as Telegram does; None when there is none."""
    if markup in (None, ""):
        return None
    rows = markup.get("inline_keyboard") if isinstance(markup, dict) else None
    if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
        raise _ApiError(400, "Bad Request: can't parse inline keyboard button: "
                             "InlineKeyboardButton must be an Object")
    for row in rows:
        for button in row:
            if not isinstance(button, dict) or not isinstance(button.get("text"), str):
                raise _ApiError(400, "Bad Request: can't parse inline keyboard button: "
                                     "Text buttons are unallowed in the inline keyboard")
            data = button.get("callback_data")
            if data is not None and not (isinstance(data, str)
                                         and 1 <= len(data.encode("utf-8")) <= 64):
                raise _ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
    return markup


_HTML_TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span",
              "tg-spoiler", "a", "tg-emoji", "code", "pre", "blockquote"}
_TAG_RE = re.compile(r"<(/?)([^\s<>/=]*)([^<>]*)>")


def _parse_text(text: str, parse_mode) -> str:
    """Return the visible text; raise 400 like Telegram for broken HTML."""
    if not parse_mode:
        return text
    mode = str(parse_mode).lower()
    if mode in ("markdown", "markdownv2"):
        return text  # not validated by the fake
    if mode != "html":
        raise _ApiError(400, "Bad Request: unsupported parse_mode")
    out, stack, pos = [], [], 0

    def fail(msg: str):
        raise _ApiError(400, f"Bad Request: can't parse entities: {msg}")

    while True:
        i = text.find("<", pos)
        out.append(text[pos:] if i < 0 else text[pos:i])
        if i < 0:
            break
        offset = len(text[:i].encode("utf-8"))
        m = _TAG_RE.match(text, i)
        if not m:
            fail(f"Unclosed start tag at byte offset {offset}")
        closing, name, attrs = m.group(1), m.group(2).lower(), m.group(3)
        if closing:
            if not stack:
                fail(f'Unexpected end tag at byte offset {offset}')
            if name and name != stack[-1]:
                fail(f'Unmatched end tag at byte offset {offset}, expected "</{stack[-1]}>", '
                     f'found "</{name}>"')
            stack.pop()
        else:
            if name not in _HTML_TAGS:
                fail(f'Unsupported start tag "{name}" at byte offset {offset}')
            if name == "span" and "tg-spoiler" not in attrs:
                fail(f'Tag "span" must have class "tg-spoiler" at byte offset {offset}')
            stack.append(name)
        pos = m.end()
    if stack:
        fail(f'Can\'t find end tag corresponding to start tag "{stack[-1]}"')
    # Telegram decodes only these named entities (plus numeric ones).
    plain = "".join(out)
    return re.sub(r"&(lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);",
                  lambda m: html.unescape(m.group(0)), plain)
