from django import template

from shop.money import format_chf

register = template.Library()


@register.filter
def chf(value):
    """``{{ product.price|chf }}`` → ``CHF 1’234.50`` / ``CHF 1.–``."""
    if value is None or value == "":
        return ""
    return format_chf(value)
