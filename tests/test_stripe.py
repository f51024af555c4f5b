"""Stripe's events through the real pipeline: the real ``stripe`` SDK talks HTTP to the local stand-in of Stripe's
API (``tests.stripe_standin``), whose events are signed with the library's own helper and posted to /webhooks/stripe/
through the test client. What the shopper and the merchant see, and what the data must be."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone
from kombu.exceptions import OperationalError

from notifications.models import OutgoingEmail
from orders import services as order_services
from orders.models import OrderEvent
from payments import services as payments
from payments import tasks
from payments.models import Payment, Refund, WebhookEvent
from payments.providers import PROVIDERS
from tests import online
from tests import stripe_events as events
from tests.online import T0, back_office, badge, count, order_url, paid_events, shopper_page, status
from tests.online import latest_reference as session_of
from tests.stripe_standin import serving

pytestmark = pytest.mark.django_db

SECRET_KEY = "sk_test_alpenladen_standin"
WEBHOOK_SECRET = "whsec_alpenladen_standin"


standin = online.client_standin(
    serving,
    "/webhooks/stripe/",
    online.signed_in("Stripe-Signature"),
    webhook_secret=WEBHOOK_SECRET,
    api_key=SECRET_KEY,
    enabled_events=PROVIDERS["stripe"].webhook_events,
)
stripe_settings = online.standin_settings(2, "https://alpenladen.example.ch")


@pytest.fixture
def stripe_enabled(store, stripe_settings):
    """The store offers "Card or TWINT" (Stripe)."""
    online.enable("stripe")
    return PROVIDERS["stripe"]


@pytest.fixture
def order(place, fondue, stripe_enabled):
    """An order of CHF 129.– to pay by Stripe, whose shopper was sent to a Checkout Session of the stand-in."""
    return online.sent_to_pay(place, fondue, "stripe")


def attempt(order) -> Payment:
    """The order's one attempt (there must be only one)."""
    return order.payments.get()


# --- The stand-in answers as Stripe documents -------------------------------------------------------------------


@pytest.mark.parametrize("name", ["checkout_session", "payment_intent", "charge", "refund"])
def test_the_fixtures_round_trip_through_the_sdk(name):
    obj = events.fixture(name)
    read = events.round_trip(events.event("x.test", obj))
    assert read.data.object.to_dict() == obj
    assert read.data.object.object == obj["object"] and read.livemode is False
    assert events.fixture("error")["error"]["type"] == "invalid_request_error"


def test_a_checkout_session_is_created_with_what_the_sdk_sends(order, standin):
    payment = attempt(order)
    (call,) = standin.calls_to("/v1/checkout/sessions", "POST")
    # the attempt, its amount and its session's end (to the hour): the same click twice is the same session
    assert call.idempotency_key == f"checkout-session:{payment.reference}:12900:{call.params['expires_at']}"
    assert call.params["line_items"] == [
        {
            "price_data": {"currency": "chf", "unit_amount": "12900", "product_data": {"name": "Fondue Set"}},
            "quantity": "1",
        }
    ]
    session = standin.session(payment.provider_reference)
    assert (session["status"], session["payment_status"], session["amount_total"], session["currency"]) == (
        "open",
        "unpaid",
        12900,
        "chf",
    )
    assert session["client_reference_id"] == payment.reference
    assert session["metadata"] == {"order": str(order.number), "payment": payment.reference}
    assert session["customer_email"] == "anna@example.ch"
    assert session["success_url"] == f"https://alpenladen.example.ch{order_url(order)}?payment=returned"
    assert session["cancel_url"].endswith("?payment=cancelled")
    assert session["url"] == f"{standin.url}/pay/{session['id']}"
    assert payment.expires_at == dt.datetime.fromtimestamp(session["expires_at"], dt.UTC)


def test_the_line_items_add_up_to_what_the_attempt_asks(place, product, stripe_enabled, standin):
    order = place(product, 2, payment_method="stripe")  # 2 × 18.90 + 7.– Swiss Post
    payments.start_payment(order, None)
    payment = attempt(order)
    client = stripe_enabled.client()
    items = client.v1.checkout.sessions.retrieve(payment.provider_reference, params={"expand": ["line_items"]})
    lines = [(item.description, item.quantity, item.amount_total) for item in items.line_items.data]
    assert lines == [("Alpine Blend Coffee", 2, 3780), ("Swiss Post", 1, 700)]
    assert items.amount_total == payment.amount_minor == 4480


