"""Sales → Orders → Export: the filtered orders as a CSV file that a Swiss merchant opens in Excel.

The file:

- Cells are separated by ``;`` and the file starts with a UTF-8 byte-order mark: what Excel expects with Swiss
  regional settings (a double click opens it in columns, umlauts intact). ``?sep=comma`` writes ``,`` instead
  (``?sep=semicolon`` is the default), for tools that want comma-separated values; the mark stays, as Excel needs it
  for UTF-8 with either separator.
- One row per order; ``?lines=1`` writes one row per order line instead: the order's columns repeated, then SKU,
  product, quantity, unit price, VAT rate and line total (sum the line totals there: the order's amounts repeat on
  each of its lines).
- Headers, statuses and payment methods are written in the merchant's active language ("Bezahlt", "Banküberweisung"),
  never as codes (``paid``, ``bank_transfer``).
- Amounts are plain numbers, a point before the cents and nothing else (``129.00``, ``-10.00``), as Swiss regional
  settings read them; VAT rates likewise (``8.1``). Dates are local time, ``2026-12-01 14:30``, which Excel reads as a
  date in every locale.
- Text that a spreadsheet would run as a formula (it starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
  return: ``=HYPERLINK(…)``, a name typed as ``+41 44 …``) gets a leading ``'``, as OWASP recommends against CSV
  injection; Excel shows the text and runs nothing. Numbers are never touched.

The rows are streamed from a server-side cursor (``iterator(chunk_size=…)``), so memory stays flat however many orders
are exported, and the query count does not grow with them: per-line rows come from one query over the order lines
joined to their orders, in the list's order.
"""

import csv
from decimal import Decimal

from django.http import StreamingHttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from payments.providers import PROVIDERS, RECORDED_BY_STAFF, provider_label

from .models import OrderLine
from .status import FulfilmentStatus, PaymentStatus

CHUNK_SIZE = 2000
SEPARATORS = {"semicolon": ";", "comma": ","}
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
BOM = "\ufeff"
DATE_FORMAT = "%Y-%m-%d %H:%M"

# What an order row is read from (in this order).
ORDER_FIELDS = (
    "number",
    "created_at",
    "email",
    "billing_name",
    "shipping_name",
    "payment_method",
    "payment_status",
    "fulfilment_status",
    "subtotal",
    "shipping_total",
    "adjustment",
    "vat_total",
    "total",
    "currency",
    "is_test",
    "tracking_number",
)
LINE_FIELDS = ("sku", "name", "quantity", "unit_price", "vat_rate")
TRUE = {"1", "true", "yes", "on"}


def text_cell(value) -> str:
    """Text for a cell, made safe for spreadsheets: a leading ``'`` when it would otherwise start a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


def amount_cell(value) -> str:
    """An amount as a plain number with two decimals (``129.00``, ``-10.00``): never prefixed, never grouped."""
    return "" if value is None else f"{Decimal(value):.2f}"


def rate_cell(value) -> str:
    """A VAT rate as a plain number without trailing zeros (``8.1``, ``2.6``, ``0``)."""
    return "" if value is None else f"{Decimal(value).normalize():f}"


def order_headers() -> list[str]:
    return [
        pgettext("noun", "Order"),
        _("Date"),
        _("E-mail"),
        _("Name"),
        _("Payment method"),
        _("Payment status"),
        _("Fulfilment status"),
        _("Subtotal"),
        _("Shipping"),
        _("Discount or surcharge"),
        _("VAT included"),
        _("Total"),
        _("Currency"),
        _("Test order"),
        _("Tracking number"),
    ]


def line_headers() -> list[str]:
    return [_("SKU"), _("Product"), _("Quantity"), _("Unit price"), _("VAT rate"), _("Line total")]


class _Words:
    """The names people read for the codes of a row, taken once in the active language (the rows are written after
    the view returned, when another language may be active)."""

    def __init__(self):
        self.statuses = {value: str(label) for value, label in (*PaymentStatus.choices, *FulfilmentStatus.choices)}
        self.methods = {code: provider_label(code) for code in (*PROVIDERS, RECORDED_BY_STAFF)}
        self.yes = _("Yes")

    def status(self, value) -> str:
        return self.statuses.get(value, value)

    def method(self, code) -> str:
        return self.methods.get(code) or provider_label(code)


def order_cells(row: dict, words: _Words) -> list[str]:
    created = row["created_at"]
    return [
        str(row["number"]),
        timezone.localtime(created).strftime(DATE_FORMAT) if created else "",
        text_cell(row["email"]),
        text_cell(row["billing_name"] or row["shipping_name"]),
        text_cell(words.method(row["payment_method"])),
        text_cell(words.status(row["payment_status"])),
        text_cell(words.status(row["fulfilment_status"])),
        amount_cell(row["subtotal"]),
        amount_cell(row["shipping_total"]),
        amount_cell(row["adjustment"]),
        amount_cell(row["vat_total"]),
        amount_cell(row["total"]),
        text_cell(row["currency"]),
        words.yes if row["is_test"] else "",
        text_cell(row["tracking_number"]),
    ]


def line_cells(row: dict) -> list[str]:
    return [
        text_cell(row["sku"]),
        text_cell(row["name"]),
        str(row["quantity"]),
        amount_cell(row["unit_price"]),
        rate_cell(row["vat_rate"]),
        amount_cell(row["unit_price"] * row["quantity"]),
    ]


def _order_rows(orders):
    return orders.values(*ORDER_FIELDS).iterator(chunk_size=CHUNK_SIZE)


def _line_rows(orders):
    """One dict per order line of ``orders``, with its order's fields, in the orders' order and then the lines'."""
    sorts = orders.query.order_by
    if not sorts or not all(isinstance(name, str) for name in sorts):
        sorts = ("-created_at", "-id")
    ordering = [f"-order__{name[1:]}" if name.startswith("-") else f"order__{name}" for name in sorts]
    lines = (
        OrderLine.objects.filter(order__in=orders.values("pk"))
        .order_by(*ordering, "order_id", "id")
        .values(*(f"order__{name}" for name in ORDER_FIELDS), *LINE_FIELDS)
    )
    for row in lines.iterator(chunk_size=CHUNK_SIZE):
        yield {name.removeprefix("order__"): value for name, value in row.items()}


class _Echo:
    """A file that hands back what is written to it: the csv writer then returns each row as a string."""

    def write(self, value):
        return value


def orders_csv(orders, params) -> StreamingHttpResponse:
    """The response streaming ``orders`` (a queryset, filtered and sorted) as CSV. ``params`` are the request's query
    parameters: ``sep`` (``semicolon``, the default, or ``comma``) and ``lines`` (``1``: a row per order line)."""
    separator = SEPARATORS.get(params.get("sep", ""), SEPARATORS["semicolon"])
    per_line = params.get("lines", "").lower() in TRUE
    words = _Words()
    header = order_headers() + (line_headers() if per_line else [])
    writer = csv.writer(_Echo(), delimiter=separator)

    def stream():
        yield BOM + writer.writerow(header)
        if per_line:
            for row in _line_rows(orders):
                yield writer.writerow(order_cells(row, words) + line_cells(row))
        else:
            for row in _order_rows(orders):
                yield writer.writerow(order_cells(row, words))

    name = "order-lines" if per_line else "orders"
    response = StreamingHttpResponse(stream(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}-{timezone.localdate():%Y-%m-%d}.csv"'
    return response
