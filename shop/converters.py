"""URL converters. ``token``: the unguessable tokens and references in shopper URLs (``secrets.token_urlsafe``
characters). Anything else — a NUL byte, which PostgreSQL can't even compare — is a 404 before any query."""

from django.urls import register_converter


class TokenConverter:
    regex = r"[-A-Za-z0-9_]{1,100}"

    def to_python(self, value):
        return value

    def to_url(self, value):
        return value


register_converter(TokenConverter, "token")
