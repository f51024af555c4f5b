"""What every online provider shares, shown with the test provider: the test provider only for test orders, another
method after a failed attempt, cancelling closes the open sessions, money paid although nothing was due listed for a
one-click refund, refunds that a provider refuses, and a webhook that the broker could not take."""

import datetime as dt
import json
import re
import time
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone, translation
from kombu.exceptions import OperationalError

from orders import services as orders
from orders.models import Order, OrderEvent
from payments import services as payments
from payments import tasks
from payments.models import Payment, Refund, WebhookEvent
from payments.providers import PROVIDERS, PaymentState, ProviderError, ProviderRefund
from payments.providers.test import sign


def post_event(client, payment, type="payment.succeeded", event_id="evt_1"):
    body = json.dumps(
        {
            "id": event_id,
            "type": type,
            "created": int(time.time()),
            "data": {"payment_reference": payment.reference, "amount": payment.amount_minor, "currency": "CHF"},
        }
    ).encode()
    return client.post(
        "/webhooks/test/", body, content_type="application/json", HTTP_TEST_SIGNATURE=sign(body, int(time.time()))
    )


@pytest.fixture
def real_order(place, fondue, store):
    """An order placed before the merchant switched test mode on: a real order, whatever the mode is now."""
    store.test_mode = False
    store.save()
    order = place(fondue)
    store.test_mode = True
    store.save()
    return order


# The test provider only for test orders --------------------------------------------------------------------------


def test_a_real_order_never_gets_the_test_provider_from_a_payment_link(real_order, staff):
    assert not real_order.is_test
    with pytest.raises(payments.PaymentError, match="needs an online payment method"):
        payments.send_payment_link(real_order, staff)
    assert Order.objects.get(pk=real_order.pk).payment_method == "bank_transfer"


def test_a_real_order_set_to_the_test_provider_can_not_be_paid_by_it(real_order, client):
    Order.objects.filter(pk=real_order.pk).update(payment_method="test")
    real_order.refresh_from_db()
    with pytest.raises(payments.PaymentError, match="Test payments are for test orders only."):
        payments.start_payment(real_order, None)
    payment = Payment.objects.create(order=real_order, provider="test", amount=real_order.total)
    page = reverse("payments:test_page", kwargs={"reference": payment.reference})
    assert client.get(page).status_code == 404
    assert client.post(page, {"outcome": "pay"}).status_code == 404
    assert Order.objects.get(pk=real_order.pk).payment_status == "awaiting_payment"


def test_a_test_order_may_use_the_test_provider(place, fondue, staff):
    order = place(fondue)  # test mode is on: a test order, by bank transfer
    assert order.is_test
    payments.send_payment_link(order, staff)
    assert Order.objects.get(pk=order.pk).payment_method == "test"


def test_an_online_provider_that_is_not_configured_is_never_offered(store, settings):
    from payments.models import PaymentMethod
    from payments.providers import available_methods

    PaymentMethod(code="stripe", is_enabled=True, position=9).save()
    settings.STRIPE_SECRET_KEY = settings.STRIPE_WEBHOOK_SECRET = ""
    assert "stripe" not in [p.code for p in available_methods(store, pickup=False)]
    settings.STRIPE_SECRET_KEY, settings.STRIPE_WEBHOOK_SECRET = "sk_test_x", "whsec_x"
    assert "stripe" in [p.code for p in available_methods(store, pickup=False)]


# Another try, or another method ----------------------------------------------------------------------------------


def test_after_a_decline_the_shopper_pays_another_way(client, english, place, fondue, commit):
    order = place(fondue, payment_method="test")
    payment = order.payments.get()
    commit(post_event, client, payment, type="payment.failed")
    page = client.get(order.get_absolute_url()).content.decode()
    assert "Your payment did not go through." in page and "Or pay another way" in page
    assert 'value="bank_transfer"' in page and 'value="test"' not in page.split("Or pay another way")[1]
    response = client.post(f"/en/order/{order.token}/pay/", {"method": "bank_transfer"}, follow=True)
    page = response.content.decode()
    assert "Payment method changed: please see below how to pay." in page
    assert "CH93 0076 2011 6238 5295 7" in page  # the bank transfer's instructions
    order.refresh_from_db()
    assert order.payment_method == "bank_transfer" and order.payment_status == "awaiting_payment"
    assert order.payments.filter(provider="bank_transfer", status="pending").count() == 1
    assert order.events.filter(type="edited", actor="shopper").exists()


