"""A shopper pays with PayPal on (the stand-in of) PayPal's approval page in headless Chromium: back on the shop, the
return page captures the approved order at once, so they see Paid straight away, before PayPal's webhook comes."""

import pytest
from playwright.sync_api import expect

from orders.models import Order
from payments.providers import PROVIDERS
from tests import online
from tests.paypal_standin import serving

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


# PayPal's webhooks are held until the test lets them go (``flush``): the return page alone makes it Paid.
standin = online.live_standin(
    serving, "/webhooks/paypal/", enabled_events=PROVIDERS["paypal"].webhook_events, webhook_delay=None
)
paypal_shop = online.browser_shop("paypal")


def test_shopper_pays_on_paypals_page_and_the_order_is_paid(page, live_server, standin, paypal_shop, artifacts):
    online.fill_checkout(page, live_server, "PayPal")
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
