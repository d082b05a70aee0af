"""The test doubles themselves: if these lie, every other test lies too."""
import json
import smtplib
import threading
import time
from email.message import EmailMessage

import pytest
import requests

from tests.fakes.smtp_server import FakeSMTP
from tests.fakes.telegram_server import FakeTelegram

CHAT = 5550001


def _call(tg, method, token=None, timeout=5, **kw):
    r = requests.post(f"{tg.url}/bot{token or tg.token}/{method}", timeout=timeout, **kw)
    return r.status_code, r.json()


# -- FakeTelegram ------------------------------------------------------------------

def test_wrong_token_gets_401(fake_telegram):
    status, body = _call(fake_telegram, "getMe", token="123456:OTHER")
    assert status == 401
    assert body == {"ok": False, "error_code": 401, "description": "Unauthorized"}
    assert fake_telegram.sent() == []


def test_unknown_method_404_and_case_insensitive_names(fake_telegram):
    assert _call(fake_telegram, "sendPigeon")[0] == 404
    status, body = _call(fake_telegram, "getme")
    assert status == 200 and body["result"]["username"] == fake_telegram.bot_username


@pytest.mark.parametrize("how", ["json", "form", "query", "multipart"])
def test_params_in_any_encoding(fake_telegram, how):
    params = {"chat_id": CHAT, "text": "Привет & <b>до</b> встречи", "parse_mode": "HTML",
              "disable_notification": True}
    url = f"{fake_telegram.url}/bot{fake_telegram.token}/sendMessage"
    if how == "json":
        r = requests.post(url, json=params, timeout=5)
    elif how == "form":
        r = requests.post(url, data={**params, "disable_notification": "true"}, timeout=5)
    elif how == "query":
        r = requests.get(url, params={**params, "disable_notification": "true"}, timeout=5)
    else:
        r = requests.post(url, files={k: (None, str(v).lower() if isinstance(v, bool) else str(v))
                                      for k, v in params.items()}, timeout=5)
    assert r.status_code == 200, r.text
    assert fake_telegram.messages == [params]
    assert r.json()["result"]["text"] == "Привет & до встречи"


def test_json_fields_decoded_from_form(fake_telegram):
    markup = {"inline_keyboard": [[{"text": "Перезвонить", "callback_data": "cb:1"}]]}
    _call(fake_telegram, "sendMessage",
          data={"chat_id": str(CHAT), "text": "x", "reply_markup": json.dumps(markup)})
    assert fake_telegram.messages[0]["reply_markup"] == markup


def test_multipart_file_bytes_intact(fake_telegram):
    data = bytes(range(256)) * 50 + b"\r\n--\r\n"
    status, body = _call(fake_telegram, "sendDocument", data={"chat_id": CHAT},
                         files={"document": ("отчёт.bin", data, "application/octet-stream")})
    assert status == 200 and body["result"]["document"]["file_size"] == len(data)
    assert fake_telegram.sent("sendDocument")[0]["files"] == {"document": ("отчёт.bin", data)}


@pytest.mark.parametrize("text,error", [
    ("<script>x</script>", 'Unsupported start tag "script"'),
    ("<b>x", 'Can\'t find end tag corresponding to start tag "b"'),
    ("<b>x</i>", "Unmatched end tag"),
    ("a < b", "can't parse entities"),
    ("", "message text is empty"),
    ("x" * 4097, "message is too long"),
])
def test_send_message_validated_like_telegram(fake_telegram, text, error):
    status, body = _call(fake_telegram, "sendMessage",
                         json={"chat_id": CHAT, "text": text, "parse_mode": "HTML"})
    assert status == 400 and error in body["description"]


def test_limit_counts_visible_utf16_text(fake_telegram):
    ok = "<b>" + "я" * 4096 + "</b>"  # markup does not count
    assert _call(fake_telegram, "sendMessage", json={"chat_id": CHAT, "text": ok,
                                                     "parse_mode": "HTML"})[0] == 200
    emoji = "😀" * 2049  # 4098 UTF-16 units
    assert _call(fake_telegram, "sendMessage", json={"chat_id": CHAT, "text": emoji})[0] == 400


