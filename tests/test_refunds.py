"""Refunds and cancellations as the merchant and the shopper see them: the money refunded per payment, the timeline
saying who did what and why, the shopper's e-mail, and the stock given back."""

from decimal import Decimal

import pytest

from notifications.models import OutgoingEmail
from orders import services
from orders.models import OrderEvent
from payments import services as payments
from payments.models import Refund
from shop.catalog.models import Product
from tests.factories import ProductFactory, StaffFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def merchant(db):
    return StaffFactory(username="ueli")


def events(order, type):
    return list(order.events.filter(type=type).values_list("actor", "user__username", "old_value", "new_value", "data"))


def paid_in_two_parts(place, product, first="50.00"):
    order = place(product)
    payments.record_offline_payment(order, Decimal(first))
    payments.record_offline_payment(order, order.total - Decimal(first))
    order.refresh_from_db()
    assert order.payment_status == "paid"
    return order


def test_a_staff_cancellation_is_recorded_with_who_and_why(place, fondue, merchant):
    order = place(fondue, 2)  # CHF 258.–
    payments.record_offline_payment(order, order.total)
    services.cancel_order(order, user=merchant, reason="Customer asked")
    assert events(order, "refunded") == [("staff", "ueli", "", "", {"amount": "258.00", "note": "Customer asked"})]
    assert events(order, "payment_status")[-1] == ("staff", "ueli", "paid", "cancelled", {"reason": "Customer asked"})
    assert events(order, "fulfilment_status") == [("staff", "ueli", "awaiting_processing", "will_not_deliver", {})]
    assert events(order, "stock_restored") == [("staff", "ueli", "", "", {"items": {"FON-1": 2}})]
    assert list(Refund.objects.values_list("amount", "note")) == [(Decimal("258.00"), "Customer asked")]
    email = OutgoingEmail.objects.get(kind="cancelled")
    assert (email.dedupe_key, email.context) == (f"cancelled:{order.pk}", {"refunded": "258.00"})


def test_cancelling_an_unpaid_order_refunds_nothing_and_says_so(place, fondue):
    order = place(fondue)
    services.cancel_order(order)
    assert events(order, "payment_status") == [("staff", None, "awaiting_payment", "cancelled", {"reason": ""})]
    assert not Refund.objects.exists() and not events(order, "refunded")
    assert OutgoingEmail.objects.get(kind="cancelled").context == {"refunded": ""}


def test_cancelling_an_order_paid_in_two_parts_refunds_both(place, fondue):
    order = paid_in_two_parts(place, fondue)  # 129.– as 50.– and 79.–
    services.cancel_order(order, reason="Out of stock")
    assert sorted(Refund.objects.values_list("amount", flat=True)) == [Decimal("50.00"), Decimal("79.00")]
    assert events(order, "refunded")[0][4] == {"amount": "129.00", "note": "Out of stock"}
    assert OutgoingEmail.objects.get(kind="cancelled").context == {"refunded": "129.00"}


def test_cancelling_a_one_franc_test_order_refunds_the_franc(place, store):
    test_product = ProductFactory(name="Test product", price=Decimal("1.00"), stock=None, requires_shipping=False)
    order = place(test_product)
    payments.record_offline_payment(order, Decimal("1.00"))
    services.cancel_order(order)
    assert list(Refund.objects.values_list("amount", flat=True)) == [Decimal("1.00")]


def test_a_refund_takes_the_latest_payment_first_then_the_earlier_ones(place, fondue, merchant):
    order = paid_in_two_parts(place, fondue)  # payments of 50.– then 79.–
    restocked = services.refund_order(order, Decimal("100.00"), user=merchant, note="Damaged")
    assert restocked == {}  # partial: never restocks
    refunds = Refund.objects.select_related("payment").order_by("pk")
    assert [(r.payment.amount, r.amount, r.note) for r in refunds] == [
        (Decimal("79.00"), Decimal("79.00"), "Damaged"),
        (Decimal("50.00"), Decimal("21.00"), "Damaged"),
    ]
    assert payments.paid_amount(order) == Decimal("29.00")
    assert events(order, "refunded") == [("staff", "ueli", "", "", {"amount": "100.00", "note": "Damaged"})]
    assert events(order, "payment_status")[-1][:4] == ("staff", "ueli", "paid", "partially_refunded")
    email = OutgoingEmail.objects.get(kind="refunded")
    assert email.dedupe_key == f"refund:{refunds[0].pk}"
    assert email.context == {"amount": "100.00", "full": False}
    # the rest: a full refund of what is left, exactly to the last payment's remainder
    services.refund_order(order, Decimal("29.00"))
    assert [r.amount for r in Refund.objects.order_by("pk")][2:] == [Decimal("29.00")]
    assert OutgoingEmail.objects.filter(kind="refunded").order_by("pk").last().context == {
        "amount": "29.00",
        "full": True,
    }


