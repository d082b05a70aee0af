"""The email channel: which SMTP failures are worth retrying."""
import smtplib
import socket

import pytest
from flask_mail import BadHeaderError

from notifier.channels import Permanent, Transient
from notifier.channels.email import classify


@pytest.mark.parametrize("exc, kind", [
    (smtplib.SMTPDataError(451, b"Try again later"), Transient),
    (smtplib.SMTPSenderRefused(452, b"Too many", "a@b"), Transient),
    (smtplib.SMTPDataError(554, b"Rejected"), Permanent),
    (smtplib.SMTPRecipientsRefused({"a@b": (550, b"No such user")}), Permanent),
    (smtplib.SMTPRecipientsRefused({"a@b": (450, b"Mailbox busy")}), Transient),
    (smtplib.SMTPAuthenticationError(535, b"Bad credentials"), Permanent),
    (smtplib.SMTPNotSupportedError("STARTTLS"), Permanent),
    (smtplib.SMTPServerDisconnected("Connection unexpectedly closed"), Transient),
    (ConnectionRefusedError(111, "refused"), Transient),
    (socket.timeout("timed out"), Transient),
    (socket.gaierror(-3, "Temporary failure in name resolution"), Transient),
    (BadHeaderError(), Permanent),
])
def test_classification(exc, kind):
    result = classify(exc)
    assert type(result) is kind
    assert str(result)  # a reason for the «Журнал»