@pytest.mark.parametrize("kind,status,desc", [
    ("429", 429, "Too Many Requests: retry after 3"),
    ("500", 500, "Internal Server Error"),
    ("403", 403, "Forbidden: bot was blocked by the user"),
    ("400", 400, "Bad Request: chat not found"),
])
def test_fail_next_kinds(fake_telegram, kind, status, desc):
    fake_telegram.fail_next(kind, retry_after=3)
    got_status, body = _call(fake_telegram, "sendMessage", json={"chat_id": CHAT, "text": "x"})
    assert (got_status, body["ok"], body["error_code"], body["description"]) == \
        (status, False, status, desc)
    if kind == "429":
        assert body["parameters"] == {"retry_after": 3}
    assert fake_telegram.messages == []
    assert _call(fake_telegram, "sendMessage", json={"chat_id": CHAT, "text": "x"})[0] == 200
    assert [r["status"] for r in fake_telegram.requests] == [status, 200]


def test_fail_next_502_is_html(fake_telegram):
    fake_telegram.fail_next("502")
    r = requests.post(f"{fake_telegram.url}/bot{fake_telegram.token}/getMe", timeout=5)
    assert r.status_code == 502 and r.headers["Content-Type"] == "text/html"


def test_fail_next_count_and_method_filter(fake_telegram):
    fake_telegram.fail_next("500", count=2, method="sendMessage")
    assert _call(fake_telegram, "getMe")[0] == 200
    send = {"json": {"chat_id": CHAT, "text": "x"}}
    assert [_call(fake_telegram, "sendMessage", **send)[0] for _ in range(3)] == [500, 500, 200]
    with pytest.raises(ValueError):
        fake_telegram.fail_next("418")


def test_hang_is_bounded_by_hang_max():
    with FakeTelegram(hang_max=0.5) as tg:
        tg.fail_next("hang")
        t0 = time.monotonic()
        status, _ = _call(tg, "getMe", timeout=10)
        assert status == 504 and 0.4 < time.monotonic() - t0 < 5


def test_hang_released_by_stop():
    tg = FakeTelegram().start()  # default hang_max=30
    tg.fail_next("hang")
    results = []
    t = threading.Thread(target=lambda: results.append(_call(tg, "getMe", timeout=10)[0]))
    t.start()
    time.sleep(0.3)
    t0 = time.monotonic()
    tg.stop()
    t.join(5)
    assert not t.is_alive() and time.monotonic() - t0 < 3


def test_client_timeout_during_hang(fake_telegram):
    fake_telegram.fail_next("hang")
    with pytest.raises(requests.Timeout):
        _call(fake_telegram, "sendMessage", timeout=0.3, json={"chat_id": CHAT, "text": "x"})
    assert fake_telegram.requests[0]["status"] is None  # still "in flight"


def test_get_updates_long_poll_returns_when_pushed(fake_telegram):
    threading.Timer(0.3, fake_telegram.push_update, ("/start", CHAT)).start()
    t0 = time.monotonic()
    status, body = _call(fake_telegram, "getUpdates", json={"timeout": 20})
    assert status == 200 and time.monotonic() - t0 < 5
    [update] = body["result"]
    msg = update["message"]
    assert msg["text"] == "/start" and msg["chat"] == {
        "id": CHAT, "type": "private", "first_name": "Иван", "last_name": "Петров",
        "username": "ivan_petrov"}
    assert msg["from"]["id"] == CHAT and not msg["from"]["is_bot"]
    assert msg["entities"] == [{"type": "bot_command", "offset": 0, "length": 6}]
    assert isinstance(msg["date"], int)


def test_get_updates_long_poll_times_out_empty(fake_telegram):
    t0 = time.monotonic()
    status, body = _call(fake_telegram, "getUpdates", data={"timeout": "1"})
    assert (status, body["result"]) == (200, [])
    assert 0.9 < time.monotonic() - t0 < 3


