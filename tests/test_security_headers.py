"""The Content-Security-Policy (django-csp): the shop's pages allow scripts, styles and frames from the shop only and
nothing inline; the templates keep to it (no inline script, event handler or style attribute), e-mails aside."""

import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.django_db
TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


def policy(response) -> dict:
    header = response.headers["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in header.split("; ") if part}


def test_storefront_and_back_office_pages_carry_the_policy(client, store, staff):
    for url in ("/en/", "/en/cart/", "/backoffice/", "/backoffice/orders/"):
        directives = policy(client.get(url))
        assert directives["script-src"] == ["'self'"], url
        assert directives["style-src"] == ["'self'"], url
        assert directives["object-src"] == ["'none'"] and directives["frame-ancestors"] == ["'self'"], url
        assert "form-action" not in directives, url  # checkout redirects to the providers' pages after its POST


def test_the_email_preview_frame_may_style_inline_and_django_admin_is_left_out(client, store, staff):
    frame = client.get("/backoffice/settings/email/preview/order_confirmation/de/?part=html")
    assert policy(frame)["style-src"] == ["'self'", "'unsafe-inline'"]
    assert policy(frame)["script-src"] == ["'self'"]
    assert "Content-Security-Policy" not in client.get("/django-admin/login/").headers


INLINE = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>|\son[a-z]+=\"|\sstyle=\"", re.IGNORECASE)


def test_no_template_but_the_emails_has_inline_script_or_style():
    found = [
        f"{path.relative_to(TEMPLATES)}: {match.group(0).strip()}"
        for path in TEMPLATES.rglob("*.html")
        if "emails" not in path.relative_to(TEMPLATES).parts and path.name != "email_frame.html"
        for match in INLINE.finditer(path.read_text())
    ]
    assert found == []
