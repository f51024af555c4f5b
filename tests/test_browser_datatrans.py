"""A shopper pays with TWINT on (the stand-in of) Datatrans's Payment Page in headless Chromium: back on the shop they
are thanked while the payment is being confirmed, and the order page turns Paid by itself when Datatrans's webhook
has arrived."""

import pytest
from playwright.sync_api import expect

from orders.models import Order
from payments.providers.datatrans import DATATRANS_METHODS
from tests import online
from tests.datatrans_standin import serving

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


# Datatrans's webhook is held until the test lets it go (``flush``): the shopper first sees "being confirmed".
standin = online.live_standin(serving, hmac_key="7e" * 32, webhook_delay=None)
datatrans_shop = online.browser_shop(*(method.code for method in DATATRANS_METHODS))


def test_shopper_pays_with_twint_and_the_order_turns_paid(page, live_server, standin, datatrans_shop, artifacts):
    online.fill_checkout(page, live_server, "TWINT")
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