def test_a_method_not_offered_is_refused_with_a_message(client, english, place, fondue):
    order = place(fondue, payment_method="test")
    response = client.post(f"/en/order/{order.token}/pay/", {"method": "cash_on_pickup"}, follow=True)
    assert "Please choose one of the payment methods offered." in response.content.decode()
    assert Order.objects.get(pk=order.pk).payment_method == "test"


def test_back_from_the_provider_cancelled_the_page_says_so_and_does_not_poll(client, english, place, fondue):
    order = place(fondue, payment_method="test")
    page = client.get(order.get_absolute_url() + "?payment=cancelled").content.decode()
    assert "You cancelled the payment. Your order is kept" in page
    assert "hx-trigger" not in page and "Try again: Test payment" in page


def test_an_expired_session_is_said_in_plain_words_and_a_new_attempt_is_opened(client, english, place, fondue):
    order = place(fondue, payment_method="test")
    payment = order.payments.get()
    Payment.objects.filter(pk=payment.pk).update(expires_at=timezone.now() - dt.timedelta(minutes=1))
    response = client.post(f"/en/order/{order.token}/pay/")
    new = order.payments.exclude(pk=payment.pk).get()
    assert response["Location"] == reverse("payments:test_page", kwargs={"reference": new.reference})
    payment.refresh_from_db()
    assert payment.status == "failed"
    page = client.get(order.get_absolute_url()).content.decode()
    assert "Pay now" in page  # the new attempt is open: no failure to report


# Cancelling closes the open sessions; a late payment is flagged and refunded in one click --------------------------


def test_cancelling_expires_the_open_sessions_and_a_late_payment_is_flagged(
    db, client, staff, place, fondue, commit, monkeypatch
):
    order = place(fondue, payment_method="test")
    payment = order.payments.get()
    closed = []
    monkeypatch.setattr(PROVIDERS["test"], "cancel", lambda p: closed.append(p.reference))
    orders.cancel_order(order, user=staff)
    assert closed == [payment.reference]
    payment.refresh_from_db()
    assert payment.status == "failed"
    # the shopper had the provider's page open and pays all the same
    commit(post_event, client, payment, event_id="evt_late")
    order.refresh_from_db()
    payment.refresh_from_db()
    assert order.payment_status == "cancelled" and order.needs_attention
    assert payment.status == "confirmed" and payment.surplus == Payment.Surplus.AFTER_CANCEL
    page = client.get(f"/backoffice/orders/{order.number}/").content.decode()
    assert "Paid after the order was cancelled" in page and "Refund CHF 129.–" in page
    response = client.post(
        f"/backoffice/orders/{order.number}/action/",
        {"action": "refund_surplus", "payment": str(payment.pk)},
        follow=True,
    )
    assert "CHF 129.– refunded to the customer." in response.content.decode()
    payment.refresh_from_db()
    assert payment.surplus == "" and [r.amount for r in payment.refunds.all()] == [Decimal("129.00")]
    assert Order.objects.get(pk=order.pk).payment_status == "cancelled"
    assert order.emails.filter(kind="refunded").count() == 1


def test_paid_twice_in_two_tabs_is_flagged_and_the_second_refunded_the_order_stays_paid(
    db, client, staff, place, fondue, commit
):
    order = place(fondue, payment_method="test")
    first = order.payments.get()
    second = Payment.objects.create(order=order, provider="test", amount=order.total)
    commit(post_event, client, first, event_id="evt_a")
    commit(post_event, client, second, event_id="evt_b")
    order.refresh_from_db()
    second.refresh_from_db()
    assert order.payment_status == "paid" and order.needs_attention
    assert second.surplus == Payment.Surplus.PAID_TWICE
    assert order.events.filter(type="payment_status", new_value="paid").count() == 1
    payments.refund_surplus(second, user=staff)
    order.refresh_from_db()
    assert order.payment_status == "paid" and payments.paid_amount(order) == order.total
    with pytest.raises(payments.PaymentError, match="not to be refunded"):
        payments.refund_surplus(first, user=staff)


