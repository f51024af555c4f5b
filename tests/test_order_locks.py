"""The order lock, raced on PostgreSQL with real connections (one per thread).

Each race widens its window with a short pause inside the workflow (after the step the other side must not see
half-done), so that it is decided by the locks and not by timing: removing ``lock_order`` from confirming a payment,
recording one or refunding makes one of these fail, as does taking stock in any other order than the products', or
dropping the row lock of a stored webhook event or of an outgoing e-mail."""

import threading
import time
from decimal import Decimal

import pytest
from django.db import connection, connections
from django.utils import translation

from notifications.models import EmailSettings
from orders import services as orders
from orders import stock
from payments import services as payments
from payments import tasks
from payments.models import Payment, Refund, WebhookEvent
from shop.cart.models import Cart, CartLine
from shop.catalog.models import Product
from shop.checkout.services import CheckoutData, place_order
from tests.factories import ProductFactory

pytestmark = [
    pytest.mark.concurrency,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL (set DATABASE_URL)"),
]
PAUSE = 0.4  # seconds: long enough for the other thread to reach the same step if nothing holds it back


def race(*actions):
    """Run the actions at the same moment, each in its own thread and connection: (results, errors)."""
    EmailSettings.load()  # its row exists in a real shop: creating it would make the racers queue up
    start = threading.Barrier(len(actions))
    results, errors = [None] * len(actions), [None] * len(actions)

    def run(i, action):
        try:
            translation.activate("en")
            start.wait()
            results[i] = action()
        except Exception as error:  # noqa: BLE001 — returned to the test
            errors[i] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, action)) for i, action in enumerate(actions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return results, errors


def paused(monkeypatch, owner, name):
    """Make ``owner.name`` pause after it ran, in every thread."""
    original = getattr(owner, name)

    def slow(*args, **kwargs):
        result = original(*args, **kwargs)
        time.sleep(PAUSE)
        return result

    monkeypatch.setattr(owner, name, slow)


@pytest.fixture
def hundred(db):
    return ProductFactory(name="Käse", price=Decimal("100.00"), stock=10)  # free shipping from 100.–


def test_a_webhook_confirming_while_the_merchant_records_a_payment(place, hundred, monkeypatch):
    """60.– arrive online while the merchant records 40.– received by bank: together they pay the order. Without the
    order lock each side counts only its own payment, and the order stays unpaid with 100.– received."""
    order = place(hundred, payment_method="test")
    online = order.payments.get()
    Payment.objects.filter(pk=online.pk).update(amount=Decimal("60.00"))
    online.refresh_from_db()
    stored = WebhookEvent.objects.create(
        provider="test",
        event_id="evt_race",
        event_type="payment.succeeded",
        kind="succeeded",
        payment_reference=online.reference,
        amount_minor=6000,
        currency="CHF",
        payload={},
    )
    paused(monkeypatch, Payment, "confirm")
    results, errors = race(
        lambda: tasks.apply_webhook_event(stored.pk),
        lambda: payments.record_offline_payment(order, Decimal("40.00"), note="bank"),
    )
    assert errors == [None, None]
    order.refresh_from_db()
    assert order.payment_status == "paid"
    assert payments.paid_amount(order) == Decimal("100.00")
    assert order.events.filter(type="payment_status", new_value="paid").count() == 1


def test_two_merchants_record_the_same_payment_at_once(place, hundred, monkeypatch):
    """Two clicks on "Record payment" of 50.– each: two payments, the order paid. Without the order lock both take
    the same pending payment and one of the two amounts is lost."""
    order = place(hundred)  # bank transfer, 100.–
    paused(monkeypatch, payments, "pending_offline_payment")
    results, errors = race(
        lambda: payments.record_offline_payment(order, Decimal("50.00")),
        lambda: payments.record_offline_payment(order, Decimal("50.00")),
    )
    assert errors == [None, None]
    assert sorted(order.payments.values_list("amount", "status")) == [
        (Decimal("50.00"), "confirmed"),
        (Decimal("50.00"), "confirmed"),
    ]
    order.refresh_from_db()
    assert order.payment_status == "paid"


def test_two_refunds_at_once_never_refund_more_than_was_paid(place, hundred, monkeypatch):
    order = place(hundred)
    payments.record_offline_payment(order, order.total)
    paused(monkeypatch, payments, "paid_amount")
    results, errors = race(
        lambda: payments.refund(order, Decimal("70.00")),
        lambda: payments.refund(order, Decimal("70.00")),
    )
    refused = [error for error in errors if error is not None]
    assert len(refused) == 1 and str(refused[0]) == "You can refund at most CHF 30.–."
    assert [Decimal(r) for r in Refund.objects.values_list("amount", flat=True)] == [Decimal("70.00")]
    order.refresh_from_db()
    assert order.payment_status == "partially_refunded"


def test_cancel_racing_a_refund_gives_stock_back_once(place, hundred, monkeypatch):
    order = place(hundred, 3)
    payments.record_offline_payment(order, order.total)
    paused(monkeypatch, stock, "restore")
    results, errors = race(
        lambda: orders.cancel_order(order),
        lambda: orders.refund_order(order, order.total, restock=True),
    )
    assert len([error for error in errors if error is not None]) == 1  # the second finds nothing left to do
    assert Product.objects.get(pk=hundred.pk).stock == 10
    assert sum(Refund.objects.values_list("amount", flat=True)) == order.total


def test_two_checkouts_taking_two_products_in_opposite_order_do_not_deadlock(store, shipping, monkeypatch):
    """Shopper A added fondue then raclette, shopper B raclette then fondue. Stock is taken product by product in
    product order, so one waits for the other instead of each holding what the other needs."""
    fondue = ProductFactory(name="Fondue", price=Decimal("50.00"), stock=10)
    raclette = ProductFactory(name="Raclette", price=Decimal("60.00"), stock=10)
    carts = []
    for products in ((fondue, raclette), (raclette, fondue)):
        cart = Cart.objects.create()
        for product in products:
            CartLine.objects.create(cart=cart, product=product, quantity=1)
        carts.append(cart.token)
    data = CheckoutData(
        email="race@example.ch",
        payment_method="bank_transfer",
        shipping_method_id=shipping["post"].pk,
        shipping={"name": "R", "street": "S 1", "postcode": "8000", "city": "Zürich", "country": "CH"},
    )
    paused(monkeypatch, stock, "_take")
    results, errors = race(*(lambda token=token: place_order(token, data, "de") for token in carts))
    assert errors == [None, None]
    assert sorted(order.number for order in results) == [1001, 1002]
    assert Product.objects.get(pk=fondue.pk).stock == Product.objects.get(pk=raclette.pk).stock == 8


def test_the_same_webhook_event_applied_twice_at_once_flags_the_order_once(place, hundred, monkeypatch):
    """The broker may deliver a task twice (acks late): the event's row lock lets only one of them apply it."""
    order = place(hundred, payment_method="test")
    payment = order.payments.get()
    stored = WebhookEvent.objects.create(
        provider="test",
        event_id="evt_twice",
        event_type="payment.succeeded",
        kind="succeeded",
        payment_reference=payment.reference,
        amount_minor=1,  # not what is due: the order is flagged, once
        currency="CHF",
        payload={},
    )
    paused(monkeypatch, payments, "flag_mismatch")
    results, errors = race(lambda: tasks.apply_webhook_event(stored.pk), lambda: tasks.apply_webhook_event(stored.pk))
    assert errors == [None, None] and sorted(results) == ["processed", "processed"]
    assert order.events.filter(type="payment_mismatch").count() == 1


def test_an_email_handed_over_twice_is_sent_once(place, hundred, monkeypatch):
    from django.core import mail

    from notifications import delivery
    from notifications.models import OutgoingEmail

    order = place(hundred)
    email = OutgoingEmail.objects.filter(order=order, kind="order_confirmation").get()
    OutgoingEmail.objects.filter(pk=email.pk).update(status="pending", attempts=0, sent_at=None)  # as if not yet sent
    paused(monkeypatch, delivery, "build_message")
    mail.outbox = []
    results, errors = race(lambda: delivery.deliver(email.pk), lambda: delivery.deliver(email.pk))
    assert errors == [None, None], errors
    assert results == [None, None], OutgoingEmail.objects.get(pk=email.pk).last_error
    assert len(mail.outbox) == 1 and OutgoingEmail.objects.get(pk=email.pk).attempts == 1


def order_is_free(order_pk) -> bool:
    """From another connection: can the order's row be locked right now (nobody holds it)?"""
    from django.db import OperationalError, transaction

    from orders.models import Order

    answer = []

    def probe():
        try:
            with transaction.atomic():
                Order.objects.select_for_update(nowait=True).get(pk=order_pk)
            answer.append(True)
        except OperationalError:
            answer.append(False)
        finally:
            connections.close_all()

    thread = threading.Thread(target=probe)
    thread.start()
    thread.join(10)
    return answer == [True]


def test_no_provider_is_called_while_the_order_is_locked(place, hundred, monkeypatch):
    """Opening a session, refunding, expiring a session: each provider call finds the order's row free, so that a
    slow provider never holds up the webhooks and the merchant working on the same order."""
    from payments import tasks
    from payments.providers import PROVIDERS, PaymentState, ProviderRefund, Redirect

    provider = PROVIDERS["test"]
    free = {}

    def start(payment, request):
        free["start"] = order_is_free(payment.order_id)
        return Redirect("/pay/", provider_reference="sess_1")

    def refund(payment, amount_minor, key):
        free["refund"] = order_is_free(payment.order_id)
        return ProviderRefund("re_" + key, amount_minor)

    def cancel(payment):
        free["cancel"] = order_is_free(payment.order_id)

    def capture(payment):
        free["capture"] = order_is_free(payment.order_id)
        return PaymentState("succeeded", payment.amount_minor, payment.currency)

    def fetch_status(payment):
        free["fetch_status"] = order_is_free(payment.order_id)
        return PaymentState("authorized")

    monkeypatch.setattr(provider, "start", start)
    monkeypatch.setattr(provider, "refund", refund)
    monkeypatch.setattr(provider, "cancel", cancel)
    monkeypatch.setattr(provider, "capture", capture)
    monkeypatch.setattr(provider, "fetch_status", fetch_status)
    paid = place(hundred, payment_method="test")
    payments.start_payment(paid, None)
    payments.confirm_payment(paid.payments.get())
    orders.refund_order(paid, Decimal("10.00"))
    orders.cancel_order(place(hundred, payment_method="test"))
    # an authorised attempt found by the reconciliation: asked and captured with the order free
    authorised = place(hundred, payment_method="test")
    assert tasks.reconcile_payment(authorised.payments.get())
    assert free == {"start": True, "refund": True, "cancel": True, "capture": True, "fetch_status": True}
    assert Payment.objects.get(provider_reference="sess_1").order_id == paid.pk


def test_two_rounds_settling_a_refund_left_pending_at_the_provider_record_it_once(place, hundred, monkeypatch):
    """A refund the provider did not answer stays reserved, pending at the provider; the beat task later finds it in
    the provider's list. Two rounds at once (two beat processes, or the round and the provider's webhook) record it
    once: one refund, one timeline entry, one e-mail."""
    import datetime as dt

    from django.utils import timezone

    from notifications.models import OutgoingEmail
    from orders.models import OrderEvent
    from payments.providers import ProviderRefund
    from payments.providers.test import TestProvider

    order = place(hundred, payment_method="test")
    payment = order.payments.get()
    payments.confirm_payment(payment)
    reservation = Refund.objects.create(payment=payment, amount=Decimal("40.00"), status=Refund.Status.PENDING)
    Refund.objects.filter(pk=reservation.pk).update(created_at=timezone.now() - dt.timedelta(minutes=10))
    monkeypatch.setattr(
        TestProvider, "fetch_refunds", lambda self, payment: [ProviderRefund("tr_late_1", 4000, "succeeded")]
    )
    paused(monkeypatch, payments, "_failed_at_provider")  # after reading which refunds are known already
    results, errors = race(tasks.settle_stale_refunds, tasks.settle_stale_refunds)
    assert errors == [None, None]
    assert list(Refund.objects.values_list("status", "provider_reference", "amount")) == [
        (Refund.Status.DONE, "tr_late_1", Decimal("40.00"))
    ]
    assert OrderEvent.objects.filter(order=order, type=OrderEvent.Type.REFUNDED).count() == 1
    assert OutgoingEmail.objects.filter(order=order, kind="refunded").count() == 1
    order.refresh_from_db()
    assert order.payment_status == "partially_refunded"
