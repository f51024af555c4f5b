"""A shopper pays through Datatrans from end to end, over real HTTP and nothing else: the shop's httpx client talks to
the local stand-in of Datatrans's API (``tests.datatrans_standin``) through ``DATATRANS_API_BASE``, whose Payment Page
posts the signed webhook to the URL the init named — the shop served by pytest-django's ``live_server`` — in another
thread, handed to Celery (eager) after a real commit. The shopper and the merchant use the test client on the same
database.

Every test here refuses connections to anything but this machine (``only_this_machine``)."""

from decimal import Decimal

import pytest
from django.core import mail

from notifications.models import OutgoingEmail
from orders.models import Order
from payments import tasks
from payments.models import Refund, WebhookEvent
from payments.providers.datatrans import DATATRANS_METHODS, refno_of
from shop.backoffice.models import Store
from tests import online
from tests.datatrans_standin import serving
from tests.factories import StaffFactory
from tests.online import (
    browse,
    en,
    error_alerts,
    local,
    only_this_machine,  # noqa: F401 (an autouse fixture: nothing leaves the machine)
    order_url,
)

pytestmark = pytest.mark.django_db(transaction=True)

HMAC_KEY = "5c" * 32

# No webhook URL of its own: Datatrans posts to the one each init names (the live server's).
standin = online.live_standin(serving, hmac_key=HMAC_KEY)
datatrans_settings = online.standin_settings(1)


@pytest.fixture
def shop(store, shipping, datatrans_settings, fondue):
    online.enable(*(method.code for method in DATATRANS_METHODS))
    return fondue


def check_out(shopper, product, shipping, method="datatrans_card"):
    """The shopper puts the product in the cart and orders it, paying with a Datatrans method."""
    return online.check_out(shopper, product, shipping, method, 'value="datatrans_card"', 'value="datatrans_twint"')


def test_a_shopper_pays_by_card_and_the_merchant_refunds(shopper, shop, shipping, standin, live_server):
    response = check_out(shopper, shop, shipping)
    order = Order.objects.get()
    payment = order.payments.get()
    assert response.status_code == 302
    assert response["Location"] == f"{standin.url}/v1/start/{payment.provider_reference}"
    assert order.payment_status == "awaiting_payment"

    status, _, page = browse(response["Location"])
    assert status == 200 and "Datatrans test page" in page and "CHF 129.00" in page
    assert "Pay by card" in page and "Pay with TWINT" not in page and "Decline" in page and "Cancel" in page
    status, location, _ = browse(response["Location"], {"action": "card"})
    assert status == 303 and location == f"{live_server.url}{order_url(order)}?payment=returned"

    (delivery,) = standin.sent_events
    assert delivery.type == "payment.settled" and delivery.status == 200  # answered over HTTP
    event = WebhookEvent.objects.get()
    assert event.status == "processed" and event.provider == "datatrans" and event.payment_id == payment.pk
    html = shopper.get(local(location)).content.decode()
    assert "Thank you for your order." in html and "Your payment is confirmed." in html
    assert "badge-status--paid" in html and "Pay now" not in html
    order.refresh_from_db()
    payment.refresh_from_db()
    assert order.payment_status == "paid" and payment.method_detail == "Visa •••• 0004"
    assert OutgoingEmail.objects.filter(order=order, kind="payment_received", status="sent").count() == 1

    # the merchant refunds it all from the back office
    merchant = shopper
    merchant.force_login(StaffFactory(username="ueli"))
    back = merchant.post(
        f"/backoffice/orders/{order.number}/action/", {"action": "refund", "amount": "129.00"}, follow=True
    )
    assert "Refund of CHF 129" in back.content.decode()
    (call,) = standin.calls_to(f"/v1/transactions/{payment.provider_reference}/credit", "POST")
    assert call.status == 200 and call.body == {"amount": 12900, "currency": "CHF", "refno": refno_of(payment)}
    (refund,) = Refund.objects.all()
    credit = standin.transaction(refund.provider_reference)
    assert credit["type"] == "credit" and credit["detail"]["credit"]["amount"] == 12900
    assert refund.amount == Decimal("129.00")
    # recorded from Datatrans's answer: Datatrans posts no webhook after a credit
    assert standin.flush() == [] and len(standin.sent_events) == 1
    assert Refund.objects.count() == 1
    order.refresh_from_db()
    assert order.payment_status == "refunded"
    assert "badge-status--refunded" in merchant.get(order_url(order)).content.decode()
    (email,) = OutgoingEmail.objects.filter(order=order, kind="refunded")
    assert email.to == "anna@example.ch" and email.status == "sent"
    assert any(message.to == ["anna@example.ch"] and "129" in message.body for message in mail.outbox)


