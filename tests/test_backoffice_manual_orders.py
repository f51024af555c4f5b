from decimal import Decimal

import pytest

from orders.models import Order
from tests.factories import ProductFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("store")]


@pytest.fixture
def products(db):
    return (
        ProductFactory(name="Fondue Set", sku="FON-1", price=Decimal("129.00"), stock=10),
        ProductFactory(name="Chocolate", sku="CHO-1", price=Decimal("4.90"), stock=None, vat_rate="2.60"),
    )


def manual(**extra):
    data = {
        "lines-TOTAL_FORMS": "5",
        "lines-INITIAL_FORMS": "0",
        "lines-0-product": "fon-1",
        "lines-0-quantity": "2",
        "lines-0-unit_price": "120.00",
        "lines-1-product": "CHO-1",
        "lines-1-quantity": "3",
        "email": "peter@example.ch",
        "phone": "+41 44 123 45 67",
        "language": "fr",
        "name": "Peter Muster",
        "street": "Seestrasse 5",
        "postcode": "8002",
        "city": "Zürich",
        "country": "CH",
        "shipping_method": "",
        "shipping_cost": "",
        "payment_method": "phone",
    }
    data.update(extra)
    return data


def test_create_a_phone_order_with_custom_prices(client, staff, products, shipping):
    response = client.post("/backoffice/orders/new/", manual(shipping_method=shipping["post"].pk, shipping_cost="5.00"))
    order = Order.objects.get()
    assert response["Location"] == f"/backoffice/orders/{order.number}/"
    assert order.source == "manual" and order.created_by == staff and order.language == "fr"
    assert [(line.sku, line.quantity, line.unit_price) for line in order.lines.all()] == [
        ("FON-1", 2, Decimal("120.00")),
        ("CHO-1", 3, Decimal("4.90")),
    ]
    assert (order.subtotal, order.shipping_total, order.total) == (
        Decimal("254.70"),
        Decimal("5.00"),
        Decimal("259.70"),
    )
    assert order.payment_status == "awaiting_payment" and order.number == 1001
    products[0].refresh_from_db()
    assert products[0].stock == 8
    html = client.get(response["Location"]).content.decode()
    assert "Order 1001 created." in html and "Peter Muster" in html


def test_create_paid_and_processing(client, staff, products):
    client.post(
        "/backoffice/orders/new/", manual(mark_paid="on", start_processing="on", payment_method="bank_transfer")
    )
    order = Order.objects.get()
    assert (order.payment_status, order.fulfilment_status) == ("paid", "processing")


def test_create_with_bad_input_keeps_what_was_typed(client, staff, products):
    response = client.post(
        "/backoffice/orders/new/",
        manual(**{"lines-0-product": "NOPE", "lines-1-quantity": "-2", "email": "x", "payment_method": "bitcoin"}),
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "No product has the SKU “NOPE”." in html and "Enter a valid email address." in html
    assert 'value="Peter Muster"' in html
    assert not Order.objects.exists()
    response = client.post("/backoffice/orders/new/", manual(**{"lines-0-product": "", "lines-1-product": ""}))
    assert "Add at least one product." in response.content.decode()
    response = client.post("/backoffice/orders/new/", manual(**{"lines-0-quantity": "11", "lines-0-unit_price": ""}))
    assert "Not enough stock of Fondue Set (10 left)." in response.content.decode()
    assert not Order.objects.exists()


def test_online_method_shows_a_payment_link(client, staff, products):
    response = client.post("/backoffice/orders/new/", manual(payment_method="test"), follow=True)
    order = Order.objects.get()
    assert f"http://testserver{order.get_absolute_url()}" in response.content.decode()
    assert "Pay now" in client.get(order.get_absolute_url()).content.decode()


def edit_data(order, **extra):
    lines = list(order.lines.all())
    data = {
        "lines-TOTAL_FORMS": str(len(lines)),
        "lines-INITIAL_FORMS": str(len(lines)),
        "new-TOTAL_FORMS": "2",
        "new-INITIAL_FORMS": "0",
        "email": order.email,
        "phone": order.phone,
        "shipping_total": str(order.shipping_total),
        "adjustment": "0",
        "adjustment_label": "",
    }
    for i, line in enumerate(lines):
        data.update(
            {
                f"lines-{i}-line": line.pk,
                f"lines-{i}-quantity": line.quantity,
                f"lines-{i}-unit_price": str(line.unit_price),
            }
        )
    for kind in ("shipping", "billing"):
        for name in ("name", "company", "street", "postcode", "city", "country"):
            data[f"{kind}_{name}"] = getattr(order, f"{kind}_{name}")
    data.update(extra)
    return data


def test_edit_lines_discount_shipping_and_address(client, staff, products, place):
    order = place(products[0], 2)  # 258.–, free shipping
    from payments.services import record_offline_payment

    record_offline_payment(order, order.total)
    stock = products[0].__class__.objects.get(pk=products[0].pk).stock
    response = client.post(
        f"/backoffice/orders/{order.number}/edit/",
        edit_data(
            order,
            **{
                "lines-0-quantity": "1",
                "new-0-product": "CHO-1",
                "new-0-quantity": "2",
                "adjustment": "-10.00",
                "adjustment_label": "Loyalty",
                "shipping_total": "7.00",
                "billing_name": "Firma AG",
            },
        ),
    )
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.subtotal == Decimal("138.80") and order.total == Decimal("135.80")  # 129 + 9.80 + 7 - 10
    assert order.billing_name == "Firma AG" and order.adjustment_label == "Loyalty"
    assert products[0].__class__.objects.get(pk=products[0].pk).stock == stock  # stock untouched
    event = order.events.get(type="edited")
    assert event.user == staff and event.data["changes"]["total"] == ["258.00", "135.80"]
    html = client.get(f"/backoffice/orders/{order.number}/").content.decode()
    assert "CHF 122.20 should be refunded to the customer." in html
    assert "Loyalty" in html and "Total: CHF 258.– → CHF 135.80" in html


def test_edit_with_bad_input_changes_nothing(client, staff, products, place):
    order = place(products[0])
    for extra, message in [
        ({"lines-0-quantity": "-1"}, "Ensure this value is greater than or equal to 0."),
        ({"lines-0-unit_price": "abc"}, "Enter a number."),
        ({"adjustment": "9999999999"}, "Ensure"),
        ({"new-0-product": "ZZZ", "new-0-quantity": "1"}, "No product has the SKU"),
        ({"lines-0-quantity": "0"}, "An order needs at least one line; cancel it instead."),
        ({"lines-0-line": "999999"}, "The order&#x27;s lines have changed since this page was opened"),
        ({"email": "nope"}, "Enter a valid email address."),
    ]:
        response = client.post(f"/backoffice/orders/{order.number}/edit/", edit_data(order, **extra), follow=True)
        assert response.status_code == 200 and message in response.content.decode(), extra
    order.refresh_from_db()
    assert order.total == Decimal("129.00") and order.lines.get().quantity == 1
    assert not order.events.filter(type="edited").exists()


def test_cancelled_orders_cannot_be_edited(client, staff, products, place):
    from orders.services import cancel_order

    order = place(products[0])
    cancel_order(order)
    response = client.post(f"/backoffice/orders/{order.number}/edit/", edit_data(order, phone="1"), follow=True)
    assert "Cancelled or refunded orders can't be edited." in response.content.decode().replace("&#x27;", "'")