def test_get_updates_offset_semantics(fake_telegram):
    ids = [fake_telegram.push_update(f"m{i}", CHAT)["update_id"] for i in range(3)]
    assert ids == sorted(ids) and len(set(ids)) == 3
    got = _call(fake_telegram, "getUpdates", json={"offset": ids[1]})[1]["result"]
    assert [u["update_id"] for u in got] == ids[1:]
    # ids[0] was confirmed by asking for offset ids[1]: gone for good.
    got = _call(fake_telegram, "getUpdates", json={})[1]["result"]
    assert [u["update_id"] for u in got] == ids[1:]
    got = _call(fake_telegram, "getUpdates", json={"offset": -1})[1]["result"]
    assert [u["update_id"] for u in got] == ids[2:]
    assert _call(fake_telegram, "getUpdates", json={"limit": 1, "offset": ids[2] + 1}
                 )[1]["result"] == []


def test_push_raw_and_custom_sender(fake_telegram):
    raw = fake_telegram.push_raw({"update_id": 5, "callback_query": {"id": "1", "data": "x"}})
    assert raw["update_id"] == 5
    user = {"id": 77, "is_bot": False, "first_name": "Ann"}
    nxt = fake_telegram.push_update("hi", CHAT, from_user=user)
    assert nxt["update_id"] > 5 and nxt["message"]["from"] == user
    assert [u["update_id"] for u in fake_telegram.pending_updates] == [5, nxt["update_id"]]


def test_webhook_conflict_and_https_only(fake_telegram):
    assert _call(fake_telegram, "setWebhook", json={"url": "http://insecure.example"})[0] == 400
    assert _call(fake_telegram, "setWebhook", json={"url": "https://ok.example/h",
                                                    "secret_token": "bad token!"})[0] == 400
    assert _call(fake_telegram, "setWebhook", json={"url": "https://ok.example/h",
                                                    "secret_token": "good_token"})[0] == 200
    fake_telegram.push_update("x", CHAT)
    info = _call(fake_telegram, "getWebhookInfo")[1]["result"]
    assert info["url"] == "https://ok.example/h" and info["pending_update_count"] == 1
    assert _call(fake_telegram, "getUpdates")[0] == 409
    assert _call(fake_telegram, "deleteWebhook", json={"drop_pending_updates": True})[0] == 200
    assert fake_telegram.webhook is None and fake_telegram.pending_updates == []


def test_wait_for_and_reset(fake_telegram):
    threading.Timer(0.2, _call, (fake_telegram, "sendMessage"),
                    {"json": {"chat_id": CHAT, "text": "позже"}}).start()
    [params] = fake_telegram.wait_for(1)
    assert params["text"] == "позже"
    with pytest.raises(AssertionError, match="expected 2 x sendMessage, got 1"):
        fake_telegram.wait_for(2, timeout=0.2)
    fake_telegram.fail_next("500")
    fake_telegram.push_update("x", CHAT)
    fake_telegram.reset()
    assert fake_telegram.requests == [] and fake_telegram.pending_updates == []
    assert _call(fake_telegram, "getMe")[0] == 200  # the failure was cleared too


