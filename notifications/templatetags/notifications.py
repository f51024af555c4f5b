from django import template
from django.utils.translation import get_language

from notifications.kinds import Kind

register = template.Library()


@register.filter
def email_kind(value) -> str:
    """The name of an e-mail kind ("order_confirmation" → "Order confirmation"), in the active language."""
    return str(dict(Kind.choices).get(value, value))


@register.simple_tag
def colon() -> str:
    """The colon after a label, as the active language writes it: "Total:" but "Total :" in French (with a no-break
    space, so that it never starts a line)."""
    return "\u00a0:" if (get_language() or "").startswith("fr") else ":"