def test_the_same_idempotency_key_gives_the_same_session_and_other_parameters_an_error():
    import stripe

    client = PROVIDERS["stripe"].client()  # the shop's client, pointed at the stand-in
    item = {"price_data": {"currency": "chf", "unit_amount": 500, "product_data": {"name": "Mug"}}, "quantity": 2}
    params = {"mode": "payment", "line_items": [item], "client_reference_id": "pay_x"}
    first = client.v1.checkout.sessions.create(params=params, options={"idempotency_key": "same"})
    second = client.v1.checkout.sessions.create(params=params, options={"idempotency_key": "same"})
    other = client.v1.checkout.sessions.create(params=params, options={"idempotency_key": "other"})
    assert first.id == second.id != other.id and first.amount_total == 1000
    with pytest.raises(stripe.IdempotencyError, match="same parameters"):
        client.v1.checkout.sessions.create(
            params={**params, "client_reference_id": "pay_y"}, options={"idempotency_key": "same"}
        )


# --- Paid, pending, failed, expired -------------------------------------------------------------------------------


def test_a_paid_session_makes_the_order_paid_once(order, standin, commit, client):
    delivery = commit(standin.pay, session_of(order))
    assert delivery.status == 200 and delivery.type == "checkout.session.completed"
    events.round_trip(delivery.event)  # what the stand-in sent reads back through the SDK
    assert status(order) == "paid"
    payment = attempt(order)
    session = standin.session(payment.provider_reference)
    assert payment.status == "confirmed" and payment.transaction_reference == session["payment_intent"]
    assert payment.transaction_reference.startswith("pi_") and payment.method_detail == "Visa •••• 4242"
    found = PROVIDERS["stripe"].client().v1.checkout.sessions.list(params={"payment_intent": session["payment_intent"]})
    assert [s.client_reference_id for s in found.data] == [payment.reference]  # Stripe finds it by its PaymentIntent
    assert paid_events(order) == 1 and count(order, OrderEvent.Type.PAYMENT_CONFIRMED) == 1
    assert OutgoingEmail.objects.filter(order=order, kind="payment_received").count() == 1
    assert badge(shopper_page(client, order)) == "Paid"
    assert WebhookEvent.objects.get().status == "processed"


def test_a_twint_payment_shows_as_twint(order, standin, commit, client, staff):
    commit(standin.pay, session_of(order), "twint")
    assert status(order) == "paid" and attempt(order).method_detail == "TWINT"
    html = back_office(client, order)
    assert "TWINT" in html and attempt(order).transaction_reference in html


def test_completed_but_unpaid_waits_for_the_delayed_payment(order, standin, commit, client):
    commit(standin.pay, session_of(order), delayed=True)
    assert status(order) == "awaiting_payment" and attempt(order).status == "pending"
    html = shopper_page(client, order, "?payment=returned")
    assert badge(html) == "Awaiting payment" and "Your payment is being confirmed" in html
    commit(standin.settle, session_of(order))
    assert status(order) == "paid" and paid_events(order) == 1
    assert standin.sent_types == ["checkout.session.completed", "checkout.session.async_payment_succeeded"]


def test_a_failed_delayed_payment_fails_the_attempt(order, standin, commit, client):
    commit(standin.pay, session_of(order), delayed=True)
    commit(standin.settle, session_of(order), succeeded=False)
    payment = attempt(order)
    assert status(order) == "awaiting_payment" and payment.status == "failed"
    html = shopper_page(client, order)
    assert "Your payment did not go through." in html and "Try again: Card or TWINT" in html


def test_an_expired_session_fails_the_attempt(order, standin, commit, client):
    commit(standin.expire, session_of(order))
    payment = attempt(order)
    assert status(order) == "awaiting_payment" and payment.status == "failed"
    assert "Nothing was charged." in shopper_page(client, order)


# --- Refunds ------------------------------------------------------------------------------------------------------


