"""The webhook pipeline, through /webhooks/test/ with events signed by the test provider's real algorithm."""

import json
import time
from decimal import Decimal

import pytest

from orders.models import Order
from payments.models import Payment, WebhookEvent
from payments.providers.test import sign
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def order(place):
    return place(ProductFactory(name="Fondue Set", price=Decimal("129.00"), stock=5), payment_method="test")


def event(payment, type="payment.succeeded", amount=None, currency=None, event_id="evt_1", created=None):
    return json.dumps(
        {
            "id": event_id,
            "type": type,
            "created": created or int(time.time()),
            "data": {
                "payment_reference": payment.reference,
                "amount": payment.amount_minor if amount is None else amount,
                "currency": currency or payment.currency,
            },
        }
    ).encode()


def deliver(client, body, timestamp=None, secret=None, commits=None):
    signature = sign(body, timestamp or int(time.time()), secret)
    return client.post("/webhooks/test/", body, content_type="application/json", HTTP_TEST_SIGNATURE=signature)


@pytest.fixture
def post(client, django_capture_on_commit_callbacks):
    def _post(body, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return deliver(client, body, **kwargs)

    return _post


def test_signed_success_makes_the_order_paid(order, post):
    payment = order.payments.get()
    assert payment.amount_minor == 12900  # 129.–, shipping free above 100.–, in Rappen
    response = post(event(payment))
    assert response.status_code == 200 and response.json() == {"received": True}
    order.refresh_from_db()
    assert order.payment_status == "paid"
    assert WebhookEvent.objects.get().status == "processed"


def test_bad_signature_is_400_and_changes_nothing(order, post, client):
    payment = order.payments.get()
    assert post(event(payment), secret="not-the-secret").status_code == 400
    response = client.post("/webhooks/test/", event(payment), content_type="application/json")
    assert response.status_code == 400 and "signature" in response.json()["error"]
    response = client.post(
        "/webhooks/test/", event(payment), content_type="application/json", HTTP_TEST_SIGNATURE="t=abc,v1=zz"
    )
    assert response.status_code == 400
    order.refresh_from_db()
    assert order.payment_status == "awaiting_payment" and not WebhookEvent.objects.exists()


def test_tampered_body_is_rejected(order, client):
    payment = order.payments.get()
    body = event(payment)
    signature = sign(body, int(time.time()))
    tampered = body.replace(b'"amount": 12900', b'"amount": 100')
    response = client.post("/webhooks/test/", tampered, content_type="application/json", HTTP_TEST_SIGNATURE=signature)
    assert response.status_code == 400


@pytest.mark.parametrize("age", [301, -301, 3600])
def test_timestamp_outside_the_tolerance_is_rejected(order, post, age):
    payment = order.payments.get()
    assert post(event(payment), timestamp=int(time.time()) - age).status_code == 400
    order.refresh_from_db()
    assert order.payment_status == "awaiting_payment"


def test_the_same_event_twice_is_processed_once(order, post):
    payment = order.payments.get()
    assert post(event(payment)).status_code == 200
    assert post(event(payment)).status_code == 200
    assert WebhookEvent.objects.count() == 1
    assert order.events.filter(type="payment_confirmed").count() == 1
    assert order.events.filter(type="payment_status", new_value="paid").count() == 1


def test_a_second_success_event_for_the_same_payment_changes_nothing(order, post):
    payment = order.payments.get()
    post(event(payment, event_id="evt_1"))
    post(event(payment, event_id="evt_2"))
    assert WebhookEvent.objects.count() == 2
    assert order.events.filter(type="payment_confirmed").count() == 1


def test_decline_after_payment_leaves_the_order_paid(order, post):
    payment = order.payments.get()
    post(event(payment, event_id="evt_ok"))
    post(event(payment, type="payment.failed", event_id="evt_late_decline"))
    order.refresh_from_db()
    payment.refresh_from_db()
    assert order.payment_status == "paid" and payment.status == "confirmed"


def test_decline_then_success_out_of_order(order, post):
    """A decline for one attempt and a success for a retry: the order ends paid, both attempts recorded."""
    first = order.payments.get()
    post(event(first, type="payment.failed", event_id="evt_a"))
    retry = Payment.objects.create(order=order, provider="test", amount=first.amount)
    post(event(retry, event_id="evt_b"))
    order.refresh_from_db()
    assert order.payment_status == "paid"
    assert sorted(order.payments.values_list("status", flat=True)) == ["confirmed", "failed"]


@pytest.mark.parametrize(("amount", "currency"), [(100, None), (12901, None), (None, "EUR")])
def test_amount_or_currency_mismatch_is_flagged_not_paid(order, post, amount, currency):
    payment = order.payments.get()
    assert post(event(payment, amount=amount, currency=currency)).status_code == 200
    order.refresh_from_db()
    payment.refresh_from_db()
    assert order.payment_status == "awaiting_payment" and payment.status == "pending"
    assert order.needs_attention and "not marked paid" in order.attention_reason
    assert order.events.filter(type="payment_mismatch").exists()


def test_unknown_payment_reference_is_stored_and_ignored(order, post):
    fake = Payment(reference="pay_unknown", amount=Decimal("1"), currency="CHF")
    assert post(event(fake)).status_code == 200
    assert WebhookEvent.objects.get().status == "ignored"


@pytest.mark.parametrize("body", [b"", b"not json", b"{}", b'{"id": 1}', b"[]", b'{"id":"e","type":"x","data":null}'])
def test_malformed_bodies_with_a_valid_signature_are_400(client, body, store):
    response = deliver(client, body)
    assert response.status_code == 400


def test_unknown_provider_is_404_and_get_is_405(client):
    assert client.post("/webhooks/nope/", b"{}", content_type="application/json").status_code == 404
    assert client.post("/webhooks/bank_transfer/", b"{}", content_type="application/json").status_code == 404
    assert client.get("/webhooks/test/").status_code == 405


def test_webhooks_need_no_csrf_token(order, django_capture_on_commit_callbacks):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    with django_capture_on_commit_callbacks(execute=True):
        response = deliver(strict, event(order.payments.get()))
    assert response.status_code == 200
    assert Order.objects.get().payment_status == "paid"
