"""What the notification says: the email as the SMTP server received it."""
from notifier.core.workhours import Schedule
from notifier.extensions import db
from notifier.pipeline import delivery as dl
from notifier.services import settings

from .factories import configure_mail, missed_call, voicemail
from .factories import contact as add_contact
from .factories import deliveries as add_deliveries
from .notify_setup import delivery, linked_employee


def send_mail(app, smtp_server, payload, **sub):
    configure_mail(smtp_server)
    sid = linked_employee(**sub).id
    [email_id] = add_deliveries(payload, sid, channels=("email",))
    dl.deliver(email_id)
    assert delivery(email_id).status == "sent", delivery(email_id).last_error
    [mail] = smtp_server.wait_for(1)
    return mail


def parts(mail):
    html = mail.get_body(("html",)).get_content()
    text = mail.get_body(("plain",)).get_content()
    return html, text


def test_missed_call_email_names_the_vip_client_and_links_back(app, smtp_server):
    add_contact("ООО Ромашка", "8 (902) 385-52-70", vip=True)
    mail = send_mail(app, smtp_server, missed_call())
    assert mail["Subject"] == "Пропущенный звонок от +7 902 385-52-70, ООО Ромашка, VIP"
    assert mail.rcpt_tos == ["ivanov@example.com"] and mail.mail_from == "pbx@example.com"
    html, text = parts(mail)
    assert 'href="tel:+79023855270"' in html
    assert "ООО Ромашка" in html and "VIP" in html
    for body in (html, text):
        assert "Иванов Иван (102)" in body
        assert "25.11.2026 10:15" in body  # Europe/Moscow, the default company time zone
        assert "+7 495 123-45-67" in body  # the multi-channel number
    assert "От: +7 902 385-52-70, ООО Ромашка, VIP" in text
    assert "Перезвонить: tel:+79023855270" in text


def test_time_is_shown_in_the_company_time_zone(app, smtp_server):
    settings.put(settings.SCHEDULE_KEY, Schedule.default("Asia/Yekaterinburg").to_json())
    db.session.commit()
    html, text = parts(send_mail(app, smtp_server, missed_call()))
    assert "25.11.2026 12:15" in text and "25.11.2026 12:15" in html


def test_names_are_escaped_and_cannot_inject_headers(app, smtp_server):
    add_contact('<script>alert(1)</script> "Ко" &\r\nBcc: evil@example.com', "+7 902 385-52-70")
    mail = send_mail(app, smtp_server, missed_call(), name="<b>Иванов</b>")
    assert mail.rcpt_tos == ["ivanov@example.com"] and mail["Bcc"] is None
    assert "\n" not in mail["Subject"] and "Bcc: evil@example.com" in mail["Subject"]
    html, text = parts(mail)
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;b&gt;Иванов&lt;/b&gt;" in html and "<b>Иванов</b>" not in html
    assert "<script>alert(1)</script>" in text  # the plain-text part shows names as they are


def test_hidden_caller_has_no_call_back_link(app, smtp_server):
    mail = send_mail(app, smtp_server, missed_call(caller="anonymous"))
    assert mail["Subject"] == "Пропущенный звонок со скрытого номера"
    html, text = parts(mail)
    assert "tel:" not in html and "Перезвонить" not in text


def test_voicemail_without_recording_url_says_so(app, smtp_server):
    mail = send_mail(app, smtp_server, voicemail(caller="101"))
    assert mail["Subject"] == "Голосовое сообщение от 101"
    html, text = parts(mail)
    assert "Длительность: 1 мин 05 с" in text
    assert "Запись: не приложена: АТС не передала адрес записи" in text
    assert 'href="tel:101"' in html
