"""The rules the back office applies to an order, asked of ``orders.status`` rather than decided by each view: shipping
an unpaid order needs a confirmation naming what is outstanding, a digital-only order is delivered and never shipped,
payments are recorded against the right attempt, and an edit keeps the pending payment in step with the total."""

from decimal import Decimal

import pytest

from notifications.models import OutgoingEmail
from orders import services
from orders.models import Order
from payments import services as payments
from payments.models import Payment
from tests.factories import ProductFactory
from tests.test_webhooks import event, post  # noqa: F401 (post is a fixture)

pytestmark = pytest.mark.django_db
QUESTION = "Payment of CHF 129.– is still outstanding — ship anyway?"


def action(client, order, **data):
    return client.post(f"/backoffice/orders/{order.number}/action/", data)


def status(order) -> tuple[str, str]:
    order.refresh_from_db()
    return order.payment_status, order.fulfilment_status


def test_shipping_an_unpaid_order_asks_first_naming_the_outstanding_amount(client, staff, place, fondue):
    order = place(fondue)  # bank transfer, CHF 129.–
    page = client.get(f"/backoffice/orders/{order.number}/").content.decode()
    assert "Payment of CHF 129.– is still outstanding: shipping asks you to confirm." in page
    response = action(client, order, action="shipped")
    assert response.status_code == 409 and QUESTION in response.content.decode()
    assert status(order) == ("awaiting_payment", "awaiting_processing")  # asked, nothing done
    response = action(client, order, action="shipped", unpaid_ok="on")
    assert response.status_code == 302 and status(order) == ("awaiting_payment", "shipped")


def test_process_orders_asks_too_and_comes_back_to_the_list(client, staff, place, fondue):
    order = place(fondue)
    response = action(client, order, action="shipped", next="/backoffice/orders/process/")
    html = response.content.decode()
    assert response.status_code == 409 and QUESTION in html
    assert 'name="next" value="/backoffice/orders/process/"' in html and 'name="unpaid_ok" value="on"' in html
    response = action(client, order, action="shipped", next="/backoffice/orders/process/", unpaid_ok="on")
    assert response["Location"] == "/backoffice/orders/process/" and status(order)[1] == "shipped"


def test_tracking_and_shipped_is_one_step_that_keeps_the_number_through_the_question(
    client, staff, place, fondue, commit
):
    order = place(fondue)
    form = {"action": "tracking_shipped", "tracking_number": "99.00.123456.12345678", "carrier": "swiss_post"}
    response = action(client, order, **form)
    assert response.status_code == 409 and 'value="99.00.123456.12345678"' in response.content.decode()
    order.refresh_from_db()
    assert order.tracking_number == ""  # refused as a whole: no number saved without the shipment
    commit(lambda: action(client, order, **form, unpaid_ok="on"))
    order.refresh_from_db()
    assert (order.fulfilment_status, order.tracking_number) == ("shipped", "99.00.123456.12345678")
    shipped = OutgoingEmail.objects.get(kind="shipped")
    assert shipped.context["tracking_number"] == "99.00.123456.12345678"


def test_a_paid_order_ships_without_a_question(client, staff, place, fondue):
    order = place(fondue)
    payments.record_offline_payment(order, order.total)
    response = action(client, order, action="shipped")
    assert response.status_code == 302 and status(order) == ("paid", "shipped")


def test_a_digital_order_is_delivered_never_shipped(client, staff, place, commit):
    ebook = ProductFactory(name="Swiss Recipes (PDF)", price=Decimal("12.00"), stock=None, requires_shipping=False)
    order = place(ebook)
    assert not order.requires_shipping
    page = client.get(f"/backoffice/orders/{order.number}/").content.decode()
    assert "Mark delivered" in page and "Mark shipped" not in page and "Save and mark shipped" not in page
    process = client.get("/backoffice/orders/process/").content.decode()
    assert "Mark delivered" in process and "Mark shipped" not in process
    response = client.post(f"/backoffice/orders/{order.number}/action/", {"action": "shipped"}, follow=True)
    assert "A digital-only order is not shipped: mark it delivered." in response.content.decode()
    commit(lambda: action(client, order, action="delivered"))
    assert status(order)[1] == "delivered"
    assert not OutgoingEmail.objects.filter(kind="shipped").exists()  # never "your order is on its way"
    assert OutgoingEmail.objects.get(kind="status_changed").context == {"status": "delivered"}