def test_refunds_from_stripes_dashboard_are_recorded_once(order, standin, commit, client, staff):
    commit(standin.pay, session_of(order))
    intent = attempt(order).transaction_reference
    first = commit(standin.refund_in_dashboard, intent, 4000)
    assert status(order) == "partially_refunded"
    refund_event = next(d for d in standin.sent_events if d.type == "charge.refunded")
    commit(standin.resend, refund_event.event["id"])  # Stripe sends it again
    refund_obj = standin.refunds[first["id"]]
    commit(standin.send, events.REFUND_UPDATED, refund_obj)  # and a refund.updated follows
    assert list(Refund.objects.values_list("amount", "provider_reference")) == [(Decimal("40.00"), first["id"])]
    assert status(order) == "partially_refunded"
    assert OutgoingEmail.objects.filter(order=order, kind="refunded").count() == 1

    rest = commit(standin.refund_in_dashboard, intent)  # the rest: CHF 89.–
    assert rest["amount"] == 8900 and status(order) == "refunded"
    assert sorted(Refund.objects.values_list("amount", flat=True)) == [Decimal("40.00"), Decimal("89.00")]
    assert count(order, OrderEvent.Type.REFUNDED) == 2
    assert OutgoingEmail.objects.filter(order=order, kind="refunded").count() == 2
    assert badge(shopper_page(client, order)) == "Refunded"
    assert "Refunded CHF 40" in back_office(client, order)


def test_a_refund_from_the_back_office_goes_through_stripe_once(order, standin, commit, client, staff):
    commit(standin.pay, session_of(order))
    intent = attempt(order).transaction_reference
    response = commit(
        client.post,
        f"/backoffice/orders/{order.number}/action/",
        {"action": "refund", "amount": "129.00", "note": "Customer asked"},
        follow=True,
    )
    assert "the customer is told by e-mail" in response.content.decode()
    (call,) = standin.calls_to("/v1/refunds", "POST")
    assert call.params["payment_intent"] == intent and call.params["amount"] == "12900"
    assert call.idempotency_key and call.status == 200
    assert status(order) == "refunded"
    (refund,) = Refund.objects.all()
    assert refund.provider_reference in standin.refunds and refund.amount == Decimal("129.00")
    # Stripe's charge.refunded for that refund arrives later: nothing more is recorded
    (delivery,) = commit(standin.flush)
    assert delivery.type == "charge.refunded" and delivery.status == 200
    assert Refund.objects.count() == 1 and count(order, OrderEvent.Type.REFUNDED) == 1
    assert OutgoingEmail.objects.filter(order=order, kind="refunded").count() == 1
    assert WebhookEvent.objects.filter(event_type="charge.refunded").get().status == "processed"


def test_a_refund_stripe_refuses_is_shown_and_not_recorded(order, standin, commit, client, staff):
    commit(standin.pay, session_of(order))
    body = events.fixture("error")
    standin.fail_next("/v1/refunds", 400, body, method="POST")
    response = client.post(
        f"/backoffice/orders/{order.number}/action/", {"action": "refund", "amount": "129.00"}, follow=True
    )
    html = response.content.decode()
    assert "The provider refused the refund" in html and "is greater than unrefunded amount on charge" in html
    assert status(order) == "paid" and not Refund.objects.exists()


def test_a_refund_that_times_out_is_recorded_when_stripes_event_comes(order, standin, commit, client, staff, settings):
    commit(standin.pay, session_of(order))
    settings.PROVIDER_TIMEOUT = 1
    standin.hang_next("/v1/refunds", 1.5, method="POST", times=3)  # Stripe refunds, but answers too late
    url = f"/backoffice/orders/{order.number}/action/"
    response = commit(client.post, url, {"action": "refund", "amount": "129.00"}, follow=True)
    assert "Stripe could not be reached, so whether it made the refund is not known yet." in response.content.decode()
    # kept pending at the provider, counted as refunded: not refunded twice meanwhile
    assert status(order) == "paid" and Refund.objects.get().status == "pending"
    assert payments.paid_amount(order) == 0
    assert len(standin.refunds) == 1  # the three tries carried one key: one refund at Stripe
    commit(standin.flush)  # its charge.refunded
    assert status(order) == "refunded" and Refund.objects.get().amount == Decimal("129.00")
    # the merchant, not knowing, clicks again: the same key, the same refund at Stripe, nothing more here
    response = commit(client.post, url, {"action": "refund", "amount": "129.00"}, follow=True)
    assert "Only paid orders can be refunded." in response.content.decode()
    assert len(standin.refunds) == 1 and Refund.objects.count() == 1
    assert OutgoingEmail.objects.filter(order=order, kind="refunded").count() == 1


