"""The admin password rule: long enough, and not one of the commonest or easily guessed."""
import pytest

from notifier.core import passwords


@pytest.mark.parametrize("password, user_inputs, error", [
    ("", (), passwords.TOO_SHORT),
    ("short", (), passwords.TOO_SHORT),
    ("x" * 257, (), passwords.TOO_LONG),
    # the commonest passwords that are long enough for the length rule
    ("aaaaaaaaaa", (), passwords.TOO_COMMON),
    ("1234567890", (), passwords.TOO_COMMON),
    ("qwertyuiop", (), passwords.TOO_COMMON),
    ("password123", (), passwords.TOO_COMMON),
    ("1q2w3e4r5t", (), passwords.TOO_COMMON),
    ("1qaz2wsx3edc", (), passwords.TOO_COMMON),
    ("qwerty123456", (), passwords.TOO_COMMON),
    ("iloveyou12", (), passwords.TOO_COMMON),
    ("abcdefghij", (), passwords.TOO_COMMON),
    ("passwordpassword", (), passwords.TOO_COMMON),
    ("P@ssw0rd123", (), passwords.TOO_COMMON),  # l33t of a listed one
    ("a" * 100, (), passwords.TOO_COMMON),  # longer than the estimator reads
    # the account's own words are easy to guess for whoever knows the email
    ("ivanov.petr2024", ("ivanov.petr@example.com",), passwords.TOO_COMMON),
    # acceptable
    ("correct horse battery", (), None),
    ("long enough pw", (), None),
    ("Kx9-tq2#Lm", (), None),
    ("ivanov.petr2024", (), None),
    ("Kx9-tq2#Lm" + "z" * 246, (), None),  # 256 characters: the longest allowed
])
def test_problem(password, user_inputs, error):
    assert passwords.problem(password, user_inputs) == error