def test_recording_a_payment_never_takes_a_pending_online_attempt(client, staff, place, fondue, post):  # noqa: F811
    order = place(fondue, payment_method="test")
    online = order.payments.get()
    payments.record_offline_payment(order, order.total, note="paid at the counter")
    online.refresh_from_db()
    assert online.status == "pending"  # still the provider's to confirm
    recorded = order.payments.exclude(pk=online.pk).get()
    assert (recorded.provider, recorded.status, recorded.amount) == ("manual", "confirmed", order.total)
    assert status(order)[0] == "paid"
    page = client.get(f"/backoffice/orders/{order.number}/").content.decode()
    assert "<td>Recorded by staff</td>" in page and "<td>Test payment</td>" in page
    post(event(online))  # the shopper had paid online too: both are recorded, the overpayment shows
    online.refresh_from_db()
    assert online.status == "confirmed" and payments.paid_amount(order) == 2 * order.total


def test_recording_a_payment_takes_the_pending_payment_of_the_offline_method(place, fondue):
    order = place(fondue)  # bank transfer
    pending = order.payments.get()
    payments.record_offline_payment(order, order.total)
    pending.refresh_from_db()
    assert pending.status == "confirmed" and order.payments.count() == 1


def test_an_edit_that_changes_the_total_asks_the_pending_payment_for_the_new_amount(place, fondue, post):  # noqa: F811
    order = place(fondue, 2, payment_method="test")  # 258.–
    line = order.lines.get()
    services.edit_order(order, {}, [services.LineChange(line.pk, 1, line.unit_price)], None)
    payment = order.payments.get()
    assert payment.amount == Decimal("129.00")
    post(event(payment))  # the shopper pays the new amount online
    order.refresh_from_db()
    assert order.payment_status == "paid" and not order.needs_attention


def test_an_edit_that_leaves_nothing_due_closes_the_pending_attempt_and_the_order_is_paid(place, fondue):
    order = place(fondue, 2)  # 258.– by bank transfer
    payments.record_offline_payment(order, Decimal("129.00"))
    order.refresh_from_db()
    assert order.payment_status == "awaiting_payment"
    line = order.lines.get()
    services.edit_order(order, {}, [services.LineChange(line.pk, 1, line.unit_price)], None)
    assert status(order)[0] == "paid"
    assert not Payment.objects.filter(order=order, status="pending").exists()


def test_pay_now_only_while_an_online_payment_is_due(client, place, fondue):
    order = place(fondue, payment_method="test")
    page = f"/en/order/{order.token}/"
    assert "Pay now" in client.get(page).content.decode()
    bank = place(fondue)
    assert "Pay now" not in client.get(f"/en/order/{bank.token}/").content.decode()
    payments.record_offline_payment(order, order.total)
    assert "Pay now" not in client.get(page).content.decode()
    response = client.post(f"/en/order/{order.token}/pay/", follow=True)
    assert "This order needs no payment." in response.content.decode()
    assert Order.objects.get(pk=order.pk).payment_status == "paid"


def test_a_one_franc_order_is_paid_online_and_a_free_one_needs_no_payment(client, place, store):
    from orders.status import can_pay_online, needs_payment

    one_franc = ProductFactory(name="Test product", price=Decimal("1.00"), stock=None, requires_shipping=False)
    order = place(one_franc, payment_method="test")
    assert needs_payment(order) and can_pay_online(order)
    assert "Pay now" in client.get(f"/en/order/{order.token}/").content.decode()
    store.zero_total_status = "awaiting_payment"
    store.save()
    free = place(ProductFactory(price=Decimal("0.00"), stock=None, requires_shipping=False), payment_method="test")
    assert free.payment_status == "awaiting_payment" and not needs_payment(free) and not can_pay_online(free)
    assert "Pay now" not in client.get(f"/en/order/{free.token}/").content.decode()
    with pytest.raises(payments.PaymentError, match="needs no payment"):
        payments.send_payment_link(free, None)
