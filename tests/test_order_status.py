"""The two status machines, pinned: the allowed moves are written out here as literal tables (DESIGN §2), not read from
``orders/status.py``, so that widening or narrowing a transition fails this file."""

from decimal import Decimal

import pytest

from orders import services
from orders.models import Order
from orders.status import (
    FulfilmentStatus,
    PaymentStatus,
    TransitionError,
    check_payment_transition,
    fulfilment_moves,
    may_ship,
)
from tests.factories import ProductFactory, StaffFactory

pytestmark = pytest.mark.django_db

PAYMENT_MOVES = {
    "awaiting_payment": {"paid", "cancelled"},
    "paid": {"partially_refunded", "refunded", "cancelled"},
    "partially_refunded": {"partially_refunded", "refunded"},
    "refunded": set(),
    "cancelled": set(),
}

# Per way of delivery: goods shipped, goods picked up, digital only.
FULFILMENT_MOVES = {
    "ship": {
        "awaiting_processing": {"processing", "shipped", "will_not_deliver"},
        "processing": {"shipped", "will_not_deliver"},
        "ready_for_pickup": {"delivered", "will_not_deliver"},
        "shipped": {"delivered", "returned"},
        "delivered": {"returned"},
        "will_not_deliver": set(),
        "returned": set(),
    },
    "pickup": {
        "awaiting_processing": {"processing", "ready_for_pickup", "will_not_deliver"},
        "processing": {"ready_for_pickup", "will_not_deliver"},
        "ready_for_pickup": {"delivered", "will_not_deliver"},
        "shipped": {"delivered", "returned"},
        "delivered": {"returned"},
        "will_not_deliver": set(),
        "returned": set(),
    },
    "digital": {
        "awaiting_processing": {"processing", "delivered", "will_not_deliver"},
        "processing": {"delivered", "will_not_deliver"},
        "ready_for_pickup": {"delivered", "will_not_deliver"},
        "shipped": {"delivered", "returned"},
        "delivered": {"returned"},
        "will_not_deliver": set(),
        "returned": set(),
    },
}
DELIVERY = {"ship": (True, False), "pickup": (True, True), "digital": (False, False)}

FULFILMENT_ACTIONS = {
    "processing": services.start_processing,
    "ready_for_pickup": services.mark_ready_for_pickup,
    "shipped": lambda order, user: services.ship_order(order, user=user, unpaid_ok=True),
    "delivered": services.mark_delivered,
    "will_not_deliver": services.mark_will_not_deliver,
    "returned": services.mark_returned,
}


def test_the_literal_tables_name_every_status():
    assert set(PAYMENT_MOVES) == set(PaymentStatus.values)
    for table in FULFILMENT_MOVES.values():
        assert set(table) == set(FulfilmentStatus.values)
    assert set(FULFILMENT_ACTIONS) == set(FulfilmentStatus.values) - {"awaiting_processing"}


@pytest.mark.parametrize("old", PaymentStatus.values)
@pytest.mark.parametrize("new", PaymentStatus.values)
def test_payment_moves_are_exactly_the_table(old, new):
    if new in PAYMENT_MOVES[old]:
        check_payment_transition(old, new)
    else:
        with pytest.raises(TransitionError, match="can't change from"):
            check_payment_transition(old, new)


@pytest.mark.parametrize("kind", FULFILMENT_MOVES)
@pytest.mark.parametrize("old", FulfilmentStatus.values)
def test_offered_fulfilment_moves_are_exactly_the_table(kind, old):
    requires_shipping, is_pickup = DELIVERY[kind]
    order = Order(fulfilment_status=old, requires_shipping=requires_shipping, is_pickup=is_pickup)
    assert set(fulfilment_moves(order)) == FULFILMENT_MOVES[kind][old]
    assert may_ship(order) is ("shipped" in FULFILMENT_MOVES[kind][old])


@pytest.mark.parametrize("kind", FULFILMENT_MOVES)
@pytest.mark.parametrize("old", FulfilmentStatus.values)
@pytest.mark.parametrize("new", list(FULFILMENT_ACTIONS))
def test_each_fulfilment_service_does_what_the_table_allows(kind, old, new):
    requires_shipping, is_pickup = DELIVERY[kind]
    order = Order.objects.create(
        number=1001,
        email="anna@example.ch",
        payment_method="bank_transfer",
        fulfilment_status=old,
        requires_shipping=requires_shipping,
        is_pickup=is_pickup,
    )
    staff = StaffFactory()
    if new in FULFILMENT_MOVES[kind][old]:
        FULFILMENT_ACTIONS[new](order, user=staff)
        order.refresh_from_db()
        assert order.fulfilment_status == new
        event = order.events.get(type="fulfilment_status")
        assert (event.old_value, event.new_value, event.actor, event.user) == (old, new, "staff", staff)
    else:
        with pytest.raises(TransitionError):
            FULFILMENT_ACTIONS[new](order, user=staff)
        order.refresh_from_db()
        assert order.fulfilment_status == old
        assert not order.events.exists()


