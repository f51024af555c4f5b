import csv
import io
import re
from decimal import Decimal

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from orders.models import Order
from tests.factories import ProductFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


def backoffice_urls():
    """Every URL under /backoffice/ in the URL configuration, with sample arguments: a new page can't be forgotten."""
    found = []

    def walk(patterns, prefix):
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, route)
            elif isinstance(pattern, URLPattern) and route.startswith("backoffice/"):
                found.append("/" + re.sub(r"<int:\w+>", "1001", re.sub(r"<(str|slug):\w+>", "x", route)))

    walk(get_resolver().url_patterns, "")
    return sorted(set(found))


PUBLIC = {"/backoffice/login/", "/backoffice/logout/"}  # logout only ends a session


def test_the_url_walk_finds_the_back_office():
    urls = backoffice_urls()
    assert "/backoffice/orders/" in urls and "/backoffice/orders/1001/action/" in urls and len(urls) >= 7


@pytest.mark.parametrize("url", [u for u in backoffice_urls() if u not in PUBLIC])
@pytest.mark.parametrize("method", ["get", "post"])
def test_every_back_office_url_needs_a_staff_login(client, url, method, place, fondue):
    place(fondue)  # order 1001 exists
    response = getattr(client, method)(url)
    assert response.status_code == 302 and response["Location"].startswith("/backoffice/login/"), url
    from django.contrib.auth import get_user_model

    client.force_login(get_user_model().objects.create_user("shopper", password="x-12345678"))
    response = getattr(client, method)(url)
    assert response.status_code == 403, url  # logged in, not staff: told so (with a way to log out), not looped
    assert "This account has no access to the back office." in response.content.decode(), url
    assert Order.objects.get().payment_status == "awaiting_payment"  # nothing changed


def test_orders_list_filters_search_and_counts(client, staff, place, fondue, store):
    first = place(fondue)
    second = place(ProductFactory(name="Mug", price=Decimal("20.00")), payment_method="invoice")
    from payments.services import record_offline_payment

    record_offline_payment(second, second.total)
    html = client.get("/backoffice/orders/").content.decode()
    assert "#1001" in html and "#1002" in html and "2 orders" in html
    html = client.get("/backoffice/orders/", {"payment_status": "paid"}).content.decode()
    assert "#1002" in html and "#1001" not in html
    html = client.get("/backoffice/orders/", {"q": "1001"}).content.decode()
    assert "#1001" in html and "#1002" not in html
    html = client.get("/backoffice/orders/", {"q": "ANNA@example.ch"}).content.decode()
    assert "#1001" in html and "#1002" in html
    html = client.get("/backoffice/orders/", {"payment_method": "invoice"}).content.decode()
    assert "#1002" in html and "#1001" not in html
    html = client.get("/backoffice/orders/", {"test": "exclude"}).content.decode()
    assert "No orders match these filters." in html
    assert first.is_test


@pytest.mark.parametrize(
    "params",
    [
        {"payment_status": "nope"},
        {"date_from": "yesterday"},
        {"date_from": "2026-12-01", "date_to": "2026-01-01"},
        {"page": "x"},
        {"sort": "DROP"},
        {"q": "\x00" * 3},
        {"q": "a" * 500},
    ],
)
def test_orders_list_bad_filters_get_a_message_never_a_500(client, staff, params):
    response = client.get("/backoffice/orders/", params)
    assert response.status_code == 200


def test_orders_list_queries_stay_constant(client, staff, store, django_assert_max_num_queries):
    from orders.models import Order as O

    O.objects.bulk_create(
        O(number=2000 + i, email=f"c{i}@example.ch", payment_method="bank_transfer", total=Decimal("10.00"))
        for i in range(1000)
    )
    with django_assert_max_num_queries(10):
        response = client.get("/backoffice/orders/", {"page": 3})
    html = response.content.decode()
    assert "1000 orders" in html
    assert all(f"#{n}<" in html for n in (2899, 2850)) and not any(f"#{n}<" in html for n in (2900, 2849))
    with django_assert_max_num_queries(10):
        client.get("/backoffice/orders/process/")


