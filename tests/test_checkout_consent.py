"""Abandoned carts (issue #13): the consent line at checkout ("Remind me by e-mail if I don't finish my order"),
shown only when Settings → Email asks for consent, unticked until the shopper ticks it, kept on the cart as they go."""

import re
from decimal import Decimal

import pytest

from notifications.models import EmailSettings
from shop.cart.models import Cart
from tests.factories import ProductFactory
from tests.test_checkout import ADDRESS, add, u

pytestmark = pytest.mark.django_db
LABEL = "Remind me by e-mail if I don&#x27;t finish my order"


@pytest.fixture
def mug(db):
    return ProductFactory(name="Enamel Mug", sku="MUG-1", price=Decimal("24.50"), stock=10)


@pytest.fixture
def asks_consent(store):
    email_settings = EmailSettings.load()
    email_settings.cart_reminder_consent = True
    email_settings.save()
    return email_settings


def consent_box(page: str) -> str | None:
    found = re.search(r'<input type="checkbox" name="reminder_consent"[^>]*>', page)
    return found.group(0) if found else None


def summary(client, **fields):
    data = {"email": "anna@example.ch", "payment_method": "invoice", **fields}
    response = client.post(u("checkout:summary"), data, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    return Cart.objects.get()


def test_no_consent_line_by_default(client, store, shipping, mug):
    add(client, mug)
    page = client.get(u("checkout:checkout")).content.decode()
    assert "Enamel Mug" in page
    assert consent_box(page) is None and LABEL not in page


def test_without_the_setting_a_posted_consent_is_not_kept(client, store, shipping, mug):
    add(client, mug)
    assert summary(client, reminder_consent="on").reminder_consent is False


def test_the_consent_line_is_shown_unticked_when_the_store_asks(client, asks_consent, shipping, mug):
    add(client, mug)
    page = client.get(u("checkout:checkout")).content.decode()
    box = consent_box(page)
    assert box is not None and "checked" not in box
    assert LABEL in page
    # next to the e-mail, in the contact part
    assert page.index('name="email"') < page.index('name="reminder_consent"') < page.index('name="phone"')


def test_ticking_and_unticking_is_kept_on_the_cart_at_once(client, asks_consent, shipping, mug):
    add(client, mug)
    assert summary(client, reminder_consent="on").reminder_consent is True
    box = consent_box(client.get(u("checkout:checkout")).content.decode())
    assert "checked" in box  # the page comes back as the shopper left it
    assert summary(client).reminder_consent is False  # an unticked box is not posted
    assert "checked" not in consent_box(client.get(u("checkout:checkout")).content.decode())


@pytest.mark.parametrize(("posted", "kept"), [("on", True), ("true", True), ("1", True), ("", False), ("no", False)])
def test_what_counts_as_ticked(client, asks_consent, shipping, mug, posted, kept):
    add(client, mug)
    assert summary(client, reminder_consent=posted).reminder_consent is kept


def test_an_incomplete_order_keeps_the_consent_too(client, asks_consent, shipping, mug):
    add(client, mug)
    response = client.post(u("checkout:checkout"), {**ADDRESS, "email": "anna@example.ch", "reminder_consent": "on"})
    assert response.status_code == 200  # no payment method: the form asks again
    assert "checked" in consent_box(response.content.decode())
    assert Cart.objects.get().reminder_consent is True


def test_the_summary_request_posts_the_whole_form_with_the_box(client, asks_consent, shipping, mug):
    """The consent box is inside the form that htmx posts on every change (hx-post on the form itself), so ticking
    it sends it to the summary endpoint."""
    add(client, mug)
    page = client.get(u("checkout:checkout")).content.decode()
    form = re.search(r"<form class=\"checkout\"[^>]*>.*?</form>", page, re.S).group(0)
    assert f'hx-post="{u("checkout:summary")}"' in form and 'hx-trigger="change"' in form
    assert consent_box(form) is not None