def test_refusals_say_why():
    ship = Order(fulfilment_status="awaiting_processing", requires_shipping=True, is_pickup=False)
    digital = Order(fulfilment_status="awaiting_processing", requires_shipping=False, is_pickup=False)
    pickup = Order(fulfilment_status="awaiting_processing", requires_shipping=True, is_pickup=True)
    from orders.status import check_fulfilment_transition

    for order, new, message in [
        (ship, "ready_for_pickup", "Only orders to be picked up can be ready for pickup."),
        (digital, "shipped", "A digital-only order is not shipped: mark it delivered."),
        (pickup, "shipped", "An order to be picked up is not shipped: mark it ready for pickup."),
        (ship, "delivered", "The fulfilment status can't change from “Awaiting processing” to “Delivered”."),
    ]:
        with pytest.raises(TransitionError) as refused:
            check_fulfilment_transition(order, new)
        assert str(refused.value) == message
    with pytest.raises(TransitionError) as refused:
        check_payment_transition("refunded", "paid")
    assert str(refused.value) == "The payment status can't change from “Refunded” to “Paid”."


@pytest.fixture
def product(db):
    return ProductFactory(name="Raclette Grill", price=Decimal("189.00"), stock=10)


def test_paid_is_reached_when_payments_cover_the_total(place, product):
    from payments.services import record_offline_payment

    order = place(product)
    record_offline_payment(order, Decimal("50.00"), note="part")
    order.refresh_from_db()
    assert order.payment_status == "awaiting_payment"  # 50.– of 189.– does not cover the total
    record_offline_payment(order, Decimal("139.00"))
    order.refresh_from_db()
    assert order.payment_status == "paid"
    event = order.events.get(type="payment_status")
    assert (event.old_value, event.new_value) == ("awaiting_payment", "paid")
    assert sorted(order.payments.values_list("amount", "status")) == [
        (Decimal("50.00"), "confirmed"),
        (Decimal("139.00"), "confirmed"),
    ]


def test_paid_cannot_be_paid_again_or_go_back(place, product):
    from orders.payment_status import mark_paid, set_payment_status

    order = place(product)
    mark_paid(order)
    with pytest.raises(TransitionError):
        mark_paid(order)
    with pytest.raises(TransitionError, match="“Paid” to “Awaiting payment”"):
        set_payment_status(order, PaymentStatus.AWAITING_PAYMENT, "staff")


def test_cancel_a_paid_order_refunds_it_in_full(place, product):
    from payments.models import Refund
    from payments.services import record_offline_payment

    order = place(product)
    record_offline_payment(order, order.total)
    services.cancel_order(order)
    order.refresh_from_db()
    assert (order.payment_status, order.fulfilment_status) == ("cancelled", "will_not_deliver")
    assert Refund.objects.get().amount == order.total


def test_cancel_after_shipping_keeps_the_fulfilment_status(place, product):
    order = place(product)
    services.ship_order(order, unpaid_ok=True)
    services.cancel_order(order)
    order.refresh_from_db()
    assert (order.payment_status, order.fulfilment_status) == ("cancelled", "shipped")


def test_a_refused_cancel_refunds_nothing(place, product):
    from payments.models import Refund
    from payments.services import record_offline_payment, refund

    order = place(product)
    record_offline_payment(order, order.total)
    refund(order, Decimal("10.00"))  # partially refunded: cancelling is no longer a move
    with pytest.raises(TransitionError, match="“Partially refunded” to “Cancelled”"):
        services.cancel_order(order)
    assert Refund.objects.count() == 1


def test_test_orders_can_be_deleted_and_real_ones_cannot(place, product, store):
    order = place(product, 2)
    assert order.is_test
    services.delete_test_order(order)
    assert not Order.objects.exists()
    store.test_mode = False
    store.save()
    real = place(product)
    assert not real.is_test
    with pytest.raises(TransitionError, match="^Only test orders can be deleted.$"):
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
