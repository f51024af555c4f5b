from decimal import Decimal

import pytest

from orders import services
from orders.models import Order
from orders.status import (
    FULFILMENT_TRANSITIONS,
    PAYMENT_TRANSITIONS,
    FulfilmentStatus,
    PaymentStatus,
    TransitionError,
)
from payments.models import Refund
from payments.services import record_offline_payment
from tests.factories import ProductFactory, StaffFactory

pytestmark = pytest.mark.django_db

FULFILMENT_ACTIONS = {
    FulfilmentStatus.PROCESSING: services.start_processing,
    FulfilmentStatus.READY_FOR_PICKUP: services.mark_ready_for_pickup,
    FulfilmentStatus.SHIPPED: services.mark_shipped,
    FulfilmentStatus.DELIVERED: services.mark_delivered,
    FulfilmentStatus.WILL_NOT_DELIVER: services.mark_will_not_deliver,
    FulfilmentStatus.RETURNED: services.mark_returned,
}


@pytest.fixture
def product(db):
    return ProductFactory(name="Raclette Grill", price=Decimal("189.00"), stock=10)


def test_every_status_has_a_row_in_its_table():
    assert set(PAYMENT_TRANSITIONS) == set(PaymentStatus.values)
    assert set(FULFILMENT_TRANSITIONS) == set(FulfilmentStatus.values)


@pytest.mark.parametrize("old", FulfilmentStatus.values)
@pytest.mark.parametrize("new", list(FULFILMENT_ACTIONS))
def test_each_fulfilment_transition_is_allowed_or_refused_by_the_table(place, product, old, new):
    order = place(product, pickup=new == FulfilmentStatus.READY_FOR_PICKUP)
    Order.objects.filter(pk=order.pk).update(fulfilment_status=old)
    staff = StaffFactory()
    if new in FULFILMENT_TRANSITIONS[old]:
        FULFILMENT_ACTIONS[new](order, user=staff)
        order.refresh_from_db()
        assert order.fulfilment_status == new
        event = order.events.get(type="fulfilment_status")
        assert (event.old_value, event.new_value, event.actor, event.user) == (old, new, "staff", staff)
    else:
        with pytest.raises(TransitionError, match="can't change from"):
            FULFILMENT_ACTIONS[new](order, user=staff)
        order.refresh_from_db()
        assert order.fulfilment_status == old
        assert not order.events.filter(type="fulfilment_status").exists()


def test_ready_for_pickup_only_for_pickup_orders(place, product):
    order = place(product)
    with pytest.raises(TransitionError, match="Only orders to be picked up"):
        services.mark_ready_for_pickup(order)


def test_paid_is_reached_by_recording_the_payment(place, product):
    order = place(product)
    record_offline_payment(order, Decimal("50.00"), note="part")
    order.refresh_from_db()
    assert order.payment_status == "awaiting_payment"  # 50.– of 189.– does not cover the total
    # a further payment covering the rest
    from payments.models import Payment

    Payment.objects.create(order=order, provider="bank_transfer", amount=Decimal("139.00"))
    record_offline_payment(order, Decimal("139.00"))
    order.refresh_from_db()
    assert order.payment_status == "paid"
    event = order.events.get(type="payment_status")
    assert (event.old_value, event.new_value) == ("awaiting_payment", "paid")


def test_paid_cannot_be_paid_again_or_go_back(place, product):
    order = place(product)
    services.mark_paid(order)
    with pytest.raises(TransitionError):
        services.mark_paid(order)
    with pytest.raises(TransitionError, match="“Paid” to “Awaiting payment”"):
        services._set_payment_status(order, PaymentStatus.AWAITING_PAYMENT, "staff")


def test_cancel_restores_stock_once(place, product):
    order = place(product, 3)
    product.refresh_from_db()
    assert product.stock == 7
    services.cancel_order(order, reason="customer asked")
    order.refresh_from_db()
    product.refresh_from_db()
    assert order.payment_status == "cancelled" and order.fulfilment_status == "will_not_deliver"
    assert product.stock == 10
    assert order.events.filter(type="stock_restored").count() == 1
    with pytest.raises(TransitionError):
        services.cancel_order(order)
    product.refresh_from_db()
    assert product.stock == 10


def test_cancel_a_paid_order_refunds_it_in_full(place, product):
    order = place(product)
    record_offline_payment(order, order.total)
    services.cancel_order(order)
    order.refresh_from_db()
    assert order.payment_status == "cancelled"
    assert Refund.objects.get().amount == order.total


def test_cancel_after_shipping_keeps_the_fulfilment_status(place, product):
    order = place(product)
    services.mark_shipped(order)
    services.cancel_order(order)
    order.refresh_from_db()
    assert order.fulfilment_status == "shipped"


def test_unlimited_stock_is_left_alone(place):
    ebook = ProductFactory(stock=None, requires_shipping=False)
    order = place(ebook, 2)
    services.cancel_order(order)
    ebook.refresh_from_db()
    assert ebook.stock is None


def test_test_orders_can_be_deleted_and_real_ones_cannot(place, product, store):
    order = place(product, 2)
    assert order.is_test
    services.delete_test_order(order)
    assert not Order.objects.exists()
    product.refresh_from_db()
    assert product.stock == 10
    store.test_mode = False
    store.save()
    real = place(product)
    assert not real.is_test
    with pytest.raises(TransitionError, match="Only test orders can be deleted."):
        services.delete_test_order(real)
    assert Order.objects.filter(pk=real.pk).exists()


def test_editing_the_catalog_never_changes_a_placed_order(place, product):
    order = place(product)
    product.name, product.price = "Renamed", Decimal("1.00")
    product.save()
    line = order.lines.get()
    line.refresh_from_db()
    assert (line.name, line.unit_price) == ("Raclette Grill", Decimal("189.00"))
    product.delete()
    line.refresh_from_db()
    assert line.product is None and line.name == "Raclette Grill"
