"""BotAPI against FakeTelegram, plus the HTML helpers."""
import html
import os
import re
import threading
import time
import traceback

import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st

from notifier.telegram.api import (
    CAPTION_LIMIT,
    MESSAGE_LIMIT,
    BotAPI,
    TelegramError,
    TelegramPermanent,
    TelegramTransient,
    escape_html,
    truncate_html,
    utf16_len,
)
from tests.fakes.telegram_server import FakeTelegram, _ApiError, _parse_text

CHAT = 424242


@pytest.fixture
def api(fake_telegram):
    return BotAPI(fake_telegram.token, base_url=fake_telegram.url, timeout=5)


def telegram_accepts(text: str) -> str:
    """Visible text as the (fake) Telegram parses it; fails the test if rejected."""
    try:
        return _parse_text(text, "HTML")
    except _ApiError as e:  # pragma: no cover - only on failure
        pytest.fail(f"Telegram would reject {text!r}: {e.description}")


# -- success paths -------------------------------------------------------------

def test_get_me(api):
    me = api.get_me()
    assert me["is_bot"] and me["username"] == "notifier_test_bot"


def test_send_message_params_and_result(api, fake_telegram):
    text = "<b>Пропущенный звонок</b> от +7 999 123-45-67 📞"
    msg = api.send_message(CHAT, text)
    assert msg["chat"]["id"] == CHAT and msg["message_id"] >= 1
    assert msg["text"] == "Пропущенный звонок от +7 999 123-45-67 📞"
    [sent] = fake_telegram.messages
    assert sent["chat_id"] == CHAT and sent["text"] == text
    assert sent["parse_mode"] == "HTML"
    assert sent["link_preview_options"] == {"is_disabled": True}


def test_send_message_plain_text_sends_no_parse_mode(api, fake_telegram):
    api.send_message(CHAT, "a < b & c", parse_mode=None, disable_web_page_preview=False)
    [sent] = fake_telegram.messages
    assert "parse_mode" not in sent and "link_preview_options" not in sent


def test_send_voice_uploads_bytes_intact(api, fake_telegram):
    # Bytes that would trip a naive multipart parser: CRLFs, dashes, NULs.
    data = b"OggS\x00\r\n--\r\n\r\n" + os.urandom(200_000) + b"\r\n--"
    msg = api.send_voice(CHAT, data, "voicemail.ogg", caption="<b>Голосовое</b> 0:42",
                         duration=42)
    assert msg["voice"]["duration"] == 42 and msg["voice"]["file_size"] == len(data)
    assert msg["caption"] == "Голосовое 0:42"
    [req] = fake_telegram.sent("sendVoice")
    assert req["files"]["voice"] == ("voicemail.ogg", data)
    assert req["content_types"]["voice"] == "audio/ogg"
    assert req["params"] == {"chat_id": CHAT, "caption": "<b>Голосовое</b> 0:42",
                             "parse_mode": "HTML", "duration": 42}


def test_send_voice_without_caption_sends_no_parse_mode(api, fake_telegram):
    api.send_voice(CHAT, b"OggS", "v.ogg")
    assert fake_telegram.sent("sendVoice")[0]["params"] == {"chat_id": CHAT}


def test_send_audio(api, fake_telegram):
    msg = api.send_audio(CHAT, b"ID3" + bytes(range(256)), "call.mp3", caption="Запись",
                         duration=7, title="Звонок", performer="+79991234567")
    assert msg["audio"]["file_name"] == "call.mp3" and msg["audio"]["title"] == "Звонок"
    [req] = fake_telegram.sent("sendAudio")
    assert req["files"]["audio"] == ("call.mp3", b"ID3" + bytes(range(256)))
    assert req["content_types"]["audio"] == "audio/mpeg"


def test_send_document_cyrillic_filename(api, fake_telegram):
    data = b"RIFF" + os.urandom(1000)
    msg = api.send_document(CHAT, data, "запись звонка.wav", caption="Файл")
    assert msg["document"]["file_name"] == "запись звонка.wav"
    [req] = fake_telegram.sent("sendDocument")
    assert req["files"]["document"] == ("запись звонка.wav", data)