def test_a_full_refund_of_a_split_payment_creates_no_empty_refund(place, fondue):
    order = paid_in_two_parts(place, fondue, first="29.00")
    services.refund_order(order, Decimal("100.00"))  # exactly the later payment
    assert list(Refund.objects.values_list("amount", flat=True)) == [Decimal("100.00")]
    services.refund_order(order, Decimal("29.00"))
    order.refresh_from_db()
    assert order.payment_status == "refunded"


def test_a_full_refund_restocks_with_who_did_it_and_a_partial_refund_never(place, fondue, merchant):
    order = place(fondue, 2)
    payments.record_offline_payment(order, order.total)
    services.refund_order(order, Decimal("0.50"), restock=True, user=merchant)  # small, but a refund
    assert Product.objects.get(pk=fondue.pk).stock == 18
    assert Refund.objects.get().amount == Decimal("0.50") and Refund.objects.get().note == ""
    restocked = services.refund_order(order, payments.paid_amount(order), restock=True, user=merchant)
    assert restocked == {"FON-1": 2} and Product.objects.get(pk=fondue.pk).stock == 20
    assert events(order, "stock_restored") == [("staff", "ueli", "", "", {"items": {"FON-1": 2}})]


def test_without_restock_a_full_refund_leaves_the_stock(place, fondue):
    order = place(fondue, 2)
    payments.record_offline_payment(order, order.total)
    assert services.refund_order(order, order.total) == {}
    assert Product.objects.get(pk=fondue.pk).stock == 18


def test_a_provider_refund_is_recorded_as_the_providers(place, fondue):
    order = place(fondue)
    payments.record_offline_payment(order, order.total)
    services.refund_order(order, order.total, actor=OrderEvent.Actor.PROVIDER)
    assert events(order, "refunded")[0][:2] == ("provider", None)
    assert events(order, "payment_status")[-1][:4] == ("provider", None, "paid", "refunded")


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("0", "You can refund at most CHF 129.–."),
        ("-1", "You can refund at most CHF 129.–."),
        ("129.01", "You can refund at most CHF 129.–."),
    ],
)
def test_refunds_outside_what_was_paid_are_refused(place, fondue, amount, message):
    order = place(fondue)
    payments.record_offline_payment(order, order.total)
    with pytest.raises(payments.PaymentError) as refused:
        services.refund_order(order, Decimal(amount))
    assert str(refused.value) == message and not Refund.objects.exists()


def test_an_unpaid_order_cannot_be_refunded(place, fondue):
    order = place(fondue)
    with pytest.raises(payments.PaymentError) as refused:
        services.refund_order(order, Decimal("10.00"))
    assert str(refused.value) == "Only paid orders can be refunded."


def test_a_second_partial_refund_takes_what_is_left_of_each_payment(place, fondue):
    order = paid_in_two_parts(place, fondue)  # 50.– then 79.–
    payments.refund(order, Decimal("70.00"))  # from the 79.–: 9.– left on it
    payments.refund(order, Decimal("30.00"))  # 9.– from the 79.–, then 21.– from the 50.–
    by_payment = {}
    for refund in Refund.objects.select_related("payment"):
        by_payment[refund.payment.amount] = by_payment.get(refund.payment.amount, 0) + refund.amount
    assert by_payment == {Decimal("79.00"): Decimal("79.00"), Decimal("50.00"): Decimal("21.00")}
    assert set(Refund.objects.values_list("note", flat=True)) == {""}
    assert [e[4]["note"] for e in events(order, "refunded")] == ["", ""]


def test_refunding_everything_left_skips_payments_already_refunded(place, fondue):
    order = paid_in_two_parts(place, fondue)
    payments.refund(order, Decimal("79.00"))  # the later payment, in full
    assert payments.refund_all(order) == Decimal("50.00")
    assert sorted(Refund.objects.values_list("amount", "note")) == [(Decimal("50.00"), ""), (Decimal("79.00"), "")]
    assert events(order, "refunded")[-1][:2] == ("staff", None) and events(order, "refunded")[-1][4]["note"] == ""


def test_a_cancellation_by_the_system_is_recorded_as_the_systems(place, fondue):
    order = place(fondue)
    payments.record_offline_payment(order, order.total)
    services.cancel_order(order, actor=OrderEvent.Actor.SYSTEM, reason="Payment expired")
    assert {e[0] for e in events(order, "refunded") + events(order, "stock_restored")} == {"system"}
    assert events(order, "payment_status")[-1][:4] == ("system", None, "paid", "cancelled")