def test_polling_marks_new_orders(client, staff, place, fondue):
    place(fondue)
    seen = Order.objects.get().id
    place(fondue)
    html = client.get(
        "/backoffice/orders/", {"fragment": "rows", "seen": seen}, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "<html" not in html and html.count('class="badge-new"') == 1 and "#1002" in html


def test_csv_export_streams_the_filtered_orders(client, staff, place, fondue):
    place(fondue, 2)
    place(fondue)
    response = client.get("/backoffice/orders/export.csv", {"q": "1002"})
    assert response.streaming and response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig")), delimiter=";"))
    assert rows[0][:3] == ["Order", "Date", "E-mail"] and rows[0][11] == "Total"
    assert len(rows) == 2 and rows[1][0] == "1002" and rows[1][11] == "129.00"  # shipping free above 100.–
    assert rows[1][4:7] == ["Bank transfer", "Awaiting payment", "Awaiting processing"]  # names, not codes


def test_order_page_records_payment_ships_with_tracking_and_shows_the_timeline(client, staff, place, fondue):
    order = place(fondue)
    html = client.get(f"/backoffice/orders/{order.number}/").content.decode()
    assert "Bank transfer — contact the customer for payment" in html and "Record a payment" in html
    response = client.post(
        f"/backoffice/orders/{order.number}/action/",
        {"action": "record_payment", "amount": "136.00", "paid_on": "2026-11-01", "note": "ZKB statement"},
        follow=True,
    )
    assert "Payment recorded." in response.content.decode()
    response = client.post(
        f"/backoffice/orders/{order.number}/action/",
        {"action": "tracking_shipped", "tracking_number": "99.00.123456.12345678", "carrier": "swiss_post"},
        follow=True,
    )
    html = response.content.decode()
    assert "the order is marked shipped" in html
    order.refresh_from_db()
    assert (order.payment_status, order.fulfilment_status) == ("paid", "shipped")
    assert order.tracking_url == "https://service.post.ch/ekp-web/ui/entry/search/99.00.123456.12345678"
    assert order.tracking_url in html
    assert "Awaiting payment → Paid" in html and "Awaiting processing → Shipped" in html and "anna" in html


def test_refused_transitions_and_bad_input_get_clear_messages(client, staff, place, fondue):
    order = place(fondue)
    url = f"/backoffice/orders/{order.number}/action/"
    for data, message in [
        ({"action": "delivered"}, "change from “Awaiting processing” to “Delivered”"),
        ({"action": "record_payment", "amount": "-5", "paid_on": "2026-11-01"}, "Amount received (CHF):"),
        ({"action": "record_payment", "amount": "10", "paid_on": "2999-01-01"}, "be in the future"),
        ({"action": "tracking", "tracking_number": "", "carrier": "dhl"}, "Tracking number:"),
        ({"action": "tracking", "tracking_number": "12<script>", "carrier": "dhl"}, "only letters, digits"),
        ({"action": "tracking", "tracking_number": "123", "carrier": "pigeon"}, "Carrier:"),
        ({"action": "cancel"}, "Please tick the box to confirm."),
        ({"action": "note", "text": "  "}, "Staff note:"),
        ({"action": "explode"}, "Unknown action."),
        ({"action": "ready_for_pickup"}, "Only orders to be picked up"),
    ]:
        response = client.post(url, data, follow=True)
        assert response.status_code == 200
        assert message in response.content.decode(), data
    order.refresh_from_db()
    assert (order.payment_status, order.fulfilment_status, order.tracking_number) == (
        "awaiting_payment",
        "awaiting_processing",
        "",
    )


def test_cancel_and_delete_test_order(client, staff, place, fondue):
    order = place(fondue, 3)
    client.post(f"/backoffice/orders/{order.number}/action/", {"action": "cancel", "confirm": "on", "reason": "Asked"})
    order.refresh_from_db()
    fondue.refresh_from_db()
    assert order.payment_status == "cancelled" and fondue.stock == 20
    response = client.post(f"/backoffice/orders/{order.number}/action/", {"action": "delete_test", "confirm": "on"})
    assert response["Location"] == "/backoffice/orders/"
    assert not Order.objects.exists()


def test_process_orders_in_plain_words_with_one_click_actions(client, staff, place, fondue, store):
    bank = place(fondue)
    pickup = place(fondue, payment_method="cash_on_pickup", pickup=True)
    html = client.get("/backoffice/orders/process/").content.decode()
    assert html.index("#1001") < html.index("#1002")  # oldest first
    assert "Bank transfer — contact the customer for payment" in html
    assert "Cash on pickup — collect the payment at pickup" in html
    client.post(
        f"/backoffice/orders/{bank.number}/action/", {"action": "record_payment", "next": "/backoffice/orders/process/"}
    )
    client.post(f"/backoffice/orders/{pickup.number}/action/", {"action": "ready_for_pickup"})
    bank.refresh_from_db()
    pickup.refresh_from_db()
    assert bank.payment_status == "paid" and pickup.fulfilment_status == "ready_for_pickup"
    client.post(f"/backoffice/orders/{bank.number}/action/", {"action": "shipped"})
    html = client.get("/backoffice/orders/process/").content.decode()
    assert "#1001" not in html and "#1002" in html


def test_process_orders_offers_to_record_what_is_still_due(client, staff, place, fondue, django_assert_max_num_queries):
    from payments.services import record_offline_payment

    part_paid, unpaid = place(fondue), place(fondue)  # CHF 129.– each
    record_offline_payment(part_paid, Decimal("29.00"), note="First instalment")
    fondue.stock = None  # unlimited: more orders follow
    fondue.save()
    for _ in range(20):  # more orders with payments: the page's queries stay the same
        record_offline_payment(place(fondue), Decimal("10.00"))
    with django_assert_max_num_queries(10):
        html = client.get("/backoffice/orders/process/").content.decode()
    assert "Record payment of CHF 100.–" in html and "Record payment of CHF 129.–" in html
    client.post(
        f"/backoffice/orders/{part_paid.number}/action/",
        {"action": "record_payment", "next": "/backoffice/orders/process/"},
    )
    part_paid.refresh_from_db()
    assert part_paid.payment_status == "paid"
    assert "Record payment of CHF 129.–" in client.get("/backoffice/orders/process/").content.decode()
    assert unpaid.payment_status == "awaiting_payment"


def test_dashboard_figures_leave_test_orders_out(client, staff, place, fondue, store):
    place(fondue)
    store.test_mode = False
    store.save()
    real = place(fondue)
    html = client.get("/backoffice/").content.decode()
    assert "Orders today" in html and "CHF 129.–" in html
    assert real.total == Decimal("129.00")


def test_big_lists_are_not_counted_in_full(client, staff, monkeypatch):
    from orders import backoffice

    monkeypatch.setattr(backoffice, "COUNT_CAP", 5)
    Order.objects.bulk_create(
        Order(number=3000 + i, email=f"big{i}@example.ch", payment_method="invoice", total=Decimal("1.00"))
        for i in range(8)
    )
    html = client.get("/backoffice/orders/").content.decode()
    assert "More than 10,000 orders: narrow them down with the filters." in html and "8 orders" not in html
    assert "#3007" in html