def test_get_updates_offset_confirms(api, fake_telegram):
    u1 = fake_telegram.push_update("/start abc", CHAT)
    u2 = fake_telegram.push_update("привет", CHAT)
    got = api.get_updates()
    assert [u["update_id"] for u in got] == [u1["update_id"], u2["update_id"]]
    assert got[0]["message"]["text"] == "/start abc"
    assert api.get_updates(offset=u2["update_id"] + 1) == []
    assert fake_telegram.pending_updates == []
    req = fake_telegram.sent("getUpdates")[0]
    assert req["params"]["allowed_updates"] == ["message", "callback_query"] and req["params"]["timeout"] == 0


def test_get_updates_long_poll_wakes_on_update(api, fake_telegram):
    threading.Timer(0.3, fake_telegram.push_update, ("позвони мне", CHAT)).start()
    t0 = time.monotonic()
    got = api.get_updates(timeout=10)
    assert time.monotonic() - t0 < 5
    assert got[0]["message"]["text"] == "позвони мне"


def test_webhook_methods(api, fake_telegram):
    assert api.set_webhook("https://example.ru/tg/hook", "s3cret_token-1") is True
    assert fake_telegram.webhook["secret_token"] == "s3cret_token-1"
    assert api.get_webhook_info()["url"] == "https://example.ru/tg/hook"
    with pytest.raises(TelegramPermanent) as ei:  # like the real API: 409 Conflict
        api.get_updates()
    assert ei.value.status == 409
    assert api.delete_webhook() is True
    assert api.get_webhook_info()["url"] == "" and api.get_updates() == []


class _RecordingSession(requests.Session):
    def __init__(self):
        super().__init__()
        self.timeouts = []

    def request(self, method, url, **kw):
        self.timeouts.append(kw.get("timeout"))
        return super().request(method, url, **kw)


def test_every_request_has_connect_and_read_timeout(fake_telegram):
    session = _RecordingSession()
    api = BotAPI(fake_telegram.token, fake_telegram.url, timeout=3, session=session)
    api.get_me()
    api.send_message(CHAT, "x")
    api.send_voice(CHAT, b"x", "v.ogg")
    api.send_audio(CHAT, b"x", "a.mp3")
    api.send_document(CHAT, b"x", "d.txt")
    api.set_webhook("https://example.ru/h", "s")
    api.get_webhook_info()
    api.delete_webhook()
    fake_telegram.push_update("x", CHAT)  # so the long poll returns at once
    api.get_updates(timeout=25)
    assert len(session.timeouts) == 9
    for t in session.timeouts:
        assert isinstance(t, tuple) and len(t) == 2 and all(0 < x for x in t)
    assert session.timeouts[-1][1] >= 25 + 3  # poll timeout + margin


def test_long_message_truncated_is_accepted(api, fake_telegram):
    body = escape_html("Расшифровка: <тишина> & шум 😀 " * 400)
    text = f"<b>Голосовое сообщение</b>\n<i>{body}</i>"
    with pytest.raises(TelegramPermanent, match="message is too long"):
        api.send_message(CHAT, text)
    api.send_message(CHAT, truncate_html(text, MESSAGE_LIMIT))
    caption = truncate_html(text, CAPTION_LIMIT)
    api.send_voice(CHAT, b"OggS", "v.ogg", caption=caption)


def test_bad_html_is_permanent(api):
    with pytest.raises(TelegramPermanent, match="can't parse entities") as ei:
        api.send_message(CHAT, "Звонок от <Иван>")
    assert ei.value.status == 400 and not ei.value.blocked


# -- errors ----------------------------------------------------------------------

def test_429_is_transient_with_retry_after(api, fake_telegram):
    fake_telegram.fail_next("429", retry_after=7)
    with pytest.raises(TelegramTransient) as ei:
        api.send_message(CHAT, "x")
    assert ei.value.status == 429 and ei.value.retry_after == 7.0
    assert api.send_message(CHAT, "x")["text"] == "x"  # only the next call failed


