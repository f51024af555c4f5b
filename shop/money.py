"""Money in CHF, shown the Swiss way: ``CHF 1.–`` for whole francs, ``CHF 1’234.50`` otherwise, in every language."""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.conf import settings

CENT = Decimal("0.01")
THOUSANDS = "\u2019"  # right single quotation mark, the Swiss thousands separator
DASH = "\u2013"  # en dash for zero cents


def store_currency() -> str:
    """The store's currency, the one place it is decided (orders and payments take it from here)."""
    return settings.SHOP_CURRENCY


def to_money(value) -> Decimal:
    """A Decimal rounded to two places (commercial rounding)."""
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def to_minor(amount) -> int:
    """An amount in Rappen (minor units), as payment providers count it."""
    return int((Decimal(amount) * 100).to_integral_value())


def from_minor(minor: int) -> Decimal:
    """Rappen (minor units) back to francs."""
    return Decimal(minor) / 100


def format_chf(value, currency: str = "CHF") -> str:
    try:
        amount = to_money(value)
    except (InvalidOperation, TypeError, ValueError):
        return ""
    sign = "-" if amount < 0 else ""
    francs, cents = f"{abs(amount):.2f}".split(".")
    groups = []
    while len(francs) > 3:
        groups.insert(0, francs[-3:])
        francs = francs[:-3]
    groups.insert(0, francs)
    return f"{currency} {sign}{THOUSANDS.join(groups)}.{DASH if cents == '00' else cents}"


SHIPPING_VAT_RATE = Decimal("8.10")  # shipping and surcharges are taxed at the standard rate


def included_vat(gross: Decimal, rate: Decimal) -> Decimal:
    """The VAT contained in a price that includes it: gross × rate / (100 + rate)."""
    return to_money(gross * rate / (Decimal(100) + rate)) if rate else Decimal("0.00")


def vat_by_rate(items, shipping=Decimal("0"), adjustment=Decimal("0")) -> dict[Decimal, Decimal]:
    """VAT included per rate for (unit price, VAT rate, quantity) items, shipping at the standard rate, and a
    discount (negative adjustment) spread over the items in proportion; a surcharge is taxed like shipping."""
    gross: dict[Decimal, Decimal] = {}
    for price, rate, quantity in items:
        gross[Decimal(rate)] = gross.get(Decimal(rate), Decimal("0")) + Decimal(price) * quantity
    subtotal = sum(gross.values(), Decimal("0"))
    if adjustment < 0 and subtotal > 0:
        factor = max(subtotal + adjustment, Decimal("0")) / subtotal
        gross = {rate: amount * factor for rate, amount in gross.items()}
    extra = shipping + max(adjustment, Decimal("0"))
    if extra:
        gross[SHIPPING_VAT_RATE] = gross.get(SHIPPING_VAT_RATE, Decimal("0")) + extra
    return {rate: included_vat(amount, rate) for rate, amount in sorted(gross.items()) if rate}
