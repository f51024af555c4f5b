"""A shopper pays by card on (the stand-in of) Stripe's page in headless Chromium: back on the shop they are thanked
while the payment is being confirmed, and the order page turns Paid by itself when Stripe's webhook has arrived."""

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from orders.models import Order
from payments.models import PaymentMethod
from payments.providers import PROVIDERS
from tests.factories import CategoryFactory, ProductFactory
from tests.stripe_standin import serving

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SECRET_KEY = "sk_test_alpenladen_browser"
WEBHOOK_SECRET = "whsec_alpenladen_browser"


@pytest.fixture
def standin(live_server):
    # Stripe's webhook is held until the test lets it go (``flush``): the shopper first sees "being confirmed".
    with serving(
        webhook_url=live_server.url + "/webhooks/stripe/",
        webhook_secret=WEBHOOK_SECRET,
        api_key=SECRET_KEY,
        enabled_events=PROVIDERS["stripe"].webhook_events,
        webhook_delay=None,
    ) as server:
        yield server


@pytest.fixture
def stripe_shop(settings, standin, live_server, store, shipping):
    standin.configure(settings)
    settings.SITE_URL = live_server.url
    PaymentMethod.objects.update_or_create(code="stripe", defaults={"is_enabled": True, "position": 0})
    return ProductFactory(
        category=CategoryFactory(name="Kitchen", slug="kitchen"),
        name="Fondue Set",
        slug="fondue-set",
        sku="FON-1",
        price=Decimal("129.00"),
        stock=5,
    )


def test_shopper_pays_on_stripes_page_and_the_order_turns_paid(page, live_server, standin, stripe_shop, artifacts):
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(live_server.url + "/en/p/fondue-set/")
    page.get_by_role("button", name="Add to cart").click()
    expect(page.locator("#cart-count")).to_have_text("1")
    page.goto(live_server.url + "/en/checkout/")
    page.get_by_label("E-mail").fill("anna@example.ch")
    delivery = page.get_by_role("group", name="Delivery")
    delivery.get_by_label("Full name").fill("Anna Muster")
    delivery.get_by_label("Street and number").fill("Bahnhofstrasse 1")
    delivery.get_by_label("Postcode").fill("8001")
    delivery.get_by_label("City").fill("Zürich")
    page.get_by_role("radio", name=re.compile("^Card or TWINT")).check()
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