def test_twint_with_deferred_settlement_is_settled_by_the_shop(shopper, shop, shipping, standin):
    store = Store.load()
    store.datatrans_auto_settle = False
    store.save()
    response = check_out(shopper, shop, shipping, "datatrans_twint")
    status, page_html = browse(response["Location"])[::2]
    assert "Pay with TWINT" in page_html and "Pay by card" not in page_html
    status, location, _ = browse(response["Location"], {"action": "twint"})
    assert status == 303 and location.endswith("?payment=returned")
    order = Order.objects.get()
    payment = order.payments.get()
    (delivery,) = standin.sent_events
    assert delivery.type == "payment.authorized" and delivery.status == 200
    (settle,) = standin.calls_to(f"/v1/transactions/{payment.provider_reference}/settle", "POST")
    assert settle.status == 204 and standin.transaction(payment.provider_reference)["status"] == "settled"
    order.refresh_from_db()
    payment.refresh_from_db()
    assert order.payment_status == "paid" and payment.method_detail == "TWINT"
    assert standin.flush() == []  # Datatrans posts no webhook after the shop's settlement
    assert order.events.filter(type="payment_confirmed").count() == 1


def test_postfinance_pays_too(shopper, shop, shipping, standin):
    response = check_out(shopper, shop, shipping, "datatrans_postfinance")
    status, _, _ = browse(response["Location"], {"action": "postfinance"})
    assert status == 303
    order = Order.objects.get()
    assert order.payment_status == "paid" and order.payments.get().method_detail == "PostFinance"


def test_a_declined_card_brings_the_shopper_back_to_try_again(shopper, shop, shipping, standin):
    response = check_out(shopper, shop, shipping)
    status, location, _ = browse(response["Location"], {"action": "decline"})
    order = Order.objects.get()
    assert status == 303 and location.endswith(f"{order_url(order)}?payment=failed")
    html = shopper.get(local(location)).content.decode()
    assert "Your payment did not go through." in html and "badge-status--awaiting_payment" in html
    assert order.payments.get().status == "failed"
    again = shopper.post(en("checkout:pay", token=order.token))
    assert again.status_code == 302 and again["Location"].startswith(f"{standin.url}/v1/start/")
    assert order.payments.count() == 2


def test_a_shopper_who_cancels_on_datatrans_s_page_keeps_the_order(shopper, shop, shipping, standin):
    response = check_out(shopper, shop, shipping)
    status, location, _ = browse(response["Location"], {"action": "cancel"})
    order = Order.objects.get()
    assert status == 303 and location.endswith(f"{order_url(order)}?payment=cancelled")
    html = shopper.get(local(location)).content.decode()
    assert "badge-status--awaiting_payment" in html and "Try again" in html and "You cancelled the payment" in html
    assert standin.sent_events == []  # Datatrans posts a webhook after an authorisation only
    assert browse(response["Location"])[0] == 410  # the cancelled transaction can no longer be paid
    # the attempt is still open: trying again asks Datatrans, and opens a new transaction for it
    payment = order.payments.get()
    again = shopper.post(en("checkout:pay", token=order.token))
    payment.refresh_from_db()
    assert again["Location"] == f"{standin.url}/v1/start/{payment.provider_reference}" != response["Location"]
    assert order.payments.count() == 1 and payment.status == "pending"


@pytest.mark.parametrize("fault", ["down", "slow"])
def test_datatrans_down_or_slow_at_checkout_keeps_the_order_and_says_so(shopper, shop, shipping, standin, fault):
    if fault == "down":
        standin.fail_next("/v1/transactions", 503, method="POST")
    else:
        standin.hang_next("/v1/transactions", 2.5, method="POST")  # longer than the shop waits (1 s)
    response = check_out(shopper, shop, shipping)
    order = Order.objects.get()
    assert response.status_code == 302 and response["Location"] == order_url(order)
    html = shopper.get(response["Location"]).content.decode()
    assert error_alerts(html) == ["Datatrans could not be reached. Please try again in a moment."]
    assert "Your order 1001 has been placed." in html and "badge-status--awaiting_payment" in html
    assert order.payments.get().status == "pending"
    if fault == "slow":  # Pay now at once: Datatrans is still answering the first init (the same key): 409
        shopper.post(en("checkout:pay", token=order.token))
        html = shopper.get(response["Location"]).content.decode()
        assert error_alerts(html) == ["Datatrans could not be reached. Please try again in a moment."]
        assert standin.calls_to("/v1/transactions", "POST")[-1].status == 409
        standin.wait_for_calls()
    # Datatrans is back (or done with the slow init): Pay now goes to its page
    again = shopper.post(en("checkout:pay", token=order.token))
    assert again["Location"].startswith(f"{standin.url}/v1/start/")
    assert len(standin.transactions) == 1  # after a time-out: the transaction Datatrans made


def test_a_webhook_that_comes_while_the_status_look_up_fails_is_applied_later(shopper, shop, shipping, standin):
    response = check_out(shopper, shop, shipping)
    order = Order.objects.get()
    transaction_id = order.payments.get().provider_reference
    standin.fail_next(f"/v1/transactions/{transaction_id}", 500, method="GET")
    status, _, _ = browse(response["Location"], {"action": "card"})
    assert status == 303 and standin.sent_events[0].status == 200  # stored all the same
    event = WebhookEvent.objects.get()
    assert event.status == "received"
    order.refresh_from_db()
    assert order.payment_status == "awaiting_payment"
    assert tasks.apply_webhook_event(event.pk) == "processed"  # what the retry (or the sweep) does
    order.refresh_from_db()
    assert order.payment_status == "paid"
