"""A shopper pays by PayPal from end to end, over real HTTP and nothing else: the shop's real ``paypal-server-sdk``
talks to the local stand-in of PayPal's API (``tests.paypal_standin``) through ``PAYPAL_API_BASE``, whose approval
page posts the signed ``CHECKOUT.ORDER.APPROVED`` to the shop served by pytest-django's ``live_server`` — the webhook
really arrives over HTTP, in another thread, its certificate is fetched over HTTP from the stand-in, and the capture
is made by the pipeline. The shopper and the merchant use the test client on the same database.

Every test here refuses connections to anything but this machine (``only_this_machine``)."""

import pytest

from notifications.models import OutgoingEmail
from orders.models import Order
from payments.models import Payment, Refund, WebhookEvent
from payments.providers import PROVIDERS
from tests import online
from tests.factories import StaffFactory
from tests.online import (
    browse,
    en,
    error_alerts,
    local,
    only_this_machine,  # noqa: F401 (an autouse fixture: nothing leaves the machine)
    order_url,
)
from tests.paypal_standin import serving

pytestmark = pytest.mark.django_db(transaction=True)

standin = online.live_standin(
    serving,
    "/webhooks/paypal/",
    webhook_id="1JE4291016473214C",
    client_id="AendToEndClient",
    client_secret="EendToEndSecret",
    enabled_events=PROVIDERS["paypal"].webhook_events,
)
paypal_settings = online.standin_settings(1)


@pytest.fixture
def shop(store, shipping, paypal_settings, fondue):
    online.enable("paypal")
    return fondue


def check_out(shopper, product, shipping):
    return online.check_out(shopper, product, shipping, "paypal", "PayPal")


def test_a_shopper_pays_with_paypal_and_the_merchant_refunds(shopper, shop, shipping, standin, live_server):
    response = check_out(shopper, shop, shipping)
    order = Order.objects.get()
    payment = order.payments.get()
    assert response.status_code == 302
    assert response["Location"] == f"{standin.url}/checkoutnow?token={payment.provider_reference}"

    status, _, page = browse(response["Location"])
    assert status == 200 and "PayPal test page" in page and "CHF 129.00" in page and "Pay Alpenladen" in page
    status, location, _ = browse(response["Location"], {"action": "pay"})
    assert status == 303
    assert location == (
        f"{live_server.url}{order_url(order)}?payment=returned&token={payment.provider_reference}&PayerID=QYR5Z8XDVJNXQ"
    )
    (delivery,) = standin.sent_events
    assert delivery.type == "CHECKOUT.ORDER.APPROVED" and delivery.status == 200  # answered over HTTP
    assert len(standin.calls_to(standin.cert_path, "GET")) == 1  # the certificate, fetched over HTTP
    payment.refresh_from_db()
    assert payment.status == "confirmed" and payment.method_detail == "PayPal (anna.muster@example.ch)"
    html = shopper.get(local(location)).content.decode()
    assert "Thank you for your order." in html and "Your payment is confirmed." in html
    assert "badge-status--paid" in html and "Pay now" not in html
    assert len(standin.captures) == 1
    (completed,) = standin.flush()  # PAYMENT.CAPTURE.COMPLETED, over HTTP: nothing more
    assert completed.status == 200 and WebhookEvent.objects.filter(status="processed").count() == 2
    assert OutgoingEmail.objects.filter(order=order, kind="payment_received", status="sent").count() == 1

    merchant = shopper
    merchant.force_login(StaffFactory(username="ueli"))
    back = merchant.post(
        f"/backoffice/orders/{order.number}/action/", {"action": "refund", "amount": "129.00"}, follow=True
    )
    assert "Refund of CHF 129" in back.content.decode()
    (call,) = standin.calls_to(f"/v2/payments/captures/{payment.transaction_reference}/refund", "POST")
    assert call.status == 201 and call.body["amount"] == {"currency_code": "CHF", "value": "129.00"}
    (paypal_refund,) = standin.refunds.values()
    assert Refund.objects.get().provider_reference == paypal_refund["id"]
    (later,) = standin.flush()
    assert later.type == "PAYMENT.CAPTURE.REFUNDED" and later.status == 200 and Refund.objects.count() == 1
    order.refresh_from_db()
    assert order.payment_status == "refunded"
    assert standin.capture_of(payment.provider_reference)["status"] == "REFUNDED"


def test_the_return_page_captures_when_the_webhook_is_late(shopper, shop, shipping, live_server, settings):
    with serving(webhook_url=live_server.url + "/webhooks/paypal/", webhook_delay=None) as standin:
        standin.configure(settings)
        response = check_out(shopper, shop, shipping)
        status, location, _ = browse(response["Location"], {"action": "pay"})
        assert status == 303 and not standin.sent_events
        html = shopper.get(local(location)).content.decode()
        assert "badge-status--paid" in html and "Your payment is confirmed." in html
        # the approval, then the capture's PAYMENT.CAPTURE.COMPLETED: the capture is not made again
        late = standin.flush()
        assert [(d.type, d.status) for d in late] == [
            ("CHECKOUT.ORDER.APPROVED", 200),
            ("PAYMENT.CAPTURE.COMPLETED", 200),
        ]
        assert len(standin.captures) == 1
        assert Order.objects.get().payment_status == "paid"


def test_a_shopper_who_cancels_on_paypals_page_keeps_the_order(shopper, shop, shipping, standin):
    response = check_out(shopper, shop, shipping)
    status, location, _ = browse(response["Location"], {"action": "cancel"})
    order = Order.objects.get()
    assert status == 303 and location.endswith(
        f"{order_url(order)}?payment=cancelled&token={order.payments.get().provider_reference}"
    )
    html = shopper.get(local(location)).content.decode()
    assert "You cancelled the payment. Your order is kept" in html and "badge-status--awaiting_payment" in html
    assert not standin.sent_events and order.payments.get().status == "pending"
    again = shopper.post(en("checkout:pay", token=order.token))  # the same PayPal order again
    assert again["Location"] == response["Location"]


@pytest.mark.parametrize("trouble", ["down", "slow"])
def test_paypal_down_or_slow_at_checkout_keeps_the_order_and_says_so(shopper, shop, shipping, standin, trouble):
    if trouble == "down":
        standin.fail_next("/v2/checkout/orders", 500, times=3)
    else:
        standin.hang_next("/v2/checkout/orders", 1.5, times=3)
    response = check_out(shopper, shop, shipping)
    order = Order.objects.get()
    assert response["Location"] == order_url(order)
    html = shopper.get(response["Location"]).content.decode()
    assert error_alerts(html) == ["PayPal could not be reached. Please try again in a moment."]
    assert "badge-status--awaiting_payment" in html and "Your order 1001 has been placed." in html
    assert Payment.objects.get().status == "pending"
    again = shopper.post(en("checkout:pay", token=order.token))  # PayPal is back
    assert again["Location"].startswith(f"{standin.url}/checkoutnow?token=")
