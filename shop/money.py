"""Money in CHF, shown the Swiss way: ``CHF 1.–`` for whole francs, ``CHF 1’234.50`` otherwise, in every language."""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CENT = Decimal("0.01")
THOUSANDS = "\u2019"  # right single quotation mark, the Swiss thousands separator
DASH = "\u2013"  # en dash for zero cents


def to_money(value) -> Decimal:
    """A Decimal rounded to two places (commercial rounding)."""
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


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
