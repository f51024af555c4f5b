"""Abandoned carts end to end in headless Chromium (issue #13): a shopper fills a cart, gives the e-mail and leaves;
the clock moves on; the beat round writes the reminder to the mail folder; its link opens the cart in another
browser with checkout filled in; the order placed there counts as recovered on the merchant's dashboard."""

import datetime as dt
import email
import email.policy
import re
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone
from playwright.sync_api import expect

from notifications.models import EmailSettings
from orders.models import Order
from shop.backoffice.models import Store
from shop.cart.models import Cart
from shop.cart.tasks import send_cart_reminders
from tests.browser import log_in
from tests.factories import ProductFactory
from tests.test_browser_checkout import COUNT_HTMX, settled

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def messages_in(folder) -> list[email.message.Message]:
    """The e-mails Django's file backend wrote: one file per connection, messages separated by a line of dashes."""
    found = []
    for path in sorted(folder.glob("*.log")):
        for chunk in path.read_text().split("\n" + "-" * 79 + "\n"):
            if chunk.strip():
                found.append(email.message_from_bytes(chunk.strip().encode(), policy=email.policy.default))
    return found


def text_of(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def test_a_left_cart_is_reminded_and_won_back_in_another_browser(
    page, browser, live_server, settings, tmp_path, store, shipping, artifacts
):
    store.plan, store.test_mode = Store.Plan.STANDARD, False  # test orders would not count as recovered sales
    store.save()
    email_settings = EmailSettings.load()
    email_settings.cart_reminders, email_settings.cart_reminders_since = True, timezone.now()
    email_settings.save()
    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_FILE_PATH = tmp_path / "mail"
    settings.SITE_URL = live_server.url
    mug = ProductFactory(name="Enamel Mug", slug="enamel-mug", sku="MUG-1", price=Decimal("24.50"), stock=10)

    # The shopper fills a cart, gives the e-mail and the name at checkout, and leaves.
    page.goto(live_server.url + f"/de/p/{mug.slug}/")
    page.get_by_role("button", name="In den Warenkorb").click()
    expect(page.locator("#cart-count")).to_have_text("1")
    page.goto(live_server.url + "/de/checkout/")
    page.evaluate(COUNT_HTMX)
    page.get_by_label("E-Mail").fill("anna@example.ch")
    page.get_by_role("group", name="2. Lieferung").get_by_label("Vor- und Nachname").fill("Anna Muster")
    page.get_by_role("heading", level=1).click()  # leaves the field: the summary request keeps what was typed
    settled(page)
    cart = Cart.objects.get()
    assert (cart.email, cart.shopper_name, cart.language) == ("anna@example.ch", "Anna Muster", "de")
    page.context.close()

    # Three hours later the beat round sends the first reminder, in the shopper's language, to the mail folder.
    with time_machine.travel(timezone.now() + dt.timedelta(hours=3), tick=True):
        assert send_cart_reminders.apply().get() == {"first": 1, "second": 0}
        [reminder] = messages_in(tmp_path / "mail")
        assert reminder["To"] == "anna@example.ch"
        assert reminder["List-Unsubscribe"].strip().startswith(f"<{live_server.url}/de/email/no-more-reminders/")
        text = text_of(reminder)
        assert "1 × Enamel Mug" in text
        link = re.search(r"(http://\S+/de/cart/recover/\S+/)", text).group(1)
        (artifacts / "cart-reminder.txt").write_text(text)

        # Its link, opened in another browser, brings the cart back with checkout filled in.
        other = browser.new_context(viewport={"width": 1280, "height": 900})
        shopper = other.new_page()
        shopper.goto(link)
        expect(shopper).to_have_url(re.compile(r"/de/checkout/$"))
        expect(shopper.get_by_label("E-Mail")).to_have_value("anna@example.ch")
        address = shopper.get_by_role("group", name="2. Lieferung")
        expect(address.get_by_label("Vor- und Nachname")).to_have_value("Anna Muster")
        expect(shopper.locator("#cart-count")).to_have_text("1")
        shopper.screenshot(path=artifacts / "cart-recovered-checkout.png", full_page=True)
        address.get_by_label("Strasse und Nr.").fill("Bahnhofstrasse 1")
        address.get_by_label("PLZ").fill("8001")
        address.get_by_label("Ort").fill("Zürich")
        shopper.get_by_role("radio", name=re.compile("^Banküberweisung")).check()
        shopper.get_by_role("button", name="Bestellen").click()
        expect(shopper).to_have_url(re.compile(r"/de/order/"))
        order = Order.objects.get()
        cart.refresh_from_db()
        assert (cart.recovered_order, cart.recovered_via) == (order, "link")
        other.close()

        # The merchant's dashboard counts it as recovered, with its revenue.
        merchant = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        log_in(merchant, live_server)
        recovered = merchant.get_by_role("link", name=re.compile("Recovered"))
        expect(recovered).to_contain_text("1")
        expect(recovered).to_contain_text("CHF")
        merchant.screenshot(path=artifacts / "cart-recovered-dashboard.png", full_page=True)
