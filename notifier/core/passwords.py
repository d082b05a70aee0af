"""Which admin passwords are refused, and the Russian words for why.

Length alone lets ``aaaaaaaaaa`` or ``1234567890`` through. The estimate comes
from zxcvbn (Dropbox's estimator, kept on PyPI): it ships a ranked list of the
30,000 commonest leaked passwords plus English words and names, and also
catches repeats, sequences, keyboard walks and l33t variants of them, which a
bare list would not. A password it expects to be guessed in under 10^6 tries
(score 0 or 1) is refused: every password of that list falls there.

Pure (no Flask): the setup page, the password change and ``create-admin`` all
ask :func:`problem`.
"""
from __future__ import annotations

import threading
from collections.abc import Iterable

MIN_LENGTH = 10
MAX_LENGTH = 256
# zxcvbn refuses longer input (its matching grows fast with length); the first
# 72 characters decide, which is plenty to tell a common password.
ESTIMATE_LENGTH = 72
MIN_SCORE = 2  # zxcvbn: 0-1 = guessable in under 10^6 tries

TOO_SHORT = f"Пароль — от {MIN_LENGTH} символов"
TOO_LONG = f"Пароль — не длиннее {MAX_LENGTH} символов"
TOO_COMMON = ("Этот пароль слишком распространён или легко угадывается "
              "(повторы, последовательности, ряды клавиатуры, частые слова). Выберите другой.")

# zxcvbn keeps the user inputs in a module-level dictionary while it matches,
# so two threads estimating at once could see each other's inputs.
_lock = threading.Lock()


def problem(password: str, user_inputs: Iterable[str] = ()) -> str | None:
    """Why ``password`` is refused (Russian), or None if it is acceptable.

    ``user_inputs`` are words of this account (its email, the product name) that
    make a password easy to guess for someone who knows them.
    """
    if len(password) < MIN_LENGTH:
        return TOO_SHORT
    if len(password) > MAX_LENGTH:
        return TOO_LONG
    words = []
    for value in user_inputs:
        value = (value or "").strip().lower()
        if value:
            words.append(value)
            words.extend(value.split("@"))  # an email's mailbox and domain
            words.extend(part for part in value.replace("@", " ").replace(".", " ").split() if len(part) > 2)
    # Imported here: its word lists hold about 12 MB, wanted only where a password is set (issue 17).
    from zxcvbn import zxcvbn

    with _lock:
        score = zxcvbn(password[:ESTIMATE_LENGTH], user_inputs=words)["score"]
    return TOO_COMMON if score < MIN_SCORE else None