def test_a_refund_the_provider_refuses_changes_nothing_and_shows_its_message(
    db, client, staff, place, fondue, commit, monkeypatch
):
    order = place(fondue, payment_method="test")
    commit(post_event, client, order.payments.get())

    def refuse(payment, amount_minor, key):
        raise ProviderError("Charge ch_1 has already been refunded.")

    monkeypatch.setattr(PROVIDERS["test"], "refund", refuse)
    response = client.post(
        f"/backoffice/orders/{order.number}/action/", {"action": "refund", "amount": "129.00"}, follow=True
    )
    assert "The provider refused the refund: Charge ch_1 has already been refunded." in response.content.decode()
    order.refresh_from_db()
    assert order.payment_status == "paid" and not Refund.objects.exists()
    assert not order.emails.filter(kind="refunded").exists()


def test_a_refund_through_the_provider_uses_one_key_per_reservation(
    db, client, staff, place, fondue, commit, monkeypatch
):
    order = place(fondue, payment_method="test")
    commit(post_event, client, order.payments.get())
    calls = []
    original = PROVIDERS["test"].refund

    def record(payment, amount_minor, key):
        calls.append((amount_minor, key))
        return original(payment, amount_minor, key)

    monkeypatch.setattr(PROVIDERS["test"], "refund", record)
    payments.refund(order, Decimal("29.00"), user=staff)
    payments.refund(order, Decimal("100.00"), user=staff)
    refunds = list(Refund.objects.order_by("pk"))
    assert calls == [(2900, f"refund:{refunds[0].pk}"), (10000, f"refund:{refunds[1].pk}")]
    assert all(r.provider_reference.startswith("test_re_") and r.status == "done" for r in refunds)
    assert Order.objects.get(pk=order.pk).payment_status == "refunded"


def test_a_provider_reporting_our_own_refund_again_records_it_once(
    db, client, staff, place, fondue, commit, monkeypatch
):
    order = place(fondue, payment_method="test")
    payment = order.payments.get()
    commit(post_event, client, payment)
    payments.refund(order, Decimal("29.00"), user=staff)
    ours = Refund.objects.get()
    # the provider's list of refunds: ours, and one made in its dashboard
    reported = [ProviderRefund(ours.provider_reference, 2900), ProviderRefund("test_re_dashboard", 1000)]
    assert payments.record_provider_refunds(payment, reported) == Decimal("10.00")
    assert payments.record_provider_refunds(payment, reported) == Decimal("0")
    assert sorted(Refund.objects.values_list("amount", flat=True)) == [Decimal("10.00"), Decimal("29.00")]
    assert Order.objects.get(pk=order.pk).payment_status == "partially_refunded"


def test_a_refund_reported_while_ours_waits_for_its_provider_takes_our_reservation(
    place, fondue, staff, commit, client
):
    order = place(fondue, payment_method="test")
    payment = order.payments.get()
    commit(post_event, client, payment)
    reservation = Refund.objects.create(payment=payment, amount=Decimal("29.00"), status=Refund.Status.PENDING)
    payments.record_provider_refunds(payment, [ProviderRefund("re_1", 2900)])
    reservation.refresh_from_db()
    assert reservation.status == "done" and reservation.provider_reference == "re_1"
    assert Refund.objects.count() == 1


# Broker down: the event is kept and applied later, once --------------------------------------------------------


def test_broker_down_the_webhook_is_answered_2xx_and_applied_by_the_sweep_once(
    client, place, fondue, commit, monkeypatch
):
    order = place(fondue, payment_method="test")
    payment = order.payments.get()

    def down(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(tasks.process_webhook_event, "delay", down)
    response = commit(post_event, client, payment, event_id="evt_down")
    assert response.status_code == 200
    assert WebhookEvent.objects.get().status == "received"
    assert Order.objects.get(pk=order.pk).payment_status == "awaiting_payment"
    # the provider's retry of the same event is a duplicate: stored once, still waiting
    assert commit(post_event, client, payment, event_id="evt_down").status_code == 200
    assert WebhookEvent.objects.count() == 1
    assert tasks.sweep_webhook_events() == 0  # too fresh: its task may still be on its way
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=3)):
        assert tasks.sweep_webhook_events() == 1
        assert tasks.sweep_webhook_events() == 0
    assert WebhookEvent.objects.get().status == "processed"
    order.refresh_from_db()
    assert order.payment_status == "paid"
    assert order.events.filter(type=OrderEvent.Type.PAYMENT_CONFIRMED).count() == 1


