"""Thin Telegram Bot API client on ``requests``, plus HTML text helpers.

Why hand-rolled: the app needs a handful of methods, strict timeouts and a
clear transient/permanent error split for the delivery queue -- not a bot
framework. Errors never contain the bot token (it is part of the URL, and
``requests`` exceptions print URLs), so they are safe to log and to store.
"""
from __future__ import annotations

import html
import json
import mimetypes
import re
from typing import Any, Iterable
from urllib.parse import quote

import requests

__all__ = [
    "BotAPI", "TelegramError", "TelegramTransient", "TelegramPermanent",
    "escape_html", "truncate_html", "utf16_len", "MESSAGE_LIMIT", "CAPTION_LIMIT",
    "CALLBACK_DATA_LIMIT", "UPDATE_TYPES", "ANSWER_TEXT_LIMIT", "inline_button",
]

MESSAGE_LIMIT = 4096   # sendMessage text, after entity parsing
CAPTION_LIMIT = 1024   # media captions, after entity parsing
CALLBACK_DATA_LIMIT = 64   # InlineKeyboardButton.callback_data: 1-64 bytes
ANSWER_TEXT_LIMIT = 200    # answerCallbackQuery text: 0-200 characters

# editMessageText answers a 400 with one of these when there is nothing to do
# (Bot API "Updating messages"; the descriptions as Telegram sends them):
# the same text and keyboard again is no change, so it counts as done ...
_NOT_MODIFIED = "message is not modified"
# ... and a message deleted by the user, or one Telegram no longer lets the bot
# edit, stays as it is: the edit is given up, never retried or resent.
_GONE = ("message to edit not found", "message can't be edited", "message_id_invalid")

# The update types the bot handles: chat messages (/start, /stop ...) and
# presses of its inline buttons. Telegram sends only the listed types.
UPDATE_TYPES = ("message", "callback_query")

# Extra seconds on top of the long-poll timeout before we give up on getUpdates.
POLL_MARGIN = 10.0


class TelegramError(Exception):
    """Any Bot API failure. ``description`` is Telegram's text (token-free)."""

    def __init__(self, description: str, status: int | None = None,
                 retry_after: float | None = None,
                 parameters: dict | None = None, method: str | None = None):
        self.description = description
        self.status = status
        self.retry_after = retry_after
        # ResponseParameters as sent by Telegram, e.g. {"migrate_to_chat_id": ...}
        self.parameters = parameters or {}
        self.method = method
        super().__init__(description)

    def __str__(self) -> str:
        where = f"{self.method}: " if self.method else ""
        code = f" (HTTP {self.status})" if self.status is not None else ""
        return f"{where}{self.description}{code}"


class TelegramTransient(TelegramError):
    """Retry later: network failure, timeout, 5xx, 429 (see ``retry_after``)."""


class TelegramPermanent(TelegramError):
    """Retrying will not help: bad request, bad token, chat gone / bot blocked."""

    @property
    def blocked(self) -> bool:
        """403: the user blocked the bot, is deactivated, or never pressed /start."""
        return self.status == 403

    @property
    def not_modified(self) -> bool:
        """An edit to the text and keyboard the message already has."""
        return self.status == 400 and _NOT_MODIFIED in self.description.lower()

    @property
    def cannot_edit(self) -> bool:
        """The message to edit is gone (deleted) or may no longer be edited."""
        text = self.description.lower()
        return self.status == 400 and any(g in text for g in _GONE)


