"""A shopper pays with TWINT on (the stand-in of) Datatrans's Payment Page in headless Chromium: back on the shop they
are thanked while the payment is being confirmed, and the order page turns Paid by itself when Datatrans's webhook
has arrived."""

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from orders.models import Order
from payments.models import PaymentMethod
from payments.providers.datatrans import DATATRANS_METHODS
from tests.datatrans_standin import serving
from tests.factories import CategoryFactory, ProductFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def standin():
    # Datatrans's webhook is held until the test lets it go (``flush``): the shopper first sees "being confirmed".
    with serving(hmac_key="7e" * 32, webhook_delay=None) as server:
        yield server


@pytest.fixture
def datatrans_shop(settings, standin, live_server, store, shipping):
    standin.configure(settings)
    settings.SITE_URL = live_server.url
    for position, method in enumerate(DATATRANS_METHODS):
        PaymentMethod.objects.update_or_create(code=method.code, defaults={"is_enabled": True, "position": position})
    return ProductFactory(
        category=CategoryFactory(name="Kitchen", slug="kitchen"),
        name="Fondue Set",
        slug="fondue-set",
        sku="FON-1",
        price=Decimal("129.00"),
        stock=5,
    )


def test_shopper_pays_with_twint_and_the_order_turns_paid(page, live_server, standin, datatrans_shop, artifacts):
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
    page.get_by_role("radio", name=re.compile("^TWINT")).check()
    page.screenshot(path=artifacts / "datatrans-checkout.png", full_page=True)
    page.get_by_role("button", name="Order").click()

    expect(page.get_by_role("heading", name="Datatrans test page")).to_be_visible()
    assert page.url.startswith(standin.url + "/v1/start/")
    expect(page.get_by_text("CHF 129.00", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Pay by card")).to_have_count(0)  # this transaction takes TWINT only
    page.screenshot(path=artifacts / "datatrans-page.png", full_page=True)
    page.get_by_role("button", name="Pay with TWINT").click()

    order = Order.objects.get()
    expect(page.get_by_role("heading", name=f"Order {order.number}")).to_be_visible()
    assert page.url.endswith("?payment=returned")
    status = page.locator("#order-status")
    expect(status).to_contain_text("Thank you for your order")
    expect(status).to_contain_text("Your payment is being confirmed")
    expect(status.locator(".badge-status--awaiting_payment")).to_have_text("Awaiting payment")
    page.screenshot(path=artifacts / "datatrans-confirming.png", full_page=True)

    # Datatrans's webhook arrives now; no reload: the page asks by itself every 3 s
    (sent,) = standin.flush()
    assert sent.type == "payment.settled" and sent.status == 200
    expect(status.locator(".badge-status--paid")).to_have_text("Paid", timeout=15_000)
    expect(status).not_to_contain_text("being confirmed")
    page.screenshot(path=artifacts / "datatrans-paid.png", full_page=True)
    order.refresh_from_db()
    assert order.payment_status == "paid" and order.payments.get().method_detail == "TWINT"
