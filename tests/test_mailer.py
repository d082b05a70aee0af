"""mailer.send_message: the settings saved in the UI, over a real socket, errors untouched."""
import smtplib
import socket

import pytest
from flask_mail import BadHeaderError, Message

from notifier.channels import mailer
from notifier.extensions import db
from notifier.services import settings


def configure(app, **values):
    settings.put(settings.MAIL_KEY, values)
    db.session.commit()


def test_sends_with_the_ui_settings_and_fills_in_the_sender(app, smtp_server):
    configure(app, server=smtp_server.host, port=smtp_server.port, sender="Офис <office@example.com>")
    mailer.send_message(Message("Пропущенный звонок", recipients=["a@example.com"], body="Текст"))
    mailer.send_message(Message("Второе", recipients=["b@example.com"], body="x", sender="other@example.com"))
    first, second = smtp_server.wait_for(2)
    assert first.mail_from == "office@example.com" and "Офис" in str(first["From"])
    assert first["Subject"] == "Пропущенный звонок" and first.get_content().strip() == "Текст"
    assert second.mail_from == "other@example.com"


def test_not_configured(app):
    with pytest.raises(mailer.MailNotConfigured):
        mailer.send_message(Message("x", recipients=["a@example.com"], body="x"))


def test_temporary_and_permanent_rejections_keep_their_codes(app, smtp_server):
    configure(app, server=smtp_server.host, port=smtp_server.port, sender="pbx@example.com")
    smtp_server.fail_next(451)
    with pytest.raises(smtplib.SMTPResponseException) as exc:
        mailer.send_message(Message("x", recipients=["a@example.com"], body="x"))
    assert exc.value.smtp_code == 451
    smtp_server.fail_next(550, stage="RCPT")
    with pytest.raises(smtplib.SMTPRecipientsRefused) as exc:
        mailer.send_message(Message("x", recipients=["a@example.com"], body="x"))
    assert "550" in mailer.error_text(exc.value)


def test_starttls_against_a_server_without_it_fails_clearly(app, smtp_server):
    configure(app, server=smtp_server.host, port=smtp_server.port, sender="pbx@example.com", use_tls=True)
    with pytest.raises(smtplib.SMTPNotSupportedError) as exc:
        mailer.send_message(Message("x", recipients=["a@example.com"], body="x"))
    assert "не поддерживает" in mailer.error_text(exc.value)
    assert smtp_server.messages == []


def test_header_injection_is_refused(app, smtp_server):
    configure(app, server=smtp_server.host, port=smtp_server.port, sender="pbx@example.com")
    with pytest.raises(BadHeaderError):
        mailer.send_message(Message("x\nBcc: evil@example.com", recipients=["a@example.com"], body="x"))
    assert smtp_server.messages == []