class BotAPI:
    """One bot token. Every request has a (connect, read) timeout."""

    def __init__(self, token: str, base_url: str = "https://api.telegram.org",
                 timeout: float = 10.0, session: requests.Session | None = None):
        if not token:
            raise ValueError("empty Telegram bot token")
        self._token = token
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.session = session or requests.Session()

    def __repr__(self) -> str:  # never show the token
        return f"<BotAPI {self.base_url} bot_id={self._token.split(':', 1)[0]}>"

    # -- core -------------------------------------------------------------
    def call(self, method: str, params: dict | None = None,
             files: dict | None = None,
             timeout: float | tuple[float, float] | None = None) -> Any:
        """POST one method and return ``result``; raise TelegramTransient/Permanent.

        ``files`` maps field name -> (filename, bytes[, content_type]); with files
        the request is multipart and non-scalar params are JSON-encoded, as the
        Bot API expects. ``None`` params are dropped.
        """
        url = f"{self.base_url}/bot{self._token}/{method}"
        params = {k: v for k, v in (params or {}).items() if v is not None}
        t = self.timeout if timeout is None else timeout
        t = t if isinstance(t, tuple) else (min(t, self.timeout), t)
        try:
            if files:
                form = {k: _form_value(v) for k, v in params.items()}
                resp = self.session.post(url, data=form, files=files, timeout=t)
            else:
                resp = self.session.post(url, json=params, timeout=t)
        except (requests.Timeout, requests.ConnectionError,
                requests.exceptions.ChunkedEncodingError) as e:
            raise TelegramTransient(self._network_text(e), method=method) from None
        except requests.RequestException as e:  # bad URL etc.: configuration error
            raise TelegramPermanent(self._network_text(e), method=method) from None
        return self._result(method, resp)

    def _result(self, method: str, resp: requests.Response) -> Any:
        try:
            body = resp.json()
            if not isinstance(body, dict):
                raise ValueError("not an object")
        except ValueError:
            # Proxy error pages, truncated bodies: trust the HTTP status only.
            text = resp.reason or self._scrub(resp.text[:200].strip()) or "empty body"
            desc = f"non-JSON response: {text}"
            if resp.status_code >= 500 or resp.status_code == 429 or resp.ok:
                raise TelegramTransient(desc, resp.status_code, method=method) from None
            raise TelegramPermanent(desc, resp.status_code, method=method) from None
        if body.get("ok") is True and resp.ok:
            return body.get("result")
        status = body.get("error_code") or resp.status_code
        desc = self._scrub(str(body.get("description") or resp.reason or "error"))
        params = body.get("parameters") or {}
        retry_after = params.get("retry_after")
        retry_after = float(retry_after) if retry_after is not None else None
        if status == 429 or status >= 500:
            raise TelegramTransient(desc, status, retry_after, params, method)
        # 400/401/403/404 and any other 4xx (e.g. 409 webhook conflict).
        raise TelegramPermanent(desc, status, retry_after, params, method)

    def _scrub(self, text: str) -> str:
        for form in {self._token, quote(self._token, safe="")}:
            text = text.replace(form, "<token>")
        return text

    def _network_text(self, e: Exception) -> str:
        # requests' messages embed the URL (and so the token): scrub, and drop
        # the exception chain via ``from None`` so tracebacks cannot leak it.
        return self._scrub(f"{type(e).__name__}: {e}")

    # -- convenience ------------------------------------------------------
    def get_me(self) -> dict:
        return self.call("getMe")

    def send_message(self, chat_id: int | str, text: str, parse_mode: str | None = "HTML",
                     disable_web_page_preview: bool = True, **extra) -> dict:
        params = {"chat_id": chat_id, "text": text, "parse_mode": parse_mode, **extra}
        if disable_web_page_preview:
            # Bot API 7.0 replaced the disable_web_page_preview field with this.
            params.setdefault("link_preview_options", {"is_disabled": True})
        return self.call("sendMessage", params)

    def edit_message_text(self, chat_id: int | str, message_id: int, text: str,
                          reply_markup: dict | None = None, parse_mode: str | None = "HTML",
                          disable_web_page_preview: bool = True) -> bool:
        """Replace a sent message's text (and keyboard: none when ``reply_markup``
        is None, as Telegram drops a keyboard the edit does not repeat).

        True when the message now says ``text`` (an edit to the same content
        included); False when it cannot be edited any more (deleted, too old):
        it is left alone. Other errors raise, 429/5xx as TelegramTransient.
        """
        params = {"chat_id": chat_id, "message_id": message_id, "text": text,
                  "parse_mode": parse_mode, "reply_markup": reply_markup}
        if disable_web_page_preview:
            params["link_preview_options"] = {"is_disabled": True}
        try:
            self.call("editMessageText", params)
        except TelegramPermanent as e:
            if e.not_modified:
                return True
            if e.cannot_edit:
                return False
            raise
        return True

    def answer_callback_query(self, callback_query_id: str, text: str | None = None,
                              show_alert: bool | None = None) -> bool:
        """Stop the button's progress indicator, with an optional short notice."""
        if text is not None:
            text = text[:ANSWER_TEXT_LIMIT]
        return self.call("answerCallbackQuery", {"callback_query_id": callback_query_id,
                                                 "text": text, "show_alert": show_alert})

    def send_voice(self, chat_id: int | str, data: bytes, filename: str = "voice.ogg",
                   caption: str | None = None, duration: int | None = None,
                   parse_mode: str | None = "HTML", **extra) -> dict:
        """Voice notes must be OGG/Opus to render as voice; else use send_audio."""
        return self._send_file("sendVoice", "voice", chat_id, data, filename,
                               caption, parse_mode, duration=duration, **extra)

    def send_audio(self, chat_id: int | str, data: bytes, filename: str,
                   caption: str | None = None, duration: int | None = None,
                   parse_mode: str | None = "HTML", title: str | None = None,
                   performer: str | None = None, **extra) -> dict:
        return self._send_file("sendAudio", "audio", chat_id, data, filename,
                               caption, parse_mode, duration=duration, title=title,
                               performer=performer, **extra)

    def send_document(self, chat_id: int | str, data: bytes, filename: str,
                      caption: str | None = None, parse_mode: str | None = "HTML",
                      **extra) -> dict:
        return self._send_file("sendDocument", "document", chat_id, data, filename,
                               caption, parse_mode, **extra)

    def _send_file(self, method, field, chat_id, data, filename, caption,
                   parse_mode, **extra) -> dict:
        ctype = mimetypes.guess_type(filename)[0] or "application/octet-stream"
        if field == "voice" and filename.lower().endswith((".ogg", ".oga", ".opus")):
            ctype = "audio/ogg"
        params = {"chat_id": chat_id, "caption": caption,
                  "parse_mode": parse_mode if caption else None, **extra}
        return self.call(method, params, files={field: (filename, data, ctype)})

    def get_updates(self, offset: int | None = None, timeout: int = 0,
                    allowed_updates: Iterable[str] | None = UPDATE_TYPES,
                    limit: int | None = None) -> list[dict]:
        """Long poll; the HTTP read timeout is the poll timeout plus a margin."""
        params = {"offset": offset, "timeout": timeout, "limit": limit,
                  "allowed_updates": list(allowed_updates) if allowed_updates is not None else None}
        return self.call("getUpdates", params, timeout=timeout + max(self.timeout, POLL_MARGIN))

    def set_webhook(self, url: str, secret_token: str | None = None,
                    allowed_updates: Iterable[str] | None = UPDATE_TYPES,
                    drop_pending_updates: bool | None = None) -> bool:
        return self.call("setWebhook", {
            "url": url, "secret_token": secret_token,
            "allowed_updates": list(allowed_updates) if allowed_updates is not None else None,
            "drop_pending_updates": drop_pending_updates})

    def delete_webhook(self, drop_pending_updates: bool | None = None) -> bool:
        return self.call("deleteWebhook", {"drop_pending_updates": drop_pending_updates})

    def get_webhook_info(self) -> dict:
        return self.call("getWebhookInfo")