def test_concurrent_senders_all_recorded(fake_telegram):
    def send(i):
        _call(fake_telegram, "sendMessage", json={"chat_id": CHAT, "text": f"m{i}"})
    threads = [threading.Thread(target=send, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(m["text"] for m in fake_telegram.wait_for(20)) == sorted(
        f"m{i}" for i in range(20))
    ids = {requests.post(f"{fake_telegram.url}/bot{fake_telegram.token}/sendMessage",
                         json={"chat_id": CHAT, "text": "u"}, timeout=5).json()
           ["result"]["message_id"] for _ in range(3)}
    assert len(ids) == 3  # message ids stay unique


# -- FakeSMTP ----------------------------------------------------------------------

def _mail(subject="Пропущенный звонок", to="ivan@example.ru", bcc=None):
    msg = EmailMessage()
    msg["From"] = "Уведомления <noreply@example.ru>"
    msg["To"] = to
    msg["Subject"] = subject
    if bcc:
        msg["Bcc"] = bcc
    msg.set_content("Звонок от +7 999 123-45-67 в 12:30")
    msg.add_attachment(b"OggS\x00\x01", maintype="audio", subtype="ogg",
                       filename="голосовое.ogg")
    return msg


def _send(smtp, msg, **kw):
    with smtplib.SMTP(smtp.host, smtp.port, timeout=5) as s:
        s.send_message(msg, **kw)


def test_smtp_receives_parsed_message(smtp_server):
    _send(smtp_server, _mail(bcc="boss@example.ru"))
    [got] = smtp_server.wait_for(1)
    assert got["Subject"] == "Пропущенный звонок"
    assert got["To"] == "ivan@example.ru" and "Bcc" not in got
    assert got.mail_from == "noreply@example.ru"
    assert got.rcpt_tos == ["ivan@example.ru", "boss@example.ru"]
    assert "+7 999 123-45-67" in got.get_body(("plain",)).get_content()
    [att] = got.iter_attachments()
    assert att.get_filename() == "голосовое.ogg" and att.get_content() == b"OggS\x00\x01"


def test_smtp_wait_for_times_out(smtp_server):
    with pytest.raises(AssertionError, match="expected 1 message"):
        smtp_server.wait_for(1, timeout=0.2)


def test_smtp_transient_data_failure_then_success(smtp_server):
    smtp_server.fail_next(451, count=2)
    for _ in range(2):
        with pytest.raises(smtplib.SMTPDataError) as ei:
            _send(smtp_server, _mail())
        assert ei.value.smtp_code == 451 and b"Try again later" in ei.value.smtp_error
    _send(smtp_server, _mail())
    assert len(smtp_server.wait_for(1)) == 1
    assert smtp_server.rejections == [("DATA", 451), ("DATA", 451)]


def test_smtp_permanent_rcpt_failure(smtp_server):
    smtp_server.fail_next(550, message="No such user", stage="RCPT")
    with pytest.raises(smtplib.SMTPRecipientsRefused) as ei:
        _send(smtp_server, _mail(to="nobody@example.ru"))
    assert ei.value.recipients["nobody@example.ru"][0] == 550
    assert smtp_server.messages == []


def test_smtp_down_and_back_on_same_port(smtp_server):
    port = smtp_server.port
    smtp_server.refuse_connections()
    with pytest.raises(ConnectionRefusedError):
        _send(smtp_server, _mail())
    smtp_server.accept_connections()
    assert smtp_server.port == port
    _send(smtp_server, _mail())
    assert len(smtp_server.wait_for(1)) == 1


def test_smtp_auth_any_credentials_by_default(smtp_server):
    with smtplib.SMTP(smtp_server.host, smtp_server.port, timeout=5) as s:
        s.login("user@example.ru", "whatever")
        s.send_message(_mail())
    assert smtp_server.logins == ["user@example.ru"]
    smtp_server.reset()
    assert smtp_server.logins == [] and smtp_server.messages == []


def test_smtp_auth_checks_configured_credentials():
    with FakeSMTP(credentials=("mailer", "s3cret")) as smtp:
        with smtplib.SMTP(smtp.host, smtp.port, timeout=5) as s:
            with pytest.raises(smtplib.SMTPAuthenticationError):
                s.login("mailer", "wrong")
        with smtplib.SMTP(smtp.host, smtp.port, timeout=5) as s:
            s.login("mailer", "s3cret")
            s.send_message(_mail())
        assert len(smtp.wait_for(1)) == 1


def test_smtp_fail_next_validates_stage(smtp_server):
    with pytest.raises(ValueError):
        smtp_server.fail_next(451, stage="HELO")