@pytest.mark.parametrize("kind,status", [("500", 500), ("502", 502)])
def test_server_errors_are_transient(api, fake_telegram, kind, status):
    fake_telegram.fail_next(kind)
    with pytest.raises(TelegramTransient) as ei:
        api.send_message(CHAT, "x")
    assert ei.value.status == status and ei.value.retry_after is None


def test_403_is_permanent_blocked(api, fake_telegram):
    fake_telegram.fail_next("403")
    with pytest.raises(TelegramPermanent) as ei:
        api.send_message(CHAT, "x")
    assert ei.value.blocked and ei.value.status == 403
    assert ei.value.description == "Forbidden: bot was blocked by the user"


def test_400_is_permanent_not_blocked(api, fake_telegram):
    fake_telegram.fail_next("400")
    with pytest.raises(TelegramPermanent) as ei:
        api.send_message(CHAT, "x")
    assert not ei.value.blocked and ei.value.status == 400
    assert "chat not found" in ei.value.description


def test_401_bad_token(fake_telegram):
    api = BotAPI("999:WRONG-TOKEN", fake_telegram.url, timeout=5)
    with pytest.raises(TelegramPermanent) as ei:
        api.get_me()
    assert ei.value.status == 401 and not ei.value.blocked
    assert "WRONG-TOKEN" not in str(ei.value)


def test_hang_becomes_transient_after_client_timeout(fake_telegram):
    api = BotAPI(fake_telegram.token, fake_telegram.url, timeout=0.5)
    fake_telegram.fail_next("hang")
    t0 = time.monotonic()
    with pytest.raises(TelegramTransient) as ei:
        api.send_message(CHAT, "x")
    assert time.monotonic() - t0 < 3
    assert ei.value.status is None and "Timeout" in ei.value.description
    assert fake_telegram.messages == []  # the hung call delivered nothing


def test_connection_refused_is_transient():
    with FakeTelegram() as tg:
        url, token = tg.url, tg.token
    with pytest.raises(TelegramTransient) as ei:
        BotAPI(token, url, timeout=2).get_me()
    assert ei.value.status is None


def _errors(tg):
    """One exception of every kind, all carrying the secret token in the URL."""
    api = BotAPI(tg.token, tg.url, timeout=0.5)
    for kind in ("429", "500", "502", "403", "400", "401", "hang"):
        tg.fail_next(kind)
        try:
            api.send_message(CHAT, "x")
        except TelegramError as e:
            yield e
    try:
        BotAPI(tg.token, "http://127.0.0.1:1", timeout=0.5).get_me()
    except TelegramError as e:
        yield e
    try:
        BotAPI(tg.token, "htp:/bad url", timeout=0.5).get_me()
    except TelegramError as e:
        yield e


def test_token_never_leaks(fake_telegram):
    errors = list(_errors(fake_telegram))
    assert len(errors) == 9
    secret = fake_telegram.token.split(":", 1)[1]
    for e in errors:
        rendered = "".join(traceback.format_exception(e))
        for text in (str(e), repr(e), e.description, rendered, str(e.args)):
            assert secret not in text, text
    assert secret not in repr(BotAPI(fake_telegram.token, fake_telegram.url))


def test_empty_token_rejected():
    with pytest.raises(ValueError):
        BotAPI("")


# -- escape_html -------------------------------------------------------------------

@pytest.mark.parametrize("raw,escaped", [
    ("", ""),
    ("Иван Петров", "Иван Петров"),
    ("Рога & Копыта", "Рога &amp; Копыта"),
    ("<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"),
    ('ООО "Ромашка"', "ООО &quot;Ромашка&quot;"),
    ("O'Brien", "O&#x27;Brien"),  # numeric entities are Telegram HTML too
    ("&amp;", "&amp;amp;"),
    ("😀 +7 (999) 123-45-67", "😀 +7 (999) 123-45-67"),
    ("a > b < c", "a &gt; b &lt; c"),
])
def test_escape_html(raw, escaped):
    assert escape_html(raw) == escaped
    assert telegram_accepts(escaped) == raw


def test_escape_html_in_attribute():
    href = 'https://example.ru/?a=1&b="2"'
    text = f'<a href="{escape_html(href)}">{escape_html("Ссылка <тест>")}</a>'
    assert text == '<a href="https://example.ru/?a=1&amp;b=&quot;2&quot;">Ссылка &lt;тест&gt;</a>'
    telegram_accepts(text)


