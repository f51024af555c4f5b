"""Requests the shop refuses before any view reads them."""

from django.core.exceptions import BadRequest


class FormBodyIsUTF8Middleware:
    """A form post (``application/x-www-form-urlencoded``) whose body is not UTF-8 is a 400, as Django answers one
    that declares another charset (RFC 1866: such a body is UTF-8).

    Without a charset, Django reads a body that is not UTF-8 as Latin-1 (``QueryDict``'s fallback for "misbehaving
    user agents"), so bytes that are not text — a lone surrogate sent as its three bytes, say — would reach the forms
    as other, valid characters and be saved as they read. The shop's pages are UTF-8 and browsers post their forms in
    the page's encoding: only a hand-made request is refused. Bytes that are not UTF-8 but percent-encoded
    (``%ED%A0%80``), and any in a multipart body, are decoded with U+FFFD in their place, which every form refuses at
    its field (``shop.form_fields.UNSTORABLE``). Query strings are left as Django reads them: they only filter."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.content_type == "application/x-www-form-urlencoded":
            try:
                request.body.decode("utf-8")
            except UnicodeDecodeError:
                raise BadRequest("A form must be sent as UTF-8.") from None
        return self.get_response(request)