def test_cancelling_a_paid_order_refunds_it_through_stripe(order, standin, commit, client, staff):
    commit(standin.pay, session_of(order))
    response = commit(
        client.post,
        f"/backoffice/orders/{order.number}/action/",
        {"action": "cancel", "confirm": "on", "reason": "Out of stock"},
        follow=True,
    )
    assert "Order cancelled" in response.content.decode()
    (stripe_refund,) = standin.refunds.values()
    assert stripe_refund["amount"] == 12900 and stripe_refund["payment_intent"] == attempt(order).transaction_reference
    commit(standin.flush)
    assert status(order) == "cancelled" and Refund.objects.get().provider_reference == stripe_refund["id"]
    assert not order.needs_attention


# --- Signatures and duplicates ------------------------------------------------------------------------------------


def test_a_forged_signature_is_refused_and_nothing_stored(order, standin, commit, client):
    payment = attempt(order)
    evt = standin.pay(payment.provider_reference, send=False)  # paid at Stripe; the event is sent below
    assert commit(standin.send_event, evt, secret="whsec_somebody_else").status == 400
    body, headers = events.signed(evt, WEBHOOK_SECRET)
    tampered = body.replace(b'"amount_total": 12900', b'"amount_total": 100')
    assert tampered != body
    for raw, signature in [(tampered, headers["Stripe-Signature"]), (body, ""), (body, "t=1,v1=nothex")]:
        extra = {"HTTP_STRIPE_SIGNATURE": signature} if signature else {}
        assert client.post("/webhooks/stripe/", raw, content_type="application/json", **extra).status_code == 400
    assert not WebhookEvent.objects.exists() and status(order) == "awaiting_payment"
    assert commit(standin.send_event, evt).status == 200  # the same event, signed with the endpoint's secret
    assert status(order) == "paid"


@pytest.mark.parametrize("age", [301, 3600])
def test_an_old_event_is_refused(order, standin, commit, age):
    evt = standin.pay(session_of(order), send=False)  # paid at Stripe; the event is sent below
    delivery = commit(standin.send_event, evt, timestamp=int(timezone.now().timestamp()) - age)
    assert delivery.status == 400
    assert not WebhookEvent.objects.exists() and status(order) == "awaiting_payment"


def test_an_event_just_inside_the_tolerance_is_taken(order, standin, commit):
    evt = standin.pay(session_of(order), send=False)  # paid at Stripe; the event is sent below
    assert commit(standin.send_event, evt, timestamp=int(timezone.now().timestamp()) - 290).status == 200
    assert status(order) == "paid"


def test_the_same_event_twice_is_stored_once_and_paid_once(order, standin, commit):
    delivery = commit(standin.pay, session_of(order))
    again = commit(standin.resend, delivery.event["id"])
    assert again.status == 200
    assert WebhookEvent.objects.count() == 1 and paid_events(order) == 1
    assert count(order, OrderEvent.Type.PAYMENT_CONFIRMED) == 1


def test_events_the_shop_cannot_use_are_stored_and_ignored(order, standin, commit):
    stranger = events.checkout_session(
        client_reference_id="pay_somebody_else", status="complete", payment_status="paid"
    )
    assert commit(standin.send, events.SESSION_COMPLETED, stranger).status == 200
    intent = events.payment_intent()
    assert commit(standin.send, "payment_intent.succeeded", intent).status == 200
    assert sorted(WebhookEvent.objects.values_list("event_type", "status")) == [
        ("checkout.session.completed", "ignored"),
        ("payment_intent.succeeded", "ignored"),
    ]
    assert status(order) == "awaiting_payment" and attempt(order).status == "pending"


# --- Out of order -------------------------------------------------------------------------------------------------


def test_a_refund_that_arrives_before_the_payment_is_not_lost(order, standin, commit):
    completed = standin.pay(session_of(order), send=False)  # paid at Stripe; the event is late
    intent = standin.session(session_of(order))["payment_intent"]
    commit(standin.refund_in_dashboard, intent)  # refunded in full; charge.refunded arrives first
    commit(standin.send_event, completed)
    assert paid_events(order) <= 1
    assert Refund.objects.count() == 1 and status(order) == "refunded"


