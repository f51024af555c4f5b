"""The one totals function: checkout, manual orders and order edits all compute an order's money with it."""

from dataclasses import dataclass, field
from decimal import Decimal

from shop.money import to_money, vat_by_rate

ZERO = Decimal("0.00")
# The most one order may come to: far beyond what a shop sells at once, well inside what the columns hold (12 digits),
# so that a typing slip (999 × CHF 1,000,000) is refused instead of stored.
MAX_TOTAL = Decimal("10000000.00")


@dataclass(frozen=True)
class Totals:
    subtotal: Decimal
    shipping: Decimal
    adjustment: Decimal = ZERO
    vat_by_rate: dict[Decimal, Decimal] = field(default_factory=dict)

    @property
    def vat(self) -> Decimal:
        return sum(self.vat_by_rate.values(), ZERO)

    @property
    def total(self) -> Decimal:
        """Never below zero: a discount larger than the order makes it free, not a payout."""
        return max(self.subtotal + self.shipping + self.adjustment, ZERO)


def compute_totals(items, *, shipping_method=None, shipping_cost=None, adjustment=ZERO) -> Totals:
    """Totals of (unit price, VAT rate, quantity) items, VAT included and shown per rate.

    Shipping is ``shipping_cost`` when given (the merchant's figure on a manual order or an edit), else what
    ``shipping_method`` costs for this subtotal (free above its threshold), else nothing. ``adjustment`` is a discount
    (negative) or a surcharge (positive)."""
    items = list(items)
    subtotal = to_money(sum((Decimal(price) * quantity for price, _rate, quantity in items), ZERO))
    if shipping_cost is not None:
        shipping = to_money(shipping_cost)
    elif shipping_method is not None:
        shipping = to_money(shipping_method.cost_for(subtotal))
    else:
        shipping = ZERO
    adjustment = to_money(adjustment)
    return Totals(
        subtotal=subtotal,
        shipping=shipping,
        adjustment=adjustment,
        vat_by_rate=vat_by_rate(items, shipping, adjustment),
    )
