"""The session store: Django's database sessions, where a session key is one Django could have made.

A session cookie is the shopper's or merchant's to change: one with a NUL (``sessionid="abcdefgh\\000…"``, which the
cookie parser unquotes to a NUL) reached the session table's look-up, which PostgreSQL refuses with an error — a 500
on every back-office page. A key of other characters than Django draws its keys from (lower-case letters and digits)
is no key: the request goes on without a session, as with a session that has expired."""

from django.contrib.sessions.backends import db
from django.contrib.sessions.backends.base import VALID_KEY_CHARS


class SessionStore(db.SessionStore):
    def _validate_session_key(self, key):
        return super()._validate_session_key(key) and all(char in VALID_KEY_CHARS for char in key)
