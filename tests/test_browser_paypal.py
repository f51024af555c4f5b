"""A shopper pays with PayPal on (the stand-in of) PayPal's approval page in headless Chromium: back on the shop, the
return page captures the approved order at once, so they see Paid straight away, before PayPal's webhook comes."""

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from orders.models import Order
from payments.models import PaymentMethod
from payments.providers import PROVIDERS
from tests.factories import CategoryFactory, ProductFactory
from tests.paypal_standin import serving

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def standin(live_server):
    # PayPal's webhooks are held until the test lets them go (``flush``): the return page alone makes it Paid.
    with serving(
        webhook_url=live_server.url + "/webhooks/paypal/",
        enabled_events=PROVIDERS["paypal"].webhook_events,
        webhook_delay=None,
    ) as server:
        yield server


@pytest.fixture
def paypal_shop(settings, standin, live_server, store, shipping):
    standin.configure(settings)
    settings.SITE_URL = live_server.url
    PaymentMethod.objects.update_or_create(code="paypal", defaults={"is_enabled": True, "position": 0})
    return ProductFactory(
        category=CategoryFactory(name="Kitchen", slug="kitchen"),
        name="Fondue Set",
        slug="fondue-set",
        sku="FON-1",
        price=Decimal("129.00"),
        stock=5,
    )


def test_shopper_pays_on_paypals_page_and_the_order_is_paid(page, live_server, standin, paypal_shop, artifacts):
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
    page.get_by_role("radio", name=re.compile("^PayPal")).check()
    page.get_by_role("button", name="Order").click()

    expect(page.get_by_role("heading", name="PayPal test page")).to_be_visible()
    assert page.url.startswith(standin.url + "/checkoutnow?token=")
    expect(page.get_by_text("CHF 129.00", exact=True)).to_be_visible()
    expect(page.get_by_text("Pay Alpenladen")).to_be_visible()
    page.screenshot(path=artifacts / "paypal-page.png", full_page=True)
    page.get_by_role("button", name="Pay with PayPal").click()

    order = Order.objects.get()
    expect(page.get_by_role("heading", name=f"Order {order.number}")).to_be_visible()
    assert "?payment=returned&token=" in page.url and "PayerID=" in page.url
    status = page.locator("#order-status")
    expect(status).to_contain_text("Thank you for your order")
    expect(status.locator(".badge-status--paid")).to_have_text("Paid")
    page.screenshot(path=artifacts / "paypal-paid.png", full_page=True)
    assert not standin.sent_events and len(standin.captures) == 1  # captured by the return page

    # PayPal's webhooks arrive now (the approval, the capture's completion): nothing changes
    assert [(d.type, d.status) for d in standin.flush()] == [
        ("CHECKOUT.ORDER.APPROVED", 200),
        ("PAYMENT.CAPTURE.COMPLETED", 200),
    ]
    order.refresh_from_db()
    assert order.payment_status == "paid" and len(standin.captures) == 1
    payment = order.payments.get()
    assert payment.method_detail == "PayPal (anna.muster@example.ch)"
    page.reload()
    expect(page.locator("#order-status .badge-status--paid")).to_have_text("Paid")