def test_a_server_that_never_answers_times_out(app):
    """Accepts the TCP connection but sends no greeting: the send must give up, not hang."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        configure(app, server="127.0.0.1", port=silent.getsockname()[1], sender="pbx@example.com")
        app.config["SMTP_TIMEOUT"] = 0.5
        with pytest.raises((socket.timeout, TimeoutError, smtplib.SMTPServerDisconnected)) as exc:
            mailer.send_message(Message("x", recipients=["a@example.com"], body="x"))
        assert mailer.error_text(exc.value)


def test_on_accepted_runs_after_data_and_before_quit_and_a_lost_quit_is_no_error(app, smtp_server):
    configure(app, server=smtp_server.host, port=smtp_server.port, sender="pbx@example.com")
    steps = []
    smtp_server.drop_at_quit(before=lambda: steps.append("QUIT"))
    mailer.send_message(Message("x", recipients=["a@example.com"], body="x"),
                        on_accepted=lambda: steps.append(f"accepted, {len(smtp_server.messages)} stored"))
    assert steps == ["accepted, 1 stored", "QUIT"] and smtp_server.quits == ["dropped"]


def test_on_accepted_is_not_called_for_a_refused_message(app, smtp_server):
    configure(app, server=smtp_server.host, port=smtp_server.port, sender="pbx@example.com")
    smtp_server.fail_next(451)
    steps = []
    with pytest.raises(smtplib.SMTPResponseException):
        mailer.send_message(Message("x", recipients=["a@example.com"], body="x"), on_accepted=lambda: steps.append(1))
    assert steps == [] and smtp_server.quits == ["answered"]


@pytest.mark.parametrize("sender, username, domain", [
    ("АТС <pbx@Example.COM>", None, "example.com"),
    ("pbx@mail.example.org", None, "mail.example.org"),
    (None, "robot@example.net", "example.net"),
    (None, "robot", mailer.FALLBACK_DOMAIN),
    ("pbx@[127.0.0.1]", None, mailer.FALLBACK_DOMAIN),
    ("pbx@exa_mple.com", None, mailer.FALLBACK_DOMAIN),
    ("pbx@-example.com", None, mailer.FALLBACK_DOMAIN),
])
def test_message_id_takes_the_sender_domain(app, sender, username, domain):
    configure(app, server="smtp.example.com", sender=sender, username=username, password="x" if username else None)
    assert mailer.message_id("delivery-7.0123456789abcdef") == f"<delivery-7.0123456789abcdef@{domain}>"


# -- kept sessions (issue 15): notifications reuse one SMTP session --------------------------

def note(n: int) -> Message:
    return Message(f"Уведомление {n}", recipients=[f"u{n}@example.com"], body="x")


def test_notifications_share_one_session(app, smtp_server):
    configure(app, server=smtp_server.host, port=smtp_server.port, sender="pbx@example.com")
    for n in range(3):
        mailer.send_message(note(n), reuse=True)
    assert [m.rcpt_tos for m in smtp_server.wait_for(3)] == [["u0@example.com"], ["u1@example.com"], ["u2@example.com"]]
    assert smtp_server.sessions == 1 and smtp_server.quits == []
    mailer.pool(app).close()
    assert smtp_server.quits == ["answered"]


def test_a_session_the_server_dropped_meanwhile_is_replaced_and_the_mail_sent_once(app, smtp_server):
    configure(app, server=smtp_server.host, port=smtp_server.port, sender="pbx@example.com")
    mailer.send_message(note(1), reuse=True)
    smtp_server.wait_for(1)
    assert smtp_server.close_sessions() == 1  # the server drops the idle client
    accepted = []
    mailer.send_message(note(2), on_accepted=lambda: accepted.append(len(smtp_server.messages)), reuse=True)
    assert accepted == [2] and len(smtp_server.wait_for(2)) == 2 and smtp_server.sessions == 2


def test_a_session_idle_too_long_is_closed_not_used(app, smtp_server):
    configure(app, server=smtp_server.host, port=smtp_server.port, sender="pbx@example.com")
    pool = mailer.pool(app)
    pool.MAX_IDLE = 0.0
    mailer.send_message(note(1), reuse=True)
    mailer.send_message(note(2), reuse=True)
    assert len(smtp_server.wait_for(2)) == 2
    assert smtp_server.sessions == 2 and smtp_server.quits == ["answered"]


def test_a_session_is_closed_after_so_many_messages(app, smtp_server):
    configure(app, server=smtp_server.host, port=smtp_server.port, sender="pbx@example.com")
    mailer.pool(app).MAX_MESSAGES = 2
    for n in range(3):
        mailer.send_message(note(n), reuse=True)
    assert len(smtp_server.wait_for(3)) == 3
    assert smtp_server.sessions == 2 and smtp_server.quits == ["answered"]


def test_a_session_that_failed_a_send_is_not_kept(app, smtp_server):
    """A 4xx at DATA reaches the caller untouched; the next mail goes on a new session."""
    configure(app, server=smtp_server.host, port=smtp_server.port, sender="pbx@example.com")
    smtp_server.fail_next(451)
    with pytest.raises(smtplib.SMTPResponseException) as exc:
        mailer.send_message(note(1), reuse=True)
    assert exc.value.smtp_code == 451
    mailer.send_message(note(2), reuse=True)
    assert len(smtp_server.wait_for(1)) == 1 and smtp_server.sessions == 2


def test_other_settings_get_their_own_session(app, smtp_server):
    """Settings saved in the UI apply to the next mail: a kept session of the old ones is not used."""
    from tests.fakes.smtp_server import FakeSMTP

    configure(app, server=smtp_server.host, port=smtp_server.port, sender="pbx@example.com")
    mailer.send_message(note(1), reuse=True)
    with FakeSMTP() as other:
        configure(app, server=other.host, port=other.port, sender="pbx@example.com")
        mailer.send_message(note(2), reuse=True)
        assert len(other.wait_for(1)) == 1 and len(smtp_server.messages) == 1
        mailer.pool(app).close()