def test_an_event_that_keeps_failing_is_marked_in_error_after_three_days(place, fondue, monkeypatch):
    order = place(fondue, payment_method="test")
    payment = order.payments.get()
    event = WebhookEvent.objects.create(
        provider="test", event_id="evt_x", kind="succeeded", payment_reference=payment.reference, payload={}
    )

    def broken(pk):
        raise RuntimeError("database hiccup")

    monkeypatch.setattr(tasks, "apply_webhook_event", broken)
    with time_machine.travel(timezone.now() + dt.timedelta(hours=1)):
        tasks.sweep_webhook_events()
    assert WebhookEvent.objects.get(pk=event.pk).status == "received"
    with time_machine.travel(timezone.now() + dt.timedelta(days=4)):
        tasks.sweep_webhook_events()
    event.refresh_from_db()
    assert event.status == "error" and event.error == "database hiccup"


def test_money_to_refund_is_counted_on_the_dashboard_and_listed_with_a_filter(
    db, client, staff, place, fondue, commit, store
):
    store.test_mode = False  # the dashboard counts real orders
    store.save()
    order = place(fondue, payment_method="bank_transfer")
    other = place(fondue)
    Payment.objects.create(order=order, provider="test", amount=order.total, status="confirmed", surplus="paid_twice")
    page = client.get("/backoffice/").content.decode()
    assert "Money to refund" in page and "?attention=refund" in page
    listed = client.get("/backoffice/orders/", {"attention": "refund"}).content.decode()
    assert f"/backoffice/orders/{order.number}/" in listed and f"/backoffice/orders/{other.number}/" not in listed


def test_a_reservation_left_pending_is_settled_from_the_provider_or_given_back(
    db, client, staff, place, fondue, commit, monkeypatch
):
    """The process died between the provider's answer and the settling: an hour later the provider's list decides."""
    made = place(fondue, payment_method="test")
    lost = place(fondue, payment_method="test")
    for order in (made, lost):
        commit(post_event, client, order.payments.get(), event_id=f"evt_{order.pk}")
    done = Refund.objects.create(payment=made.payments.get(), amount=Decimal("29.00"), status=Refund.Status.PENDING)
    never = Refund.objects.create(payment=lost.payments.get(), amount=Decimal("29.00"), status=Refund.Status.PENDING)
    monkeypatch.setattr(
        PROVIDERS["test"],
        "fetch_refunds",
        lambda payment: [ProviderRefund("test_re_made", 2900)] if payment.order_id == made.pk else [],
    )
    assert tasks.settle_stale_refunds() == 0  # too fresh: its provider call may still be running
    with time_machine.travel(timezone.now() + dt.timedelta(hours=2)):
        assert tasks.settle_stale_refunds() == 2
    done.refresh_from_db()
    assert done.status == "done" and done.provider_reference == "test_re_made"
    assert Order.objects.get(pk=made.pk).payment_status == "partially_refunded"
    assert made.emails.filter(kind="refunded").count() == 1
    assert not Refund.objects.filter(pk=never.pk).exists()
    assert Order.objects.get(pk=lost.pk).payment_status == "paid" and payments.paid_amount(lost) == lost.total


def test_a_refund_the_provider_reports_failed_later_is_flagged_once_and_no_longer_counted(
    db, client, staff, place, fondue, commit
):
    order = place(fondue, payment_method="test")
    payment = order.payments.get()
    commit(post_event, client, payment)
    payments.refund(order, Decimal("29.00"), user=staff)
    ours = Refund.objects.get()
    assert payments.paid_amount(order) == Decimal("100.00")
    failed = [ProviderRefund(ours.provider_reference, 2900, status="failed")]
    payments.record_provider_refunds(payment, failed)
    payments.record_provider_refunds(payment, failed)  # the provider says it again: flagged once
    ours.refresh_from_db()
    order.refresh_from_db()
    assert ours.status == "failed" and payments.paid_amount(order) == order.total
    assert order.needs_attention and order.attention_reason.count("failed at Test payment") == 1
    page = client.get(f"/backoffice/orders/{order.number}/").content.decode()
    assert "Refund of CHF 29.– failed" in page


