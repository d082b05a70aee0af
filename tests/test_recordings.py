"""Voicemail recordings: only allowed hosts and ports, judged as the client connects,
on every redirect too; at most 20 MB; the notification goes out anyway."""
import pytest

from notifier.channels import recordings
from notifier.channels.recordings import RecordingUnavailable
from notifier.pipeline import delivery as dl

from .factories import configure_mail, configure_telegram, voicemail
from .factories import deliveries as add_deliveries
from .notify_setup import FileServer, delivery, linked_employee

OGG = b"OggS" + b"\x00" * 2000
MP3 = b"ID3" + b"\x01" * 3000


@pytest.fixture
def files():
    with FileServer() as server:
        server.files["/vm/msg-1.ogg"] = (OGG, "audio/ogg")
        server.files["/vm/msg-2.mp3"] = (MP3, "audio/mpeg")
        server.files["/vm/msg-3.wav"] = (b"RIFF" + b"\x02" * 500, "audio/wav")
        server.files["/vm/huge.ogg"] = (OGG, "audio/ogg")
        server.declare["/vm/huge.ogg"] = 25 * 1024 * 1024
        yield server


def test_fetch_from_an_allowed_host(app, files):
    rec = recordings.fetch(files.url("/vm/msg-1.ogg"), [files.host()])
    assert (rec.filename, rec.content_type, rec.data, rec.is_ogg_opus) == ("msg-1.ogg", "audio/ogg", OGG, True)


@pytest.mark.parametrize("url_path, hosts, reason", [
    ("/vm/msg-1.ogg", [], "не входит в список разрешённых"),
    ("/vm/msg-1.ogg", ["pbx.example.com"], "не входит в список разрешённых"),
    ("/vm/missing.ogg", None, "ответил 404"),
    ("/vm/huge.ogg", None, "больше 20 МБ"),
])
def test_fetch_refuses(app, files, url_path, hosts, reason):
    with pytest.raises(RecordingUnavailable, match=reason):
        recordings.fetch(files.url(url_path), [files.host()] if hosts is None else hosts)


def test_fetch_stops_streaming_at_the_limit(app, files):
    with pytest.raises(RecordingUnavailable, match="больше"):
        recordings.fetch(files.url("/vm/msg-2.mp3"), [files.host()], max_bytes=1000)


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/a.ogg", "file:///etc/passwd", "http://127.0.0.1:99999/x",
                                 "http:///nohost"])
def test_only_http_urls_with_a_host(app, url):
    with pytest.raises(RecordingUnavailable, match="не http"):
        recordings.fetch(url, ["127.0.0.1", "127.0.0.1:99999"])


def test_unreachable_server(app):
    with pytest.raises(RecordingUnavailable, match="недоступен"):
        recordings.fetch("http://127.0.0.1:1/a.ogg", ["127.0.0.1:1"])


# --- SSRF: the host judged must be the host connected to ------------------------------------

@pytest.fixture
def internal():
    """A server the PBX must not make the worker read (an internal service on this machine)."""
    with FileServer() as server:
        server.files["/x"] = (b"internal secret", "audio/ogg")
        server.files["/%5C@allowed.example/x"] = (b"internal secret", "audio/ogg")
        yield server


def test_backslash_user_info_does_not_reach_another_host(app, internal):
    """urlsplit reads allowed.example; requests connects to 127.0.0.1:PORT."""
    with pytest.raises(RecordingUnavailable, match="неоднозначно"):
        recordings.fetch(f"http://127.0.0.1:{internal.port}\\@allowed.example/x", ["allowed.example"])
    assert internal.hits == []


@pytest.mark.parametrize("location", [
    "http://127.0.0.1:{port}\\@allowed.example/x",
    "http://127.0.0.1:{port}%5C@allowed.example/x",
    "http://allowed.example\\@127.0.0.1:{port}/x",
    "//127.0.0.1:{port}\\@allowed.example/x",
])
def test_redirect_to_another_host_is_refused(app, files, internal, location):
    files.redirects["/vm/moved.ogg"] = location.format(port=internal.port)
    with pytest.raises(RecordingUnavailable, match="неоднозначно"):
        recordings.fetch(files.url("/vm/moved.ogg", host="localhost"), [files.host("localhost"), "allowed.example"])
    assert files.hits == ["/vm/moved.ogg"] and internal.hits == []


def test_a_listed_host_means_its_default_port(app, files):
    """``localhost`` allows localhost:80 only, not the same host on another port."""
    with pytest.raises(RecordingUnavailable, match="не входит в список разрешённых"):
        recordings.fetch(files.url("/vm/msg-1.ogg", host="localhost"), ["localhost"])
    assert files.hits == []


def test_a_redirect_to_another_port_of_a_listed_host_is_refused(app, files, internal):
    files.redirects["/vm/moved.ogg"] = f"http://localhost:{internal.port}/x"
    with pytest.raises(RecordingUnavailable, match="не входит в список разрешённых"):
        recordings.fetch(files.url("/vm/moved.ogg", host="localhost"), [files.host("localhost"), "localhost"])
    assert internal.hits == []