def test_completed_after_expired_is_paid_once(order, standin, commit):
    session_id = session_of(order)
    completed = standin.pay(session_id, send=False)
    expired = {**standin.session(session_id), "status": "expired", "payment_status": "unpaid", "url": None}
    commit(standin.send, events.SESSION_EXPIRED, expired)  # delivered out of order, before the completion
    assert attempt(order).status == "failed"
    commit(standin.send_event, completed)
    assert status(order) == "paid" and paid_events(order) == 1 and attempt(order).status == "confirmed"
    assert not order.needs_attention


def test_failed_after_succeeded_leaves_the_order_paid(order, standin, commit):
    session_id = session_of(order)
    commit(standin.pay, session_id, delayed=True)
    commit(standin.settle, session_id)
    failed = {**standin.session(session_id), "payment_status": "unpaid"}
    commit(standin.send, events.SESSION_ASYNC_FAILED, failed)  # a late failure of the same session
    assert status(order) == "paid" and attempt(order).status == "confirmed" and paid_events(order) == 1


def test_a_success_after_a_refund_changes_nothing(order, standin, commit):
    session_id = session_of(order)
    commit(standin.pay, session_id)
    commit(standin.refund_in_dashboard, attempt(order).transaction_reference)
    assert status(order) == "refunded"
    commit(standin.send, events.SESSION_ASYNC_SUCCEEDED, standin.session(session_id))
    commit(standin.send, events.SESSION_COMPLETED, standin.session(session_id))
    assert status(order) == "refunded" and paid_events(order) == 1
    assert count(order, OrderEvent.Type.PAYMENT_CONFIRMED) == 1
    payment = attempt(order)
    assert not payment.surplus and not order.needs_attention


# --- Mismatches and surplus ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("field", "value"), [("amount_total", 100), ("amount_total", 12901), ("currency", "eur")])
def test_an_amount_or_currency_that_differs_is_flagged_not_paid(order, standin, commit, client, staff, field, value):
    session_id = session_of(order)
    with standin.lock:
        standin.sessions[session_id][field] = value
    assert commit(standin.pay, session_id).status == 200
    order.refresh_from_db()
    assert order.payment_status == "awaiting_payment" and attempt(order).status == "pending"
    assert order.needs_attention and "not marked paid" in order.attention_reason
    assert count(order, OrderEvent.Type.PAYMENT_MISMATCH) == 1
    html = back_office(client, order)
    assert "Needs attention" in html and "not marked paid" in html


def test_a_second_payment_of_a_paid_order_is_flagged_for_refund(order, standin, commit, client, staff):
    first = attempt(order)
    second = payments.create_payment(order, "stripe")  # a second tab, a second session
    redirect = PROVIDERS["stripe"].start(second, None)
    Payment.objects.filter(pk=second.pk).update(provider_reference=redirect.provider_reference)
    commit(standin.pay, first.provider_reference)
    commit(standin.pay, redirect.provider_reference, "twint")
    order.refresh_from_db()
    second.refresh_from_db()
    assert order.payment_status == "paid" and paid_events(order) == 1
    assert second.status == "confirmed" and second.surplus == Payment.Surplus.PAID_TWICE
    assert order.needs_attention and "already paid" in order.attention_reason
    assert "Paid again: the order was already paid" in back_office(client, order)


def test_a_payment_after_the_order_was_cancelled_is_flagged(order, standin, commit, client, staff):
    session_id = session_of(order)
    standin.fail_next(f"/v1/checkout/sessions/{session_id}/expire", 500, times=3)  # Stripe down: the session stays
    commit(order_services.cancel_order, order, reason="Out of stock")
    assert standin.session(session_id)["status"] == "open"
    commit(standin.pay, session_id)  # the shopper still had the page open
    order.refresh_from_db()
    payment = attempt(order)
    assert order.payment_status == "cancelled" and payment.status == "confirmed"
    assert payment.surplus == Payment.Surplus.AFTER_CANCEL
    assert order.needs_attention and "after the order was cancelled" in order.attention_reason
    assert "Paid after the order was cancelled" in back_office(client, order)


def test_cancelling_an_order_expires_its_open_session(order, standin, commit):
    session_id = session_of(order)
    commit(order_services.cancel_order, order, reason="Customer asked")
    assert standin.session(session_id)["status"] == "expired"
    (delivery,) = commit(standin.flush)  # Stripe's checkout.session.expired for it
    assert delivery.type == "checkout.session.expired" and delivery.status == 200
    assert status(order) == "cancelled" and attempt(order).status == "failed"
    assert count(order, OrderEvent.Type.PAYMENT_FAILED) == 1


