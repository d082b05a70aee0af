"""Voicemail recordings: only allowed hosts, at most 20 MB; the notification goes out anyway."""
import pytest

from notifier.pipeline import delivery as dl
from notifier.channels import recordings
from notifier.channels.recordings import RecordingUnavailable

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
    rec = recordings.fetch(files.url("/vm/msg-1.ogg"), ["127.0.0.1"])
    assert (rec.filename, rec.content_type, rec.data, rec.is_ogg_opus) == ("msg-1.ogg", "audio/ogg", OGG, True)


@pytest.mark.parametrize("url_path, hosts, reason", [
    ("/vm/msg-1.ogg", [], "не входит в список разрешённых"),
    ("/vm/msg-1.ogg", ["pbx.example.com"], "не входит в список разрешённых"),
    ("/vm/missing.ogg", ["127.0.0.1"], "ответил 404"),
    ("/vm/huge.ogg", ["127.0.0.1"], "больше 20 МБ"),
])
def test_fetch_refuses(app, files, url_path, hosts, reason):
    with pytest.raises(RecordingUnavailable, match=reason):
        recordings.fetch(files.url(url_path), hosts)


def test_fetch_stops_streaming_at_the_limit(app, files):
    with pytest.raises(RecordingUnavailable, match="больше"):
        recordings.fetch(files.url("/vm/msg-2.mp3"), ["127.0.0.1"], max_bytes=1000)


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/a.ogg", "file:///etc/passwd", "http://127.0.0.1:99999/x",
                                 "http:///nohost"])
def test_only_http_urls_with_a_host(url):
    assert not recordings.host_allowed(url, ["127.0.0.1"])


def test_unreachable_server(app):
    with pytest.raises(RecordingUnavailable, match="недоступен"):
        recordings.fetch("http://127.0.0.1:1/a.ogg", ["127.0.0.1"])


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
    app.config["RECORDING_URL_HOSTS"] = ["127.0.0.1"]
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
    app.config["RECORDING_URL_HOSTS"] = ["127.0.0.1"]
    deliver_voicemail(app, smtp_server, fake_telegram, files.url(path))
    assert len(fake_telegram.sent(method)) == 1 and len(fake_telegram.sent()) == 1


@pytest.mark.parametrize("path, hosts, reason", [
    ("/vm/msg-1.ogg", ["pbx.example.com"], "не входит в список разрешённых"),
    ("/vm/missing.ogg", ["127.0.0.1"], "ответил 404"),
    ("/vm/huge.ogg", ["127.0.0.1"], "больше 20 МБ"),
])
def test_notification_goes_out_without_the_recording(app, smtp_server, fake_telegram, files, path, hosts, reason):
    app.config["RECORDING_URL_HOSTS"] = hosts
    mail = deliver_voicemail(app, smtp_server, fake_telegram, files.url(path))
    assert list(mail.iter_attachments()) == []
    assert reason in mail.get_body(("plain",)).get_content()
    assert reason in mail.get_body(("html",)).get_content()
    [message] = fake_telegram.messages
    assert reason in message["text"] and "Запись не приложена" in message["text"]