@given(st.text())
def test_escape_html_roundtrip(s):
    assert html.unescape(escape_html(s)) == s


# -- truncate_html -------------------------------------------------------------------

LONG_RU = "Пропущенный звонок от абонента " * 300


@pytest.mark.parametrize("text,limit,expected", [
    ("Пропущенный звонок", MESSAGE_LIMIT, "Пропущенный звонок"),
    ("a" * 4096, MESSAGE_LIMIT, "a" * 4096),
    ("a" * 4097, MESSAGE_LIMIT, "a" * 4095 + "…"),
    ("b" * 1025, CAPTION_LIMIT, "b" * 1023 + "…"),
    ("Звонок от Иванова Петра", 15, "Звонок от…"),          # cut at a word boundary
    ("📞" * 10, 5, "📞📞…"),                                  # emoji = 2 UTF-16 units
    ("&amp;&amp;&amp;", 8, "&amp;…"),                         # entities are atomic
    ("&lt;script&gt;alert(1)&lt;/script&gt;", 20, "&lt;script&gt;alert…"),  # no space: mid-word
    ("<b>Привет</b> мир", 5, "…"),                             # no room for the tag
    ("<b>Привет мир, это длинный текст</b> и ещё", 20, "<b>Привет мир,…</b>"),
    ("<b><i>Привет</i></b> мир и ещё много слов", 26, "<b><i>Привет</i></b> мир…"),
    ("<b><i>Привет</i></b> мир", 20, "<b><i>Приве…</i></b>"),  # closers reserved
    ('<a href="https://x.ru/?a=1&amp;b=2">Иван Петров</a> звонил', 45,
     '<a href="https://x.ru/?a=1&amp;b=2">Иван…</a>'),
    ("Рога &amp; Копыта", 11, "Рога &amp;…"),
    ("Рога &amp; Копыта", 10, "Рога…"),
    ("anything", 0, ""),
    ("anything", 1, "…"),
])
def test_truncate_html_table(text, limit, expected):
    out = truncate_html(text, limit)
    assert out == expected
    assert utf16_len(out) <= limit
    if out:
        telegram_accepts(out)


@pytest.mark.parametrize("limit", [MESSAGE_LIMIT, CAPTION_LIMIT])
def test_truncate_html_realistic_limits(limit):
    name = escape_html('ООО "Рога & Копыта" <VIP>')
    text = (f"<b>📞 Пропущенный звонок</b>\nОт: <code>+79991234567</code> "
            f"({name})\n<i>{escape_html(LONG_RU)}</i>")
    out = truncate_html(text, limit)
    assert limit - 40 <= utf16_len(out) <= limit
    assert out.endswith("…</i>")
    visible = telegram_accepts(out)
    assert telegram_accepts(text).startswith(visible[:-1])


_TAGS = st.sampled_from([None, "b", "i", "u", "s", "code", "tg-spoiler", "a"])
_PIECES = st.lists(st.tuples(_TAGS, st.text(min_size=1, max_size=40)), max_size=12)


@settings(max_examples=300, deadline=None)
@given(_PIECES, st.integers(min_value=0, max_value=300))
def test_truncate_html_property(pieces, limit):
    """For any escaped-pieces message: fits, parses, and is a prefix of the original."""
    parts = []
    for tag, s in pieces:
        if tag is None:
            parts.append(escape_html(s))
        elif tag == "a":
            parts.append(f'<a href="https://x.ru/?q={escape_html(s)}">{escape_html(s)}</a>')
        else:
            parts.append(f"<{tag}>{escape_html(s)}</{tag}>")
    text = "".join(parts)
    out = truncate_html(text, limit)
    assert utf16_len(out) <= limit
    if out == text:
        return
    visible = telegram_accepts(out)
    assert visible.endswith("…") or out == ""
    assert telegram_accepts(text).startswith(visible[:-1])
    assert not re.search(r"&[a-z#0-9]*…", out)  # no half entity before the ellipsis
