"""What the order pages show of stored codes and records, in the reader's words and language: statuses, payment
providers, and the changes an edit wrote on the timeline. The records stay as they were written; only their display
is translated (a merchant reading in French sees French, whoever made the change)."""

import re

from django import template
from django.core.exceptions import FieldDoesNotExist
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from orders.models import COUNTRIES, Order, OrderEvent
from orders.status import FulfilmentStatus, PaymentStatus
from payments.providers import get_provider, provider_label
from shop.money import format_chf

register = template.Library()
LABELS = {**dict(PaymentStatus.choices), **dict(FulfilmentStatus.choices)}
MONEY_FIELDS = frozenset({"subtotal", "shipping_total", "vat_total", "adjustment", "total"})
LINE_VALUE = re.compile(r"^(?P<quantity>\d+) × (?P<price>-?\d+(?:\.\d+)?)$")  # "2 × 10.00", as edit_order writes it
MINUS = "\u2212"
ADDRESS_PARTS = frozenset({"name", "company", "street", "postcode", "city", "country"})


@register.filter
def status_label(value):
    """The translated label of a payment or fulfilment status value (for timelines)."""
    return LABELS.get(value, value)


@register.filter
def provider_name(code):
    """A payment's provider in words ("bank_transfer" → "Bank transfer", "manual" → "Recorded by staff")."""
    return provider_label(code)


@register.filter
def dashboard_url(payment) -> str:
    """Where the merchant sees a payment in its provider's dashboard ("" when the provider has none)."""
    provider = get_provider(payment.provider)
    return provider.dashboard_url(payment) if provider else ""


@register.filter
def refundable(payment):
    """What is left to refund of a payment (its refunds prefetched)."""
    return payment.amount - sum(refund.amount for refund in payment.refunds.all() if refund.status != "failed")


def _field_order() -> dict[str, int]:
    return {field.name: position for position, field in enumerate(Order._meta.get_fields())}


def _line_value(value: str) -> str:
    match = LINE_VALUE.match(value)
    return f"{match['quantity']} × {format_chf(match['price'])}" if match else value


def _country(value: str) -> str:
    return str(dict(COUNTRIES).get(value, value))


def _describe(key: str, line_names: dict[str, str]):
    """The label of one recorded change and how to show its values."""
    if key.startswith("line "):
        sku = key.removeprefix("line ")
        name = line_names.get(sku)
        return (f"{name} ({sku})" if name else sku), _line_value
    try:
        label = capfirst(str(Order._meta.get_field(key).verbose_name))
    except FieldDoesNotExist:
        return key, str
    kind, _sep, part = key.partition("_")
    if part in ADDRESS_PARTS and kind in ("shipping", "billing"):
        words = _("%(field)s (shipping address)") if kind == "shipping" else _("%(field)s (billing address)")
        label = words % {"field": label}
    if key in MONEY_FIELDS:
        return label, format_chf
    if key == "payment_method":
        return label, provider_label
    if key.endswith("_country"):
        return label, _country
    return label, str


@register.filter
def edit_changes(changes, order=None) -> list[tuple[str, str, str]]:
    """The changes an edit recorded (``{"shipping_total": ["9.50", "0.00"], "line FON-1": ["1 × 10.00", ""]}``) as
    (label, before, after) in the reader's language: "Shipping", "CHF 9.50", "CHF 0.–"; "Fondue Set (FON-1)",
    "1 × CHF 10.–", "" (an empty value: there was none, or the line was removed). Fields come in the order's field
    order, then the lines, the total last. ``order``: the product names of its lines (prefetched, no query)."""
    if not isinstance(changes, dict):
        return []
    line_names = {line.sku: line.name for line in order.lines.all()} if isinstance(order, Order) else {}
    positions = _field_order()

    def rank(key):
        if key == "total":
            return (3, 0, key)
        if key.startswith("line "):
            return (2, 0, key)
        return (1, positions.get(key, len(positions)), key)

    rows = []
    for key in sorted(changes, key=rank):
        values = changes[key]
        before, after = ([*values, "", ""] if isinstance(values, list | tuple) else ["", values])[:2]
        label, show = _describe(key, line_names)
        rows.append(
            (
                label,
                show(str(before)) if before not in ("", None) else "",
                show(str(after)) if after not in ("", None) else "",
            )
        )
    return rows


def _signed(number: int) -> str:
    return f"+{number}" if number > 0 else f"{MINUS}{-number}"


@register.filter
def stock_moves(event) -> str:
    """How an event changed the shop's stock, per SKU: "FON-1 +4, CHO-1 −2" (+ back in stock, − taken from it).

    An edit with "adjust stock" records the change in what the order holds (``{"FON-1": -4}``: 4 units fewer held,
    so 4 back in stock); restoring records what went back (``{"FON-1": 2}``)."""
    data = getattr(event, "data", None) or {}
    if event.type == OrderEvent.Type.EDITED:
        moves = {sku: -int(held) for sku, held in (data.get("stock") or {}).items()}
    elif event.type == OrderEvent.Type.STOCK_RESTORED:
        moves = {sku: int(count) for sku, count in (data.get("items") or {}).items()}
    else:
        return ""
    return ", ".join(f"{sku} {_signed(change)}" for sku, change in sorted(moves.items()) if change)