# --- The broker down, and the sweep -------------------------------------------------------------------------------


def test_with_the_broker_down_the_event_is_kept_and_the_sweep_applies_it_once(order, standin, commit, monkeypatch):
    def broker_down(*args, **kwargs):
        raise OperationalError("Error 111 connecting to localhost:6379. Connection refused.")

    monkeypatch.setattr(tasks.process_webhook_event, "delay", broker_down)
    delivery = commit(standin.pay, session_of(order))
    assert delivery.status == 200
    assert WebhookEvent.objects.get().status == "received" and status(order) == "awaiting_payment"
    assert tasks.sweep_webhook_events() == 0  # too fresh: its task may still come
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=3)):
        assert tasks.sweep_webhook_events() == 1
        assert tasks.sweep_webhook_events() == 0
    assert WebhookEvent.objects.get().status == "processed"
    assert status(order) == "paid" and paid_events(order) == 1


# --- Reconciliation -----------------------------------------------------------------------------------------------


@pytest.fixture
def late_order(clock, place, fondue, stripe_enabled):
    """An order whose shopper went to Stripe at T0; Stripe's webhook never arrives."""
    return online.sent_to_pay(place, fondue, "stripe")


def asked(standin, order) -> int:
    return len(standin.calls_to(f"/v1/checkout/sessions/{session_of(order)}", "GET"))


def test_reconciliation_leaves_young_payments_alone_then_finds_them_paid(late_order, standin, clock, commit):
    order = late_order
    standin.pay(session_of(order), send=False)  # paid at Stripe; the webhook is lost
    clock.shift(dt.timedelta(minutes=29))
    assert tasks.reconcile_payments() == 0 and asked(standin, order) == 0
    clock.shift(dt.timedelta(minutes=2))
    assert commit(tasks.reconcile_payments) == 1 and asked(standin, order) == 1
    assert status(order) == "paid" and attempt(order).method_detail == "Visa •••• 4242"
    (confirmed,) = order.events.filter(type=OrderEvent.Type.PAYMENT_CONFIRMED)
    assert confirmed.data["via"] == "reconciliation" and confirmed.actor == "system"
    assert order.events.get(type=OrderEvent.Type.PAYMENT_STATUS, new_value="paid").created_at == T0 + dt.timedelta(
        minutes=31
    )
    clock.shift(dt.timedelta(minutes=20))
    assert tasks.reconcile_payments() == 0 and asked(standin, order) == 1  # paid: never asked again


def test_reconciliation_fails_an_attempt_stripe_says_expired(late_order, standin, clock):
    order = late_order
    standin.expire(session_of(order), send=False)
    clock.shift(dt.timedelta(minutes=31))
    assert tasks.reconcile_payments() == 1
    assert attempt(order).status == "failed" and status(order) == "awaiting_payment"
    assert order.events.get(type=OrderEvent.Type.PAYMENT_FAILED).data["via"] == "reconciliation"


def test_reconciliation_gives_up_on_a_session_long_past_its_end(late_order, standin, clock):
    order = late_order
    clock.shift(dt.timedelta(hours=25))  # Stripe's session ran out at 23 h; no webhook ever came
    assert tasks.reconcile_payments() == 1
    assert attempt(order).status == "failed" and status(order) == "awaiting_payment"
    assert standin.session(session_of(order))["status"] == "expired"


def test_reconciliation_with_stripe_down_changes_nothing_and_asks_again_later(late_order, standin, clock, commit):
    order = late_order
    session_id = session_of(order)
    standin.pay(session_id, send=False)
    clock.shift(dt.timedelta(minutes=31))
    standin.fail_next(f"/v1/checkout/sessions/{session_id}", 500, method="GET", times=3)
    assert tasks.reconcile_payments() == 0
    assert asked(standin, order) == 3  # the SDK's own retries
    assert attempt(order).status == "pending" and status(order) == "awaiting_payment"
    assert attempt(order).checked_at == T0 + dt.timedelta(minutes=31)
    clock.shift(dt.timedelta(minutes=5))
    assert tasks.reconcile_payments() == 0 and asked(standin, order) == 3  # asked at most every 10 minutes
    clock.shift(dt.timedelta(minutes=6))
    assert commit(tasks.reconcile_payments) == 1 and asked(standin, order) == 4
    assert status(order) == "paid"