def test_the_timeline_says_paid_although_nothing_was_due_in_english_words(db, client, staff, place, fondue, commit):
    order = place(fondue, payment_method="test")
    first = order.payments.get()
    second = Payment.objects.create(order=order, provider="test", amount=order.total)
    commit(post_event, client, first, event_id="evt_1")
    with translation.override("de"):  # a worker runs in the shop's default language
        commit(post_event, client, second, event_id="evt_2")
    event = order.events.get(type=OrderEvent.Type.PAYMENT_SURPLUS)
    assert "paid by Test payment" in event.data["reason"]
    page = client.get(f"/backoffice/orders/{order.number}/").content.decode()
    assert "Paid although nothing was due" in page


# Authorised payments: the shop takes the money, or lets it go (PayPal's approved orders, Datatrans's settling) -----


def authorized_event(payment, event_id="auth_1"):
    """An event the provider sent saying the shopper approved (stored as the webhook would store it)."""
    return WebhookEvent.objects.create(
        provider="test",
        event_id=event_id,
        event_type="payment.authorized",
        kind="authorized",
        payment_reference=payment.reference,
        payload={},
    )


@pytest.fixture
def holder(monkeypatch):
    """The test provider holding an authorised payment: what the pipeline asked of it."""
    asked = {"capture": [], "cancel": []}
    provider = PROVIDERS["test"]

    def capture(payment):
        asked["capture"].append(payment.reference)
        return PaymentState("succeeded", payment.amount_minor, "CHF", details={"method": "Visa •••• 0004"})

    monkeypatch.setattr(provider, "capture", capture)
    monkeypatch.setattr(provider, "cancel", lambda payment: asked["cancel"].append(payment.reference))
    monkeypatch.setattr(provider, "fetch_status", lambda payment: PaymentState("authorized"))
    return asked


def test_an_authorised_payment_is_captured_once_and_the_order_turns_paid(place, fondue, holder):
    order = place(fondue, payment_method="test")
    payment = order.payments.get()
    assert tasks.apply_webhook_event(authorized_event(payment).pk) == "processed"
    # the provider tells again (a retry, the return page): nothing is taken twice
    assert tasks.apply_webhook_event(authorized_event(payment, "auth_2").pk) == "ignored"
    assert not tasks.reconcile_payment(payment)
    assert holder == {"capture": [payment.reference], "cancel": []}
    order.refresh_from_db()
    payment.refresh_from_db()
    assert order.payment_status == "paid" and payment.status == "confirmed"
    assert payment.method_detail == "Visa •••• 0004" and payment.surplus == ""


def test_an_authorised_payment_of_a_cancelled_order_is_released_never_taken(place, fondue, staff, holder):
    order = place(fondue, payment_method="test")
    payment = order.payments.get()
    orders.cancel_order(order, user=staff)
    holder["cancel"].clear()  # the cancellation closed the session: now the provider says it was approved all the same
    tasks.apply_webhook_event(authorized_event(payment).pk)
    assert holder == {"capture": [], "cancel": [payment.reference]}
    order.refresh_from_db()
    payment.refresh_from_db()
    assert order.payment_status == "cancelled" and not order.needs_attention
    assert payment.status == "failed" and payment.surplus == "" and not payment.refunds.exists()


def test_an_authorised_payment_of_an_order_paid_meanwhile_is_released(place, fondue, staff, holder):
    order = place(fondue, payment_method="test")
    first = order.payments.get()
    second = Payment.objects.create(order=order, provider="test", amount=order.total)
    tasks.apply_webhook_event(authorized_event(first).pk)
    tasks.apply_webhook_event(authorized_event(second, "auth_2").pk)
    assert holder == {"capture": [first.reference], "cancel": [second.reference]}
    second.refresh_from_db()
    assert second.status == "failed" and second.failure_message == "Not taken: the order was paid already."
    assert Order.objects.get(pk=order.pk).payment_status == "paid"