def test_redirects_are_capped(app, files):
    files.redirects["/loop"] = "/loop"
    with pytest.raises(RecordingUnavailable, match="слишком много перенаправлений"):
        recordings.fetch(files.url("/loop"), [files.host()])
    assert files.hits == ["/loop"] * (recordings.MAX_REDIRECTS + 1)


def deliver_voicemail(app, smtp_server, fake_telegram, url):
    configure_mail(smtp_server)
    configure_telegram(fake_telegram)
    sid = linked_employee().id
    ids = add_deliveries(voicemail(recording_url=url), sid)
    for did in ids:
        dl.deliver(did)
        assert delivery(did).status == "sent", delivery(did).last_error
    [mail] = smtp_server.wait_for(1)
    return mail


def test_ogg_recording_is_attached_and_sent_as_voice(app, smtp_server, fake_telegram, files):
    app.config["RECORDING_URL_HOSTS"] = [files.host()]
    mail = deliver_voicemail(app, smtp_server, fake_telegram, files.url("/vm/msg-1.ogg"))
    [attachment] = list(mail.iter_attachments())
    assert attachment.get_filename() == "msg-1.ogg" and attachment.get_content_type() == "audio/ogg"
    assert attachment.get_content() == OGG
    assert "во вложении" in mail.get_body(("plain",)).get_content()
    [voice] = fake_telegram.sent("sendVoice")
    assert voice["files"]["voice"] == ("msg-1.ogg", OGG)
    assert voice["params"]["duration"] == 65 and "Голосовое сообщение" in voice["params"]["caption"]
    assert fake_telegram.messages == []


@pytest.mark.parametrize("path, method", [("/vm/msg-2.mp3", "sendAudio"), ("/vm/msg-3.wav", "sendDocument")])
def test_other_formats_go_as_audio_or_document(app, smtp_server, fake_telegram, files, path, method):
    app.config["RECORDING_URL_HOSTS"] = [files.host()]
    deliver_voicemail(app, smtp_server, fake_telegram, files.url(path))
    assert len(fake_telegram.sent(method)) == 1 and len(fake_telegram.sent()) == 1


@pytest.mark.parametrize("path, hosts, reason", [
    ("/vm/msg-1.ogg", ["pbx.example.com"], "не входит в список разрешённых"),
    ("/vm/missing.ogg", None, "ответил 404"),
    ("/vm/huge.ogg", None, "больше 20 МБ"),
])
def test_notification_goes_out_without_the_recording(app, smtp_server, fake_telegram, files, path, hosts, reason):
    app.config["RECORDING_URL_HOSTS"] = [files.host()] if hosts is None else hosts
    mail = deliver_voicemail(app, smtp_server, fake_telegram, files.url(path))
    assert list(mail.iter_attachments()) == []
    assert reason in mail.get_body(("plain",)).get_content()
    assert reason in mail.get_body(("html",)).get_content()
    [message] = fake_telegram.messages
    assert reason in message["text"] and "Запись не приложена" in message["text"]


def test_the_attack_in_a_webhook_attaches_nothing(app, smtp_server, fake_telegram, internal):
    """End to end: the internal server's answer never reaches the employee's mail."""
    app.config["RECORDING_URL_HOSTS"] = ["allowed.example"]
    mail = deliver_voicemail(app, smtp_server, fake_telegram, f"http://127.0.0.1:{internal.port}\\@allowed.example/x")
    assert list(mail.iter_attachments()) == [] and internal.hits == []
    assert "неоднозначно" in mail.get_body(("plain",)).get_content()


def test_a_listed_host_by_name_with_a_redirect_within_the_list(app, smtp_server, fake_telegram, files):
    """A host name that resolves (localhost) on its listed port, redirected to a path of
    the same host and then to another listed host:port, is fetched and attached."""
    with FileServer() as mirror:
        mirror.files["/store/msg-1.ogg"] = (OGG, "audio/ogg")
        files.redirects["/vm/latest.ogg"] = "/vm/moved.ogg"
        files.redirects["/vm/moved.ogg"] = mirror.url("/store/msg-1.ogg", host="localhost")
        app.config["RECORDING_URL_HOSTS"] = [files.host("localhost"), mirror.host("localhost")]
        mail = deliver_voicemail(app, smtp_server, fake_telegram, files.url("/vm/latest.ogg", host="localhost"))
    [attachment] = list(mail.iter_attachments())
    assert attachment.get_filename() == "msg-1.ogg" and attachment.get_content() == OGG
    assert files.hits == ["/vm/latest.ogg", "/vm/moved.ogg"] * 2  # e-mail and Telegram each fetch it
    assert mirror.hits == ["/store/msg-1.ogg"] * 2