def inline_button(text: str, callback_data: str) -> dict:
    """A one-button InlineKeyboardMarkup; ``callback_data`` must fit in 64 bytes."""
    if not 1 <= len(callback_data.encode("utf-8")) <= CALLBACK_DATA_LIMIT:
        raise ValueError("callback_data must be 1-64 bytes")
    return {"inline_keyboard": [[{"text": text, "callback_data": callback_data}]]}


def _form_value(v: Any) -> str:
    """Multipart fields are strings; Telegram wants JSON for arrays/objects."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (dict, list, tuple)):
        return json.dumps(v, ensure_ascii=False)
    return str(v)


# -- HTML helpers -------------------------------------------------------------

def escape_html(s: str) -> str:
    """Escape text for parse_mode=HTML (safe both in text and inside attributes).

    Telegram decodes the named entities &lt; &gt; &amp; &quot; and every
    numeric one, so html.escape's output (&#x27; for an apostrophe) is valid.
    """
    return html.escape(str(s))


def utf16_len(s: str) -> int:
    """Length as Telegram counts it (UTF-16 code units: emoji count as 2)."""
    return len(s.encode("utf-16-le")) // 2


_TOKEN_RE = re.compile(
    r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)\b[^<>]*>"  # tag
    r"|&(?:#[0-9]+|#x[0-9a-fA-F]+|[a-zA-Z]+);"  # entity
    r"|\s+|[^<&\s]+|[<&]",  # whitespace, word, stray char
    re.S)
_OPEN_TAG_RE = re.compile(r"<[a-zA-Z][^<>]*>")
_ELLIPSIS = "…"


def truncate_html(text: str, limit: int) -> str:
    """Cut Telegram-HTML ``text`` so that it fits in ``limit`` characters.

    Approach: tokenize into tags, entities and plain text; copy tokens while
    the output *source* (markup included) plus "…" plus the closing tags for
    every still-open tag fits in ``limit``; then append "…" and close the tags.
    Tags and entities are atomic, so nothing is cut in half. Length is counted
    in UTF-16 units of the source, which is never less than what Telegram
    counts after parsing, so the result is accepted whichever way it counts.
    Plain text is cut at the last space when one is near (a word boundary).
    """
    if limit <= 0:
        return ""
    if utf16_len(text) <= limit:
        return text
    budget = limit - utf16_len(_ELLIPSIS)
    out: list[str] = []
    stack: list[str] = []  # names of open tags
    used = 0
    closers = 0  # utf16 length of "</x>" for every open tag
    stopped_in_text = False
    for m in _TOKEN_RE.finditer(text):
        tok = m.group(0)
        n = utf16_len(tok)
        if m.group(2):  # a tag
            name = m.group(2).lower()
            if m.group(1):  # closing tag: its length is already reserved
                if name in stack:
                    while stack:
                        top = stack.pop()
                        closers -= len(top) + 3
                        out.append(f"</{top}>")  # also auto-closes mis-nested tags
                        used += len(top) + 3
                        if top == name:
                            break
                continue
            if used + n + closers + len(name) + 3 > budget:
                break
            out.append(tok)
            stack.append(name)
            used += n
            closers += len(name) + 3
            continue
        if used + n + closers > budget:
            if not tok.isspace() and tok[0] not in "<&":
                # Long word: take the part that fits, then back off to a space.
                room = budget - used - closers
                part = _take_utf16(tok, room)
                if part:
                    out.append(part)
                    used += utf16_len(part)
                stopped_in_text = True
            break
        out.append(tok)
        used += n
    if stopped_in_text:
        _back_off_to_space(out)
    # Drop trailing whitespace and tags opened with no content after them.
    while out and (out[-1].isspace() or (stack and _OPEN_TAG_RE.fullmatch(out[-1]))):
        if not out.pop().isspace():
            stack.pop()
    return "".join(out) + _ELLIPSIS + "".join(f"</{t}>" for t in reversed(stack))


def _take_utf16(s: str, room: int) -> str:
    """Longest prefix of ``s`` whose UTF-16 length is <= room."""
    acc, n = [], 0
    for ch in s:
        n += 2 if ord(ch) > 0xFFFF else 1
        if n > room:
            break
        acc.append(ch)
    return "".join(acc)


def _back_off_to_space(out: list[str], max_back: int = 30) -> None:
    """Drop a partial word at the end if a space within ``max_back`` chars precedes it."""
    dropped, i = 0, len(out) - 1
    while i >= 0 and not out[i].isspace() and not out[i].startswith("<"):
        dropped += len(out[i])
        i -= 1
    if i >= 0 and out[i].isspace() and 0 < dropped <= max_back:
        del out[i + 1:]