def test_a_capture_the_provider_refuses_keeps_the_event_for_a_retry(place, fondue, holder, monkeypatch):
    order = place(fondue, payment_method="test")
    payment = order.payments.get()

    def down(payment):
        raise ProviderError("The provider could not be reached.")

    monkeypatch.setattr(PROVIDERS["test"], "capture", down)
    event = authorized_event(payment)
    with pytest.raises(ProviderError):
        tasks.apply_webhook_event(event.pk)
    event.refresh_from_db()
    payment.refresh_from_db()
    assert event.status == "received" and payment.status == "pending"
    assert Order.objects.get(pk=order.pk).payment_status == "awaiting_payment"


def test_the_reconciliation_captures_an_authorised_payment(place, fondue, holder):
    order = place(fondue, payment_method="test")
    payment = order.payments.get()
    assert tasks.reconcile_payment(payment)
    assert holder["capture"] == [payment.reference]
    assert Order.objects.get(pk=order.pk).payment_status == "paid"
    (confirmed,) = order.events.filter(type=OrderEvent.Type.PAYMENT_CONFIRMED)
    assert confirmed.data["via"] == "reconciliation" and confirmed.actor == "system"


def test_a_method_that_can_not_take_the_amount_is_shown_unavailable_with_the_reason_on_the_order_page(
    client, english, place, fondue, store, monkeypatch
):
    from payments.providers import available_methods, method_offers

    reason = "Invoice takes payments up to CHF 100.–."
    monkeypatch.setattr(PROVIDERS["invoice"], "refusal", lambda minor, currency: reason if minor > 10_000 else "")
    assert "invoice" in [p.code for p in available_methods(store, pickup=False, amount=Decimal("100.00"))]
    assert "invoice" not in [p.code for p in available_methods(store, pickup=False, amount=Decimal("100.05"))]
    assert "invoice" in [p.code for p in available_methods(store, pickup=False)]  # no amount known: not filtered
    offers = {offer.method.code: offer.refusal for offer in method_offers(store, pickup=False, amount=Decimal("129"))}
    assert offers["invoice"] == reason and offers["bank_transfer"] == ""
    order = place(fondue, payment_method="test")  # CHF 129.–, not paid yet
    page = client.get(order.get_absolute_url()).content.decode()
    assert "Pay now" in page
    assert re.search(r'<input type="radio" name="method" value="invoice" required disabled>', page)
    assert reason in page
    assert re.search(r'<input type="radio" name="method" value="bank_transfer" required checked>', page)
    with pytest.raises(payments.PaymentError, match="up to CHF 100.–. Please choose another payment method."):
        payments.choose_method(order, "invoice")


def test_when_the_orders_own_method_can_not_take_the_amount_the_page_says_why_instead_of_pay_now(
    client, english, place, fondue, store, monkeypatch
):
    order = place(fondue, payment_method="test")
    attempts = order.payments.count()
    reason = "Test payment takes payments up to CHF 100.–."
    monkeypatch.setattr(PROVIDERS["test"], "refusal", lambda minor, currency: reason if minor > 10_000 else "")
    page = client.get(order.get_absolute_url()).content.decode()
    assert "Pay now" not in page and f"{reason} Please choose another payment method." in page
    assert re.search(r'<input type="radio" name="method" value="bank_transfer" required checked>', page)
    with pytest.raises(payments.PaymentError, match="Test payment takes payments up to CHF 100.–. Please choose"):
        payments.start_payment(order, None)
    assert order.payments.count() == attempts  # refused before another attempt was recorded
    assert not order.events.filter(type=OrderEvent.Type.PAYMENT_STARTED).exists()


def test_back_from_a_provider_checked_on_return_the_approved_payment_is_taken_at_once(
    client, english, place, fondue, holder, monkeypatch
):
    monkeypatch.setattr(PROVIDERS["test"], "check_on_return", True)
    order = place(fondue, payment_method="test")
    page = client.get(order.get_absolute_url() + "?payment=returned").content.decode()
    assert "Your payment is confirmed." in page
    assert holder["capture"] == [order.payments.get().reference]
    (confirmed,) = order.events.filter(type=OrderEvent.Type.PAYMENT_CONFIRMED)
    assert confirmed.data["via"] == "return"
    # the page's own polling (htmx) and a reload ask nothing more
    client.get(order.get_absolute_url() + "?payment=returned", HTTP_HX_REQUEST="true")
    client.get(order.get_absolute_url() + "?payment=returned")
    assert len(holder["capture"]) == 1
