"""A shopper pays by Stripe from end to end, over real HTTP and nothing else: the shop's real ``stripe`` SDK talks to
the local stand-in of Stripe's API (``tests.stripe_standin``), whose hosted page posts the signed webhook to the shop
served by pytest-django's ``live_server`` — the webhook really arrives over HTTP, in another thread, and is handed to
Celery (eager) after a real commit. The shopper and the merchant use the test client on the same database.

Every test here refuses connections to anything but this machine (``only_this_machine``)."""

import time
from decimal import Decimal

import pytest
from django.core import mail

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
from tests.stripe_standin import serving

pytestmark = pytest.mark.django_db(transaction=True)

SECRET_KEY = "sk_test_alpenladen_end_to_end"
WEBHOOK_SECRET = "whsec_alpenladen_end_to_end"

standin = online.live_standin(
    serving,
    "/webhooks/stripe/",
    webhook_secret=WEBHOOK_SECRET,
    api_key=SECRET_KEY,
    enabled_events=PROVIDERS["stripe"].webhook_events,
)
stripe_settings = online.standin_settings(1)


@pytest.fixture
def shop(store, shipping, stripe_settings, fondue):
    online.enable("stripe")
    return fondue


def check_out(shopper, product, shipping):
    """The shopper puts the product in the cart and orders it, paying by card or TWINT (Stripe)."""
    return online.check_out(shopper, product, shipping, "stripe", "Card or TWINT")


def test_a_shopper_pays_by_card_and_the_merchant_refunds(shopper, shop, shipping, standin, live_server):
    response = check_out(shopper, shop, shipping)
    order = Order.objects.get()
    payment = order.payments.get()
    assert response.status_code == 302 and response["Location"] == f"{standin.url}/pay/{payment.provider_reference}"
    assert order.payment_status == "awaiting_payment"

    status, _, page = browse(response["Location"])
    assert status == 200 and "Stripe test page" in page and "CHF 129.00" in page
    assert "Pay by card" in page and "Pay with TWINT" in page and "Cancel" in page
    status, location, _ = browse(response["Location"], {"action": "card"})
    assert status == 303 and location == f"{live_server.url}{order_url(order)}?payment=returned"

    (delivery,) = standin.sent_events
    assert delivery.type == "checkout.session.completed" and delivery.status == 200  # answered over HTTP
    event = WebhookEvent.objects.get()
    assert event.status == "processed" and event.event_id == delivery.event["id"]
    html = shopper.get(local(location)).content.decode()
    assert "Thank you for your order." in html and "Your payment is confirmed." in html
    assert "badge-status--paid" in html and "Pay now" not in html
    order.refresh_from_db()
    payment.refresh_from_db()
    assert order.payment_status == "paid" and payment.method_detail == "Visa •••• 4242"
    assert OutgoingEmail.objects.filter(order=order, kind="payment_received", status="sent").count() == 1

    # the merchant refunds it all from the back office
    merchant = shopper
    merchant.force_login(StaffFactory(username="ueli"))
    back = merchant.post(
        f"/backoffice/orders/{order.number}/action/", {"action": "refund", "amount": "129.00"}, follow=True
    )
    assert "Refund of CHF 129" in back.content.decode()
    (call,) = standin.calls_to("/v1/refunds", "POST")
    assert call.status == 200 and call.params == {
        "payment_intent": payment.transaction_reference,
        "amount": "12900",
        "metadata": {"payment": payment.reference},
    }
    (stripe_refund,) = standin.refunds.values()
    assert stripe_refund["amount"] == 12900 and stripe_refund["status"] == "succeeded"
    assert standin.charges[stripe_refund["charge"]]["refunded"] is True
    (refund,) = Refund.objects.all()
    assert refund.provider_reference == stripe_refund["id"] and refund.amount == Decimal("129.00")
    # Stripe's charge.refunded arrives after: recorded once all the same
    (later,) = standin.flush()
    assert later.type == "charge.refunded" and later.status == 200
    assert Refund.objects.count() == 1
    order.refresh_from_db()
    assert order.payment_status == "refunded"
    html = merchant.get(order_url(order)).content.decode()
    assert "badge-status--refunded" in html
    (email,) = OutgoingEmail.objects.filter(order=order, kind="refunded")
    assert email.to == "anna@example.ch" and email.status == "sent" and email.context["full"] is True
    assert any(message.to == ["anna@example.ch"] and "129" in message.body for message in mail.outbox)


