"""A shopper orders the CHF 1.– test product in headless Chromium and pays with the test provider."""

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from orders.models import Order
from tests.factories import CategoryFactory, ProductFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def test_product(store, shipping):
    return ProductFactory(
        category=CategoryFactory(name="Books & Digital", slug="books-digital"),
        name="Test product",
        slug="test-1",
        sku="TEST-1",
        price=Decimal("1.00"),
        stock=None,
        requires_shipping=False,
    )


@pytest.fixture
def artifacts():
    from pathlib import Path

    folder = Path(__file__).resolve().parent.parent / "artifacts"
    folder.mkdir(exist_ok=True)
    return folder


def test_shopper_orders_the_test_product_and_pays(page, live_server, test_product, artifacts):
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(live_server.url + "/en/p/test-1/")
    expect(page.get_by_text("CHF 1.–").first).to_be_visible()
    page.get_by_role("button", name="Add to cart").click()
    expect(page.locator("#cart-count")).to_have_text("1")
    page.get_by_role("link", name="View cart").click()
    page.get_by_role("link", name="Checkout").click()
    expect(page.get_by_role("heading", name="Checkout")).to_be_visible()
    expect(page.get_by_text("Test mode: orders placed now are test orders.")).to_be_visible()

    page.get_by_label("E-mail").fill("anna@example.ch")
    page.get_by_label("E-mail").blur()
    expect(page.locator("#email-status")).to_have_text("Saved.")
    page.get_by_label("Full name").fill("Anna Muster")
    page.get_by_label("Street and number").fill("Bahnhofstrasse 1")
    page.get_by_label("Postcode").fill("8001")
    page.get_by_label("City").fill("Zürich")
    page.get_by_role("radio", name=re.compile("Test payment")).check()
    expect(page.locator("#checkout-total")).to_have_text("CHF 1.–")
    page.screenshot(path=artifacts / "checkout.png", full_page=True)
    page.get_by_role("button", name="Order").click()

    expect(page.get_by_role("heading", name="Test payment")).to_be_visible()
    expect(page.get_by_text("CHF 1.–")).to_be_visible()
    page.screenshot(path=artifacts / "test-payment.png", full_page=True)
    page.get_by_role("button", name="Pay", exact=True).click()

    order = Order.objects.get()
    expect(page.get_by_role("heading", name=f"Order {order.number}")).to_be_visible()
    expect(page.locator("#order-status")).to_contain_text("Paid")
    expect(page.get_by_text("Test order")).to_be_visible()
    expect(page.locator("#cart-count")).to_have_text("0")
    page.screenshot(path=artifacts / "order-paid.png", full_page=True)
    order.refresh_from_db()
    assert order.payment_status == "paid" and order.is_test and order.total == Decimal("1.00")
    assert order.token in page.url and str(order.number) not in page.url.split("/")[-2]


def test_declined_then_paid_from_the_order_page(page, live_server, test_product, artifacts):
    page.goto(live_server.url + "/en/p/test-1/")
    page.get_by_role("button", name="Add to cart").click()
    expect(page.locator("#cart-count")).to_have_text("1")
    page.goto(live_server.url + "/en/checkout/")
    page.get_by_label("E-mail").fill("ben@example.ch")
    page.get_by_label("Full name").fill("Ben")
    page.get_by_label("Street and number").fill("Weg 2")
    page.get_by_label("Postcode").fill("3000")
    page.get_by_label("City").fill("Bern")
    page.get_by_role("radio", name=re.compile("Test payment")).check()
    page.get_by_role("button", name="Order").click()  # right away, while htmx may still update the summary
    expect(page.get_by_role("heading", name="Test payment")).to_be_visible()
    page.get_by_role("button", name="Decline").click()
    expect(page.get_by_text("Your payment did not go through. You can try again.")).to_be_visible()
    expect(page.locator("#order-status")).to_contain_text("Awaiting payment")
    page.screenshot(path=artifacts / "order-declined.png", full_page=True)
    page.get_by_role("button", name="Pay now").click()
    page.get_by_role("button", name="Pay", exact=True).click()
    expect(page.locator("#order-status")).to_contain_text("Paid")
