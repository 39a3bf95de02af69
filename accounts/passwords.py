"""The rules a password that a person chooses must follow (README "Roles and administration").

A password has at least ``MIN_LENGTH`` characters (any characters, spaces and Greek letters
included: a passphrase is welcome), at most ``MAX_LENGTH``, and is not the person's e-mail
address, one character repeated, nor one of the commonest passwords.
"""

from __future__ import annotations

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l

MIN_LENGTH = 10
MAX_LENGTH = 1024

# The commonest passwords of at least MIN_LENGTH characters (from public breach lists).
COMMON = frozenset(
    {
        "1234567890",
        "0123456789",
        "12345678910",
        "1q2w3e4r5t",
        "qwertyuiop",
        "password123",
        "password12",
        "password1!",
        "iloveyou12",
        "qwerty1234",
        "1qaz2wsx3edc",
        "passw0rd123",
        "administrator",
        "letmein123",
        "welcome123",
        "abcdefghij",
        "evaluator123",
    }
)


def password_problems(password: str, *, email: str = "") -> list[LazyString]:
    """What is wrong with ``password`` (an empty list: nothing)."""
    problems: list[LazyString] = []
    if len(password) < MIN_LENGTH:
        problems.append(_l("The password must have at least %(n)d characters.", n=MIN_LENGTH))
    if len(password) > MAX_LENGTH:
        problems.append(_l("The password must have at most %(n)d characters.", n=MAX_LENGTH))
    folded = password.strip().casefold()
    if folded and len(set(folded)) == 1:
        problems.append(_l("The password must not repeat one character."))
    if email and folded == email.strip().casefold():
        problems.append(_l("The password must not be your e-mail address."))
    if folded in COMMON:
        problems.append(_l("This password is too common: choose another."))
    return problems
