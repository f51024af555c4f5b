"""A shopper pays by card on (the stand-in of) Stripe's page in headless Chromium: back on the shop they are thanked
while the payment is being confirmed, and the order page turns Paid by itself when Stripe's webhook has arrived."""

import pytest
from playwright.sync_api import expect

from orders.models import Order
from payments.providers import PROVIDERS
from tests import online
from tests.stripe_standin import serving

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SECRET_KEY = "sk_test_alpenladen_browser"
WEBHOOK_SECRET = "whsec_alpenladen_browser"


# Stripe's webhook is held until the test lets it go (``flush``): the shopper first sees "being confirmed".
standin = online.live_standin(
    serving,
    "/webhooks/stripe/",
    webhook_secret=WEBHOOK_SECRET,
    api_key=SECRET_KEY,
    enabled_events=PROVIDERS["stripe"].webhook_events,
    webhook_delay=None,
)
stripe_shop = online.browser_shop("stripe")


def test_shopper_pays_on_stripes_page_and_the_order_turns_paid(page, live_server, standin, stripe_shop, artifacts):
    online.fill_checkout(page, live_server, "Card or TWINT")
    page.get_by_role("button", name="Order").click()

    expect(page.get_by_role("heading", name="Stripe test page")).to_be_visible()
    assert page.url.startswith(standin.url + "/pay/cs_test_")
    expect(page.get_by_text("CHF 129.00", exact=True)).to_be_visible()
    page.screenshot(path=artifacts / "stripe-page.png", full_page=True)
    page.get_by_role("button", name="Pay by card").click()

    order = Order.objects.get()
    expect(page.get_by_role("heading", name=f"Order {order.number}")).to_be_visible()
    assert page.url.endswith("?payment=returned")
    status = page.locator("#order-status")
    expect(status).to_contain_text("Thank you for your order")
    expect(status).to_contain_text("Your payment is being confirmed")
    expect(status.locator(".badge-status--awaiting_payment")).to_have_text("Awaiting payment")
    page.screenshot(path=artifacts / "stripe-confirming.png", full_page=True)

    # Stripe's webhook arrives now; no reload: the page asks by itself every 3 s
    (delivery,) = standin.flush()
    assert delivery.type == "checkout.session.completed" and delivery.status == 200
    expect(status.locator(".badge-status--paid")).to_have_text("Paid", timeout=15_000)
    expect(status).to_contain_text("Thank you for your order")
    expect(status).not_to_contain_text("being confirmed")
    page.screenshot(path=artifacts / "stripe-paid.png", full_page=True)
    assert [(d.type, d.status) for d in standin.sent_events] == [("checkout.session.completed", 200)]
    order.refresh_from_db()
    assert order.payment_status == "paid" and order.payments.get().method_detail == "Visa •••• 4242"
