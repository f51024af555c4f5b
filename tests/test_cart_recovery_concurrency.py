"""Abandoned carts racing on PostgreSQL with real connections (one per thread): two beat rounds at once, a merchant's
double click on "Send reminder", and "Place this order" against the shopper ordering the same cart."""

import datetime as dt
import threading
import time
from decimal import Decimal

import pytest
from django.db import connection, connections, transaction
from django.utils import timezone, translation

from notifications.models import EmailSettings, OutgoingEmail
from orders import services as orders
from orders.models import Order
from shop.cart import recovery
from shop.cart.models import Cart, CartReminder
from shop.checkout.services import CheckoutData, CheckoutError, place_order
from tests.factories import CartLineFactory, ProductFactory, StaffFactory

pytestmark = [
    pytest.mark.concurrency,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL (set DATABASE_URL)"),
]


def race(count, action):
    """Run ``action(i)`` in ``count`` threads released at once; return (results, error messages, other failures)."""
    start = threading.Barrier(count)
    results, refused, errors = [], [], []

    def run(i):
        try:
            translation.activate("en")
            start.wait()
            results.append(action(i))
        except (recovery.RecoveryError, CheckoutError, orders.TransitionError) as error:
            refused.append(str(error))
        except Exception as error:  # noqa: BLE001 — asserted below
            errors.append(repr(error))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results, refused, errors


@pytest.fixture
def standard(store):
    store.plan = "standard"
    store.save()
    return store


@pytest.fixture
def left(standard):
    mug = ProductFactory(name="Enamel Mug", sku="MUG-1", price=Decimal("24.50"), stock=50)
    return [
        CartLineFactory(
            product=mug, cart__email=f"s{n}@example.ch", cart__last_activity_at=timezone.now() - dt.timedelta(hours=3)
        ).cart
        for n in range(10)
    ]


def test_two_beat_rounds_at_once_send_each_first_reminder_once(left, mailoutbox):
    email_settings = EmailSettings.load()
    email_settings.cart_reminders, email_settings.cart_reminders_since = True, timezone.now()
    email_settings.save()
    results, refused, errors = race(4, lambda i: recovery.send_due_reminders())
    assert errors == [] and refused == []
    assert sum(result["first"] for result in results) == 10
    assert CartReminder.objects.filter(kind="first").count() == 10
    assert OutgoingEmail.objects.filter(kind="abandoned_cart").count() == 10


def test_a_double_click_on_send_reminder_sends_one(left, mailoutbox):
    staff, cart = StaffFactory(), left[0]
    results, refused, errors = race(5, lambda i: recovery.send_reminder(cart.pk, staff, f"Message {i}"))
    assert errors == []
    assert len(results) == 1
    assert len(refused) == 4 and all("less than a day ago" in message for message in refused)
    assert CartReminder.objects.filter(cart=cart, kind="manual").count() == 1


def test_place_this_order_against_the_shopper_ordering_the_same_cart(left, shipping):
    staff, cart = StaffFactory(), left[0]
    line = cart.lines.select_related("product").get()
    address = {"name": "S", "street": "Gasse 1", "postcode": "8001", "city": "Zürich", "country": "CH"}

    def order(i):
        if i == 0:
            data = CheckoutData(
                email=cart.email,
                payment_method="bank_transfer",
                shipping_method_id=shipping["post"].pk,
                shipping=address,
            )
            return place_order(cart.token, data, "de")
        new = orders.NewOrder(
            items=[orders.Item(line.product, line.quantity)],
            email=cart.email,
            payment_method="phone",
            cart=Cart.objects.get(pk=cart.pk),
        )
        return orders.create_manual_order(new, staff)

    for _ in range(3):  # whichever comes first wins; the other is told, never an error
        results, refused, errors = race(2, order)
        assert errors == []
        assert len({order.pk for order in results}) == 1
        assert Order.objects.filter(cart=cart).count() == 1
        if refused:
            assert refused == ["This cart has been ordered meanwhile."]
        Order.objects.all().delete()
        Cart.objects.filter(pk=cart.pk).update(status=Cart.Status.OPEN)


def test_place_this_order_waits_for_a_checkout_holding_the_cart_and_sees_it_ordered(left):
    """The check that the cart is still open is made under its lock: a checkout that holds the cart and orders it
    first makes "Place this order" refuse, rather than create a second order for it."""
    staff, cart = StaffFactory(), left[0]
    line = cart.lines.select_related("product").get()
    locked, release = threading.Event(), threading.Event()

    def checkout_holding_the_cart():
        try:
            with transaction.atomic():
                Cart.objects.select_for_update().get(pk=cart.pk)
                locked.set()
                release.wait(10)
                Cart.objects.filter(pk=cart.pk).update(status=Cart.Status.ORDERED)
        finally:
            connections.close_all()

    holder = threading.Thread(target=checkout_holding_the_cart)
    holder.start()
    assert locked.wait(10)
    new = orders.NewOrder(
        items=[orders.Item(line.product, line.quantity)], email=cart.email, payment_method="phone", cart=cart
    )
    outcome = []

    def place():
        try:
            translation.activate("en")
            outcome.append(orders.create_manual_order(new, staff))
        except orders.TransitionError as error:
            outcome.append(str(error))
        finally:
            connections.close_all()

    merchant = threading.Thread(target=place)
    merchant.start()
    time.sleep(0.5)  # the merchant's request is under way while the checkout holds the cart
    release.set()
    holder.join(20)
    merchant.join(20)
    assert outcome == ["This cart has been ordered meanwhile."]
    assert not Order.objects.exists()