def test_a_shopper_who_pays_with_twint_has_twint_on_the_payment(shopper, shop, shipping, standin):
    response = check_out(shopper, shop, shipping)
    status, location, _ = browse(response["Location"], {"action": "twint"})
    assert status == 303
    order = Order.objects.get()
    assert order.payment_status == "paid" and order.payments.get().method_detail == "TWINT"


def test_a_shopper_who_cancels_on_stripes_page_keeps_the_order(shopper, shop, shipping, standin):
    response = check_out(shopper, shop, shipping)
    status, location, _ = browse(response["Location"], {"action": "cancel"})
    order = Order.objects.get()
    assert status == 303 and location.endswith(f"{order_url(order)}?payment=cancelled")
    html = shopper.get(local(location)).content.decode()
    assert "You cancelled the payment. Your order is kept" in html and "badge-status--awaiting_payment" in html
    assert not standin.sent_events and order.payments.get().status == "pending"


def test_after_cancelling_the_shopper_can_try_again(shopper, shop, shipping, standin):
    response = check_out(shopper, shop, shipping)
    browse(response["Location"], {"action": "cancel"})
    order = Order.objects.get()
    time.sleep(1.1)  # the shopper thinks it over for a moment
    again = shopper.post(en("checkout:pay", token=order.token))
    assert again.status_code == 302 and again["Location"].startswith(f"{standin.url}/pay/")


def test_stripe_down_at_checkout_keeps_the_order_and_says_so(shopper, shop, shipping, standin):
    standin.fail_next("/v1/checkout/sessions", 500, times=3)  # the SDK tries three times
    response = check_out(shopper, shop, shipping)
    order = Order.objects.get()
    assert response.status_code == 302 and response["Location"] == order_url(order)
    assert len(standin.calls_to("/v1/checkout/sessions", "POST")) == 3
    html = shopper.get(response["Location"]).content.decode()
    assert error_alerts(html) and "Your order 1001 has been placed." in html
    assert "badge-status--awaiting_payment" in html and "Pay now" in html
    order.refresh_from_db()
    assert order.payment_status == "awaiting_payment" and order.payments.get().status == "pending"
    # Stripe is back: Pay now goes to its page
    again = shopper.post(en("checkout:pay", token=order.token))
    assert again["Location"].startswith(f"{standin.url}/pay/")


def test_stripe_down_at_checkout_tells_the_shopper_to_try_again(shopper, shop, shipping, standin):
    standin.fail_next("/v1/checkout/sessions", 500, times=3)
    response = check_out(shopper, shop, shipping)
    html = shopper.get(response["Location"]).content.decode()
    assert error_alerts(html) == ["Stripe could not be reached. Please try again in a moment."]


def test_a_stripe_timeout_at_checkout_keeps_the_order_and_says_so(shopper, shop, shipping, standin, settings):
    standin.hang_next("/v1/checkout/sessions", settings.PROVIDER_TIMEOUT + 0.5, times=3)
    response = check_out(shopper, shop, shipping)
    order = Order.objects.get()
    assert response["Location"] == order_url(order)
    html = shopper.get(response["Location"]).content.decode()
    assert error_alerts(html) == ["Stripe could not be reached. Please try again in a moment."]
    assert "badge-status--awaiting_payment" in html and "Your order 1001 has been placed." in html
    assert Payment.objects.get().status == "pending" and Order.objects.get().payment_status == "awaiting_payment"
