"""A shopper pays by PayPal from end to end, over real HTTP and nothing else: the shop's real ``paypal-server-sdk``
talks to the local stand-in of PayPal's API (``tests.paypal_standin``) through ``PAYPAL_API_BASE``, whose approval
page posts the signed ``CHECKOUT.ORDER.APPROVED`` to the shop served by pytest-django's ``live_server`` — the webhook
really arrives over HTTP, in another thread, its certificate is fetched over HTTP from the stand-in, and the capture
is made by the pipeline. The shopper and the merchant use the test client on the same database.

Every test here refuses connections to anything but this machine (``only_this_machine``)."""

import re
import socket
import urllib.error
import urllib.parse
import urllib.request
from decimal import Decimal
from urllib.parse import urlsplit

import pytest
from django.urls import reverse
from django.utils import translation

from notifications.models import OutgoingEmail
from orders.models import Order
from payments.models import Payment, PaymentMethod, Refund, WebhookEvent
from payments.providers import PROVIDERS
from tests.factories import ProductFactory, StaffFactory
from tests.paypal_standin import serving

pytestmark = pytest.mark.django_db(transaction=True)

ADDRESS = {
    "shipping_name": "Anna Muster",
    "shipping_street": "Bahnhofstrasse 1",
    "shipping_postcode": "8001",
    "shipping_city": "Zürich",
    "shipping_country": "CH",
    "billing_same": "on",
}


@pytest.fixture(autouse=True)
def only_this_machine(monkeypatch):
    """Nothing may leave the machine: resolving any other host than this one fails the test."""
    resolve = socket.getaddrinfo

    def local_only(host, *args, **kwargs):
        if host not in ("127.0.0.1", "localhost", "::1", None):
            raise AssertionError(f"a test tried to reach {host}")
        return resolve(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", local_only)


@pytest.fixture
def standin(live_server):
    with serving(
        webhook_url=live_server.url + "/webhooks/paypal/",
        webhook_id="1JE4291016473214C",
        client_id="AendToEndClient",
        client_secret="EendToEndSecret",
        enabled_events=PROVIDERS["paypal"].webhook_events,
    ) as server:
        yield server


@pytest.fixture(autouse=True)
def paypal_settings(settings, standin, live_server):
    standin.configure(settings)
    settings.SITE_URL = live_server.url
    settings.PROVIDER_TIMEOUT = 1
    return settings


@pytest.fixture
def shop(store, shipping, paypal_settings):
    PaymentMethod.objects.update_or_create(code="paypal", defaults={"is_enabled": True, "position": 0})
    return ProductFactory(name="Fondue Set", sku="FON-1", price=Decimal("129.00"), stock=20)


@pytest.fixture
def shopper(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def en(name, **kwargs) -> str:
    with translation.override("en"):
        return reverse(name, kwargs=kwargs or None)


def order_url(order) -> str:
    with translation.override("en"):
        return order.get_absolute_url()


def check_out(shopper, product, shipping):
    assert shopper.post(en("cart:add"), {"product": product.pk, "quantity": 1}).status_code == 302
    assert "PayPal" in shopper.get(en("checkout:checkout")).content.decode()
    data = {"email": "anna@example.ch", "payment_method": "paypal", "shipping_method": shipping["post"].pk, **ADDRESS}
    return shopper.post(en("checkout:checkout"), data)


def browse(url: str, form: dict | None = None) -> tuple[int, str, str]:
    """What a browser does with the stand-in's page: (status, Location, body), redirects not followed."""

    class Stay(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    data = urllib.parse.urlencode(form).encode() if form is not None else None
    opener = urllib.request.build_opener(Stay)
    try:
        with opener.open(urllib.request.Request(url, data=data), timeout=30) as response:
            return response.status, response.headers.get("Location", ""), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Location", ""), error.read().decode()


def local(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


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


def error_alerts(html: str) -> list[str]:
    return re.findall(r'<div class="message message--error" role="alert">([^<]*)</div>', html)


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
